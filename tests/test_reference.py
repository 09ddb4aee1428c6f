"""Reference layers: the real 調布市/国分寺市 files and generated messy variants of them."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geodata import settings
from geodata.reference.codes import check_digit, parse_code, to_code5, to_code6
from geodata.reference.files import find_reference_files, load_reference
from geodata.reference.layers import (
    assign_towns,
    load_boundary,
    load_hazard_areas,
    load_shelters,
    load_towns,
)
from geodata.reference.readers import ReferenceFileError, read_shapefile_polygons, topojson_features
from geodata.reference.values import (
    estimate_capacity,
    normalize_address,
    parse_capacity,
    parse_flag,
)

REF = settings.reference_dir()
TOWNS = REF / "chofu" / "towns_r2ka13208.geojson"
BOUNDARY = REF / "chofu" / "boundary_N03_13208.geojson"
GSI = REF / "shelters_gsi"
FLOOD = REF / "hazard" / "flood_A31-12_13" / "A31-12_13.shp"
needs_reference = pytest.mark.skipif(
    not (TOWNS.exists() and FLOOD.exists()), reason="reference data (BOSAI_REFERENCE_DIR) missing"
)

GSI_EMERGENCY_COLUMNS = ["NO", "共通ID", "都道府県名及び市町村名", "施設・場所名", "住所", "洪水",
                         "崖崩れ、土石流及び地滑り", "高潮", "地震", "津波", "大規模な火事", "内水氾濫",
                         "火山現象", "指定避難所との住所同一", "緯度", "経度", "備考"]  # fmt: skip


@pytest.fixture(scope="module")
def chofu():
    return load_reference("13208", REF)


@pytest.fixture(scope="module")
def chofu_boundary():
    return load_boundary(BOUNDARY, "13208")[0]


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str) -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- the real 調布市 files ----------------------------------------------------------------------


@needs_reference
def test_chofu_towns_have_population(chofu):
    towns = chofu.frames["towns"]
    # 105 features; 野水一丁目 comes in three pieces (飛地) with one KEY_CODE, dissolved to one.
    assert len(json.loads(TOWNS.read_text())["features"]) == 105
    assert len(towns) == 103 and towns["town_code"].is_unique
    assert int(towns["population"].sum()) == 242614 > 200000
    nomizu = towns.set_index("town_code").loc["13208019001"]
    assert (nomizu["name"], nomizu["population"], nomizu.geometry.geom_type) == (
        "野水一丁目",
        106,
        "MultiPolygon",
    )
    assert set(towns["city_code"]) == {"13208"} and set(towns["city_name"]) == {"調布市"}
    assert len(chofu.rejected["towns"]) == 0


@needs_reference
def test_chofu_boundary_and_flood_areas(chofu):
    boundary = chofu.frames["boundaries"]
    assert boundary[["city_code", "pref_name", "city_name"]].values.tolist() == [
        ["13208", "東京都", "調布市"]
    ]
    flood = chofu.frames["hazard_areas"]
    # Verified by hand: 57 polygons in the box, 40 touch the city (多摩川 side).
    assert len(flood) == 40
    area = boundary.geometry.iloc[0]
    assert flood.intersects(area).all()
    assert set(flood["kind"]) == {"flood"} and flood["rank"].isna().all()
    assert set(flood["source"]) == {"国土数値情報 A31 浸水想定区域"}
    assert flood["id"].is_unique and flood["id"].str.startswith("A31-12_13:").all()
    assert flood.is_valid.all() and set(flood.geom_type) <= {"Polygon", "MultiPolygon"}


@needs_reference
def test_chofu_shelters(chofu):
    shelters = chofu.frames["shelters"]
    # 10 emergency sites are areas (「…周辺」, 河川敷) with their own IDs and block addresses:
    # none pairs with any of the 68 shelters.
    assert len(shelters) == 78
    assert shelters["kind"].value_counts().to_dict() == {"shelter": 68, "emergency_site": 10}
    assert shelters["shelter_id"].is_unique
    assert shelters["capacity_estimated"].all() and shelters["capacity"].notna().all()
    by_id = shelters.set_index("shelter_id")
    # Three facilities share the stem E1320800040: each keeps its full ID.
    assert by_id.loc["E1320800040121", "name"] == "知的障害者施設すまいる"
    assert "E1320800040" not in by_id.index
    site = by_id.loc["E1320800051"]
    assert site["kind"] == "emergency_site" and site["capacity"] == 5000
    assert site["hazards"] == ["earthquake", "large_fire"]
    school = by_id.loc["E1320800010"]
    assert (school["name"], school["capacity"], school["source_ids"]) == (
        "第二小学校",
        500,
        ["E1320800010111"],
    )
    assert school["town_code"] == "13208008004"  # 国領町四丁目
    assert shelters["town_code"].notna().all()  # one point sits 1.5 m into a road sliver


@needs_reference
def test_kokubunji_shelters_merge_on_common_id():
    shelters, rejected = load_shelters(
        [GSI / "emergency_132144.json", GSI / "evacuation_132144.json"], "132144"
    )
    assert len(rejected) == 0
    assert len(shelters) == 41
    assert shelters["kind"].value_counts().to_dict() == {
        "both": 24, "shelter": 14, "emergency_site": 3
    }  # fmt: skip
    school = shelters.set_index("shelter_id").loc["E1321400001"]
    assert school["kind"] == "both" and school["name"] == "国分寺市立第十小学校"
    assert school["source_ids"] == ["E1321400001111", "E1321400001201"]
    assert school["hazards"] == ["landslide", "earthquake", "large_fire"]
    assert pd.isna(school["note"])  # 市立第十小学校 is part of the shelter's name
    plaza = shelters.set_index("shelter_id").loc["E1321400017"]
    assert plaza["note"] == "指定緊急避難場所名: いずみプラザ"


@needs_reference
def test_gsi_csv_form_loads_like_the_geojson(tmp_path):
    rows = []
    for f in json.loads((GSI / "emergency_132080.json").read_text())["features"]:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"]
        rows.append([p.get(c, "") for c in GSI_EMERGENCY_COLUMNS[:-3]] + [lat, lon, p["備考"]])
    csv_path = write_csv(tmp_path / "emergency_132080.csv", GSI_EMERGENCY_COLUMNS, rows, "cp932")
    from_csv, _ = load_shelters([csv_path], "13208")
    from_json, _ = load_shelters([GSI / "emergency_132080.json"], "13208")
    pd.testing.assert_frame_equal(
        from_csv.drop(columns="geometry"), from_json.drop(columns="geometry")
    )
    assert from_csv.geom_equals_exact(from_json.geometry, 1e-9).all()


# --- messy municipal CSVs -----------------------------------------------------------------------

OPENDATA_EMERGENCY = ["全国地方公共団体コード", "ID", "名称", "名称_カナ", "所在地_連結表記", "緯度", "経度",
                      "災害種別_洪水", "災害種別_崖崩れ、土石流及び地滑り", "災害種別_地震",
                      "災害種別_大規模な火事", "想定収容人数", "備考"]  # fmt: skip


def test_cp932_csv_with_lost_zero_flags_and_free_text_capacity(tmp_path):
    rows = [
        ["92011", "001", "宇都宮市立中央小学校", "ウツノミヤシリツチュウオウショウガッコウ",
         "栃木県宇都宮市旭二丁目１番地", "36.5551", "139.8828", "1.0", "", "○", "1",
         "屋内480人／屋外3,350人", ""],
        ["92011", "002", "八幡山公園", "", "栃木県宇都宮市塙田5-2", "３６．５７", "１３９．８８",
         "", "", "〇", "１", "", "広域避難場所"],
        ["92011", "003", "位置不明の集会所", "", "宇都宮市某所", "", "", "1", "", "", "", "", ""],
        ["92011", "004", "壊れた行", "", "宇都宮市某所", "abc", "139.9", "1", "", "", "", "", ""],
        ["92029", "001", "足利市の小学校", "", "栃木県足利市", "36.34", "139.45", "1", "", "", "",
         "", ""],
    ]  # fmt: skip
    path = write_csv(tmp_path / "指定緊急避難場所一覧.csv", OPENDATA_EMERGENCY, rows, "cp932")
    shelters, rejected = load_shelters([path], municipality="92011")
    assert len(shelters) == 2  # the 足利市 row is another municipality's
    school = shelters.set_index("name").loc["宇都宮市立中央小学校"]
    assert school["city_code"] == "09201" and school["kind"] == "emergency_site"
    assert school["hazards"] == ["flood", "earthquake", "large_fire"]
    assert school["capacity"] == 480 and not school["capacity_estimated"]
    assert school["capacity_text"] == "屋内480人／屋外3,350人"
    assert school["kana"] == "ウツノミヤシリツチュウオウショウガッコウ"
    park = shelters.set_index("name").loc["八幡山公園"]
    assert park["capacity"] == 5000 and park["capacity_estimated"]
    assert park["geometry"].coords[0] == pytest.approx((139.88, 36.57))
    assert park["hazards"] == ["earthquake", "large_fire"] and park["note"] == "広域避難場所"
    assert sorted(rejected["reason"]) == [
        "指定緊急避難場所一覧.csv: coordinates are not numbers ('abc', '139.9')",
        "指定緊急避難場所一覧.csv: no coordinates",
    ]
    assert "位置不明の集会所" in rejected["raw"].str.cat()


def test_bom_utf8_shelter_list_merges_with_emergency_list_by_address(tmp_path):
    emergency = write_csv(
        tmp_path / "指定緊急避難場所一覧.csv",
        OPENDATA_EMERGENCY,
        [
            [
                "132080",
                "1",
                "第二小学校",
                "",
                "東京都調布市国領町四丁目19番1号",
                "35.6523",
                "139.5522",
                "",
                "",
                "1",
                "1",
                "",
                "",
            ]
        ],  # fmt: skip
        "utf-8-sig",
    )
    header = ["全国地方公共団体コード", "ID", "名称", "所在地_連結表記", "緯度", "経度", "想定収容人数",
              "受入対象者"]  # fmt: skip
    shelter = write_csv(
        tmp_path / "指定避難所一覧.csv",
        header,
        [["132080", "A-7", "調布市立第二小学校", "調布市国領町4-19-1", "35.6523", "139.5522",
          "５６０人", ""],
         ["132080", "A-8", "福祉センター", "調布市国領町4-20-1", "35.6525", "139.5524", "", "要配慮者"]],
        "utf-8-sig",
    )  # fmt: skip
    shelters, rejected = load_shelters([emergency, shelter], "13208")
    assert len(rejected) == 0
    merged = shelters[shelters["kind"] == "both"]
    assert len(merged) == 1 and len(shelters) == 2
    row = merged.iloc[0]
    assert row["name"] == "調布市立第二小学校" and row["capacity"] == 560
    assert row["hazards"] == ["earthquake", "large_fire"]
    assert sorted(row["source_ids"]) == ["1", "A-7"]
    assert row["source"] == "自治体標準オープンデータセット"
    welfare = shelters[shelters["kind"] == "shelter"].iloc[0]
    assert (welfare["capacity"], welfare["capacity_estimated"]) == (30, True)


@pytest.mark.parametrize(
    ("name", "header", "kind"),
    [
        ("132080_evacuation_space.csv", ["名称", "緯度", "経度"], "emergency_site"),
        ("132080_shelter.csv", ["名称", "緯度", "経度"], "shelter"),
        ("list.csv", ["名称", "緯度", "経度", "災害種別_地震"], "emergency_site"),
        ("list.csv", ["名称", "緯度", "経度", "受入対象者"], "shelter"),
    ],
)
def test_kind_of_a_file_from_its_name_or_columns(tmp_path, name, header, kind):
    row = ["集会所", "35.65", "139.55", "1"][: len(header)]
    shelters, _ = load_shelters([write_csv(tmp_path / name, header, [row], "utf-8")], "13208")
    assert shelters["kind"].tolist() == [kind]


@needs_reference
@pytest.mark.parametrize("columns", [("X", "Y"), ("緯度", "経度")])
@pytest.mark.parametrize("declared", ["EPSG:6677", None])
def test_plane_rectangular_coordinates_land_in_chofu(tmp_path, chofu_boundary, declared, columns):
    features = json.loads((GSI / "evacuation_132080.json").read_text())["features"][:12]
    lonlat = np.array([f["geometry"]["coordinates"] for f in features])
    to_plane = pyproj.Transformer.from_crs(4326, 6677, always_xy=True)
    east, north = to_plane.transform(lonlat[:, 0], lonlat[:, 1])
    header = ["ID", "名称", "住所", *columns]  # X (survey convention) and 緯度 hold the northing
    rows = [
        [f["properties"]["共通ID"], f["properties"]["施設・場所名"], f["properties"]["住所"],
         f"{x:.3f}", f"{y:.3f}"]
        for f, x, y in zip(features, north, east, strict=True)
    ]  # fmt: skip
    path = write_csv(tmp_path / "evacuation_132080.csv", header, rows, "cp932")
    boundary = None if declared else chofu_boundary  # without a CRS the zone is detected
    shelters, rejected = load_shelters([path], "13208", crs=declared, boundary=boundary)
    assert len(rejected) == 0 and len(shelters) == 12
    area = chofu_boundary.geometry.iloc[0]
    assert shelters.within(area).all()
    got = np.array([(p.x, p.y) for p in shelters.geometry])
    assert np.abs(got - lonlat).max() < 1e-6


def test_plane_coordinates_without_any_hint_are_rejected(tmp_path):
    path = write_csv(tmp_path / "shelters.csv", ["名称", "X", "Y"],
                     [["A", "-38000.0", "-25000.0"]], "utf-8")  # fmt: skip
    shelters, rejected = load_shelters([path])
    assert len(shelters) == 0
    assert rejected["reason"].tolist() == [
        "shelters.csv: plane-rectangular coordinates in an unknown zone (give the CRS, e.g. EPSG:6677)"
    ]


def test_unavailable_response_and_unreadable_files(tmp_path):
    unavailable = tmp_path / "evacuation_111015.json"
    unavailable.write_text(json.dumps({"type": "unavailable", "code": "111015"}))
    shelters, rejected = load_shelters([unavailable], "111015")
    assert len(shelters) == 0 and len(rejected) == 0
    broken = tmp_path / "emergency_132080.json"
    broken.write_text("<html>502 Bad Gateway</html>")
    with pytest.raises(ReferenceFileError, match=r"^emergency_132080\.json: not JSON") as info:
        load_shelters([broken], "13208")
    assert isinstance(info.value, ValueError)
    with pytest.raises(ReferenceFileError, match=r"^towns\.geojson: cannot read"):
        load_towns(tmp_path / "towns.geojson")


# --- towns as TopoJSON, boundary dissolve, hazard shapefiles -------------------------------------


def to_topojson(geojson: dict, quantization: float = 1e-6) -> dict:
    """A TopoJSON with one quantized, delta-encoded arc per ring (enough for the decoder)."""
    arcs, geometries = [], []

    def encode(ring):
        q = np.round(np.asarray(ring) / quantization).astype(int)
        arcs.append(np.vstack([q[:1], np.diff(q, axis=0)]).tolist())
        return len(arcs) - 1

    for f in geojson["features"]:
        g = f["geometry"]
        if g["type"] == "Polygon":
            a = [[encode(r)] for r in g["coordinates"]]
        else:
            a = [[[encode(r)] for r in poly] for poly in g["coordinates"]]
        geometries.append({"type": g["type"], "arcs": a, "properties": f["properties"]})
    return {
        "type": "Topology",
        "transform": {"scale": [quantization, quantization], "translate": [0, 0]},
        "objects": {"town": {"type": "GeometryCollection", "geometries": geometries}},
        "arcs": arcs,
    }


@needs_reference
def test_towns_from_topojson_match_geojson(tmp_path):
    path = tmp_path / "r2ka13208.topojson"
    path.write_text(json.dumps(to_topojson(json.loads(TOWNS.read_text()))))
    topo, rejected = load_towns(path, "132080")
    geo, _ = load_towns(TOWNS)
    assert len(topo) == 103 and len(rejected) == 0
    pd.testing.assert_frame_equal(topo.drop(columns="geometry"), geo.drop(columns="geometry"))
    assert topo.geom_equals_exact(geo.geometry, tolerance=1e-6).all()


def test_topojson_shared_arc_is_reversed():
    # Two unit squares sharing the edge x=1; the right one walks the shared arc backwards (~0).
    topo = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.5], "translate": [139.0, 35.0]},
        "arcs": [[[2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2], [2, 0]], [[2, 0], [2, 0], [0, 2], [-2, 0]]],
        "objects": {"town": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1]], "properties": {"KEY_CODE": "a"}},
            {"type": "Polygon", "arcs": [[2, -1]], "properties": {"KEY_CODE": "b"}},
        ]}},
    }  # fmt: skip
    left, right = (shapely.geometry.shape(f["geometry"]) for f in topojson_features(topo))
    assert left.equals(shapely.box(139.0, 35.0, 140.0, 36.0))
    assert right.equals(shapely.box(140.0, 35.0, 141.0, 36.0))


def test_boundary_pieces_of_one_code_are_dissolved(tmp_path):
    def feature(code, box):
        props = {"N03_001": "東京都", "N03_003": None, "N03_004": "調布市", "N03_007": code}
        return {"type": "Feature", "properties": props,
                "geometry": shapely.geometry.mapping(shapely.box(*box))}  # fmt: skip

    doc = {"type": "FeatureCollection", "features": [
        feature("13208", (139.5, 35.6, 139.55, 35.7)), feature("13208", (139.55, 35.6, 139.6, 35.7)),
        feature(None, (139.7, 35.6, 139.8, 35.7)),
    ]}  # fmt: skip
    (tmp_path / "n03.geojson").write_text(json.dumps(doc))
    boundary, rejected = load_boundary(tmp_path / "n03.geojson")
    assert len(boundary) == 1 and boundary.iloc[0]["city_code"] == "13208"
    assert boundary.geometry.iloc[0].area == pytest.approx(0.1 * 0.1)
    assert rejected["reason"].tolist() == ["missing city_code"]


def test_wards_of_a_designated_city_make_its_boundary(tmp_path):
    def ward(code, name, box):
        props = {"N03_001": "北海道", "N03_003": "札幌市", "N03_004": name, "N03_007": code}
        return {"type": "Feature", "properties": props,
                "geometry": shapely.geometry.mapping(shapely.box(*box))}  # fmt: skip

    doc = {"type": "FeatureCollection", "features": [
        ward("01101", "中央区", (141.3, 43.0, 141.4, 43.1)),
        ward("01102", "北区", (141.3, 43.1, 141.4, 43.2)),
        ward("01202", "函館市", (140.7, 41.7, 140.8, 41.8)),
    ]}  # fmt: skip
    (tmp_path / "n03.geojson").write_text(json.dumps(doc))
    boundary, _ = load_boundary(tmp_path / "n03.geojson", "011002")
    assert boundary[["city_code", "city_name"]].values.tolist() == [["01100", "札幌市"]]
    assert boundary.geometry.iloc[0].equals(shapely.box(141.3, 43.0, 141.4, 43.2))


@needs_reference
def test_hazard_shapefile_with_dbf_keeps_the_rank(tmp_path, chofu_boundary):
    inside = shapely.box(139.55, 35.64, 139.56, 35.65)
    outside = shapely.box(139.70, 35.64, 139.71, 35.65)
    gdf = gpd.GeoDataFrame({"A31_001": [13, 21]}, geometry=[inside, outside], crs="EPSG:4612")
    gdf.to_file(tmp_path / "A31-12_13.shp")
    areas, rejected = load_hazard_areas(tmp_path / "A31-12_13.shp", chofu_boundary)
    assert areas[["id", "rank", "kind"]].values.tolist() == [["A31-12_13:0", "1.0-2.0m", "flood"]]
    assert len(rejected) == 0


@needs_reference
def test_hazard_shapefile_without_shx_or_dbf_uses_the_builtin_reader(tmp_path, chofu_boundary):
    for suffix in (".shp", ".prj"):
        shutil.copy(FLOOD.with_suffix(suffix), tmp_path / f"A31-12_13{suffix}")
    areas, _ = load_hazard_areas(tmp_path / "A31-12_13.shp", chofu_boundary)
    reference, _ = load_hazard_areas(FLOOD, chofu_boundary)
    assert areas["id"].tolist() == reference["id"].tolist() and len(areas) == 40
    assert areas.geom_equals_exact(reference.geometry, 1e-12).all()


@needs_reference
def test_builtin_shapefile_reader_matches_gdal():
    box = (139.5, 35.6, 139.6, 35.7)
    ours = read_shapefile_polygons(FLOOD, bbox=box)
    gdal = gpd.read_file(FLOOD, bbox=box)
    assert len(ours) == len(gdal) == 196 and str(ours.crs) == "EPSG:4612"
    assert all(a.equals(b) for a, b in zip(ours.geometry, gdal.geometry, strict=True))


def test_assign_towns_uses_nearest_town_only_across_slivers():
    towns = gpd.GeoDataFrame(
        {"town_code": ["a", "b"]},
        geometry=[shapely.box(139.50, 35.60, 139.51, 35.61), shapely.box(139.5101, 35.60, 139.52, 35.61)],
        crs=4326,
    )  # fmt: skip
    points = gpd.GeoDataFrame(
        geometry=[shapely.Point(139.505, 35.605), shapely.Point(139.51005, 35.605),
                  shapely.Point(139.51, 35.65)],
        crs=4326,
    )  # fmt: skip
    assert assign_towns(points, towns)["town_code"].tolist() == ["a", "a", None]


def test_find_reference_files_layout(tmp_path):
    (tmp_path / "13208").mkdir()
    (tmp_path / "13208" / "r2ka13208.topojson").write_text("{}")
    (tmp_path / "shelters_gsi").mkdir()
    (tmp_path / "shelters_gsi" / "evacuation_132080.json").write_text("{}")
    (tmp_path / "shelters_opendata" / "132080").mkdir(parents=True)
    (tmp_path / "shelters_opendata" / "132080" / "list.csv").write_text("")
    files = find_reference_files("132080", tmp_path)
    assert files.towns == tmp_path / "13208" / "r2ka13208.topojson"
    assert [p.name for p in files.shelters] == ["evacuation_132080.json", "list.csv"]
    assert files.missing() == ["boundaries", "hazard_areas"]


# --- small parsers ------------------------------------------------------------------------------


def test_municipality_codes():
    assert [check_digit(c) for c in ("13208", "13214", "13210", "13211", "13104", "01100")] == [
        "0", "4", "1", "0", "1", "2"
    ]  # fmt: skip
    assert to_code6(13208) == "132080" and to_code5("132080") == "13208"
    assert parse_code("92011") == "09201"  # 6 digits that lost the zero
    assert parse_code("11002") == "11002" and parse_code("11002", expect="01100") == "01100"
    assert parse_code("１３２０８") == "13208" and parse_code(9201.0) == "09201"
    with pytest.raises(ValueError):
        parse_code("調布市")


def test_value_parsers():
    assert [parse_flag(v) for v in ("1", "1.0", "○", "〇", "", "0", None, "×")] == [
        True, True, True, True, False, False, False, False
    ]  # fmt: skip
    assert parse_capacity("屋内480人／屋外3,350人") == 480
    assert parse_capacity("約１，２００人") == 1200 and parse_capacity("未定") is None
    assert estimate_capacity("都立調布南高校") == 700
    assert estimate_capacity("特別養護老人ホーム爽爽荘") == 30
    assert estimate_capacity("いずみホール", target="要配慮者") == 100
    assert estimate_capacity("○○邸", target="要配慮者") == 30
    assert normalize_address("東京都調布市国領町四丁目19番1号", ("東京都調布市",)) == "国領町4-19-1"
    assert normalize_address("調布市緑ヶ丘２－１６－１", ("調布市",)) == "緑ケ丘2-16-1"
    assert normalize_address("東京都小金井市関野町１など") == "小金井市関野町1など"


# --- the command ----------------------------------------------------------------------------------


def run_cli(monkeypatch, capsys, *argv: str) -> tuple[int, dict | str]:
    from ingest import cli

    monkeypatch.setattr(cli, "COMMANDS", ("reference",))  # only this command's module
    code = cli.main(["reference", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else err)


@needs_reference
def test_cli_loads_chofu_into_the_store_once(tmp_path, monkeypatch, capsys):
    from geodata.store.core import open_store

    db = f"sqlite:///{tmp_path}/t.sqlite"
    args = ("--municipality", "132080", "--reference-dir", str(REF), "--db", db, "--json")
    code, first = run_cli(monkeypatch, capsys, *args)
    assert code == 0
    counts = {k: first[k] for k in ("towns", "boundaries", "shelters", "hazard_areas")}
    assert counts == {"towns": 103, "boundaries": 1, "shelters": 78, "hazard_areas": 40}
    assert (first["inserted"], first["updated"], first["rejected"]) == (222, 0, 0)
    assert first["downloaded"] == [] and first["missing"] == []
    code, second = run_cli(monkeypatch, capsys, *args)
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 222)
    store = open_store(db)
    shelters = store.read("shelters").set_index("shelter_id")
    assert shelters.loc["E1320800051", "hazards"] == ["earthquake", "large_fire"]
    assert int(store.read("towns")["population"].sum()) == 242614


def test_cli_reports_an_empty_folder_and_a_bad_code(tmp_path, monkeypatch, capsys):
    db = f"sqlite:///{tmp_path}/t.sqlite"
    code, err = run_cli(monkeypatch, capsys, "--municipality", "13208", "--reference-dir",
                        str(tmp_path), "--no-download", "--db", db)  # fmt: skip
    assert code == 2
    assert err == (
        f"error: no reference data for 13208 in {tmp_path} (try without --no-download). "
        "To load it offline, put the files there by hand as: 13208/towns_r2ka13208.geojson, "
        "13208/boundary_N03_13208.geojson, shelters_gsi/emergency_132080.json, "
        "shelters_gsi/evacuation_132080.json, hazard/flood_A31-12_13\n"
    )
    code, err = run_cli(monkeypatch, capsys, "--municipality", "調布市", "--db", db)
    assert code == 2 and err.startswith("error: --municipality: not a municipality code")
