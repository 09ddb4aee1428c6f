"""Dedupe of posts and merging of posts, replies and field reports into incidents.

Dedupe (posts)
    A post whose text is a copy of an earlier one collapses onto it: ``repost_of`` is set to the
    first post (``platform:post_id``, following chains to the root). Texts are compared by a
    fingerprint — NFKC, lower case, URLs, @mentions, #hashtags, whitespace, punctuation and
    emoji removed. Same fingerprint (at least ``MIN_EXACT`` characters) within
    ``EXACT_WINDOW`` = a copy; otherwise character 3-gram Jaccard similarity >=
    ``SIMILARITY`` (fingerprints of at least ``MIN_SIMILAR`` characters) within
    ``SIMILAR_WINDOW``, with MinHash LSH buckets so a post is compared only with likely
    matches. Short texts (「助けて」) are never collapsed: two people writing them are two
    reports.

Incidents
    An incident gathers the pieces about one thing at one place: posts (not copies; primary
    category other than その他), safety replies saying 要救助/負傷 (category 救助要請) and field
    reports (category other than その他). A piece joins an incident of its category when

    * its time is within ``WINDOW`` (2 h) of the incident's [first_seen, last_seen], and
    * its point is within ``RADIUS_M`` (300 m) of the incident's anchor point (the point of its
      first located piece), or — for a piece known only by its town — the town is the same.

    Otherwise it starts a new incident whose id is derived from its first piece, so a re-run
    produces the same incidents. Candidates are found through a grid of ~300 m cells and a
    town index (no pairwise comparison). ``members`` lists ``[layer, "source:id"]`` pairs,
    ``counts`` counts them per layer, ``urgency`` is the highest of the pieces. Assignment is
    incremental: pieces that already carry an ``incident_id`` are left alone.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.schema import STORE_CRS, empty_frame
from geodata.textfp import MIN_EXACT, fingerprint
from ingest.base import digest

WINDOW = pd.Timedelta(hours=2)
RADIUS_M = 300.0
EXACT_WINDOW = pd.Timedelta(hours=24)
SIMILAR_WINDOW = pd.Timedelta(hours=2)
SIMILARITY = 0.8
MIN_SIMILAR = 20
_M_PER_DEG = 111_320.0
_CELL = RADIUS_M / _M_PER_DEG  # degrees of latitude per cell
_WINDOW_NS = WINDOW.value
_EXACT_NS = EXACT_WINDOW.value
_SIMILAR_NS = SIMILAR_WINDOW.value
_BANDS, _ROWS = 6, 3  # a pair at Jaccard 0.8 shares a bucket with p = 0.986
_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20240109)
_A = _rng.integers(1, _PRIME, _BANDS * _ROWS, dtype=np.int64)
_B = _rng.integers(0, _PRIME, _BANDS * _ROWS, dtype=np.int64)


@lru_cache(maxsize=1 << 17)
def _sketch(fp: str) -> tuple[frozenset, tuple]:
    """Shingles and LSH bands of a fingerprint (cached: a stored post is seen again by every
    batch of the next 24 h as history)."""
    sh = frozenset(_shingles(fp))
    return sh, tuple(enumerate(_bands(sh)))


def _shingles(fp: str) -> set[str]:
    return {fp[i : i + 3] for i in range(max(1, len(fp) - 2))}


def _bands(shingles: set[str]) -> list[int]:
    hashes = np.fromiter((zlib.crc32(s.encode()) for s in shingles), np.int64, len(shingles))
    mins = ((np.outer(hashes, _A) + _B) % _PRIME).min(axis=0)
    return [hash((b, *mins[b * _ROWS : (b + 1) * _ROWS].tolist())) for b in range(_BANDS)]


def post_key(platform, post_id) -> str:
    """The ``platform:post_id`` form of a post key (repost_of and incident members use it)."""
    return f"{platform}:{post_id}"


def mark_duplicates(posts: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Set ``repost_of`` of posts that copy an earlier post (see the module docstring).

    Parameters
    ----------
    posts : new rows of the posts layer (platform, post_id, text, posted_at, repost_of).
    history : stored posts of the time window before them (same columns), or None.

    Returns
    -------
    A copy of ``posts`` with ``repost_of`` filled where a copy was found.
    """
    out = posts.copy()
    if not len(out):
        return out
    keys = [post_key(p, i) for p, i in zip(out["platform"], out["post_id"], strict=True)]
    times = _ns(out["posted_at"])
    # A post older than this can match a new one only by exact fingerprint, never by
    # similarity: its shingles are not needed (most of a 24 h history, at disaster volumes).
    index = _CopyIndex(similar_from=min(times) - _SIMILAR_NS)
    texts = out["text"].tolist()
    repost = out["repost_of"].astype(object).tolist()
    # One timeline of stored and new posts. A stored post keeps what it has (a re-run changes
    # nothing); a new post may only copy a post before it.
    timeline = [(times[i], keys[i], i) for i in range(len(out))]
    stored: dict[str, tuple] = {}
    if history is not None and len(history):
        for platform, post_id, text, when, repost_of in zip(
            history["platform"], history["post_id"], history["text"], _ns(history["posted_at"]),
            history["repost_of"], strict=True,
        ):  # fmt: skip
            key = post_key(platform, post_id)
            stored[key] = (text, repost_of if _present(repost_of) else None)
            timeline.append((when, key, -1))
    done: set[str] = set()
    for when, key, i in sorted(timeline):
        if key in done:
            continue
        done.add(key)
        if key in stored:
            text, repost_of = stored[key]
            if i >= 0:
                repost[i] = repost_of
        else:
            text = texts[i]
        fp = fingerprint(text if isinstance(text, str) else None)
        if i >= 0 and key not in stored and not _present(repost[i]) and fp:
            repost[i] = index.find(fp, when, key)
        own = repost[i] if i >= 0 else stored[key][1]
        index.add(key, when, fp, own if _present(own) else None)
    out["repost_of"] = pd.Series(repost, index=out.index, dtype=object)
    return out


