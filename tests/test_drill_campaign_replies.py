"""The 調布市 drill's residents answer a safety-check campaign on a timeline, through the real
webhook path (signed body → spool → line_spool source → safety_replies): most within the hour,
some late, some never; the same seed gives the same timeline."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from geodata import campaigns as core
from geodata import settings
from ingest.drill import campaign_replies as drill_replies
from ingest.drill.line_platform import LinePlatform
from ingest.drill.load import _roster_rows
from ingest.drill.scenario import FIXED_ANCHOR, generate
from ingest.outbound import campaigns as sender
from ingest.runner import run_source
from ingest.sources.line import LineSpoolSource
from tests.test_campaigns import QUESTION, SECRET, TOKEN, client_for, webhook  # noqa: F401

REF = str(settings.reference_dir())
HOUR = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def chofu():
    if not (settings.reference_dir() / "chofu").exists():
        pytest.skip("no 調布市 reference data")
    d = generate(seed=4, posts=50, roster=300, anchor=FIXED_ANCHOR, reference_dir=REF)
    from ingest.drill.world import load_world

    towns = load_world(REF).towns
    return d, gpd.GeoDataFrame(towns[["town_code", "name", "geometry"]], crs=towns.crs)


def test_the_timeline_is_deterministic_and_mostly_within_the_hour(chofu):
    d, _ = chofu
    roster = _roster_rows(d.roster_csv)
    campaign = {"towns": []}
    a = drill_replies.reply_timeline(roster, campaign, seed=4)
    b = drill_replies.reply_timeline(roster, campaign, seed=4)
    other = drill_replies.reply_timeline(roster, campaign, seed=5)
    assert a == b and a != other
    line = drill_replies.recipients(roster, campaign)
    assert len(line) == roster["chat_user_id"].notna().sum() > 200  # ~85% of 300 have LINE
    within = [r for r in a if r.after <= HOUR]
    late = [r for r in a if r.after > HOUR]
    never = set(line["resident_id"]) - {r.resident_id for r in a}
    # 60 % / 20 % / 20 % of the recipients, give or take the draw
    assert 0.5 * len(line) <= len(within) <= 0.7 * len(line)
    assert 0.12 * len(line) <= len(late) <= 0.28 * len(line)
    assert 0.12 * len(line) <= len(never) <= 0.28 * len(line)
    assert max(r.after for r in late) <= pd.Timedelta(hours=6)
    assert [r.after for r in a] == sorted(r.after for r in a)
    assert {r.code for r in a} == {"1", "2", "3"}
    assert sum(r.code == "1" for r in a) > 0.7 * len(a)  # mostly 無事
    # only the campaign's towns answer
    towns = sorted(roster["town_code"].unique())[:5]
    some = drill_replies.reply_timeline(roster, {"towns": towns}, seed=4)
    ids = set(roster.loc[roster["town_code"].isin(towns), "resident_id"])
    assert some and {r.resident_id for r in some} <= ids


def test_drill_residents_reply_through_the_webhook_on_the_timeline(store, chofu, webhook):  # noqa: F811
    _, url, spool = webhook
    d, towns = chofu
    store.upsert("towns", towns, source="test")
    roster = _roster_rows(d.roster_csv)
    store.upsert("roster", roster, source="test")
    cid = core.create_campaign(store, towns=None, question=QUESTION, actor="drill")
    with LinePlatform(TOKEN) as line:
        assert (
            sender.run_once(store, client_for(line))["sent"] == roster["chat_user_id"].notna().sum()
        )
    # The drill plays twelve hours of answers at once: the campaign went out twelve hours ago
    # (an answer from the future would be set aside by the line source).
    campaign = store.get("campaigns", cid)
    started = pd.Timestamp(campaign["started_at"]) - pd.Timedelta(hours=12)
    campaign.update(created_at=started - pd.Timedelta(seconds=5), started_at=started)
    store.upsert("campaigns", pd.DataFrame([campaign]), source="test")
    timeline = drill_replies.reply_timeline(roster, campaign, seed=4)
    source = LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0)

    def figures():
        return core.counts(
            store.get("campaigns", cid),
            store.read("deliveries", where={"campaign_id": cid}),
            store.read("safety_replies"),
        )

    steps = [pd.Timedelta(minutes=m) for m in (10, 30, 60, 180, 360, 720)]
    seen, since = [], None
    for until in steps:
        n = drill_replies.play(timeline, cid, url, SECRET, started_at=started, since=since,
                               until=until)  # fmt: skip
        assert n == len(drill_replies.due(timeline, since, until))
        assert run_source(store, source)["ok"]
        expected = sum(r.after <= until for r in timeline)
        got = figures()
        assert got.replied == expected, until
        assert got.not_replied == got.recipients - expected
        seen.append(got.replied)
        since = until
    assert seen == sorted(seen) and seen[2] > 0.5 * seen[-1]  # most within the hour
    assert seen[-1] == len(timeline) < figures().recipients  # some never answer

    replies = store.read("safety_replies")
    by_resident = replies.set_index("resident_id")
    for r in timeline[:20]:
        status = dict((c, s) for c, _, s in core.ANSWERS)[r.code]
        assert by_resident.loc[r.resident_id, "status"] == status
        assert by_resident.loc[r.resident_id, "replied_at"] == started.floor("ms") + r.after
    # played again (LINE redelivers): the same events, no second reply
    drill_replies.play(timeline, cid, url, SECRET, started_at=started, until=steps[-1])
    assert run_source(store, source)["ok"]
    assert len(store.read("safety_replies")) == len(timeline)


def test_played_live_the_residents_answer_a_campaign_started_during_the_drill(store, webhook):  # noqa: F811
    import threading
    import time

    from tests.test_campaigns import _towns, roster

    _, url, spool = webhook
    store.upsert("towns", _towns(), source="test")
    people = roster(90, without_line_every=9)
    store.upsert("roster", people, source="test")
    core.create_campaign(store, towns=None, question=QUESTION, actor="op")
    with LinePlatform(TOKEN) as line:
        client = client_for(line)
        sender.run_once(store, client)  # sent before the drill began: nobody answers it
        stop = threading.Event()
        result = {}
        player = threading.Thread(
            target=lambda: result.update(
                drill_replies.play_live(store, lambda: sender.run_once(store, client), url,
                                        SECRET, seed=2, speed=36_000, interval=0.05, stop=stop)
            )
        )  # fmt: skip
        player.start()
        try:
            time.sleep(0.3)
            cid = core.create_campaign(store, towns=None, question=QUESTION, actor="op")
            timeline = drill_replies.reply_timeline(people, store.get("campaigns", cid), seed=2)
            source = LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0)
            deadline = time.monotonic() + 30
            while True:
                assert run_source(store, source)["ok"]
                if (
                    len(store.read("safety_replies")) >= len(timeline)
                    or time.monotonic() > deadline
                ):
                    break
                time.sleep(0.2)
        finally:
            stop.set()
            player.join(timeout=10)
    assert result == {"campaigns": 1, "replies": len(timeline)}
    replies = store.read("safety_replies")
    assert sorted(replies["resident_id"]) == sorted(r.resident_id for r in timeline)
    assert (replies["replied_at"] <= pd.Timestamp.now(tz="UTC")).all()  # stamped live
    campaign = store.get("campaigns", cid)
    figures = core.counts(campaign, store.read("deliveries"), replies)
    assert figures.replied == len(timeline) < figures.recipients


def test_the_drill_command_needs_the_webhook_secret(monkeypatch, capsys):
    from ingest.cli import main

    monkeypatch.delenv("LINE_CHANNEL_SECRET", raising=False)
    assert main(["campaigns", "--drill", "--speed", "60"]) == 2
    assert "LINE_CHANNEL_SECRET" in capsys.readouterr().err
