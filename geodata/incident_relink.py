"""Incident linking whose result depends on what is stored, not on the order batches came in.

Several ingest processes (one per source group), a lagging source and the field-report form
write pieces of incidents in any order. The incidents are defined as what one pass over every
piece in time order (time, layer, key) makes with :class:`geodata.incidents.IncidentIndex`, so
two stores holding the same rows hold the same incidents, with the same ids (derived from each
incident's first piece in time order).

A batch whose earliest row is at ``cut`` changes only what comes from ``cut`` on. Inside the
batch's transaction, under the ``incidents`` lock (``store.lock``: ``pg_advisory_xact_lock`` on
PostgreSQL, the write transaction itself on SQLite):

1. the stored rows of every layer with pieces (posts, safety replies, field reports) from
   ``cut`` on are read and locked (``FOR UPDATE``: a staff edit of one of them waits), and the
   batch's rows (and posts whose ``repost_of`` the dedupe settled in this transaction) replace
   the stored ones with the same key;
2. the incidents that can take those pieces (last seen from ``cut`` − 2 h on) are read; one with
   members from ``cut`` on is cut back to its members before ``cut``, its state (first and last
   seen, urgency, anchor, town) replayed from their rows; one with no member left is deleted —
   unless a piece makes it again (then it keeps its status);
3. every piece from ``cut`` on is assigned again, in time order;
4. the incidents that changed are written, and the stored rows whose incident (or copy) changed.

A batch of recent posts re-links the last minutes; a source bringing hours-old posts re-links
those hours. An ``incident_id`` set on a row by hand is not kept from ``cut`` on (no page sets
one; merging incidents by hand would need its own column).
"""

from __future__ import annotations

import pandas as pd

from geodata.incidents import WINDOW, IncidentIndex, _Incident, _piece_columns, pieces
from geodata.schema import LAYERS

PIECE_LAYERS = tuple(name for name, spec in LAYERS.items() if spec.incident_role)


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


def _facts(store, todo: list, cut) -> dict[tuple, tuple]:
    """(time, urgency, point, town) of the members before ``cut`` of the incidents cut back."""
    since = min(pd.Timestamp(rec["first_seen"]) for rec, _ in todo)
    wanted = {m for _, keep in todo for m in keep}
    ids = sorted({rec["incident_id"] for rec, _ in todo})
    facts: dict[tuple, tuple] = {}
    for name in sorted({layer for layer, _ in wanted}):
        if name not in LAYERS or LAYERS[name].incident_role is None:
            continue
        # a layer whose rows name their incident: read only the rows of these incidents
        where = {"incident_id": ids} if "incident_id" in LAYERS[name].columns else None
        part = store.read(name, since=since, until=cut, where=where,
                          columns=[*_piece_columns(name), "geometry"])  # fmt: skip
        mine = {key for layer, key in wanted if layer == name}
        part = part[[key in mine for key in _keys(name, part)]]  # only the members' rows
        for _, key, _, when, urgency, point, town in pieces(name, part, linked=True):
            if (name, key) in wanted:
                facts[(name, key)] = (when, urgency, point, town)
    return facts


def _replay(rec: dict, geom, keep: list[tuple], facts: dict) -> _Incident:
    """The incident ``rec`` made again from its members ``keep`` (those before the cut)."""
    found = sorted(((*facts[m], m) for m in keep if m in facts), key=lambda f: (f[0].value, *f[4]))
    if not found:  # the rows are gone (retention): keep what the incident says
        inc = _Incident({**rec, "members": keep}, geom)
        inc.changed = True
        return inc
    when, _, point, town, _ = found[0]
    base = {**rec, "first_seen": when, "last_seen": when, "urgency": None,
            "town_code": town, "members": []}  # fmt: skip
    inc = _Incident(base, point)
    for when, urgency, point, town, (layer, key) in found:
        inc.add(layer, key, when, urgency, town, point)
    for member in keep:
        if member not in inc.member_set:
            inc.members.append(member)
            inc.member_set.add(member)
    inc.changed = True
    return inc


