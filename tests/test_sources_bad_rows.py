"""File sources set a bad row aside, not the file: broken bytes, broken CSV, odd counts, future
times, impossible values, coordinates in the wrong CRS, headers in another layout."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import json

import pandas as pd
import pyproj
import pytest

from geodata.schema import validate
from ingest.cli import main
from ingest.runner import run_source
from ingest.sources.field_reports import FieldReportSource
from ingest.sources.posts_file import PostsFileSource
from ingest.sources.roster import RosterCsvSource
from ingest.sources.safety_csv import SafetyCsvSource
from ingest.sources.shelter_status import ShelterStatusSource
from ingest.sources.shelters import ShelterListSource
from ingest.sources_config import build_sources
from tests.test_sources_support import ref_store  # noqa: F401

STATUS_HEADER = "避難所ID,名称,開設状況,避難者数,世帯数,更新日時,備考\n"
IDS = [("S13208-12", "国領中学校"), ("E1320800002", "調布市立第二小学校"),
       ("E1320800003", "布田公民館")]  # fmt: skip


def _status_lines(n: int) -> list[str]:
    """``n`` status rows of the three test shelters, ten minutes apart, all distinct."""
    lines = []
    for i in range(n):
        sid, name = IDS[i % 3]
        when = pd.Timestamp("2024-01-09 06:00") + pd.Timedelta(minutes=10 * i)
        lines.append(f"{sid},{name},開設,{10 + i},{5 + i},{when:%Y/%m/%d %H:%M},毛布と水が不足\n")
    return lines


def _reasons(store, source: str) -> list[str]:
    return sorted(store.read_rejections(source=source)["reason"])


def _current(store) -> pd.DataFrame:
    return store.current_shelter_status().set_index("shelter_id")


# -- decoding and parsing per line ----------------------------------------------------------------


def test_shift_jis_file_with_broken_bytes_loads_every_other_row(tmp_path, ref_store):
    lines = [line.encode("cp932") for line in [STATUS_HEADER, *_status_lines(68)]]
    # Three rows with a cut double-byte character: a lead byte followed by a space.
    for n in (5, 30, 61):  # file lines 6, 31, 62 (line 1 is the header)
        lines[n] = lines[n].replace("毛布".encode("cp932"), b"\x96\xd1\x81 ", 1)
    path = tmp_path / "status_sjis.csv"
    path.write_bytes(b"".join(lines))
    result = run_source(ref_store, ShelterStatusSource("sjis", path=str(path)))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (65, 3)
    reasons = _reasons(ref_store, "sjis")
    assert sorted(int(r.split("行目")[0]) for r in reasons) == [6, 31, 62]
    assert all("Shift_JIS" in r and "読めないバイト" in r for r in reasons), reasons
    # The rows around a broken one are stored with their text intact.
    history = ref_store.read("shelter_status", where={"source": "sjis"})
    assert len(history) == 65 and set(history["note"]) == {"毛布と水が不足"}


def test_utf8_file_with_a_broken_byte_is_still_read_as_utf8(tmp_path, ref_store):
    text = STATUS_HEADER + "".join(_status_lines(6))
    data = bytearray(text.encode("utf-8"))
    cut = data.index("水".encode()) + 1  # a continuation byte of 水 in the first row
    data[cut : cut + 1] = b""
    path = tmp_path / "status_utf8.csv"
    path.write_bytes(bytes(data))
    result = run_source(ref_store, ShelterStatusSource("utf8", path=str(path)))
    assert (result["inserted"], result["rejected"]) == (5, 1), result
    (reason,) = _reasons(ref_store, "utf8")
    assert reason.startswith("2行目") and "UTF-8" in reason


def test_a_huge_count_rejects_its_row_not_the_file(tmp_path, ref_store):
    lines = _status_lines(4)
    lines[2] = lines[2].replace(",12,", ",99999999999999999999,")
    path = tmp_path / "status.csv"
    path.write_text(STATUS_HEADER + "".join(lines), "utf-8")
    result = run_source(ref_store, ShelterStatusSource("huge", path=str(path)))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (3, 1)
    (reason,) = _reasons(ref_store, "huge")
    assert reason.startswith("4行目 避難者数:") and "大きすぎ" in reason


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda line: line.replace("毛布", "毛\r布"), id="carriage return in a cell"),
        pytest.param(lambda line: line.replace("毛布", "毛" + "布" * 140_000), id="huge cell"),
    ],
)
def test_csv_errors_reject_one_row(tmp_path, ref_store, damage):
    lines = _status_lines(5)
    lines[1] = damage(lines[1])
    path = tmp_path / "status.csv"
    path.write_text(STATUS_HEADER + "".join(lines), "utf-8", newline="")
    result = run_source(ref_store, ShelterStatusSource("csv", path=str(path)))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (4, 1)
    (reason,) = _reasons(ref_store, "csv")
    assert reason.startswith("3行目") and "Error" not in reason


def test_an_unclosed_quote_does_not_swallow_the_rows_after_it(tmp_path, ref_store):
    lines = _status_lines(6)
    lines[1] = lines[1].replace(",開設,", ',"開設,')
    path = tmp_path / "status.csv"
    path.write_text(STATUS_HEADER + "".join(lines), "utf-8")
    result = run_source(ref_store, ShelterStatusSource("quote", path=str(path)))
    assert (result["inserted"], result["rejected"]) == (5, 1), result
    (reason,) = _reasons(ref_store, "quote")
    assert reason.startswith("3行目") and "引用符" in reason


def test_more_cells_than_headers_is_a_rejection(tmp_path, ref_store):
    # "1,204" without quotes: 避難者数 would read 1 and 世帯数 204.
    path = tmp_path / "status.csv"
    path.write_text(STATUS_HEADER + "S13208-12,国領中学校,開設,1,204,500,2024/01/09 10:00,水\n"
                    "E1320800003,布田公民館,開設,30,12,2024/01/09 10:00,\n", "utf-8")  # fmt: skip
    result = run_source(ref_store, ShelterStatusSource("cells", path=str(path)))
    assert (result["inserted"], result["rejected"]) == (1, 1)
    (reason,) = _reasons(ref_store, "cells")
    assert reason.startswith("2行目") and "8 列" in reason and "7 列" in reason


def test_validation_rejects_an_integer_no_column_can_hold(ref_store):
    frame = pd.DataFrame(
        {
            "shelter_id": ["S13208-12", "E1320800003"],
            "reported_at": ["2024-01-09T10:00+09:00"] * 2,
            "status": ["開設", "開設"],
            "evacuees": ["99999999999999999999", 5],
            "source_id": ["a", "b"],
        }
    )
    valid, rejected = validate(frame.assign(version=1), "shelter_status")
    assert valid["shelter_id"].tolist() == ["E1320800003"]
    assert rejected["reason"].tolist() == ["evacuees: number too large: '99999999999999999999'"]
    written = ref_store.append_shelter_status(frame, source="core")
    assert (written.inserted, written.rejected) == (1, 1)


# -- counts a shelter clerk writes ---------------------------------------------------------------


def test_approximate_counts_are_read_and_marked(tmp_path, ref_store):
    path = tmp_path / "status.csv"
    path.write_text(
        STATUS_HEADER
        + "S13208-12,国領中学校,開設,約120人,40世帯,2024/01/09 10:00,\n"
        + "E1320800002,調布市立第二小学校,開設,８０名程度,,2024/01/09 10:00,トイレ不足\n"
        + "E1320800003,布田公民館,開設,100〜150人,,2024/01/09 10:00,\n"
        + "E1320800003,布田公民館,開設,-5,,2024/01/09 10:10,\n"
        + "E1320800003,布田公民館,開設,不明,,2024/01/09 10:20,\n",
        "utf-8",
    )
    result = run_source(ref_store, ShelterStatusSource("approx", path=str(path)))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (3, 2)
    current = _current(ref_store)
    kokuryo = current.loc["S13208-12"]
    assert (kokuryo["evacuees"], kokuryo["households"]) == (120, 40)
    assert kokuryo["note"] == "避難者数は概数（「約120人」）"
    second = current.loc["E1320800002"]
    assert (
        second["evacuees"] == 80 and second["note"] == "トイレ不足 / 避難者数は概数（「80名程度」）"
    )
    fuda = current.loc["E1320800003"]  # 不明: the status is stored, the count left empty
    assert pd.isna(fuda["evacuees"]) and fuda["reported_at"] == pd.Timestamp("2024-01-09 01:20Z")
    reasons = _reasons(ref_store, "approx")
    assert reasons[0].startswith("4行目 避難者数: 「100〜150人」は範囲です"), reasons
    assert reasons[1].startswith("5行目 避難者数: 「-5」は負の数です"), reasons
    assert result["warnings"] == [
        "2行目 避難者数: 「約120人」を概数 120 として読み込みました",
        "3行目 避難者数: 「80名程度」を概数 80 として読み込みました",
    ]


def test_a_count_that_is_not_a_number_says_what_was_expected(tmp_path, ref_store):
    path = tmp_path / "status.csv"
    path.write_text(STATUS_HEADER + "S13208-12,国領中学校,開設,たくさん,,2024/01/09 10:00,\n",
                    "utf-8")  # fmt: skip
    result = run_source(ref_store, ShelterStatusSource("words", path=str(path)))
    assert result["rejected"] == 1
    (reason,) = _reasons(ref_store, "words")
    assert reason == "2行目 避難者数: 「たくさん」は数として読めません（例: 120、約120人）"


# -- values that cannot be true ----------------------------------------------------------------


def test_times_years_ahead_are_rejected_for_every_file_kind(tmp_path, ref_store):
    status = tmp_path / "status.csv"
    status.write_text(STATUS_HEADER + "S13208-12,国領中学校,開設,10,,2099/01/09 10:00,\n"
                      "E1320800003,布田公民館,開設,12,,2024/01/09 10:00,\n", "utf-8")  # fmt: skip
    field = tmp_path / "field.csv"
    field.write_text("報告ID,日時,種別,緯度,経度\nf1,2099-01-09T10:00:00+09:00,冠水,35.648,139.547\n"
                     "f2,2024-01-09T10:00:00+09:00,冠水,35.648,139.547\n", "utf-8")  # fmt: skip
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        json.dumps({"id": "p1", "text": "国領町で冠水", "created_at": "2099-01-09T10:00:00+09:00"})
        + "\n"
        + json.dumps(
            {"id": "p2", "text": "国領町で冠水", "created_at": "2024-01-09T10:00:00+09:00"}
        ),
        "utf-8",
    )
    safety = tmp_path / "safety.csv"
    safety.write_text("回答ID,回答日時,氏名,安否\n1,2099/1/9 10:00,調布 花子,無事\n"
                      "2,2024/1/9 10:00,調布 太郎,無事\n", "utf-8")  # fmt: skip
    sources = [
        ShelterStatusSource("status", path=str(status)),
        FieldReportSource("field", path=str(field)),
        PostsFileSource("posts", path=str(posts)),
        SafetyCsvSource("safety", path=str(safety)),
    ]
    for source in sources:
        result = run_source(ref_store, source)
        assert (result["inserted"], result["rejected"]) == (1, 1), (source.name, result)
        (reason,) = _reasons(ref_store, source.name)
        assert "2099-01-09 10:00" in reason and "先の時刻" in reason, reason
        assert "許容は 1 時間先まで" in reason


def test_a_negative_capacity_is_rejected_not_stored_as_positive(tmp_path, store):
    path = tmp_path / "shelters.csv"
    path.write_text(
        "全国地方公共団体コード,ID,名称,所在地_連結表記,緯度,経度,想定収容人数\n"
        "132080,12,国領中学校,東京都調布市国領町一丁目5番1号,35.6480,139.5470,-30\n"
        "132080,14,布田公民館,東京都調布市布田二丁目10-1,35.6505,139.5410,120\n",
        "utf-8",
    )
    result = run_source(store, ShelterListSource("list", path=str(path), municipality="13208"))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (1, 1)
    assert store.read("shelters")["name"].tolist() == ["布田公民館"]
    (reason,) = _reasons(store, "list")
    assert "想定収容人数" in reason and "-30" in reason and "負の数" in reason


def test_shelter_list_reasons_name_the_row_in_japanese(tmp_path, store):
    path = tmp_path / "shelters.csv"
    path.write_text(
        "ID,名称,緯度,経度,想定収容人数\n"
        "12,国領中学校,35.6480,139.5470,480\n"
        "13,調布市立第二小学校,35.6490,139.5480,-30\n"
        "14,布田公民館,,,120\n"
        "15,染地小学校,北緯35度,139.5600,300\n",
        "utf-8",
    )
    result = run_source(store, ShelterListSource("rows", path=str(path), municipality="13208"))
    assert (result["inserted"], result["rejected"]) == (1, 3), result
    rejections = store.read_rejections(source="rows").sort_values("reason")
    assert rejections["reason"].tolist() == [
        "shelters.csv 3行目 想定収容人数「-30」は負の数です（0 以上の人数を書いてください）",
        "shelters.csv 4行目 位置: 緯度・経度（または X・Y）が空欄です [no coordinates]",
        "shelters.csv 5行目 位置: 「北緯35度」「139.5600」は座標の数として読めません"
        " [coordinates are not numbers]",
    ]
    # The raw record is the file's row as it was, without the loader's bookkeeping.
    assert all("_row" not in raw for raw in rejections["raw"])
    assert "調布市立第二小学校" in rejections["raw"].iloc[0]


# -- coordinates in the wrong plane-rectangular zone -------------------------------------------


def _zone_xy(epsg: int, lon: float = 139.5470, lat: float = 35.6480) -> tuple[float, float]:
    """(X northing, Y easting) of a point of 国領町 in plane-rectangular zone ``epsg``."""
    east, north = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    return round(north, 2), round(east, 2)


def test_field_reports_in_another_zone_name_the_likely_crs(tmp_path, ref_store):
    x7, y7 = _zone_xy(6675)
    x9, y9 = _zone_xy(6677)
    path = tmp_path / "field.csv"
    path.write_text(f"報告ID,日時,種別,X,Y\nz7,2024-01-09T10:00:00+09:00,冠水,{x7},{y7}\n"
                    f"z9,2024-01-09T10:00:00+09:00,冠水,{x9},{y9}\n", "utf-8")  # fmt: skip
    result = run_source(ref_store, FieldReportSource("zones", path=str(path), crs="EPSG:6677"))
    assert (result["inserted"], result["rejected"]) == (1, 1)
    assert ref_store.read("field_reports")["source_id"].tolist() == ["z9"]
    (reason,) = _reasons(ref_store, "zones")
    assert reason.startswith("2行目 位置:") and "EPSG:6675" in reason and "第VII系" in reason
    assert result["crs_hint"] == "EPSG:6675"


def test_status_rows_in_another_zone_are_not_matched_by_name(tmp_path, ref_store):
    x7, y7 = _zone_xy(6675)
    path = tmp_path / "status.csv"
    path.write_text(f"名称,X,Y,状況,避難者数,更新日時\n国領中学校,{x7},{y7},開設,12,2024-01-09 22:00\n",
                    "utf-8")  # fmt: skip
    result = run_source(ref_store, ShelterStatusSource("xy", path=str(path), crs="EPSG:6677"))
    assert (result["inserted"], result["rejected"]) == (0, 1)
    (reason,) = _reasons(ref_store, "xy")
    assert "EPSG:6675" in reason


def test_shelter_list_in_another_zone_names_the_likely_crs(tmp_path, ref_store):
    x7, y7 = _zone_xy(6675)
    path = tmp_path / "shelters.csv"
    path.write_text(f"ID,名称,X,Y,想定収容人数\n12,国領中学校,{x7},{y7},480\n", "utf-8")
    source = ShelterListSource("list", path=str(path), municipality="13208", crs="EPSG:6677")
    result = run_source(ref_store, source)
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (0, 1)
    (reason,) = _reasons(ref_store, "list")
    assert "EPSG:6675" in reason


# -- other header layouts -----------------------------------------------------------------------

ENGLISH_SHELTERS = "id,name,address,lat,lon,capacity\n12,国領中学校,東京都調布市国領町一丁目5番1号,35.648,139.547,480\n"


def test_english_headers_are_an_error_listing_what_was_found_and_expected(tmp_path, store):
    path = tmp_path / "shelters_en.csv"
    path.write_text(ENGLISH_SHELTERS, "utf-8")
    result = run_source(store, ShelterListSource("en", path=str(path), municipality="13208"))
    assert not result["ok"]
    error = result["error"]
    # lat/lon are known (緯度/経度 in English): the name is what is missing.
    assert "id, name, address, lat, lon, capacity" in error and "名称（" in error
    assert "--columns" in error and "緯度" not in error
    assert store.count("shelters") == 0


def test_a_column_map_reads_english_headers(tmp_path, store):
    path = tmp_path / "shelters_en.csv"
    path.write_text(ENGLISH_SHELTERS, "utf-8")
    columns = "id=ID,name=名称,address=所在地_連結表記,lat=緯度,lon=経度,capacity=想定収容人数"
    source = ShelterListSource("en", path=str(path), municipality="13208", columns=columns)
    result = run_source(store, source)
    assert (result["ok"], result["inserted"]) == (True, 1), result
    shelter = store.read("shelters").iloc[0]
    assert (shelter["name"], shelter["capacity"]) == ("国領中学校", 480)


def test_a_column_map_naming_a_missing_header_is_an_error(tmp_path, store):
    path = tmp_path / "shelters_en.csv"
    path.write_text(ENGLISH_SHELTERS, "utf-8")
    source = ShelterListSource("en", path=str(path), columns="名称=name")
    result = run_source(store, source)
    assert not result["ok"]
    assert "名称" in result["error"] and "id, name, address, lat, lon, capacity" in result["error"]


def test_unknown_status_layout_lists_the_headers(tmp_path, ref_store):
    path = tmp_path / "status.csv"
    path.write_text("facility,state,people\n国領中学校,open,12\n", "utf-8")
    result = run_source(ref_store, ShelterStatusSource("layout", path=str(path)))
    assert not result["ok"]
    assert "facility, state, people" in result["error"] and "避難所ID" in result["error"]
    assert ref_store.count("shelter_status") == 0


def test_roster_with_a_column_map_from_the_command_line(tmp_path, sqlite_url, capsys):
    path = tmp_path / "roster.csv"
    path.write_text("no,full_name,addr\nR1,調布 花子,東京都調布市国領町三丁目1番1号\n", "utf-8")
    args = ["load", "roster", str(path), "--db", sqlite_url, "--json"]
    assert main(args) == 2
    assert "full_name" in capsys.readouterr().err
    columns = ["--columns", "no=整理番号,full_name=氏名,addr=住所"]
    assert main(args + columns) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 1


def test_a_mapping_file_in_sources_toml(tmp_path, ref_store):
    (tmp_path / "english.toml").write_text('[columns]\nfacility = "名称"\npeople = "避難者数"\n'
                                           'state = "開設状況"\nat = "更新日時"\n', "utf-8")  # fmt: skip
    (tmp_path / "status.csv").write_text("facility,state,people,at\n国領中学校,open,12,"
                                         "2024-01-09 22:00\n", "utf-8")  # fmt: skip
    doc = {"source": [{"name": "en", "type": "shelter_status", "path": "status.csv",
                       "columns_file": "english.toml"}]}  # fmt: skip
    (source,) = build_sources(doc, base_dir=tmp_path).sources
    result = run_source(ref_store, source)
    assert (result["ok"], result["inserted"]) == (True, 1), result
    assert _current(ref_store).loc["S13208-12", "evacuees"] == 12


def test_roster_reasons_name_the_row_and_column(tmp_path, ref_store):
    path = tmp_path / "roster.csv"
    path.write_text("整理番号,氏名\nR1,調布 花子\nR2,\n", "utf-8")
    result = run_source(ref_store, RosterCsvSource("roster", path=str(path)))
    assert (result["inserted"], result["rejected"]) == (1, 1)
    (reason,) = _reasons(ref_store, "roster")
    assert reason.startswith("3行目 氏名: 空欄です") and "missing name" in reason
