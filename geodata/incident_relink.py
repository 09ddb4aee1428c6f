"""Incident linking whose result depends on what is stored, not on the order batches came in.

Several ingest processes (one per source group), a lagging source and the field-report form
write pieces of incidents in any order. The incidents are defined as what one pass over every
piece in time order (time, layer, key) makes with :class:`geodata.incidents.IncidentIndex`, so
two stores holding the same rows hold the same incidents, with the same ids (derived from each
incident's first piece in time order).

A batch whose earliest row is at ``cut`` changes only what comes from ``cut`` on. Inside the
batch's transaction, under the ``incidents`` lock (``store.lock``: ``pg_advisory_xact_lock`` on
PostgreSQL, the write transaction itself on SQLite):

1. the cut moves back to the stored time of a piece of the batch that is already a member of
   an incident at an earlier time (a record delivered again with a later time: a corrected
   field report, a post re-fetched): its old place shaped what came after it. The stored rows
   of every layer with pieces (posts, safety replies, field reports) from ``cut`` on are read
   and locked (``FOR UPDATE``: a staff edit of one of them waits) — only what makes a piece
   (:func:`link_columns`); a row written again is read whole then — and the batch's rows (and
   posts whose ``repost_of`` the dedupe settled in this transaction) replace the stored ones
   with the same key;
2. the ``incident_members`` rows of the pieces from ``cut`` on are read (one row per piece:
   its incident, time, urgency, whether it is located, its town); the incidents that can take
   pieces (last seen from ``cut`` − 2 h on) are read; one that loses pieces is cut back to its
   pieces before ``cut``, its state (last seen, urgency, counts; anchor and town stay or go)
   made from their member rows alone without reading them (:func:`_summed`: its counts less
   its rows from the cut on, the rest by index seeks, ``Store.members_before``); one with no
   piece left is deleted — unless a piece makes it again (then it keeps its status);
3. every piece from ``cut`` on is assigned again, in time order;
4. the incidents that changed are written (a small row: no member list), the member rows that
   changed, and the stored rows whose incident (or copy) changed.

A batch of recent posts re-links the last minutes; a source bringing hours-old posts re-links
those hours. An ``incident_id`` set on a row by hand is not kept from ``cut`` on (no page sets
one; merging incidents by hand would need its own column). A piece is taken as re-linked by its
member row's time: a row whose time was edited to a later one without being written through
:func:`relink` stays counted in its old incident until it is re-linked.
"""

from __future__ import annotations

import pandas as pd

from geodata.incidents import (
    WINDOW,
    IncidentIndex,
    _Incident,
    _piece_columns,
    may_be_piece,
    pieces,
    present,
)
from geodata.schema import LAYERS, MUNICIPALITY

PIECE_LAYERS = tuple(name for name, spec in LAYERS.items() if spec.incident_role)


def link_columns(layer: str) -> list[str]:
    """What re-linking reads of a layer's stored rows: what makes a row a piece (key, time,
    category, urgency, town, what keeps it out), its incident, its ``repost_of`` and its
    place. A stored row that has to be written again is read whole, by its key, then."""
    spec = LAYERS[layer]
    wanted = [c for c in (*_piece_columns(layer), "incident_id", "repost_of") if c in spec.columns]
    return list(dict.fromkeys([*wanted, *(["geometry"] if spec.geometry else [])]))


def _keys(layer: str, frame: pd.DataFrame) -> list[str]:
    """The member keys (``"a:b"``) of ``frame``'s rows, as incidents name them."""
    spec = LAYERS[layer]
    if not len(frame):
        return []
    cols = [frame[k].astype(str).tolist() for k in spec.key]
    return [":".join(parts) for parts in zip(*cols, strict=True)]


def _overlay(stored: pd.DataFrame, *replacements: pd.DataFrame | None, key) -> pd.DataFrame:
    """``stored`` with the rows of ``replacements`` (later ones win) in place of the same key."""
    frames = [f for f in (stored, *replacements) if f is not None and len(f)]
    if len(frames) <= 1:
        return frames[0] if frames else stored
    columns = [c for c in stored.columns if all(c in f.columns for f in frames)]
    combined = pd.concat([f[columns] for f in frames], ignore_index=True)
    return combined.drop_duplicates(subset=list(key), keep="last").reset_index(drop=True)


