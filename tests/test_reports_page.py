"""通報・SNS page: escaped cards and map, triage through the page, English text.

The feed's rules are tested in tests/test_feed.py.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from dashboard.maps.elements import PinLayer
from dashboard.reports import cards as reports_feed
from dashboard.reports import map as reports_map
from geodata import geometry as reports_geo
from geodata.store.core import open_store
from tests.test_safety_page import (
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


def pin_data(html: str) -> dict:
    """The decoded data of the (single) pin layer in a rendered map."""
    assert html.count('({"pins":') == 1
    value, _ = json.JSONDecoder().raw_decode(html, html.index('({"pins":') + 1)
    return value


def pin_markup(data: dict, pin: list) -> str:
    """The pin markup the layer's script builds for ``pin`` (same rules as the JS)."""
    hex_colour = re.fullmatch(r"#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})", pin[3], re.I)
    colour = pin[3] if hex_colour else data["fallback"]
    ring = " bosai-pin-moving" if pin[4] else ""
    return f'<div class="bosai-pin{ring}" style="background:{colour}">{int(pin[2])}</div>'


def _page_map(texts: dict[str, str] | None = None, moving=None, lang: str = "ja"):
    posts = posts_frame(NOW)
    rows = posts[posts["post_id"].isin(["p3", "p6"])].copy()
    for post_id, text in (texts or {}).items():
        rows.loc[rows["post_id"] == post_id, "text"] = text
    return reports_map.reports_map(
        towns_frame(),
        reports_geo.hexbin(posts),
        rows,
        {("mastodon", "p3"): 1, ("mastodon", "p6"): 2},
        tiles="none",
        lang=lang,
        moving=moving,
    )


def test_map_pins_are_compact_rows_with_escaped_popups_and_tooltips():
    html = _page_map().get_root().render()
    assert XSS_IMG not in html and XSS_SCRIPT not in html
    data = pin_data(html)
    p3, p6 = data["pins"]
    centre = towns_frame().set_index("town_code").geometry[T3].centroid
    assert p3[:5] == [round(centre.y, 6), round(centre.x, 6), 1,
                      reports_map.category_colour("浸水・冠水"), 0]  # fmt: skip
    assert p6[2:5] == [2, reports_map.category_colour("火災"), 0]
    assert p3[5] == reports_map.post_popup_html(posts_frame(NOW).iloc[2].to_dict(), 1)
    assert "&lt;img src=x onerror=alert(1)&gt;" in p3[5] and "<img" not in p3[5]
    assert p6[5].startswith("<b>#2</b> 3 生命の危険<br>火災<br>")
    assert (
        '<div class="bosai-popup-text">&lt;script&gt;alert(1)&lt;/script&gt; 火事です</div>'
        in p6[5]
    )
    assert p3[6] == "#1 &lt;img src=x onerror=alert(1)&gt;"
    assert p6[6] == "#2 &lt;script&gt;alert(1)&lt;/script&gt; 火事です"
    # the browser builds the same pin markup as before (post_pin_html), no pin html is shipped
    assert pin_markup(data, p3) == reports_map.post_pin_html(1, p3[3])
    assert "bosai-pin" not in json.dumps(data["pins"])
    assert data["fallback"] == reports_map.category_colour(None)


def test_map_pins_are_one_layer_in_the_layer_control():
    m = _page_map(lang="en")
    m.get_root().render()
    html = m.get_root().render()  # streamlit-folium renders twice
    (layer,) = [c for c in m._children.values() if isinstance(c, PinLayer)]
    name = layer.get_name()
    assert html.count(f"var {name} = ") == 1 and f"{name}.addTo(" in html
    overlays = html.split("overlays")[1].split("}")[0]
    assert f"{json.dumps('Posts on this page')} : {name}" in overlays
    # One L.marker( in the pin layer's loop, one in the town names' (dashboard/maps/basemap.py).
    assert html.count("L.marker(") == 2 and "L.divIcon({" in html
    assert "bindPopup(p[5], {maxWidth: 360})" in html and "{sticky: true}" in html


def test_the_moving_post_is_flagged():
    data = pin_data(_page_map(moving=("mastodon", "p6")).get_root().render())
    assert [(p[2], p[4]) for p in data["pins"]] == [(1, 0), (2, 1)]
    assert pin_markup(data, data["pins"][1]) == reports_map.post_pin_html(
        2, data["pins"][1][3], True
    )
    assert 'class="bosai-pin bosai-pin-moving"' in pin_markup(data, data["pins"][1])


def test_map_pin_texts_cannot_close_the_script_or_run_template_syntax():
    hostile = "</script><script>alert(1)</script>{{ 6*7 }}"
    m = _page_map({"p3": hostile, "p6": "{% raw %}{{ broken"})
    html = m.get_root().render()  # a lone "{{" made folium's template pass fail
    assert "</script><script>alert(1)" not in html and "alert(1)</script>" not in html
    assert "{{ 6*7 }}" in html and "{% raw %}{{ broken" in html  # shown as written, not 42
    p3, p6 = pin_data(html)["pins"]
    assert p3[6] == "#1 &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;{{ 6*7 }}"
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;{{ 6*7 }}</div>" in p3[5]
    assert p6[6] == "#2 {% raw %}{{ broken"
    assert "#1 &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;42" not in html


def test_pin_layer_replaces_colours_that_are_not_hex():
    layer = PinLayer(
        [(35.6, 139.5, 3, "red;background-image:url(x)", True, "a", "b"),
         (35.7, 139.4, "4", "#ABCDEF", 0, "c", "d")],
        "#8a8a8a",
    )  # fmt: skip
    pins = json.loads(layer.json)["pins"]
    assert [p[2:5] for p in pins] == [[3, "#8a8a8a", 1], [4, "#ABCDEF", 0]]
    assert layer.get_bounds() == [[35.6, 139.4], [35.7, 139.5]]
    with pytest.raises(ValueError):
        PinLayer([], "url(x)")


# -- writes ------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path) -> dict:
    url = f"sqlite:///{tmp_path / 'world.sqlite'}"
    return {"url": url, **make_world(url)}


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
