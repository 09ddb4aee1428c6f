"""What silent and slow clients can hold of the LINE webhook: real sockets on loopback.

Reported: 300 connections sending headers and no body held 305 threads and 185 MB, none closed
after 32 s (no socket timeout, no connection cap). Now a read waits at most ``--timeout``, one
request gets ``--deadline`` seconds in all, and at most ``--max-connections`` are served at once.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from ingest import line_webhook
from ingest.line_webhook import WebhookServer, signature

ROOT = Path(__file__).resolve().parent.parent
SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
HEADERS_ONLY = (
    b"POST /callback HTTP/1.1\r\nHost: hq\r\nContent-Length: 100\r\nX-Line-Signature: x\r\n\r\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _closed_by_server(conn: socket.socket) -> bool:
    """True when the server answered or closed (EOF / reset), False while it still holds it."""
    conn.setblocking(False)
    try:
        conn.recv(4096)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def _signed_post(port: int) -> int:
    body = b'{"destination":"U0","events":[]}'
    answer = requests.post(
        f"http://127.0.0.1:{port}/callback",
        data=body,
        headers={"X-Line-Signature": signature(SECRET, body)},
        timeout=10,
    )
    return answer.status_code


def test_three_hundred_silent_clients_hold_at_most_the_cap_and_are_closed(tmp_path):
    port = _free_port()
    spool = tmp_path / "spool"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "line-webhook", "--port", str(port), "--spool",
         str(spool), "--timeout", "1", "--deadline", "3", "--max-connections", "20"],
        cwd=ROOT,
        env={**os.environ, "LINE_CHANNEL_SECRET": SECRET, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    clients = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        server = psutil.Process(proc.pid)
        idle_threads = server.num_threads()
        for _ in range(300):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(HEADERS_ONLY)  # ... and never the body
            clients.append(conn)
        time.sleep(0.5)
        held = server.num_threads()
        assert held <= idle_threads + 20, (idle_threads, held)
        # Beyond the cap: answered 503 at once, no thread.
        time.sleep(4.5)  # > timeout and deadline
        assert sum(_closed_by_server(c) for c in clients) == 300
        assert server.num_threads() <= idle_threads + 1
        assert _signed_post(port) == 200  # the real LINE still gets through
        assert len(list(spool.glob("*.json"))) == 1
    finally:
        for conn in clients:
            conn.close()
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    assert b"Traceback" not in proc.stderr.read()


@pytest.fixture
def limited(tmp_path):
    server = WebhookServer(
        ("127.0.0.1", 0),
        SECRET,
        tmp_path / "spool",
        socket_timeout=1.0,
        request_deadline=2.0,
        max_connections=3,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join()
    server.server_close()


def test_a_trickling_client_is_cut_at_the_deadline(limited):
    conn = socket.create_connection(("127.0.0.1", limited.server_port), timeout=5)
    started = time.monotonic()
    cut = None
    try:
        for byte in HEADERS_ONLY + b"x" * 100:  # one byte every 0.4 s: each read is in time
            conn.sendall(bytes([byte]))
            time.sleep(0.4)
            if _closed_by_server(conn):
                cut = time.monotonic() - started
                break
            conn.setblocking(True)
    except OSError:  # reset while sending: cut too
        cut = time.monotonic() - started
    finally:
        conn.close()
    assert cut is not None and 1.5 <= cut <= 4.0, cut
    assert limited.cut["timed_out"] >= 1 and limited.counts["stored"] == 0


def test_one_connection_over_the_cap_gets_503_and_the_cap_frees_up(limited):
    held = [socket.create_connection(("127.0.0.1", limited.server_port)) for _ in range(3)]
    for conn in held:
        conn.sendall(HEADERS_ONLY)
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", limited.server_port), timeout=5)
    answer = extra.recv(200)
    assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in answer
    assert limited.cut["busy"] == 1
    extra.close()
    time.sleep(1.5)  # the held ones time out and free their slots
    assert _signed_post(limited.server_port) == 200
    for conn in held:
        conn.close()


def test_the_spool_is_owner_only(tmp_path):
    spool = tmp_path / "spool"
    server = WebhookServer(("127.0.0.1", 0), SECRET, spool)
    try:
        path = line_webhook.spool_write(spool, b"{}")
    finally:
        server.server_close()
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    assert stat.S_IMODE((spool / ".tmp").stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_default_limits_are_the_documented_ones():
    assert (line_webhook.SOCKET_TIMEOUT, line_webhook.REQUEST_DEADLINE) == (10.0, 30.0)
    assert line_webhook.MAX_CONNECTIONS == 64
    doc = (ROOT / "docs" / "security.md").read_text("utf-8")
    assert "10 s" in doc and "30 s" in doc and "64 connections" in doc


def test_a_body_over_the_limit_is_refused_unread(limited):
    conn = socket.create_connection(("127.0.0.1", limited.server_port), timeout=5)
    size = line_webhook.MAX_BODY + 1
    conn.sendall(f"POST /callback HTTP/1.1\r\nHost: hq\r\nContent-Length: {size}\r\n\r\n".encode())
    assert conn.recv(200).startswith(b"HTTP/1.1 413")
    conn.close()
    assert line_webhook.MAX_BODY == 1_000_000 and limited.counts["stored"] == 0
