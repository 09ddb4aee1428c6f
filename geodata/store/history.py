"""Append-only histories keyed by (identity, version): a staff write adds the next version.

A layer declared ``write="append"`` whose key ends in ``version`` (evacuation information,
:mod:`geodata.evacuation`) is written only through :meth:`HistoryMixin.append_version`: nothing
is ever updated or deleted, each write is a new record numbered after the newest one of its
identity, and a write based on a version that is no longer the newest is refused with the
newest record (:class:`~geodata.store.errors.StaleVersion`) — two commanders lifting the same
order at once cannot both succeed. Every write leaves an audit row (old = the record it
changes, new = the record written).
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from geodata.schema import LAYERS, validate
from geodata.store.codec import plain as _plain
from geodata.store.errors import StaleVersion


class HistoryMixin:
    """Version-appending writes of :class:`geodata.store.core.Store`."""

    def append_version(self, layer: str, record: dict, *, actor: str, base_version: int) -> dict:
        """Append the next version of one record of an append-only history.

        Parameters
        ----------
        layer : the layer (``write="append"``, key ending in ``version``).
        record : the record's columns without ``version``.
        actor : who writes it (audit log).
        base_version : the newest version the writer saw (0 for a new identity). When another
            version has been written since, :class:`StaleVersion` is raised with the newest
            record and nothing is written.

        Returns
        -------
        The record written (dict), with its ``version``.
        """
        spec = LAYERS[layer]
        if spec.write != "append" or spec.key[-1] != "version":
            raise ValueError(f"{layer} is not a versioned append-only history")
        if not actor:
            raise ValueError("a staff write needs an actor")
        ident = tuple(record.get(k) for k in spec.key[:-1])
        if any(v is None for v in ident):
            raise ValueError(f"{layer}: {', '.join(spec.key[:-1])} must be given")
        try:
            return self._append_version(spec, record, ident, actor, base_version)
        except IntegrityError:  # another writer took the version between read and insert
            raise StaleVersion(self._newest_version(spec, ident)) from None

    def _newest_version(self, spec, ident) -> dict | None:
        frame = self.read(spec.name, where=dict(zip(spec.key[:-1], ident, strict=True)))
        if frame.empty:
            return None
        return _plain(frame.sort_values("version").iloc[-1].to_dict())

    def _append_version(self, spec, record, ident, actor, base_version) -> dict:
        t = self.tables[spec.name]
        cond = [t.c[k] == v for k, v in zip(spec.key[:-1], ident, strict=True)]
        with self._write() as conn:
            last = conn.execute(sa.select(func.max(t.c.version)).where(*cond)).scalar() or 0
            current = None
            if last:
                names = list(spec.columns)
                row = conn.execute(
                    sa.select(*[t.c[n] for n in names]).where(*cond, t.c.version == last)
                ).first()
                current = _plain(self._decode(spec, [row], names).iloc[0].to_dict())
            if int(base_version) != int(last):
                raise StaleVersion(current)
            valid, rejected = validate(pd.DataFrame([{**record, "version": last + 1}]), spec)
            if len(rejected):
                raise ValueError(rejected.iloc[0]["reason"])
            names, rows = self._encode(spec, valid)
            conn.exec_driver_sql(self._insert_sql(spec, names), rows)
            new = _plain(valid.iloc[0].to_dict())
            self._audit(conn, actor, new.get("action") or "append", spec.name,
                        (*ident, last + 1), current, new)  # fmt: skip
            self._bump(conn, spec.name)
        return new
