"""Local accounts for a standalone HQ: argon2id password hashes, lock-out, audited admin actions.

Accounts live in the store's ``users`` table (username, display name, role, password hash,
disabled, failed attempts, locked until, assigned shelters, created/updated). No account and no
password ships with the app: the first admin is made with ``python -m ingest users add``.

- Passwords are hashed with argon2id (argon2-cffi, RFC 9106 low-memory profile) and must have at
  least 12 characters; a hash made with older parameters is upgraded at the next login.
- After 5 failed logins in a row an account is locked for 15 minutes (:class:`LockoutPolicy`).
  A lock-out ends by itself or by ``users unlock``; a successful login resets the count. Each
  attempt is counted in the store before its password is checked, so parallel guessers (several
  processes, several dashboard hosts) get no more than 5 passwords checked.
- One module for local accounts on purpose (over 400 lines): the password rules, the lock-out
  and the admin actions keep the invariants of one table, ``users``.
- An unknown username costs the same work as a known one: the password is verified against a
  dummy hash, so response times do not tell which accounts exist. The caller shows one message
  for every failure.
- Every admin action and every login (success, failure, lock-out) is audit-logged with
  ``store.log_action``; passwords and hashes never reach the log.

Single sign-on (OIDC) users are not stored here: :func:`user_from_claims` maps ID-token claims
to a role with the mapping of ``[bosai_auth]`` in secrets.toml (see docs/security.md).
"""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geodata.access import sessions
from geodata.access.roles import ROLES, User, validate_role
from geodata.schema import now_utc
from geodata.store.codec import db_time, utc_datetime

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is an attack
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}$")
AUDIT_LAYER = "users"

# argon2id with argon2-cffi's defaults (RFC 9106 low-memory: t=3, m=64 MiB, p=4).
HASHER = PasswordHasher()


class AccountError(ValueError):
    """An account operation that cannot be done (unknown user, duplicate, bad role...)."""


class WeakPassword(AccountError):
    """A password that does not meet the rules."""


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed logins lock an account, and for how long."""

    max_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of :func:`authenticate`.

    ``user`` is set only on success. ``reason`` is for the audit log, never for the login form
    (which shows one message for every failure): ``ok``, ``invalid``, ``locked``, ``disabled``.
    """

    user: User | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.user is not None


