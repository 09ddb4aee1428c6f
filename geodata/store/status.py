"""Shelter status in the store: an append-only history with a version per shelter.

Staff updates are version-checked (a stale write raises :class:`StaleVersion` with the current
record); updates from other systems are idempotent on (source, source_id).
"""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from geodata.schema import SHELTER_STATUS, empty_frame, now_utc, validate
from geodata.store.codec import plain as _plain
from geodata.store.errors import StaleVersion, UnknownRecord, UpsertResult


class ShelterStatusMixin:
    """Shelter-status methods of :class:`geodata.store.core.Store`."""

    def current_shelter_status(self) -> pd.DataFrame:
        """The latest status record of each shelter (highest version)."""
        t = self.tables["shelter_status"]
        latest = (
            sa.select(t.c.shelter_id, func.max(t.c.version).label("v"))
            .group_by(t.c.shelter_id)
            .subquery()
        )
        names = list(SHELTER_STATUS.columns)
        stmt = sa.select(*[t.c[n] for n in names]).join(
            latest, sa.and_(t.c.shelter_id == latest.c.shelter_id, t.c.version == latest.c.v)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        if not rows:
            return empty_frame(SHELTER_STATUS)
        return self._decode(SHELTER_STATUS, rows, names)

    def shelter_status_history(self, shelter_id: str) -> pd.DataFrame:
        """Every status record of one shelter, oldest first."""
        return self.read("shelter_status", where={"shelter_id": shelter_id}, order="version")

    def _current_status(self, conn, shelter_id: str) -> dict | None:
        t = self.tables["shelter_status"]
        names = list(SHELTER_STATUS.columns)
        row = conn.execute(
            sa.select(*[t.c[n] for n in names])
            .where(t.c.shelter_id == shelter_id)
            .order_by(t.c.version.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return _plain(self._decode(SHELTER_STATUS, [row], names).iloc[0].to_dict())

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
        fields : status, evacuees, households, needs, note (unchanged fields carry over).
        base_version : the version the staff member saw (0 when the shelter had none). When it
            is not the current version, :class:`StaleVersion` is raised with the current record
            and nothing is written. ``None`` skips the check (a system write).
        actor : who makes the update (audit log, ``reported_by``).

        Returns
        -------
        The new record (dict) with its version.
        """
        allowed = {"status", "evacuees", "households", "needs", "note"}
        if set(fields) - allowed:
            raise ValueError(f"cannot set {sorted(set(fields) - allowed)} on a shelter status")
        try:
            with self._write() as conn:
                shelters = self.tables["shelters"]
                exists = conn.execute(
                    sa.select(shelters.c.shelter_id).where(shelters.c.shelter_id == shelter_id)
                ).first()
                if exists is None:
                    raise UnknownRecord(f"shelter {shelter_id} does not exist")
                current = self._current_status(conn, shelter_id)
                version = current["version"] if current else 0
                if base_version is not None and base_version != version:
                    raise StaleVersion(current)
                base = current or {
                    "status": "未開設",
                    "evacuees": 0,
                    "households": None,
                    "needs": [],
                    "note": None,
                }
                record = {
                    **{k: base.get(k) for k in allowed},
                    **fields,
                    "shelter_id": shelter_id,
                    "version": version + 1,
                    "reported_at": reported_at or now_utc(),
                    "reported_by": actor,
                    "source": "staff",
                    "source_id": None,
                }
                valid, rejected = validate(pd.DataFrame([record]), SHELTER_STATUS)
                if len(rejected):
                    raise ValueError(rejected.iloc[0]["reason"])
                if valid.iloc[0]["evacuees"] is not pd.NA and (valid.iloc[0]["evacuees"] or 0) < 0:
                    raise ValueError("evacuees: a count cannot be negative")
                if (
                    valid.iloc[0]["households"] is not pd.NA
                    and (valid.iloc[0]["households"] or 0) < 0
                ):
                    raise ValueError("households: a count cannot be negative")
                names, rows = self._encode(SHELTER_STATUS, valid)
                conn.exec_driver_sql(self._insert_sql(SHELTER_STATUS, names), rows)
                new = _plain(valid.iloc[0].to_dict())
                self._audit(conn, actor, "update", "shelter_status", (shelter_id,), current, new)
                self._bump(conn, "shelter_status")
            return new
        except IntegrityError:
            # Another writer took this version between our read and our insert (PostgreSQL).
            with self._read() as conn:
                raise StaleVersion(self._current_status(conn, shelter_id)) from None

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
                    result.inserted = len(out)
                    result.rejected = len(bad)
                return result
            except IntegrityError:
                result = UpsertResult()
                if attempt == 4:
                    raise
        return result


class _Rej(tuple):
    def __new__(cls, raw, reason):
        return super().__new__(cls, (raw, reason))
