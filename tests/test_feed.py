"""The reports feed's rules (geodata/feed.py): filters, order, copies, paging, the map aggregate,
triage writes, and the one definition of a damage report shared by the reports page and the
situation map."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import feed as reports
from geodata import geometry as reports_geo
from geodata.store.core import open_store
from tests.test_safety_page import T1, make_world, posts_frame, towns_frame

NOW = pd.Timestamp("2026-10-12T12:00:00Z")


@pytest.fixture
def index() -> gpd.GeoDataFrame:
    """The posts as :func:`geodata.feed.slim_index` gives them."""
    frame = posts_frame(NOW)
    frame["urgency"] = frame["urgency"].astype(int)
    return frame


def keys(view: reports.FeedView) -> list[str]:
    return [post_id for _, post_id in view.keys]


# -- filters and order -------------------------------------------------------------------------


def test_default_feed_is_24h_new_and_verified_most_urgent_first_without_copies(index):
    view = reports.build_feed(index, reports.Filters(), now=NOW)
    assert keys(view) == ["p1", "p6", "p3", "p2"]  # p4 dismissed, p5 a copy of p1
    assert view.copies == {"mastodon:p1": 1}
    assert view.kpis == {"posts": 4, "urgent": 3, "critical": 2, "new": 3, "unlocated": 0}


@pytest.mark.parametrize(
    "filters, expected",
    [
        (reports.Filters(window="1h"), ["p1", "p3"]),
        (reports.Filters(window="6h"), ["p1", "p3", "p2"]),
        (reports.Filters(order="newest"), ["p1", "p3", "p2", "p6"]),
        (reports.Filters(categories=("停電", "火災")), ["p6", "p2"]),
        (reports.Filters(urgencies=(3,)), ["p1", "p6"]),
        (reports.Filters(towns=(T1,)), ["p1"]),
        (reports.Filters(triage=("dismissed",)), ["p4"]),
        (reports.Filters(triage=(), hide_copies=False), ["p5", "p1", "p6", "p3", "p2", "p4"]),
    ],
)
def test_filters(index, filters, expected):
    assert keys(reports.build_feed(index, filters, now=NOW)) == expected


def test_paging():
    view = reports.FeedView(
        [("m", str(i)) for i in range(45)], {}, reports_geo.hexbin(posts_frame(NOW))
    )
    assert view.pages() == 3
    assert [k[1] for k in view.page(2)] == ["40", "41", "42", "43", "44"]
    assert view.page(9) == view.page(2)  # clamped to the last page


def test_hexbin_counts_every_located_post_once(index):
    hexes = reports_geo.hexbin(index, radius_m=300)
    located = reports_geo.points_only(index)
    assert hexes["count"].sum() == len(located) == 5
    assert hexes.crs == "EPSG:4326"
    # p1 and p4 lie 222 m apart in T1: within one 300 m hexagon or two neighbours
    t1 = hexes[hexes.intersects(towns_frame().geometry.iloc[0])]
    assert t1["count"].sum() == 2
    assert hexes["救助要請"].sum() == 1 and hexes["max_urgency"].max() == 3


def test_hex_polygons_at_once_are_the_cells_one_by_one():
    import numpy as np

    q = np.array([0, 6, -3, 12, -40])
    r = np.array([0, 0, 5, -7, 33])
    together = reports_geo.hex_polygons(q, r, 187.5)
    alone = [reports_geo.hex_polygon(int(a), int(b), 187.5) for a, b in zip(q, r, strict=True)]
    assert [g.wkb for g in together] == [g.wkb for g in alone]  # the same coordinates, bit for bit
    assert len(shapely.get_coordinates(together[1])) == 7 and together[1].area > 0


def test_hexbin_at_scale_is_a_few_hundred_cells():
    rng = pd.Series(range(100_000))
    x = 139.52 + (rng * 7919 % 10007) / 10007 * 0.08
    y = 35.63 + (rng * 104729 % 10009) / 10009 * 0.05
    posts = gpd.GeoDataFrame(
        {"urgency": rng % 4, "categories": [["浸水・冠水"]] * len(rng)},
        geometry=gpd.points_from_xy(x, y),
        crs=4326,
    )
    hexes = reports_geo.hexbin(posts)
    assert hexes["count"].sum() == 100_000
    assert 500 <= len(hexes) <= 2000


# -- writes ------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path) -> dict:
    url = f"sqlite:///{tmp_path / 'world.sqlite'}"
    return {"url": url, **make_world(url)}


def test_triage_and_move_are_audit_logged(world):
    store = open_store(world["url"])
    assert (
        reports.triage(store, [("mastodon", "p1"), ("mastodon", "p3")], "verify", actor="sato") == 2
    )
    reports.triage(store, [("mastodon", "p1")], "assign", actor="sato", assignee=" 佐藤 ")
    with pytest.raises(ValueError):
        reports.triage(store, [("mastodon", "p1")], "assign", actor="sato", assignee=" ")
    record = reports.move_post(
        store, ("mastodon", "p3"), 139.525, 35.655, towns_frame(), actor="sato"
    )
    assert record["town_code"] == T1 and record["geo_source"] == "manual"
    assert record["matched_place"] is None
    p1, p3 = store.get("posts", ("mastodon", "p1")), store.get("posts", ("mastodon", "p3"))
    assert (p1["triage"], p1["assigned_to"]) == ("verified", "佐藤")
    assert p3["geometry"].equals(shapely.Point(139.525, 35.655)) and p3["geo_confidence"] == 1.0
    audit = store.read_audit(layer="posts")
    assert audit["record_key"].tolist() == [
        "mastodon|p3", "mastodon|p1", "mastodon|p3", "mastodon|p1"
    ]  # fmt: skip
    assert set(audit["who"]) == {"sato"}
    moved = json.loads(audit.iloc[0]["new"])
    assert moved["geo_source"] == "manual" and moved["town_code"] == T1
    store.dispose()


# -- damage reports (被害報告): one definition for the reports page and the situation map --------


def incidents_frame(now: pd.Timestamp) -> gpd.GeoDataFrame:
    """Four incidents around ``now``: (first seen, last seen) in hours before it."""
    rows = [
        # id, category, first, last, counts, urgency, town
        ("old", "火災", 30, 25, {"posts": 9}, 3, T1),
        ("long", "停電", 30, 2, {"posts": 1, "field_reports": 1}, 1, None),
        ("new", "浸水・冠水", 3, 1, {"posts": 2}, 3, T1),
        ("later", "救助要請", -1, -2, {"safety_replies": 1}, 3, None),  # after now
    ]
    hour = pd.Timedelta(hours=1)
    return gpd.GeoDataFrame(
        {
            "incident_id": [r[0] for r in rows],
            "category": [r[1] for r in rows],
            "first_seen": [now - r[2] * hour for r in rows],
            "last_seen": [now - r[3] * hour for r in rows],
            "counts": [r[4] for r in rows],
            "town_code": [r[6] for r in rows],
            "urgency": [r[5] for r in rows],
            "status": "open",
        },
        geometry=[shapely.Point(139.54, 35.65)] * len(rows),
        crs=4326,
    )


def ids(frame) -> list[str]:
    return frame["incident_id"].tolist()


def test_damage_reports_are_the_incidents_seen_in_the_window():
    inc = incidents_frame(NOW)
    day = NOW - pd.Timedelta(hours=24)
    # most urgent, then biggest, then newest first
    assert ids(reports.damage_reports(inc)) == ["old", "new", "later", "long"]
    assert ids(reports.damage_reports(inc, since=day)) == ["new", "later", "long"]
    # "long" began before the end of the window and was still going on: seen in it
    assert ids(reports.damage_reports(inc, since=day, until=NOW)) == ["new", "long"]
    hours_ago = NOW - pd.Timedelta(hours=2.5)
    assert ids(reports.damage_reports(inc, until=hours_ago)) == ["old", "new", "long"]
    assert ids(reports.damage_reports(inc, categories=("停電", "火災"))) == ["old", "long"]
    assert ids(reports.damage_reports(inc, urgencies=(3,), towns=(T1,))) == ["old", "new"]
    assert ids(reports.filter_incidents(inc, reports.Filters(window="6h"), now=NOW)) == [
        "new",
        "later",
        "long",
    ]


def test_situation_map_counts_an_incident_still_going_on_at_its_time(store):
    """An incident first seen before the map's time and last seen after it was known then."""
    from geodata.export.situation import collect_situation

    as_of = NOW - pd.Timedelta(hours=2.5)
    store.upsert("incidents", incidents_frame(NOW), source="test")
    situation = collect_situation(store, as_of=as_of)
    # "long" (seen 30 h to 2 h before NOW) and "new" (3 h to 1 h) are on the map of 2.5 h before
    assert situation.kpis["reports_total"] == 3
    assert sorted(situation.reports["category"]) == ["停電", "浸水・冠水", "火災"]
    hour = as_of - pd.Timedelta(hours=1)
    assert collect_situation(store, as_of=as_of, since=hour).kpis["reports_total"] == 2


