"""Every write of the admin room: the permission checked on the server right before it.

A panel's button calls one of these; each asks :func:`dashboard.auth.check` (``admin`` page,
``manage_users`` / ``manage_sources`` / ``purge``) first — whatever the page showed, an operator
or a viewer gets :class:`~geodata.access.roles.Forbidden` and nothing is written — then calls the
core function, which writes the audit row (``users:*``, ``sources:*``, ``purge:*``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dashboard import auth
from geodata import source_control
from geodata.access import accounts, retention, spool

SPOOL_FOLDER = Path("var/line_spool")  # the default LINE spool (python -m ingest purge does more)


def _actor(action: str) -> str:
    return auth.check("admin", action).username


def _not_self(actor: str, username: str, what: str) -> None:
    if accounts.normalize_username(username) == actor:
        raise accounts.AccountError(f"you cannot {what} your own account")


def add_user(
    store,
    username: str,
    role: str,
    *,
    display_name: str = "",
    shelter_ids: Iterable[str] = (),
    municipalities: Iterable[str] = (),
) -> tuple[dict, str]:
    """Create an account with a generated password; returns (account, password — show it once)."""
    actor = _actor("manage_users")
    password = accounts.new_password()
    user = accounts.add_user(store, username, role, password, actor=actor,
                             display_name=display_name, shelter_ids=shelter_ids,
                             municipalities=municipalities)  # fmt: skip
    return {"username": user.username, "role": user.role}, password


def set_role(store, username: str, role: str, shelter_ids: Iterable[str] | None = None) -> dict:
    """Change the role (and the assigned shelters of shelter staff)."""
    actor = _actor("manage_users")
    if role != "admin":
        _not_self(actor, username, "remove the admin role of")
    return accounts.set_role(store, username, role, actor=actor, shelter_ids=shelter_ids)


def set_municipalities(store, username: str, municipalities: Iterable[str]) -> dict:
    """Set the municipalities an account belongs to (its sessions end)."""
    return accounts.set_municipalities(
        store, username, municipalities, actor=_actor("manage_users")
    )


def disable_user(store, username: str) -> dict:
    """Disable an account (its sessions end at once)."""
    actor = _actor("manage_users")
    _not_self(actor, username, "disable")
    return accounts.disable_user(store, username, actor=actor)


def enable_user(store, username: str) -> dict:
    """Enable a disabled account."""
    return accounts.enable_user(store, username, actor=_actor("manage_users"))


def unlock_user(store, username: str) -> dict:
    """End a lock-out."""
    return accounts.unlock_user(store, username, actor=_actor("manage_users"))


def reset_password(store, username: str) -> str:
    """Set a generated password (unlocks, ends the account's sessions); returns it to show once."""
    actor = _actor("manage_users")
    password = accounts.new_password()
    accounts.set_password(store, username, password, actor=actor)
    return password


def sign_out(store, username: str | None) -> int:
    """End every session of ``username`` (None: of everyone); returns how many."""
    return accounts.sign_out_everywhere(store, username, actor=_actor("manage_users"))


def pause_source(store, source: str) -> source_control.SourceControl:
    """Ask the ingest loop to start no new run of ``source``."""
    return source_control.pause(store, source, actor=_actor("manage_sources"))


def resume_source(store, source: str) -> source_control.SourceControl:
    """Let the ingest loop run ``source`` on its interval again."""
    return source_control.resume(store, source, actor=_actor("manage_sources"))


def run_source_now(store, source: str) -> source_control.SourceControl:
    """Ask the ingest loop to run ``source`` at its next look (stored until a loop takes it)."""
    return source_control.request_run(store, source, actor=_actor("manage_sources"))


def purge(store, *, dry_run: bool) -> tuple[retention.PurgeReport, int]:
    """The purge of personal data (or its dry run) and of the default LINE spool folder.

    Returns the report and the number of spool files deleted (or that would be).
    """
    actor = _actor("purge")
    report = retention.purge_personal(store, dry_run=dry_run, actor=actor)
    folders = [SPOOL_FOLDER.resolve()] if SPOOL_FOLDER.is_dir() else []
    deleted = spool.purge(folders, dry_run=dry_run)
    if not dry_run:
        store.log_action(actor, "purge:spool", None, {"files": deleted})
    return report, deleted
