"""The HTTP side of the login: two endpoints served next to Streamlit, and the start-up check.

Streamlit cannot set an ``HttpOnly`` cookie from a script (a script talks to the browser over a
websocket; JavaScript can only set cookies that JavaScript can read). Streamlit's ASGI entry,
``streamlit.starlette.App`` (``app.py``), serves extra routes next to it, so:

- ``POST <base>/bosai/session`` takes the one-time handoff code the login form made
  (geodata/access/sessions.py) and answers ``204`` with ``Set-Cookie: bosai_session=<token>;
  HttpOnly; SameSite=Strict; Path=<base>`` (``Secure`` over HTTPS). The token never passes
  through JavaScript and is valid only while its server-side session is.
- ``POST <base>/bosai/logout`` revokes the cookie's session and deletes the cookie.

Both refuse requests from another origin (403): a page elsewhere cannot log a browser in or out.
The cookie has no ``Max-Age``: it ends with the browser, and the server ends the session after
the idle timeout or lifetime anyway.

:func:`refuse_insecure_files` runs before the server starts: a store file, key file or
``secrets.toml`` that other local users can read stops the start with one line saying which file
and the ``chmod`` to run.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

from geodata import settings
from geodata.access import files, keys, sessions

SESSION_ROUTE = "bosai/session"
LOGOUT_ROUTE = "bosai/logout"
_LOCK = threading.Lock()
_STORES: dict[str, object] = {}


def base_path() -> str:
    """``/`` or ``/<server.baseUrlPath>/``: where the app and its endpoints are served."""
    try:
        from streamlit import config

        base = (config.get_option("server.baseUrlPath") or "").strip("/")
    except Exception:  # noqa: BLE001 - outside a Streamlit process
        base = ""
    return f"/{base}/" if base else "/"


def endpoint(route: str) -> str:
    """The absolute path of one of the endpoints (for the page's script)."""
    return base_path() + route


def _store():
    url = settings.db_url()
    with _LOCK:
        if url not in _STORES:
            from geodata.store.core import open_store

            _STORES[url] = open_store(url)
        return _STORES[url]


def _same_origin(request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # some browsers omit Origin on same-origin requests
        return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"
    return urlparse(origin).netloc == request.headers.get("host")


def _https(request) -> bool:
    # The proxy of the README sets X-Forwarded-Proto; a forged one only makes the cookie stricter.
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


async def _redeem(request):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    if not _same_origin(request):
        return Response(status_code=403)
    code = (await request.body())[:256].decode("ascii", errors="ignore").strip()
    found = await run_in_threadpool(sessions.redeem, _store(), code)
    if found is None:
        return Response(status_code=403, headers={"Cache-Control": "no-store"})
    _, token = found
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        sessions.COOKIE,
        token,
        path=base_path(),
        secure=_https(request),
        httponly=True,
        samesite="strict",
    )
    return response


async def _logout(request):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    if not _same_origin(request):
        return Response(status_code=403)
    token = request.cookies.get(sessions.COOKIE)
    if token:
        await run_in_threadpool(sessions.revoke_token, _store(), token)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(
        sessions.COOKIE, path=base_path(), secure=_https(request), httponly=True, samesite="strict"
    )
    return response


def routes() -> list:
    """The Starlette routes of the two endpoints (for ``App(..., routes=routes())``), and the
    prefetched basemap's tiles (dashboard/tile_server.py)."""
    from starlette.routing import Route

    from dashboard import tile_server

    return [
        Route(endpoint(SESSION_ROUTE), _redeem, methods=["POST"]),
        Route(endpoint(LOGOUT_ROUTE), _logout, methods=["POST"]),
        *tile_server.routes(),
    ]


def secret_files() -> list[tuple[Path, str]]:
    """The files holding secrets: the key file (unless BOSAI_SECRET_KEY is set), secrets.toml."""
    found = [] if os.environ.get(keys.ENV, "").strip() else [(keys.key_file(), "the key file")]
    try:
        from streamlit import config

        paths = [Path(p) for p in config.get_option("secrets.files") or []]
    except Exception:  # noqa: BLE001 - outside a Streamlit process
        paths = [Path(".streamlit") / "secrets.toml"]
    return found + [(p, "the secrets file") for p in paths]


def refuse_insecure_files() -> None:
    """Exit (status 1, one line on stderr) when other users can read the store or a secret."""
    problems = files.startup_problems(settings.db_url(), secret_files())
    if problems:
        print(f"bosai: refusing to start: {problems[0]}", file=sys.stderr, flush=True)
        raise SystemExit(1)
