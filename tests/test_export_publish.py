"""Shelter status for publication: the open-data CSV (pandas) and CAP 1.2 (lxml + the XSD)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from lxml import etree

from geodata.export.cap import XSD_PATH, cap_messages
from geodata.export.opendata import shelters_opendata_csv
from tests.test_export_world import AS_OF, open_world

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
XSD = XSD_PATH


@pytest.fixture
def world_store(sqlite_url):
    yield from open_world(sqlite_url)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def test_opendata_csv_columns_and_values(world_store):
    result = shelters_opendata_csv(world_store, dataset="emergency_sites", as_of=AS_OF)
    assert result.data[:3] == b"\xef\xbb\xbf"
    table = pd.read_csv(io.BytesIO(result.data), encoding="utf-8-sig", dtype=str)
    assert list(table.columns[:4]) == ["全国地方公共団体コード", "ID", "名称", "名称_カナ"]
    assert list(table.columns[-3:]) == ["開設状況", "避難者数", "時点"]
    for column in (
        "所在地_連結表記",
        "緯度",
        "経度",
        "災害種別_洪水",
        "想定収容人数",
        "地方公共団体名",
    ):
        assert column in table.columns
    assert len(table) == 6
    row = table.set_index("ID").loc["E1320800028111"]
    assert row["全国地方公共団体コード"] == "132080"
    assert row["名称"] == "第三小学校" and row["名称_カナ"] == "ダイサンショウガッコウ"
    assert row["開設状況"] == "開設" and row["避難者数"] == "120"
    assert row["時点"] == "2026-10-12T20:30:00+09:00"
    assert row["災害種別_地震"] == "1" and row["災害種別_大規模な火事"] == "1"
    assert pd.isna(row["災害種別_洪水"])
    assert 35.5 < float(row["緯度"]) < 35.8 and 139.4 < float(row["経度"]) < 139.7
    full = table.set_index("ID").loc["E1320800045111"]
    assert full["開設状況"] == "満員" and full["避難者数"] == "600"
    estimated = table.set_index("ID").loc["E1320800054111"]
    assert pd.isna(estimated["想定収容人数"]) and "未公表" in estimated["備考"]
    # No report is not an observation: not 未開設 / 0 / the export time (issue 14).
    never = table.set_index("ID").loc["E1320800035111"]
    assert never["開設状況"] == "報告なし"
    assert pd.isna(never["避難者数"]) and pd.isna(never["時点"])
    assert result.info["open"] == 3
    assert result.filename.startswith("132080_evacuation_space_status_")


def test_opendata_csv_shift_jis(world_store):
    result = shelters_opendata_csv(
        world_store, dataset="emergency_sites", as_of=AS_OF, encoding="cp932"
    )
    table = pd.read_csv(io.BytesIO(result.data), encoding="cp932", dtype=str)
    assert "布田小学校" in set(table["名称"])
    assert result.info["replaced"]["count"] == 0
    utf8 = shelters_opendata_csv(world_store, dataset="emergency_sites", as_of=AS_OF)
    assert (
        result.filename.endswith("_sjis.csv") and result.filename != utf8.filename
    )  # both can be kept


def _more_shelters(store):
    """A 指定避難所 only, a 福祉避難所 without 受入対象者 (小平市-style), one with it, and an
    emergency site only; the first reports a count."""
    import geopandas as gpd
    import shapely

    rows = [
        # id, name, kind, target, source ids, hazards
        ("E1320800090111", "第九小学校", "shelter", None, ["E1320800090111"], []),
        ("E1320800091121", "ちょうふ花園", "shelter", None, ["E1320800091121"], []),
        ("E1320800092121", "福祉センター", "shelter", "要配慮者", ["E1320800092121"], []),
        ("E1320800093201", "多摩川河川敷", "emergency_site", None, ["E1320800093201"], ["earthquake"]),
    ]  # fmt: skip
    frame = gpd.GeoDataFrame(
        {
            "shelter_id": [r[0] for r in rows],
            "city_code": "13208",
            "name": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "target": [r[3] for r in rows],
            "source_ids": [r[4] for r in rows],
            "hazards": [r[5] for r in rows],
            "capacity": [300, 30, 30, 5000],
            "capacity_estimated": [True, True, True, True],
            "note": ["体育館のみ", None, None, None],
        },  # fmt: skip
        geometry=[shapely.Point(139.55, 35.65)] * len(rows),
        crs=4326,
    )
    store.upsert("shelters", frame)
    store.append_shelter_status(
        pd.DataFrame([{"shelter_id": "E1320800090111", "reported_at": "2026-10-12T20:00",
                       "status": "開設", "evacuees": None, "note": "受付は北門",
                       "source_id": "n1"}]),
        source="csv:city",
    )  # fmt: skip


def test_opendata_shelters_in_their_own_layout_with_welfare_marked(world_store):
    _more_shelters(world_store)
    result = shelters_opendata_csv(world_store, dataset="shelters", as_of=AS_OF)
    table = pd.read_csv(io.BytesIO(result.data), encoding="utf-8-sig", dtype=str)
    # A 指定避難所 is not designated per hazard: no 災害種別 column to read as "not for floods".
    assert not any(c.startswith("災害種別_") for c in table.columns)
    for column in ("受入対象者", "福祉避難所", "指定緊急避難場所との重複", "想定収容人数"):
        assert column in table.columns
    assert list(table.columns[-3:]) == ["開設状況", "避難者数", "時点"]
    rows = table.set_index("ID")
    assert "E1320800093201" not in rows.index  # an emergency site only is not a 指定避難所
    assert len(rows) == 6 + 3  # the world's six are both; three shelters added
    assert rows.loc["E1320800028111", "指定緊急避難場所との重複"] == "1"
    assert pd.isna(rows.loc["E1320800090111", "指定緊急避難場所との重複"])
    # Welfare shelters are marked, so an app does not send the public there.
    assert rows.loc["E1320800092121", "受入対象者"] == "要配慮者"
    assert rows.loc["E1320800092121", "福祉避難所"] == "1"
    assert rows.loc["E1320800091121", "福祉避難所"] == "1"  # by the GSI type, target empty
    assert "福祉避難所" in rows.loc["E1320800091121", "備考"]
    assert pd.isna(rows.loc["E1320800090111", "福祉避難所"])
    # An open shelter whose report has no count: 開設, count unknown (empty), its time.
    assert rows.loc["E1320800090111", "開設状況"] == "開設"
    assert pd.isna(rows.loc["E1320800090111", "避難者数"])
    assert rows.loc["E1320800090111", "時点"] == "2026-10-12T20:00:00+09:00"
    assert rows.loc["E1320800091121", "開設状況"] == "報告なし"
    # 備考 is the facility's note, never a report's
    assert rows.loc["E1320800090111", "備考"] == "体育館のみ、想定収容人数は未公表"
    assert result.filename.startswith("132080_designated_shelter_status_")
    sites = shelters_opendata_csv(world_store, dataset="emergency_sites", as_of=AS_OF)
    site_rows = pd.read_csv(io.BytesIO(sites.data), encoding="utf-8-sig", dtype=str)
    world = {"E1320800028111", "E1320800045111", "E1320800054111", "E1320800066111",
             "E1320800035111", "E1320800022111"}  # fmt: skip
    assert set(site_rows["ID"]) == world | {"E1320800093201"}  # the both kinds and the site
    assert site_rows.set_index("ID").loc["E1320800093201", "災害種別_地震"] == "1"
    with pytest.raises(ValueError, match="dataset"):
        shelters_opendata_csv(world_store, dataset="everything")


def alerts(results) -> list[etree._Element]:
    return [etree.fromstring(r.data) for r in results]


def test_cap_messages_validate_and_chain(world_store, schema):
    results = cap_messages(world_store, who="広報班")
    assert len(results) == 7
    docs = alerts(results)
    for doc in docs:
        schema.assertValid(doc)
    by_id = {d.findtext(f"{CAP}identifier"): d for d in docs}
    first = docs[0]  # oldest: 第三小学校 opened at 18:00
    assert first.findtext(f"{CAP}sent") == "2026-10-12T18:00:00+09:00"
    assert first.findtext(f"{CAP}msgType") == "Alert"
    assert first.findtext(f"{CAP}status") == "Actual"
    assert first.findtext(f"{CAP}scope") == "Public"
    assert first.find(f"{CAP}references") is None
    updates = [d for d in docs if d.findtext(f"{CAP}msgType") == "Update"]
    assert len(updates) == 3  # 第三小学校 v2 and v3, 布田小学校 v2
    for update in updates:
        sender, ref_id, ref_sent = update.findtext(f"{CAP}references").split(",")
        assert sender == update.findtext(f"{CAP}sender") and ref_id in by_id
        assert by_id[ref_id].findtext(f"{CAP}sent") == ref_sent


def test_cap_values(world_store, schema):
    results = cap_messages(world_store, since="2026-10-12T20:00", until=AS_OF)
    docs = {r.info["shelter_id"]: etree.fromstring(r.data) for r in results}
    assert set(docs) == {"E1320800045111", "E1320800028111"}
    full = docs["E1320800045111"]
    schema.assertValid(full)
    info = full.find(f"{CAP}info")
    assert info.findtext(f"{CAP}language") == "ja-JP"
    assert info.findtext(f"{CAP}category") == "Safety"
    assert info.findtext(f"{CAP}event") == "避難所開設状況"
    assert info.findtext(f"{CAP}headline") == "【満員】布田小学校（調布市）"
    assert "満員" in info.findtext(f"{CAP}description")
    params = {
        p.findtext(f"{CAP}valueName"): p.findtext(f"{CAP}value")
        for p in info.findall(f"{CAP}parameter")
    }
    assert params["evacuees"] == "600" and params["capacity"] == "600"
    assert params["status"] == "満員" and params["statusCode"] == "full"
    area = info.find(f"{CAP}area")
    assert "布田小学校" in area.findtext(f"{CAP}areaDesc")
    center, radius = area.findtext(f"{CAP}circle").split(" ")
    lat, lon = (float(v) for v in center.split(","))
    assert 35.5 < lat < 35.8 and 139.4 < lon < 139.7 and float(radius) > 0  # "lat,lon r"


def test_cap_exercise_for_drill_records(world_store, schema):
    import pandas as pd

    world_store.append_shelter_status(
        pd.DataFrame([{"shelter_id": "E1320800066111", "reported_at": "2026-10-12T22:00",
                       "status": "開設", "evacuees": 10, "source_id": "d1"}]),
        source="drill:shelter_csv",
    )  # fmt: skip
    results = cap_messages(world_store, since="2026-10-12T21:45")
    assert len(results) == 1
    doc = etree.fromstring(results[0].data)
    schema.assertValid(doc)
    assert doc.findtext(f"{CAP}status") == "Exercise"
    assert doc.findtext(f"{CAP}msgType") == "Update"  # 石原小学校 had a 閉鎖 record before
    forced = cap_messages(world_store, since="2026-10-12T21:45", exercise=False)
    assert etree.fromstring(forced[0].data).findtext(f"{CAP}status") == "Actual"


def test_cap_sender_checked(world_store):
    with pytest.raises(ValueError, match="sender"):
        cap_messages(world_store, sender="調布市 本部")


def _info(doc) -> tuple[etree._Element, dict]:
    info = doc.find(f"{CAP}info")
    params = {
        p.findtext(f"{CAP}valueName"): p.findtext(f"{CAP}value")
        for p in info.findall(f"{CAP}parameter")
    }
    return info, params


def test_cap_severity_urgency_expires_and_geocode_follow_the_status(world_store, schema):
    docs = {
        (r.info["shelter_id"], r.info["version"]): etree.fromstring(r.data)
        for r in cap_messages(world_store, until=AS_OF)
    }
    expected = {
        # (shelter, version): urgency, severity, expires
        ("E1320800045111", 2): ("Immediate", "Moderate", "2026-10-12T23:00:00+09:00"),  # 満員
        ("E1320800028111", 2): ("Expected", "Minor", "2026-10-12T23:30:00+09:00"),  # 開設
        ("E1320800066111", 1): ("Immediate", "Minor", "2026-10-13T18:30:00+09:00"),  # 閉鎖
    }
    for key, (urgency, severity, expires) in expected.items():
        doc = docs[key]
        schema.assertValid(doc)
        info, _ = _info(doc)
        assert info.findtext(f"{CAP}urgency") == urgency
        assert info.findtext(f"{CAP}severity") == severity
        assert info.findtext(f"{CAP}certainty") == "Observed"
        assert info.findtext(f"{CAP}expires") == expires
        geocode = info.find(f"{CAP}area").find(f"{CAP}geocode")
        assert geocode.findtext(f"{CAP}valueName") == "全国地方公共団体コード"
        assert geocode.findtext(f"{CAP}value") == "132080"
    assert all(_info(d)[0].findtext(f"{CAP}urgency") != "Unknown" for d in docs.values())


def test_cap_an_unchanged_count_is_sent_as_a_confirmation(world_store, schema):
    world_store.append_shelter_status(
        pd.DataFrame([{"shelter_id": "E1320800045111", "reported_at": "2026-10-12T20:45",
                       "status": "満員", "evacuees": 600, "source_id": "same"}]),
        source="csv:city",
    )  # fmt: skip
    results = cap_messages(world_store, since="2026-10-12T20:00", until=AS_OF)
    docs = {(r.info["shelter_id"], r.info["version"]): r for r in results}
    confirmation = docs[("E1320800045111", 3)]
    assert confirmation.info["unchanged"] is True
    doc = etree.fromstring(confirmation.data)
    schema.assertValid(doc)
    info, params = _info(doc)
    assert doc.findtext(f"{CAP}msgType") == "Update"
    assert doc.findtext(f"{CAP}sent") == "2026-10-12T20:45:00+09:00"
    assert info.findtext(f"{CAP}expires") == "2026-10-12T23:45:00+09:00"  # the count holds longer
    assert params["changed"] == "false" and params["evacuees"] == "600"
    assert "変更なし" in info.findtext(f"{CAP}description")
    previous = docs[("E1320800045111", 2)]
    assert doc.findtext(f"{CAP}references").split(",")[1] == previous.info["identifier"]
    assert previous.info["unchanged"] is False
    assert _info(etree.fromstring(previous.data))[1]["changed"] == "true"


def test_cap_a_late_older_report_is_not_sent(world_store):
    before = cap_messages(world_store)
    world_store.append_shelter_status(
        pd.DataFrame([{"shelter_id": "E1320800028111", "reported_at": "2026-10-12T19:00",
                       "status": "開設", "evacuees": 80, "source_id": "late"}]),
        source="csv:other",
    )  # fmt: skip
    after = cap_messages(world_store)
    assert [r.info["identifier"] for r in after] == [r.info["identifier"] for r in before]
    assert not any(
        r.info["version"] == 4 for r in after if r.info["shelter_id"] == "E1320800028111"
    )


def test_shelter_layer_exports_carry_the_current_status(world_store, tmp_path):
    import json

    import geopandas as gpd

    from geodata.export.data import export_layer

    doc = json.loads(export_layer(world_store, "shelters", "geojson").data)
    props = {f["properties"]["shelter_id"]: f["properties"] for f in doc["features"]}
    now = props["E1320800028111"]  # its last report came after AS_OF
    assert (now["status"], now["evacuees"]) == ("開設", 150)
    assert now["reported_at"] == "2026-10-12T21:30:00+09:00"
    assert props["E1320800035111"]["status"] is None  # no report: not 未開設
    assert props["E1320800035111"]["evacuees"] is None
    assert "reported_by" not in now and "source_id" not in now
    path = tmp_path / "shelters.gpkg"
    path.write_bytes(export_layer(world_store, "shelters", "gpkg").data)
    frame = gpd.read_file(path).set_index("shelter_id")
    assert frame.loc["E1320800045111", "status"] == "満員"
    assert frame.loc["E1320800045111", "evacuees"] == 600
    csv = export_layer(world_store, "shelters", "csv").data
    table = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig", dtype=str).set_index("避難所ID")
    assert table.loc["E1320800045111", "開設状況"] == "満員"
    assert table.loc["E1320800045111", "避難者数"] == "600"
    kml = export_layer(world_store, "shelters", "kml").data.decode()
    assert "満員" in kml
