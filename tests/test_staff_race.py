"""A staff edit that lands while an ingest batch is being written is never lost (both backends).

The batch reads the stored staff fields (triage, assignee …), decides, and writes its rows. A
staff member's triage committed between that read and that write used to be overwritten on
PostGIS by the value the batch had read. Here the staff edit is started from another thread
(its own store, its own connection) exactly between the two, through a hook on the runner's
read.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd

from geodata.store.core import open_store
from ingest import runner
from ingest.base import IngestContext
from ingest.runner import run_source
from ingest.sources.posts_file import PostsFileSource

T0 = pd.Timestamp("2024-01-09T06:00:00Z")


def _posts_file(path: Path, n: int, text: str) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "id": f"s{i:03d}", "text": text.format(n=i), "platform": "x",
                "created_at": (T0 + pd.Timedelta(minutes=i)).isoformat(),
                "lat": 35.65 + i * 0.001, "lon": 139.54, "author": f"u{i}",
            }, ensure_ascii=False) + "\n")  # fmt: skip
    return path


def _run(store, path: Path) -> dict:
    source = PostsFileSource("race", path=str(path), platform="x")
    return run_source(store, source, context=IngestContext(store), from_start=True)


def test_a_triage_between_the_batch_read_and_its_write_is_kept(
    store, store_url, tmp_path, monkeypatch
):
    first = _run(store, _posts_file(tmp_path / "a.jsonl", 5, "{n}番地で道路が冠水しています"))
    assert first["ok"] and first["inserted"] == 5
    # the same posts again, edited upstream: the batch rewrites every row
    path = _posts_file(tmp_path / "b.jsonl", 5, "{n}番地で道路が冠水しています、車が動けない")
    staff_store = open_store(store_url, migrate=False)
    edits: list[threading.Thread] = []
    done: list[dict] = []
    existing = runner._existing

    def read_then_staff_edits(store_, layer, frame):
        found = existing(store_, layer, frame)
        if layer == "posts" and not edits:
            edit = threading.Thread(
                target=lambda: done.append(staff_store.update(
                    "posts", ("x", "s002"), {"triage": "verified", "assigned_to": "sato"},
                    actor="sato")))  # fmt: skip
            edits.append(edit)
            edit.start()
            edit.join(2.0)  # committed at once, or waiting for the batch's row lock
        return found

    monkeypatch.setattr(runner, "_existing", read_then_staff_edits)
    second = _run(store, path)
    edits[0].join(60)
    staff_store.dispose()
    assert second["ok"], second["error"]
    assert second["updated"] == 5
    assert len(done) == 1
    row = store.get("posts", ("x", "s002"))
    assert (row["triage"], row["assigned_to"]) == ("verified", "sato")
    assert row["text"].endswith("車が動けない")  # the batch's change is kept too
    others = store.read("posts", where={"post_id": ["s000", "s001", "s003", "s004"]})
    assert set(others["triage"]) == {"new"}
