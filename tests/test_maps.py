"""Map builders, tested through the folium object's rendered HTML (no browser)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from jinja2.utils import htmlsafe_json_dumps

from dashboard.maps import layers as maps
from dashboard.maps import offline

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def _vendored_urls():
    offline.patch_folium("")


def _towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "town_code": ["13208001001", "13208001002", "13208002001"],
            "name": ["国領町一丁目", XSS, "布田一丁目"],
            "population": [1200, 800, None],
            "households": [600, 400, 100],
            "area_m2": [250_000.0, 100_000.0, 80_000.0],
        },
        geometry=[
            shapely.box(139.54, 35.64, 139.55, 35.65),
            shapely.box(139.55, 35.64, 139.56, 35.65),
            shapely.MultiPolygon(
                [
                    shapely.box(139.56, 35.64, 139.565, 35.645),
                    shapely.box(139.566, 35.64, 139.57, 35.645),
                ]
            ),
        ],
        crs="EPSG:4326",
    )


def _hazard() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": ["h1", "h2"],
            "kind": ["flood", "flood"],
            "river": ["多摩川", XSS],
            "rank": [None, None],
        },
        geometry=[
            shapely.box(139.54, 35.63, 139.56, 35.64),
            shapely.box(139.56, 35.63, 139.57, 35.64),
        ],
        crs="EPSG:4326",
    )


def _shelters() -> gpd.GeoDataFrame:
    ids = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"]
    return gpd.GeoDataFrame(
        {
            "shelter_id": ids,
            "name": [
                "第一小学校",
                XSS,
                "第三中学校",
                "市民会館",
                "体育館",
                "公民館",
                "図書館",
                "集会所",
            ],
            "kind": [
                "shelter",
                "both",
                "shelter",
                "shelter",
                "shelter",
                "emergency_site",
                "shelter",
                "shelter",
            ],
            "address": ["調布市小島町1", "調布市<b>2</b>", None, None, None, None, None, None],
            "capacity": [100, 100, 100, 100, 100, None, 100, None],
            "capacity_estimated": [False, True, False, False, False, None, False, None],
        },
        geometry=[shapely.Point(139.545 + i * 0.002, 35.645) for i in range(len(ids))],
        crs="EPSG:4326",
    )


def _status() -> pd.DataFrame:
    now = pd.Timestamp("2025-09-01T10:00:00Z")
    rows = [
        ("S1", "開設", 10),  # 10 %  -> class 0
        ("S2", "開設", 45),  # 45 %  -> class 1
        ("S3", "開設", 70),  # 70 %  -> class 2
        ("S4", "開設", 95),  # 95 %  -> class 3
        ("S5", "満員", 100),
        ("S6", "開設", 30),  # capacity unknown
        ("S7", "閉鎖", 0),
    ]
    old = [("S4", "未開設", 0)]  # an older report must not win over the newer one
    frame = pd.DataFrame(
        [{"shelter_id": s, "status": st, "evacuees": e, "reported_at": now} for s, st, e in rows]
        + [
            {"shelter_id": s, "status": st, "evacuees": e, "reported_at": now - pd.Timedelta("1h")}
            for s, st, e in old
        ]
    )
    return frame


def _in_script(text: str, html: str) -> bool:
    """Whether ``text`` is in the page, as is or JSON-encoded as folium's templates do it."""
    return any(
        form in html
        for form in (text, json.dumps(text)[1:-1], str(htmlsafe_json_dumps(text))[1:-1])
    )


def _features(layer) -> list[dict]:
    return layer.data["features"]


def test_shelter_colour_by_status_and_occupancy():
    assert maps.shelter_colour("開設", 0) == "#1a9850"
    assert maps.shelter_colour("開設", 3) == "#d73027"
    assert maps.shelter_colour("開設", None) == maps.SHELTER_COLOURS["unknown"]
    assert maps.shelter_colour("満員", 3) == maps.SHELTER_COLOURS["満員"]
    assert maps.shelter_colour("閉鎖", None) == maps.SHELTER_COLOURS["閉鎖"]
    assert maps.shelter_colour(None, None) == maps.SHELTER_COLOURS["未開設"]


