"""Grouped counts, minima and maxima computed in the database (:meth:`AggregateMixin.aggregate`).

A reader that needs only a summary of many rows — how many member rows an incident has before
a time, its first and last, its highest urgency — gets one row per group instead of decoding
every row into Python: re-linking an incident that a batch cuts back read its member rows
(thousands for the largest incident at 100k posts) once per batch for a handful of facts.
The same filters as :meth:`geodata.store.core.Store.read` apply (the store's municipality
scope, a time window, equality and ``IN`` lists).
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func

from geodata.schema import BOOL, FLOAT, INT, LAYERS, TIME
from geodata.store.codec import db_time as _db_time

OPS = ("count", "min", "max", "any")


class AggregateMixin:
    """Grouped aggregates of :class:`geodata.store.core.Store`."""

    def aggregate(
        self,
        layer: str,
        by: list[str],
        aggs: dict[str, tuple[str, str | None]],
        *,
        since=None,
        until=None,
        where: dict | None = None,
    ) -> pd.DataFrame:
        """One row per distinct ``by`` of the rows of ``layer`` that :meth:`read` would return
        with the same ``since``/``until``/``where``.

        Parameters
        ----------
        by : the grouping columns.
        aggs : output column -> (operation, column): ``("count", None)`` rows in the group;
            ``("min" | "max", column)`` over the non-null values (None when there are none);
            ``("any", column)`` whether a value is true (a boolean column) or present (any
            other column: not null and, for text, not empty).
        where : as :meth:`read`; a list longer than the store's chunk is read in several
            statements, so its column must be one of ``by`` (a group never spans two).

        Returns
        -------
        DataFrame with ``by`` then the ``aggs`` columns: counts and "any" as int / bool, minima
        and maxima of a time column as UTC timestamps, of an integer column as Int64.
        """
        from geodata.store.core import CHUNK, _where_chunks

        spec = LAYERS[layer]
        long = [c for c, v in (where or {}).items() if isinstance(v, (list, tuple, set))]
        if any(len(where[c]) > CHUNK and c not in by for c in long):
            raise ValueError(
                f"aggregate: a list of more than {CHUNK} values must be a group column"
            )
        for name, (op, column) in aggs.items():
            if op not in OPS:
                raise ValueError(f"aggregate {name!r}: unknown operation {op!r} (one of {OPS})")
            if op != "count" and column not in spec.columns:
                raise ValueError(f"aggregate {name!r}: {layer} has no column {column!r}")
        rows = []
        with self._read() as conn:
            for part in _where_chunks(where, ordered=False):
                table, conds = self._select(spec, since, until, None, part)
                groups = [table.c[c] for c in by]
                exprs = [_expr(table, spec, op, column).label(name)
                         for name, (op, column) in aggs.items()]  # fmt: skip
                stmt = sa.select(*groups, *exprs).where(*conds).group_by(*groups)
                rows += conn.execute(stmt).all()
        out = pd.DataFrame([tuple(r) for r in rows], columns=[*by, *aggs])
        for name, (op, column) in aggs.items():
            kind = spec.columns.get(column)
            if op == "count":
                out[name] = out[name].astype("int64")
            elif op == "any":
                out[name] = out[name].astype(bool)
            elif kind == TIME:
                out[name] = pd.to_datetime(out[name], utc=True, format="mixed")
            elif kind == INT:
                out[name] = out[name].astype("Int64")
            elif kind == FLOAT:
                out[name] = out[name].astype("float64")
        return out

    def members_before(self, incident_ids: list[str], cut) -> pd.DataFrame:
        """Per incident of ``incident_ids``, what its ``incident_members`` rows before ``cut``
        say: ``last`` (the newest time, NaT when it has none), ``urgency`` (the highest),
        ``located`` and ``town`` (whether one is located / has a town).

        Found by seeks in the members' (incident, time) index instead of a scan of every row
        (29,000 for the largest incident of the 1m drill, every batch): the newest time before
        the cut is the index entry just below it; located and town stop at the first row that
        has one; the highest urgency is the incident's own (its rows' highest) as soon as one
        row before the cut has it, else the rows before the cut are scanned for it.
        """
        from geodata.store.core import CHUNK

        cols = ["incident_id", "last", "urgency", "located", "town"]
        if not incident_ids:
            return pd.DataFrame(columns=cols)
        inc, m = self.tables["incidents"], self.tables["incident_members"]
        before = _db_time(cut, self.postgres)

        def mine(*extra):
            return sa.and_(m.c.incident_id == inc.c.incident_id, m.c.seen_at < before, *extra)

        last = sa.select(func.max(m.c.seen_at)).where(mine()).scalar_subquery()
        top = sa.select(func.max(m.c.urgency)).where(mine()).scalar_subquery()
        urgency = sa.case(
            (inc.c.urgency.is_(None), sa.null()),
            (sa.exists().where(mine(m.c.urgency >= inc.c.urgency)), inc.c.urgency),
            else_=top,
        )
        located = sa.exists().where(mine(m.c.located.is_(True)))
        town = sa.exists().where(mine(m.c.town_code.is_not(None), m.c.town_code != ""))
        rows = []
        with self._read() as conn:
            for start in range(0, len(incident_ids), CHUNK):
                part = incident_ids[start : start + CHUNK]
                stmt = sa.select(
                    inc.c.incident_id, last.label("last"), urgency.label("urgency"),
                    located.label("located"), town.label("town"),
                ).where(inc.c.incident_id.in_(part))  # fmt: skip
                rows += conn.execute(stmt).all()
        out = pd.DataFrame([tuple(r) for r in rows], columns=cols)
        out["last"] = pd.to_datetime(out["last"], utc=True, format="mixed")
        out["urgency"] = out["urgency"].astype("Int64")
        out["located"] = out["located"].astype(bool)
        out["town"] = out["town"].astype(bool)
        return out


def _expr(table, spec, op: str, column: str | None):
    if op == "count":
        return func.count()
    col = table.c[column]
    if op == "min":
        return func.min(col)
    if op == "max":
        return func.max(col)
    present = col.is_(True) if spec.columns[column] == BOOL else col.is_not(None)
    if spec.columns[column] not in (BOOL, INT, FLOAT, TIME):
        present = sa.and_(present, col != "")
    return func.max(sa.case((present, 1), else_=0))
