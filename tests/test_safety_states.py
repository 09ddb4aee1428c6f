"""``safety.resident_states`` on the replies and follow-ups a real day produces.

A resident who replied twice, replies from two channels at the same second, a reply nobody
could match, a reply of someone no longer on the roster, follow-ups before and after a reply,
a meeting's ``as_of``; each column of each resident checked by value, through a SQLite store
(the types a store read gives) and on plain frames.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from geodata import safety
from geodata.schema import LAYERS
from geodata.store.core import open_store

T = "2026-10-12T{}:00+09:00"


def at(hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(T.format(hhmm)).tz_convert("UTC")


ROSTER = pd.DataFrame(
    {
        "resident_id": ["R1", "R2", "R3", "R4", "R5", "R6"],
        "name": ["一", "二", "三", "四", "五", "六"],
        "town_code": ["132080010", "132080010", None, "132080020", "132080020", "132080030"],
        "care_priority": [1, 2, 3, 1, 2, 3],
    }
)
REPLIES = pd.DataFrame(
    [  # source, source_id, resident_id, status, replied_at
        ("line", "m1", "R1", "無事", at("10:00")),
        ("line", "m2", "R1", "要救助", at("10:30")),  # the newest wins: urgent again
        ("line", "m3", "R2", "負傷", at("10:00")),
        ("line", "m4", "R4", "無事", at("12:00")),  # after the meeting's as_of
        ("form", "f1", "R5", "不明", at("10:05")),  # the same second as m5: line sorts last
        ("line", "m5", "R5", "無事", at("10:05")),
        ("line", "m6", None, "要救助", at("10:10")),  # matched to nobody
        ("line", "m7", "R9", "要救助", at("10:10")),  # not on the roster
    ],
    columns=["source", "source_id", "resident_id", "status", "replied_at"],
).assign(channel=lambda f: f["source"].map({"line": "line", "form": "web_form"}))
FOLLOW_UPS = pd.DataFrame(
    [  # id, resident_id, action, outcome, at
        ("u1", "R1", "phone", "no_answer", at("10:40")),
        ("u2", "R2", "phone", "reached_needs_help", at("09:50")),  # before the reply
        ("u3", "R2", "visit", "reached_safe", at("10:20")),  # after it: no longer urgent
        ("u4", "R3", "visit", "reached_safe", at("11:00")),
        ("u5", "R6", "phone", "no_answer", at("10:15")),
        ("u6", "R6", "phone", "no_answer", at("10:45")),
        ("u7", None, "phone", "no_answer", at("10:50")),  # (a store refuses it: plain frames only)
    ],
    columns=["id", "resident_id", "action", "outcome", "at"],
)


@pytest.fixture(params=["plain", "store"])
def frames(request, tmp_path):
    if request.param == "plain":
        return ROSTER, REPLIES, FOLLOW_UPS
    store = open_store(f"sqlite:///{tmp_path / 'states.sqlite'}")
    try:
        for layer, frame in (
            ("roster", ROSTER),
            ("safety_replies", REPLIES),
            ("follow_ups", FOLLOW_UPS.assign(by="安否班")),
        ):
            if LAYERS[layer].geometry:
                frame = gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs="EPSG:4326")
            store.upsert(layer, frame, source="test")
        return store.read("roster"), store.read("safety_replies"), store.read("follow_ups")
    finally:
        store.dispose()


def by_resident(states: pd.DataFrame) -> dict[str, dict]:
    return {r["resident_id"]: r for r in states.to_dict("records")}


def test_each_residents_state_by_value(frames):
    roster, replies, follow_ups = frames
    states = safety.resident_states(roster, replies, follow_ups)
    assert states["resident_id"].tolist() == ["R1", "R2", "R3", "R4", "R5", "R6"]
    s = by_resident(states)
    assert (s["R1"]["status"], s["R1"]["replied_at"], s["R1"]["first_replied_at"]) == (
        "要救助", at("10:30"), at("10:00"),
    )  # fmt: skip
    assert s["R1"]["urgent"] and s["R1"]["confirmed"] and s["R1"]["to_visit"]
    assert (s["R1"]["attempts"], s["R1"]["last_action"], s["R1"]["last_outcome"]) == (
        1, "phone", "no_answer",
    )  # fmt: skip
    assert not s["R1"]["reached"] and pd.isna(s["R1"]["reached_at"])
    # R2: reached before the reply (the first reach is reached_at) and again after it
    assert s["R2"]["status"] == "負傷" and s["R2"]["reached"] and not s["R2"]["urgent"]
    assert s["R2"]["reached_at"] == at("09:50") and s["R2"]["last_at"] == at("10:20")
    assert (s["R2"]["attempts"], s["R2"]["last_action"]) == (2, "visit")
    # R3: no reply, reached by a visit
    assert s["R3"]["status"] is None and pd.isna(s["R3"]["replied_at"])
    assert s["R3"]["confirmed"] and not s["R3"]["to_visit"] and pd.isna(s["R3"]["town_code"])
    assert s["R4"]["status"] == "無事" and not s["R4"]["to_visit"]
    assert s["R5"]["status"] == "無事"  # the tie goes to the later (source, source_id)
    assert s["R6"]["status"] is None and s["R6"]["attempts"] == 2 and s["R6"]["to_visit"]
    assert s["R6"]["last_at"] == at("10:45") and not s["R6"]["confirmed"]
    n = safety.totals(states)
    assert (n["registered"], n["replied"], n["reached"], n["unconfirmed"], n["urgent"]) == (
        6, 4, 1, 1, 1,
    )  # fmt: skip
    for column in ("replied_at", "first_replied_at", "reached_at", "last_at"):
        assert str(states[column].dtype) == "datetime64[ns, UTC]"
    assert states["attempts"].dtype.kind == "i" and states["reached"].dtype == bool


def test_as_of_a_meeting_ignores_what_came_later(frames):
    roster, replies, follow_ups = frames
    s = by_resident(safety.resident_states(roster, replies, follow_ups, as_of=at("10:35")))
    assert s["R1"]["status"] == "要救助" and s["R1"]["attempts"] == 0  # the call came at 10:40
    assert s["R1"]["last_action"] is None and pd.isna(s["R1"]["last_at"])
    assert s["R3"]["status"] is None and not s["R3"]["confirmed"] and s["R3"]["to_visit"]
    assert s["R4"]["status"] is None and s["R4"]["to_visit"]
    assert (s["R6"]["attempts"], s["R6"]["last_at"]) == (1, at("10:15"))
    early = by_resident(safety.resident_states(roster, replies, follow_ups, as_of=at("09:55")))
    # R2 was reached at 09:50, before any reply: confirmed, not replied
    assert early["R2"]["status"] is None and early["R2"]["reached"] and early["R2"]["confirmed"]


def test_no_replies_and_no_follow_ups_yet(frames):
    roster, replies, follow_ups = frames
    states = safety.resident_states(roster, replies.iloc[0:0], follow_ups.iloc[0:0])
    assert len(states) == 6 and states["status"].isna().all() and states["to_visit"].all()
    assert states["attempts"].tolist() == [0] * 6 and not states["reached"].any()
    assert str(states["replied_at"].dtype) == "datetime64[ns, UTC]"
    assert safety.totals(states)["unconfirmed"] == 6