def test_situation_map_without_incidents_counts_no_copies_and_falls_back_only_then(store):
    from geodata.export.situation import collect_situation

    posts = posts_frame(NOW)
    posts.loc[posts["post_id"] == "p5", "geometry"] = posts.geometry.iloc[0]  # p5: copy of p1
    store.upsert("posts", posts, source="test")
    situation = collect_situation(store, as_of=NOW + pd.Timedelta(minutes=1))
    # p1, p2, p3, p6: not p4 (dismissed), not p5 (a copy is not a second report)
    assert situation.reports["kind"].tolist() == ["post"] * 4
    assert situation.kpis["reports_total"] == 4
    # once the store has incidents, they are the damage reports, also when none is in the window
    store.upsert("incidents", incidents_frame(NOW), source="test")
    since = NOW + pd.Timedelta(hours=1)
    assert collect_situation(store, as_of=NOW, since=since).kpis["reports_total"] == 0


DRILL_ANCHOR = "2026-10-13T12:00"  # naive = JST; the drill's 24 h end here


@pytest.fixture(scope="module")
def drill_url(tmp_path_factory, reference_dir) -> str:
    """The typhoon drill as ``make demo`` loads it (seed 0, 2,000 posts, 300 residents)."""
    from ingest.cli import main
    from tests.accounts import ensure_accounts

    url = f"sqlite:///{tmp_path_factory.mktemp('drill') / 'drill.sqlite'}"
    ref = ["--reference-dir", str(reference_dir), "--db", url]
    assert main(["reference", "--municipality", "13208", "--no-download", *ref]) == 0
    assert main(["demo", "--seed", "0", "--anchor", DRILL_ANCHOR, *ref]) == 0
    ensure_accounts(url)
    return url


