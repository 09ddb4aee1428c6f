"""The audit log, read for the admin room: filtered, newest first, a page at a time, no secrets.

The store writes the log (``store.log_action`` and every staff edit); this answers "who did what,
when" once, for the admin page and any later export. Nothing secret is shown: the log never
holds a password or a hash (geodata/access/accounts.py), and as a second guard any field whose
name says it is one (password, hash, token, secret, cookie) is replaced by ``[redacted]``
before it leaves here; empty (null) fields are left out.

Examples
--------
>>> scrub_detail('{"username": "sato", "password": "hunter2hunter2"}')
'{"username": "sato", "password": "[redacted]"}'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from geodata.store.codec import db_time

COLUMNS = ["id", "at", "who", "action", "layer", "record_key", "detail"]
SECRET_FIELD = re.compile(r"pass(word)?|hash|token|secret|cookie|handoff", re.IGNORECASE)
DETAIL_CHARS = 400  # a long record is cut (the whole row stays in the store)
REDACTED = "[redacted]"


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log: its rows (:data:`COLUMNS`), the total matching, the page."""

    rows: pd.DataFrame
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _scrub(value):
    if isinstance(value, dict):  # empty fields left out: a screen shows no "null"
        return {
            k: (REDACTED if SECRET_FIELD.search(str(k)) else _scrub(v))
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def scrub_detail(text: str | None) -> str | None:
    """An audit record (JSON text) with secret-named fields replaced, cut to DETAIL_CHARS."""
    if text is None:
        return None
    try:
        shown = json.dumps(_scrub(json.loads(text)), ensure_ascii=False)
    except (TypeError, ValueError):
        shown = str(text)
    return shown if len(shown) <= DETAIL_CHARS else shown[: DETAIL_CHARS - 1] + "…"


def _detail(old, new) -> str | None:
    parts = [scrub_detail(v) for v in (old, new) if v is not None]
    return " → ".join(parts) if parts else None


def filter_options(store) -> dict[str, list[str]]:
    """The distinct ``who``, ``action`` and ``layer`` values of the log (for the filters)."""
    t = store.tables["audit_log"]
    out = {}
    with store._read() as conn:
        for col in ("who", "action", "layer"):
            values = conn.execute(sa.select(t.c[col]).distinct().where(t.c[col].isnot(None)))
            out[col] = sorted(str(v) for (v,) in values)
    return out


def read_page(
    store,
    *,
    who: str | None = None,
    action: str | None = None,
    layer: str | None = None,
    since=None,
    until=None,
    page: int = 0,
    per_page: int = 50,
) -> AuditPage:
    """A page of the audit log, newest first.

    Parameters
    ----------
    who, action, layer : exact values to keep (None: any). ``action`` ending in ``:`` keeps a
        family (``users:`` — every account change).
    since, until : times (aware, or naive UTC); ``until`` is exclusive.
    page, per_page : which page (from 0) of how many rows.

    Returns
    -------
    AuditPage : rows with ``at`` as UTC timestamps and ``detail`` the scrubbed old → new record.
    """
    t = store.tables["audit_log"]
    where = []
    if who:
        where.append(t.c.who == who)
    if action:
        where.append(
            t.c.action.like(action + "%") if action.endswith(":") else t.c.action == action
        )
    if layer:
        where.append(t.c.layer == layer)
    if since is not None:
        where.append(t.c.at >= db_time(pd.Timestamp(since), store.postgres))
    if until is not None:
        where.append(t.c.at < db_time(pd.Timestamp(until), store.postgres))
    per_page = max(1, min(int(per_page), 500))
    page = max(0, int(page))
    with store._read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar()
        rows = (
            conn.execute(
                sa.select(t)
                .where(*where)
                .order_by(t.c.id.desc())
                .limit(per_page)
                .offset(page * per_page)
            )
            .mappings()
            .all()
        )
    frame = pd.DataFrame(
        [
            {
                "id": r["id"],
                "at": r["at"],
                "who": r["who"],
                "action": r["action"],
                "layer": r["layer"],
                "record_key": r["record_key"] or None,
                "detail": _detail(r["old"], r["new"]),
            }
            for r in rows
        ],
        columns=COLUMNS,
    )
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return AuditPage(frame, int(total or 0), page, per_page)
