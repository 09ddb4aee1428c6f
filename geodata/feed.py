"""通報・SNS: the rules of the reports feed and of what counts as a damage report (被害報告).

The one place these questions are answered: which posts a filter keeps (time window, triage,
urgency, town, category, copies), in which order, the feed's counts, what a triage action
changes, and which incidents are the damage reports of a time window. The reports page
(``dashboard/reports/``, which only caches around these functions) and the situation map
(:mod:`geodata.export.situation`) both call them, so the page's 被害報告 and the map's agree.

A damage report is an incident (:mod:`geodata.incidents`: the posts, rescue replies and field
reports about one place and thing, merged); a copy of a post (a repost, a near-identical text:
``repost_of`` set) never starts one and is never counted again, and a post with no damage
category makes none. An incident belongs to a time window when it was seen in it: its last piece
at or after the window's start and its first piece before its end (:func:`damage_reports`).

No streamlit here. The feed works on masks and positions over one slim index of the window's
posts (:data:`INDEX_COLUMNS`): at a million posts every copy of the index costs ~100 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from geodata import chronology
from geodata import geometry as reports_geo
from geodata.schema import CATEGORIES, STORE_CRS, now_utc

WINDOWS: dict[str, float | None] = {"1h": 1.0, "6h": 6.0, "24h": 24.0, "all": None}
ORDERS = ("urgent", "newest")
URGENCIES = (3, 2, 1, 0)
PAGE_SIZE = 20
# Triage actions of the feed -> the change they make.
ACTIONS: dict[str, dict] = {
    "verify": {"triage": "verified"},
    "dismiss": {"triage": "dismissed"},
    "handled": {"triage": "handled"},
    "reopen": {"triage": "new"},
}
DEFAULT_TRIAGE = ("new", "verified")
# The columns the feed filters, sorts and aggregates on (the text is read only for the page
# shown); the store adds the key (platform, post_id).
INDEX_COLUMNS = [
    "posted_at",
    "urgency",
    "categories",
    "town_code",
    "triage",
    "repost_of",
    "geometry",
]
# Index columns with few distinct values, held as categoricals (a few hundred MB at 1M posts).
LOW_CARDINALITY = ("platform", "triage", "town_code")


@dataclass(frozen=True)
class Filters:
    """What the operator asked the feed for (hashable: part of the cache key)."""

    window: str = "24h"
    categories: tuple[str, ...] = ()
    urgencies: tuple[int, ...] = ()
    towns: tuple[str, ...] = ()
    triage: tuple[str, ...] = DEFAULT_TRIAGE
    hide_copies: bool = True
    order: str = "urgent"

    def since(self, now=None) -> pd.Timestamp | None:
        """The start of the time window (None for all)."""
        hours = WINDOWS[self.window]
        if hours is None:
            return None
        return pd.Timestamp(now if now is not None else now_utc()) - pd.Timedelta(hours=hours)


class Keys(Sequence):
    """The ordered keys (platform, post_id) of a feed, held as two arrays.

    A list of a million tuples took 0.6 s to build for each new feed; a page needs 20.
    ``at``: the keys' positions in the arrays (None: all of them, in order), so that a feed
    built from an index holds its columns and one array of positions instead of a copy of
    each (platforms may be a ``pd.Categorical``: positions into its codes).
    """

    def __init__(self, platforms, post_ids: np.ndarray, at: np.ndarray | None = None):
        self.platforms, self.post_ids, self.at = platforms, post_ids, at

    def __len__(self) -> int:
        return len(self.post_ids) if self.at is None else len(self.at)

    def __getitem__(self, item):
        rows = item if self.at is None else self.at[item]
        if isinstance(item, slice):
            return list(
                zip(self.platforms[rows].tolist(), self.post_ids[rows].tolist(), strict=True)
            )
        return (self.platforms[rows], self.post_ids[rows])

    def take(self, positions: np.ndarray) -> list[tuple[str, str]]:
        """The keys at ``positions`` (of the feed's order)."""
        rows = np.asarray(positions) if self.at is None else self.at[positions]
        return list(zip(self.platforms[rows].tolist(), self.post_ids[rows].tolist(), strict=True))

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __contains__(self, key) -> bool:
        platform, post_id = key
        post_ids = self.post_ids if self.at is None else self.post_ids[self.at]
        hit = np.flatnonzero(post_ids == post_id)
        return any(p == platform for p, _ in self.take(hit))


class FeedView:
    """The filtered feed: ordered keys, counts and the map aggregate.

    ``copies``: copies (reposts, near-identical texts) per shown post, by ``platform:post_id``
    (only posts with some). A feed built from an index gives ``copy_counts`` instead (per key,
    in the feed's order): the dict is made only when asked for (at a million posts making it
    took 0.04 s per build; a page needs 20, :meth:`page_copies`).
    """

    def __init__(
        self,
        keys: Sequence[tuple[str, str]],
        kpis: dict[str, int],
        hexes: gpd.GeoDataFrame,
        copies: dict[str, int] | None = None,
        *,
        copy_counts: np.ndarray | None = None,
    ):
        self.keys, self.kpis, self.hexes = keys, kpis, hexes
        self.copy_counts = copy_counts
        self._copies = copies if copies is not None or copy_counts is not None else {}

    @property
    def copies(self) -> dict[str, int]:
        if self._copies is None:
            at = np.flatnonzero(self.copy_counts > 0)
            self._copies = {
                key_text(p, i): n
                for (p, i), n in zip(self.keys.take(at), self.copy_counts[at].tolist(), strict=True)
            }
        return self._copies

    @property
    def total(self) -> int:
        return len(self.keys)

    def page(self, number: int, size: int = PAGE_SIZE) -> list[tuple[str, str]]:
        """The keys of page ``number`` (0-based; clamped to the last page)."""
        return self.keys[self._page_slice(number, size)]

    def page_copies(self, number: int, size: int = PAGE_SIZE) -> dict[str, int]:
        """:attr:`copies` of the posts of page ``number`` (clamped as :meth:`page`)."""
        keys = [key_text(p, i) for p, i in self.page(number, size)]
        if self.copy_counts is None or self._copies is not None:
            return {k: self.copies[k] for k in keys if k in self.copies}
        counts = self.copy_counts[self._page_slice(number, size)].tolist()
        return {k: n for k, n in zip(keys, counts, strict=True) if n > 0}

    def _page_slice(self, number: int, size: int) -> slice:
        number = max(0, min(number, self.pages(size) - 1))
        return slice(number * size, (number + 1) * size)

    def pages(self, size: int = PAGE_SIZE) -> int:
        return max(1, -(-self.total // size))


def key_text(platform: str, post_id: str) -> str:
    """``platform:post_id`` (the form repost_of and incident members use)."""
    return f"{platform}:{post_id}"


def slim_index(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` (posts with :data:`INDEX_COLUMNS`) made small, in place, and returned.

    Urgency null becomes 0 (int8), categories a list, and the low-cardinality columns
    categoricals (a string object per row becomes a small code per row).
    """
    frame["urgency"] = pd.to_numeric(frame["urgency"], errors="coerce").fillna(0).astype("int8")
    frame["categories"] = [c if isinstance(c, list) and c else [] for c in frame["categories"]]
    for col in LOW_CARDINALITY:
        frame[col] = frame[col].astype("category")
    return frame


# Per-row columns an index may hold besides :data:`INDEX_COLUMNS` (:func:`derive`): what the
# feed's build would otherwise work out again for every row on every new version or minute.
COPY = "_copy"  # repost_of is set
POINT = "_point"  # a non-empty point geometry
LON, LAT = "_lon", "_lat"  # its coordinates in the store's CRS (NaN when not a point)
CATEGORY_COUNTS = tuple(f"_c{i}" for i in range(len(CATEGORIES)))  # names per category (hexagons)
DERIVED = (COPY, POINT, LON, LAT, *CATEGORY_COUNTS)


def projected_columns(metric: str) -> tuple[str, str]:
    """The derived x/y columns of the points in ``metric`` (a CRS name)."""
    return f"_x@{metric}", f"_y@{metric}"


def derive(frame: gpd.GeoDataFrame, metric: str | None = None) -> gpd.GeoDataFrame:
    """Add :data:`DERIVED` to ``frame`` (a :func:`slim_index`), in place, and return it; with
    ``metric`` also the points' x/y in that CRS (:func:`projected_columns`).

    Each is a function of its own row only, so an index computes them once per row read and
    keeps them through merges; :func:`build_feed` uses them when present.
    """
    frame[COPY] = frame["repost_of"].notna().to_numpy(dtype=bool)
    ok, lon, lat = reports_geo.point_lonlat(frame)
    frame[POINT], frame[LON], frame[LAT] = ok, lon, lat
    counts = reports_geo.category_counts(frame["categories"].to_numpy())
    for i, col in enumerate(CATEGORY_COUNTS):
        frame[col] = counts[:, i]
    if metric is not None:
        derive_projected(frame, metric)
    return frame


def derive_projected(frame: gpd.GeoDataFrame, metric: str) -> gpd.GeoDataFrame:
    """Add the x/y columns of ``metric`` to ``frame`` (with :data:`DERIVED`), in place."""
    ok = frame[POINT].to_numpy(dtype=bool)
    x, y = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    if ok.any():
        to_metric = Transformer.from_crs(STORE_CRS, metric, always_xy=True)
        x[ok], y[ok] = to_metric.transform(frame[LON].to_numpy()[ok], frame[LAT].to_numpy()[ok])
    xcol, ycol = projected_columns(metric)
    frame[xcol], frame[ycol] = x, y
    return frame


def has_derived(index: pd.DataFrame) -> bool:
    return all(c in index.columns for c in DERIVED)


@dataclass(frozen=True)
class Held:
    """What an index keeps besides its rows, for :func:`build_feed` (see
    :class:`geodata.feed_index.PostIndex`).

    ``named``: per row, the copies among the index's rows naming it (:func:`resolve_targets`).
    ``resolve(texts)``: :func:`resolve_targets` over the index (positions, copies).
    """

    named: np.ndarray
    resolve: Callable[[dict[str, int]], tuple[np.ndarray, np.ndarray]]


def resolve_targets(
    texts: dict[str, int], ids: dict, rid: np.ndarray, platform: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``texts`` (``repost_of`` text -> copies) name, as (positions, copies).

    A post (p, i) is named by ``p:i`` and by a bare ``i`` (see :func:`_copies`): each text is
    looked up as a bare id (any platform) and, split at its first colon, as a key (platforms
    hold no colon). ``ids``: post id -> row number(s); ``rid``: the rows' numbers (increasing);
    ``platform``: the rows' platforms.
    """
    rows, times, wants = [], [], []
    for text, n in texts.items():
        looks = [(text, None)]
        if ":" in text:
            platform_named, id_named = text.split(":", 1)
            looks.append((id_named, platform_named))
        for post, want in looks:
            hit = ids.get(post)
            if hit is None:
                continue
            for r in [hit] if isinstance(hit, int) else hit:
                rows.append(r)
                times.append(n)
                wants.append(want)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    at = np.searchsorted(rid, np.asarray(rows, dtype=np.int64))
    ok = np.fromiter(
        (w is None or platform[a] == w for a, w in zip(at.tolist(), wants, strict=True)),
        dtype=bool,
        count=len(at),
    )
    return at[ok], np.asarray(times, dtype=np.int64)[ok]


# -- the feed ---------------------------------------------------------------------------------


def build_feed(
    index: gpd.GeoDataFrame, filters: Filters, now=None, bounds=None, held: Held | None = None
) -> FeedView:
    """Filter, order and aggregate ``index`` (posts with :data:`INDEX_COLUMNS`).

    Works on masks and positions: at a million posts every copy of the index costs ~100 MB.
    An index with the :data:`DERIVED` columns (and ``held``: the copies naming each of its
    rows, :class:`Held`) gives the same feed from arrays, without working out each row again.
    """
    since = filters.since(now)
    if has_derived(index):
        return _build_derived(index, filters, since, bounds, held)
    keep = filter_mask(index, filters, since=since)
    if filters.hide_copies:
        keep &= index["repost_of"].isna().to_numpy()
        rows = index[keep]
        copies = _copies(index.loc[_window_mask(index, since), ["repost_of"]], rows)
    else:
        rows = index[keep]
        copies = _copies(rows, rows)
    order = order_positions(rows, filters.order)
    platforms = np.asarray(rows["platform"].to_numpy(dtype=object)[order], dtype=object)
    keys = Keys(platforms, np.asarray(rows["post_id"].to_numpy(dtype=object)[order]))
    return FeedView(keys, kpis(rows), reports_geo.hexbin(rows, bounds=bounds), copies)


def _build_derived(index, filters: Filters, since, bounds, held: Held | None) -> FeedView:
    """:func:`build_feed` of an index with :data:`DERIVED`: positions into its columns."""
    keep = filter_mask(index, filters, since=since)
    if filters.hide_copies:
        keep &= ~index[COPY].to_numpy(dtype=bool)
    where = np.flatnonzero(keep)
    column = index["platform"]
    categorical = isinstance(column.dtype, pd.CategoricalDtype)
    # a Categorical: positions into its codes (no object per row)
    platform = column.array if categorical else column.to_numpy(dtype=object)
    post_id = index["post_id"].to_numpy(dtype=object)
    colon = any(":" in str(p) for p in column.cat.categories) if categorical else True
    copy_counts = copies = None
    if filters.hide_copies and held is not None and not colon:
        named = _named_in_window(index, since, held)[where]
    elif filters.hide_copies:
        copies = _copies(index.loc[_window_mask(index, since), ["repost_of"]], index.iloc[where])
    else:
        rows = index.iloc[where]
        copies = _copies(rows, rows)
    urgency = index["urgency"].to_numpy()[where]
    when = pd.to_datetime(index["posted_at"], utc=True).array.asi8[where]
    order = _order(
        urgency,  # int8 (slim_index)
        when,
        lambda at: post_id[where[at]],
        filters.order,
        lambda at: np.asarray(platform[where[at]], dtype=object),
    )
    keys = Keys(platform, post_id, where[order])
    if copies is None:
        copy_counts = named[order]
    point = index[POINT].to_numpy(dtype=bool)[where]
    triage = index["triage"]
    if isinstance(triage.dtype, pd.CategoricalDtype):
        codes = triage.cat.codes.to_numpy()[where]
        new_code = (
            list(triage.cat.categories).index("new") if "new" in triage.cat.categories else -2
        )
        new = int(((codes == new_code) | (codes < 0)).sum())
    else:
        t = triage.astype(object).iloc[where]
        new = int(((t == "new") | t.isna()).sum())
    counts = {
        "posts": len(where),
        "urgent": int((urgency >= 2).sum()),
        "critical": int((urgency >= 3).sum()),
        "new": new,
        "unlocated": len(where) - int(point.sum()),
    }
    located = where[point]

    def projected(metric):
        xcol, ycol = projected_columns(metric)
        if xcol not in index.columns:
            return None
        return index[xcol].to_numpy()[located], index[ycol].to_numpy()[located]

    hexes = reports_geo.hexbin_points(
        index[LON].to_numpy()[located],
        index[LAT].to_numpy()[located],
        index["urgency"].to_numpy()[located].astype(float),
        np.column_stack([index[c].to_numpy()[located] for c in CATEGORY_COUNTS]),
        bounds=bounds,
        projected=projected,
    )
    return FeedView(keys, counts, hexes, copies, copy_counts=copy_counts)


def objects(column: pd.Series) -> np.ndarray:
    """``column`` as an object array (a categorical by its codes: no object per row first)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        if (codes >= 0).all():
            return column.cat.categories.to_numpy(dtype=object)[codes]
    return column.to_numpy(dtype=object)


def _named_in_window(index, since, held: Held) -> np.ndarray:
    """Per row of ``index``, the copies naming it posted since ``since``: those the index
    keeps (:class:`Held`) less the ones posted before (it may hold up to an hour or two before
    the window). Shown posts with some are :func:`_copies`."""
    named = held.named
    before = ~_window_mask(index, since)
    if before.any():
        texts = index["repost_of"][before].dropna().value_counts()
        at, times = held.resolve({t: int(n) for t, n in texts.items()})
        if len(at):
            named = named.copy()
            np.subtract.at(named, at, times)
    return named


def _window_mask(index: pd.DataFrame, since) -> np.ndarray:
    if since is None:
        return np.ones(len(index), dtype=bool)
    return np.array(index["posted_at"] >= since, dtype=bool)  # a writable copy


def _copies(copies_from: pd.DataFrame, shown: pd.DataFrame) -> dict[str, int]:
    """Copies (reposts, near-identical texts) per shown post, by ``platform:post_id``.

    ``repost_of`` holds ``platform:post_id`` (dedupe) or a bare id of the same platform (a
    boost); both forms are counted. Only the shown posts a copy may name are looked at (their
    post id is a named text, or what follows its first colon): at a million posts building
    every shown post's key took seconds.
    """
    counts = copies_from["repost_of"].dropna().value_counts()
    if counts.empty or shown.empty:
        return {}
    named = counts.index.astype(object).tolist()
    ids = shown["post_id"].to_numpy(dtype=object)
    maybe = {*named, *(n.split(":", 1)[1] for n in named if ":" in n)}
    where = np.flatnonzero(np.fromiter((i in maybe for i in ids), dtype=bool, count=len(ids)))
    if not len(where):
        return {}
    count = dict(zip(named, counts.to_numpy().tolist(), strict=True))
    platforms = shown["platform"].iloc[where].astype(object).to_numpy()
    out = {}
    for platform, post_id in zip(platforms, ids[where], strict=True):
        full = f"{platform}:{post_id}"
        n = count.get(full, 0) + count.get(post_id, 0)
        if n:
            out[full] = int(n)
    return out


def filter_posts(posts: pd.DataFrame, filters: Filters, since=None) -> pd.DataFrame:
    """The posts matching ``filters`` (window from ``since``; copies are kept here).

    A category filter keeps posts naming any of the categories; a town filter drops posts
    without a town; urgency null counts as 0.
    """
    return posts[filter_mask(posts, filters, since=since)]


def filter_mask(posts: pd.DataFrame, filters: Filters, since=None) -> np.ndarray:
    """:func:`filter_posts` as a boolean array over ``posts``."""
    keep = _window_mask(posts, since)
    if filters.triage:
        keep &= _triage_mask(posts["triage"], filters.triage)
    if filters.urgencies:
        urgency = pd.to_numeric(posts["urgency"], errors="coerce").fillna(0).astype(int)
        keep &= urgency.isin(filters.urgencies).to_numpy(dtype=bool)
    if filters.towns:
        keep &= posts["town_code"].isin(filters.towns).to_numpy(dtype=bool)
    if filters.categories:
        wanted = set(filters.categories)
        keep &= np.fromiter(
            (bool(wanted.intersection(c or ())) for c in posts["categories"]),
            dtype=bool,
            count=len(posts),
        )
    return keep


def _triage_mask(triage: pd.Series, wanted) -> np.ndarray:
    """Rows whose triage is among ``wanted`` (null counts as new); a categorical by its codes."""
    if isinstance(triage.dtype, pd.CategoricalDtype):
        cats = triage.cat.categories
        ok = np.array([c in wanted for c in cats] + ["new" in wanted], dtype=bool)
        return ok[triage.cat.codes.to_numpy()]  # code -1 (null) takes the last entry
    triage = triage.astype(object)
    return triage.where(triage.notna(), "new").isin(wanted).to_numpy(dtype=bool)


def order_positions(posts: pd.DataFrame, order: str = "urgent") -> np.ndarray:
    """Positions of ``posts`` most urgent first (then newest, then post id), or newest first.

    Sorted on urgency and time; only posts tied on both are ordered by post id, then platform
    (ranking every post id took a second at a million posts).
    """
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    urgency = pd.to_numeric(posts["urgency"], errors="coerce").fillna(0).to_numpy(dtype=float)
    # nanoseconds; NaT is the smallest int64, so it comes last as in sort_values(ascending=False)
    when = pd.to_datetime(posts["posted_at"], utc=True).array.asi8
    ids = posts["post_id"].to_numpy(dtype=object)
    platforms = posts["platform"].to_numpy(dtype=object)
    return _order(urgency, when, lambda at: ids[at], order, lambda at: platforms[at])


def _order(
    urgency: np.ndarray, when: np.ndarray, ids_at, order: str, platforms_at=None
) -> np.ndarray:
    """:func:`order_positions` of arrays; ``ids_at(positions)``: the post ids there,
    ``platforms_at(positions)`` their platforms (the last tie-break: a post id on two
    platforms, same urgency and time, comes in the same order whatever the rows' order)."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    second, first = (when, urgency) if order == "urgent" else (urgency, when)
    # ascending and stable, as np.lexsort((second, first)); reversed at the end. Two stable
    # sorts: the times of an index read oldest first are nearly in order (a fast merge sort)
    # and a small integer urgency sorts by radix (at a million posts 3x quicker than lexsort)
    positions = np.argsort(second, kind="stable")
    positions = positions[np.argsort(first[positions], kind="stable")]
    a, b = first[positions], second[positions]
    tied = (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    if tied.any():
        group = np.concatenate([[0], np.cumsum(~tied)])  # runs of equal (first, second)
        member = np.zeros(len(positions), dtype=bool)
        member[1:] |= tied
        member[:-1] |= tied
        at = np.flatnonzero(member)
        ids = np.asarray(ids_at(positions[at]), dtype=str)
        keys = (ids, group[at])
        if platforms_at is not None:
            keys = (np.asarray(platforms_at(positions[at]), dtype=str), *keys)
        positions[at] = positions[at][np.lexsort(keys)]
    return positions[::-1]


def order_posts(posts: pd.DataFrame, order: str = "urgent") -> pd.DataFrame:
    """Most urgent first (then newest), or newest first."""
    return posts.iloc[order_positions(posts, order)]


def kpis(posts: pd.DataFrame) -> dict[str, int]:
    """Counts of the filtered feed: posts, urgent (2+), life-threatening (3), new, unlocated."""
    urgency = pd.to_numeric(posts["urgency"], errors="coerce").fillna(0)
    located = (
        int(reports_geo.point_mask(posts).sum())
        if isinstance(posts, gpd.GeoDataFrame)
        else len(posts)
    )
    triage = posts["triage"].astype(object)
    return {
        "posts": len(posts),
        "urgent": int((urgency >= 2).sum()),
        "critical": int((urgency >= 3).sum()),
        "new": int(((triage == "new") | triage.isna()).sum()),
        "unlocated": len(posts) - located,
    }


def page_rows(store, keys: list[tuple[str, str]]) -> gpd.GeoDataFrame:
    """The full rows of ``keys``, in the order of ``keys``."""
    if not keys:
        return store.read("posts", limit=0)
    rows = store.read(
        "posts",
        where={
            "platform": sorted({k[0] for k in keys}),
            "post_id": [k[1] for k in keys],
        },
    )
    position = {k: i for i, k in enumerate(keys)}
    rows = rows.assign(
        _pos=[
            position.get((p, i), -1) for p, i in zip(rows["platform"], rows["post_id"], strict=True)
        ]
    )
    rows = rows[rows["_pos"] >= 0].sort_values("_pos").drop(columns="_pos")
    return rows.reset_index(drop=True)


# -- damage reports (被害報告) -------------------------------------------------------------------

INCIDENT_LIMIT = 300


def damage_reports(
    incidents: gpd.GeoDataFrame,
    *,
    since=None,
    until=None,
    categories=(),
    urgencies=(),
    towns=(),
) -> gpd.GeoDataFrame:
    """The damage reports (被害報告) among ``incidents``: the one definition every count uses.

    An incident is a damage report of the window [``since``, ``until``) when it was seen in it:
    its ``last_seen`` at or after ``since`` and its ``first_seen`` before ``until`` (None: open
    ended). Copies of posts are already left out of incidents (see the module docstring). The
    reports page's KPI and incident list and the situation map's count call this.

    Parameters
    ----------
    incidents : rows of the incidents layer (category, first_seen, last_seen, counts, urgency,
        town_code).
    since, until : the window (timestamps; None: no bound).
    categories, urgencies, towns : keep only these (empty: all). Urgency null counts as 0.

    Returns
    -------
    GeoDataFrame, most urgent, then biggest (:func:`incident_size`), then newest first.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2026-10-12T12:00Z")
    >>> inc = pd.DataFrame({"incident_id": ["a", "b"], "category": ["火災", "停電"],
    ...     "first_seen": [t - pd.Timedelta(hours=30), t - pd.Timedelta(hours=2)],
    ...     "last_seen": [t - pd.Timedelta(hours=25), t - pd.Timedelta(hours=1)],
    ...     "counts": [{"posts": 3}, {"posts": 1}], "urgency": [3, 1], "town_code": [None, None]})
    >>> damage_reports(inc, since=t - pd.Timedelta(hours=24))["incident_id"].tolist()
    ['b']
    """
    keep = np.ones(len(incidents), dtype=bool)
    if since is not None:
        keep &= (incidents["last_seen"] >= pd.Timestamp(since)).to_numpy(dtype=bool)
    if until is not None:
        keep &= (incidents["first_seen"] < pd.Timestamp(until)).to_numpy(dtype=bool)
    if categories:
        keep &= incidents["category"].isin(categories).to_numpy(dtype=bool)
    if urgencies:
        urgency = pd.to_numeric(incidents["urgency"], errors="coerce").fillna(0).astype(int)
        keep &= urgency.isin(urgencies).to_numpy(dtype=bool)
    if towns:
        keep &= incidents["town_code"].isin(towns).to_numpy(dtype=bool)
    rows = incidents[keep]
    rows = rows.assign(
        _u=pd.to_numeric(rows["urgency"], errors="coerce").fillna(0).to_numpy(),
        _n=[incident_size(c) for c in rows["counts"]],
    )
    rows = rows.sort_values(["_u", "_n", "last_seen"], ascending=False, kind="stable")
    return rows.drop(columns=["_u", "_n"]).reset_index(drop=True)


def filter_incidents(incidents: gpd.GeoDataFrame, filters: Filters, now=None) -> gpd.GeoDataFrame:
    """The damage reports (:func:`damage_reports`) of the feed's window and filters at ``now``.

    Most urgent, then biggest, then newest first (the map shows the first
    :data:`INCIDENT_LIMIT`).
    """
    return damage_reports(
        incidents,
        since=filters.since(now),
        categories=filters.categories,
        urgencies=filters.urgencies,
        towns=filters.towns,
    )


def incident_size(counts) -> int:
    """The number of pieces (posts, replies, field reports) of an incident."""
    if not isinstance(counts, dict):
        return 0
    return int(sum(v for v in counts.values() if isinstance(v, (int, float))))


# -- triage (staff writes, audit-logged) ---------------------------------------------------------


def triage(store, keys, action: str, *, actor: str, assignee: str | None = None) -> int:
    """Apply a triage ``action`` (verify / dismiss / handled / reopen / assign) to ``keys``.

    Each post is one audit-logged ``store.update`` under ``actor``. Returns how many posts
    were changed.
    """
    if action == "assign":
        name = (assignee or "").strip()
        if not name:
            raise ValueError("assign needs a staff name")
        changes = {"assigned_to": name[:100]}
    elif action in ACTIONS:
        changes = ACTIONS[action]
    else:
        raise ValueError(f"unknown triage action {action!r}")
    done = 0
    for key in keys:
        post = store.update("posts", tuple(key), dict(changes), actor=actor)
        if action == "verify":
            chronology.incident_verified(store, post)  # the highest urgency only, once
        done += 1
    return done


def move_post(store, key, lon: float, lat: float, towns: gpd.GeoDataFrame, *, actor: str) -> dict:
    """Put a wrongly placed post at (lon, lat): geo_source manual, the town it falls in.

    The geocoder's matched place is cleared (it was wrong); the audit row keeps it.

    Returns the new record (audit-logged under ``actor``).
    """
    import shapely

    lon, lat = float(lon), float(lat)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("the point is outside lon/lat bounds")
    changes = {
        "geometry": shapely.Point(lon, lat),
        "geo_source": "manual",
        "geo_confidence": 1.0,
        "town_code": reports_geo.town_at(towns, lon, lat),
        "matched_place": None,  # the place the geocoder matched was wrong (the audit keeps it)
    }
    return store.update("posts", tuple(key), changes, actor=actor)
