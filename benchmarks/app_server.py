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


class Page:
    """A Playwright page that counts received bytes and records off-machine requests."""

    def __init__(self, browser, base_url: str, db_url: str | None, user: str | None = ADMIN,
                 width: int = 1920, height: int = 1080):  # fmt: skip
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, locale="ja-JP"
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
TWO_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _app_error(page) -> str | None:
    """The text of a Streamlit exception or error box on ``page``, if one is shown."""
    box = page.query_selector('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return box.inner_text()[:500] if box else None


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
