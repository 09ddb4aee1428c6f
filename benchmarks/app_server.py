"""Streamlit servers, logged-in sessions and Chromium pages for the browser benchmarks.

Started the way tests/browser/conftest.py starts them: ``streamlit run`` on a free loopback port
with tiles off, Debian's Chromium driven by Playwright; requests leaving the machine are recorded
(the browser tests assert there are none; here a figure's notes say so).
Each page counts the bytes it receives through the Chrome DevTools protocol (HTTP bodies as
sent, and WebSocket frames: Streamlit sends the page's elements, the map included, over its
WebSocket). DevTools reports WebSocket payloads **decompressed**, so the benchmarks also put a
counting proxy (benchmarks/wire.py) between Chromium and the server for the bytes on the wire.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.common import ROOT

CHROMIUM = os.environ.get("BOSAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
ADMIN = "admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_available() -> str | None:
    """None when Chromium and Playwright are there, else why not."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright is not installed ({exc})"
    return None


def app_env(db_url: str, **extra) -> dict:
    """The environment of a dashboard server on ``db_url``: tiles off, Japanese, no kiosk."""
    return {
        **os.environ,
        "BOSAI_DB_URL": db_url,
        "BOSAI_TILES": "none",
        "BOSAI_TILE_URL": "",
        "BOSAI_LANG": "ja",
        "BOSAI_KIOSK": "0",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **{k: str(v) for k, v in extra.items()},
    }


