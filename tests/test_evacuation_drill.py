"""The drill issues and lifts evacuation information; the criteria's proposals on 調布市's data
equal a computation by hand (pandas and shapely on the stored layers, not geodata's functions)."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from geodata import evacuation
from geodata.evacuation_criteria import CriteriaError, load_criteria, proposals
from ingest.drill.evacuation import order_id
from ingest.drill.ingest import ingest_drill
from ingest.drill.scenario import FIXED_ANCHOR, generate

T0 = FIXED_ANCHOR - pd.Timedelta(hours=24)


def at(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=round(hours * 60))


@pytest.fixture
def drilled(store, reference_dir):
    from geodata.reference.files import load_reference

    for layer, frame in load_reference("13208", reference_dir).frames.items():
        store.upsert(layer, frame, source="reference")
    drill = generate(seed=5, posts=40, roster=80, anchor=FIXED_ANCHOR, reference_dir=reference_dir)
    layers = ingest_drill(drill, store)
    return store, layers


def _flood_towns(store) -> list[str]:
    towns = store.read("towns")
    union = shapely.union_all(store.read("hazard_areas", where={"kind": "flood"}).geometry.values)
    inside = shapely.area(shapely.intersection(towns.geometry.values, union)) > 0
    return sorted(towns.loc[inside, "town_code"])


def test_the_drill_issues_and_lifts_through_the_core(drilled):
    store, layers = drilled
    assert layers["evacuations"]["inserted"] == 5
    flood = _flood_towns(store)
    records = evacuation.history(store, order_id(T0))
    assert records["action"].tolist() == ["issue", "update", "update", "update", "lift"]
    assert records["at"].tolist() == [at(2), at(6), at(9), at(16), at(20)]
    assert all(t == flood for t in records["towns"])
    assert set(records["issued_by"]) == {"drill-commander"}
    assert len(store.read_audit(layer="evacuations")) == 5
    for hours, level in ((1.9, None), (2, 3), (6, 4), (9, 5), (16, 4), (20, None)):
        found = evacuation.in_force(store, at(hours))
        if level is None:
            assert found.empty, hours
        else:
            assert found["town_code"].tolist() == flood and set(found["level"]) == {level}, hours
    assert evacuation.in_force(store, at(10))["since"].iloc[0] == at(9)
    # the 避難指示 (T+6) names the 多摩川 レベル４氾濫危険警報 that was in force
    assert len(records["warning_ids"].iloc[1]) >= 1
    # a second run of the same drill writes nothing
    from ingest.drill.evacuation import play_evacuations

    assert play_evacuations(store, T0)["inserted"] == 0


def _hand_residents(store, codes, when):
    roster = store.read("roster")
    replies = store.read("safety_replies")
    follow = store.read("follow_ups")
    mine = roster[roster["town_code"].isin(codes)]
    replied = set(replies.loc[replies["resident_id"].notna() & (replies["replied_at"] <= when),
                              "resident_id"])  # fmt: skip
    reached = set(follow.loc[follow["outcome"].isin(["reached_safe", "reached_needs_help"])
                             & (follow["at"] <= when), "resident_id"])  # fmt: skip
    unconfirmed = ~mine["resident_id"].isin(replied | reached)
    return len(mine), int(unconfirmed.sum())


def test_proposals_equal_a_hand_computation(drilled):
    store, _ = drilled
    criteria = load_criteria()  # the 調布市 example (evacuation_criteria.example.toml)
    flood = _flood_towns(store)
    towns = store.read("towns").set_index("town_code")

    before = {p.hazard: p for p in proposals(store, at(1.5), criteria=criteria)}
    assert before["flood"].level is None and before["flood"].triggers == []

    early = {p.hazard: p for p in proposals(store, at(5.5), criteria=criteria)}
    assert early["flood"].level == 3  # レベル３氾濫警報 since T+1:50; 石原 not yet at danger
    when = at(5.75)  # 石原 reached 氾濫危険水位 at T+5:40; JMA's レベル４ comes at T+5:50
    got = {p.hazard: p for p in proposals(store, when, criteria=criteria)}
    flood_p = got["flood"]
    assert flood_p.level == 4
    assert [t["kind"] for t in flood_p.triggers if t["level"] == 4] == ["river"]
    assert "石原" in flood_p.reason and "氾濫危険水位" in flood_p.reason
    assert flood_p.towns["town_code"].tolist() == flood
    assert flood_p.total("households") == int(towns.loc[flood, "households"].sum())
    assert flood_p.total("population") == int(towns.loc[flood, "population"].sum())
    residents, unconfirmed = _hand_residents(store, flood, when)
    assert (flood_p.total("residents"), flood_p.total("unconfirmed")) == (residents, unconfirmed)
    assert residents > 0
    # 高齢者等避難 is in force there since T+2: level 3 < 4, so every flood town is to issue
    assert set(flood_p.towns["in_force"]) == {3}
    assert flood_p.to_issue == flood

    # shelters designated for floods: 調布市's reference data designates none (its 10 emergency
    # sites are for earthquakes and large fires; 指定避難所 carry no hazard), and the note says so
    shelters = store.read("shelters")
    designated = shelters[shelters["hazards"].map(lambda h: "flood" in (h or []))]
    assert designated.empty and flood_p.shelters.empty
    assert "洪水の指定緊急避難場所がありません" in flood_p.note

    # 土砂災害警戒情報 is in force (T+4:30 .. ): proposed, but 調布市's data names no town
    slide = got["landslide"]
    assert slide.level == 4
    assert slide.towns.empty and slide.to_issue == []
    assert "土砂災害警戒区域と重なる町丁目がありません" in slide.note

    late = {p.hazard: p for p in proposals(store, at(9.5), criteria=criteria)}
    assert late["flood"].level == 5
    assert set(late["flood"].towns["in_force"]) == {5}
    assert late["flood"].to_issue == []  # the drill has issued 緊急安全確保 already


def test_a_bad_criteria_file_is_a_clear_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[hazard]]\ncode = "flood"\n[[hazard.rule]]\nlevel = 4\n', encoding="utf-8")
    with pytest.raises(CriteriaError, match="has no condition"):
        load_criteria(path)
    path.write_text('[[hazard]]\ncode = "meteor"\n', encoding="utf-8")
    with pytest.raises(CriteriaError, match="unknown hazard 'meteor'"):
        load_criteria(path)
    with pytest.raises(CriteriaError, match="not found"):
        load_criteria(tmp_path / "missing.toml")


def test_the_visit_list_starts_with_the_towns_under_evacuation_information(drilled):
    from geodata import safety

    store, _ = drilled
    flood = set(_flood_towns(store))
    listed = safety.read_visit_list(store, as_of=at(7))  # 避難指示 for the flood towns
    towns = listed.loc[listed["section"] != safety.URGENT, "section"].drop_duplicates().tolist()
    in_flood = [t in flood for t in towns]
    assert any(in_flood) and not all(in_flood)
    n = sum(in_flood)
    assert in_flood == [True] * n + [False] * (len(towns) - n)  # flood towns first, then the rest
    # the same residents, and the numbers still run over the whole list
    before = safety.read_visit_list(store, as_of=at(7) - pd.Timedelta(hours=6))
    assert listed["no"].tolist() == list(range(1, len(listed) + 1))
    unordered = safety.visit_list(
        store.read("roster"),
        safety.resident_states(store.read("roster"), store.read("safety_replies"),
                               store.read("follow_ups"), as_of=at(7)),
        store.read("towns"),
    )  # fmt: skip
    assert sorted(unordered["resident_id"]) == sorted(listed["resident_id"])
    assert unordered["resident_id"].tolist() != listed["resident_id"].tolist()
    assert len(before) > 0
