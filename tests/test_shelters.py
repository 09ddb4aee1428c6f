"""geodata/shelters.py: open states, occupancy, current status by report time, summary, status
at a time — and the store's current status following the same rule on both backends."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import shelters
from geodata.schema import now_utc
from geodata.shelters import is_stale, occupancy_class, occupancy_rate
from geodata.store.core import StaleVersion

NOW = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)  # 12:00 JST


# -- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "cls"),
    [
        (0.0, 0),
        (0.2999, 0),
        (0.3, 1),
        (0.5999, 1),
        (0.6, 2),
        (0.7999, 2),
        (0.8, 3),
        (1.0, 3),
        (1.7, 3),
        (None, None),
    ],
)
def test_occupancy_class_boundaries_belong_to_the_upper_class(rate, cls):
    assert occupancy_class(rate) == cls


def test_occupancy_rate():
    assert occupancy_rate(45, 150) == pytest.approx(0.3)
    assert occupancy_class(occupancy_rate(45, 150)) == 1  # exactly 30 % is 30–60
    assert occupancy_rate(None, 100) == 0.0  # an open shelter without a count: empty
    assert occupancy_rate(10, None) is None
    assert occupancy_rate(10, 0) is None
    assert occupancy_rate(10, float("nan")) is None


def test_occupancy_class_of_counts_and_capacity():
    # (moved from tests/test_maps.py with the map's own copy of the rule)
    classes = [occupancy_class(occupancy_rate(e, 100)) for e in (0, 29, 30, 59, 60, 79, 80, 100)]
    assert classes + [occupancy_class(occupancy_rate(150, 100))] == [0, 0, 1, 1, 2, 2, 3, 3, 3]
    assert occupancy_class(occupancy_rate(10, None)) is None
    assert occupancy_class(occupancy_rate(10, 0)) is None
    assert occupancy_class(occupancy_rate(None, 100)) == 0


def test_report_age_never_negative_and_reads_naive_times_as_utc():
    assert shelters.report_age(NOW + timedelta(minutes=5), NOW) == timedelta(0)
    naive = pd.Timestamp("2026-09-01 02:18:00")  # UTC, as the store returns it
    assert shelters.report_age(naive, NOW) == timedelta(minutes=42)
    assert shelters.report_age(None, NOW) is None


def test_stale_is_an_open_shelter_silent_for_more_than_three_hours():
    three = timedelta(hours=3)
    assert not is_stale("開設", three)
    assert is_stale("開設", three + timedelta(seconds=1))
    assert is_stale("満員", timedelta(hours=5))
    assert not is_stale("閉鎖", timedelta(days=2))
    assert not is_stale("未開設", timedelta(days=2))
    assert not is_stale("開設", None)


def test_open_states_come_from_the_vocabulary():
    assert shelters.OPEN_STATES == ("開設", "満員")
    assert (shelters.NOT_OPEN, shelters.CLOSED, shelters.FULL) == ("未開設", "閉鎖", "満員")
    assert [
        shelters.is_open(s) for s in ("未開設", "開設", "満員", "閉鎖", None, float("nan"))
    ] == [
        False,
        True,
        True,
        False,
        False,
        False,
    ]


def test_welfare_shelters_by_target_or_gsi_type():
    assert shelters.is_welfare({"target": "要配慮者"})
    assert shelters.is_welfare(
        {"target": "高齢者、障害者、乳幼児、妊産婦、外国人及び介護にあたる家族等"}
    )
    # 小平市 lists welfare shelters with an empty 受入対象者: the 共通ID type 12 says it.
    assert shelters.is_welfare({"target": "", "source_ids": ["E1321100039121"]})
    assert not shelters.is_welfare({"target": None, "source_ids": ["E1320800001111"]})
    assert not shelters.is_welfare({"target": None, "source_ids": ["12"]})


def test_latest_report_is_the_newest_report_time_then_the_later_write():
    t = pd.Timestamp("2026-10-12T09:00Z")
    history = pd.DataFrame(
        {
            "shelter_id": ["A", "A", "A", "B", "B"],
            "version": [1, 2, 3, 1, 2],
            "reported_at": [t, t + pd.Timedelta("30min"), t + pd.Timedelta("10min"), t, t],
            "status": ["開設", "満員", "開設", "開設", "閉鎖"],
        }
    )
    latest = shelters.latest_reports(history).set_index("shelter_id")
    assert latest.loc["A", "version"] == 2  # v3 was written later but reports an older time
    assert latest.loc["B", "version"] == 2  # same time: the later write


def test_a_report_that_arrived_after_a_newer_one_never_was_current():
    t = pd.Timestamp("2026-10-12T09:00Z")
    history = pd.DataFrame(
        {
            "shelter_id": ["A", "A", "A", "A", "B"],
            "version": [1, 2, 3, 4, 1],
            "reported_at": [
                t,
                t + pd.Timedelta("30min"),
                t + pd.Timedelta("10min"),
                t + pd.Timedelta("30min"),
                t,
            ],
        },  # fmt: skip
        index=[10, 11, 12, 13, 14],
    )
    became = shelters.current_on_arrival(history.iloc[::-1])
    assert became.to_dict() == {14: True, 13: True, 12: False, 11: True, 10: True}


def test_summary_counts_open_full_evacuees_and_capacity_of_open_shelters():
    frame = pd.DataFrame(
        {
            "status": ["開設", "満員", "閉鎖", "未開設", None],
            "evacuees": [10, 200, 50, 0, None],
            "capacity": [100, 200, 300, 400, 500],
        }
    )
    assert shelters.summary(frame) == {
        "shelters": 5,
        "reported": 4,
        "open": 2,
        "full": 1,
        "evacuees": 210,  # the closed shelter's last count is not counted
        "capacity": 300,
    }
    assert shelters.summary(frame.iloc[:0])["evacuees"] == 0


def test_same_report_compares_what_the_report_says():
    a = {"status": "開設", "evacuees": 40, "households": None, "needs": ["water", "food"]}
    assert shelters.same_report(a, {**a, "needs": ["food", "water"], "evacuees": 40.0})
    assert not shelters.same_report(a, {**a, "evacuees": 41})
    assert not shelters.same_report(a, {**a, "status": "満員"})
    assert not shelters.same_report(a, {**a, "needs": ["water"]})


# -- the store follows the same rule ----------------------------------------------------------


def _shelters(store, ids=("S1",)):
    gdf = gpd.GeoDataFrame(
        {
            "shelter_id": list(ids),
            "name": [f"避難所{i}" for i in ids],
            "kind": ["shelter"] * len(ids),
            "capacity": [500] * len(ids),
            "capacity_estimated": [False] * len(ids),
        },
        geometry=[shapely.Point(139.55, 35.65)] * len(ids),
        crs=4326,
    )
    store.upsert("shelters", gdf)


def test_an_older_report_loaded_after_a_newer_one_never_becomes_current(store):
    _shelters(store)
    now = now_utc()
    staff = store.update_shelter_status(
        "S1",
        {"status": "満員", "evacuees": 500},
        base_version=0,
        actor="staff",
        reported_at=now - timedelta(minutes=15),
    )
    late_file = pd.DataFrame(
        {
            "shelter_id": ["S1"],
            "source_id": ["other-system-1"],
            "reported_at": [now - timedelta(minutes=30)],
            "status": ["開設"],
            "evacuees": [10],
        }
    )
    assert store.append_shelter_status(late_file, source="csv:other").inserted == 1
    assert list(store.shelter_status_history("S1")["version"]) == [1, 2]
    current = store.current_shelter_status().iloc[0]
    assert (current["version"], current["status"], current["evacuees"]) == (1, "満員", 500)
    at = shelters.status_at(store).iloc[0]
    assert (at["status"], at["evacuees"]) == ("満員", 500)
    # The staff form saw version 1 (the current report): its next save is not refused...
    new = store.update_shelter_status(
        "S1", {"evacuees": 480}, base_version=staff["version"], actor="staff"
    )
    assert (new["version"], new["status"], new["evacuees"]) == (3, "満員", 480)
    assert store.current_shelter_status().iloc[0]["version"] == 3
    # ...and a form that still stands on version 1 now is.
    with pytest.raises(StaleVersion) as err:
        store.update_shelter_status("S1", {"evacuees": 1}, base_version=1, actor="other")
    assert err.value.current["version"] == 3


def test_a_newer_report_from_another_system_makes_a_staff_form_stale(store):
    _shelters(store)
    now = now_utc()
    store.update_shelter_status(
        "S1", {"status": "開設", "evacuees": 20}, base_version=0, actor="staff",
        reported_at=now - timedelta(minutes=20),
    )  # fmt: skip
    newer = pd.DataFrame(
        {"shelter_id": ["S1"], "source_id": ["x"], "reported_at": [now - timedelta(minutes=5)],
         "status": ["満員"], "evacuees": [500]}
    )  # fmt: skip
    store.append_shelter_status(newer, source="csv:other")
    with pytest.raises(StaleVersion) as err:
        store.update_shelter_status("S1", {"evacuees": 25}, base_version=1, actor="staff")
    assert (err.value.current["version"], err.value.current["status"]) == (2, "満員")


def test_store_and_pandas_agree_on_the_current_report(store):
    ids = [f"S{i}" for i in range(12)]
    _shelters(store, ids)
    rng = random.Random(7)
    base = pd.Timestamp("2026-10-12T00:00Z")
    rows = []
    for n in range(120):
        rows.append(
            {
                "shelter_id": rng.choice(ids),
                "source_id": f"r{n}",
                # few distinct times: many ties, which the later write must win
                "reported_at": base + pd.Timedelta(minutes=10 * rng.randrange(4)),
                "status": rng.choice(["開設", "満員", "閉鎖"]),
                "evacuees": rng.randrange(300),
            }
        )
    for start in range(0, 120, 17):  # several loads: versions follow the order of arrival
        store.append_shelter_status(pd.DataFrame(rows[start : start + 17]), source="csv:x")
    from_sql = store.current_shelter_status().set_index("shelter_id").sort_index()
    from_pandas = (
        shelters.latest_reports(store.read("shelter_status")).set_index("shelter_id").sort_index()
    )
    assert len(from_sql) == len(set(r["shelter_id"] for r in rows))
    assert from_sql["version"].tolist() == from_pandas["version"].tolist()
    assert from_sql["source_id"].tolist() == from_pandas["source_id"].tolist()
    for sid, rec in from_sql.iterrows():
        mine = store.shelter_status_history(sid)
        newest = mine["reported_at"].max()
        assert rec["reported_at"] == newest
        assert rec["version"] == mine.loc[mine["reported_at"] == newest, "version"].max()


def test_status_at_a_past_time_and_no_report_is_not_an_observation(store):
    _shelters(store, ["S1", "S2"])
    t = pd.Timestamp("2026-10-12T09:00Z")
    rows = pd.DataFrame(
        {"shelter_id": ["S1", "S1"], "source_id": ["a", "b"],
         "reported_at": [t, t + pd.Timedelta("1h")], "status": ["開設", "満員"],
         "evacuees": [100, 500]}
    )  # fmt: skip
    store.append_shelter_status(rows.iloc[::-1], source="csv:x")  # the newer one first
    past = shelters.status_at(store, t + pd.Timedelta("30min")).set_index("shelter_id")
    assert (past.loc["S1", "status"], past.loc["S1", "evacuees"]) == ("開設", 100)
    now = shelters.status_at(store).set_index("shelter_id")
    assert (now.loc["S1", "status"], now.loc["S1", "evacuees"]) == ("満員", 500)
    assert now.loc["S2", "status"] is None and pd.isna(now.loc["S2", "evacuees"])
    assert pd.isna(now.loc["S2", "reported_at"])
    assert shelters.summary(now) == {
        "shelters": 2, "reported": 1, "open": 1, "full": 1, "evacuees": 500, "capacity": 500,
    }  # fmt: skip
