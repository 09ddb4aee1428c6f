"""Signed session tokens for local accounts, so a login survives a page reload.

A token is ``base64url(username:issued_at).base64url(HMAC-SHA256(secret, payload))``. The secret
is kept in the store (``privacy.meta_secret``), so every dashboard replica sharing the store accepts
the same tokens; the account is read again on every use, so disabling it ends its sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from geodata.access.privacy import meta_secret

COOKIE = "bosai_session"
_SECRET_NAME = "session_key"


def session_secret(store) -> bytes:
    """The store's session-signing secret."""
    return meta_secret(store, _SECRET_NAME)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(username: str, secret: bytes, now: float | None = None) -> str:
    """A token for ``username`` issued at ``now`` (seconds since the epoch).

    Examples
    --------
    >>> token = issue("tanaka", b"k" * 32, now=1000)
    >>> verify(token, b"k" * 32, max_age=60, now=1030)
    ('tanaka', 1000)
    >>> verify(token, b"k" * 32, max_age=60, now=2000) is None
    True
    """
    payload = f"{username}:{int(now if now is not None else time.time())}".encode()
    sig = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(sig)}"


def verify(
    token: str | None, secret: bytes, *, max_age: float, now: float | None = None
) -> tuple[str, int] | None:
    """(username, issued_at) of a valid, unexpired token; None for anything else."""
    if not token or token.count(".") != 1:
        return None
    try:
        payload_text, sig_text = token.split(".")
        payload = _unb64(payload_text)
        sig = _unb64(sig_text)
    except (ValueError, TypeError):
        return None
    expected = hmac.new(secret, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        return None
    try:
        username, issued_text = payload.decode().rsplit(":", 1)
        issued = int(issued_text)
    except (UnicodeDecodeError, ValueError):
        return None
    current = now if now is not None else time.time()
    if issued > current + 60 or current - issued > max_age:
        return None
    return username, issued


def cookie_script(token: str | None, max_age: int) -> str:
    """JavaScript that sets (or, with ``token=None``, clears) the session cookie."""
    if token is None:
        return f"document.cookie = '{COOKIE}=; path=/; max-age=0; SameSite=Strict';"
    # The token is base64url and '.': safe inside a JS string.
    assert all(c.isalnum() or c in "-_." for c in token)
    return (
        f"document.cookie = '{COOKIE}={token}; path=/; max-age={int(max_age)}; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');"
    )