# -- passwords ------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; the parameters are part of the hash)."""
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a missing or broken hash)."""
    if not password_hash:
        _verify_dummy(password)
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY: dict[int, str] = {}


def _verify_dummy(password: str) -> None:
    """Spend the time of one verification (for unknown users)."""
    key = id(HASHER)
    if key not in _DUMMY:
        _DUMMY[key] = HASHER.hash(secrets.token_urlsafe(24))
    try:
        HASHER.verify(_DUMMY[key], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


def check_password_strength(password: str, username: str | None = None) -> None:
    """Raise :class:`WeakPassword` unless ``password`` is acceptable.

    At least 12 characters (Japanese characters count one each), at most 1024, not made of
    one repeated character, and not containing the username.

    Examples
    --------
    >>> check_password_strength("correct horse battery")
    >>> check_password_strength("short")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    WeakPassword: the password needs at least 12 characters (it has 5)
    """
    if not isinstance(password, str):
        raise WeakPassword("the password must be text")
    n = len(password)
    if n < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters (it has {n})"
        )
    if n > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    if len(set(password)) < 2:
        raise WeakPassword("the password is one character repeated")
    if username and len(username) >= 3 and username.lower() in password.lower():
        raise WeakPassword("the password contains the username")


# Letters and digits a person reads back without doubt (no 0/O, 1/l/I): a generated password
# is one word to a double-click, so copying it never drops a trailing "-" or "_".
PASSWORD_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


def new_password(length: int = 16) -> str:
    """A random password of ``length`` letters and digits (~5.8 bits each; 16 give ~93 bits).

    Examples
    --------
    >>> p = new_password()
    >>> len(p), p.isalnum()
    (16, True)
    """
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        try:
            check_password_strength(password)
        except WeakPassword:  # pragma: no cover - one repeated character: 56**-15
            continue
        return password


def normalize_username(name: str) -> str:
    """The stored form of a username: NFKC, trimmed, lower case; ValueError if not allowed.

    Examples
    --------
    >>> normalize_username(" Tanaka.Ichiro ")
    'tanaka.ichiro'
    """
    norm = unicodedata.normalize("NFKC", name or "").strip().lower()
    if not USERNAME.match(norm):
        raise AccountError(
            f"invalid username {name!r}: 1-64 characters a-z 0-9 . _ @ + -, starting with a "
            "letter or digit"
        )
    return norm


# -- store access -----------------------------------------------------------------------------


@contextmanager
def _write(store) -> Iterator[sa.Connection]:
    with store._write() as conn:  # BEGIN IMMEDIATE on SQLite: one writer at a time
        yield conn


@contextmanager
def _read(store) -> Iterator[sa.Connection]:
    with store._read() as conn:
        yield conn


def _table(store) -> sa.Table:
    return store.tables["users"]


def _user(row: Mapping) -> User:
    return User(
        username=row["username"],
        role=row["role"],
        display_name=row["display_name"] or "",
        shelter_ids=frozenset(json.loads(row["shelter_ids"] or "[]")),
        disabled=bool(row["disabled"]),
        source="local",
        municipalities=tuple(json.loads(row.get("municipalities") or "[]")),
    )


def _row(conn, store, username: str) -> dict | None:
    t = _table(store)
    rec = conn.execute(sa.select(t).where(t.c.username == username)).mappings().first()
    return None if rec is None else dict(rec)


def _public(row: Mapping) -> dict:
    """An account as shown by ``users list`` (no hash)."""
    return {
        "username": row["username"],
        "display_name": row["display_name"] or "",
        "role": row["role"],
        "shelter_ids": sorted(json.loads(row["shelter_ids"] or "[]")),
        "municipalities": json.loads(row.get("municipalities") or "[]"),
        "disabled": bool(row["disabled"]),
        "failed_attempts": int(row["failed_attempts"] or 0),
        "locked_until": _iso(utc_datetime(row["locked_until"])),
        "created_at": _iso(utc_datetime(row["created_at"])),
        "updated_at": _iso(utc_datetime(row["updated_at"])),
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def municipality_codes(codes: Iterable[str] | None) -> list[str]:
    """Municipality codes as 5-digit codes in the order given (a 6-digit code loses its check
    digit); :class:`AccountError` for anything else."""
    found: list[str] = []
    for raw in codes or ():
        code = unicodedata.normalize("NFKC", str(raw)).strip()
        if not code:
            continue
        if not (code.isdigit() and len(code) in (5, 6) and 1 <= int(code[:2]) <= 47):
            raise AccountError(f"not a municipality code: {raw!r} (5 digits, e.g. 13208)")
        if code[:5] not in found:
            found.append(code[:5])
    return found


def _shelters(role: str, shelter_ids: Iterable[str] | None) -> list[str]:
    ids = sorted({str(s).strip() for s in (shelter_ids or ()) if str(s).strip()})
    if ids and role != "shelter_staff":
        raise AccountError("only a shelter_staff account has assigned shelters (--shelter)")
    return ids


# -- admin actions (each audit-logged) ----------------------------------------------------------


def add_user(
    store,
    username: str,
    role: str,
    password: str,
    *,
    actor: str,
    display_name: str | None = None,
    shelter_ids: Iterable[str] = (),
    municipalities: Iterable[str] = (),
) -> User:
    """Create a local account; raises :class:`AccountError` / :class:`WeakPassword`.

    Examples
    --------
    >>> add_user(store, "sato", "shelter_staff", "long enough secret", actor="cli:admin",
    ...          shelter_ids=["13208-001"])  # doctest: +SKIP
    """
    name = normalize_username(username)
    validate_role(role)
    check_password_strength(password, name)
    ids = _shelters(role, shelter_ids)
    codes = municipality_codes(municipalities)
    now = db_time(now_utc(), store.postgres)
    record = {
        "username": name,
        "display_name": (display_name or "").strip() or None,
        "role": role,
        "password_hash": hash_password(password),
        "disabled": False,
        "failed_attempts": 0,
        "locked_until": None,
        "shelter_ids": json.dumps(ids, ensure_ascii=False),
        "municipalities": json.dumps(codes),
        "created_at": now,
        "updated_at": now,
    }
    with _write(store) as conn:
        if _row(conn, store, name) is not None:
            raise AccountError(f"user {name} already exists")
        conn.execute(sa.insert(_table(store)).values(**record))
    store.log_action(
        actor,
        "users:add",
        AUDIT_LAYER,
        {"username": name, "role": role, "shelter_ids": ids, "display_name": display_name,
         "municipalities": codes},
    )  # fmt: skip
    return _user(record)


def _change(store, username: str, changes: dict, *, actor: str, action: str, detail: dict) -> dict:
    name = normalize_username(username)
    with _write(store) as conn:
        old = _row(conn, store, name)
        if old is None:
            raise AccountError(f"no user {name}")
        t = _table(store)
        values = {**changes, "updated_at": db_time(now_utc(), store.postgres)}
        conn.execute(sa.update(t).where(t.c.username == name).values(**values))
        new = _row(conn, store, name)
    store.log_action(actor, f"users:{action}", AUDIT_LAYER, {"username": name, **detail})
    return _public(new)


def set_role(
    store, username: str, role: str, *, actor: str, shelter_ids: Iterable[str] | None = None
) -> dict:
    """Change an account's role (and its shelters; other roles have none)."""
    validate_role(role)
    name = normalize_username(username)
    if shelter_ids is None and role == "shelter_staff":
        current = get_user(store, name)
        shelter_ids = current.shelter_ids if current else ()
    ids = _shelters(role, shelter_ids)
    return _change(
        store,
        name,
        {"role": role, "shelter_ids": json.dumps(ids, ensure_ascii=False)},
        actor=actor,
        action="set-role",
        detail={"role": role, "shelter_ids": ids},
    )


