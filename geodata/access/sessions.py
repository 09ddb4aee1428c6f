"""Login sessions kept on the server (the store's ``sessions`` table), revocable at any time.

A session is a row: who, when it was made, when it was last used, when it ends for good, and
whether it was revoked. The browser holds only a random token in an ``HttpOnly; SameSite=Strict``
cookie (:data:`COOKIE`); the store keeps the token's SHA-256, so reading the data file gives no
usable cookie, and no signing key exists to steal.

How a token reaches the browser without passing through JavaScript: the login form (a Streamlit
widget, over the websocket) makes the session with a one-time *handoff* code (60 s, single use);
the page posts that code to the dashboard's own endpoint (dashboard/server.py), which redeems it
(:func:`redeem`) and answers with the ``Set-Cookie`` header. A page reload sends the cookie with
the websocket handshake; :func:`resume` finds the session by the token's hash.

A session ends when it is unused for ``BOSAI_SESSION_IDLE_MINUTES`` (every page run and every
wall-screen refresh counts as use, recorded at most once a minute), after
``BOSAI_SESSION_HOURS`` in any case, and at once when revoked: by logging out, a password change,
disabling the account, or an administrator's "sign out everywhere" (:func:`revoke_user`,
:func:`revoke_all`). Single sign-on identities keep Streamlit's own cookie; for them "sign out
everywhere" records a cut-off (:func:`signed_out_after`): a login issued before it is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from geodata import settings
from geodata.schema import now_utc
from geodata.store.codec import db_time, utc_datetime

COOKIE = "bosai_session"
HANDOFF_SECONDS = 60
TOUCH_SECONDS = 60  # last_seen_at is written at most this often per session
EVERYONE = "*"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last: ``idle`` without use, ``lifetime`` in any case."""

    idle: timedelta = timedelta(minutes=60)
    lifetime: timedelta = timedelta(hours=12)

    @classmethod
    def from_settings(cls) -> SessionPolicy:
        """The policy of ``BOSAI_SESSION_IDLE_MINUTES`` and ``BOSAI_SESSION_HOURS``."""
        idle = settings.number("BOSAI_SESSION_IDLE_MINUTES")
        hours = settings.number("BOSAI_SESSION_HOURS")
        if idle <= 0 or hours <= 0:
            raise ValueError("BOSAI_SESSION_IDLE_MINUTES and BOSAI_SESSION_HOURS must be > 0")
        return cls(idle=timedelta(minutes=idle), lifetime=timedelta(hours=hours))


@dataclass(frozen=True)
class Session:
    """One login session (no token: the store never has it)."""

    id: str
    username: str
    source: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token or a handoff code is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _session(row) -> Session:
    return Session(
        id=row["id"],
        username=row["username"],
        source=row["source"],
        created_at=utc_datetime(row["created_at"]),
        last_seen_at=utc_datetime(row["last_seen_at"]),
        expires_at=utc_datetime(row["expires_at"]),
    )


def _live(t: sa.Table, now: datetime, policy: SessionPolicy, postgres: bool):
    """Rows of sessions usable at ``now``: not revoked, not past their end, not idle too long."""
    return sa.and_(
        t.c.revoked_at.is_(None),
        t.c.expires_at > db_time(now, postgres),
        t.c.last_seen_at > db_time(now - policy.idle, postgres),
    )


# -- making and finding sessions -------------------------------------------------------------------


def create(
    store,
    username: str,
    *,
    source: str = "local",
    policy: SessionPolicy | None = None,
    now: datetime | None = None,
) -> tuple[Session, str]:
    """A new session of ``username`` and its one-time handoff code (for :func:`redeem`).

    Examples
    --------
    >>> session, handoff = create(store, "tanaka")  # doctest: +SKIP
    >>> session, token = redeem(store, handoff)  # doctest: +SKIP
    """
    policy = policy or SessionPolicy.from_settings()
    now = now or now_utc()
    handoff = secrets.token_urlsafe(32)
    pg = store.postgres
    row = {
        "id": secrets.token_urlsafe(18),
        "token_hash": None,
        "handoff_hash": token_hash(handoff),
        "handoff_until": db_time(now + timedelta(seconds=HANDOFF_SECONDS), pg),
        "username": username,
        "source": source,
        "created_at": db_time(now, pg),
        "last_seen_at": db_time(now, pg),
        "expires_at": db_time(now + policy.lifetime, pg),
    }
    with store._write() as conn:
        conn.execute(sa.insert(store.tables["sessions"]).values(**row))
    prune(store, now=now)
    return _session(row), handoff


