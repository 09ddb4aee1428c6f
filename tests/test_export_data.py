"""Layer exports read back with independent readers: geopandas/pyogrio, lxml, pandas.

Run on both store backends (the ``store`` fixture): the filters are applied by the database.
"""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from lxml import etree

from geodata.export.common import PersonalDataError
from geodata.export.data import export_layer
from tests.test_export_world import ROSTER, build_world

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def world(store):
    build_world(store)
    return store


def read_geo(data: bytes, suffix: str, tmp_path) -> gpd.GeoDataFrame:
    path = tmp_path / f"export.{suffix}"
    path.write_bytes(data)
    return gpd.read_file(path)


def test_geojson_shelters(world, tmp_path):
    result = export_layer(world, "shelters", "geojson")
    frame = read_geo(result.data, "geojson", tmp_path)
    assert len(frame) == result.count == 6
    assert frame.crs.to_epsg() == 4326
    row = frame.set_index("shelter_id").loc["E1320800028111"]
    assert row["name"] == "第三小学校" and row["capacity"] == 500
    assert json.loads(row["hazards"]) == ["earthquake", "large_fire"]
    doc = json.loads(result.data)
    assert doc["type"] == "FeatureCollection"
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert 139.4 < lon < 139.7 and 35.5 < lat < 35.8


def test_geojson_times_in_jst(world, tmp_path):
    doc = json.loads(export_layer(world, "field_reports", "geojson").data)
    times = sorted(f["properties"]["reported_at"] for f in doc["features"])
    assert times[0] == "2026-10-12T19:30:00+09:00"


def test_gpkg_opens_with_pyogrio(world, tmp_path):
    result = export_layer(world, "towns", "gpkg")
    path = tmp_path / "towns.gpkg"
    path.write_bytes(result.data)
    layers = pyogrio.list_layers(path)
    assert [str(name) for name, _ in layers] == ["towns"]
    info = pyogrio.read_info(path, layer="towns")
    assert info["features"] == 12 and info["geometry_type"] in ("Polygon", "MultiPolygon")
    frame = gpd.read_file(path, layer="towns")
    assert frame.crs.to_epsg() == 4326
    assert "染地二丁目" in set(frame["name"])


def test_gpkg_table_without_geometry(world, tmp_path):
    result = export_layer(world, "shelter_status", "gpkg")
    path = tmp_path / "status.gpkg"
    path.write_bytes(result.data)
    frame = pyogrio.read_dataframe(path, read_geometry=False)
    assert len(frame) == 7
    assert frame["reported_at"].dt.tz is not None  # a conformant UTC datetime field


def test_kml_placemarks_lon_lat(world):
    result = export_layer(world, "shelters", "kml")
    root = etree.fromstring(result.data)
    marks = root.findall(f".//{KML}Placemark")
    assert len(marks) == 6
    names = {m.findtext(f"{KML}name") for m in marks}
    assert "布田小学校" in names
    coords = marks[0].findtext(f".//{KML}Point/{KML}coordinates")
    lon, lat = (float(v) for v in coords.split(","))
    assert 139.4 < lon < 139.7 and 35.5 < lat < 35.8  # KML order is lon,lat
    description = marks[0].findtext(f"{KML}description")
    assert "<table>" in description and "住所" in description
    data = {d.get("name"): d.findtext(f"{KML}value") for d in marks[0].iter(f"{KML}Data")}
    assert data["capacity"] in {"500", "600", "700", "450"}


def test_kml_polygons_and_escaping(world):
    root = etree.fromstring(export_layer(world, "towns", "kml").data)
    rings = root.findall(f".//{KML}Polygon/{KML}outerBoundaryIs/{KML}LinearRing/{KML}coordinates")
    assert len(rings) == 12
    first = rings[0].text.split()[0].split(",")
    assert float(first[0]) > 100 and float(first[1]) < 50
    # text with markup stays text in the balloon: HTML-escaped inside the description
    world.update("posts", ("mastodon", "101"), {"text": "<b>冠水</b> & 通行止め"}, actor="t")
    root = etree.fromstring(export_layer(world, "posts", "kml").data)
    desc = [m.findtext(f"{KML}description") for m in root.iter(f"{KML}Placemark")]
    assert any("&lt;b&gt;冠水&lt;/b&gt; &amp; 通行止め" in d for d in desc)