def set_municipalities(store, username: str, municipalities: Iterable[str], *, actor: str) -> dict:
    """Set the municipalities an account belongs to (empty: the configured one), audited.

    The account's open sessions end: what it may see changed."""
    codes = municipality_codes(municipalities)
    record = _change(
        store,
        username,
        {"municipalities": json.dumps(codes)},
        actor=actor,
        action="set-municipalities",
        detail={"municipalities": codes},
    )
    sessions.revoke_user(store, record["username"], reason="municipalities changed")
    return record


def disable_user(store, username: str, *, actor: str) -> dict:
    """Disable an account: it can no longer log in, and its sessions are revoked at once."""
    record = _change(store, username, {"disabled": True}, actor=actor, action="disable", detail={})
    sessions.revoke_user(store, record["username"], reason="disabled")
    return record


def enable_user(store, username: str, *, actor: str) -> dict:
    """Enable a disabled account again."""
    return _change(store, username, {"disabled": False}, actor=actor, action="enable", detail={})


def unlock_user(store, username: str, *, actor: str) -> dict:
    """End a lock-out and reset the failed-login count."""
    return _change(
        store,
        username,
        {"failed_attempts": 0, "locked_until": None},
        actor=actor,
        action="unlock",
        detail={},
    )


def set_password(store, username: str, password: str, *, actor: str) -> dict:
    """Set a new password (and unlock the account); every session of the account ends."""
    name = normalize_username(username)
    check_password_strength(password, name)
    record = _change(
        store,
        name,
        {"password_hash": hash_password(password), "failed_attempts": 0, "locked_until": None},
        actor=actor,
        action="passwd",
        detail={},
    )
    sessions.revoke_user(store, name, reason="password changed")
    return record


def sign_out_everywhere(store, username: str | None, *, actor: str) -> int:
    """End every session of ``username`` (None: of everyone); returns how many ended.

    Audit-logged as ``users:sign-out``. Works for single sign-on names too (their next page
    run asks them to log in again at the provider).
    """
    if username is None:
        ended = sessions.revoke_all(store, reason=f"signed out by {actor}")
        detail = {"username": "*", "sessions": ended}
    else:
        # A local name is stored normalized; a single sign-on ``sub`` is case-sensitive.
        names = {username.strip()}
        try:
            names.add(normalize_username(username))
        except AccountError:
            pass
        ended = sum(
            sessions.revoke_user(store, n, reason=f"signed out by {actor}") for n in sorted(names)
        )
        detail = {"username": username.strip(), "sessions": ended}
    store.log_action(actor, "users:sign-out", AUDIT_LAYER, detail)
    return ended


# -- reads ----------------------------------------------------------------------------------------


def get_user(store, username: str) -> User | None:
    """The account ``username`` as a :class:`User` (None when there is none)."""
    try:
        name = normalize_username(username)
    except AccountError:
        return None
    with _read(store) as conn:
        row = _row(conn, store, name)
    return None if row is None else _user(row)


def list_users(store) -> list[dict]:
    """Every account (without its hash), by username."""
    t = _table(store)
    with _read(store) as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.username)).mappings().all()
    return [_public(r) for r in rows]


def has_users(store) -> bool:
    """Whether any account exists (the login form says how to make the first one if not)."""
    t = _table(store)
    with _read(store) as conn:
        return conn.execute(sa.select(t.c.username).limit(1)).first() is not None