def _linked_rows(layer: str, stored: pd.DataFrame) -> pd.DataFrame:
    """The stored rows re-linking has to look at: those that may be pieces and those that name
    an incident (a piece no longer: its incident is taken away). Copies and rows without a
    category are most of the rest; the batch's rows and those the dedupe changed are added
    whole."""
    if not len(stored):
        return stored
    keep = may_be_piece(layer, stored)
    if "incident_id" in stored:
        keep |= stored["incident_id"].map(present).to_numpy(dtype=bool)
    return stored if keep.all() else stored[keep]


def _moved_from(store, layer: str, frame: pd.DataFrame, cut):
    """The earliest stored time, before ``cut``, of a piece of ``frame`` already a member of an
    incident (a record delivered again with a later time: a corrected field report, a post
    re-fetched), else ``cut``.

    Its old place in time shaped every assignment after it (an incident it kept open took the
    pieces that followed), so the re-linking starts there."""
    keys = _keys(layer, frame)
    if not keys:
        return cut
    found = store.aggregate(
        "incident_members",
        by=["layer", "member"],
        aggs={"first": ("min", "seen_at")},
        until=cut,
        where={"layer": layer, "member": keys},
    )
    return min(cut, found["first"].min()) if len(found) else cut


class _Kept:
    """What an incident's pieces before the cut say, gathered from their member rows."""

    __slots__ = ("counts", "first", "last", "urgency", "located", "town")

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.first = self.last = None
        self.urgency = None
        self.located = self.town = False

    def merge(self, layer, n, first_ns, last_ns, urgency, located, town) -> None:
        """Take ``n`` member rows of ``layer`` summed up (first, last, highest urgency, whether
        one is located, whether one has a town)."""
        self.counts[layer] = self.counts.get(layer, 0) + int(n)
        self.first = first_ns if self.first is None else min(self.first, first_ns)
        self.last = last_ns if self.last is None else max(self.last, last_ns)
        if urgency is not None:
            self.urgency = int(urgency) if self.urgency is None else max(self.urgency, int(urgency))
        self.located = self.located or bool(located)
        self.town = self.town or bool(town)


# What :func:`_summed` asks the store of an incident's member rows, per layer, when their
# counts cannot be taken from the incident's row (see there).
MEMBER_SUMMARY = {
    "n": ("count", None),
    "first": ("min", "seen_at"),
    "last": ("max", "seen_at"),
    "urgency": ("max", "urgency"),
    "located": ("any", "located"),
    "town": ("any", "town_code"),
}


def _summed(store, recs: list[dict], cut, after: pd.DataFrame) -> dict[str, _Kept]:
    """incident id -> :class:`_Kept` of the member rows before ``cut`` of the incidents
    ``recs`` (their stored rows); ``after``: the stored member rows from ``cut`` on.

    An incident's row counts its member rows per layer, so the counts before the cut are its
    counts less its rows in ``after``, and its first time stays; the newest time, highest
    urgency and whether one is located or has a town come from index seeks
    (``Store.members_before``), not from a scan of every member row before the cut (29,000
    for the largest incident of the 1m drill, every batch). An incident whose counts do not
    add up that way (a row it was never written with) is summed up row by row, as the store
    aggregates them."""
    if not recs:
        return {}
    ids = [rec["incident_id"] for rec in recs]
    later: dict[tuple, int] = {}
    for pair in zip(after["incident_id"], after["layer"], strict=True):
        later[pair] = later.get(pair, 0) + 1
    facts = store.members_before(ids, cut)
    out: dict[str, _Kept] = {}
    recount = []
    by_id = {rec["incident_id"]: rec for rec in recs}
    lasts = facts["last"].to_numpy(dtype="datetime64[ns]").astype("int64").tolist()
    for incident_id, last, missing, urgency, located, town in zip(
        facts["incident_id"], lasts, facts["last"].isna().tolist(),
        facts["urgency"].astype(object).where(facts["urgency"].notna(), None).tolist(),
        facts["located"].tolist(), facts["town"].tolist(), strict=True,
    ):  # fmt: skip
        rec = by_id[incident_id]
        counts = rec.get("counts") if isinstance(rec.get("counts"), dict) else {}
        kept = {layer: int(n) - later.get((incident_id, layer), 0) for layer, n in counts.items()}
        if any(n < 0 for n in kept.values()) or (sum(kept.values()) > 0) == missing:
            recount.append(incident_id)
            continue
        if missing:
            continue  # nothing before the cut: the incident is gone unless made again
        agg = out[incident_id] = _Kept()
        agg.counts = {layer: n for layer, n in kept.items() if n > 0}
        agg.first = pd.Timestamp(rec["first_seen"]).value
        agg.last = last
        agg.urgency = None if urgency is None else int(urgency)
        agg.located, agg.town = bool(located), bool(town)
    out.update(_aggregated(store, recount, cut))
    return out


