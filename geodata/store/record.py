"""The HQ's record in the store: the chronology, task states and the numbered damage reports.

All three are append-only. A chronology entry is inserted once on its ``entry_id`` (``INSERT …
ON CONFLICT DO NOTHING``): a system entry's id is derived from what caused it, so a retry, a
re-run or a second dashboard server writing the same event stores it once. A task's state and a
damage report's number are the next version / number, taken inside the write transaction (a
second writer that took it first makes the insert fail and it is tried again).

The rules (what is an event, which number comes next, what a wall screen may see) live in
:mod:`geodata.chronology` and :mod:`geodata.damage`; this mixin only writes and reads.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from geodata.schema import (
    CHRONOLOGY,
    DAMAGE_REPORTS,
    TASK_STATE_HISTORY,
    now_utc,
    validate,
)
from geodata.store.codec import plain as _plain
from geodata.store.errors import UnknownRecord, UpsertResult


class RecordMixin:
    """Chronology, task-state and damage-report methods of :class:`geodata.store.core.Store`."""

    def append_chronology(self, frame: pd.DataFrame, *, source: str | None = None) -> UpsertResult:
        """Append chronology entries; an entry whose ``entry_id`` is stored already is skipped.

        Rows that do not fit the layer are rejected with their reason (and written to the
        rejections table). Returns inserted / unchanged / rejected counts.
        """
        with self._write() as conn:
            return self._insert_chronology(conn, frame, source=source)

    def _insert_chronology(self, conn, frame: pd.DataFrame, *, source=None) -> UpsertResult:
        """:meth:`append_chronology` on an open write connection (a shelter-status write's)."""
        valid, rejected = validate(frame, CHRONOLOGY)
        result = UpsertResult(rejected=len(rejected))
        if len(rejected):
            self._insert_rejections(conn, source, "chronology", rejected.itertuples(index=False))
        if valid.empty:
            return result
        names, rows = self._encode(CHRONOLOGY, valid)
        sql = self._insert_sql(CHRONOLOGY, names) + ' ON CONFLICT ("entry_id") DO NOTHING'
        for row, record in zip(rows, valid.to_dict("records"), strict=True):
            inserted = conn.exec_driver_sql(sql, row).rowcount
            if inserted:
                result.inserted += 1
                who = record.get("entered_by")
                if who and who != "system":  # staff writes are audited, as everywhere in the store
                    key = (record["entry_id"],)
                    self._audit(conn, who, "append", "chronology", key, None, _plain(record))
            else:
                result.unchanged += 1
        if result.inserted:
            self._bump(conn, "chronology")
        return result

    def read_chronology(self, *, until=None, since=None, where=None) -> pd.DataFrame:
        """Chronology entries (``since`` <= at < ``until``), newest first."""
        frame = self.read("chronology", since=since, until=until, where=where)
        return frame.sort_values(["at", "entered_at"], ascending=False).reset_index(drop=True)

    def append_task_state(
        self, entry_id: str, state: str, *, actor: str, note: str | None = None, at=None
    ) -> dict:
        """Record a task's new state (the next version), audit-logged under ``actor``.

        Raises :class:`UnknownRecord` when ``entry_id`` is not a task of the chronology and
        ``ValueError`` for a state that is not in :data:`geodata.vocab.TASK_STATES`.
        """
        if not actor:
            raise ValueError("a task state change needs an actor")
        for attempt in range(5):
            try:
                with self._write() as conn:
                    chrono = self.tables["chronology"]
                    is_task = conn.execute(
                        sa.select(chrono.c.task).where(chrono.c.entry_id == entry_id)
                    ).scalar()
                    if not is_task:
                        raise UnknownRecord(f"no task {entry_id} in the chronology")
                    t = self.tables["task_states"]
                    last = conn.execute(
                        sa.select(func.max(t.c.version)).where(t.c.entry_id == entry_id)
                    ).scalar()
                    record = {
                        "entry_id": entry_id,
                        "version": int(last or 0) + 1,
                        "state": state,
                        "note": note,
                        "changed_by": actor,
                        "changed_at": at or now_utc(),
                    }
                    valid, rejected = validate(pd.DataFrame([record]), TASK_STATE_HISTORY)
                    if len(rejected):
                        raise ValueError(rejected.iloc[0]["reason"])
                    names, rows = self._encode(TASK_STATE_HISTORY, valid)
                    conn.exec_driver_sql(self._insert_sql(TASK_STATE_HISTORY, names), rows)
                    new = _plain(valid.iloc[0].to_dict())
                    self._audit(conn, actor, "append", "task_states", (entry_id,), None, new)
                    self._bump(conn, "task_states")
                return new
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def append_task_states(self, frame: pd.DataFrame, *, source: str | None = None) -> UpsertResult:
        """:meth:`append_task_state` for each row (entry_id, state, note, changed_by,
        changed_at) of ``frame`` (``store.load`` of the layer)."""
        result = UpsertResult()
        for row in frame.to_dict("records"):
            self.append_task_state(row["entry_id"], row["state"], actor=row["changed_by"],
                                   note=row.get("note"), at=row.get("changed_at"))  # fmt: skip
            result.inserted += 1
        return result

    def append_damage_reports(
        self, frame: pd.DataFrame, *, source: str | None = None
    ) -> UpsertResult:
        """:meth:`append_damage_report` for each row of ``frame`` (``store.load`` of the layer):
        each becomes the next number, whatever number it had."""
        result = UpsertResult()
        for row in frame.to_dict("records"):
            self.append_damage_report({k: v for k, v in row.items() if k != "number"},
                                      actor=row["fixed_by"])  # fmt: skip
            result.inserted += 1
        return result

    def append_damage_report(self, record: dict, *, actor: str) -> dict:
        """Store a damage report as the next 第N報 (its ``number`` is assigned here).

        Returns the stored record with its number.
        """
        for attempt in range(5):
            try:
                with self._write() as conn:
                    t = self.tables["damage_reports"]
                    last = conn.execute(sa.select(func.max(t.c.number))).scalar()
                    full = {**record, "number": int(last or 0) + 1, "fixed_by": actor}
                    full.setdefault("fixed_at", now_utc())
                    valid, rejected = validate(pd.DataFrame([full]), DAMAGE_REPORTS)
                    if len(rejected):
                        raise ValueError(rejected.iloc[0]["reason"])
                    names, rows = self._encode(DAMAGE_REPORTS, valid)
                    conn.exec_driver_sql(self._insert_sql(DAMAGE_REPORTS, names), rows)
                    new = _plain(valid.iloc[0].to_dict())
                    key = (new["number"],)
                    self._audit(conn, actor, "append", "damage_reports", key, None, new)
                    self._bump(conn, "damage_reports")
                return new
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")