def redeem(
    store, handoff: str, *, policy: SessionPolicy | None = None, now: datetime | None = None
) -> tuple[Session, str] | None:
    """Exchange a handoff code (once, within 60 s) for the session and its cookie token."""
    if not isinstance(handoff, str) or not handoff or len(handoff) > 200:
        return None
    policy = policy or SessionPolicy.from_settings()
    now = now or now_utc()
    t = store.tables["sessions"]
    token = secrets.token_urlsafe(32)
    with store._write() as conn:
        row = (
            conn.execute(
                sa.select(t).where(
                    t.c.handoff_hash == token_hash(handoff),
                    t.c.handoff_until > db_time(now, store.postgres),
                    _live(t, now, policy, store.postgres),
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        done = conn.execute(
            sa.update(t)
            .where(t.c.id == row["id"], t.c.handoff_hash.is_not(None))
            .values(token_hash=token_hash(token), handoff_hash=None, handoff_until=None)
        ).rowcount
    return (_session(row), token) if done else None


def _find(store, where, policy: SessionPolicy, now: datetime) -> Session | None:
    """The live session matching ``where``; records its use (at most once a minute)."""
    t = store.tables["sessions"]
    pg = store.postgres
    with store._read() as conn:
        row = conn.execute(sa.select(t).where(where, _live(t, now, policy, pg))).mappings().first()
    if row is None:
        return None
    session = _session(row)
    if (now - session.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        with store._write() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.id == session.id, t.c.revoked_at.is_(None))
                .values(last_seen_at=db_time(now, pg))
            )
    return session


def resume(
    store, token: str | None, *, policy: SessionPolicy | None = None, now: datetime | None = None
) -> Session | None:
    """The live session of a cookie token (a page reload); None if unknown, ended or revoked."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    policy = policy or SessionPolicy.from_settings()
    t = store.tables["sessions"]
    return _find(store, t.c.token_hash == token_hash(token), policy, now or now_utc())


def check(
    store,
    session_id: str | None,
    *,
    policy: SessionPolicy | None = None,
    now: datetime | None = None,
) -> Session | None:
    """The live session ``session_id`` (every page run asks); None if ended or revoked."""
    if not session_id:
        return None
    policy = policy or SessionPolicy.from_settings()
    t = store.tables["sessions"]
    return _find(store, t.c.id == session_id, policy, now or now_utc())


# -- ending sessions ---------------------------------------------------------------------------------


def _revoke(store, where, reason: str, now: datetime | None) -> int:
    t = store.tables["sessions"]
    stamp = db_time(now or now_utc(), store.postgres)
    with store._write() as conn:
        return conn.execute(
            sa.update(t)
            .where(where, t.c.revoked_at.is_(None))
            .values(revoked_at=stamp, revoked_reason=reason, handoff_hash=None)
        ).rowcount


def revoke(store, session_id: str, reason: str = "logout", now: datetime | None = None) -> bool:
    """End one session (log-out); True if it was live."""
    return _revoke(store, store.tables["sessions"].c.id == session_id, reason, now) > 0


def revoke_token(store, token: str | None, reason: str = "logout") -> bool:
    """End the session of a cookie token (the log-out endpoint); True if it was live."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    t = store.tables["sessions"]
    return _revoke(store, t.c.token_hash == token_hash(token), reason, None) > 0


def _cut_off(conn, store, username: str, now: datetime) -> None:
    t = store.tables["session_cutoffs"]
    conn.execute(sa.delete(t).where(t.c.username == username))
    conn.execute(sa.insert(t).values(username=username, not_before=db_time(now, store.postgres)))


def revoke_user(store, username: str, reason: str, now: datetime | None = None) -> int:
    """Sign ``username`` out everywhere; returns how many live sessions ended.

    Called on a password change, when the account is disabled, and by an administrator. Single
    sign-on logins of that name issued before now are refused too (:func:`signed_out_after`).
    """
    now = now or now_utc()
    ended = _revoke(store, store.tables["sessions"].c.username == username, reason, now)
    with store._write() as conn:
        _cut_off(conn, store, username, now)
    return ended


def revoke_all(store, reason: str, now: datetime | None = None) -> int:
    """Sign everyone out everywhere (an administrator after a suspected leak)."""
    now = now or now_utc()
    ended = _revoke(store, sa.true(), reason, now)
    with store._write() as conn:
        _cut_off(conn, store, EVERYONE, now)
    return ended


def signed_out_after(store, username: str, issued_at: datetime) -> bool:
    """Whether a login of ``username`` issued at ``issued_at`` was signed out since (SSO)."""
    t = store.tables["session_cutoffs"]
    with store._read() as conn:
        cut = conn.execute(
            sa.select(sa.func.max(t.c.not_before)).where(t.c.username.in_([username, EVERYONE]))
        ).scalar()
    cut = utc_datetime(cut)
    return cut is not None and issued_at <= cut


def live_sessions(
    store, *, policy: SessionPolicy | None = None, now: datetime | None = None
) -> list[Session]:
    """The sessions usable now, newest use first (the admin page lists them)."""
    policy = policy or SessionPolicy.from_settings()
    now = now or now_utc()
    t = store.tables["sessions"]
    with store._read() as conn:
        rows = (
            conn.execute(
                sa.select(t)
                .where(_live(t, now, policy, store.postgres))
                .order_by(t.c.last_seen_at.desc())
            )
            .mappings()
            .all()
        )
    return [_session(r) for r in rows]


def prune(store, keep: timedelta = timedelta(days=30), now: datetime | None = None) -> int:
    """Delete session rows that ended more than ``keep`` ago; returns how many."""
    t = store.tables["sessions"]
    limit = db_time((now or now_utc()) - keep, store.postgres)
    with store._write() as conn:
        return conn.execute(
            sa.delete(t).where(sa.or_(t.c.expires_at < limit, t.c.revoked_at < limit))
        ).rowcount
