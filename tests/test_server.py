"""The dashboard server as ``make demo`` starts it: loopback only, no outbound request, safe files.

Reported: Streamlit listened on every interface (``Network URL`` printed) with a demo admin
account, and with no ``server.address`` it asked an outside IP-lookup service
(checkip.amazonaws.com) for the ``External URL`` at every start. The server here is started
with every HTTP(S) request of the process sent to a loopback trap (the proxy variables that
``requests`` honours), so an outbound request is seen, not just failed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STREAMLIT = Path(sys.executable).parent / "streamlit"


class _Trap(BaseHTTPRequestHandler):
    def _record(self):
        self.server.seen.append(f"{self.command} {self.path}")
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_CONNECT = do_HEAD = _record

    def log_message(self, *args):
        pass


@pytest.fixture
def trap():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _non_loopback_addresses() -> list[str]:
    import psutil

    return [
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]


def _env(tmp_path, trap_port: int | None = None) -> dict:
    env = {
        **os.environ,
        "BOSAI_DB_URL": f"sqlite:///{tmp_path / 'var' / 'bosai.sqlite'}",
        "BOSAI_KEY_FILE": str(tmp_path / "var" / "bosai.key"),
        "BOSAI_TILES": "none",
    }
    for name in ("NO_PROXY", "no_proxy", "STREAMLIT_BROWSER_GATHER_USAGE_STATS"):
        env.pop(name, None)
    if trap_port:
        proxy = f"http://127.0.0.1:{trap_port}"
        env.update(HTTP_PROXY=proxy, HTTPS_PROXY=proxy, http_proxy=proxy, https_proxy=proxy)
    return env


def test_the_config_binds_loopback_and_sends_no_usage_statistics():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert "ADDRESS ?= 127.0.0.1" in makefile and "--server.address $(ADDRESS)" in makefile
    assert "streamlit run app.py" in makefile


def test_the_server_starts_on_loopback_without_any_outbound_request(tmp_path, trap):
    port = _free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(STREAMLIT), "run", "app.py", "--server.port", str(port)],
            cwd=ROOT,
            env=_env(tmp_path, trap.server_port),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        time.sleep(1.5)  # the start-up banner (and any lookup) comes right after the bind
        text = log.read_text()
        assert f"URL: http://127.0.0.1:{port}" in text
        assert "Network URL" not in text and "External URL" not in text
        assert "Collecting usage statistics" not in text
        assert trap.seen == []  # no request left the process
        for address in _non_loopback_addresses():
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((address, port)) != 0, f"listening on {address}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert trap.seen == []


def test_the_server_refuses_to_start_on_a_key_file_others_can_read(tmp_path):
    key = tmp_path / "var" / "bosai.key"
    key.parent.mkdir(mode=0o700)
    key.write_text("{}")
    os.chmod(key, 0o644)
    proc = subprocess.run(
        [str(STREAMLIT), "run", "app.py", "--server.port", str(_free_port())],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    # Streamlit prints its URL banner before it imports app.py; then our one line, no traceback.
    assert proc.stderr.strip().splitlines() == [
        f"bosai: refusing to start: the key file {key} can be read by other users "
        f"(mode 0644): run  chmod 600 {key}"
    ]
    assert "Traceback" not in proc.stdout
