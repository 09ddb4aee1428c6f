"""Documentation that is tested: every setting and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from geodata.settings import SETTINGS
from ingest.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(BOSAI_[A-Z_]+)` \|", readme, flags=re.M))
    assert rows == {s.name for s in SETTINGS}


def test_every_setting_has_help_and_a_default():
    for setting in SETTINGS:
        assert len(setting.help) > 20, setting.name
        assert setting.default is not None


def test_every_command_is_documented():
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    docs += (ROOT / "README.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"python -m ingest {name.replace('_', '-')}" in docs, name


def test_readme_gives_exactly_two_commands_for_a_fresh_machine():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_relative_links_in_the_readme_and_docs_point_to_files_that_exist():
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # http(s):, mailto:
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken
