"""The drill's warning timeline and 多摩川 levels go through the JMA and river-level sources."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
import shapely

from geodata import rivers, warnings
from ingest.drill import jma as drill_jma
from ingest.drill.ingest import DrillAPIServer, drill_sources
from ingest.drill.scenario import FIXED_ANCHOR, generate, write_payloads
from ingest.runner import run_all

T0 = FIXED_ANCHOR - pd.Timedelta(hours=24)  # 2026-10-12 12:00 JST


def at(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=round(hours * 60))


@pytest.fixture
def drill_store(store, reference_dir, tmp_path):
    from geodata.reference.files import load_reference

    for layer, frame in load_reference("13208", reference_dir).frames.items():
        store.upsert(layer, frame, source="reference")
    drill = generate(seed=5, posts=40, roster=8, anchor=FIXED_ANCHOR, reference_dir=reference_dir)
    counts = write_payloads(drill, tmp_path)
    assert (counts["jma_messages"], counts["river_observations"]) == (23, 181)
    server = DrillAPIServer(tmp_path)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    wanted = ("drill:jma", "drill:river-levels")

    def run():
        sources = [s for s in drill_sources(tmp_path, server.url) if s.name in wanted]
        return {r["source"]: r for r in run_all(store, sources, from_start=True)}

    try:
        yield store, run
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _flood_zone_towns(store) -> list[str]:
    towns = store.read("towns")
    flood = store.read("hazard_areas", where={"kind": "flood"})
    union = shapely.union_all(flood.geometry.values)
    inside = shapely.area(shapely.intersection(towns.geometry.values, union)) > 0
    return sorted(towns.loc[inside, "town_code"])


def test_the_drill_plays_its_warnings_and_river_through_the_sources(drill_store):
    store, run = drill_store
    results = run()
    jma, river = results["drill:jma"], results["drill:river-levels"]
    assert jma["ok"] and river["ok"], (jma["error"], river["error"])
    assert (jma["inserted"], jma["rejected"], river["inserted"]) == (23, 0, 181)
    all_towns = sorted(store.read("towns", columns=["town_code"])["town_code"].unique())
    flood_towns = _flood_zone_towns(store)
    assert 0 < len(flood_towns) < len(all_towns)

    # T+6, when the HQ issues 避難指示: 多摩川 at レベル４ for the flood-zone towns.
    at_6 = warnings.in_force(store, at(6)).set_index("kind")
    assert set(at_6.index) == {"river_flood_danger", "landslide_danger", "heavy_rain_warning",
                               "flood_warning"}  # fmt: skip
    assert at_6.loc["river_flood_danger", "issued_at"] == at(35 / 6)
    assert at_6.loc["river_flood_danger", "towns"] == flood_towns
    assert at_6.loc["heavy_rain_warning", "towns"] == all_towns
    proposed = warnings.towns_in_force(store, at(6), hazard="river_flood", min_level=4)
    assert sorted(proposed["town_code"]) == flood_towns
    assert warnings.in_force(store, at(9))["kind"].iloc[0] == "river_flood_emergency"
    assert warnings.in_force(store, FIXED_ANCHOR).empty  # everything lifted by T+20

    story = warnings.timeline(store, until=FIXED_ANCHOR)
    issued = story[story["event"] == "issued"]
    firsts = issued.groupby("kind")["at"].min()
    assert firsts["heavy_rain_advisory"] == at(-3) and firsts["heavy_rain_warning"] == at(0)
    assert firsts["flood_warning"] == at(0)  # from the transitional VPWW54
    assert firsts["landslide_danger"] == at(4)
    assert firsts["river_flood_danger"] == at(35 / 6)
    assert firsts["record_rain"] == at(8)
    assert firsts.sort_values().index[-1] == "river_flood_emergency"
    assert story["at"].max() == at(20) and set(story[story["at"] == at(20)]["event"]) == {"lifted"}

    # 石原 reaches 氾濫危険水位 just before the レベル４氾濫危険警報 and is above it at the overflow.
    station = drill_jma.STATION["id"]
    assert rivers.first_reached(store, "danger") == {station: at(17 / 3)}
    assert rivers.first_reached(store, "evacuation") == {station: at(5 / 3)}
    (overflow,) = rivers.river_status(store, at(9)).itertuples()
    assert overflow.stage == "danger" and overflow.level_m == pytest.approx(6.6)
    (later,) = rivers.river_status(store, FIXED_ANCHOR).itertuples()
    assert later.stage == "normal" and not later.rising

    again = run()
    assert (again["drill:jma"]["fetched"], again["drill:jma"]["inserted"]) == (0, 0)
    assert (again["drill:river-levels"]["inserted"], again["drill:river-levels"]["updated"]) == (
        0, 0
    )  # fmt: skip
