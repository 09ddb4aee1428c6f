"""The runner: repeatable runs of every source, faults that keep data and cursor, staff edits,
the loop and its clean stop."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from werkzeug import Response

from geodata.http import make_session
from geodata.incidents import link_and_store, with_members
from geodata.store.core import open_store
from ingest.line_webhook import spool_write
from ingest.loop import run_loop
from ingest.runner import run_all, run_source
from ingest.sources.bluesky import BlueskySource
from ingest.sources.field_reports import FieldReportSource
from ingest.sources.line import LineSpoolSource
from ingest.sources.mastodon import MastodonSource
from ingest.sources.misskey import MisskeySource
from ingest.sources.posts_file import PostsFileSource
from ingest.sources.roster import RosterCsvSource
from ingest.sources.safety_csv import SafetyCsvSource
from ingest.sources.shelter_status import ShelterStatusSource
from ingest.sources.shelters import ShelterListSource
from tests.test_sources_support import (  # noqa: F401
    BSKY_PASSWORD,
    BSKY_USER,
    MISSKEY_TOKEN,
    PAYLOADS,
    ref_store,
    serve_bluesky,
    serve_mastodon,
    serve_misskey,
    truncating_server,
)

ROOT = Path(__file__).resolve().parent.parent


def _session(timeout=5.0):
    return make_session(retries=0, timeout=(2, timeout))


def _mastodon(httpserver, tmp_path):
    return MastodonSource("mastodon", base_url=serve_mastodon(httpserver), hashtags=["chofu"],
                          limit=2, session=_session())  # fmt: skip


def _bluesky(httpserver, tmp_path):
    return BlueskySource("bluesky", base_url=serve_bluesky(httpserver), query="調布",
                         identifier=BSKY_USER, password=BSKY_PASSWORD, session=_session())  # fmt: skip


def _misskey(httpserver, tmp_path):
    return MisskeySource("misskey", base_url=serve_misskey(httpserver), query="調布",
                         token=MISSKEY_TOKEN, limit=2, session=_session())  # fmt: skip


def _posts_file(httpserver, tmp_path):
    # Served over HTTP and re-read every run (skip_unchanged off): the upsert must be idempotent.
    httpserver.expect_request("/export/posts.jsonl").respond_with_data(
        (PAYLOADS / "posts_file/posts.jsonl").read_bytes(), content_type="application/x-ndjson"
    )
    return PostsFileSource("posts-file", url=httpserver.url_for("/export/posts.jsonl"),
                           skip_unchanged=False, session=_session())  # fmt: skip


def _line(httpserver, tmp_path):
    spool = tmp_path / "spool"
    spool_write(spool, (PAYLOADS / "line/webhook_replies.json").read_bytes())
    spool_write(spool, (PAYLOADS / "line/webhook_redelivery.json").read_bytes())
    return LineSpoolSource("line", spool_dir=str(spool), lag_seconds=3600)  # re-read each run


def _safety(httpserver, tmp_path):
    return SafetyCsvSource("web-form", path=str(PAYLOADS / "safety/web_form.csv"))


def _roster(httpserver, tmp_path):
    return RosterCsvSource("roster", path=str(PAYLOADS / "roster/roster.csv"))


def _status(httpserver, tmp_path):
    return ShelterStatusSource(
        "open-list", path=str(PAYLOADS / "shelter_status/open_shelters_r6.csv")
    )


def _status_plane(httpserver, tmp_path):
    return ShelterStatusSource("plane", path=str(PAYLOADS / "shelter_status/status_plane.geojson"))


def _field(httpserver, tmp_path):
    return FieldReportSource("survey", path=str(PAYLOADS / "field_reports/survey.geojson"))


def _shelters(httpserver, tmp_path):
    return ShelterListSource("shelter-list", path=str(PAYLOADS / "shelters/opendata_shelters.csv"),
                             municipality="13208")  # fmt: skip


def _jma(httpserver, tmp_path):
    from ingest.sources.jma import JmaSource

    base = httpserver.url_for("").rstrip("/")
    feed = (PAYLOADS / "jma/extra_l.xml").read_text("utf-8").replace("{base}", base)
    httpserver.expect_request("/developer/xml/feed/extra_l.xml").respond_with_data(feed)
    for path in (PAYLOADS / "jma/data").glob("*.xml"):
        data = path.read_bytes()
        httpserver.expect_request(f"/developer/xml/data/{path.name}").respond_with_data(data)
    copy = (PAYLOADS / "jma/data/vpww55_warning.xml").read_bytes()
    httpserver.expect_request("/developer/xml/data/vpww55_warning_copy.xml").respond_with_data(copy)
    return JmaSource("jma", base_url=f"{base}/developer/xml/feed/", feeds=["extra_l.xml"],
                     municipality="13208", rivers=["多摩川"], session=_session())  # fmt: skip


def _river_levels(httpserver, tmp_path):
    from ingest.sources.river_levels import RiverLevelSource

    station = {"id": "303041283310010", "name": "石原", "river": "多摩川", "danger_m": 6.0}
    return RiverLevelSource("river", path=str(PAYLOADS / "river_levels/ishihara_realtime.dat"),
                            stations=[station])  # fmt: skip


ALL_SOURCES = {
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "misskey": _misskey,
    "posts_file": _posts_file,
    "line_spool": _line,
    "safety_csv": _safety,
    "roster_csv": _roster,
    "shelter_status": _status,
    "shelter_status_plane": _status_plane,
    "field_reports": _field,
    "shelters": _shelters,
    "jma": _jma,
    "river_levels": _river_levels,
}


def test_every_source_type_is_in_the_repeat_test():
    from ingest.sources import SOURCE_TYPES

    covered = {k.removesuffix("_plane") for k in ALL_SOURCES}
    assert set(SOURCE_TYPES) <= covered


@pytest.mark.parametrize("kind", sorted(ALL_SOURCES))
def test_a_second_run_over_the_same_window_inserts_nothing(kind, httpserver, tmp_path, ref_store):
    source = ALL_SOURCES[kind](httpserver, tmp_path)
    first = run_source(ref_store, source)
    assert first["ok"], first["error"]
    assert first["inserted"] > 0
    version = ref_store.data_version(source.layer)
    rejections = len(ref_store.read_rejections())
    second = run_source(ref_store, source)
    assert second["ok"], second["error"]
    assert (second["inserted"], second["updated"]) == (0, 0)
    assert ref_store.data_version(source.layer) == version
    assert len(ref_store.read_rejections()) == rejections  # a re-read file repeats no rejection


# -- faults -------------------------------------------------------------------------------------


def _prime(store, httpserver):
    """Store one good Mastodon run; return the stored cursor and row count."""
    source = MastodonSource("mastodon", base_url=serve_mastodon(httpserver), hashtags=["chofu"],
                            session=_session())  # fmt: skip
    assert run_source(store, source)["ok"]
    return store.get_cursor("mastodon"), store.count("posts")


def _other_source():
    return FieldReportSource("survey", path=str(PAYLOADS / "field_reports/survey.geojson"))


def _fault_500(httpserver):
    httpserver.expect_request("/api/v1/timelines/tag/chofu").respond_with_json(
        {"error": "internal"}, status=500
    )


def _fault_slow(httpserver):
    def slow(request):
        time.sleep(1.5)
        return Response("[]", content_type="application/json")

    httpserver.expect_request("/api/v1/timelines/tag/chofu").respond_with_handler(slow)


def _fault_malformed(httpserver):
    httpserver.expect_request("/api/v1/timelines/tag/chofu").respond_with_data(
        '[{"id": "111726950000000006", "content": "<p>broken', content_type="application/json"
    )


def _fault_html(httpserver):
    httpserver.expect_request("/api/v1/timelines/tag/chofu").respond_with_data(
        "<html><body>502 Bad Gateway</body></html>", content_type="text/html"
    )


FAULTS = {
    "http_500": (_fault_500, "HTTP 500"),
    "timeout": (_fault_slow, "Timeout"),
    "malformed_json": (_fault_malformed, "not JSON"),
    "html_instead_of_json": (_fault_html, "not JSON"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_source_keeps_data_and_cursor_and_the_others_run(fault, httpserver, ref_store):
    cursor, count = _prime(ref_store, httpserver)
    httpserver.clear()
    make_fault, message = FAULTS[fault]
    make_fault(httpserver)
    failing = MastodonSource("mastodon", base_url=httpserver.url_for("").rstrip("/"),
                             hashtags=["chofu"], session=_session(timeout=0.5))  # fmt: skip
    results = run_all(ref_store, [failing, _other_source()])
    by_name = {r["source"]: r for r in results}
    assert not by_name["mastodon"]["ok"]
    assert message in by_name["mastodon"]["error"]
    assert by_name["survey"]["ok"] and by_name["survey"]["inserted"] == 2
    health = ref_store.health().set_index("source")
    assert message in health.loc["mastodon", "last_error"]
    assert health.loc["mastodon", "cursor"] == cursor
    assert ref_store.get_cursor("mastodon") == cursor
    assert ref_store.count("posts") == count


def test_a_truncated_page_keeps_data_and_cursor(httpserver, ref_store, truncating_server):
    cursor, count = _prime(ref_store, httpserver)
    failing = MastodonSource("mastodon", base_url=truncating_server.url, hashtags=["chofu"],
                             session=_session())  # fmt: skip
    results = run_all(ref_store, [failing, _other_source()])
    assert [r["ok"] for r in results] == [False, True]
    assert "ConnectionError" in results[0]["error"] or "ChunkedEncoding" in results[0]["error"]
    assert ref_store.get_cursor("mastodon") == cursor
    assert ref_store.count("posts") == count
    assert ref_store.health().set_index("source").loc["mastodon", "last_error"]


def test_a_failure_on_a_later_page_writes_nothing(httpserver, ref_store):
    """Page 1 answers, page 2 fails: the batch is all or nothing."""
    base = httpserver.url_for("").rstrip("/")
    statuses = (PAYLOADS / "mastodon/statuses.json").read_text("utf-8")
    import json

    first_page = json.loads(statuses)[::-1][:2]
    httpserver.expect_ordered_request("/api/v1/timelines/tag/chofu").respond_with_json(
        first_page,
        headers={"Link": f'<{base}/api/v1/timelines/tag/chofu?max_id=1>; rel="next"'},
    )
    httpserver.expect_ordered_request("/api/v1/timelines/tag/chofu").respond_with_json(
        {"error": "boom"}, status=503
    )
    source = MastodonSource("mastodon", base_url=base, hashtags=["chofu"], limit=2,
                            session=_session())  # fmt: skip
    result = run_source(ref_store, source)
    assert not result["ok"] and "HTTP 503" in result["error"]
    assert ref_store.count("posts") == 0
    assert ref_store.get_cursor("mastodon") is None


# -- staff edits --------------------------------------------------------------------------------


def test_a_rerun_never_undoes_staff_triage(httpserver, ref_store):
    source = MastodonSource("mastodon", base_url=serve_mastodon(httpserver), hashtags=["chofu"],
                            session=_session())  # fmt: skip
    run_source(ref_store, source)
    ref_store.update("posts", ("mastodon", "111726900000000001"),
                     {"triage": "verified", "assigned_to": "sato"}, actor="sato")  # fmt: skip
    moved = shapely.Point(139.5401, 35.6502)  # staff placed the post by hand
    ref_store.update("posts", ("mastodon", "111726910000000002"),
                     {"geometry": moved, "geo_source": "manual", "town_code": "13208014002"},
                     actor="sato")  # fmt: skip
    ref_store.record_health("mastodon", ok=True, cursor="0")  # force a re-read of everything
    result = run_source(ref_store, source)
    assert result["ok"] and result["updated"] == 0
    post = ref_store.get("posts", ("mastodon", "111726900000000001"))
    assert (post["triage"], post["assigned_to"]) == ("verified", "sato")
    placed = ref_store.get("posts", ("mastodon", "111726910000000002"))
    assert placed["geo_source"] == "manual" and placed["geometry"].equals(moved)


# -- the loop -----------------------------------------------------------------------------------


def test_loop_runs_each_source_on_its_interval_until_max_cycles(tmp_path, store):
    fast = FieldReportSource("fast", path=str(PAYLOADS / "field_reports/survey.geojson"))
    slow = FieldReportSource("slow", path=str(PAYLOADS / "field_reports/kobo.csv"))
    fast.poll_seconds, slow.poll_seconds = 0.05, 3600
    results: list[dict] = []
    cycles = run_loop(store, [fast, slow], stop=threading.Event(), max_cycles=3,
                      on_result=results.append)  # fmt: skip
    assert cycles == 3
    assert [r["source"] for r in results] == ["fast", "slow", "fast", "fast"]
    assert all(r["ok"] for r in results)


def test_loop_stops_between_batches_when_asked(store):
    stop = threading.Event()
    source = FieldReportSource("fast", path=str(PAYLOADS / "field_reports/survey.geojson"))
    source.poll_seconds = 0.01
    seen = []

    def on_result(result):
        seen.append(result)
        if len(seen) == 2:
            stop.set()

    run_loop(store, [source], stop=stop, on_result=on_result)
    assert len(seen) == 2


def _write_config(tmp_path: Path) -> Path:
    config = tmp_path / "sources.toml"
    config.write_text(
        f"""
