"""The drill's payloads go through the real sources (files + a loopback API server)."""

from __future__ import annotations

import pandas as pd

from geodata.store.core import open_store
from ingest.cli import main
from ingest.drill.ingest import ingest_drill
from ingest.drill.scenario import FIXED_ANCHOR, generate


def test_drill_payloads_go_through_every_source(store_url, reference_dir, tmp_path, capsys):
    args = ["reference", "--municipality", "13208", "--no-download", "--db", store_url,
            "--reference-dir", str(reference_dir)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    store = open_store(store_url)
    drill = generate(seed=3, posts=300, roster=40, anchor=FIXED_ANCHOR, reference_dir=reference_dir)
    layers = ingest_drill(drill, store, out_dir=tmp_path / "drill")
    assert layers["posts"]["inserted"] == 300
    assert layers["roster"]["inserted"] == 40
    assert layers["safety_replies"]["inserted"] == len(drill.replies)
    assert layers["shelter_status"]["inserted"] == sum(map(len, drill.shelter_files.values()))
    assert layers["field_reports"]["inserted"] == len(drill.field_reports)
    assert all(r["rejected"] == 0 for r in layers["sources"])
    health = store.health().set_index("source")
    assert health.filter(like="drill:", axis=0)["last_error"].isna().all()

    # Replies: the read status agrees with the drill's truth, unknown senders are kept unmatched.
    replies = store.read("safety_replies").set_index("sender_id")
    got = store.read("safety_replies")
    texts = got[got["needs_text"].notna() | got["status"].notna()]
    assert len(texts) == len(drill.replies)
    line = next(r for r in layers["sources"] if r["source"] == "drill:line")
    strangers = drill.replies["resident_id"].isna().sum()
    assert len(line["unmatched"]) == strangers
    assert replies["resident_id"].isna().sum() == strangers
    ids = [e["message"]["id"] for b in drill.line_bodies for e in b["events"]]
    by_id = got.set_index("source_id").loc[ids]
    text_rows = (drill.replies["kind"] == "text").to_numpy()
    agree = by_id["status"].to_numpy()[text_rows] == drill.replies["status"].to_numpy()[text_rows]
    assert agree.mean() >= 0.95

    # Every shelter's current status comes from the last export (reported 11:00-11:30 JST).
    current = store.current_shelter_status()
    assert len(current) == 68
    assert current["reported_at"].min() >= pd.Timestamp("2026-10-13 11:00", tz="Asia/Tokyo")

    again = ingest_drill(drill, store)
    for layer in ("posts", "roster", "safety_replies", "shelter_status", "field_reports"):
        assert (again[layer]["inserted"], again[layer]["updated"]) == (0, 0), layer
    store.dispose()


def test_a_second_demo_later_adds_no_shelter_history(sqlite_url, reference_dir, capsys):
    """``make demo`` run again later (a new anchor) moves the drill in time; the shelter
    history is append-only and must not be appended a second time (748 → 1,496 rows)."""
    import json

    def demo(anchor: str) -> dict:
        args = ["demo", "--seed", "0", "--posts", "300", "--roster", "40", "--anchor", anchor,
                "--db", sqlite_url, "--reference-dir", str(reference_dir), "--json"]  # fmt: skip
        assert main(args) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    first = demo("2026-10-13T08:00")
    store = open_store(sqlite_url)
    history = store.read("shelter_status").sort_values(["shelter_id", "version"])
    inserted = first["layers"]["shelter_status"]["inserted"]
    assert inserted == len(history) > 0
    again = demo("2026-10-13T09:10")
    assert again["layers"]["shelter_status"]["inserted"] == 0
    assert again["layers"]["shelter_status"]["unchanged"] == inserted
    after = store.read("shelter_status").sort_values(["shelter_id", "version"])
    pd.testing.assert_frame_equal(after.reset_index(drop=True), history.reset_index(drop=True))
    # as for the other record layers: moved in time, nothing added (river levels are keyed by
    # time, see docs/drill.md)
    for layer in ("posts", "roster", "safety_replies", "field_reports"):
        assert again["layers"][layer]["inserted"] == 0, layer
    store.dispose()
