"""Single sign-on harness: oidc-provider-mock on a loopback port, the tiny app of tests/oidc/app.py
served by ``streamlit run`` from a temporary folder with its own .streamlit/secrets.toml, and
Chromium (Debian's) driven by Playwright with every non-loopback request aborted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# The identities the mock provider offers (its form has one button per subject).
OPERATOR = {
    "sub": "tanaka",
    "email": "tanaka@city.example.lg.jp",
    "email_verified": True,
    "name": "田中 一郎",
    "roles": ["bosai.operator"],
}
VIEWER = {"sub": "wall", "name": "本部モニター"}
STRANGER = {"sub": "stranger", "email": "stranger@example.com", "email_verified": True}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def oidc_provider():
    """oidc-provider-mock on 127.0.0.1; yields its base URL."""
    mock = pytest.importorskip("oidc_provider_mock")
    import werkzeug.serving

    users = [
        mock.User(sub=c["sub"], claims={k: v for k, v in c.items() if k != "sub"})
        for c in (OPERATOR, VIEWER, STRANGER)
    ]
    server = werkzeug.serving.make_server(
        "127.0.0.1", 0, mock.app(user_claims=users), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def _secrets_toml(app_url: str, provider_url: str) -> str:
    return f"""
[auth]
redirect_uri = "{app_url}/oauth2callback"
cookie_secret = "{secrets.token_urlsafe(32)}"
client_id = "bosai-test"
client_secret = "{secrets.token_urlsafe(16)}"
server_metadata_url = "{provider_url}/.well-known/openid-configuration"

[bosai_auth]
role_claim = "roles"
claim_roles = {{ "bosai.operator" = "operator", "bosai.admin" = "admin" }}
subject_roles = {{ "wall" = "viewer" }}
"""


@pytest.fixture(scope="module")
def oidc_app(oidc_provider, tmp_path_factory):
    """``streamlit run app.py`` from a temp folder with secrets.toml; yields its base URL."""
    streamlit = Path(sys.executable).parent / "streamlit"
    if not streamlit.exists():
        pytest.skip("streamlit is not installed in this environment")
    pytest.importorskip("authlib")
    folder = tmp_path_factory.mktemp("oidc_app")
    shutil.copy(Path(__file__).parent / "app.py", folder / "app.py")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(
        _secrets_toml(base, oidc_provider), encoding="utf-8"
    )
    log = folder / "server.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOSAI_DB_URL": f"sqlite:///{folder / 'store.sqlite'}",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    cmd = [
        str(streamlit),
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
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
                raise RuntimeError(f"streamlit not healthy after 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": base, "log": log, "db": env["BOSAI_DB_URL"]}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) whose only network is loopback.

    ``page.blocked`` lists (url, frame url) of the requests that tried to leave the machine (the
    mock provider's own pages load a stylesheet from a CDN; the app's pages must load nothing).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    blocked: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            r.continue_()
        else:
            try:
                origin = r.request.frame.url
            except Exception:  # noqa: BLE001 - a request without a frame (service worker)
                origin = ""
            blocked.append((r.request.url, origin))
            r.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    page.blocked = blocked
    yield page
    context.close()
