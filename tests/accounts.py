"""Test accounts: real local accounts in a test store, and logged-in AppTest / browser sessions.

Tests log in the way users do: AppTest through the session state the login form sets (with a
real server-side session), Chromium through the HttpOnly cookie the login endpoint sets
(geodata/access/sessions.py, dashboard/server.py).
"""

from __future__ import annotations

import os
import secrets

from geodata.access import accounts as auth
from geodata.access import sessions
from geodata.store.core import open_store

# username -> role; the shelter-staff account is assigned shelters by the fixture that needs it.
ACCOUNTS = {
    "admin": "admin",
    "operator": "operator",
    "viewer": "viewer",
    "staff": "shelter_staff",
}


def ensure_accounts(url: str, shelter_ids: list[str] | None = None) -> dict[str, str]:
    """Create the test accounts in the store at ``url`` (once); returns username -> password."""
    store = open_store(url)
    passwords = {}
    try:
        for username, role in ACCOUNTS.items():
            password = secrets.token_urlsafe(18)
            if auth.get_user(store, username) is None:
                ids = (shelter_ids or []) if role == "shelter_staff" else []
                auth.add_user(store, username, role, password, actor="tests", shelter_ids=ids)
            else:
                auth.set_password(store, username, password, actor="tests")
            passwords[username] = password
    finally:
        store.dispose()
    return passwords


def login_apptest(at, username: str = "admin", url: str | None = None):
    """Make an AppTest session logged in as ``username`` (as the login form does).

    The session is a real one in the store at ``url`` (default: ``BOSAI_DB_URL``).
    """
    from dashboard import auth as dash_auth

    store = open_store(url or os.environ["BOSAI_DB_URL"])
    try:
        session, _ = sessions.create(store, username)
    finally:
        store.dispose()
    at.session_state[dash_auth.SESSION_KEY] = {"sid": session.id, "username": username}
    at.session_state["bosai_auth_audited"] = username
    return at


def session_token(url: str, username: str) -> str:
    """The cookie token of a new session of ``username`` (as the login endpoint hands it out)."""
    store = open_store(url)
    try:
        _, handoff = sessions.create(store, username)
        _, token = sessions.redeem(store, handoff)
    finally:
        store.dispose()
    return token


def session_cookie(url: str, username: str, base_url: str) -> dict:
    """A Playwright cookie carrying a live session of ``username`` for the app at ``base_url``."""
    return {
        "name": sessions.COOKIE,
        "value": session_token(url, username),
        "url": base_url,
        "sameSite": "Strict",
        "httpOnly": True,
    }


def run_page_as(monkeypatch, url: str, page: str, user: str = "operator", **query):
    """An AppTest of the frame (streamlit_app.py) on the store at ``url``, logged in as ``user``,
    switched to ``page`` with the query parameters ``query``, run once (tiles off, Japanese)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BOSAI_DB_URL", url)
    monkeypatch.setenv("BOSAI_TILES", "none")
    monkeypatch.setenv("BOSAI_LANG", "ja")
    app = Path(__file__).resolve().parents[1] / "streamlit_app.py"
    at = AppTest.from_file(str(app), default_timeout=120)
    login_apptest(at, user)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()
