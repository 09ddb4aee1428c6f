"""Shelter status in the store: an append-only history with a version per shelter.

``version`` numbers the writes of a shelter in the order they arrive. The *current* report is
not the last write but the newest report (:data:`geodata.shelters.CURRENT_ORDER`: report time,
then version): a file from another system loaded late may carry an older report, which joins
the history without replacing a newer one.

Staff updates are version-checked against the current report (a stale write raises
:class:`StaleVersion` with it); updates from other systems are idempotent on (source,
source_id).
"""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from geodata.schema import CARE_COLUMNS, SHELTER_STATUS, empty_frame, now_utc, validate
from geodata.shelters import CURRENT_ORDER, NOT_OPEN
from geodata.store.codec import db_time as _db_time
from geodata.store.codec import plain as _plain
from geodata.store.errors import StaleVersion, UnknownRecord, UpsertResult


class ShelterStatusMixin:
    """Shelter-status methods of :class:`geodata.store.core.Store`."""

    def current_shelter_status(self) -> pd.DataFrame:
        """The current report of each shelter: the newest ``reported_at``, then the highest
        version (:data:`geodata.shelters.CURRENT_ORDER`)."""
        t = self.tables["shelter_status"]
        names = list(SHELTER_STATUS.columns)
        rank = (
            func.row_number()
            .over(partition_by=t.c.shelter_id, order_by=self._newest_first(t))
            .label("rank")
        )
        ranked = (
            sa.select(*[t.c[n] for n in names], rank)
            .where(*self._scope_conds(SHELTER_STATUS, t))
            .subquery()
        )
        stmt = sa.select(*[ranked.c[n] for n in names]).where(ranked.c.rank == 1)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        if not rows:
            return empty_frame(SHELTER_STATUS)
        return self._decode(SHELTER_STATUS, rows, names)

    def shelter_status_history(self, shelter_id: str) -> pd.DataFrame:
        """Every status record of one shelter, oldest first."""
        return self.read("shelter_status", where={"shelter_id": shelter_id}, order="version")

    @staticmethod
    def _newest_first(t) -> list:
        return [t.c[c].desc() for c in CURRENT_ORDER]

    def _current_status(self, conn, shelter_id: str) -> dict | None:
        return self._current_and_last(conn, shelter_id)[0]

    def _current_and_last(self, conn, shelter_id: str) -> tuple[dict | None, int]:
        """The current report of a shelter and its highest version, read in one statement
        (one snapshot: a write that lands between two reads cannot pair them wrongly)."""
        t = self.tables["shelter_status"]
        names = list(SHELTER_STATUS.columns)
        last = (
            sa.select(func.max(t.c.version))
            .where(t.c.shelter_id == shelter_id)
            .scalar_subquery()
            .label("last")
        )
        row = conn.execute(
            sa.select(*[t.c[n] for n in names], last)
            .where(t.c.shelter_id == shelter_id)
            .order_by(*self._newest_first(t))
            .limit(1)
        ).first()
        if row is None:
            return None, 0
        current = _plain(self._decode(SHELTER_STATUS, [row[:-1]], names).iloc[0].to_dict())
        return current, int(row[-1])

    def update_shelter_status(
        self,
        shelter_id: str,
        fields: dict,
        *,
        base_version: int | None,
        actor: str,
        reported_at=None,
    ) -> dict:
        """Append a staff update of a shelter's status, refusing stale writes.

        Parameters
        ----------
        shelter_id : the shelter.
        fields : status, evacuees, households, needs, note, the 要配慮者 counts ``care_*``
            (unchanged fields carry over; a care count None is "not counted").
        base_version : the version of the current report the staff member saw (0 when the
            shelter had none). When another report has become current since,
            :class:`StaleVersion` is raised with it and nothing is written; an older report
            loaded meanwhile does not refuse the write. ``None`` skips the check (a system
            write).
        actor : who makes the update (audit log, ``reported_by``).
        reported_at : the report time (default now).

        Returns
        -------
        The new record (dict) with its version (the shelter's highest version + 1).
        """
        allowed = {"status", "evacuees", "households", "needs", "note", *CARE_COLUMNS}
        if set(fields) - allowed:
            raise ValueError(f"cannot set {sorted(set(fields) - allowed)} on a shelter status")
        for _ in range(5):
            try:
                return self._append_staff_update(
                    shelter_id, fields, allowed, base_version, actor, reported_at
                )
            except IntegrityError:
                # Another writer took the next version between our read and our insert
                # (PostgreSQL). Stale when it changed the current report; else try again.
                with self._read() as conn:
                    current = self._current_status(conn, shelter_id)
                if base_version is not None and (current or {}).get("version", 0) != base_version:
                    raise StaleVersion(current) from None
        raise StaleVersion(current)

    def _append_staff_update(
        self, shelter_id, fields, allowed, base_version, actor, reported_at
    ) -> dict:
        with self._write() as conn:
            shelters = self.tables["shelters"]
            exists = conn.execute(
                sa.select(shelters.c.shelter_id).where(shelters.c.shelter_id == shelter_id)
            ).first()
            if exists is None:
                raise UnknownRecord(f"shelter {shelter_id} does not exist")
            current, last = self._current_and_last(conn, shelter_id)
            if base_version is not None and base_version != (current or {}).get("version", 0):
                raise StaleVersion(current)
            base = current or {
                "status": NOT_OPEN,
                "evacuees": 0,
                "households": None,
                "needs": [],
                "note": None,
            }
            record = {
                **{k: base.get(k) for k in allowed},
                **fields,
                "shelter_id": shelter_id,
                "version": last + 1,
                "reported_at": reported_at or now_utc(),
                "reported_by": actor,
                "source": "staff",
                "source_id": None,
            }
            valid, rejected = validate(pd.DataFrame([record]), SHELTER_STATUS)
            if len(rejected):
                raise ValueError(rejected.iloc[0]["reason"])
            for count in ("evacuees", "households", *CARE_COLUMNS):
                value = valid.iloc[0][count]
                if value is not pd.NA and (value or 0) < 0:
                    raise ValueError(f"{count}: a count cannot be negative")
            names, rows = self._encode(SHELTER_STATUS, valid)
            conn.exec_driver_sql(self._insert_sql(SHELTER_STATUS, names), rows)
            new = _plain(valid.iloc[0].to_dict())
            self._audit(conn, actor, "update", "shelter_status", (shelter_id,), current, new)
            self._bump(conn, "shelter_status")
            self._record_shelter_events(conn, valid[["shelter_id", "reported_at"]])
        return new

    def append_shelter_status(self, frame: pd.DataFrame, *, source: str) -> UpsertResult:
        """Append status records from another system, idempotent on (source, source_id).

        Each row needs shelter_id, reported_at, status and a source_id unique within the
        source. Rows already stored are counted as unchanged; rows for unknown shelters and
        rows that do not fit the schema are rejected with a reason.
        """
        frame = frame.copy()
        frame["source"] = source
        frame["version"] = range(1, len(frame) + 1)  # placeholder, unique; assigned below
        valid, rejected = validate(frame, SHELTER_STATUS)
        result = UpsertResult()
        rejections = list(rejected.itertuples(index=False))
        t = self.tables["shelter_status"]
        for attempt in range(5):
            try:
                with self._write() as conn:
                    known = {
                        r[0] for r in conn.execute(sa.select(self.tables["shelters"].c.shelter_id))
                    }
                    seen = {
                        r[0]
                        for r in conn.execute(sa.select(t.c.source_id).where(t.c.source == source))
                    }
                    versions = dict(
                        conn.execute(
                            sa.select(t.c.shelter_id, func.max(t.c.version)).group_by(
                                t.c.shelter_id
                            )
                        ).all()
                    )
                    out = []
                    bad = list(rejections)
                    valid_sorted = valid.sort_values("reported_at", kind="stable")
                    for rec in valid_sorted.to_dict("records"):
                        if rec["source_id"] is None:
                            bad.append(
                                _Rej(
                                    json.dumps(_plain(rec), default=str, ensure_ascii=False),
                                    "missing source_id",
                                )
                            )
                        elif rec["source_id"] in seen:
                            result.unchanged += 1
                        elif rec["shelter_id"] not in known:
                            bad.append(
                                _Rej(
                                    json.dumps(_plain(rec), default=str, ensure_ascii=False),
                                    f"unknown shelter {rec['shelter_id']}",
                                )
                            )
                        elif (
                            rec["evacuees"] is not pd.NA
                            and rec["evacuees"] is not None
                            and rec["evacuees"] < 0
                        ):
                            bad.append(
                                _Rej(
                                    json.dumps(_plain(rec), default=str, ensure_ascii=False),
                                    "evacuees: a count cannot be negative",
                                )
                            )
                        else:
                            seen.add(rec["source_id"])
                            versions[rec["shelter_id"]] = versions.get(rec["shelter_id"], 0) + 1
                            rec["version"] = versions[rec["shelter_id"]]
                            out.append(rec)
                    if bad:
                        self._insert_rejections(conn, source, "shelter_status", bad)
                    if out:
                        df = pd.DataFrame(out, columns=list(SHELTER_STATUS.columns))
                        ok, _ = validate(df, SHELTER_STATUS)
                        names, rows = self._encode(SHELTER_STATUS, ok)
                        conn.exec_driver_sql(self._insert_sql(SHELTER_STATUS, names), rows)
                        self._bump(conn, "shelter_status")
                        self._record_shelter_events(conn, ok[["shelter_id", "reported_at"]])
                    result.inserted = len(out)
                    result.rejected = len(bad)
                return result
            except IntegrityError:
                result = UpsertResult()
                if attempt == 4:
                    raise
        return result

    def _record_shelter_events(self, conn, new: pd.DataFrame) -> None:
        """Write the opened / full / closed events the ``new`` reports cause to the chronology, in
        the status write's own transaction (each once: geodata.chronology.shelter_events).

        An event depends only on a report and the one before it (report time, then version), so
        only the reports from the earliest new one on are read, with the report just before
        them: a write costs the same on the 800th version of a shelter as on the first.
        """
        from geodata import chronology

        t, shelters = self.tables["shelter_status"], self.tables["shelters"]
        names = ["shelter_id", "version", "reported_at", "status", "evacuees"]
        cols = [t.c[n] for n in names]
        rows, before = [], set()
        earliest = new.groupby("shelter_id")["reported_at"].min()
        for start in range(0, len(earliest), 500):
            part = earliest.iloc[start : start + 500]
            since = _db_time(part.min(), self.postgres)
            ids = list(part.index)
            rows += conn.execute(
                sa.select(*cols).where(t.c.shelter_id.in_(ids), t.c.reported_at >= since)
            ).all()
            last = (
                sa.select(t.c.shelter_id, func.max(t.c.reported_at).label("at"))
                .where(t.c.shelter_id.in_(ids), t.c.reported_at < since)
                .group_by(t.c.shelter_id)
                .subquery()
            )
            previous = conn.execute(
                sa.select(*cols).join(
                    last, sa.and_(t.c.shelter_id == last.c.shelter_id, t.c.reported_at == last.c.at)
                )
            ).all()
            rows += previous
            before |= {f"shelter:{r[0]}:{int(r[1])}:" for r in previous}
        if not rows:
            return
        history = self._decode(SHELTER_STATUS, rows, names)
        labels = dict(
            conn.execute(
                sa.select(shelters.c.shelter_id, shelters.c.name).where(
                    shelters.c.shelter_id.in_(list(earliest.index))
                )
            ).all()
        )
        events = [  # the report before the new ones only sets what they follow
            e for e in chronology.shelter_events(history, labels)
            if e["event_key"][: e["event_key"].rindex(":") + 1] not in before
        ]  # fmt: skip
        if events:
            self._insert_chronology(conn, pd.DataFrame(events), source="shelter_status")


class _Rej(tuple):
    def __new__(cls, raw, reason):
        return super().__new__(cls, (raw, reason))