def test_towns_layer_features_and_escaped_tooltips():
    layer = maps.towns_layer(_towns(), lang="ja")
    features = _features(layer)
    assert [f["id"] for f in features] == ["13208001001", "13208001002", "13208002001"]
    # Only the tooltip label and the class are embedded: no other column leaks into the page.
    assert set(features[0]["properties"]) == {"fid", "label", "cls"}
    label = features[1]["properties"]["label"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in label
    assert "<img" not in label
    assert "人口: 800" in label
    assert "人口: –" in features[2]["properties"]["label"]


def test_towns_choropleth_classes_and_legend():
    towns = maps.add_density(_towns())
    assert towns["density"].round(0).tolist()[:2] == [4800.0, 8000.0]
    layer = maps.towns_layer(towns, measure="density", lang="en")
    classes = [f["properties"]["cls"] for f in _features(layer)]
    assert classes[0] < classes[1]
    assert classes[2] == -1  # no population -> no class, paper fill
    legend = maps.towns_legend(towns, "density", lang="en")
    assert legend.html.startswith("<b>Population density (/km²)</b>")
    # Quantile edges of the two densities (4,800 and 8,000), interpolated: five classes.
    labels = re.findall(r"</i><span>([^<]+)</span></div>", legend.html)
    assert labels == ["≤ 5,440", "5,440 – 6,080", "6,080 – 6,720", "6,720 – 7,360", "7,360 – 8,000"]
    m = maps.overview_map(towns, _hazard(), _shelters(), tiles="none", measure="density")
    html = m.get_root().render()
    assert html.count("L.DomUtil.create('div', 'bosai-legend')") == 2  # shelters + towns
    assert maps.TOWN_FILL in html


def test_hazard_layer_labels_and_attribution():
    layer = maps.hazard_layer(_hazard(), lang="ja")
    labels = [f["properties"]["label"] for f in _features(layer)]
    assert labels[0] == "<b>浸水想定区域</b><br>河川: 多摩川"
    assert "&lt;img" in labels[1] and "<img" not in labels[1]
    assert layer.options["attribution"] == "国土数値情報（浸水想定区域データ）国土交通省"


def test_shelters_layer_colours_counts_and_escaping():
    group = maps.shelters_layer(_shelters(), _status(), lang="ja")
    circles, counts = list(group._children.values())
    props = {f["id"]: f["properties"] for f in _features(circles)}
    assert len(props) == 8
    assert {k: v["fill"] for k, v in props.items()} == {
        "S1": "#1a9850",
        "S2": "#fee08b",
        "S3": "#fc8d59",
        "S4": "#d73027",
        "S5": maps.SHELTER_COLOURS["満員"],
        "S6": maps.SHELTER_COLOURS["unknown"],
        "S7": maps.SHELTER_COLOURS["閉鎖"],
        "S8": maps.SHELTER_COLOURS["未開設"],
    }
    assert "避難者: 95人" in props["S4"]["label"]
    assert "収容率: 95%" in props["S4"]["label"]
    assert "状況: 報告なし" in props["S8"]["label"]
    assert "（推定）" in props["S2"]["label"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in props["S2"]["label"]
    assert "調布市&lt;b&gt;2&lt;/b&gt;" in props["S2"]["label"]
    # Count labels only for open and full shelters.
    assert sorted(f["id"] for f in _features(counts)) == ["S1", "S2", "S3", "S4", "S5", "S6"]
    assert {f["id"]: f["properties"]["count"] for f in _features(counts)}["S4"] == "95人"


def test_shelters_without_status():
    group = maps.shelters_layer(_shelters(), None, lang="en")
    children = list(group._children.values())
    assert len(children) == 1  # no count labels
    labels = [f["properties"]["label"] for f in _features(children[0])]
    assert all("Status: No report" in label for label in labels)


def test_overview_map_html_offline_and_escaped():
    m = maps.overview_map(_towns(), _hazard(), _shelters(), _status(), tiles="none", lang="ja")
    html = m.get_root().render()
    # The layer control lists the three layers (names JSON-encoded in the script).
    overlays = html[html.index("overlays :") : html.index("L.control.layers")]
    names = [json.loads(n) for n in re.findall(r'("[^"]+") :', overlays)]
    assert names == ["町丁目", "浸水想定区域", "避難所"]
    # Feature counts per layer, and the CSS class each layer's paths get.
    counts = {k: len(re.findall(rf'"fid": "{k}', html)) for k in ("1320800", "h", "S")}
    assert counts == {"1320800": 3, "h": 2, "S": 8 + 6}  # shelters + their count labels
    assert '"className": "bosai-town"' in html and '"className": "bosai-shelter"' in html
    # The name with markup only appears as HTML entities (inside JSON strings, where "&" is
    # written \u0026): the tooltip's innerHTML shows it as text.
    assert XSS not in html
    escaped = "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;"
    # 4 tooltips and the town's name label (dashboard/maps/basemap.py TownNames).
    assert html.count("img src=x onerror=alert(1)") == html.count(escaped) == 5
    # No CDN, no remote asset: every script/stylesheet is served by the app.
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/app/static/vendor/") for a in assets), assets
    assert "cdn." not in html
    assert "https://" not in re.sub(r'href=\\?"https://[^"\\]+\\?"', "", html)
    # No tile layer with tiles off; the data attributions are on the layers.
    assert "L.tileLayer" not in html
    for text in (
        "出典：政府統計の総合窓口(e-Stat)",
        "国土数値情報（浸水想定区域データ）",
        "出典：国土地理院",
    ):
        assert _in_script(text, html)


@pytest.mark.parametrize(
    ("tiles", "url"),
    [
        ("gsi_std", "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"),
        ("gsi_pale", "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"),
        ("gsi_photo", "https://cyberjapandata.gsi.go.jp/xyz/seamlessphoto/{z}/{x}/{y}.jpg"),
        ("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    ],
)
def test_basemap_tiles_and_attribution(tiles, url):
    m = maps.base_map((139.5, 35.6, 139.6, 35.7), tiles=tiles, lang="ja")
    html = m.get_root().render()
    assert json.dumps(url) in html
    if tiles.startswith("gsi"):
        assert _in_script(
            '<a href="https://maps.gsi.go.jp/development/ichiran.html" target="_blank">地理院タイル</a>',
            html,
        )
    else:
        assert _in_script("OpenStreetMap</a> contributors", html)
    # The only https:// left are the tile template and attribution links.
    rest = html.replace(url, "").replace("https://maps.gsi.go.jp/development/ichiran.html", "")
    rest = rest.replace("https://www.openstreetmap.org/copyright", "")
    rest = rest.replace("https://leafletjs.com", "")
    assert "https://" not in rest


def test_tile_url_override_and_unknown_tiles():
    m = maps.base_map(None, tiles="none", tile_url="http://tiles.hq.local/std/{z}/{x}/{y}.png")
    assert "http://tiles.hq.local/std/{z}/{x}/{y}.png" in m.get_root().render()
    with pytest.raises(ValueError, match="unknown tiles"):
        maps.base_map(None, tiles="google")


def test_empty_layers_give_a_map():
    empty = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    m = maps.overview_map(empty, empty, empty, None, tiles="none")
    assert "L.map(" in m.get_root().render()


def test_rescue_labels_are_one_script_with_escaped_counts():
    """The rescue counts by town are one LabelLayer (not a folium marker + tooltip per town):
    a label per town with a count, biggest first, text escaped and never run as a template."""
    from dashboard.maps.elements import LabelLayer
    from dashboard.picture import rescue_labels

    towns = gpd.GeoDataFrame(
        {
            "name": ["A", "B", "C", "D"],
            "needs_help": [2, 0, 7, "3人未満"],  # 0 and a suppressed mark get no label
            "geometry": [
                shapely.box(139.50 + i / 100, 35.6, 139.505 + i / 100, 35.605) for i in range(4)
            ],  # fmt: skip
        },
        crs="EPSG:4326",
    )
    group = rescue_labels(towns, "ja")
    layers = [c for c in group._children.values() if isinstance(c, LabelLayer)]
    assert len(layers) == 1 and len(group._children) == 1
    rows = json.loads(layers[0].rows)
    assert [r[2] for r in rows] == ["要救助 7", "要救助 2"]
    assert abs(rows[0][1] - 139.5225) < 0.001  # town C first
    m = maps.base_map((139.5, 35.6, 139.6, 35.7), tiles="none")
    group.add_to(m)
    html = m.get_root().render()
    assert '"permanent":true' in html and "bosai-rescue" in html
    assert "folium.Tooltip" not in html and html.count("bindTooltip(r[2], options)") == 1


def test_label_layer_text_is_not_a_template():
    from dashboard.maps.elements import LabelLayer

    m = maps.base_map((139.5, 35.6, 139.6, 35.7), tiles="none")
    LabelLayer([(35.65, 139.55, "{{ 6*7 }} &lt;b&gt;")], {"permanent": True}).add_to(m)
    html = m.get_root().render()
    # as given (JSON-encoded for a script element): not evaluated as a template
    assert '"{{ 6*7 }} \\u0026lt;b\\u0026gt;"' in html
