"""Signed session tokens (geodata/access/sessions.py) on both backends' secrets."""

from __future__ import annotations

from geodata.access import sessions


def test_token_round_trip_tamper_and_expiry():
    key = b"k" * 32
    token = sessions.issue("tanaka", key, now=1_000_000)
    assert sessions.verify(token, key, max_age=3600, now=1_000_100) == ("tanaka", 1_000_000)
    assert sessions.verify(token, key, max_age=3600, now=1_003_601) is None  # expired
    assert sessions.verify(token, b"x" * 32, max_age=3600, now=1_000_100) is None  # other key
    payload, sig = token.split(".")
    forged = sessions.issue("admin", b"attacker" * 4, now=1_000_000).split(".")[0] + "." + sig
    assert sessions.verify(forged, key, max_age=3600, now=1_000_100) is None
    for junk in (None, "", "abc", "a.b.c", "!!!.???", payload + "."):
        assert sessions.verify(junk, key, max_age=3600, now=1_000_100) is None
    future = sessions.issue("tanaka", key, now=1_100_000)
    assert sessions.verify(future, key, max_age=3600, now=1_000_000) is None


def test_the_secret_is_kept_in_the_store_and_shared(store, store_url):
    from geodata.store.core import open_store

    first = sessions.session_secret(store)
    again = sessions.session_secret(open_store(store_url))
    assert first == again and len(first) == 32


def test_cookie_script_sets_and_clears():
    token = sessions.issue("sato", b"k" * 32, now=1)
    assert f"bosai_session={token}; path=/; max-age=600; SameSite=Strict" in (
        sessions.cookie_script(token, 600)
    )
    assert "max-age=0" in sessions.cookie_script(None, 0)
