"""Data files as their consumers read them: distinct CSV names, labelled KML, RFC 7946 rings and
the attribution the CC BY / CC BY-SA sources ask for, in every format."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from lxml import etree

from geodata.export.common import ATTRIBUTIONS
from geodata.export.data import export_layer
from ingest.cli import main
from tests.test_export_world import open_world

KML = "{http://www.opengis.net/kml/2.2}"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def world_store(sqlite_url):
    yield from open_world(sqlite_url)


def ring_area(coords) -> float:
    """Signed area (shoelace): positive for a counter-clockwise ring."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(coords, coords[1:], strict=False))


def test_csv_and_sjis_get_distinct_names(world_store, sqlite_url, tmp_path, capsys):
    utf8 = export_layer(world_store, "shelters", "csv")
    sjis = export_layer(world_store, "shelters", "csv-sjis")
    assert utf8.filename != sjis.filename and sjis.filename.endswith("-sjis.csv")
    out = tmp_path / "exports"
    for fmt in ("csv", "csv-sjis"):
        argv = ["export", "layer", "shelters", "--format", fmt, "--db", sqlite_url]
        assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2, files  # the UTF-8 file is not overwritten by the Shift_JIS one
    utf8_file = next(p for p in out.iterdir() if not p.name.endswith("-sjis.csv"))
    assert utf8_file.read_bytes().startswith(b"\xef\xbb\xbf")


def _placemarks(data: bytes) -> list:
    return list(etree.fromstring(data).iter(f"{KML}Placemark"))


def test_kml_descriptions_show_labels_not_codes(world_store):
    marks = _placemarks(export_layer(world_store, "shelters", "kml").data)
    by_name = {m.findtext(f"{KML}name"): m for m in marks}
    balloon = by_name["都立調布南高校"].findtext(f"{KML}description")
    assert "<td>指定緊急避難場所・指定避難所</td>" in balloon
    assert "<td>地震</td>" in balloon and "<th>収容人数推計</th><td>はい</td>" in balloon
    assert "both" not in balloon and "True" not in balloon and "earthquake" not in balloon
    balloon = by_name["第三小学校"].findtext(f"{KML}description")
    assert "<td>地震、大規模な火事</td>" in balloon and "<td>いいえ</td>" in balloon
    # other systems still get the stored codes
    values = {
        d.get("name"): d.findtext(f"{KML}value") for d in by_name["第三小学校"].iter(f"{KML}Data")
    }
    assert values["kind"] == "both" and json.loads(values["hazards"]) == [
        "earthquake",
        "large_fire",
    ]


def test_kml_hazard_placemarks_have_human_names(world_store):
    marks = _placemarks(export_layer(world_store, "hazard_areas", "kml").data)
    assert [m.findtext(f"{KML}name") for m in marks] == ["浸水想定区域（多摩川）"] * 2
    assert "<td>浸水想定区域</td>" in marks[0].findtext(f"{KML}description")


def test_geojson_rings_follow_rfc7946(world_store):
    # a clockwise outer ring with a counter-clockwise hole, as GEOS and the source files give them
    outer = [(139.52, 35.63), (139.52, 35.64), (139.53, 35.64), (139.53, 35.63), (139.52, 35.63)]
    hole = [(139.522, 35.632), (139.528, 35.632), (139.528, 35.638), (139.522, 35.638)]
    polygon = shapely.Polygon(outer, [hole])
    assert not polygon.exterior.is_ccw and polygon.interiors[0].is_ccw
    area = gpd.GeoDataFrame(
        {"id": ["A31-9"], "kind": ["flood"], "river": ["野川"], "source": ["test"]},
        geometry=[polygon],
        crs=4326,
    )
    world_store.upsert("hazard_areas", area, source="test")
    doc = json.loads(export_layer(world_store, "hazard_areas", "geojson").data)
    assert len(doc["features"]) == 3
    for feature in doc["features"]:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for rings in polygons:
            assert ring_area(rings[0]) > 0, feature["properties"]["id"]  # outer: CCW
            for inner in rings[1:]:
                assert ring_area(inner) < 0, feature["properties"]["id"]  # holes: CW
    holed = next(f for f in doc["features"] if f["properties"]["id"] == "A31-9")
    assert len(holed["geometry"]["coordinates"]) == 2


def test_attribution_in_every_format(world_store, tmp_path):
    line = ATTRIBUTIONS["towns"]
    doc = json.loads(export_layer(world_store, "towns", "geojson").data)
    assert doc["attribution"] == [line] and doc["type"] == "FeatureCollection"
    assert len(gpd.read_file(io.BytesIO(json.dumps(doc).encode()))) == 12
    for fmt, encoding in (("csv", "utf-8-sig"), ("csv-sjis", "cp932")):
        frame = pd.read_csv(
            io.BytesIO(export_layer(world_store, "shelters", fmt).data), encoding=encoding
        )
        assert set(frame["出典"]) == {ATTRIBUTIONS["shelters"]}, fmt
    root = etree.fromstring(export_layer(world_store, "hazard_areas", "kml").data)
    document = root.find(f"{KML}Document")
    assert document.findtext(f"{ATOM}author/{ATOM}name") == "調布市 災害対策本部"
    assert ATTRIBUTIONS["hazard_areas"] in document.findtext(f"{KML}description")
    path = tmp_path / "boundaries.gpkg"
    path.write_bytes(export_layer(world_store, "boundaries", "gpkg").data)
    info = pyogrio.read_info(path)
    assert info["layer_metadata"]["ATTRIBUTION"] == ATTRIBUTIONS["boundaries"]
    assert ATTRIBUTIONS["boundaries"] in info["layer_metadata"]["DESCRIPTION"]
    # the HQ's own records carry no third-party attribution
    assert "attribution" not in json.loads(export_layer(world_store, "posts", "geojson").data)
