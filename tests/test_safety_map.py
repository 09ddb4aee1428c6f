"""The safety map's point layers: compact encoding, tooltips, masking, and plain-text scripts.

The map of the 安否確認 page draws every reply and every non-responder's home (20,000 residents
in a large city); these tests check what reaches the browser, value by value.
"""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import pandas as pd

from dashboard.maps.elements import GeoJsonLayer, PointLayer, point_data, script_json
from dashboard.safety import map as safety_map
from geodata import follow_ups, safety
from geodata.access import privacy
from tests.test_safety_page import (
    NOW,
    replies_frame,
    roster_frame,
    towns_frame,
)


def layer_data(html: str) -> list[dict]:
    """The decoded data of every PointLayer in a rendered map script, in order."""
    out, start = [], 0
    decoder = json.JSONDecoder()
    while (i := html.find('({"dense":', start)) >= 0:
        value, end = decoder.raw_decode(html, i + 1)
        out.append(value)
        start = end
    return out


def tooltip(data: dict, point: list) -> str:
    """The tooltip the layer's script puts together for ``point`` (same rules as the JS)."""
    lines = [x for x in point[3:] if x]
    title = data["titles"][point[2]] if data["titles"] else ""
    if title:
        lines.insert(0, f"<b>{title}</b>")
    elif lines:
        lines[0] = f"<b>{lines[0]}</b>"
    return "<br>".join(lines)


def _map(role: str = "operator", lang: str = "ja") -> str:
    roster, replies, towns = roster_frame(), replies_frame(NOW), towns_frame()
    follow = follow_ups.follow_up_frame("R2", "phone", "no_answer", None, by="sato", at=NOW)
    states = safety.resident_states(roster, replies, follow)
    people = safety.visit_list(roster, states, towns)
    points = privacy.mask_frame(
        "safety_replies", safety.reply_points(roster, replies), role, key=b"k" * 32
    )
    homes = None
    if not privacy.needs_masking(role):
        homes = safety_map.homes_data(safety_map.homes(roster, people), lang)
    m = safety_map.safety_map(
        safety_map.towns_with_counts(towns, safety.town_table(states, towns)),
        safety_map.reply_points_data(points, lang),
        homes,
        tiles="none",
        lang=lang,
    )
    return m.get_root().render()


def test_operator_map_has_a_point_per_reply_and_a_home_per_non_responder():
    html = _map("operator")
    homes, replies = layer_data(html)
    # newest reply of each matched resident (R1, R4, R6) + the unmatched one; R6's newest is 負傷
    tips = sorted(tooltip(replies, p) for p in replies["points"])
    assert tips == sorted(
        [
            "<b>無事</b><br>山田　花子<br>10/12 18:10<br>経路: line",
            "<b>要救助</b><br>高橋　四郎<br>10/12 19:30<br>経路: line",
            "<b>負傷</b><br>伊藤　六郎<br>10/12 20:19<br>経路: line",
            "<b>無事</b><br>10/12 20:30<br>経路: line<br>名簿と未照合",
        ]
    )
    colours = {tooltip(replies, p).split("<br>")[1]: replies["styles"][p[2]]["fillColor"]
               for p in replies["points"]}  # fmt: skip
    assert colours["高橋　四郎"] == safety_map.STATUS_COLOURS["要救助"]
    # drawn in this order, so the urgent ones are on top of the many safe ones
    heads = [replies["titles"][p[2]] for p in replies["points"]]
    assert heads == ["無事", "無事", "負傷", "要救助"]
    # the visit list's homes: R4 (要救助) and R6 (負傷) first, with their reply; then R2
    # (called, no answer), R3, R5, not heard from: priority first, then town
    assert [tooltip(homes, p) for p in homes["points"]][:2] == [
        "<b>高橋　四郎</b><br>優先度 3<br>調布市飛田給二丁目4-1<br>独居<br>要救助 19:30",
        "<b>伊藤　六郎</b><br>優先度 2<br>調布市上石原一丁目6-1<br>要介護1<br>負傷 20:19",
    ]
    assert [tooltip(homes, p) for p in homes["points"]][2:] == [
        "<b>鈴木　三郎</b><br>優先度 1<br>調布市飛田給二丁目3-1<br>視覚障害",
        "<b>佐藤　次郎</b><br>優先度 2<br>調布市飛田給一丁目2-1<br>要介護3<br>電話 不通 21:00",
        "<b>田中　五月</b><br>調布市上石原一丁目5-1<br>人工透析",
    ]
    home = roster_frame().set_index("resident_id").geometry["R5"]
    assert homes["points"][4][:2] == [round(home.y, 5), round(home.x, 5)]
    assert homes["styles"][0]["className"] == "bosai-home" and not homes["dense"]


def test_viewer_map_has_no_homes_and_no_names():
    html = _map("viewer")
    (replies,) = layer_data(html)
    assert len(replies["points"]) == 4
    for name in roster_frame()["name"]:
        assert name not in html
    assert "bosai-home" not in html


def test_english_tooltips():
    _, replies = layer_data(_map("operator", lang="en"))
    assert replies["titles"] == ["Safe", "Injured", "Needs rescue", "Unknown"]


