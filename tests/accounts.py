"""Test accounts: real local accounts in a test store, and logged-in AppTest / browser sessions.

Tests log in the way users do: AppTest through the session state the login form sets, Chromium
through the signed session cookie the login form sets (geodata/access/sessions.py).
"""

from __future__ import annotations

import secrets
import time

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


def login_apptest(at, username: str = "admin"):
    """Make an AppTest session logged in as ``username`` (as the login form does)."""
    from dashboard import auth as dash_auth

    at.session_state[dash_auth.SESSION_KEY] = {"username": username, "at": time.time()}
    at.session_state["bosai_auth_audited"] = username
    return at


def session_cookie(url: str, username: str, base_url: str) -> dict:
    """A Playwright cookie carrying a valid session of ``username`` for the app at ``base_url``."""
    store = open_store(url)
    try:
        token = sessions.issue(username, sessions.session_secret(store))
    finally:
        store.dispose()
    return {"name": sessions.COOKIE, "value": token, "url": base_url, "sameSite": "Strict"}
