"""The age of each layer's newest record (geodata.health.layer_ages), as the wall screen shows
it, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from geodata import health
from tests.test_shelters import _shelters

NOW = pd.Timestamp("2026-10-12 12:00", tz="UTC")


def _report(store, sid: str, at) -> None:
    frame = pd.DataFrame(
        {"shelter_id": [sid], "source_id": [f"r-{at}"], "reported_at": [at],
         "status": ["開設"], "evacuees": [10]}
    )  # fmt: skip
    assert store.append_shelter_status(frame, source="test").inserted == 1


def test_the_newest_record_of_each_layer_and_its_age(store):
    _shelters(store, ids=("S1", "S2"))
    _report(store, "S1", NOW - timedelta(hours=4))
    _report(store, "S2", NOW - timedelta(minutes=50))  # the newest, though loaded second
    ages = health.layer_ages(store, ["shelter_status", "posts"], now=NOW)
    assert ages["layer"].tolist() == ["shelter_status", "posts"]
    shelters, posts = ages.to_dict("records")
    assert shelters["newest_at"] == NOW - timedelta(minutes=50)
    assert shelters["age"] == timedelta(minutes=50)
    assert shelters["level"] == "fresh"
    assert pd.isna(posts["newest_at"]) and pd.isna(posts["age"]) and posts["level"] == "none"
    later = health.layer_ages(store, ["shelter_status"], now=NOW + timedelta(hours=3))
    assert later["level"].tolist() == ["aging"]  # 3 h 50 min: amber for shelters
    much_later = health.layer_ages(store, ["shelter_status"], now=NOW + timedelta(hours=6))
    assert much_later["level"].tolist() == ["old"]


def test_a_record_from_the_future_is_zero_minutes_old(store):
    _shelters(store)
    _report(store, "S1", NOW + timedelta(minutes=10))
    ages = health.layer_ages(store, ["shelter_status"], now=NOW)
    assert ages["age"].tolist() == [pd.Timedelta(0)]


def test_a_layer_without_a_time_column_is_refused(store):
    with pytest.raises(ValueError, match="towns"):
        health.layer_ages(store, ["towns"], now=NOW)


@pytest.mark.parametrize(
    ("layer", "age", "level"),
    [
        ("posts", timedelta(minutes=59), "fresh"),
        ("posts", timedelta(hours=1), "aging"),
        ("posts", timedelta(hours=3), "old"),
        ("shelter_status", timedelta(hours=2), "fresh"),
        ("evacuations", timedelta(days=3), "fresh"),  # an order in force is not "old data"
    ],
)
def test_age_levels(layer, age, level):
    assert health.age_level(layer, pd.Timedelta(age)) == level