@contextmanager
def streamlit_server(script: str | Path, env: dict, log_dir: Path, timeout: float = 120):
    """``streamlit run script`` on a free port; yields ``{"url", "pid", "log"}``."""
    streamlit = Path(sys.executable).parent / "streamlit"
    port = free_port()
    log = log_dir / f"streamlit-{port}.log"
    cmd = [str(streamlit), "run", str(script), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {timeout} s")
            time.sleep(0.3)
        yield {"url": base, "pid": proc.pid, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


_SHARED_BROWSER: list = []


@contextmanager
def shared_browser(browser):
    """Inside this block ``chromium()`` hands out ``browser`` instead of launching one.

    Playwright's sync API allows one ``sync_playwright()`` per thread at a time, so a caller that
    already drives a browser (the test suite's session Chromium) lends it to the benchmarks.
    """
    _SHARED_BROWSER.append(browser)
    try:
        yield browser
    finally:
        _SHARED_BROWSER.pop()


@contextmanager
def chromium():
    """A headless Chromium (Playwright); the lent one inside ``shared_browser``."""
    if _SHARED_BROWSER:
        yield _SHARED_BROWSER[-1]
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def ensure_admin(db_url: str) -> bool:
    """Create the benchmark's admin account in the store (the app's login gate needs one).

    Uses tests/accounts.py (the accounts the tests log in with). False when the app has no
    accounts module (no login gate to pass).
    """
    try:
        sys.path.insert(0, str(ROOT))
        from tests.accounts import ensure_accounts
    except ImportError:
        return False
    ensure_accounts(db_url)
    return True


def login_apptest(at, username: str = ADMIN):
    """An AppTest session logged in as ``username`` (no-op when the app has no login)."""
    try:
        from tests.accounts import login_apptest as login
    except ImportError:
        return at
    return login(at, username)


# In the st_folium iframe: the Leaflet map exists and has drawn data (vector paths, markers or
# marker clusters), then two animation frames have passed (the browser painted it).
MAP_DRAWN_JS = """
() => {
  if (!window.map || !window.map._loaded) return false;
  const drawn = document.querySelectorAll(
    '.leaflet-overlay-pane path, .leaflet-marker-pane .leaflet-marker-icon').length;
  return drawn > 0;
}
"""
# Installed in the st_folium frame: polls MAP_DRAWN_JS every 25 ms in the browser and, once the
# map has drawn and two frames have passed, keeps the time (ms since the epoch, the machine's
# clock) in window.__bosaiMapReady; returns it (null until then).
_MARK_READY_JS = (
    "() => { if (window.__bosaiMapReady) return window.__bosaiMapReady;"
    " if (!window.__bosaiMapPoll) { const drawn = "
    + MAP_DRAWN_JS.strip()
    + "; window.__bosaiMapPoll = setInterval(() => { if (drawn()) {"
    " clearInterval(window.__bosaiMapPoll); requestAnimationFrame(() =>"
    " requestAnimationFrame(() => { window.__bosaiMapReady = Date.now(); })); } }, 25); }"
    " return null; }"
)


class Page:
    """A Playwright page that counts received bytes and records off-machine requests.

    With ``reruns``, it also times the wall screen's automatic reruns (:attr:`reruns`): from the
    WebSocket frame the browser sends to ask for an auto-rerun of a fragment (Streamlit's
    ``BackMsg.rerun_script`` with ``is_auto_rerun``: ``st.fragment(run_every=…)``, the wall's
    refresh) until the frame that says the run finished (``ForwardMsg.script_finished``), both
    on the browser's clock as the DevTools protocol stamps the frames.
    """

    def __init__(self, browser, base_url: str, db_url: str | None, user: str | None = ADMIN,
                 width: int = 1920, height: int = 1080, reruns: bool = False):  # fmt: skip
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, locale="ja-JP"
        )
        if reruns:  # and the map-ready clock in every map frame from its start (map_ready_at)
            self.context.add_init_script(
                "if (location.href.includes('st_folium')) { (" + _MARK_READY_JS + ")(); }"
            )
        if user and db_url:
            try:
                from tests.accounts import session_cookie

                self.context.add_cookies([session_cookie(db_url, user, base_url)])
            except ImportError:
                pass
        # Off-machine requests are recorded, not routed: Playwright's routing would switch the
        # HTTP cache off, and a wall screen keeps Streamlit's scripts cached.
        self.blocked: list[str] = []
        self.page = self.context.new_page()
        self.page.on("request", self._request)
        self.http_bytes = 0  # HTTP as sent (encodedDataLength: headers + compressed bodies)
        self.http_decoded = 0  # HTTP bodies decoded, answered from the network (not the cache)
        self.ws_bytes = 0  # WebSocket payloads as DevTools reports them (decompressed)
        self._cached: set[str] = set()
        self._cdp = self.context.new_cdp_session(self.page)
        self._cdp.send("Network.enable")
        self._cdp.on("Network.loadingFinished", self._http)
        self._cdp.on("Network.requestServedFromCache", self._from_cache)
        self._cdp.on("Network.responseReceived", self._response)
        self._cdp.on("Network.dataReceived", self._data)
        self._cdp.on("Network.webSocketFrameReceived", self._ws)
        self.reruns: list[float] = []  # seconds of each finished auto-rerun
        self.rerun_endings: dict[str, int] = {}  # how the auto-reruns ended (status: count)
        self._rerun_started: float | None = None
        if reruns:
            self._cdp.on("Network.webSocketFrameSent", self._sent)

    def _request(self, request) -> None:
        host = urlparse(request.url).hostname or ""
        if not request.url.startswith(("data:", "blob:", "about:")) and host not in LOOPBACK:
            self.blocked.append(request.url)

    def reset_counts(self) -> None:
        self.http_bytes = self.http_decoded = self.ws_bytes = 0

    def _http(self, event: dict) -> None:
        self.http_bytes += int(event.get("encodedDataLength") or 0)

    def _from_cache(self, event: dict) -> None:
        self._cached.add(event["requestId"])

    def _response(self, event: dict) -> None:
        response = event.get("response") or {}
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self._cached.add(event["requestId"])

    def _data(self, event: dict) -> None:
        if event["requestId"] not in self._cached:
            self.http_decoded += int(event.get("dataLength") or 0)

    def _ws(self, event: dict) -> None:
        payload = (event.get("response") or {}).get("payloadData") or ""
        # Binary frames arrive base64-encoded: count the bytes that were on the wire.
        opcode = (event.get("response") or {}).get("opcode")
        self.ws_bytes += len(payload) * 3 // 4 if opcode == 2 else len(payload.encode())
        # script_finished is a frame of a few bytes: only small frames are decoded
        if self._rerun_started is not None and opcode == 2 and len(payload) < 512:
            self._finished(event, payload)

    def _sent(self, event: dict) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        frame = event.get("response") or {}
        if frame.get("opcode") != 2:
            return
        msg = BackMsg()
        msg.ParseFromString(base64.b64decode(frame.get("payloadData") or ""))
        if msg.WhichOneof("type") == "rerun_script" and msg.rerun_script.is_auto_rerun:
            self._rerun_started = float(event["timestamp"])

    def _finished(self, event: dict, payload: str) -> None:
        """An auto-rerun's end, when this received frame is its ``script_finished``."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg()
        try:
            msg.ParseFromString(base64.b64decode(payload))
        except Exception:  # noqa: BLE001 - not a ForwardMsg: not ours
            return
        if msg.WhichOneof("type") != "script_finished":
            return
        status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
        self.rerun_endings[status] = self.rerun_endings.get(status, 0) + 1
        if status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY":
            self.reruns.append(float(event["timestamp"]) - self._rerun_started)
        self._rerun_started = None

    @property
    def received_bytes(self) -> int:
        """What DevTools counts: HTTP as sent + WebSocket payloads decompressed."""
        return self.http_bytes + self.ws_bytes

    @property
    def decoded_bytes(self) -> int:
        """What the page had to handle: HTTP bodies decoded + WebSocket payloads decompressed."""
        return self.http_decoded + self.ws_bytes

    def close(self) -> None:
        self.context.close()


TWO_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _app_error(page) -> str | None:
    """The text of a Streamlit exception or error box on ``page``, if one is shown."""
    box = page.query_selector('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return box.inner_text()[:500] if box else None


def map_ready_at(page) -> float | None:
    """When the st_folium map of ``page`` was ready (drawn and painted), as ``time.time()``
    seconds, or None while it is not; does not wait. Timed in the browser by a poller in the
    map's frame (from the frame's start on a ``Page(reruns=True)``, else from the first call
    that finds the frame), so a caller that looks at many pages in turn reads each page's own
    time, not when it came round to it. Raises RuntimeError when the app shows an exception or
    error instead."""
    frame = next((f for f in page.frames if "st_folium" in (f.url or "")), None)
    at = None
    if frame is not None:
        try:
            at = frame.evaluate(_MARK_READY_JS)
        except Exception:  # noqa: BLE001 - the frame navigated or went away: not ready yet
            at = None
    if at is None:
        error = _app_error(page)
        if error:
            raise RuntimeError(f"the app shows an error: {error}")
        return None
    return float(at) / 1000


def wait_map_ready(page, timeout_ms: float = 180_000) -> None:
    """Block until the st_folium map of ``page`` has drawn its data and been painted.

    Raises RuntimeError as soon as the app shows an exception or error instead.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    frame = None
    while frame is None:
        frame = next((f for f in page.frames if "st_folium" in (f.url or "")), None)
        if frame is None:
            error = _app_error(page)
            if error:
                raise RuntimeError(f"the app shows an error: {error}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no st_folium map after {timeout_ms / 1000:.0f} s")
            page.wait_for_timeout(20)
    while True:
        remaining = (deadline - time.monotonic()) * 1000
        if remaining <= 0:
            raise TimeoutError(f"the map did not draw within {timeout_ms / 1000:.0f} s")
        try:
            frame.wait_for_function(MAP_DRAWN_JS, timeout=min(remaining, 5000), polling=25)
            break
        except Exception as exc:  # noqa: BLE001 - playwright's TimeoutError: look again
            if "Timeout" not in type(exc).__name__:
                raise
            error = _app_error(page)
            if error:
                raise RuntimeError(f"the app shows an error: {error}") from None
    frame.evaluate(TWO_FRAMES_JS)


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` (MB)."""
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20