def test_text_is_escaped_and_template_syntax_stays_text():
    roster = roster_frame()
    roster.loc[0, "name"] = "<script>alert(1)</script>{{ 7*7 }}"
    towns = towns_frame()
    towns.loc[0, "name"] = "{% raw %}{{ 6*7 }}"
    people = safety.visit_list(
        roster, safety.resident_states(roster, replies_frame(NOW).iloc[0:0], _no_follow()), towns
    )
    m = safety_map.safety_map(
        safety_map.towns_with_counts(towns, pd.DataFrame(columns=["town_code", "registered",
                                                               "replied", "unconfirmed"])),
        safety_map.reply_points_data(safety.reply_points(roster, replies_frame(NOW).iloc[0:0])),
        safety_map.homes_data(safety_map.homes(roster, people)),
        tiles="none",
    )  # fmt: skip
    html = m.get_root().render()
    assert "<script>alert" not in html
    (homes,) = layer_data(html)
    assert tooltip(homes, homes["points"][0]).startswith(
        "<b>&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}</b>"
    )
    # branca would have compiled the town layer's script as a template: "42" instead of the name
    assert "{% raw %}{{ 6*7 }}" in html


def test_folium_geojson_would_run_template_syntax_in_data():
    """Why GeoJsonLayer exists: folium's GeoJson evaluates ``{{ }}`` found in its data."""
    frame = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"label": "{{ 6*7 }}"},
         "geometry": {"type": "Point", "coordinates": [139.5, 35.6]}}]}  # fmt: skip
    plain = folium.Map(tiles=None)
    folium.GeoJson(frame).add_to(plain)
    ours = folium.Map(tiles=None)
    GeoJsonLayer(frame).add_to(ours)
    assert '"label": "42"' in plain.get_root().render()
    html = ours.get_root().render()
    assert '"label": "{{ 6*7 }}"' in html and '"label": "42"' not in html
    assert ours.get_bounds() == [[35.6, 139.5], [35.6, 139.5]]


def test_point_data_is_compact_and_dense_over_the_limit():
    rows = [(35.123456789, 139.987654321, 0, "a</script>"), (35.2, 139.1, 1, "")]
    data = point_data(rows, [{"color": "#000"}, {"color": "#fff"}], dense_over=2)
    assert data.count == 2 and data.bounds == [[35.12346, 139.1], [35.2, 139.98765]]
    assert "</script>" not in data.json
    decoded = json.loads(data.json)
    assert decoded["points"] == [[35.12346, 139.98765, 0, "a</script>"], [35.2, 139.1, 1, ""]]
    assert decoded["dense"] is False
    many = point_data([(35.0, 139.0, 0)] * 3, [{}], dense_over=2)
    assert json.loads(many.json)["dense"] is True
    assert script_json({"x": "<&'>"}) == '{"x":"\\u003c\\u0026\\u0027\\u003e"}'


def test_point_layer_is_in_the_layer_control_and_defined_once():
    m = folium.Map(tiles=None)
    layer = PointLayer(point_data([(35.6, 139.5, 0, "x")], [{}]), name="返信")
    layer.add_to(m)
    folium.LayerControl().add_to(m)
    html = m.get_root().render()
    html = m.get_root().render()  # streamlit-folium renders twice
    name = layer.get_name()
    assert html.count(f"var {name} = ") == 1 and html.count('"points":') == 1
    assert f"{name}.addTo(" in html
    overlays = html.split("overlays")[1].split("}")[0]
    assert json.dumps("返信") in overlays and name in overlays
    assert m.get_bounds() == [[35.6, 139.5], [35.6, 139.5]]


def _no_follow() -> pd.DataFrame:
    return follow_ups.follow_up_frame("R1", "phone", "no_answer", None, by="x", at=NOW).iloc[0:0]


def test_homes_without_points_are_left_out():
    roster = roster_frame()
    roster.loc[roster["resident_id"] == "R3", "geometry"] = None
    roster = gpd.GeoDataFrame(roster, geometry="geometry", crs=4326)
    people = safety.visit_list(
        roster, safety.resident_states(roster, replies_frame(NOW), _no_follow()), towns_frame()
    )
    assert "R3" in people["resident_id"].tolist()
    data = safety_map.homes_data(safety_map.homes(roster, people))
    names = [json.loads(data.json)["points"][i][3] for i in range(data.count)]
    assert "鈴木　三郎" not in names and data.count == len(people) - 1


def test_a_dense_map_is_drawn_on_one_canvas():
    cols = ["town_code", "registered", "replied", "unconfirmed"]
    towns = safety_map.towns_with_counts(towns_frame(), pd.DataFrame(columns=cols))
    rows = [(35.655, 139.525 + i * 1e-4, 0, "x") for i in range(3)]
    few = safety_map.safety_map(towns, point_data(rows, safety_map.REPLY_STYLES), tiles="none")
    dense = point_data(rows, safety_map.REPLY_STYLES, dense_over=2)
    many = safety_map.safety_map(towns, dense, tiles="none")
    assert '"preferCanvas": false' in few.get_root().render()
    html = many.get_root().render()
    assert '"preferCanvas": true' in html and json.loads(dense.json)["dense"] is True
