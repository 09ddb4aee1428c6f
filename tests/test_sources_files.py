"""File sources: roster, safety CSVs, shelter status (和暦 header time, plane CRS), field reports."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import pandas as pd
import pytest

from ingest.runner import run_source
from ingest.sources.field_reports import FieldReportSource, parse_severity
from ingest.sources.jptime import parse_jp_time
from ingest.sources.roster import RosterCsvSource, care_priority
from ingest.sources.safety_csv import SafetyCsvSource
from ingest.sources.shelter_status import ShelterStatusSource, parse_needs
from ingest.sources.shelters import ShelterListSource
from tests.test_sources_support import PAYLOADS, ref_store  # noqa: F401


def _write(tmp_path, name: str, payload_path: str, encoding: str) -> str:
    text = (PAYLOADS / payload_path).read_text("utf-8")
    data = text.encode("utf-8-sig" if encoding == "utf-8-bom" else encoding)
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-bom"])
def test_roster_in_any_encoding(tmp_path, ref_store, encoding):
    path = _write(tmp_path, "meibo.csv", "roster/roster.csv", encoding)
    result = run_source(ref_store, RosterCsvSource("roster", path=path))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (4, 1)  # R0005 has no name
    roster = ref_store.read("roster").set_index("resident_id")
    hanako = roster.loc["R0001"]
    assert hanako["name"] == "調布 花子" and hanako["kana"] == "チョウフ ハナコ"
    assert hanako["care_needs"] == "要介護4 / 歩行困難" and hanako["care_priority"] == 1
    assert hanako["chat_user_id"] == "U4af4980629aaaaaaaaaaaaaaaaaaaa01"
    assert (hanako["located_by"], hanako["town_code"]) == ("address", "13208008003")
    assert roster.loc["R0002", "care_priority"] == 2  # 車いす
    assert roster.loc["R0003", "care_priority"] == 3
    assert roster.loc["R0004", "care_priority"] == 1  # 視覚障害1級
    # Only the town is known: the point is the middle of the town.
    assert roster.loc["R0004", "located_by"] == "town"
    assert roster.loc["R0004", "town_code"] == "13208008001"
    assert "missing name" in ref_store.read_rejections()["reason"].iloc[0]


def test_care_priority_rules():
    assert [care_priority(t) for t in ("人工呼吸器", "認知症", "要介護1", None)] == [1, 2, 3, 3]


def test_web_form_and_staff_calls_match_the_roster(tmp_path, ref_store):
    roster = _write(tmp_path, "meibo.csv", "roster/roster.csv", "cp932")
    assert run_source(ref_store, RosterCsvSource("roster", path=roster))["ok"]
    form = _write(tmp_path, "form.csv", "safety/web_form.csv", "utf-8-bom")
    result = run_source(ref_store, SafetyCsvSource("form", path=form))
    assert result["ok"], result["error"]
    replies = ref_store.read("safety_replies", order="replied_at")
    by_who = dict(zip(replies["needs_text"].fillna(""), replies.to_dict("records"), strict=True))
    ichiro = by_who["足をくじいた"]
    assert (ichiro["status"], ichiro["resident_id"], ichiro["channel"]) == (
        "負傷",
        "R0002",
        "web_form",
    )
    stranger = by_who["2階に取り残されています"]
    assert (stranger["status"], stranger["resident_id"]) == ("要救助", None)
    saburo = replies[replies["resident_id"] == "R0004"].iloc[0]  # matched by phone
    assert saburo["status"] == "無事"
    # A name alone is not enough to match: kept, unmatched, status unknown.
    name_only = replies[replies["replied_at"] == pd.Timestamp("2024-01-09 09:11", tz="UTC")]
    assert name_only[["status", "resident_id"]].values.tolist() == [["不明", None]]
    assert result["unmatched"] == sorted([stranger["source_id"], name_only["source_id"].iloc[0]])
    calls = _write(tmp_path, "calls.csv", "safety/staff_calls.csv", "cp932")
    result = run_source(ref_store, SafetyCsvSource("calls", path=calls, channel="phone"))
    assert result["ok"], result["error"]
    calls = ref_store.read("safety_replies", where={"source": "calls"}).set_index("source_id")
    assert calls.loc["C-001", ["status", "resident_id", "channel"]].tolist() == [
        "無事", "R0003", "phone"
    ]  # fmt: skip
    assert calls.loc["C-002", ["status", "channel"]].tolist() == ["要救助", "visit"]
    assert str(calls.loc["C-002", "replied_at"]) == "2024-01-09 10:20:00+00:00"


def test_japanese_era_header_time():
    assert parse_jp_time("人数_令和6年1月9日午後6時時点") == pd.Timestamp("2024-01-09 18:00+09:00")
    assert parse_jp_time("令和元年10月12日午前0時") == pd.Timestamp("2019-10-12 00:00+09:00")
    assert parse_jp_time("平成31年4月30日 午後12時") == pd.Timestamp("2019-04-30 12:00+09:00")


def test_open_shelter_list_with_time_in_header(tmp_path, ref_store):
    path = _write(tmp_path, "hinanjo_kaisetsu.csv", "shelter_status/open_shelters_r6.csv", "cp932")
    result = run_source(ref_store, ShelterStatusSource("open-list", path=path))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (3, 1)
    status = ref_store.current_shelter_status().set_index("shelter_id")
    expected_time = pd.Timestamp("2024-01-09 09:00", tz="UTC")  # 令和6年1月9日午後6時 JST
    # By the local ID in source_ids ...
    assert status.loc["S13208-12", ["status", "evacuees", "households"]].tolist() == [
        "開設",
        85,
        40,
    ]
    assert status.loc["S13208-12", "reported_at"] == expected_time
    # ... by name + address (no ID), "1,204" read as a number and 開設中 as 開設 ...
    assert status.loc["E1320800002", ["status", "evacuees"]].tolist() == ["開設", 1204]
    # ... and by the GSI 共通ID stem.
    assert status.loc["E1320800003", "status"] == "満員"
    rejection = ref_store.read_rejections()
    assert rejection["reason"].str.contains("unknown shelter").tolist() == [True]
    assert "架空避難所" in rejection["raw"].iloc[0]
    assert ref_store.count("shelters") == 3  # an unknown shelter is never invented


def test_status_geojson_in_plane_rectangular_crs(tmp_path, ref_store):
    path = str(PAYLOADS / "shelter_status/status_plane.geojson")
    result = run_source(ref_store, ShelterStatusSource("plane", path=path))
    assert result["ok"], result["error"]
    # 国領中学校（体育館）: found by its position, given in EPSG:6677 (JGD2011 zone IX).
    status = ref_store.current_shelter_status().set_index("shelter_id")
    row = status.loc["S13208-12"]
    assert (row["status"], row["evacuees"], row["reported_by"]) == ("満員", 300, "施設班")
    assert row["needs"] == ["water", "blankets", "toilets"]
    assert result["rejected"] == 1  # 存在しない避難所, 8 km away from every shelter


def test_status_csv_with_xy_in_a_configured_crs(tmp_path, ref_store):
    path = tmp_path / "status.csv"
    path.write_text("名称,X,Y,状況,避難者数,更新日時\n別名の避難所,-39014.76,-25928.55,開設,12,"
                    "2024-01-09 22:00\n", "utf-8")  # fmt: skip
    result = run_source(ref_store, ShelterStatusSource("xy", path=str(path), crs="EPSG:6677"))
    assert result["ok"], result["error"]
    status = ref_store.current_shelter_status().set_index("shelter_id")
    assert status.loc["S13208-12", "evacuees"] == 12


def test_parse_needs_and_severity():
    assert parse_needs("飲料水・食料、ミルク") == ["water", "food", "milk"]
    assert parse_needs(["blankets", "power"]) == ["blankets", "power"]
    assert [parse_severity(v) for v in ("高", "low", 5, "2", None)] == [3, 1, 3, 2, None]


def test_field_reports_geojson_and_kobo_csv(tmp_path, ref_store):
    geo = FieldReportSource("survey", path=str(PAYLOADS / "field_reports/survey.geojson"))
    result = run_source(ref_store, geo)
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (2, 1)  # one has no position
    reports = ref_store.read("field_reports").set_index("source_id")
    flood = reports.loc["{6F1A2B3C-0001-4D5E-8F90-ABCDEF000001}"]
    assert (flood["category"], flood["severity"], flood["town_code"]) == (
        "浸水・冠水",
        3,
        "13208008003",
    )
    assert str(flood["reported_at"]) == "2024-01-09 08:45:00+00:00"  # epoch milliseconds
    assert flood["photo_url"] == "https://survey.example/att/1.jpg"
    wall = reports.loc["{6F1A2B3C-0002-4D5E-8F90-ABCDEF000002}"]
    assert (wall["category"], wall["reported_by"]) == ("建物被害", "field_team_b")
    kobo = _write(tmp_path, "kobo.csv", "field_reports/kobo.csv", "utf-8")
    result = run_source(ref_store, FieldReportSource("kobo", path=kobo))
    assert (result["inserted"], result["rejected"]) == (2, 1)  # "not a time"
    kobo_rows = ref_store.read("field_reports", where={"source": "kobo"}).set_index("source_id")
    road = kobo_rows.loc["a1f0c3e2-7d1b-4c55-9a1e-000000000001"]
    assert (road["category"], road["severity"], road["reported_by"]) == ("道路・交通", 2, "職員A")


def test_shelter_list_load(tmp_path, store):
    path = _write(tmp_path, "shelters_132080.csv", "shelters/opendata_shelters.csv", "cp932")
    result = run_source(store, ShelterListSource("shelters", path=path, municipality="13208"))
    assert result["ok"], result["error"]
    shelters = store.read("shelters").set_index("name")
    assert len(shelters) == 3
    assert shelters.loc["国領中学校", "capacity"] == 480
    assert shelters.loc["調布市立第二小学校", "capacity_text"] == "屋内600人／屋外3,350人"