def _ns(times) -> list[int]:
    """Nanoseconds since the epoch (whatever resolution the column has)."""
    return pd.Series(pd.to_datetime(times, utc=True)).dt.as_unit("ns").astype("int64").tolist()


class _CopyIndex:
    """Posts seen so far: first post per fingerprint, LSH buckets, and copy -> original."""

    def __init__(self, similar_from: int | None = None):
        self.exact: dict[str, tuple[int, str]] = {}
        self.buckets: dict[tuple[int, int], list[tuple[int, str, frozenset]]] = {}
        self.root: dict[str, str] = {}
        self.similar_from = similar_from  # posts before this are not put into the LSH buckets

    def resolve(self, key: str) -> str:
        seen = set()
        while key in self.root and key not in seen:
            seen.add(key)
            key = self.root[key]
        return key

    def sketch(self, fp: str) -> tuple[frozenset, tuple]:
        return _sketch(fp)

    def add(self, key: str, when: int, fp: str, repost_of: str | None) -> None:
        if repost_of:
            self.root[key] = repost_of
        if len(fp) >= MIN_EXACT and (fp not in self.exact or _earlier(when, key, *self.exact[fp])):
            self.exact[fp] = (when, key)
        if len(fp) >= MIN_SIMILAR and (self.similar_from is None or when >= self.similar_from):
            sh, bands = self.sketch(fp)
            for band in bands:
                self.buckets.setdefault(band, []).append((when, key, sh))

    def find(self, fp: str, when: int, key: str) -> str | None:
        """The root of the earliest earlier post ``fp`` copies, else None."""
        if len(fp) >= MIN_EXACT and fp in self.exact:
            first_time, first_key = self.exact[fp]
            if (
                _earlier(first_time, first_key, when, key)
                and when - first_time <= _EXACT_NS
                and self.resolve(first_key) != key
            ):
                return self.resolve(first_key)
        if len(fp) < MIN_SIMILAR:
            return None
        sh, bands = self.sketch(fp)
        best, best_score = None, SIMILARITY
        for band in bands:
            for other_time, other_key, other_sh in self.buckets.get(band, ()):
                if not _earlier(other_time, other_key, when, key):
                    continue
                if when - other_time > _SIMILAR_NS or self.resolve(other_key) == key:
                    continue
                score = len(sh & other_sh) / len(sh | other_sh)
                if score > best_score or (score == best_score and best is None):
                    best, best_score = other_key, score
        return self.resolve(best) if best else None


def _present(value) -> bool:
    return isinstance(value, str) and bool(value)


def _earlier(other_time, other_key: str, when, key: str) -> bool:
    """Whether the other post came first (ties broken by key, so the choice is stable)."""
    return other_time < when or (other_time == when and other_key < key)


# -- incidents ------------------------------------------------------------------------------


