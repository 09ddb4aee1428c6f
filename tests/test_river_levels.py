"""River levels: the DAT / JSON layouts, thresholds per station, the stage a level reaches."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from geodata import rivers
from ingest.runner import run_source
from ingest.sources.river_levels import RiverLevelSource, parse_dat

PAYLOADS = Path(__file__).parent / "payloads" / "river_levels"
ISHIHARA = {
    "id": "303041283310010",
    "name": "石原",
    "river": "多摩川",
    "standby_m": 3.0,
    "advisory_m": 4.5,
    "evacuation_m": 5.5,
    "danger_m": 6.0,
    "lon": 139.5270,
    "lat": 35.6445,
}


def jst(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-10-12 {text}", tz="Asia/Tokyo")


def source(path, **kw) -> RiverLevelSource:
    return RiverLevelSource("river", path=str(path), stations=[ISHIHARA], **kw)


def test_a_realtime_dat_file_is_read_with_its_station_and_missing_values_left_out(store):
    result = run_source(store, source(PAYLOADS / "ishihara_realtime.dat"))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"], result["missing"]) == (7, 0, 2)
    rows = store.read("river_levels").sort_values("observed_at")
    assert list(rows["level_m"]) == [3.95, 4.38, 4.62, 5.12, 5.61, 6.04, 5.98]
    assert rows["observed_at"].iloc[0] == jst("12:00")
    first = rows.iloc[0]
    assert (first["station_name"], first["river"], first["danger_m"]) == ("石原", "多摩川", 6.0)
    assert (first.geometry.x, first.geometry.y) == (139.5270, 35.6445)
    again = run_source(store, source(PAYLOADS / "ishihara_realtime.dat"))
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 7)


def test_an_hourly_table_counts_24_as_the_end_of_the_day():
    text = (PAYLOADS / "ishihara_hourly.dat").read_bytes().decode("cp932")
    records = parse_dat(text)
    assert len(records) == 24 and records[-1]["時刻"] == "24:00"
    src = source(PAYLOADS / "ishihara_hourly.dat")
    frame, rejected = src.normalize(list(src.fetch(None)))
    assert rejected == [] and src.notes["missing"] == 1  # the 6時 value is -9999.99
    times = sorted(frame["observed_at"])
    assert times[0] == pd.Timestamp("2026-10-11 01:00", tz="Asia/Tokyo")
    assert times[-1] == pd.Timestamp("2026-10-12 00:00", tz="Asia/Tokyo")


def test_a_json_export_keeps_configured_stations_only(store):
    result = run_source(store, source(PAYLOADS / "observations.json"))
    assert result["ok"] and result["inserted"] == 2 and result["other_stations"] == 1
    assert sorted(store.read("river_levels")["level_m"]) == [6.35, 6.41]


def test_the_stage_reached_at_each_time(store):
    run_source(store, source(PAYLOADS / "ishihara_realtime.dat"))
    run_source(store, source(PAYLOADS / "observations.json"))

    def status(at):
        (row,) = rivers.river_status(store, jst(at)).itertuples()
        return row

    assert status("12:05").stage == "standby" and status("12:05").alert_level == 1
    assert status("12:45").stage == "advisory" and status("12:45").rising
    assert status("14:05").stage == "evacuation"
    at_1425 = status("14:25")
    assert (at_1425.stage, at_1425.alert_level) == ("danger", 4)
    assert at_1425.to_danger_m == pytest.approx(-0.04)
    assert not status("14:45").rising  # 5.98 after 6.04
    assert status("14:45").stage == "evacuation"
    assert status("15:05").stage == "danger"
    assert status("16:00").stale and status("16:00").age == pd.Timedelta(minutes=50)
    assert rivers.river_status(store, jst("11:00")).empty
    reached = rivers.first_reached(store, "danger")
    assert reached == {"303041283310010": jst("14:20")}
    series = rivers.level_series(store, "303041283310010", until=jst("14:30"))
    assert list(series["stage"]) == ["standby", "standby", "advisory", "advisory",
                                     "evacuation", "danger"]  # fmt: skip


def test_thresholds_must_rise_and_a_station_needs_an_id(tmp_path):
    with pytest.raises(ValueError, match="thresholds must rise"):
        RiverLevelSource("r", path="x.dat", stations=[{**ISHIHARA, "danger_m": 5.0}])
    with pytest.raises(ValueError, match="needs an id"):
        RiverLevelSource("r", path="x.dat", stations=[{"name": "石原"}])
    with pytest.raises(ValueError, match="at least one station"):
        RiverLevelSource("r", path="x.dat", stations=[])


def test_a_file_that_is_not_a_dat_fails_the_run(store, tmp_path):
    bad = tmp_path / "broken.dat"
    bad.write_text("<html>maintenance</html>\n", "utf-8")
    result = run_source(store, source(bad))
    assert not result["ok"] and "not a 水文水質データベース DAT file" in result["error"]
    shutil.copy(PAYLOADS / "ishihara_realtime.dat", tmp_path / "ok.dat")
    assert run_source(store, source(tmp_path / "ok.dat"))["ok"]


def test_stations_are_configured_as_tables_in_sources_toml(tmp_path):
    from ingest.sources_config import load_config

    config = tmp_path / "sources.toml"
    config.write_text(
        '[[source]]\nname = "river"\ntype = "river_levels"\npath = "levels/ishihara.dat"\n'
        '[[source.stations]]\nid = "303041283310010"\nname = "石原"\nriver = "多摩川"\n'
        "advisory_m = 4.5\nevacuation_m = 5.5\ndanger_m = 6.0\n",
        "utf-8",
    )
    (river,) = load_config(config).sources
    assert river.location == str(tmp_path / "levels" / "ishihara.dat")
    assert river.stations["303041283310010"]["danger_m"] == 6.0
    assert river.poll_seconds == 600.0
