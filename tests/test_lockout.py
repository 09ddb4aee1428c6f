"""Lock-out under concurrency: failures are counted atomically in the store, on both backends.

Reported: 8 processes × 3 wrong guesses had 12 passwords checked against a limit of 5, and a right
password whose check overlapped the lock-out cleared it. The hasher here sleeps in ``verify`` so
that the guesses of the processes really overlap (a real argon2id check takes ~0.1-0.5 s).
"""

from __future__ import annotations

import collections
import multiprocessing
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from geodata.access import accounts as auth
from geodata.schema import now_utc

GOOD = "kaigan-dori 7 typhoon"
WRONG = "wrong password!"
PROCESSES, GUESSES = 8, 3


class SlowHasher(PasswordHasher):
    """Cheap parameters, but every verification takes 0.2 s (as a real one takes its time)."""

    def verify(self, hash_, password):
        time.sleep(0.2)
        return super().verify(hash_, password)


@pytest.fixture(autouse=True)
def slow_hasher(monkeypatch):
    monkeypatch.setattr(auth, "HASHER", SlowHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _guess(url: str, password: str, guesses: int, go, results) -> None:
    from geodata.store.core import open_store

    store = open_store(url, migrate=False)
    go.wait(30)
    try:
        for _ in range(guesses):
            results.put(auth.authenticate(store, "tanaka", password).reason)
    finally:
        store.dispose()


def _race(url: str, jobs: list[tuple[str, int]]) -> collections.Counter:
    """Run each (password, guesses) job in its own process, all released at once."""
    ctx = multiprocessing.get_context("fork")  # the children keep the slow hasher
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_guess, args=(url, pw, n, go, results)) for pw, n in jobs]
    for p in procs:
        p.start()
    go.set()
    reasons = collections.Counter(results.get(timeout=120) for _ in range(sum(n for _, n in jobs)))
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return reasons


def test_parallel_guessers_get_at_most_five_passwords_checked(store, store_url):
    auth.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    reasons = _race(store_url, [(WRONG, GUESSES)] * PROCESSES)
    # "invalid" is a guess whose password was really checked; the rest were refused unchecked.
    assert reasons["invalid"] == auth.LockoutPolicy().max_attempts
    assert reasons["locked"] == PROCESSES * GUESSES - auth.LockoutPolicy().max_attempts
    account = auth.list_users(store)[0]
    assert account["locked_until"] is not None
    assert auth.authenticate(store, "tanaka", GOOD).reason == "locked"
    audit = store.read_audit(layer="users")
    assert (audit["action"] == "login:locked-out").sum() >= 1


def test_a_right_password_during_the_race_never_lifts_the_lock(store, store_url):
    auth.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    reasons = _race(store_url, [(WRONG, GUESSES)] * PROCESSES + [(GOOD, 2)])
    # Whatever the interleaving, the account ends locked: the wrong guesses after any success
    # are more than the limit, and a success cannot clear a lock set while it was checked.
    assert auth.list_users(store)[0]["locked_until"] is not None
    assert reasons["ok"] <= 2
    assert reasons["invalid"] <= auth.LockoutPolicy().max_attempts * (1 + reasons["ok"])


def test_a_lock_set_while_the_right_password_is_checked_stays(store, monkeypatch):
    """Deterministic form of the race: the lock-out lands between the check and its write."""
    auth.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    t0 = now_utc()
    real_verify = auth.verify_password

    def verify_then_lock(password_hash, password):
        ok = real_verify(password_hash, password)
        # Another process's fifth failure locks the account meanwhile.
        t = store.tables["users"]
        until = t0 + timedelta(minutes=15)
        with store._write() as conn:
            conn.execute(
                t.update()
                .where(t.c.username == "tanaka")
                .values(locked_until=until if store.postgres else until.replace(tzinfo=None))
            )
        return ok

    monkeypatch.setattr(auth, "verify_password", verify_then_lock)
    result = auth.authenticate(store, "tanaka", GOOD, now=t0)
    assert not result.ok and result.reason == "locked"
    assert auth.list_users(store)[0]["locked_until"] is not None
    monkeypatch.setattr(auth, "verify_password", real_verify)
    assert auth.authenticate(store, "tanaka", GOOD, now=t0 + timedelta(minutes=16)).ok


def test_a_success_keeps_the_failures_counted_after_it(store):
    """Attempts claimed after a success (still in flight) stay counted."""
    auth.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    t = store.tables["users"]
    for _ in range(2):
        auth.authenticate(store, "tanaka", WRONG)
    # Two more attempts were counted by other processes and are still being checked.
    real = auth._claim_attempt

    def claim_then_two_more(store_, name, policy, now):
        claim = real(store_, name, policy, now)
        with store._write() as conn:
            conn.execute(t.update().values(failed_attempts=t.c.failed_attempts + 2))
        return claim

    auth._claim_attempt = claim_then_two_more
    try:
        assert auth.authenticate(store, "tanaka", GOOD).ok
    finally:
        auth._claim_attempt = real
    assert auth.list_users(store)[0]["failed_attempts"] == 2
