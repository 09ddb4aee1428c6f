"""The HTTP session's limits against upstreams that misbehave (issue 15): a 429 with a long
Retry-After, a trickled body, a huge body, a server that never answers.

Each fault is served on loopback by :class:`tests.misbehaving.MisbehavingServer`; the limits are
short (a second or two) so the tests stay fast. Before the limits, the same faults took 40 s
(Retry-After 20, retried twice), 15 s (30 bytes trickled at 0.5 s with a 2 s read timeout), and a
9.6 MB page was read whole.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from geodata.http import (
    BackingOff,
    Limits,
    RequestDeadline,
    ResponseTooLarge,
    backing_off,
    make_session,
)
from tests.misbehaving import MisbehavingServer, answer, hang, self_signed, trickle


@pytest.fixture
def upstream():
    server = MisbehavingServer()
    yield server
    server.close()


def _session(retries=2, read=5.0, **limits):
    base = {"deadline": 2.0, "max_bytes": 1_000_000, "retry_after_cap": 1.0}
    return make_session(retries=retries, backoff=0, timeout=(2.0, read),
                        limits=Limits(**{**base, **limits}))  # fmt: skip


def _timed(call):
    started = time.monotonic()
    try:
        result = call()
    except requests.RequestException as exc:
        return exc, time.monotonic() - started
    return result, time.monotonic() - started


def test_a_retry_after_over_the_cap_is_not_slept_on(upstream):
    url = upstream.route("/api", answer(429, b"slow down", {"Retry-After": "3600"}))
    error, seconds = _timed(lambda: _session().get(url))
    assert isinstance(error, BackingOff)
    assert seconds < 1.0
    assert upstream.hits["/api"] == 1  # not retried either
    expected = datetime.now(UTC) + timedelta(seconds=3600)
    assert abs((error.until - expected).total_seconds()) < 5
    assert "Retry-After 3600 s is over the cap of 1 s" in str(error)
    # Wrapped by a source, it is still found (the runner looks for it).
    try:
        raise RuntimeError("GET /api failed") from error
    except RuntimeError as wrapped:
        assert backing_off(wrapped) is error


def test_a_retry_after_http_date_counts_too(upstream):
    later = (datetime.now(UTC) + timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    url = upstream.route("/api", answer(503, b"busy", {"Retry-After": later}))
    error, seconds = _timed(lambda: _session().get(url))
    assert isinstance(error, BackingOff) and seconds < 1.0
    assert abs((error.until - (datetime.now(UTC) + timedelta(hours=2))).total_seconds()) < 5


def test_a_retry_after_within_the_cap_is_waited_out_and_retried(upstream):
    calls = []

    def first_busy(conn, stop):
        calls.append(time.monotonic())
        if len(calls) == 1:
            answer(429, b"busy", {"Retry-After": "1"})(conn, stop)
        else:
            answer(200, b"[]", {"Content-Type": "application/json"})(conn, stop)

    url = upstream.route("/api", first_busy)
    response, seconds = _timed(lambda: _session(deadline=5.0, retry_after_cap=2.0).get(url))
    assert response.status_code == 200 and response.json() == []
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95
    assert seconds < 3.0


def test_a_retry_after_longer_than_the_time_left_backs_off(upstream):
    url = upstream.route("/api", answer(503, b"busy", {"Retry-After": "2"}))
    error, seconds = _timed(lambda: _session(deadline=1.5, retry_after_cap=5.0).get(url))
    assert isinstance(error, BackingOff) and seconds < 1.0  # 2 s would pass the deadline


def test_a_trickled_body_is_cut_at_the_deadline(upstream):
    url = upstream.route("/feed", trickle(b"[" + b" " * 200 + b"]", interval=0.1))
    error, seconds = _timed(lambda: _session(deadline=1.5, read=5.0).get(url))
    assert isinstance(error, RequestDeadline), error
    assert "deadline of 1.5 s" in str(error)
    assert 1.4 <= seconds < 2.5  # the per-read timeout (5 s) never fired: every read got a byte


def test_a_body_read_until_close_is_cut_at_the_deadline_not_returned_short(upstream):
    url = upstream.route("/feed", trickle(b"x" * 200, interval=0.1, content_length=False))
    error, seconds = _timed(lambda: _session(deadline=1.0).get(url))
    assert isinstance(error, RequestDeadline) and seconds < 2.0


def test_a_streamed_download_has_the_same_deadline(upstream):
    url = upstream.route("/file.csv", trickle(b"a,b\n" * 50, interval=0.05))

    def read_all():
        with _session(deadline=1.0).get(url, stream=True) as response:
            return b"".join(response.iter_content(1024))

    error, seconds = _timed(read_all)
    assert isinstance(error, RequestDeadline) and seconds < 2.0


def test_a_server_that_never_answers_fails_at_the_deadline_not_after_every_retry(upstream):
    url = upstream.route("/api", hang())
    error, seconds = _timed(lambda: _session(retries=3, read=30.0, deadline=1.0).get(url))
    assert isinstance(error, RequestDeadline), error
    assert seconds < 1.8
    assert upstream.hits["/api"] == 1


def test_an_answer_over_the_size_cap_is_refused(upstream):
    page = json.dumps([{"id": str(i), "content": "x" * 1400} for i in range(6720)]).encode()
    url = upstream.route("/huge", answer(200, page, {"Content-Type": "application/json"}))
    error, seconds = _timed(lambda: _session(max_bytes=1_000_000).get(url))
    assert isinstance(error, ResponseTooLarge)
    assert f"{len(page):,} bytes, over the cap of 1,000,000" in str(error)
    # Without a Content-Length, reading stops just past the cap.
    url = upstream.route("/huge2", trickle(page[:300_000], interval=0, content_length=False))
    error, _ = _timed(lambda: _session(max_bytes=100_000, deadline=10.0).get(url))
    assert isinstance(error, ResponseTooLarge) and "over the cap of 100,000" in str(error)


def test_answers_within_the_limits_are_read_as_before(upstream):
    url = upstream.route("/ok", answer(200, b'{"ok": true}', {"Content-Type": "application/json"}))
    session = _session()
    for _ in range(3):  # connections go back to the pool and are reused
        response = session.get(url)
        assert response.json() == {"ok": True}
    time.sleep(2.2)  # past the deadline of those requests: no watch fires on a pooled socket
    assert session.get(url).json() == {"ok": True}


def test_the_sources_get_the_limits_of_the_settings(monkeypatch):
    monkeypatch.setenv("BOSAI_HTTP_DEADLINE_SECONDS", "7")
    monkeypatch.setenv("BOSAI_HTTP_MAX_BYTES", "12345")
    monkeypatch.setenv("BOSAI_RETRY_AFTER_CAP_SECONDS", "9")
    assert Limits.for_sources() == Limits(deadline=7.0, max_bytes=12345, retry_after_cap=9.0)
    # Other sessions (reference downloads: big files) keep no deadline and no size cap.
    plain = make_session().get_adapter("https://example.org").limits
    assert plain == Limits(deadline=None, max_bytes=None, retry_after_cap=9.0)


@pytest.fixture
def tls_upstream(tmp_path):
    context, cert = self_signed(tmp_path)
    server = MisbehavingServer(tls=context)
    server.cert = str(cert)
    yield server
    server.close()


def test_the_deadline_holds_over_https_too(tls_upstream):
    """The watch shuts a TLS socket down under a read blocked in OpenSSL: a trickled body and a
    server that never answers end at the deadline with RequestDeadline, as over plain HTTP."""
    ok = tls_upstream.route("/ok", answer(200, b'{"ok": true}'))
    slow = tls_upstream.route("/feed", trickle(b"[" + b" " * 200 + b"]", interval=0.1))
    silent = tls_upstream.route("/api", hang())
    session = _session(deadline=1.5, read=5.0)
    assert session.get(ok, verify=tls_upstream.cert).json() == {"ok": True}
    for url in (slow, silent):
        error, seconds = _timed(lambda url=url: session.get(url, verify=tls_upstream.cert))
        assert isinstance(error, RequestDeadline), repr(error)
        assert "deadline of 1.5 s" in str(error)
        assert 1.4 <= seconds < 2.5
