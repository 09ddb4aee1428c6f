"""Evacuation information published: CAP 1.2 per issue/update/lift, the open-data CSV, no person."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import shapely
from lxml import etree

from geodata import evacuation
from geodata.access.roles import User
from geodata.export.cap import validate_cap
from geodata.export.evacuation import evacuation_cap_messages, evacuation_opendata_csv

NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
BOSS = User("honbucho", "commander")
T = pd.Timestamp("2026-10-12T18:00:00+09:00")


def _towns(store):
    parts = shapely.MultiPolygon([shapely.box(139.55, 35.64, 139.56, 35.65),
                                  shapely.box(139.57, 35.64, 139.58, 35.65)])  # fmt: skip
    frame = gpd.GeoDataFrame(
        {"town_code": ["13208001001", "13208002001", "13208003001"], "city_code": ["13208"] * 3,
         "name": ["国領町一丁目", "野水一丁目", "深大寺元町一丁目"], "population": [1200, 800, 500],
         "households": [600, 350, 200]},
        geometry=[shapely.box(139.53, 35.64, 139.54, 35.65), parts,
                  shapely.box(139.50, 35.66, 139.51, 35.67)], crs=4326,
    )  # fmt: skip
    store.upsert("towns", frame, source="test")


def test_a_cap_message_per_issue_update_and_lift_validates_and_names_the_towns(store):
    _towns(store)
    rec = evacuation.issue(
        store, level=4, hazard="flood", towns=["13208001001", "13208002001"], user=BOSS, at=T,
        reason="多摩川（石原）が氾濫危険水位に到達", warning_ids=["https://example.jp/jma/1.xml"],
    )  # fmt: skip
    evacuation.update(store, rec["order_id"], level=5, user=BOSS, at=T + pd.Timedelta(hours=3))
    evacuation.lift(store, rec["order_id"], user=BOSS, at=T + pd.Timedelta(hours=9))
    messages = evacuation_cap_messages(store, who="sato")
    assert [m.info["action"] for m in messages] == ["issue", "update", "lift"]
    docs = []
    for m in messages:
        assert validate_cap(m.data) == []
        docs.append(etree.fromstring(m.data))
    issue, update, lift = docs
    assert [d.findtext("c:msgType", namespaces=NS) for d in docs] == ["Alert", "Update", "Cancel"]
    assert issue.findtext("c:status", namespaces=NS) == "Actual"
    assert issue.find("c:references", NS) is None
    assert update.findtext("c:references", namespaces=NS).split(",")[1] == messages[0].info[
        "identifier"]  # fmt: skip
    assert lift.findtext("c:references", namespaces=NS).split(",")[1] == messages[1].info[
        "identifier"]  # fmt: skip
    info = issue.find("c:info", NS)
    assert info.findtext("c:headline", namespaces=NS).startswith(
        "【警戒レベル4】避難指示発令（洪水）"
    )
    assert info.findtext("c:severity", namespaces=NS) == "Severe"
    assert "国領町一丁目、野水一丁目" in info.findtext("c:description", namespaces=NS)
    assert "氾濫危険水位" in info.findtext("c:description", namespaces=NS)
    areas = info.findall("c:area", NS)
    assert [a.findtext("c:areaDesc", namespaces=NS) for a in areas] == [
        "調布市国領町一丁目", "調布市野水一丁目"]  # fmt: skip
    assert len(areas[0].findall("c:polygon", NS)) == 1
    assert len(areas[1].findall("c:polygon", NS)) == 2  # a town in two parts
    first = areas[0].findtext("c:polygon", namespaces=NS).split()
    assert first[0] == first[-1] and first[0].startswith("35.64")  # lat,lon, closed
    codes = [g.findtext("c:value", namespaces=NS) for g in areas[1].findall("c:geocode", NS)]
    assert codes == ["13208002001", "132080"]
    assert update.find("c:info/c:severity", NS).text == "Extreme"
    assert lift.find("c:info/c:urgency", NS).text == "Past"
    assert lift.find("c:info/c:instruction", NS) is None
    # no person: not the staff account, not the warning's address
    for m in messages:
        assert b"honbucho" not in m.data and b"example.jp" not in m.data
    audit = store.read_audit(layer="evacuations")
    assert "export:cap" in set(audit["action"])


def test_the_drill_is_sent_as_an_exercise(store):
    _towns(store)
    evacuation.issue(store, level=3, hazard="flood", towns=["13208003001"], user=BOSS, at=T,
                     source="drill")  # fmt: skip
    (m,) = evacuation_cap_messages(store)
    assert etree.fromstring(m.data).findtext("c:status", namespaces=NS) == "Exercise"


def test_the_open_data_csv_lists_the_towns_in_force(store):
    _towns(store)
    rec = evacuation.issue(store, level=3, hazard="flood", towns=["13208001001"], user=BOSS,
                           at=T, reason="避難判断水位")  # fmt: skip
    evacuation.issue(store, level=4, hazard="flood", towns=["13208002001"], user=BOSS,
                     at=T + pd.Timedelta(hours=1))  # fmt: skip
    result = evacuation_opendata_csv(store, as_of=T + pd.Timedelta(hours=2))
    table = pd.read_csv(io.BytesIO(result.data), encoding="utf-8-sig", dtype=str)
    assert table["町丁目名"].tolist() == ["国領町一丁目", "野水一丁目"]
    assert table["警戒レベル"].tolist() == ["3", "4"]
    assert table["避難情報"].tolist() == ["高齢者等避難", "避難指示"]
    assert table["発令日時"].iloc[0] == "2026-10-12T18:00:00+09:00"
    assert table["全国地方公共団体コード"].iloc[0] == "132080"
    assert "honbucho" not in result.data.decode("utf-8-sig")
    evacuation.lift(store, rec["order_id"], user=BOSS, at=T + pd.Timedelta(hours=3))
    later = evacuation_opendata_csv(store, as_of=T + pd.Timedelta(hours=4))
    assert later.info["towns"] == ["13208002001"]


def test_the_command_line_exports_cap_and_open_data(store_url, tmp_path):
    from geodata.store.core import open_store
    from ingest.cli import main

    store = open_store(store_url)
    _towns(store)
    evacuation.issue(store, level=4, hazard="flood", towns=["13208001001"], user=BOSS, at=T)
    store.dispose()
    out = tmp_path / "out"
    assert main(["export", "evacuation-cap", "--db", store_url, "--out", str(out)]) == 0
    (xml,) = out.glob("evacuation-*.xml")
    assert validate_cap(xml.read_bytes()) == []
    assert main(["export", "evacuation-opendata", "--db", store_url, "--as-of",
                 "2026-10-12T19:00", "--out", str(out)]) == 0  # fmt: skip
    (csv,) = out.glob("*_evacuation_info_*.csv")
    assert "国領町一丁目" in csv.read_text(encoding="utf-8-sig")


def test_the_situation_map_draws_towns_under_evacuation_information(sqlite_url, tmp_path):
    import shutil

    import pytest

    from geodata.export.map import situation_map
    from geodata.export.situation import collect_situation
    from tests.test_export_map import pdf_text, squash
    from tests.test_export_world import AS_OF, open_world

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    for store in open_world(sqlite_url):
        towns = store.read("towns").sort_values("town_code")
        codes = towns["town_code"].tolist()[:2]
        issued = pd.Timestamp("2026-10-12T18:00:00+09:00")
        rec = evacuation.issue(store, level=4, hazard="flood", towns=codes, user=BOSS, at=issued)
        for public in (False, True):
            s = collect_situation(store, as_of=AS_OF, public=public)
            assert sorted(s.evacuation["town_code"]) == sorted(codes)
            assert set(s.evacuation["level"]) == {4}
            population = int(towns[towns["town_code"].isin(codes)]["population"].sum())
            assert (s.kpis["evacuation_towns"], s.kpis["evacuation_population"]) == (
                2, population)  # fmt: skip
        for result in situation_map(store, as_of=AS_OF, public=True):
            flat = squash(pdf_text(result.data, tmp_path))
            assert "避難情報警戒レベル5・4・3" in flat
            assert "発令2026年10月12日18:00" in flat
            assert f"2町丁目／対象人口{population:,}人" in flat
        evacuation.lift(store, rec["order_id"], user=BOSS, at="2026-10-12T20:00")
        s = collect_situation(store, as_of=AS_OF)
        assert s.evacuation.empty and s.kpis["evacuation_towns"] == 0