def test_reports_page_and_situation_map_count_the_same_damage_reports_on_the_drill(
    monkeypatch, drill_url
):
    """被害報告 on the reports page and on the situation map: one definition, one number.

    Measured before: 706 on the map against 700–705 on the page (the page's KPI was its
    incident list's length over its 24 h window, the map every incident up to its time).
    """
    from dashboard.reports import view as reports_view
    from geodata.export.situation import collect_situation
    from tests.test_safety_page import run_page

    now = pd.Timestamp(DRILL_ANCHOR, tz="Asia/Tokyo").tz_convert("UTC") + pd.Timedelta(hours=3)
    monkeypatch.setattr(reports, "now_utc", lambda: now.to_pydatetime())
    monkeypatch.setattr(reports_view, "now_utc", lambda: now.to_pydatetime())
    store = open_store(drill_url)
    incidents = store.count("incidents")
    assert incidents > 500

    at = run_page(monkeypatch, drill_url, "reports")
    labels = {"1h": "1時間", "6h": "6時間", "24h": "24時間", "all": "すべて"}
    counts = {}
    for window, label in labels.items():
        at.segmented_control(key="reports_window").set_value(window).run()
        assert not at.exception
        metrics = {m.label: m.value for m in at.metric}
        page = int(metrics[f"被害報告（{label}）"].replace(",", ""))
        hours = reports.WINDOWS[window]
        since = None if hours is None else now - pd.Timedelta(hours=hours)
        situation = collect_situation(store, as_of=now, since=since)
        assert page == situation.kpis["reports_total"], window
        counts[window] = page
    store.dispose()
    # the map's default (every report up to its time) is the page's window "all"
    assert counts["all"] == incidents
    # 3 h after the drill's end, the first hours of the drill have left the 24 h window
    assert counts["1h"] == 0 < counts["6h"] < counts["24h"] < counts["all"]


