"""Source control (geodata/source_control.py): pause, resume, run now — read by ingest/loop.py."""

from __future__ import annotations

import threading
import time

from geodata import source_control
from ingest.loop import run_loop
from ingest.sources.field_reports import FieldReportSource
from tests.test_runner_limits import SURVEY


def _source(name: str, poll: float = 3600.0) -> FieldReportSource:
    source = FieldReportSource(name, path=SURVEY)
    source.poll_seconds = poll
    return source


def _audit(store) -> list[tuple[str, str]]:
    log = store.read_audit(layer="sources")
    return list(zip(log["who"], log["action"], strict=True))


def test_each_request_is_stored_and_audited(store):
    assert source_control.controls(store) == {}
    source_control.pause(store, "mastodon", actor="admin1")
    source_control.request_run(store, "jma", actor="admin2")
    found = source_control.controls(store)
    assert found["mastodon"].paused and found["mastodon"].paused_by == "admin1"
    assert found["jma"].run_requested_by == "admin2" and not found["jma"].paused
    source_control.resume(store, "mastodon", actor="admin1")
    assert source_control.controls(store)["mastodon"].idle
    assert _audit(store) == [
        ("admin1", "sources:resume"),
        ("admin2", "sources:run-now"),
        ("admin1", "sources:pause"),
    ]
    detail = store.read_audit(layer="sources")["new"].iloc[0]
    assert '"source": "mastodon"' in detail


def test_a_paused_source_is_not_started_by_the_loop(store):
    source_control.pause(store, "a", actor="admin")
    results: list[dict] = []
    run_loop(store, [_source("a", 0.1), _source("b", 0.1)], stop=threading.Event(),
             max_cycles=2, on_result=results.append)  # fmt: skip
    assert [r["source"] for r in results] == ["b", "b"]
    assert store.get("source_health", "a") is None
    assert source_control.loop_listening(store)  # the loop said it was reading the requests


def test_run_now_is_honoured_by_a_running_loop_and_cleared(store):
    results: list[dict] = []
    stop = threading.Event()
    loop = threading.Thread(
        target=run_loop,
        args=(store, [_source("a"), _source("b")]),
        kwargs={"stop": stop, "on_result": results.append},
    )
    loop.start()
    try:
        deadline = time.monotonic() + 20
        while len(results) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(r["source"] for r in results) == ["a", "b"]  # the first cycle
        source_control.request_run(store, "b", actor="admin")  # not due for an hour
        asked = time.monotonic()
        while len(results) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        took = time.monotonic() - asked
    finally:
        stop.set()
        loop.join(30)
    assert [r["source"] for r in results][2:] == ["b"] and results[2]["ok"]
    assert took < 3.0  # read every second
    assert source_control.controls(store)["b"].run_requested_at is None  # taken once


def test_a_request_made_without_a_loop_waits_for_the_next_one_even_when_paused(store):
    source_control.pause(store, "a", actor="admin")
    source_control.request_run(store, "a", actor="admin")
    assert not source_control.loop_listening(store)  # nobody listening: the page says so
    results: list[dict] = []
    stop = threading.Event()

    def seen(result: dict) -> None:
        results.append(result)
        threading.Timer(1.5, stop.set).start()  # a second run would start within this

    run_loop(store, [_source("a", 0.1)], stop=stop, on_result=seen)
    assert [r["source"] for r in results] == ["a"]  # one run, then paused again
    control = source_control.controls(store)["a"]
    assert control.paused and control.run_requested_at is None
