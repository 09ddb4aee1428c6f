"""通報・SNS page: filters, order, copies, hexagon aggregates, escaped cards and map, triage writes."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from dashboard import reports, reports_feed, reports_geo, reports_map
from geodata.store import open_store
from tests.test_safety_page import (
    T1,
    T2,
    T3,
    XSS_IMG,
    XSS_SCRIPT,
    make_world,
    posts_frame,
    run_page,
    towns_frame,
)

NOW = pd.Timestamp("2026-10-12T12:00:00Z")


@pytest.fixture
def index() -> gpd.GeoDataFrame:
    """The posts as :func:`dashboard.reports.post_index` gives them."""
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


def test_town_at_is_point_in_polygon():
    towns = towns_frame()
    assert reports_geo.town_at(towns, 139.535, 35.655) == T2
    assert reports_geo.town_at(towns, 139.0, 35.0) is None


# -- escaping ----------------------------------------------------------------------------------


def test_cards_escape_the_text_author_and_url():
    row = posts_frame(NOW).iloc[2].to_dict()
    row["author"] = '"><b>x</b>'
    row["url"] = "javascript:alert(1)"
    html = reports_feed.post_card_html(row, 3, towns={T3: "上石原一丁目"}, show_author=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<b>x" not in html and "javascript:" not in html
    assert "#3" in html and "2 緊急" in html and "浸水・冠水" in html


def test_map_popups_and_tooltips_are_escaped():
    posts = posts_frame(NOW)
    rows = posts[posts["post_id"].isin(["p3", "p6"])]
    m = reports_map.reports_map(
        towns_frame(),
        reports_geo.hexbin(posts),
        rows,
        {("mastodon", "p3"): 1, ("mastodon", "p6"): 2},
        tiles="none",
    )
    html = m.get_root().render()
    assert XSS_IMG not in html and XSS_SCRIPT not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("bosai-post-marker") == 2


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


def _feed_ids(at) -> list[str]:
    return [c.key.split(":", 2)[2] for c in at.checkbox if c.key and c.key.startswith("rsel:")]


def test_page_shows_the_feed_and_bulk_triage_writes_audit_rows(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "reports")
    assert at.subheader[0].value == "通報・SNS — 調布市"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["該当する投稿"] == "4" and metrics["生命の危険"] == "2"
    assert _feed_ids(at) == ["p1", "p6", "p3", "p2"]
    assert at.button(key="reports_do_verify").disabled

    at.checkbox(key="rsel:mastodon:p1").check()
    at.checkbox(key="rsel:mastodon:p6").check().run()
    assert not at.button(key="reports_do_dismiss").disabled
    at.button(key="reports_do_dismiss").click().run()
    assert not at.exception
    assert at.success[0].value == "2件を対象外にしました。"
    assert _feed_ids(at) == ["p3", "p2"]  # dismissed posts leave the default feed

    store = open_store(world["url"])
    assert store.get("posts", ("mastodon", "p6"))["triage"] == "dismissed"
    audit = store.read_audit(layer="posts")
    assert sorted(audit["record_key"]) == ["mastodon|p1", "mastodon|p6"]
    assert set(audit["who"]) == {"operator"}

    # single: verify p3, then assign it
    at.checkbox(key="rsel:mastodon:p3").check().run()
    at.button(key="reports_do_verify").click().run()
    assert store.get("posts", ("mastodon", "p3"))["triage"] == "verified"
    at.checkbox(key="rsel:mastodon:p3").check()
    assert at.selectbox(key="reports_assignee").options == ["admin", "operator"]
    at.selectbox(key="reports_assignee").set_value("operator").run()
    at.button(key="reports_do_assign").click().run()
    assert store.get("posts", ("mastodon", "p3"))["assigned_to"] == "operator"
    assert len(store.read_audit(layer="posts")) == 4
    store.dispose()


def test_page_filters_reset_to_the_first_page(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "reports")
    at.segmented_control(key="reports_window").set_value("1h").run()
    assert _feed_ids(at) == ["p1", "p3"]
    at.pills(key="reports_categories").set_value(["浸水・冠水"]).run()
    assert _feed_ids(at) == ["p3"]
    at.segmented_control(key="reports_order").set_value("newest").run()
    at.pills(key="reports_categories").set_value([]).run()
    assert _feed_ids(at) == ["p1", "p3"]


def test_viewer_gets_the_feed_without_triage_or_authors(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "reports", user="viewer")
    assert at.subheader[0].value == "通報・SNS — 調布市"
    assert not [c for c in at.checkbox if c.key and c.key.startswith("rsel:")]
    assert not [b for b in at.main.button if b.key and b.key.startswith("reports_do_")]
    cards = " ".join(h.proto.body for h in at.get("html"))
    assert "屋根の上に取り残されています" in cards
    assert "mstdn.example" not in cards  # authors and post URLs are personal data
    assert "&lt;img src=x onerror=alert(1)&gt;" in cards


def test_pages_without_posts_or_incidents(monkeypatch, tmp_path):
    from tests.accounts import ensure_accounts

    url = f"sqlite:///{tmp_path / 'towns-only.sqlite'}"
    store = open_store(url)
    store.upsert("towns", towns_frame(), source="test")
    store.dispose()
    ensure_accounts(url)
    at = run_page(monkeypatch, url, "reports")
    assert {m.label: m.value for m in at.metric}["該当する投稿"] == "0"
    assert [i.value for i in at.info] == [
        "条件に合う投稿はありません。",
        "条件に合う事案はありません。",
    ]
    at = run_page(monkeypatch, url, "export")
    assert at.subheader[0].value == "出力"
    assert any(c.value == "更新 0件" for c in at.caption)


@pytest.mark.parametrize("page", ["safety", "reports", "export"])
def test_english_pages_have_no_missing_text(monkeypatch, world, page):
    import re

    from streamlit.testing.v1 import AppTest

    from tests.accounts import login_apptest
    from tests.test_safety_page import APP

    monkeypatch.setenv("BOSAI_DB_URL", world["url"])
    monkeypatch.setenv("BOSAI_TILES", "none")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "en"
    login_apptest(at, "operator")
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception
    texts = [e.value for e in (*at.subheader, *at.markdown, *at.caption, *at.info)]
    texts += [m.label for m in at.metric] + [b.label for b in at.main.button]
    texts += [w.label for w in (*at.selectbox, *at.multiselect, *at.radio, *at.checkbox)]
    texts += [b.proto.label for b in at.get("download_button")]
    keys = [s for s in texts if re.search(r"\b(safety|reports|export|category)\.[a-z_]", str(s))]
    assert keys == []
    assert at.subheader[0].value.startswith(
        {"safety": "Safety check", "reports": "Reports & SNS", "export": "Export"}[page]
    )