def _cut_back(store, incidents: pd.DataFrame, cut_members: set, cut):
    """The index of the incidents as they were before ``cut``, and the ones with nothing left
    (id -> status)."""
    index = IncidentIndex()
    dropped: dict[str, str | None] = {}
    todo = []
    geoms = list(incidents.geometry) if "geometry" in incidents else [None] * len(incidents)
    for rec, geom in zip(incidents.to_dict("records"), geoms, strict=True):
        members = [tuple(m) for m in (rec.get("members") or [])]
        keep = [m for m in members if m not in cut_members]
        if len(keep) == len(members):
            index._put(_Incident(dict(rec), geom))
        elif not keep:
            dropped[rec["incident_id"]] = rec.get("status")
        else:
            todo.append((rec, keep, geom))
    if todo:
        facts = _facts(store, [(rec, keep) for rec, keep, _ in todo], cut)
        for rec, keep, geom in todo:
            index._put(_replay(rec, geom, keep, facts))
    return index, dropped


def relink(
    store,
    layer: str,
    frame: pd.DataFrame,
    *,
    changed: dict[str, pd.DataFrame | None] | None = None,
    read: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Link the validated batch ``frame`` of ``layer`` and everything stored from its earliest
    row on (see the module docstring); write the incidents and the other rows that changed.

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
    cut = times.min()
    store.lock("incidents")
    stored_rows, rows = {}, {}
    for name in PIECE_LAYERS:
        given = (read or {}).get(name)
        stored_rows[name] = (
            given if given is not None else store.read(name, since=cut, for_update=True)
        )
        extra = [(changed or {}).get(name), frame if name == layer else None]
        rows[name] = _overlay(stored_rows[name], *extra, key=LAYERS[name].key)
    keys = {name: _keys(name, f) for name, f in rows.items()}
    cut_members = {(name, k) for name, ks in keys.items() for k in ks}
    # locked too: a status staff set meanwhile is waited for and written back as it is
    stored_incidents = store.read("incidents", since=cut - WINDOW, for_update=True)
    index, dropped = _cut_back(store, stored_incidents, cut_members, cut)
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
    incidents = index.changed_frame()
    if len(incidents):
        store.upsert("incidents", incidents, source="incidents")
    gone = [i for i in dropped if i not in index.all]
    if gone:
        store.delete("incidents", gone)
    _write_changed_rows(store, layer, frame, rows, keys, stored_rows, assigned)
    if "incident_id" not in spec.columns:
        return frame
    frame = frame.copy()
    ids = [assigned.get((layer, k)) for k in _keys(layer, frame)]
    frame["incident_id"] = pd.Series(ids, index=frame.index, dtype=object)
    return frame


def _write_changed_rows(store, layer, frame, rows, keys, stored_rows, assigned) -> None:
    """Write the stored rows (not the batch's) whose incident or ``repost_of`` changed."""
    batch = set(_keys(layer, frame))
    for name, f in rows.items():
        spec = LAYERS[name]
        if "incident_id" not in spec.columns or not len(f):
            continue
        before = dict(zip(_keys(name, stored_rows[name]), _pairs(stored_rows[name]), strict=True))
        new_ids = [assigned.get((name, k)) for k in keys[name]]
        f = f.copy()
        f["incident_id"] = pd.Series(new_ids, index=f.index, dtype=object)
        after = _pairs(f)
        todo = [
            i
            for i, k in enumerate(keys[name])
            if not (name == layer and k in batch) and before.get(k) != after[i]
        ]
        if todo:
            store.upsert(name, f.iloc[todo], source="incidents")


def _pairs(frame: pd.DataFrame) -> list[tuple]:
    """(incident_id, repost_of) of each row, None for empty."""
    cols = [c for c in ("incident_id", "repost_of") if c in frame]
    values = [[v if isinstance(v, str) and v else None for v in frame[c]] for c in cols]
    return list(zip(*values, strict=True)) if values else [()] * len(frame)
