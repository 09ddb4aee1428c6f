"""物資要請: supply requests as structured items, their state machine, who may move them, the
history they leave, and the old needs lists migrated into them (geodata/supplies.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import supplies
from geodata.access.roles import Forbidden, User
from geodata.schema import now_utc
from geodata.store.core import StaleVersion, open_store

STAFF = User("sato", "shelter_staff", shelter_ids=frozenset({"S1"}))
OPERATOR = User("ito", "operator")
ADMIN = User("root", "admin")
VIEWER = User("wall", "viewer")


def _shelters(store, ids=("S1", "S2")):
    store.upsert(
        "shelters",
        gpd.GeoDataFrame(
            {"shelter_id": list(ids), "name": [f"避難所{i}" for i in ids]},
            geometry=[shapely.Point(139.55, 35.65)] * len(ids),
            crs=4326,
        ),
    )


def test_staff_request_items_for_their_own_shelter_only(store):
    _shelters(store)
    new = supplies.create(
        store, STAFF, "S1", item="water", quantity=200, urgency="urgent", note="2L"
    )
    assert (new["state"], new["version"], new["unit"], new["requested_by"]) == (
        "requested",
        1,
        "本",  # the item's default unit
        "sato",
    )
    with pytest.raises(Forbidden):
        supplies.create(store, STAFF, "S2", item="food", quantity=50)
    with pytest.raises(Forbidden):
        supplies.create(store, VIEWER, "S1", item="food", quantity=50)
    with pytest.raises(ValueError, match="other"):
        supplies.create(store, STAFF, "S1", item="other", quantity=1)
    with pytest.raises(ValueError, match="quantity"):
        supplies.create(store, STAFF, "S1", item="food", quantity=0)
    assert len(store.read("supply_requests")) == 1  # nothing refused was written


def test_requested_arranged_delivered_with_history_and_audit(store):
    _shelters(store)
    req = supplies.create(store, STAFF, "S1", item="diapers", quantity=30, item_text="L")
    with pytest.raises(Forbidden):  # shelter staff do not arrange
        supplies.move(store, STAFF, req, "arranged")
    arranged = supplies.move(store, OPERATOR, req, "arranged", note="市備蓄倉庫から")
    with pytest.raises(StaleVersion):  # based on version 1: someone moved it since
        supplies.move(store, OPERATOR, req, "delivered")
    delivered = supplies.move(store, OPERATOR, arranged, "delivered")
    assert delivered["version"] == 3 and delivered["updated_by"] == "ito"
    assert delivered["requested_by"] == "sato"  # who asked stays
    with pytest.raises(Forbidden):  # delivered cannot go back, unless an administrator
        supplies.move(store, OPERATOR, delivered, "requested")
    with pytest.raises(supplies.TransitionError):
        supplies.move(store, OPERATOR, arranged | {"version": 3}, "arranged")

    history = store.read("supply_requests").sort_values("version")
    assert history["state"].tolist() == ["requested", "arranged", "delivered"]
    assert history["updated_by"].tolist() == ["sato", "ito", "ito"]
    assert history["note"].tolist()[1:] == ["市備蓄倉庫から", "市備蓄倉庫から"]
    current = supplies.current(history)
    assert current.iloc[0]["state"] == "delivered" and len(current) == 1
    audit = store.read_audit(layer="supply_requests")
    assert len(audit) == 3  # every write audited
    assert set(audit["actor"] if "actor" in audit else audit["who"]) == {"sato", "ito"}

    reopened = supplies.move(store, ADMIN, delivered, "arranged")
    assert reopened["state"] == "arranged" and reopened["version"] == 4


def test_the_state_machine():
    assert supplies.allowed_transition("requested", "arranged")
    assert supplies.allowed_transition("requested", "delivered")
    assert supplies.allowed_transition("arranged", "delivered")
    assert supplies.allowed_transition("arranged", "requested")  # the arrangement fell through
    assert not supplies.allowed_transition("requested", "requested")
    assert not supplies.allowed_transition("delivered", "arranged")
    assert not supplies.allowed_transition("delivered", "requested")
    assert supplies.allowed_transition("delivered", "requested", reopen=True)
    assert not supplies.allowed_transition("requested", "lost")


def test_open_requests_urgent_first_and_per_shelter(store):
    _shelters(store)
    t0 = now_utc()
    made = [
        supplies.create(store, OPERATOR, "S1", item="food", quantity=100, urgency="normal", at=t0),
        supplies.create(
            store, OPERATOR, "S2", item="blankets", quantity=40, urgency="today", at=t0
        ),
        supplies.create(
            store,
            OPERATOR,
            "S1",
            item="water",
            quantity=200,
            urgency="urgent",
            at=t0 + timedelta(minutes=5),
        ),
        supplies.create(
            store, OPERATOR, "S2", item="medicine", quantity=1, urgency="urgent", at=t0
        ),
    ]
    supplies.move(store, OPERATOR, made[3], "delivered")
    current = supplies.current(store.read("supply_requests"))
    still = supplies.open_requests(current)
    assert still["item"].tolist() == ["water", "blankets", "food"]  # urgent, today, normal
    per = supplies.per_shelter(current).set_index("shelter_id")
    assert per.loc["S1", "open"] == 2 and per.loc["S1", "urgent"] == 1
    assert per.loc["S1", "label"] == "水 200本（至急）・食料 100食（通常）"
    assert per.loc["S2", "label"] == "毛布 40枚（本日中）"  # the delivered medicine is gone
    en = supplies.per_shelter(current, lang="en").set_index("shelter_id")
    assert en.loc["S1", "label"] == "Water 200本 (Urgent); Food 100食 (Normal)"


def test_old_needs_lists_become_requests_and_stay_readable(store_url):
    store = open_store(store_url)
    _shelters(store)
    t0 = pd.Timestamp(now_utc())
    store.update_shelter_status(  # an older report: its needs were replaced by the newer one
        "S1", {"status": "開設", "evacuees": 5, "needs": ["power"]}, base_version=0, actor="a",
        reported_at=t0 - timedelta(hours=2),
    )  # fmt: skip
    store.update_shelter_status(
        "S1", {"needs": ["water", "milk", "staff"]}, base_version=1, actor="suzuki",
        reported_at=t0 - timedelta(hours=1),
    )  # fmt: skip
    store.update_shelter_status(
        "S2", {"status": "開設", "evacuees": 3, "needs": []}, base_version=0, actor="b"
    )
    # Make it a database of v9: no care columns, no supply_requests table.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE supply_requests")
        for column in ("elderly", "disabled", "infants", "pregnant", "foreign", "other"):
            conn.exec_driver_sql(f"ALTER TABLE shelter_status DROP COLUMN care_{column}")
        conn.exec_driver_sql("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    store.dispose()

    upgraded = open_store(store_url)
    requests = upgraded.read("supply_requests").sort_values("request_id")
    assert requests["item"].tolist() == ["formula", "other", "water"]
    assert requests["item_text"].tolist() == [None, "応援職員", None]
    assert set(requests["state"]) == {"requested"} and set(requests["urgency"]) == {"normal"}
    assert set(requests["requested_by"]) == {"suzuki"}
    assert requests["requested_at"].iloc[0] == t0 - timedelta(hours=1)
    assert requests["quantity"].isna().all()  # nobody ever said how many
    history = upgraded.shelter_status_history("S1")
    assert history["needs"].tolist() == [["power"], ["water", "milk", "staff"]]  # kept
    assert "care_elderly" in history.columns and history["care_elderly"].isna().all()
    upgraded.dispose()
    again = open_store(store_url)
    with again.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    again.dispose()
    twice = open_store(store_url)
    assert len(twice.read("supply_requests")) == 3  # migrating twice writes nothing new
    twice.dispose()


def test_the_migrated_rows_name_their_origin():
    reports = pd.DataFrame(
        [{"shelter_id": "S9", "version": 4, "reported_at": "2026-10-12T03:00Z",
          "needs": ["blankets", "mystery"], "reported_by": None, "source": "csv:city"}]
    )  # fmt: skip
    out = supplies.from_needs(reports)
    assert out["request_id"].tolist() == ["needs-S9-4-blankets", "needs-S9-4-mystery"]
    assert out["item"].tolist() == ["blankets", "other"]
    assert [v if isinstance(v, str) else None for v in out["item_text"]] == [
        None,
        "mystery",
    ]  # an unknown code is kept as text
    assert set(out["requested_by"]) == {"csv:city"}
    assert json.dumps(list(out["source"])) == '["needs", "needs"]'


def test_supply_requests_export_as_csv_and_excel_urgent_first_and_audited(store):
    import io

    from geodata.export.supplies import supplies_file

    _shelters(store)
    supplies.create(store, OPERATOR, "S2", item="food", quantity=100, urgency="normal")
    urgent = supplies.create(store, STAFF, "S1", item="formula", quantity=6, urgency="urgent")
    supplies.move(store, OPERATOR, urgent, "arranged")
    csv = supplies_file(store, "csv", who="ito")
    table = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig", dtype=str)
    assert table[
        ["避難所名", "品目", "数量", "単位", "緊急度", "状態", "要請者", "更新者"]
    ].values.tolist() == [
        ["避難所S1", "粉ミルク", "6", "缶", "至急", "手配済", "sato", "ito"],
        ["避難所S2", "食料", "100", "食", "通常", "要請中", "ito", "ito"],
    ]
    xlsx = supplies_file(store, "xlsx", who="ito")
    assert xlsx.filename.endswith(".xlsx") and xlsx.count == 2
    sheet = pd.read_excel(io.BytesIO(xlsx.data), sheet_name="物資要請", dtype=str)
    assert sheet["品目"].tolist() == ["粉ミルク", "食料"]
    audit = store.read_audit(layer="supply_requests")
    assert set(audit["action"]) >= {"export:supplies-csv", "export:supplies-xlsx"}