class _Incident:
    def __init__(self, rec: dict, geom):
        self.rec = rec
        self.anchor = geom if geom is not None and not geom.is_empty else None
        self.xy = (self.anchor.x, self.anchor.y) if self.anchor is not None else None
        self.members = [tuple(m) for m in (rec.get("members") or [])]
        self.member_set = set(self.members)
        self.first_ns = pd.Timestamp(rec["first_seen"]).value
        self.last_ns = pd.Timestamp(rec["last_seen"]).value
        self.changed = False

    def in_time(self, when_ns: int) -> bool:
        return self.first_ns - _WINDOW_NS <= when_ns <= self.last_ns + _WINDOW_NS

    def add(self, layer: str, key: str, when, urgency, town_code, point) -> None:
        if (layer, key) not in self.member_set:
            self.members.append((layer, key))
            self.member_set.add((layer, key))
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

    def as_row(self) -> dict:
        counts: dict[str, int] = {}
        for layer, _ in self.members:
            counts[layer] = counts.get(layer, 0) + 1
        return {**self.rec, "members": [list(m) for m in self.members], "counts": counts}


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
        self.cells: dict[tuple, list[_Incident]] = {}
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
            self.cells.setdefault((cat, *_cell(*inc.xy)), []).append(inc)
        if inc.rec.get("town_code"):
            self.towns.setdefault((cat, inc.rec["town_code"]), []).append(inc)

    def find(self, category, when, point, town_code) -> _Incident | None:
        """The open incident a piece belongs to, or None."""
        when_ns = when.value
        best, best_d = None, RADIUS_M
        if point is not None:
            xy = (point.x, point.y)
            cy, cx = _cell(*xy)
            for dy in (-1, 0, 1):
                for dx in (-2, -1, 0, 1, 2):
                    for inc in self.cells.get((category, cy + dy, cx + dx), ()):
                        if not inc.in_time(when_ns):
                            continue
                        d = _distance_m(xy, inc.xy)
                        if d <= best_d:
                            best, best_d = inc, d
            if best is not None:
                return best
        if town_code:
            for inc in self.towns.get((category, town_code), ()):
                if inc.in_time(when_ns) and (point is None or inc.anchor is None):
                    return inc
        return None

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
                "members": [],
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

    def changed_frame(self) -> gpd.GeoDataFrame:
        """The incidents that took pieces, as an incidents-layer frame."""
        changed = [inc for inc in self.all.values() if inc.changed]
        if not changed:
            return empty_frame("incidents")
        rows = [inc.as_row() for inc in changed]
        geoms = [inc.anchor for inc in changed]
        return gpd.GeoDataFrame(
            pd.DataFrame(rows), geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS
        )


def pieces(layer: str, frame: pd.DataFrame) -> list[tuple]:
    """(row position, member key, category, time, urgency, point, town_code) of incident pieces."""
    if not len(frame):
        return []
    out = []
    geoms = list(frame.geometry) if "geometry" in frame else [None] * len(frame)
    records = frame.to_dict("records")
    for label, rec, geom in zip(range(len(frame)), records, geoms, strict=True):
        point = geom if geom is not None and not geom.is_empty else None
        if point is not None and point.geom_type != "Point":
            point = point.representative_point()
        if layer == "posts":
            cats = [c for c in (rec.get("categories") or []) if c != "その他"]
            if _present(rec.get("repost_of")) or not cats:
                continue
            item = (post_key(rec["platform"], rec["post_id"]), cats[0], rec["posted_at"],
                    rec.get("urgency"))  # fmt: skip
        elif layer == "safety_replies":
            if rec.get("status") not in ("要救助", "負傷"):
                continue
            urgency = 3 if rec["status"] == "要救助" else 2
            item = (f"{rec['source']}:{rec['source_id']}", "救助要請", rec["replied_at"], urgency)
        elif layer == "field_reports":
            if rec.get("category") in (None, "その他"):
                continue
            item = (f"{rec['source']}:{rec['source_id']}", rec["category"], rec["reported_at"],
                    rec.get("severity"))  # fmt: skip
        else:
            return []
        town_code = rec.get("town_code") if layer != "safety_replies" else None
        if point is None and not town_code:
            continue
        if _present(rec.get("incident_id")):
            continue
        out.append((label, *item, point, town_code))
    return out


def link_incidents(
    layer: str, frame: pd.DataFrame, stored: pd.DataFrame | None
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Assign the incident pieces of ``frame`` to incidents.

    Parameters
    ----------
    layer : posts, safety_replies or field_reports.
    frame : validated rows of that layer (rows with an incident_id are left alone).
    stored : stored incidents overlapping the frame's time window.

    Returns
    -------
    (frame with incident_id set, incidents to upsert)
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
    return frame, index.changed_frame()
