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


# A path a doc names: geodata/store/core.py, dashboard/safety/, app_pages/safety.py ...
_DOC_PATH = re.compile(
    r"(?<![\w/.-])((?:geodata|dashboard|ingest|app_pages|pages|benchmarks|scripts|tests|static)"
    r"(?:/[\w.-]+)+/?)(?![\w/])"
)
# A store method a doc names: store.read(, store.current_shelter_status ...
_STORE_METHOD = re.compile(r"(?<![\w.])store\.([a-z_][a-z0-9_]*)\b")


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_module_path_a_doc_names_exists():
    missing = []
    for doc in _docs():
        for path in _DOC_PATH.findall(doc.read_text(encoding="utf-8")):
            target = path.rstrip(".")
            if "<" in target or "*" in target:
                continue
            if target.endswith("_"):  # a family of files: tests/test_export_*
                if any((ROOT / target).parent.glob(Path(target).name + "*")):
                    continue
            elif (ROOT / target).exists() or (ROOT / f"{target}.py").exists():
                continue
            missing.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not missing, missing


def test_every_store_method_a_doc_names_exists():
    from geodata.store.core import Store

    missing = []
    for doc in _docs():
        for name in _STORE_METHOD.findall(doc.read_text(encoding="utf-8")):
            if name in ("py", "sqlite") or hasattr(Store, name):
                continue
            missing.append(f"{doc.relative_to(ROOT)} -> store.{name}")
    assert not missing, missing