# -- login ----------------------------------------------------------------------------------------


def authenticate(
    store,
    username: str,
    password: str,
    *,
    policy: LockoutPolicy = LockoutPolicy(),
    now: datetime | None = None,
) -> LoginResult:
    """Check a login; counts failures, locks the account, audit-logs the outcome.

    The attempt is counted in the store *before* the password is checked, in one write
    transaction (``failed_attempts + 1`` guarded by "not disabled, not locked"): however many
    processes guess at once, at most ``policy.max_attempts`` passwords are checked before the
    lock-out; an attempt numbered beyond the limit locks the account without checking anything.
    A success settles with a guarded write too, so a right password whose check overlapped a
    lock-out does not lift it. The password is always verified once (against a dummy hash for
    unknown, disabled and locked accounts), so every failure takes the same time.

    Returns
    -------
    LoginResult : ``user`` on success; ``reason`` for the audit log only.
    """
    now = now or now_utc()
    try:
        name = normalize_username(username)
    except AccountError:
        name = None
    password = password if isinstance(password, str) else ""
    claim = None
    if name is not None and len(password) <= MAX_PASSWORD_LENGTH:
        claim = _claim_attempt(store, name, policy, now)
    if claim is None:
        _verify_dummy(password[:MAX_PASSWORD_LENGTH])
        store.log_action("anonymous", "login:failed", AUDIT_LAYER, {"reason": "unknown user"})
        return LoginResult(None, "invalid")
    row, number, reason = claim
    detail: dict = {"username": name, "reason": reason}
    if reason == "checked":
        if verify_password(row["password_hash"], password):
            reason = _settle_success(store, row, number, password, now)
        else:
            reason = "invalid"
            detail["failed_attempts"] = number
            if number >= policy.max_attempts:
                detail["locked_until"] = _lock(store, name, policy, now).isoformat()
        detail["reason"] = reason
    else:
        _verify_dummy(password)
        if reason == "over-limit":  # other attempts were in flight: lock without checking
            detail["reason"] = reason = "locked"
            detail["failed_attempts"] = number
            detail["locked_until"] = _lock(store, name, policy, now).isoformat()
    action = {"ok": "login:ok"}.get(reason, "login:failed")
    if "locked_until" in detail:
        action = "login:locked-out"
    store.log_action(name, action, AUDIT_LAYER, detail)
    return LoginResult(_user(row) if reason == "ok" else None, reason)


def _open(t: sa.Table, now: datetime, postgres: bool):
    """The accounts that may try a password now: enabled and not locked."""
    stamp = db_time(now, postgres)
    return sa.and_(
        t.c.disabled.is_(False) | t.c.disabled.is_(None),
        t.c.locked_until.is_(None) | (t.c.locked_until <= stamp),
    )


def _claim_attempt(
    store, name: str, policy: LockoutPolicy, now: datetime
) -> tuple[dict, int, str] | None:
    """Count one attempt atomically; (row, attempt number, verdict) or None for no account.

    The verdict is ``checked`` (the password may be checked), ``over-limit`` (more attempts
    than the policy allows are in flight), ``locked`` or ``disabled``.
    """
    t = _table(store)
    with _write(store) as conn:  # BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL
        claimed = conn.execute(
            sa.update(t)
            .where(t.c.username == name, _open(t, now, store.postgres))
            .values(
                failed_attempts=sa.func.coalesce(t.c.failed_attempts, 0) + 1,
                updated_at=db_time(now, store.postgres),
            )
        ).rowcount
        row = _row(conn, store, name)
    if row is None:
        return None
    number = int(row["failed_attempts"] or 0)
    if not claimed:
        return row, number, "disabled" if row["disabled"] else "locked"
    return row, number, "checked" if number <= policy.max_attempts else "over-limit"


def _settle_success(store, row: Mapping, number: int, password: str, now: datetime) -> str:
    """Record a right password: ``ok``, or ``locked`` / ``disabled`` when that happened meanwhile.

    Takes back this attempt and the failures counted before it (a success ends a run of
    failures); attempts counted after it, still in flight, stay counted.
    """
    t = _table(store)
    values: dict = {
        "failed_attempts": sa.case(
            (t.c.failed_attempts > number, t.c.failed_attempts - number), else_=0
        ),
        "locked_until": None,
    }
    if HASHER.check_needs_rehash(row["password_hash"]):
        values["password_hash"] = hash_password(password)
    with _write(store) as conn:
        done = conn.execute(
            sa.update(t)
            .where(t.c.username == row["username"], _open(t, now, store.postgres))
            .values(**values)
        ).rowcount
        if done:
            return "ok"
        current = _row(conn, store, row["username"])
    return "disabled" if current is None or current["disabled"] else "locked"


