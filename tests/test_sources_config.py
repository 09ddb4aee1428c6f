"""The sources TOML config, its documentation, and the one-off `load` command."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from geodata.store.core import open_store
from ingest.cli import main
from ingest.runner import run_all
from ingest.sources import SOURCE_TYPES
from ingest.sources.field_reports import FieldReportSource
from ingest.sources.mastodon import MastodonSource
from ingest.sources_config import ConfigError, UnavailableSource, build_sources, load_config
from tests.test_sources_support import PAYLOADS, shelters_frame, towns_frame

ROOT = Path(__file__).resolve().parent.parent


def test_credentials_come_from_the_environment(tmp_path):
    doc = {"source": [{"name": "m", "type": "mastodon", "base_url": "https://m.example",
                       "hashtags": ["調布"], "token_env": "MY_TOKEN", "retries": 0}]}  # fmt: skip
    source = build_sources(doc, env={"MY_TOKEN": "s3cret"}).sources[0]
    assert isinstance(source, MastodonSource) and source.token == "s3cret"
    assert source.session.headers["User-Agent"].startswith("bosai-dashboard")


@pytest.mark.parametrize("key", ["token", "password", "channel_secret", "api_key"])
def test_credentials_written_in_the_file_are_refused(key):
    doc = {"source": [{"name": "m", "type": "mastodon", "base_url": "x", key: "s3cret"}]}
    with pytest.raises(ConfigError, match=f"{key}_env"):
        build_sources(doc, env={})


def test_a_missing_variable_fails_that_source_only(store):
    doc = {"source": [
        {"name": "m", "type": "mastodon", "base_url": "http://127.0.0.1:9", "hashtags": ["x"],
         "token_env": "UNSET_VARIABLE_FOR_TEST"},
        {"name": "f", "type": "field_reports", "path": str(PAYLOADS / "field_reports/kobo.csv")},
    ]}  # fmt: skip
    sources = build_sources(doc, env={}).sources
    assert isinstance(sources[0], UnavailableSource) and isinstance(sources[1], FieldReportSource)
    results = {r["source"]: r for r in run_all(store, sources)}
    assert not results["m"]["ok"] and "UNSET_VARIABLE_FOR_TEST" in results["m"]["error"]
    assert results["f"]["ok"] and results["f"]["inserted"] == 2
    assert "UNSET_VARIABLE_FOR_TEST" in store.health().set_index("source").loc["m", "last_error"]


def test_bad_configurations_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown source type"):
        build_sources({"source": [{"name": "a", "type": "twitter"}]})
    with pytest.raises(ConfigError, match="two sources are named"):
        build_sources({"source": [{"name": "a", "type": "line_spool", "spool_dir": "s"}] * 2})
    with pytest.raises(ConfigError, match="needs a name and a type"):
        build_sources({"source": [{"type": "line_spool"}]})
    bad = tmp_path / "bad.toml"
    bad.write_text("[[source]\nname = ", "utf-8")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_config(bad)
    # Wrong keys for a type: kept as a failing source, not a crash of the whole run.
    wrong = build_sources({"source": [{"name": "m", "type": "mastodon", "base_url": "x"}]})
    assert "needs hashtags or a query" in wrong.sources[0].reason


def test_paths_are_relative_to_the_config_and_poll_defaults_per_type(tmp_path):
    config = tmp_path / "conf" / "sources.toml"
    config.parent.mkdir()
    config.write_text('[[source]]\nname = "line"\ntype = "line_spool"\nspool_dir = "spool"\n'
                      '[[source]]\nname = "r"\ntype = "roster_csv"\npath = "meibo.csv"\n'
                      'poll_seconds = 5\nenabled = true\n'
                      '[[source]]\nname = "off"\ntype = "roster_csv"\npath = "x.csv"\n'
                      'enabled = false\n', "utf-8")  # fmt: skip
    line, roster = load_config(config).sources
    assert line.spool_dir == tmp_path / "conf" / "spool"
    assert (line.poll_seconds, roster.poll_seconds) == (10.0, 5.0)
    assert roster.location == str(tmp_path / "conf" / "meibo.csv")


@pytest.mark.parametrize(
    ("key", "value"),
    [("deadline_seconds", 0), ("deadline_seconds", -5), ("deadline_seconds", "soon"),
     ("stale_minutes", "15分"), ("stale_minutes", 0), ("poll_seconds", "1m"),
     ("timeout_seconds", -1), ("retries", -1), ("retries", 1.5)],
)  # fmt: skip
def test_bad_timing_keys_are_config_errors_naming_source_and_key(key, value):
    """A deadline of 0 or "soon" would abandon every fetch at once, or stop the run with a raw
    ValueError; the operator gets the source and the key instead."""
    doc = {"defaults": {key: value} if key == "retries" else {},
           "source": [{"name": "roster", "type": "roster_csv", "path": "x.csv", key: value}]}  # fmt: skip
    with pytest.raises(ConfigError, match=rf"roster: {key} must be a .*number.*{value!r}"):
        build_sources(doc)


def test_deadline_and_stale_limit_are_set_per_source_or_in_defaults():
    doc = {"defaults": {"stale_minutes": 30},
           "source": [{"name": "a", "type": "roster_csv", "path": "a.csv", "deadline_seconds": 45},
                      {"name": "b", "type": "roster_csv", "path": "b.csv", "stale_minutes": 5}]}  # fmt: skip
    a, b = build_sources(doc).sources
    assert (a.deadline_seconds, a.stale_minutes) == (45.0, 30.0)
    assert (b.deadline_seconds, b.stale_minutes) == (None, 5.0)
    assert not hasattr(a, "location") or a.location == "a.csv"  # not passed on as a parameter


def test_every_source_type_is_documented_and_in_the_example():
    example = tomllib.loads((ROOT / "sources.example.toml").read_text("utf-8"))
    assert {s["type"] for s in example["source"]} == set(SOURCE_TYPES)
    docs = (ROOT / "docs/sources.md").read_text("utf-8")
    for type_name in SOURCE_TYPES:
        assert re.search(rf"^### `{type_name}`", docs, re.M), f"{type_name} has no section"
    # Every example entry builds (credentials unset: those entries become failing stand-ins).
    built = load_config(ROOT / "sources.example.toml", env={}).sources
    enabled = [s for s in example["source"] if s.get("enabled", True)]
    assert [s.name for s in built] == [s["name"] for s in enabled]


def _reference(url: str) -> None:
    store = open_store(url)
    store.upsert("towns", towns_frame(), source="test")
    store.upsert("shelters", shelters_frame(), source="test")
    store.dispose()


def test_load_command_reads_a_file_once(sqlite_url, tmp_path, capsys):
    _reference(sqlite_url)
    path = tmp_path / "kaisetsu.csv"
    path.write_bytes(
        (PAYLOADS / "shelter_status/open_shelters_r6.csv").read_text("utf-8").encode("cp932")
    )
    args = ["load", "shelter-status", str(path), "--db", sqlite_url, "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["source"], first["inserted"], first["rejected"]) == (
        "load:shelter-status:kaisetsu.csv", 3, 1
    )  # fmt: skip
    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert (second["inserted"], second["unchanged"]) == (0, 3)


def test_load_command_with_crs_and_encoding(sqlite_url, tmp_path, capsys):
    _reference(sqlite_url)
    path = tmp_path / "status.csv"
    path.write_bytes("名称,X,Y,状況,避難者数,更新日時\n別名,-39014.76,-25928.55,満員,40,"
                     "2024-01-09 22:00\n".encode("cp932"))  # fmt: skip
    args = ["load", "shelter-status", str(path), "--crs", "EPSG:6677", "--encoding", "cp932",
            "--db", sqlite_url, "--json"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 1
    store = open_store(sqlite_url)
    assert store.current_shelter_status().set_index("shelter_id").loc["S13208-12", "evacuees"] == 40
    store.dispose()


def test_load_command_failure_is_exit_code_2(sqlite_url, tmp_path, capsys):
    broken = tmp_path / "posts.json"
    broken.write_text('{"posts": [', "utf-8")
    assert main(["load", "posts", str(broken), "--db", sqlite_url]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["load", "roster", str(tmp_path / "missing.csv"), "--db", sqlite_url]) == 2