def test_a_post_id_on_two_platforms_tied_on_urgency_and_time_is_ordered_by_platform():
    """The order does not depend on the rows' order (the feed's index reads oldest first, a
    full read in the store's order): a post id on two platforms, tied on urgency and time,
    comes by platform in both, on both paths of the build."""
    now = pd.Timestamp("2026-10-12T12:00Z")
    posts = posts_frame(now).iloc[[0, 0, 1]].reset_index(drop=True)
    posts["platform"] = ["mastodon", "bluesky", "mastodon"]
    posts["post_id"] = ["same", "same", "other"]
    posts["posted_at"] = now - pd.Timedelta(minutes=5)
    posts["urgency"] = 2
    posts["repost_of"] = None
    posts["triage"] = "new"
    filters = reports.Filters(window="all")
    orders = set()
    for rows in (posts, posts.iloc[::-1]):
        index = reports.slim_index(rows.copy())
        orders.add(tuple(reports.build_feed(index, filters).keys))
        derived = reports.derive(reports.slim_index(rows.copy())).drop(columns="geometry")
        orders.add(tuple(reports.build_feed(derived, filters).keys))
    assert orders == {(("mastodon", "same"), ("bluesky", "same"), ("mastodon", "other"))}


@pytest.mark.parametrize("order", ["urgent", "newest"])
def test_the_order_is_by_urgency_time_post_id_and_platform(order):
    """_order against Python's sort of the same keys, with many ties, NaT-like smallest times,
    times nearly in order (an index read oldest first) and out of order."""
    import numpy as np

    rng = np.random.default_rng(5)
    n = 3000
    urgency = rng.integers(0, 4, n).astype(np.int8)
    when = np.sort(rng.integers(0, 40, n)).astype(np.int64) * 10**9
    when[-300:] = rng.integers(0, 40, 300) * 10**9  # arrivals out of order
    when[:5] = np.iinfo(np.int64).min  # NaT
    ids = np.array([f"p{i}" for i in rng.integers(0, 400, n)], dtype=object)
    platforms = np.array(rng.choice(["bluesky", "mastodon", "x"], n), dtype=object)
    keys = {(p, i) for p, i in zip(platforms, ids, strict=True)}
    unique = [list(zip(platforms, ids, strict=True)).index(k) for k in sorted(keys)]
    urgency, when, ids, platforms = urgency[unique], when[unique], ids[unique], platforms[unique]
    got = reports._order(urgency, when, lambda at: ids[at], order, lambda at: platforms[at])
    first, second = (urgency, when) if order == "urgent" else (when, urgency)
    want = sorted(
        range(len(ids)),
        key=lambda i: (first[i], second[i], ids[i], platforms[i]),
        reverse=True,
    )
    assert got.tolist() == want
    # the float urgencies of order_positions give the same order
    as_float = reports._order(
        urgency.astype(float), when, lambda at: ids[at], order, lambda at: platforms[at]
    )
    assert as_float.tolist() == want