def _lock(store, name: str, policy: LockoutPolicy, now: datetime) -> datetime:
    """Lock ``name`` for ``policy.lockout`` from ``now`` and restart its count."""
    until = now + policy.lockout
    t = _table(store)
    with _write(store) as conn:
        conn.execute(
            sa.update(t)
            .where(t.c.username == name)
            .values(failed_attempts=0, locked_until=db_time(until, store.postgres))
        )
    return until


# -- single sign-on -------------------------------------------------------------------------------

_RANK = {role: i for i, role in enumerate(ROLES)}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def user_from_claims(claims: Mapping, config: Mapping | None) -> User | None:
    """The :class:`User` an OIDC identity maps to, or None: no access until mapped.

    Parameters
    ----------
    claims : the ID-token claims (``st.user``): ``sub``, ``email``, ``email_verified``,
        ``name``, ``roles`` / ``groups``, ``tid`` (Entra ID tenant), ``hd`` (Google Workspace).
    config : the ``[bosai_auth]`` section of secrets.toml:

        - ``require`` — claim -> allowed value(s) that every identity must have, e.g.
          ``{tid = "<tenant id>"}`` or ``{hd = "city.example.lg.jp"}``; a missing claim fails;
        - ``role_claim`` (default ``"roles"``) and ``claim_roles`` — value of that claim -> role
          (Entra ID app roles or group object ids, Google groups via a custom claim);
        - ``email_roles`` — e-mail -> role, used only when ``email_verified`` is true;
        - ``subject_roles`` — ``sub`` -> role (stable, for providers without roles);
        - ``shelters`` — e-mail or ``sub`` -> list of shelter ids (for shelter_staff);
        - ``default_role`` — role of an identity that nothing maps; unset (the default) means
          no access;
        - ``municipalities`` — e-mail or ``sub`` -> list of municipality codes the identity
          belongs to (unset: the configured ``BOSAI_MUNICIPALITY``).

    When several mappings match, the most trusted role wins (they all vouch for the person).

    Examples
    --------
    >>> cfg = {"claim_roles": {"bosai-operators": "operator"}}
    >>> user_from_claims({"sub": "1", "email": "a@b.jp", "roles": ["bosai-operators"]}, cfg).role
    'operator'
    >>> user_from_claims({"sub": "2", "email": "x@y.jp"}, cfg) is None
    True
    """
    config = config or {}
    if not claims or not claims.get("sub"):
        return None
    for claim, wanted in (config.get("require") or {}).items():
        if not set(_as_list(claims.get(claim))) & set(_as_list(wanted)):
            return None
    email = str(claims.get("email") or "").strip().lower()
    verified = claims.get("email_verified") in (True, "true", "True", 1)
    sub = str(claims["sub"])
    candidates: list[str] = []
    role_claim = config.get("role_claim", "roles")
    claim_roles = config.get("claim_roles") or {}
    for value in _as_list(claims.get(role_claim)):
        if value in claim_roles:
            candidates.append(claim_roles[value])
    email_roles = {str(k).lower(): v for k, v in (config.get("email_roles") or {}).items()}
    if email and verified and email in email_roles:
        candidates.append(email_roles[email])
    subject_roles = config.get("subject_roles") or {}
    if sub in subject_roles:
        candidates.append(subject_roles[sub])
    candidates = [r for r in candidates if r in _RANK]
    if not candidates and config.get("default_role") in _RANK:
        candidates.append(config["default_role"])
    if not candidates:
        return None
    role = max(candidates, key=_RANK.__getitem__)
    shelters_cfg = config.get("shelters") or {}
    shelter_ids: list[str] = []
    if role == "shelter_staff":
        for key in ((email,) if email and verified else ()) + (sub,):
            shelter_ids += _as_list(shelters_cfg.get(key))
    municipalities: list[str] = []
    for key in ((email,) if email and verified else ()) + (sub,):
        municipalities += _as_list((config.get("municipalities") or {}).get(key))
    return User(
        username=email if email and verified else sub,
        role=role,
        display_name=str(claims.get("name") or claims.get("preferred_username") or ""),
        shelter_ids=frozenset(shelter_ids),
        source="oidc",
        municipalities=tuple(municipality_codes(municipalities)),
    )