def _aggregated(store, ids: list[str], cut) -> dict[str, _Kept]:
    """incident id -> :class:`_Kept` of its member rows before ``cut``, aggregated by the
    store (one row per incident and layer, not one per member)."""
    if not ids:
        return {}
    groups = store.aggregate(
        "incident_members", by=["incident_id", "layer"], aggs=MEMBER_SUMMARY, until=cut,
        where={"incident_id": ids},
    )  # fmt: skip
    out: dict[str, _Kept] = {}
    firsts = groups["first"].to_numpy(dtype="datetime64[ns]").astype("int64").tolist()
    lasts = groups["last"].to_numpy(dtype="datetime64[ns]").astype("int64").tolist()
    urgencies = groups["urgency"].astype(object).where(groups["urgency"].notna(), None)
    for incident_id, layer, n, first, last, urgency, located, town in zip(
        groups["incident_id"], groups["layer"], groups["n"].tolist(), firsts, lasts,
        urgencies.tolist(), groups["located"].tolist(), groups["town"].tolist(), strict=True,
    ):  # fmt: skip
        agg = out.get(incident_id)
        if agg is None:
            agg = out[incident_id] = _Kept()
        agg.merge(layer, n, first, last, urgency, located, town)
    return out


def _replayed(rec: dict, geom, kept: _Kept) -> _Incident:
    """The incident ``rec`` cut back to its pieces before the cut (``kept``), from the facts
    their member rows keep: no piece's own row is read.

    Its pieces before the cut precede every piece after it, so the first time stays; the last
    time and urgency come from the kept pieces; the anchor (the first located piece's point)
    and the town (the first piece's town) stay when a kept piece had one, else they are gone —
    the piece that gave them was after the cut."""
    base = {
        **rec,
        "first_seen": pd.Timestamp(kept.first, tz="UTC"),
        "last_seen": pd.Timestamp(kept.last, tz="UTC"),
        "urgency": kept.urgency,
        "town_code": rec.get("town_code") if kept.town else None,
        "counts": dict(kept.counts),
    }
    inc = _Incident(base, geom if kept.located else None)
    inc.changed = True
    return inc


def _cut_back(store, incidents: pd.DataFrame, before: pd.DataFrame, cut):
    """The index of the incidents as they were before ``cut``, the ones with nothing left
    (id -> status) and the state of each stored incident (id -> :meth:`_Incident.state`).
    ``before``: the stored member rows from ``cut`` on (the pieces re-linked; every one of
    them is there: the cut lies at or before each one's stored time)."""
    index = IncidentIndex()
    losing = set(before["incident_id"])
    dropped: dict[str, str | None] = {}
    states: dict[str, tuple] = {}
    todo = []
    geoms = list(incidents.geometry) if "geometry" in incidents else [None] * len(incidents)
    for rec, geom in zip(incidents.to_dict("records"), geoms, strict=True):
        inc = _Incident(rec, geom)
        states[rec["incident_id"]] = inc.state()
        if rec["incident_id"] not in losing:
            index._put(inc)
        else:
            todo.append((rec, geom))
    if not todo:
        return index, dropped, states
    kept = _summed(store, [rec for rec, _ in todo], cut, before)
    for rec, geom in todo:
        mine = kept.get(rec["incident_id"])
        if mine is None:
            dropped[rec["incident_id"]] = rec.get("status")
        else:
            index._put(_replayed(rec, geom, mine))
    return index, dropped, states


