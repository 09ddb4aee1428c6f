"""Evacuation information (避難情報): the layer on both backends, the role check, what is in force."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import shapely

from geodata import evacuation
from geodata.access.roles import Forbidden, User
from geodata.store.errors import StaleVersion

COMMANDER = User("honbucho", "commander")
OPERATOR = User("sato", "operator")
T = pd.Timestamp("2026-10-12T14:00:00+09:00")


def _towns(store, n=4):
    rows = [
        {"town_code": f"132080{i:02d}001", "city_code": "13208", "name": f"町{i}",
         "population": 100 * i, "households": 40 * i}
        for i in range(1, n + 1)
    ]  # fmt: skip
    import geopandas as gpd

    frame = gpd.GeoDataFrame(
        rows, geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)], crs=4326
    )
    store.upsert("towns", frame, source="test")
    return [r["town_code"] for r in rows]


def test_issue_update_lift_append_records_with_audit_rows(store):
    codes = _towns(store)
    first = evacuation.issue(
        store, level=3, hazard="flood", towns=codes[:2], reason="避難判断水位到達",
        warning_ids=["w1"], user=COMMANDER, at=T,
    )  # fmt: skip
    oid = first["order_id"]
    assert (first["version"], first["action"], first["refers_to"]) == (1, "issue", None)
    up = evacuation.update(store, oid, level=4, user=COMMANDER, at=T + pd.Timedelta(hours=4))
    assert (up["version"], up["action"], up["refers_to"]) == (2, "update", f"{oid}|1")
    assert up["towns"] == codes[:2] and up["reason"] == "避難判断水位到達"
    end = evacuation.lift(store, oid, user=COMMANDER, at=T + pd.Timedelta(hours=10))
    assert (end["version"], end["action"], end["lifted_at"]) == (
        3, "lift", T + pd.Timedelta(hours=10),
    )  # fmt: skip

    stored = evacuation.history(store, oid)
    assert stored["version"].tolist() == [1, 2, 3]  # append-only: every record kept
    assert stored["level"].tolist() == [3, 4, 4]
    audit = store.read_audit(layer="evacuations").sort_values("id")
    assert audit["action"].tolist() == ["issue", "update", "lift"]
    assert audit["who"].tolist() == ["honbucho"] * 3
    assert audit["record_key"].tolist() == [f"{oid}|1", f"{oid}|2", f"{oid}|3"]
    assert pd.isna(audit["old"].iloc[0])
    assert json.loads(audit["old"].iloc[2])["version"] == 2
    assert json.loads(audit["new"].iloc[2])["action"] == "lift"

    # in force: level 3 at T, 4 from T+4 h, nothing after the lift
    assert evacuation.in_force(store, T - pd.Timedelta(minutes=1)).empty
    at_5 = evacuation.in_force(store, T + pd.Timedelta(hours=5))
    assert at_5["town_code"].tolist() == codes[:2]
    assert at_5["level"].tolist() == [4, 4]
    assert at_5["since"].tolist() == [T + pd.Timedelta(hours=4)] * 2
    assert at_5["issued_at"].tolist() == [T, T]
    assert evacuation.in_force(store, T + pd.Timedelta(hours=1))["level"].tolist() == [3, 3]
    assert evacuation.in_force(store, T + pd.Timedelta(hours=11)).empty


def test_a_stale_or_repeated_write_is_refused(store):
    codes = _towns(store)
    rec = evacuation.issue(store, level=4, hazard="flood", towns=codes, user=COMMANDER, at=T)
    oid = rec["order_id"]
    evacuation.update(store, oid, towns=codes[:1], user=COMMANDER, base_version=1)
    with pytest.raises(StaleVersion) as err:  # a second commander still saw version 1
        evacuation.lift(store, oid, user=COMMANDER, base_version=1)
    assert err.value.current["version"] == 2
    evacuation.lift(store, oid, user=COMMANDER, base_version=2)
    with pytest.raises(evacuation.EvacuationError, match="was lifted"):
        evacuation.lift(store, oid, user=COMMANDER)
    assert evacuation.history(store, oid)["version"].tolist() == [1, 2, 3]


def test_only_commander_and_admin_may_issue_or_lift(store):
    codes = _towns(store)
    for user in (OPERATOR, User("wall", "viewer"), User("s", "shelter_staff"), None,
                 User("old", "commander", disabled=True)):  # fmt: skip
        with pytest.raises(Forbidden):
            evacuation.issue(store, level=4, hazard="flood", towns=codes, user=user)
    assert store.read("evacuations").empty
    rec = evacuation.issue(store, level=4, hazard="flood", towns=codes, user=User("a", "admin"))
    with pytest.raises(Forbidden):
        evacuation.lift(store, rec["order_id"], user=OPERATOR)
    assert len(store.read("evacuations")) == 1


def test_bad_input_is_a_clear_error(store):
    codes = _towns(store)
    with pytest.raises(evacuation.EvacuationError, match="unknown town codes: 99"):
        evacuation.issue(store, level=4, hazard="flood", towns=["99"], user=COMMANDER)
    with pytest.raises(evacuation.EvacuationError, match="level must be one of"):
        evacuation.issue(store, level=2, hazard="flood", towns=codes, user=COMMANDER)
    with pytest.raises(evacuation.EvacuationError, match="unknown hazard"):
        evacuation.issue(store, level=4, hazard="zombies", towns=codes, user=COMMANDER)
    with pytest.raises(evacuation.EvacuationError, match="at least one town"):
        evacuation.issue(store, level=4, hazard="flood", towns=[], user=COMMANDER)
    assert store.read("evacuations").empty


def test_highest_level_per_town_whole_city_and_kpi(store):
    codes = _towns(store)
    evacuation.issue(store, level=3, hazard="flood", whole_city=True, user=COMMANDER, at=T)
    later = T + pd.Timedelta(hours=2)
    five = evacuation.issue(
        store, level=5, hazard="flood", towns=codes[3:], user=COMMANDER, at=later
    )
    evacuation.issue(store, level=4, hazard="landslide", towns=codes[2:], user=COMMANDER, at=later)
    now = T + pd.Timedelta(hours=3)
    found = evacuation.in_force(store, now).set_index("town_code")
    assert found["level"].to_dict() == {codes[0]: 3, codes[1]: 3, codes[2]: 4, codes[3]: 5}
    assert found.loc[codes[3], "hazard"] == "flood"
    assert len(found.loc[codes[3], "orders"]) == 3
    assert found.loc[codes[0], "since"] == T
    kpi = evacuation.kpi(store, now)
    assert (kpi["towns"], kpi["population"], kpi["households"]) == (2, 700, 280)
    assert kpi["by_level"] == {3: 2, 4: 1, 5: 1} and kpi["highest"] == 5
    evacuation.lift(store, five["order_id"], user=COMMANDER, at=now)
    found = evacuation.in_force(store, now).set_index("town_code")
    assert found.loc[codes[3], "level"] == 4  # the landslide order still covers it
    assert found.loc[codes[3], "since"] == later  # at 4 or higher since the 5 was issued
    assert evacuation.in_force(store, now, hazard="flood")["level"].tolist() == [3, 3, 3, 3]


def test_the_official_alert_level_colours():
    # 内閣府「警戒レベルの一覧表の配色」: 5 black, 4 purple, 3 red (RGB as published)
    assert evacuation.LEVEL_COLOURS[5] == "#0C000C"
    assert evacuation.LEVEL_COLOURS[4] == "#AA00AA"
    assert evacuation.LEVEL_COLOURS[3] == "#FF2800"
    assert evacuation.level_title(4) == "【警戒レベル4】避難指示"
    assert evacuation.level_label(5, "en") == "Emergency safety measures"


def test_an_older_store_gets_the_table_by_migration(sqlite_url):
    import sqlalchemy as sa

    from geodata.store.core import open_store
    from geodata.store.migrations import MIGRATIONS, SCHEMA_VERSION

    store = open_store(sqlite_url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE evacuations")
        conn.exec_driver_sql("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    store.dispose()
    store = open_store(sqlite_url)
    assert sa.inspect(store.engine).has_table("evacuations")
    number = next(v for v, f in MIGRATIONS if f.__name__.endswith("_evacuations"))
    assert number == 9 and store.schema_version() == SCHEMA_VERSION  # v9 and the later ones ran
    store.dispose()


def test_shelters_for_a_hazard_open_first():
    from geodata.evacuation_criteria import _shelters_for

    status = pd.DataFrame({
        "shelter_id": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"],
        "kind": ["emergency_site", "both", "shelter", "both"], "capacity": [10, 20, 30, 40],
        "hazards": [["flood"], ["flood", "earthquake"], [], ["earthquake"]],
        "status": ["閉鎖", "開設", None, "開設"], "evacuees": [0, 5, None, 9],
    })  # fmt: skip
    got = _shelters_for(status, "flood")
    assert got["shelter_id"].tolist() == ["b", "a"]  # designated for floods only, open first
    assert got["open"].tolist() == [True, False]


def test_each_issue_update_and_lift_is_one_chronology_entry_and_the_damage_report_lists_it(store):
    from geodata import damage

    codes = _towns(store)
    first = evacuation.issue(store, level=3, hazard="flood", towns=codes[:2],
                             reason="避難判断水位到達", user=COMMANDER, at=T)  # fmt: skip
    oid = first["order_id"]
    evacuation.update(store, oid, level=4, user=COMMANDER, at=T + pd.Timedelta(hours=4))
    assert damage.overview(store, T + pd.Timedelta(hours=5))["evacuation"] == [
        "【警戒レベル4】避難指示（洪水）2町丁目 10/12 14:00発令"
    ]
    evacuation.lift(store, oid, user=COMMANDER, at=T + pd.Timedelta(hours=10))
    assert damage.overview(store, T + pd.Timedelta(hours=11))["evacuation"] == []

    entries = store.read("chronology").sort_values("at")
    assert entries["event"].tolist() == ["evacuation_issued", "evacuation_issued",
                                         "evacuation_lifted"]  # fmt: skip
    assert entries["text"].tolist() == [
        "【警戒レベル3】高齢者等避難（洪水）発令：2町丁目　避難判断水位到達",
        "【警戒レベル4】避難指示（洪水）変更：2町丁目　避難判断水位到達",
        "【警戒レベル4】避難指示（洪水）解除：2町丁目　避難判断水位到達",
    ]
    assert entries["event_key"].tolist() == [f"evacuation:{oid}:{v}" for v in (1, 2, 3)]
    assert all(links["town"] == codes[:2] and links["evacuation"] == [oid]
               for links in entries["links"])  # fmt: skip
    assert list(entries["at"]) == [T, T + pd.Timedelta(hours=4), T + pd.Timedelta(hours=10)]


def test_a_refused_write_leaves_no_chronology_entry(store):
    codes = _towns(store)
    first = evacuation.issue(store, level=3, hazard="flood", towns=codes[:1], user=COMMANDER, at=T)
    with pytest.raises(StaleVersion):
        evacuation.update(store, first["order_id"], level=4, user=COMMANDER, base_version=0)
    with pytest.raises(Forbidden):
        evacuation.lift(store, first["order_id"], user=OPERATOR)
    assert store.read("chronology")["event_key"].tolist() == [f"evacuation:{first['order_id']}:1"]
