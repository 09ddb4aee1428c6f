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
    result = shelters_opendata_csv(world_store, as_of=AS_OF)
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
    never = table.set_index("ID").loc["E1320800035111"]
    assert never["開設状況"] == "未開設" and never["避難者数"] == "0"
    assert result.info["open"] == 3


def test_opendata_csv_shift_jis(world_store):
    result = shelters_opendata_csv(world_store, as_of=AS_OF, encoding="cp932")
    table = pd.read_csv(io.BytesIO(result.data), encoding="cp932", dtype=str)
    assert "布田小学校" in set(table["名称"])
    assert result.info["replaced"]["count"] == 0


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