def test_csv_utf8_bom(world):
    result = export_layer(world, "roster", "csv")
    assert result.data[:3] == b"\xef\xbb\xbf"
    frame = pd.read_csv(io.BytesIO(result.data), encoding="utf-8-sig", dtype=str)
    assert len(frame) == 8
    assert "氏名" in frame.columns and "経度" in frame.columns and "緯度" in frame.columns
    row = frame.set_index("要支援者ID").loc["R008"]
    assert row["氏名"] == "加藤 𠮷男"  # UTF-8 keeps every character
    assert row["住所"] == "東京都調布市飛田給一丁目2-2"


def test_csv_shift_jis_replaces_and_reports(world):
    result = export_layer(world, "roster", "csv-sjis")
    assert not result.data.startswith(b"\xef\xbb\xbf")
    text = result.data.decode("cp932")  # must decode as Windows Shift_JIS
    frame = pd.read_csv(io.StringIO(text), dtype=str)
    names = frame.set_index("要支援者ID")["氏名"]
    assert names["R008"] == "加藤 〓男"
    assert names["R003"] == "髙橋 和子"  # an IBM extension character cp932 has
    replaced = result.info["replaced"]
    assert replaced["count"] == 1 and replaced["characters"] == ["𠮷"]
    assert replaced["cells"][0]["column"] == "氏名"


def test_csv_times_are_jst(world):
    frame = pd.read_csv(io.BytesIO(export_layer(world, "posts", "csv").data), encoding="utf-8-sig")
    assert "2026-10-12 19:00:00" in set(frame["投稿日時(JST)"])


def test_public_masks_authors_and_drops_personal_columns(world):
    frame = pd.read_csv(
        io.BytesIO(export_layer(world, "posts", "csv", public=True).data), encoding="utf-8-sig"
    )
    assert set(frame["投稿者"]) == {"非公開"} and set(frame["URL"]) == {"非公開"}
    doc = json.loads(export_layer(world, "posts", "geojson", public=True).data)
    assert "tamagawa_taro" not in json.dumps(doc, ensure_ascii=False)
    with pytest.raises(PersonalDataError):
        export_layer(world, "roster", "csv", public=True)


def test_public_safety_replies_are_town_counts(world, tmp_path):
    # Safety replies have no public version; their public form is the town-level counts,
    # whose small counts are suppressed (the exact counts stay in the internal file).
    with pytest.raises(PersonalDataError, match="no public version"):
        export_layer(world, "safety_replies", "geojson", public=True)
    internal = export_layer(world, "safety_by_town", "geojson")
    frame = read_geo(internal.data, "geojson", tmp_path).set_index("name")
    assert frame.loc["多摩川三丁目", "unconfirmed"] == 1
    result = export_layer(world, "safety_by_town", "geojson", public=True)
    frame = read_geo(result.data, "geojson", tmp_path).set_index("name")
    assert set(frame.columns) >= {"residents", "replied", "needs_help", "unconfirmed"}
    # 8 residents over 12 towns: every count is below 3, so the table is withheld whole
    assert frame.loc["多摩川三丁目", "unconfirmed"] == "秘匿"
    assert set(frame["residents"]) == {"秘匿"}
    text = result.data.decode()
    for _, name, _, address, phone, *_ in ROSTER:
        assert name not in text and address not in text and phone not in text


def test_filters(world):
    since, until = "2026-10-12T19:30", "2026-10-12T20:06"
    assert export_layer(world, "posts", "csv", since=since, until=until).count == 2
    assert export_layer(world, "posts", "csv", where={"triage": ["new", "verified"]}).count == 3
    # the south-west corner only: 多摩川一丁目 and its neighbours
    bbox = (139.52, 35.63, 139.535, 35.642)
    result = export_layer(world, "towns", "geojson", bbox=bbox)
    assert 1 <= result.count < 12
    assert export_layer(world, "shelters", "csv", where={"capacity": "500"}).count == 3
    audit = world.read_audit(limit=1)
    assert audit.iloc[0]["action"] == "export:layer" and audit.iloc[0]["layer"] == "shelters"


def test_unknown_format_and_kml_without_geometry(world):
    with pytest.raises(ValueError, match="unknown format"):
        export_layer(world, "towns", "xlsx")
    with pytest.raises(ValueError, match="no geometry"):
        export_layer(world, "shelter_status", "kml")
