"""Merging posts, safety replies and field reports into incidents.

Dedupe of posts (``repost_of``) is in ingest/dedupe.py; copies never start or join incidents.

Incidents
    An incident gathers the pieces about one thing at one place: posts (not copies; primary
    category other than その他), safety replies saying 要救助/負傷 (category 救助要請) and field
    reports (category other than その他). A piece joins an incident of its category when

    * its time is within ``WINDOW`` (2 h) of the incident's [first_seen, last_seen], and
    * its point is within ``RADIUS_M`` (300 m) of the incident's anchor point (the point of its
      first located piece), or — for a piece known only by its town — the town is the same.

    Otherwise it starts a new incident whose id is derived from its first piece, so a re-run
    produces the same incidents. Candidates are found through a grid of ~300 m cells and a
    town index (no pairwise comparison). The ``incident_members`` layer holds one row per piece
    (``layer``, ``member`` = ``"source:id"``, its incident and its facts); an incident's
    ``counts`` counts its pieces per layer, ``urgency`` is the highest of the pieces.
    :func:`link_incidents` links frames in memory (their incidents carry a ``members`` list;
    pieces that already carry an ``incident_id`` are left alone). What the store holds is
    linked by :func:`link_and_store`, which re-links from a batch's earliest row on (geodata/incident_relink.py): the incidents are
    those of one pass over every piece in time order, whatever order the batches came in.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.schema import LAYERS, MUNICIPALITY, STORE_CRS, empty_frame, validate
from geodata.text.fingerprints import digest

WINDOW = pd.Timedelta(hours=2)
RADIUS_M = 300.0
_M_PER_DEG = 111_320.0
_CELL = RADIUS_M / _M_PER_DEG  # degrees of latitude per cell
_WINDOW_NS = WINDOW.value


def post_key(platform, post_id) -> str:
    """The ``platform:post_id`` form of a post key (repost_of and incident members use it)."""
    return f"{platform}:{post_id}"


def present(value) -> bool:
    """Whether ``value`` is a non-empty string (a set ``repost_of``)."""
    return isinstance(value, str) and bool(value)


# -- incidents ------------------------------------------------------------------------------


class _Incident:
    """An incident while pieces are assigned: its row (``rec``), anchor and per-layer counts.

    ``members`` holds the pieces it took in this pass — and, when the row came with a
    ``members`` list (:func:`link_incidents` on frames), those too. What the store holds of an
    incident's pieces is the ``incident_members`` layer (geodata/incident_relink.py).
    """

    def __init__(self, rec: dict, geom):
        self.rec = rec
        self.anchor = geom if geom is not None and not geom.is_empty else None
        self.xy = (self.anchor.x, self.anchor.y) if self.anchor is not None else None
        given = rec.get("members")
        self.members = [tuple(m) for m in given] if isinstance(given, list) else []
        self.member_set = set(self.members)
        counts = rec.get("counts")
        if isinstance(counts, dict):
            self.counts = {k: int(v) for k, v in counts.items()}
        else:
            self.counts = {}
            for layer, _ in self.members:
                self.counts[layer] = self.counts.get(layer, 0) + 1
        self.first_ns = pd.Timestamp(rec["first_seen"]).value
        self.last_ns = pd.Timestamp(rec["last_seen"]).value
        self.changed = False

    def in_time(self, when_ns: int) -> bool:
        return self.first_ns - _WINDOW_NS <= when_ns <= self.last_ns + _WINDOW_NS

    def add(self, layer: str, key: str, when, urgency, town_code, point) -> None:
        if (layer, key) not in self.member_set:
            self.members.append((layer, key))
            self.member_set.add((layer, key))
            self.counts[layer] = self.counts.get(layer, 0) + 1
        if when.value < self.first_ns:
            self.first_ns, self.rec["first_seen"] = when.value, when
        if when.value > self.last_ns:
            self.last_ns, self.rec["last_seen"] = when.value, when
        if urgency is not None and not pd.isna(urgency):
            self.rec["urgency"] = max(int(self.rec.get("urgency") or 0), int(urgency))
        if self.anchor is None and point is not None:
            self.anchor, self.xy = point, (point.x, point.y)
        self.rec["town_code"] = self.rec.get("town_code") or town_code
        self.changed = True

    def state(self) -> tuple:
        """What its stored row says (category, first and last time, urgency, town, status,
        counts, anchor, municipality): equal states need no write."""
        rec = self.rec
        urgency = rec.get("urgency")
        urgency = (
            None if urgency is None or urgency is pd.NA or urgency != urgency else int(urgency)
        )
        town = rec.get("town_code")
        counts = tuple(sorted((k, int(v)) for k, v in self.counts.items()))
        return (rec.get("category"), self.first_ns, self.last_ns, urgency,
                town if isinstance(town, str) and town else None, rec.get("status"), counts,
                self.xy, rec.get(MUNICIPALITY))  # fmt: skip

    def as_row(self, members: bool = False) -> dict:
        row = {k: v for k, v in self.rec.items() if k != "members"}
        row["counts"] = dict(self.counts)
        if members:
            row["members"] = [list(m) for m in self.members]
        return row


# a grid cell's number: row * _ROW + column (any longitude's column is within +-70,000 < 2^19)
_ROW = 1 << 20


def _cell(x: float, y: float) -> tuple[int, int]:
    return (math.floor(y / _CELL), math.floor(x / _CELL))


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[1] - b[1]) * _M_PER_DEG
    dx = (a[0] - b[0]) * _M_PER_DEG * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot(dx, dy)


class IncidentIndex:
    """Open incidents bucketed by (category, grid cell) and (category, town).

    Parameters
    ----------
    incidents : stored incidents that may still take pieces (the incidents layer).
    """

    def __init__(self, incidents: pd.DataFrame | None = None):
        self.all: dict[str, _Incident] = {}
        # category -> grid cell (row * _ROW + column) -> incidents anchored in it
        self.cells: dict[str, dict[int, list[_Incident]]] = {}
        self.towns: dict[tuple, list[_Incident]] = {}
        self.member_of: dict[tuple[str, str], str] = {}
        if incidents is not None and len(incidents):
            geoms = incidents.geometry if "geometry" in incidents else [None] * len(incidents)
            for rec, geom in zip(incidents.to_dict("records"), geoms, strict=False):
                self._put(_Incident(dict(rec), geom))

    def _put(self, inc: _Incident) -> None:
        self.all[inc.rec["incident_id"]] = inc
        for member in inc.members:
            self.member_of[member] = inc.rec["incident_id"]
        cat = inc.rec["category"]
        if inc.xy is not None:
            cy, cx = _cell(*inc.xy)
            self.cells.setdefault(cat, {}).setdefault(cy * _ROW + cx, []).append(inc)
        if inc.rec.get("town_code"):
            self.towns.setdefault((cat, inc.rec["town_code"]), []).append(inc)

    def find(self, category, when, point, town_code) -> _Incident | None:
        """The open incident a piece belongs to, or None.

        A located piece joins the nearest incident within the radius, a piece known by its
        town the earliest one of its town; ties go to the earlier incident, then the smaller
        id — never to the order the index was filled in, so an index made again from the store
        (re-linking) chooses as the one pass did."""
        when_ns = when.value
        best, best_rank = None, (RADIUS_M, 0, "")
        grid = self.cells.get(category) if point is not None else None
        if grid:
            xy = (point.x, point.y)
            cy, cx = _cell(*xy)
            for row in (cy - 1, cy, cy + 1):
                base = row * _ROW + cx
                for cell in (base - 2, base - 1, base, base + 1, base + 2):
                    for inc in grid.get(cell, ()):
                        if not (inc.first_ns - _WINDOW_NS <= when_ns <= inc.last_ns + _WINDOW_NS):
                            continue  # not in time (:meth:`_Incident.in_time`)
                        d = _distance_m(xy, inc.xy)
                        if d > RADIUS_M:
                            continue
                        rank = (d, inc.first_ns, inc.rec["incident_id"])
                        if best is None or rank < best_rank:
                            best, best_rank = inc, rank
            if best is not None:
                return best
        if town_code:
            for inc in self.towns.get((category, town_code), ()):
                if inc.in_time(when_ns) and (point is None or inc.anchor is None):
                    rank = (0.0, inc.first_ns, inc.rec["incident_id"])
                    if best is None or rank < best_rank:
                        best, best_rank = inc, rank
        return best

    def assign(self, layer, key, category, when, urgency, point, town_code) -> str:
        """Put a piece into its incident (a new one when none fits); returns the incident id."""
        inc = self.find(category, when, point, town_code)
        if inc is None:
            rec = {
                "incident_id": "inc-" + digest(category, layer, key, size=8),
                "category": category,
                "first_seen": when,
                "last_seen": when,
                "urgency": None,
                "town_code": town_code,
                "status": "open",
            }
            existing = self.all.get(rec["incident_id"])
            if existing is not None:
                inc = existing
            else:
                inc = _Incident(rec, point)
                self._put(inc)
        had_town = inc.rec.get("town_code")
        inc.add(layer, key, when, urgency, town_code, point)
        self.member_of[(layer, key)] = inc.rec["incident_id"]
        if not had_town and inc.rec.get("town_code"):
            self.towns.setdefault((category, inc.rec["town_code"]), []).append(inc)
        return inc.rec["incident_id"]

    def changed_frame(
        self, members: bool = False, stored: dict[str, tuple] | None = None
    ) -> gpd.GeoDataFrame:
        """The incidents that took pieces, as an incidents-layer frame (with each one's
        ``members`` list when ``members``: the in-memory form of :func:`link_incidents`).

        ``stored``: incident id -> :meth:`_Incident.state` of its stored row; an incident that
        took pieces and came out as it is stored is left out (re-linking takes the same pieces
        again, in the same order, over and over)."""
        stored = stored or {}
        changed = [inc for inc in self.all.values()
                   if inc.changed and stored.get(inc.rec["incident_id"]) != inc.state()]  # fmt: skip
        if not changed:
            return empty_frame("incidents")
        rows = [inc.as_row(members) for inc in changed]
        geoms = [inc.anchor for inc in changed]
        return gpd.GeoDataFrame(
            pd.DataFrame(rows), geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS
        )


def _piece_columns(layer: str) -> list[str]:
    """What :func:`pieces` reads of a layer (not the whole row)."""
    spec = LAYERS[layer]
    role = spec.incident_role
    # a layer without an incident_id column (safety replies) is named by the members only
    linked = "incident_id" if "incident_id" in spec.columns else None
    wanted = [*spec.key, spec.time_column, role.category, role.urgency, role.town,
              role.excluded_by, linked]  # fmt: skip
    return list(dict.fromkeys(c for c in wanted if c))


def _points(frame: pd.DataFrame) -> list:
    """Each row's point (a shape's representative point), None for no or an empty geometry:
    tested on the whole column at once (a GeoSeries walked item by item boxes each one)."""
    if "geometry" not in frame:
        return [None] * len(frame)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    other = present & (shapely.get_type_id(geoms) != 0)  # 0: Point
    if other.any():
        geoms = geoms.copy()
        geoms[other] = shapely.point_on_surface(geoms[other])
    return np.where(present, geoms, None).tolist()


def _first_category(value) -> str | None:
    """The first category other than その他 of a categories value (a string or a list of
    them), else None."""
    if value is None or isinstance(value, float):  # None, NaN
        return None
    values = [value] if isinstance(value, str) else value
    return next((c for c in values if isinstance(c, str) and c and c != "その他"), None)


def may_be_piece(layer: str, frame: pd.DataFrame) -> np.ndarray:
    """Whether each row of ``frame`` can be an incident piece, on whole columns: not kept out
    (a copy), of a category that makes pieces, with a place (a geometry or a town). Every piece
    :func:`pieces` returns is among them; it decides the rest (a shape's point) row by row."""
    role = LAYERS[layer].incident_role
    if role is None or not len(frame):
        return np.zeros(len(frame), dtype=bool)
    mask = np.ones(len(frame), dtype=bool)
    if role.excluded_by and role.excluded_by in frame:
        mask &= ~frame[role.excluded_by].map(present).to_numpy(dtype=bool)
    if role.category in frame:
        values = frame[role.category]
        if role.by_value is not None:
            mask &= values.isin(list(role.by_value)).to_numpy(dtype=bool)
        else:
            mask &= values.map(_first_category).notna().to_numpy(dtype=bool)
    else:
        mask[:] = False
    placed = np.zeros(len(frame), dtype=bool)
    if "geometry" in frame:
        placed |= ~shapely.is_missing(np.asarray(frame.geometry.values, dtype=object))
    if role.town and role.town in frame:
        placed |= frame[role.town].map(present).to_numpy(dtype=bool)
    return mask & placed


def pieces(layer: str, frame: pd.DataFrame, *, linked: bool = False) -> list[tuple]:
    """(row position, member key, category, time, urgency, point, town_code) of incident pieces.

    Which rows are pieces, and of what, is declared on the layer (``Layer.incident_role``).
    Rows that already carry an ``incident_id`` are left out unless ``linked`` (re-linking).
    """
    role = LAYERS[layer].incident_role
    if role is None or not len(frame):
        return []
    spec = LAYERS[layer]
    out = []
    keep = may_be_piece(layer, frame)  # whole columns first: copies and その他 are most rows
    if not keep.all():
        labels = np.flatnonzero(keep).tolist()
        frame = frame.iloc[labels]
    else:
        labels = range(len(frame))
    geoms = _points(frame)
    cols = [c for c in _piece_columns(layer) if c in frame]
    # column lists zipped into records: DataFrame.to_dict("records") boxes every value and
    # took half of re-linking's time at 100k posts
    columns = (frame[c].tolist() for c in cols)
    records = [dict(zip(cols, values, strict=True)) for values in zip(*columns, strict=True)]
    for label, rec, point in zip(labels, records, geoms, strict=True):
        if role.excluded_by and present(rec.get(role.excluded_by)):
            continue
        value = rec.get(role.category)
        if role.by_value is not None:
            found = role.by_value.get(value) if isinstance(value, str) else None
            if found is None:
                continue
            category, urgency = found
        else:
            category = _first_category(value)
            if category is None:
                continue
            urgency = rec.get(role.urgency) if role.urgency else None
        town_code = rec.get(role.town) if role.town else None
        if not isinstance(town_code, str) or not town_code:  # None, NaN of a string column
            town_code = None
        if point is None and not town_code:
            continue
        if not linked and present(rec.get("incident_id")):
            continue
        key = ":".join(str(rec[k]) for k in spec.key)  # post_key() for posts
        out.append((label, key, category, rec[spec.time_column], urgency, point, town_code))
    return out


def link_incidents(
    layer: str, frame: pd.DataFrame, stored: pd.DataFrame | None
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Assign the incident pieces of ``frame`` to incidents.

    Parameters
    ----------
    layer : a layer with an ``incident_role`` (posts, safety_replies, field_reports).
    frame : validated rows of that layer (rows with an incident_id are left alone).
    stored : incidents overlapping the frame's time window, with their ``members`` lists
        (as an earlier call returned them).

    Returns
    -------
    (frame with incident_id set, the incidents that changed, with their ``members`` lists)
    """
    index = IncidentIndex(stored)
    items = sorted(pieces(layer, frame), key=lambda p: p[3])
    if not items:
        return frame, empty_frame("incidents")
    frame = frame.copy()
    ids = list(frame["incident_id"]) if "incident_id" in frame else [None] * len(frame)
    for position, key, category, when, urgency, point, town_code in items:
        known = index.member_of.get((layer, key))
        ids[position] = known or index.assign(layer, key, category, when, urgency, point, town_code)
    frame["incident_id"] = pd.Series(ids, index=frame.index, dtype=object)
    return frame, index.changed_frame(members=True)


def link_and_store(
    store, layer: str, frame: pd.DataFrame, *, settle=None, validated: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate ``frame``, link its pieces to the stored incidents and write the incidents.

    Used by the ingest runner and by the field-report form, so a report typed at the HQ joins
    the incident the posts about the same place already make. Both call it inside
    ``store.transaction()`` and write the rows in the same transaction: the incidents never
    commit without the rows they name. Linking holds the ``incidents`` lock and re-links what
    is stored from the batch's earliest row on (geodata/incident_relink.py), so the incidents
    do not depend on the order in which batches (of several processes) arrive.

    Parameters
    ----------
    settle : called under the lock with the valid rows; returns them (changed),
        ``{layer: stored rows it changed}`` (the ingest's dedupe: ``repost_of`` of posts) and
        ``{layer: stored rows from the rows' earliest time on, as it read them}`` (not read
        again by the re-linking).
    validated : ``frame`` is already the valid part of a ``validate`` of ``layer`` (the
        ingest runner validates each source's batch apart, to record its rejections with it).

    Returns
    -------
    (valid rows to upsert, with their ``incident_id``; rejected rows) — pass both to
    ``store.upsert(layer, valid, rejected=rejected)``, which then does not validate again.
    """
    from geodata.incident_relink import relink

    if validated:
        valid, rejected = frame, pd.DataFrame(columns=["raw", "reason"])
    else:
        valid, rejected = validate(frame, layer)
    if not len(valid):
        return valid, rejected
    with store.transaction():
        store.lock("incidents")
        changed = read = None
        if settle is not None:
            valid, changed, read = settle(valid)
        linked = relink(store, layer, valid, changed=changed, read=read)
    # a layer without an incident_id column (safety replies) is named by the members only
    return linked, rejected


def with_members(store, incidents: pd.DataFrame) -> pd.DataFrame:
    """``incidents`` with a ``members`` column: each one's pieces as ``[layer, key]`` pairs in
    time order, read from the ``incident_members`` layer (exports and checks that list them)."""
    out = incidents.copy()
    ids = list(out["incident_id"]) if len(out) else []
    rows = store.read("incident_members", where={"incident_id": ids}) if ids else None
    by_incident: dict[str, list[list[str]]] = {}
    if rows is not None and len(rows):
        rows = rows.sort_values(["seen_at", "layer", "member"], kind="stable")
        for incident_id, layer, key in zip(
            rows["incident_id"], rows["layer"], rows["member"], strict=True
        ):
            by_incident.setdefault(incident_id, []).append([layer, key])
    out["members"] = pd.Series([by_incident.get(i, []) for i in ids], index=out.index, dtype=object)
    return out


def link_stored(store, layer: str, frame: pd.DataFrame | None = None, *, source="incidents"):
    """Link ``frame`` (by default every stored row of ``layer``) into incidents and write it,
    in one transaction (:func:`link_and_store` then the upsert): how a store filled without
    the ingest runner (a drill loaded at once, a benchmark's store) gets its incidents.

    Returns the rows' :class:`~geodata.store.core.UpsertResult` (None for no rows)."""
    frame = store.read(layer) if frame is None else frame
    if not len(frame):
        return None
    with store.transaction():
        valid, rejected = link_and_store(store, layer, frame)
        return store.upsert(layer, valid, source=source, rejected=rejected)
