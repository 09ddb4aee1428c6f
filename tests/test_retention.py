"""The personal-data purge: every aggregate count identical, no personal value left, dry run, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from geodata.access import retention
from geodata.access.privacy import personal_columns
from tests.test_privacy import PEOPLE, posts, replies, roster, towns

ROOT = Path(__file__).resolve().parent.parent
NOTE = "山田 花子さん宅 訪問、娘 090-7777-8888 に連絡済"


def _fill(store) -> None:
    store.upsert("towns", towns(), source="test")
    store.upsert("roster", roster(), source="test")
    store.upsert("safety_replies", replies(), source="test")
    p = posts()
    p["posted_at"] = pd.Timestamp("2026-10-12 04:00", tz="UTC")
    store.upsert("posts", p, source="test")
    follow = pd.DataFrame(
        {
            "id": ["f1", "f2"],
            "resident_id": ["R3", "R5"],
            "action": ["phone", "visit"],
            "outcome": ["no_answer", "reached_safe"],
            "note": [NOTE, "伊藤 翔さん 無事"],
            "by": ["sato", "sato"],
            "at": pd.Timestamp("2026-10-12 05:00", tz="UTC"),
        }
    )
    store.upsert("follow_ups", follow, source="test", actor="sato")
    store.update("roster", "R2", {"phone": "090-2222-3333"}, actor="kato")  # audit old/new
    store.update("posts", ("mastodon", "1"), {"triage": "verified"}, actor="kato")
    store.add_rejections(
        "roster:csv",
        [('{"氏名": "渡辺 直美", "電話番号": "090-4444-5555"}', "missing 整理番号")],
        layer="roster",
    )
    store.add_rejections("line", [('{"text": "田中です 080-5555-6666"}', "unknown sender")])
    store.add_rejections("mastodon", [('{"id": "9"}', "not a time: 'x'")], layer="posts")
    store.add_rejections(
        "shelters:csv",
        [('{"note": "鈴木 一郎さん搬送 03-5555-0001", "evacuees": "x"}', "not a number: 'x'")],
        layer="shelter_status",
    )
    store.record_health("line", ok=False, error="bad event from 佐藤 健一 tel 042-481-7111")


def _personal_values() -> list[str]:
    values = []
    for p in PEOPLE:
        values += [v for v in p[1:6] + p[7:9] if v]
    values += ["090-2222-3333", "090-7777-8888", "渡辺 直美", "090-4444-5555", "080-5555-6666"]
    values += ["hanako_yamada", "ken_sato", "伊藤 翔さん", "R1", "R2", "R3", "R4", "R5"]
    return values


def _dump(store) -> str:
    """Every row of every table that can hold personal data, as text."""
    parts = []
    with store.engine.connect() as conn:
        tables = ("roster", "safety_replies", "follow_ups", "posts", "audit_log", "rejections",
                  "source_health")  # fmt: skip
        for table in tables:
            cols = [c.name for c in store.tables[table].c if c.name != "geometry"]
            rows = conn.execute(sa.select(*[store.tables[table].c[c] for c in cols])).all()
            parts.append(json.dumps([list(map(str, r)) for r in rows], ensure_ascii=False))
    return "\n".join(parts)


def _leaks(text: str) -> list[str]:
    # Resident ids are short: look for them as whole JSON values only.
    return [v for v in _personal_values() if (f'"{v}"' if len(v) <= 3 else v) in text]


def _frames(store) -> dict:
    return {
        layer: store.read(layer) for layer in ("roster", "safety_replies", "follow_ups", "posts")
    }


def test_the_purge_keeps_every_aggregate_and_leaves_no_personal_value(store):
    _fill(store)
    assert _leaks(_dump(store))  # the data has them
    before = retention.aggregate_counts(store)
    assert before["residents"] == 5 and before["replies"] == 6 and before["posts"] == 2

    report = retention.purge_personal(store, actor="cli:admin")

    assert retention.aggregate_counts(store) == before
    assert report.verified and report.aggregates == before
    assert _leaks(_dump(store)) == []
    frames = _frames(store)
    for layer, frame in frames.items():
        for col in personal_columns(layer):
            assert frame[col].isna().all(), (layer, col)
    # Resident ids are pseudonyms, and still join replies and follow-ups to the roster.
    ids = set(frames["roster"]["resident_id"])
    assert all(r.startswith("purged:") for r in ids) and len(ids) == 5
    matched = frames["safety_replies"]["resident_id"].dropna()
    assert set(matched) <= ids and len(matched) == 4
    assert set(frames["follow_ups"]["resident_id"]) <= ids
    # Points sit on a town's representative point, or are gone.
    reps = {(round(p.x, 9), round(p.y, 9)) for p in towns().geometry.representative_point()}
    for layer in ("roster", "safety_replies"):
        for geom in frames[layer].geometry:
            assert geom is None or geom.is_empty or (round(geom.x, 9), round(geom.y, 9)) in reps
    # What a person's record said is gone from the audit log too; who did what stays.
    audit = store.read_audit()
    assert {"kato", "sato"} <= set(audit["who"])
    purge_rows = audit[audit["action"] == "purge:personal"]
    assert len(purge_rows) == 1
    assert json.loads(purge_rows.iloc[0]["new"])["pseudonymized"] == 5
    rejections = store.read_rejections().set_index("layer", drop=False)
    assert len(rejections) == 4
    assert rejections[rejections["layer"] != "shelter_status"]["raw"].isna().all()
    kept = rejections.loc["shelter_status", "raw"]  # redacted, not dropped: not a person layer
    assert '"evacuees": "x"' in kept and "[redacted]" in kept
    assert store.get("source_health", "line")["last_error"].startswith("bad event from [redacted]")
    assert (report.nulled["roster"]["name"], report.nulled["posts"]["author"]) == (5, 2)
    assert report.moved_points["roster"] == 5


def test_a_dry_run_changes_nothing_and_reports_what_would_change(store):
    _fill(store)
    dump, version, audit_rows = _dump(store), store.data_version(), len(store.read_audit())
    report = retention.purge_personal(store, dry_run=True, actor="cli:admin")
    assert report.dry_run and not report.verified
    assert report.nulled["roster"]["phone"] == 5
    assert report.nulled["safety_replies"] == {"needs_text": 5, "sender_id": 5}
    assert report.nulled["follow_ups"] == {"note": 2}
    assert report.pseudonymized == 5 and report.rejections == 4 and report.audit_rows >= 2
    assert report.health_errors == 1 and report.redacted_texts["posts"] == 2
    assert _dump(store) == dump
    assert store.data_version() == version
    assert len(store.read_audit()) == audit_rows  # not even an audit row


def test_a_second_purge_changes_nothing(store):
    _fill(store)
    retention.purge_personal(store, actor="cli:admin")
    dump, version = _dump(store), store.data_version()
    again = retention.purge_personal(store, actor="cli:admin")
    assert not again.changed and again.pseudonymized == 0
    frames_dump = _dump(store)
    # Only the audit row of the second run was added.
    assert store.data_version() == version
    assert frames_dump.split("\n")[:4] == dump.split("\n")[:4]


def test_an_empty_store_purges_to_nothing(store):
    report = retention.purge_personal(store, actor="cli:admin")
    assert not report.changed and report.verified


def _cli(args: list[str], db: str, stdin: str = "", cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOSAI_DB_URL": db, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_cli_purge_dry_run_then_yes(sqlite_url, tmp_path):
    from geodata.store.core import open_store

    # A purge also empties ./var/line_spool: run it where that is a temporary folder.

    store = open_store(sqlite_url)
    _fill(store)
    before = retention.aggregate_counts(store)
    store.dispose()
    dry = _cli(["purge", "--personal", "--dry-run", "--json"], sqlite_url, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert summary["dry_run"] and summary["nulled"]["roster"]["name"] == 5
    assert summary["aggregates"] == json.loads(json.dumps(before, ensure_ascii=False))
    assert not [v for v in _personal_values() if len(v) > 3 and v in dry.stdout]
    refused = _cli(["purge", "--personal"], sqlite_url, cwd=tmp_path)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert _cli(["purge"], sqlite_url).returncode == 2  # --personal is required
    done = _cli(["purge", "--personal", "--yes", "--json"], sqlite_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verified"] is True
    store = open_store(sqlite_url)
    assert retention.aggregate_counts(store) == before
    assert _leaks(_dump(store)) == []
    assert store.read_audit()["who"].iloc[0].startswith("cli")
    store.dispose()


def test_the_purge_on_the_drill_keeps_its_counts(reference_dir, sqlite_url):
    """The 調布市 drill (roster, LINE replies, posts): realistic volumes and shapes."""
    demo = _cli(
        ["demo", "--posts", "300", "--roster", "150", "--reference-dir", str(reference_dir)],
        sqlite_url,
    )
    if demo.returncode != 0:
        pytest.skip(f"the drill did not load: {demo.stderr[-300:]}")
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    roster_before = store.read("roster")
    values = [v for c in ("name", "address", "phone") for v in roster_before[c].dropna()]
    before = retention.aggregate_counts(store)
    assert before["residents"] == 150 and before["replies"] > 0
    report = retention.purge_personal(store, actor="cli:admin")
    assert report.verified and retention.aggregate_counts(store) == before
    text = _dump(store)
    assert [v for v in values if v in text] == []
    store.dispose()


# -- the LINE spool on disk (geodata/access/spool.py) -------------------------------------------


def _spool_file(folder: Path, when: pd.Timestamp, text: str = "tanaka 090-1234-5678") -> Path:
    import uuid

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{when.value:020d}-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps({"events": [{"type": "message", "text": text}]}))
    return path


def test_the_spool_source_prunes_what_it_read_after_the_retention_period(tmp_path, monkeypatch):
    from geodata.access import spool
    from ingest.sources.line import LineSpoolSource

    monkeypatch.setenv("BOSAI_LINE_SPOOL_RETENTION_DAYS", "7")
    now = pd.Timestamp.now(tz="UTC")
    folder = tmp_path / "line_spool"
    read_old = _spool_file(folder, now - pd.Timedelta(days=9))
    cursor = _spool_file(folder, now - pd.Timedelta(days=8, hours=12))  # read last time
    unread_old = _spool_file(folder, now - pd.Timedelta(days=8))  # after the cursor
    recent = _spool_file(folder, now - pd.Timedelta(days=1))
    crashed = folder / ".tmp" / "leftover.json"
    crashed.parent.mkdir()
    crashed.write_text("{}")
    os.utime(crashed, (0, 0))  # a temporary file from a crash long ago

    records = list(LineSpoolSource("line", spool_dir=str(folder)).fetch(since=cursor.name))
    assert {r["file"] for r in records} == {unread_old.name, recent.name}
    left = {p.name for p in folder.glob("*.json")}
    assert left == {unread_old.name, recent.name}  # read and older than 7 days: gone
    assert not read_old.exists() and not cursor.exists() and not crashed.exists()
    # Never read: kept, however old; read but recent: kept.
    assert spool.prune(folder, processed_through=None, keep=pd.Timedelta(0)) == 0
    assert spool.prune(folder, processed_through=recent.name, keep=pd.Timedelta(days=7)) == 1


def test_purge_personal_deletes_every_spooled_body(sqlite_url, tmp_path):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    _fill(store)
    store.dispose()
    now = pd.Timestamp.now(tz="UTC")
    (tmp_path / "sources.toml").write_text(
        '[[source]]\nname = "line"\ntype = "line_spool"\nspool_dir = "spool_a"\n'
    )
    bodies = [
        _spool_file(tmp_path / "spool_a", now),  # from sources.toml
        _spool_file(tmp_path / "spool_b", now),  # --spool
        _spool_file(tmp_path / "var" / "line_spool", now),  # the webhook's default
        _spool_file(tmp_path / "var" / "line_spool" / ".tmp", now),
    ]
    args = ["purge", "--personal", "--json", "--spool", "spool_b"]
    dry = _cli([*args, "--dry-run"], sqlite_url, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["spool_files_deleted"] == 4
    assert all(p.exists() for p in bodies)  # a dry run deletes nothing
    done = _cli([*args, "--yes"], sqlite_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["spool_files_deleted"] == 4 and len(summary["spool_folders"]) == 3
    assert not any(p.exists() for p in bodies)
    store = open_store(sqlite_url)
    audit = store.read_audit()
    row = audit[audit["action"] == "purge:spool"].iloc[0]
    assert json.loads(row["new"]) == {"files": 4}
    store.dispose()
