"""Source health states (geodata/health.py) and how the store records them (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from geodata import health
from geodata.schema import now_utc
from geodata.store.core import open_store
from geodata.store.migrations import SCHEMA_VERSION

NOW = pd.Timestamp("2025-09-01 12:00", tz="UTC")


def _row(**kw):
    return {"source": "s", "kind": "sns", **kw}


@pytest.mark.parametrize(
    ("row", "state"),
    [
        (_row(state="ok", last_success_at=NOW - timedelta(minutes=14)), "ok"),
        (_row(state="ok", last_success_at=NOW - timedelta(minutes=16)), "stale"),
        # its own stale limit (sources.toml stale_minutes) wins over the setting's 15 min
        (
            _row(state="ok", last_success_at=NOW - timedelta(minutes=50), stale_after_seconds=3600),
            "ok",
        ),
        (
            _row(state="ok", last_success_at=NOW - timedelta(minutes=3), stale_after_seconds=120),
            "stale",
        ),
        (
            _row(state="failing", last_success_at=NOW - timedelta(minutes=1), last_error_at=NOW),
            "failing",
        ),
        (
            _row(state="backing_off", backoff_until=NOW + timedelta(minutes=50), last_error_at=NOW),
            "backing_off",
        ),
        # the back-off is over and nothing succeeded since: not ok
        (
            _row(
                state="backing_off",
                backoff_until=NOW - timedelta(minutes=1),
                last_success_at=NOW - timedelta(minutes=5),
            ),
            "failing",
        ),
        # rows from before the states: read from the last success and error
        (_row(last_success_at=NOW - timedelta(minutes=5), last_error_at=NOW), "failing"),
        (_row(last_success_at=NOW, last_error_at=NOW - timedelta(minutes=5)), "ok"),
        (_row(last_error_at=NOW), "failing"),
    ],
)
def test_state_of_a_health_row(row, state, monkeypatch):
    monkeypatch.setenv("BOSAI_SOURCE_STALE_MINUTES", "15")
    assert health.state_of(row, NOW) == state


def test_source_states_lists_the_worst_first_with_the_age_of_the_newest_record(monkeypatch):
    monkeypatch.setenv("BOSAI_SOURCE_STALE_MINUTES", "15")
    rows = pd.DataFrame(
        [
            _row(
                source="a-ok",
                state="ok",
                last_success_at=NOW,
                newest_record_at=NOW - timedelta(minutes=42),
            ),
            _row(source="b-stale", state="ok", last_success_at=NOW - timedelta(hours=3)),
            _row(
                source="c-failing",
                state="failing",
                last_error_at=NOW,
                last_error="RequestDeadline: no complete answer within the deadline of 60 s",
            ),
            _row(
                source="d-backoff",
                state="backing_off",
                last_error_at=NOW,
                backoff_until=NOW + timedelta(hours=1),
            ),
        ]
    )
    states = health.source_states(rows, NOW)
    assert states["source"].tolist() == ["d-backoff", "c-failing", "b-stale", "a-ok"]
    assert states["state"].tolist() == ["backing_off", "failing", "stale", "ok"]
    assert states.set_index("source").loc["a-ok", "record_age"] == timedelta(minutes=42)
    assert pd.isna(states.set_index("source").loc["b-stale", "record_age"])
    assert health.worst(states["state"]) == "backing_off"
    assert (
        health.label("stale") == "更新遅延" and health.label("backing_off", "en") == "Backing off"
    )
    assert health.source_states(pd.DataFrame(), NOW).empty


def test_the_store_records_ok_failing_and_backing_off(store):
    store.record_health("m", ok=True, kind="sns", cursor="5", stale_after_seconds=600)
    rec = store.get("source_health", "m")
    assert (rec["state"], rec["stale_after_seconds"], rec["backoff_until"]) == ("ok", 600.0, None)
    store.record_health("m", ok=False, kind="sns", error="HTTP 500")
    rec = store.get("source_health", "m")
    assert rec["state"] == "failing" and rec["cursor"] == "5" and store.backoff_until("m") is None
    until = pd.Timestamp(now_utc()) + timedelta(hours=1)
    store.record_health("m", ok=False, error="HTTP 429: backing off", backoff_until=until)
    assert store.get("source_health", "m")["state"] == "backing_off"
    assert abs(store.backoff_until("m") - until) < timedelta(seconds=1)
    assert health.state_of(store.get("source_health", "m")) == "backing_off"
    store.record_health("m", ok=True, cursor="6")
    rec = store.get("source_health", "m")
    assert (rec["state"], rec["backoff_until"], rec["stale_after_seconds"]) == ("ok", None, 600.0)
    assert store.backoff_until("m") is None


def test_a_database_from_before_the_states_gets_them(store_url):
    store = open_store(store_url)
    store.record_health("good", ok=True, cursor="1")
    store.record_health("bad", ok=True, cursor="1")
    store.record_health("bad", ok=False, error="HTTP 503")
    with store.engine.begin() as conn:
        for column in ("state", "backoff_until", "stale_after_seconds"):
            conn.exec_driver_sql(f"ALTER TABLE source_health DROP COLUMN {column}")
        conn.exec_driver_sql("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    store.dispose()
    upgraded = open_store(store_url)
    assert upgraded.schema_version() == SCHEMA_VERSION >= 8  # v8 added the states
    assert upgraded.get("source_health", "good")["state"] == "ok"
    assert upgraded.get("source_health", "bad")["state"] == "failing"
    upgraded.record_health("bad", ok=False, error="429", backoff_until=pd.Timestamp(now_utc()))
    assert upgraded.get("source_health", "bad")["state"] == "backing_off"
    upgraded.dispose()