def relink(
    store,
    layer: str,
    frame: pd.DataFrame,
    *,
    changed: dict[str, pd.DataFrame | None] | None = None,
    read: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Link the validated batch ``frame`` of ``layer`` and everything stored from its earliest
    row on (see the module docstring); write the incidents, their member rows and the other
    rows that changed.

    Call it inside ``store.transaction()``.

    Parameters
    ----------
    changed : layer -> stored rows already changed in this transaction and not written yet
        (the posts whose ``repost_of`` the ingest's dedupe settled); written here when they
        differ from the store.
    read : layer -> its stored rows from the batch's earliest row on, already read (locked) in
        this transaction (the dedupe's settling read the posts): not read again.

    Returns
    -------
    ``frame`` with its ``incident_id`` (for a layer that has the column).
    """
    spec = LAYERS[layer]
    times = pd.to_datetime(frame[spec.time_column], utc=True, errors="coerce").dropna()
    if not len(times):
        return frame
    store.lock("incidents")
    batch_cut = times.min()
    cut = _moved_from(store, layer, frame, batch_cut)
    stored_rows, rows = {}, {}
    for name in PIECE_LAYERS:
        given = (read or {}).get(name)
        columns = link_columns(name)
        if given is None:
            stored_rows[name] = store.read(name, since=cut, columns=columns, for_update=True)
        elif cut < batch_cut:  # read from the batch's earliest on: the stretch before it too
            gap = store.read(name, since=cut, until=batch_cut, columns=columns, for_update=True)
            stored_rows[name] = _overlay(gap, given, key=LAYERS[name].key)
        else:
            stored_rows[name] = given
        extra = [(changed or {}).get(name), frame if name == layer else None]
        rows[name] = _overlay(_linked_rows(name, stored_rows[name]), *extra, key=LAYERS[name].key)
    keys = {name: _keys(name, f) for name, f in rows.items()}
    before = store.read("incident_members", since=cut)
    # locked too: a status staff set meanwhile is waited for and written back as it is
    stored_incidents = store.read("incidents", since=cut - WINDOW, for_update=True)
    index, dropped, states = _cut_back(store, stored_incidents, before, cut)
    items = [
        (pd.Timestamp(when), name, key, category, urgency, point, town)
        for name, f in rows.items()
        for _, key, category, when, urgency, point, town in pieces(name, f, linked=True)
    ]
    items.sort(key=lambda it: (it[0].value, it[1], it[2]))
    assigned: dict[tuple, str] = {}
    for when, name, key, category, urgency, point, town in items:
        assigned[(name, key)] = index.assign(name, key, category, when, urgency, point, town)
    for incident_id, status in dropped.items():
        if incident_id in index.all and status:
            index.all[incident_id].rec["status"] = status  # made again: staff's status stays
    home = store.home_municipality  # what the store gives a row written without one
    for inc in index.all.values():
        if inc.changed and not inc.rec.get(MUNICIPALITY):
            inc.rec[MUNICIPALITY] = home  # an incident made (again) in this pass
    incidents = index.changed_frame(stored=states)  # only those that differ from the store
    if len(incidents):
        store.upsert("incidents", incidents, source="incidents")
    gone = [i for i in dropped if i not in index.all]
    if gone:
        store.delete("incidents", gone)
    _write_members(store, index, items, assigned, before)
    _write_changed_rows(store, layer, frame, rows, keys, stored_rows, assigned)
    if "incident_id" not in spec.columns:
        return frame
    frame = frame.copy()
    ids = [assigned.get((layer, k)) for k in _keys(layer, frame)]
    frame["incident_id"] = pd.Series(ids, index=frame.index, dtype=object)
    return frame


def _write_members(store, index: IncidentIndex, items: list, assigned: dict, before) -> None:
    """Write the member rows of the pieces assigned that differ from the stored ones
    (``before``) and delete those of the pieces that are no longer pieces of any incident."""
    home = store.home_municipality
    stored = dict(zip(zip(before["layer"], before["member"], strict=True), _member_facts(before),
                      strict=True))  # fmt: skip
    rows = []
    municipality_of = {i: inc.rec.get(MUNICIPALITY) or home for i, inc in index.all.items()}
    for when, name, key, _, urgency, point, town in items:  # ``when``: a Timestamp (relink)
        incident_id = assigned[(name, key)]
        if urgency is not None:
            urgency = None if urgency is pd.NA or urgency != urgency else int(urgency)
        row = (incident_id, when.value, urgency, point is not None, town or None,
               municipality_of[incident_id])  # fmt: skip
        if stored.get((name, key)) != row:
            rows.append((name, key, *row))
    if rows:
        fresh = pd.DataFrame(rows, columns=["layer", "member", "incident_id", "seen_at", "urgency",
                                            "located", "town_code", MUNICIPALITY])  # fmt: skip
        fresh["seen_at"] = pd.to_datetime(fresh["seen_at"], utc=True)
        fresh["urgency"] = fresh["urgency"].astype("Int64")
        store.upsert("incident_members", fresh, source="incidents")
    gone = [k for k in zip(before["layer"], before["member"], strict=True) if k not in assigned]
    if gone:
        store.delete("incident_members", gone)


def _member_facts(members: pd.DataFrame) -> list[tuple]:
    """(incident, time in ns, urgency, located, town, municipality) of stored member rows, as
    :func:`_write_members` makes them for a piece."""
    if not len(members):
        return []
    seen = members["seen_at"].to_numpy(dtype="datetime64[ns]").astype("int64").tolist()
    urgency = [None if u is pd.NA or u is None or u != u else int(u) for u in members["urgency"]]
    town = [t if isinstance(t, str) and t else None for t in members["town_code"]]
    located = [bool(v) if v is not pd.NA and v is not None else False for v in members["located"]]
    return list(zip(members["incident_id"], seen, urgency, located, town,
                    members[MUNICIPALITY], strict=True))  # fmt: skip


def _write_changed_rows(store, layer, frame, rows, keys, stored_rows, assigned) -> None:
    """Write the stored rows (not the batch's) whose incident or ``repost_of`` changed."""
    batch = set(_keys(layer, frame))
    for name, f in rows.items():
        spec = LAYERS[name]
        if "incident_id" not in spec.columns or not len(f):
            continue
        before = dict(zip(_keys(name, stored_rows[name]), _pairs(stored_rows[name]), strict=True))
        new_ids = [assigned.get((name, k)) for k in keys[name]]
        others = [_texts(f[c]) for c in ("repost_of",) if c in f]
        todo = [
            i
            for i, (k, *after) in enumerate(zip(keys[name], new_ids, *others, strict=True))
            if not (name == layer and k in batch) and before.get(k) != tuple(after)
        ]
        if todo:
            _write_rows_again(store, name, f.iloc[todo], [new_ids[i] for i in todo])


def _write_rows_again(store, layer: str, rows: pd.DataFrame, incident_ids: list) -> None:
    """Write the stored ``rows`` (read in part: :func:`link_columns`) with their new incident
    and ``repost_of``: each is read whole by its key (locked already) and written with those."""
    spec = LAYERS[layer]
    keys = list(zip(*(rows[k].tolist() for k in spec.key), strict=True))
    values = {"incident_id": incident_ids}
    if "repost_of" in rows:
        values["repost_of"] = _texts(rows["repost_of"])
    position = {k: i for i, k in enumerate(keys)}
    whole = store.read_keys(layer, keys, for_update=True)
    if len(whole) != len(keys):
        raise RuntimeError(f"re-linking: {len(keys) - len(whole)} {layer} rows left the store")
    at = [position[k] for k in zip(*(whole[k].tolist() for k in spec.key), strict=True)]
    for column, given in values.items():
        whole[column] = pd.Series([given[i] for i in at], index=whole.index, dtype=object)
    store.upsert(layer, whole, source="incidents")


def _texts(values) -> list:
    """Each value as a non-empty string, else None."""
    return [v if isinstance(v, str) and v else None for v in values]


def _pairs(frame: pd.DataFrame) -> list[tuple]:
    """(incident_id, repost_of) of each row, None for empty."""
    values = [_texts(frame[c]) for c in ("incident_id", "repost_of") if c in frame]
    return list(zip(*values, strict=True)) if values else [()] * len(frame)
