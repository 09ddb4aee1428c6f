"""Rejections, audit log and source health in the store."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa

from geodata.schema import Layer, now_utc
from geodata.store.codec import db_time as _db_time
from geodata.store.codec import plain as _plain


class LogMixin:
    """Rejections, audit and health methods of :class:`geodata.store.core.Store`."""

    def _insert_rejections(self, conn, source, layer, items) -> None:
        at = _db_time(now_utc(), self.postgres)
        rows = [
            {
                "source": source,
                "layer": layer,
                "raw": str(raw)[:2000],
                "reason": str(reason),
                "at": at,
            }
            for raw, reason in items
        ]
        if rows:
            conn.execute(sa.insert(self.tables["rejections"]), rows)
            self._bump(conn, "rejections")

    def add_rejections(self, source: str, items: Iterable[tuple[str, str]], layer=None) -> int:
        """Record raw records that could not be used, each with its reason."""
        items = list(items)
        with self._write() as conn:
            self._insert_rejections(conn, source, layer, items)
        return len(items)

    def read_rejections(self, limit: int = 500, source: str | None = None) -> pd.DataFrame:
        """The newest rejections first."""
        t = self.tables["rejections"]
        stmt = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if source:
            stmt = stmt.where(t.c.source == source)
        with self._read() as conn:
            df = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=[c.name for c in t.c])
        df["at"] = pd.to_datetime(df["at"], utc=True)
        return df

    def _audit(self, conn, who, action, layer, key, old, new) -> None:
        conn.execute(
            sa.insert(self.tables["audit_log"]),
            [
                {
                    "who": who,
                    "action": action,
                    "layer": layer,
                    "record_key": "|".join(map(str, key)),
                    "old": None
                    if old is None
                    else json.dumps(_plain(old), default=str, ensure_ascii=False),
                    "new": None
                    if new is None
                    else json.dumps(_plain(new), default=str, ensure_ascii=False),
                    "at": _db_time(now_utc(), self.postgres),
                }
            ],
        )

    def _audit_rows(self, conn, actor, action, spec: Layer, rows, existing) -> None:
        for row in rows:
            key = tuple(row[k] for k in spec.key)
            old = existing.get(key)
            clean = {k: v for k, v in row.items() if k in spec.columns}
            old_clean = None if old is None else {k: v for k, v in old.items() if k in spec.columns}
            self._audit(conn, actor, action, spec.name, key, old_clean, clean)

    def log_action(self, who: str, action: str, layer: str | None = None, detail=None) -> None:
        """Audit a non-write action (an export, a view of a personal-data list)."""
        with self._write() as conn:
            self._audit(conn, who, action, layer, (), None, detail)

    def read_audit(self, limit: int = 500, layer: str | None = None) -> pd.DataFrame:
        """The newest audit-log rows first."""
        t = self.tables["audit_log"]
        stmt = sa.select(t).order_by(t.c.id.desc()).limit(limit)
        if layer:
            stmt = stmt.where(t.c.layer == layer)
        with self._read() as conn:
            df = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=[c.name for c in t.c])
        df["at"] = pd.to_datetime(df["at"], utc=True)
        return df

    def get_cursor(self, source: str) -> str | None:
        """The saved cursor of a source (None before its first successful run)."""
        rec = self.get("source_health", source)
        return rec["cursor"] if rec else None

    def record_health(self, source: str, *, ok: bool, **details) -> None:
        """Record a source run: success (with its new cursor) or failure (keeping the old one).

        ``details``: ``kind``, ``error``, ``cursor``, ``rows``, ``rejected``,
        ``newest_record_at``, ``backoff_until``, ``stale_after_seconds`` (see
        :func:`_health_row`). A failure with ``backoff_until`` (the upstream asked to be left
        alone until then) is recorded as state ``backing_off``, any other as ``failing``; a
        success clears both. ``stale_after_seconds`` is the source's own stale limit
        (geodata/health.py).
        """
        self.record_healths([(source, {"ok": ok, **details})])

    def record_healths(self, runs: list[tuple[str, dict]]) -> None:
        """:meth:`record_health` of several sources — ``(source, its keyword arguments)`` — in
        one write (the runner records the sources written together at once: a write of a
        one-row frame costs about as much as one of a few rows)."""
        if not runs:
            return
        now = now_utc()
        rows: dict[str, dict] = {}  # a source run twice: its second run starts from its first
        for source, kw in runs:
            old = rows.get(source) or self.get("source_health", source)
            rows[source] = _health_row(old, source, now, **kw)
        self.upsert("source_health", pd.DataFrame(list(rows.values())), source="store")

    def backoff_until(self, source: str):
        """Until when ``source`` is backing off (a UTC timestamp), or None."""
        rec = self.get("source_health", source)
        if not rec or rec.get("state") != "backing_off" or rec.get("backoff_until") is None:
            return None
        until = pd.Timestamp(rec["backoff_until"])
        return None if pd.isna(until) else until

    def health(self) -> pd.DataFrame:
        """Every source's health row."""
        return self.read("source_health", order="source")


def _health_row(
    old: dict | None,
    source: str,
    now,
    *,
    ok: bool,
    kind: str | None = None,
    error: str | None = None,
    cursor: str | None = None,
    rows: int | None = None,
    rejected: int | None = None,
    newest_record_at=None,
    backoff_until=None,
    stale_after_seconds: float | None = None,
) -> dict:
    """The health row of ``source`` after a run (``old``: its stored row, None before its
    first; ``now``: the run's time); see :meth:`LogMixin.record_health`. An unknown keyword is a
    TypeError, as a call of record_health with one always was."""
    new = {"source": source, **(old or {})}
    if kind:
        new["kind"] = kind
    if stale_after_seconds is not None:
        new["stale_after_seconds"] = float(stale_after_seconds)
    if ok:
        new["last_success_at"] = now
        if cursor is not None:
            new["cursor"] = cursor
        new["rows_last_run"] = rows
        new["rejected_last_run"] = rejected
        if newest_record_at is not None:
            new["newest_record_at"] = newest_record_at
        new["state"], new["backoff_until"] = "ok", None
    else:
        new["last_error"] = (error or "error")[:1000]
        new["last_error_at"] = now
        new["state"] = "backing_off" if backoff_until is not None else "failing"
        new["backoff_until"] = backoff_until
    return new