[defaults]
poll_seconds = 0.2

[[source]]
name = "survey"
type = "field_reports"
path = "{PAYLOADS / "field_reports/survey.geojson"}"

[[source]]
name = "needs-a-token"
type = "mastodon"
base_url = "http://127.0.0.1:9"
hashtags = ["chofu"]
token_env = "BOSAI_TEST_UNSET_TOKEN"
""",
        "utf-8",
    )
    return config


def test_run_command_loop_exits_cleanly_on_sigterm(tmp_path, sqlite_url):
    config = _write_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "BOSAI_TEST_UNSET_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "run", "--loop", "--json", "--config", str(config),
         "--db", sqlite_url],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    store = open_store(sqlite_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            health = store.health()
            if len(health) >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        store.dispose()
    assert proc.returncode == 0, err
    summary = __import__("json").loads(out.strip().splitlines()[-1])
    assert summary["stopped"] is True
    assert summary["failed"] == ["needs-a-token"]
    store = open_store(sqlite_url)
    health = store.health().set_index("source")
    assert "BOSAI_TEST_UNSET_TOKEN" in health.loc["needs-a-token", "last_error"]
    assert health.loc["survey", "last_error"] is None
    assert store.count("field_reports") == 2
    store.dispose()


def test_run_command_once(tmp_path, sqlite_url):
    from ingest.cli import main

    config = _write_config(tmp_path)
    assert main(["run", "--config", str(config), "--db", sqlite_url, "--only", "survey"]) == 0
    store = open_store(sqlite_url)
    assert store.count("field_reports") == 2
    store.dispose()


def test_incident_layers_are_validated_once_and_the_rejections_reach_the_store(ref_store):
    # Validation runs before linking; the upsert takes its result instead of validating again.
    when = pd.Timestamp("2024-01-09T10:00:00+09:00")
    frame = gpd.GeoDataFrame(
        {
            "source": ["survey", "survey"],
            "source_id": ["ok", "far"],
            "category": ["浸水", "浸水"],
            "reported_at": [when, when],
            "town_code": [None, None],
        },
        geometry=[shapely.Point(139.558, 35.6505), shapely.Point(200.0, 95.0)],
        crs=4326,
    )
    valid, rejected = link_and_store(ref_store, "field_reports", frame)
    assert valid["source_id"].tolist() == ["ok"]
    assert valid["incident_id"].iloc[0].startswith("inc-")
    assert rejected["reason"].str.startswith("coordinates outside lon/lat range").tolist() == [True]
    written = ref_store.upsert("field_reports", valid, source="survey", rejected=rejected)
    assert (written.inserted, written.rejected) == (1, 1)
    stored = ref_store.read("field_reports")
    assert stored["incident_id"].tolist() == valid["incident_id"].tolist()
    reasons = ref_store.read_rejections(source="survey")["reason"].tolist()
    assert len(reasons) == 1 and reasons[0].startswith("coordinates outside lon/lat range")
    incident = (
        with_members(ref_store, ref_store.read("incidents"))
        .set_index("incident_id")
        .loc[valid["incident_id"].iloc[0]]
    )
    assert incident["members"] == [["field_reports", "survey:ok"]]


FLOOD = "染地三丁目の都営住宅前の道路が冠水して車が立ち往生しています、通れません"
FIRE = "布田駅前のビルで火災が発生しています、黒い煙が上がっています、消防車が来ています"


class _Replay(PostsFileSource):
    """A posts source whose fetch yields ``batch`` (set per window)."""

    batch: list = []

    def fetch(self, since):
        return iter(self.batch)


def test_a_failed_batch_is_not_remembered_as_the_original_of_later_copies(ref_store, monkeypatch):
    # The process's copy history takes the settled posts before the transaction commits; a
    # batch that fails must be forgotten, or a later copy points at a post never stored.
    from ingest.base import IngestContext

    source = _Replay("replay", path="posts.jsonl", platform="x")
    context = IngestContext(ref_store)
    text = FLOOD
    source.batch = [{"id": "1", "text": text, "created_at": "2026-10-12T10:00:00+09:00"}]
    load = ref_store.load

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ref_store, "load", disk_full)
    assert run_source(ref_store, source, context=context)["ok"] is False
    monkeypatch.setattr(ref_store, "load", load)
    source.batch = [
        {"id": "2", "text": text, "created_at": "2026-10-12T10:05:00+09:00"},
        {"id": "3", "text": text + "！", "created_at": "2026-10-12T10:06:00+09:00"},
    ]
    assert run_source(ref_store, source, context=context)["ok"] is True
    stored = ref_store.read("posts").set_index("post_id")["repost_of"].to_dict()
    assert stored == {"2": None, "3": "x:2"}  # 3 copies 2; nothing names the lost post 1


def test_a_batchs_own_posts_are_not_read_back_but_a_staff_edit_between_batches_is(ref_store):
    # The process's copy history holds what its batches settled and wrote: the next batch
    # reads from the store only what others wrote since (here a staff edit), and follows it.
    from ingest.base import IngestContext

    source = _Replay("replay", path="posts.jsonl", platform="x")
    context = IngestContext(ref_store)
    copies = context.copies_for((ref_store.home_municipality,))
    text = FLOOD
    source.batch = [
        {"id": "1", "text": text, "created_at": "2026-10-12T10:00:00+09:00"},
        {"id": "2", "text": text + "です", "created_at": "2026-10-12T10:10:00+09:00"},
    ]
    assert run_source(ref_store, source, context=context)["ok"] is True
    assert ref_store.get("posts", ("x", "2"))["repost_of"] == "x:1"  # a near copy
    source.batch = [
        {"id": "5", "text": "国領町の公園に避難しました", "created_at": "2026-10-12T10:20:00+09:00"}
    ]
    assert run_source(ref_store, source, context=context)["ok"] is True
    assert copies.reads["written"] == 0  # batch 1's posts are held: not read back
    ref_store.update("posts", ("x", "2"), {"repost_of": None}, actor="admin")  # not a copy
    source.batch = [
        {"id": "3", "text": "RT " + text + "です", "created_at": "2026-10-12T10:30:00+09:00"}
    ]
    assert run_source(ref_store, source, context=context)["ok"] is True
    assert copies.reads["written"] == 1  # the edited post alone
    assert ref_store.get("posts", ("x", "3"))["repost_of"] == "x:2"  # as staff said of 2


# -- fetches written together ---------------------------------------------------------------


def _count_settling(monkeypatch) -> list:
    """A list that gets an item each time the runner settles copies (once per transaction)."""
    import ingest.runner as runner

    settled: list = []
    settle = runner.settle_copies
    monkeypatch.setattr(
        runner, "settle_copies", lambda *a, **k: settled.append(1) or settle(*a, **k)
    )
    return settled


def _feeds():
    return _Replay("feed-x", path="x.jsonl", platform="x"), _Replay(
        "feed-threads", path="threads.jsonl", platform="threads"
    )


def _post(i, text, minute):
    return {"id": str(i), "text": text, "created_at": f"2026-10-12T10:{minute:02d}:00+09:00"}


# two windows; in each the two feeds post within the same minutes, copying each other
WINDOWS = [
    (
        [
            _post(1, FLOOD, 0),
            _post(2, "国領町の公園に避難しました", 3),
            _post(3, FIRE, 4),
            _post(7, "布田駅前のビルから火が出ています、火災です、消防車はまだ来ていません", 3),
        ],
        [
            _post(1, FLOOD + "です", 1),
            _post(2, FIRE + "！", 2),
            _post(3, "RT " + FLOOD, 5),
        ],
    ),
    (
        [_post(4, "RT " + FIRE, 12), _post(5, FLOOD + "、助けて", 14)],
        [_post(4, FIRE, 11), _post(5, "RT " + FLOOD + "です", 13), _post(6, "", 15)],
    ),
]


def _outcome(store):
    posts = store.read("posts")
    members = store.read("incident_members")
    return (
        set(zip(posts["platform"], posts["post_id"], posts["repost_of"].fillna(""),
                posts["incident_id"].fillna(""), strict=True)),
        set(zip(members["layer"], members["member"], members["incident_id"],
                pd.to_datetime(members["seen_at"], utc=True), strict=True)),
    )  # fmt: skip


def test_fetches_written_together_make_what_one_by_one_makes(ref_store, tmp_path, monkeypatch):
    from ingest.base import IngestContext
    from tests.test_sources_support import shelters_frame, towns_frame

    settled = _count_settling(monkeypatch)
    alone = open_store(f"sqlite:///{tmp_path / 'alone.sqlite'}")
    alone.upsert("towns", towns_frame(), source="test")
    alone.upsert("shelters", shelters_frame(), source="test")
    together_ctx, alone_ctx = IngestContext(ref_store), IngestContext(alone)
    x, threads = _feeds()
    for xs, ts in WINDOWS:
        x.batch, threads.batch = xs, ts
        results = run_all(ref_store, [x, threads], context=together_ctx, deadlines=False)
        assert [r["ok"] for r in results] == [True, True]
        texts = [sum(bool(r["text"]) for r in batch) for batch in (xs, ts)]
        assert [r["inserted"] for r in results] == texts  # a post without text is rejected
        assert [r["rejected"] for r in results] == [len(xs) - texts[0], len(ts) - texts[1]]
        assert len(settled) == 1  # the two feeds' posts settled (and linked) once
        for source in (x, threads):
            assert run_source(alone, source, context=alone_ctx)["ok"] is True
        assert len(settled) == 3  # one by one: each batch settles
        settled.clear()
    together, one_by_one = _outcome(ref_store), _outcome(alone)
    assert together == one_by_one
    posts, members = together
    copies = {(p, i): r for p, i, r, _ in posts}
    assert copies[("threads", "1")] == "x:1"  # a near copy across the feeds
    assert copies[("x", "4")] == "threads:2"  # a copy of a copy: its first post
    assert copies[("threads", "2")] == "x:3" or copies[("x", "3")] == "threads:2"
    incidents = {i for *_, i, _ in members}
    assert incidents and any(
        {m.split(":")[0] for _, m, i2, _ in members if i2 == i} == {"x", "threads"}
        for i in incidents
    )  # an incident made of both feeds' posts
    alone.dispose()


def test_a_batch_that_fails_together_is_written_alone_and_the_others_are_not_lost(
    ref_store, monkeypatch
):
    load = ref_store.load

    def refusing(layer, frame, *, source=None, rejected=None):
        if source == "feed-threads":
            raise OSError("disk full")
        return load(layer, frame, source=source, rejected=rejected)

    monkeypatch.setattr(ref_store, "load", refusing)
    x, threads = _feeds()
    x.batch, threads.batch = WINDOWS[0]
    results = run_all(ref_store, [x, threads], deadlines=False)
    assert [(r["source"], r["ok"]) for r in results] == [("feed-x", True), ("feed-threads", False)]
    assert results[1]["error"] == "OSError: disk full"
    stored = ref_store.read("posts")
    assert sorted(zip(stored["platform"], stored["post_id"], strict=True)) == [
        ("x", str(i)) for i in (1, 2, 3, 7)
    ]
    health = ref_store.read("source_health").set_index("source")
    assert health.loc["feed-x", "state"] == "ok"
    assert health.loc["feed-threads", "state"] == "failing"
    assert health.loc["feed-threads", "last_error"] == "OSError: disk full"


def test_two_feeds_bringing_one_post_written_together_store_it_once(ref_store, monkeypatch):

    settled = _count_settling(monkeypatch)
    a = _Replay("feed-a", path="a.jsonl", platform="x")
    b = _Replay("feed-b", path="b.jsonl", platform="x")
    a.batch = [_post(1, FLOOD, 0), _post(2, FIRE, 1)]
    b.batch = [_post(2, FIRE, 1), _post(3, "RT " + FIRE, 2)]
    results = run_all(ref_store, [a, b], deadlines=False)
    assert [r["ok"] for r in results] == [True, True]
    assert len(settled) == 1
    stored = ref_store.read("posts").set_index("post_id")["repost_of"].to_dict()
    assert stored == {"1": None, "2": None, "3": "x:2"}


def test_the_loop_writes_fetches_that_ended_together_in_one_transaction(ref_store, monkeypatch):
    import ingest.loop as loop
    from ingest.base import IngestContext

    settled = _count_settling(monkeypatch)
    context = IngestContext(ref_store)
    x, threads = _feeds()
    x.batch, threads.batch = WINDOWS[0]
    wake = threading.Event()
    runs = [loop._start(ref_store, s, context, 2, wake, time.monotonic) for s in (x, threads)]
    for run in runs:
        assert run.fetch.done.wait(5)
    loop._write(ref_store, runs, context)
    assert [(r.result["source"], r.result["ok"]) for r in runs] == [
        ("feed-x", True), ("feed-threads", True)
    ]  # fmt: skip
    assert len(settled) == 1
    assert ref_store.get("posts", ("threads", "1"))["repost_of"] == "x:1"


class _Slow(_Replay):
    """A replayed feed whose fetch takes ``delay`` seconds."""

    delay = 0.0

    def fetch(self, since):
        time.sleep(self.delay)
        return iter(self.batch)


@pytest.mark.parametrize(("delay", "gather", "transactions"), [(0.3, 10.0, 1), (1.5, 0.05, 2)])
def test_the_loop_waits_briefly_for_fetches_it_writes_together(
    ref_store, monkeypatch, delay, gather, transactions
):
    # Two feeds polled together whose fetches end 0.3 s apart are written in one transaction
    # (their posts settled and linked once); one that takes longer than the wait is written
    # apart, after the other.
    import ingest.loop as loop

    monkeypatch.setattr(loop, "GATHER_SECONDS", gather)
    settled = _count_settling(monkeypatch)
    quick = _Slow("feed-x", path="x.jsonl", platform="x")
    slow = _Slow("feed-threads", path="threads.jsonl", platform="threads")
    quick.batch, slow.batch = WINDOWS[0]
    slow.delay = delay
    results: list[dict] = []
    run_loop(ref_store, [quick, slow], stop=threading.Event(), max_cycles=1,
             on_result=results.append)  # fmt: skip
    assert [(r["source"], r["ok"]) for r in results] == [("feed-x", True), ("feed-threads", True)]
    assert len(settled) == transactions
    assert ref_store.get("posts", ("threads", "1"))["repost_of"] == "x:1"
    assert ref_store.count("posts") == len(WINDOWS[0][0]) + len(WINDOWS[0][1])


def test_enriching_keeps_a_geotag_and_geocodes_a_missing_or_empty_one(tmp_path, reference_dir):
    """enrich_posts: a real geotag stays (geotag, confidence 1); an empty point or none is
    placed by the place name in its text (gazetteer) or stays unplaced (none)."""
    from geodata.reference.files import load_reference
    from ingest.base import IngestContext
    from ingest.runner import enrich_posts

    store = open_store(f"sqlite:///{tmp_path}/s.sqlite")
    for layer, frame in load_reference("13208", reference_dir).frames.items():
        store.upsert(layer, frame, source="reference")
    tag = shapely.Point(139.5441, 35.6517)
    frame = gpd.GeoDataFrame(
        {
            "platform": ["mastodon"] * 4,
            "post_id": ["1", "2", "3", "4"],
            "text": ["国領町三丁目で冠水", "国領町三丁目で冠水", "国領町三丁目で冠水", "雨が強い"],
        },
        geometry=[tag, shapely.Point(), None, None],
        crs="EPSG:4326",
    )
    out = enrich_posts(frame, IngestContext(store))
    assert out["geo_source"].tolist() == ["geotag", "gazetteer", "gazetteer", "none"]
    assert out.geometry.iloc[0].equals(tag)
    assert out["geo_confidence"].iloc[0] == 1.0 and pd.isna(out["geo_confidence"].iloc[3])
    placed = out.geometry.iloc[1]
    assert placed is not None and not placed.is_empty and placed.equals(out.geometry.iloc[2])
    assert out.geometry.iloc[3] is None
    assert out["town_code"].iloc[1] == out["town_code"].iloc[2] is not None
    assert out["matched_place"].iloc[1] is not None and out["matched_place"].iloc[3] is None
    assert "浸水・冠水" in out["categories"].iloc[1]
    store.dispose()
