"""The reports feed's post index, kept up to date by reading only what was written since.

The feed (:mod:`geodata.feed`) filters one slim index of the window's posts
(:func:`geodata.feed.slim_index`). Reading and decoding it again after every write to the posts
took 16–19 s at a million posts, and in a disaster an ingest batch writes every minute.
:class:`PostIndex` reads the window once, then on each :meth:`PostIndex.refresh` only the posts
whose write stamp it has not read (``posts.stored_at``: one stamp per transaction, set by every
``upsert``, every staff ``update`` such as a triage, and the retention scrub): a post with a key
it holds replaces it, a new one is appended, one posted before the window is dropped.

What a stamp cannot show is a deleted post (``Store.delete``). When a refresh's new stamps do
not account for every write since the last look (the posts' data version moved on by more than
their number: a delete, or a transaction stamped more than :data:`WRITE_SLACK` before a look but
committed after it; also a write of another municipality on a shared store, whose stamps a
scoped store does not read) the number of posts in the window is compared with the store's count
(``Store.count``); when they still disagree after a second look (the first may have missed a
transaction that committed between reading the stamps and counting) the window is read again
in full.

The index also keeps what the feed's build would otherwise work out again for a million rows on
every new version or minute (:func:`geodata.feed.derive`: copy flag, point, lon/lat and x/y in
the hexagons' CRS, category counts; each a function of its own row, computed once when the row
is read), a post id -> row lookup (a batch of only new posts finds none of its keys held, with
no search), the ``repost_of`` counts and, per row, the copies naming it — updated with the rows
that arrive and leave. :meth:`PostIndex.feed` builds the feed from them under the lock: the same
feed as :func:`geodata.feed.build_feed` of a full read (tests/test_feed_index.py).

The rows live in :class:`Columns`, arrays with spare room at the end: a batch of only new posts
is written there (merging one into a million rows copied them all: 0.06-0.2 s) and the frame
handed out is views of the rows held.

No streamlit here; the reports page keeps one :class:`PostIndex` per store and window, shared by
every session (``dashboard/reports/feed.py``).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
from pandas.arrays import DatetimeArray

from geodata import feed, geometry
from geodata.schema import now_utc

# Stamps this far before the last look are read again: a transaction stamps its rows when it
# starts writing and may commit later (as ingest/dedupe.py's CopyHistory does).
WRITE_SLACK = timedelta(minutes=2)
# A window moving on keeps this much before its start: a session still on the previous hour's
# window (a rerun that started before the hour) must not send the index back to a full read.
KEEP_BEFORE = pd.Timedelta(hours=1)
RID = "_rid"  # a row's number in the index: increasing down the frame, never reused


class PostIndex:
    """The slim index of the posts posted since a time, and the write stamps it has read.

    Read only from outside: :meth:`refresh` returns the current frame; a change makes a new
    frame (a session still holding the old one is not disturbed). One lock: several sessions
    may refresh at once, one reads.
    """

    def __init__(self):
        self.frame: pd.DataFrame | None = None  # no geometry: derived point, lon/lat instead
        self.since: pd.Timestamp | None = None
        self.version: int | None = None  # the posts' data version at the last look
        self.looked_at = None  # stamps from WRITE_SLACK before this on are checked
        self.stamps: dict[pd.Timestamp, int] = {}  # stored_at -> rows read with it
        self.full_loads = 0
        self.rows_read = 0  # rows read by stamp (not by full loads)
        # Kept with the frame, for the feed's build (geodata.feed.Held): each row's number
        # (RID, increasing down the frame), post id -> row numbers, repost_of text -> rows naming it
        self.metric: str | None = None  # the CRS of the frame's derived x/y columns
        self.ids: dict[str, int | list[int]] = {}
        self.targets: dict[str, int] = {}
        self.named = np.zeros(0, dtype=np.int64)  # per row: copies in the frame naming it
        self.next_rid = 0
        self.builds = 0
        self.counts_skipped = 0  # refreshes that skipped the count check (see _update)
        self.trims_in_place = 0  # window moves that dropped a run of first rows (no copy)
        self.unchanged_skipped = 0  # rows written again with what the index holds unchanged
        self._lock = threading.Lock()

    def refresh(self, store, since=None) -> pd.DataFrame:
        """The index of the posts posted at or after ``since`` (None: all), brought up to date
        (:data:`geodata.feed.INDEX_COLUMNS` but the geometry, and :data:`geodata.feed.DERIVED`).

        It may hold up to :data:`KEEP_BEFORE` more before ``since`` (callers filter on their
        window anyway): a ``since`` later than that drops the posts before ``since`` −
        ``KEEP_BEFORE``; an earlier one than it holds (or None after a time) reads in full.
        """
        with self._lock:
            return self._refresh(store, since)

    def _refresh(self, store, since) -> pd.DataFrame:
        since = None if since is None else pd.Timestamp(since)
        version = store.data_version("posts")
        if self.frame is None or _earlier(since, self.since):
            self._load(store, since, version)
            return self.frame
        if since is not None and (self.since is None or since - KEEP_BEFORE > self.since):
            self._trim(since - KEEP_BEFORE)
        if version != self.version:
            self._update(store, version)
        return self.frame

    def feed(self, store, since, filters, now=None, bounds=None) -> feed.FeedView:
        """:func:`geodata.feed.build_feed` of the index brought up to date (:meth:`refresh`).

        Built from the rows' derived columns, the kept copy counts and post ids (under the lock:
        they change with the next refresh); the same feed as a build from a full read.
        """
        with self._lock:
            frame = self._refresh(store, since)
            self.builds += 1
            return feed.build_feed(frame, filters, now=now, bounds=bounds, held=self._held(frame))

    def _held(self, frame) -> feed.Held:
        return feed.Held(self.named, self._resolve)

    # -- reading ------------------------------------------------------------------------------

    def _load(self, store, since, version) -> None:
        """Read the window in full (the stamps first: what commits later is read again)."""
        looked_at = now_utc()
        stamps = store.post_write_stamps(looked_at - WRITE_SLACK)
        frame = feed.slim_index(store.read("posts", since=since, columns=feed.INDEX_COLUMNS))
        frame = _untracked_categories(feed.derive(frame))
        located = frame[feed.POINT].to_numpy(dtype=bool)
        self.metric = None
        if located.any():
            lon, lat = frame[feed.LON].to_numpy()[located], frame[feed.LAT].to_numpy()[located]
            self.metric = geometry.metric_crs(lon, lat)
            feed.derive_projected(frame, self.metric)
        frame = _without_geometry(frame)
        # oldest first: a window moving on then drops a run of rows at the start (an offset
        # into the columns, no copy: :meth:`_trim`); rows arriving later are mostly newer
        posted = pd.to_datetime(frame["posted_at"], utc=True).array.asi8
        frame = frame.take(np.argsort(posted, kind="stable"))
        frame[RID] = np.arange(len(frame), dtype=np.int64)
        self.next_rid = len(frame)
        self._set(_reset(frame), np.zeros(len(frame), dtype=np.int64))
        self.ids = {}
        _add_ids(self.ids, frame["post_id"].to_numpy(dtype=object), frame[RID].to_numpy())
        self.targets = _texts(frame["repost_of"])
        at, times = self._resolve(self.targets)
        np.add.at(self.named, at, times)
        self.since, self.version, self.looked_at = since, version, looked_at
        self.stamps = stamps
        self.full_loads += 1

    def _update(self, store, version) -> None:
        """Read what was written since the last look; read in full when the count disagrees
        twice (the second look reads what committed in between).

        The count is skipped when the look accounts for every write since the last one: the
        posts' data version moved on by exactly the number of new stamps read (each write
        transaction moves it by one and stamps its rows with one stamp). A delete moves it
        without a stamp, and so does a transaction stamped before the stamps looked at (it
        committed late): both are counted. The count was most of a refresh at a million posts
        on a scoped store (the scope is not in the ``posted_at`` index: 0.45 s).
        """
        moved = None if self.version is None else version - self.version
        for _ in range(2):
            looked_at = now_utc()
            fresh = self._read_written(store)
            self.version = version
            horizon = looked_at - WRITE_SLACK
            self.stamps = {t: n for t, n in self.stamps.items() if t >= horizon}
            self.looked_at = looked_at
            if fresh is not None and fresh == moved:
                self.counts_skipped += 1
                return
            moved = None  # the second look: counted
            if store.count("posts", since=self.since) == len(self.frame):
                return
        self._load(store, self.since, version)

    def _read_written(self, store) -> int | None:
        """Merge the posts of every stamp not read yet, or with more rows than when read.

        A stamp with fewer rows lost them to a later write (read under its own stamp) or to a
        delete (the count check): nothing of it needs reading. Returns the number of stamps
        not seen before, or None when a stamp seen before has more rows (two transactions
        with one stamp: the count decides).
        """
        counts = store.post_write_stamps(self.looked_at - WRITE_SLACK)
        todo = [t for t, n in counts.items() if n > self.stamps.get(t, 0)]
        fresh = sum(1 for t in counts if t not in self.stamps)
        grown = len(todo) > fresh
        self.stamps.update(counts)
        if not todo:
            return None if grown else fresh
        rows = store.posts_written_at(todo, columns=feed.INDEX_COLUMNS)
        self.rows_read += len(rows)
        if rows.empty:
            return None if grown else fresh
        replaced = self._held_rows(rows)  # a key has one stamp: its last write
        rows = rows.drop(columns="stored_at")
        if self.since is not None:  # a post moved before the window is dropped
            rows = rows[np.asarray(rows["posted_at"] >= self.since, dtype=bool)]
        new = _untracked_categories(_without_geometry(feed.derive(feed.slim_index(rows.copy()))))
        if replaced.any():
            new, replaced = self._changed_only(new, replaced)
        self._merge(new, replaced)
        return None if grown else fresh

    def _changed_only(self, new: pd.DataFrame, replaced: np.ndarray):
        """``new`` and ``replaced`` without the rows written again with every value the index
        holds unchanged: ingest re-links incidents, and each batch writes again the stored posts
        whose incident changed (a column the feed does not hold). Replacing them copied every
        column of the index (0.2 s at a million posts) for nothing."""
        cols = [c for c in new.columns if c in self.frame.columns and c != RID]
        held = self.frame.loc[replaced, cols]
        held_keys = list(zip(held["platform"].astype(str), held["post_id"], strict=True))
        at = {k: i for i, k in enumerate(held_keys)}
        keys = list(zip(new["platform"].astype(str), new["post_id"], strict=True))
        pairs = [(j, at[k]) for j, k in enumerate(keys) if k in at]
        if not pairs:
            return new, replaced
        same = np.ones(len(pairs), dtype=bool)
        mine, theirs = [j for j, _ in pairs], [i for _, i in pairs]
        for col in cols:
            a = new[col].iloc[mine].astype(object).tolist()
            b = held[col].iloc[theirs].astype(object).tolist()
            same &= [_equal(x, y) for x, y in zip(a, b, strict=True)]
        if not same.any():
            return new, replaced
        unchanged = {keys[j] for j, s in zip(mine, same, strict=True) if s}
        replaced = replaced.copy()
        where = np.flatnonzero(replaced)
        for i, k in zip(where, held_keys, strict=True):
            if k in unchanged:
                replaced[i] = False
        keep = [k not in unchanged for k in keys]
        self.unchanged_skipped += len(unchanged)
        return new[np.asarray(keep, dtype=bool)], replaced

    # -- changing the frame -------------------------------------------------------------------

    def _held_rows(self, rows: pd.DataFrame) -> np.ndarray:
        """Rows of the frame whose key (platform, post_id) is among ``rows``' keys: the post ids
        looked up in :attr:`ids` (a batch of only new posts finds none), then the platforms."""
        mask = np.zeros(len(self.frame), dtype=bool)
        rids = []
        for post_id in set(rows["post_id"]):
            held = self.ids.get(post_id)
            if held is not None:
                rids.extend([held] if isinstance(held, int) else held)
        if not rids:
            return mask
        where = np.searchsorted(self.frame[RID].to_numpy(), rids)
        wanted = set(zip(rows["platform"].astype(str), rows["post_id"], strict=True))
        platforms = self.frame["platform"].iloc[where].astype(str).to_numpy()
        ids = self.frame["post_id"].to_numpy(dtype=object)[where]
        exact = [(p, i) in wanted for p, i in zip(platforms, ids, strict=True)]
        mask[where[np.asarray(exact, dtype=bool)]] = True
        return mask

    def _merge(self, new: pd.DataFrame, replaced: np.ndarray) -> None:
        """The rows not ``replaced``, then ``new``; rows moved out of the window (``replaced``
        but not in ``new``) are gone.

        New rows only (an ingest batch of new posts) are written into the columns' spare room
        (:class:`Columns`): no copy of the million rows held. A replaced row (a triage, a post
        edited) or the first located posts copy the rows kept into new columns, as a window
        moving on does (:meth:`_trim`).
        """
        if replaced.any():
            self._forget(self.frame[replaced])
        if not new.empty:
            first_located = self.metric is None and new[feed.POINT].any()
            if first_located:
                located = new[feed.POINT].to_numpy(dtype=bool)
                lon, lat = new[feed.LON].to_numpy()[located], new[feed.LAT].to_numpy()[located]
                self.metric = geometry.metric_crs(lon, lat)
            if self.metric is not None:
                feed.derive_projected(new, self.metric)
        else:
            first_located = False
        if first_located:  # copied: the rows kept into new columns, projected
            old = self.frame[~replaced] if replaced.any() else self.frame
            self._set(_reset(feed.derive_projected(old.copy(), self.metric)), self.named[~replaced])
        elif replaced.any():  # copied: the rows kept into new columns
            self._keep(~replaced)
        if new.empty:
            return
        new[RID] = np.arange(self.next_rid, self.next_rid + len(new), dtype=np.int64)
        self.next_rid += len(new)
        # copies already held naming a new row, then the new copies naming any row
        targets = self.targets
        named_new = [
            targets.get(i, 0) + targets.get(f"{p}:{i}", 0)
            for p, i in zip(new["platform"].astype(str), new["post_id"], strict=True)
        ]
        _add_ids(self.ids, new["post_id"].to_numpy(dtype=object), new[RID].to_numpy())
        self._columns.append(new, np.asarray(named_new, dtype=np.int64))
        self.frame, self.named = self._columns.frame(), self._columns.named()
        arriving = _texts(new["repost_of"])
        _count(self.targets, arriving, +1)
        at, times = self._resolve(arriving)
        np.add.at(self.named, at, times)

    def _keep(self, keep: np.ndarray) -> None:
        """Hold only the rows ``keep`` (new columns: frames handed out keep theirs)."""
        self._columns = self._columns.kept(keep)
        self.frame, self.named = self._columns.frame(), self._columns.named()

    def _set(self, frame: pd.DataFrame, named: np.ndarray) -> None:
        """Hold ``frame`` (copied into new :class:`Columns`) and its copies per row."""
        self._columns = Columns(frame, named)
        self.frame, self.named = self._columns.frame(), self._columns.named()

    def _forget(self, rows: pd.DataFrame) -> None:
        """Take ``rows`` (leaving the frame) out of :attr:`ids` and :attr:`targets`."""
        for post_id, rid in zip(rows["post_id"], rows[RID].tolist(), strict=True):
            held = self.ids.get(post_id)
            if isinstance(held, int):
                if held == rid:
                    del self.ids[post_id]
            elif held is not None and rid in held:
                held = [r for r in held if r != rid]
                self.ids[post_id] = held[0] if len(held) == 1 else held
        leaving = _texts(rows["repost_of"])
        _count(self.targets, leaving, -1)
        at, times = self._resolve(leaving)
        np.subtract.at(self.named, at, times)

    def _resolve(self, texts: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the frame of the rows ``texts`` (repost_of -> copies) name, and the
        copies naming each (:func:`geodata.feed.resolve_targets`)."""
        if not texts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return feed.resolve_targets(
            texts, self.ids, self.frame[RID].to_numpy(), _platforms(self.frame)
        )

    def _trim(self, since) -> None:
        """Drop the rows posted before ``since``. When they are the first rows held (the
        frame is read oldest first and new posts arrive at the end) the columns start later
        (:meth:`Columns.drop_first`, no copy); rows kept among them (a post re-appended by a
        triage, a post arriving late) copy the rows kept into new columns, as before."""
        keep = np.asarray(self.frame["posted_at"] >= since, dtype=bool)
        if not keep.all():
            self._forget(self.frame[~keep])
            dropped = len(keep) - int(np.count_nonzero(keep))
            if not keep[:dropped].any():  # the first ``dropped`` rows, and only them
                self._columns.drop_first(dropped)
                self.frame, self.named = self._columns.frame(), self._columns.named()
                self.trims_in_place += 1
            else:
                self._keep(keep)
        self.since = since


def _without_geometry(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """``frame`` without its geometry column, once :func:`geodata.feed.derive` has taken what
    the feed needs of it (point or not, lon/lat): a million shapely points held ~150 MB, and
    every merge copied them."""
    return pd.DataFrame(frame.drop(columns="geometry"))


def _equal(a, b) -> bool:
    """Whether two held values are the same (missing equals missing)."""
    missing_a = a is None or a is pd.NA or (isinstance(a, float) and a != a) or a is pd.NaT
    missing_b = b is None or b is pd.NA or (isinstance(b, float) and b != b) or b is pd.NaT
    if missing_a or missing_b:
        return missing_a and missing_b
    return bool(a == b)


def _untracked_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its category lists as tuples, in place (the feed only tests membership;
    :func:`geodata.feed.derive` has counted them already).

    A list is always tracked by Python's garbage collector, so every full collection walked a
    million of them (~0.2 s in a rerun of the page at a million posts); a tuple of strings is
    untracked by the first collection that sees it."""
    frame["categories"] = pd.Series(
        [tuple(c) for c in frame["categories"]], index=frame.index, dtype=object
    )
    return frame


def _earlier(since, held) -> bool:
    """Whether a window from ``since`` needs posts the index from ``held`` does not hold."""
    if held is None:
        return False
    return since is None or since < held


def _reset(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.reset_index(drop=True)


def _add_ids(ids: dict, post_ids: np.ndarray, rids: np.ndarray) -> None:
    """Add row numbers ``rids`` under their ``post_ids`` (a list where ids repeat: platforms)."""
    for post_id, rid in zip(post_ids.tolist(), rids.tolist(), strict=True):
        held = ids.setdefault(post_id, rid)
        if held is not rid and held != rid:
            ids[post_id] = [*([held] if isinstance(held, int) else held), rid]


def _texts(repost_of: pd.Series) -> dict[str, int]:
    """The ``repost_of`` texts of some rows and how many name each."""
    return {t: int(n) for t, n in repost_of.dropna().value_counts().items()}


def _platforms(frame: pd.DataFrame) -> np.ndarray:
    return feed.objects(frame["platform"])


def _count(targets: dict[str, int], texts: dict[str, int], sign: int) -> None:
    """Add (``sign`` +1) or take away (-1) ``texts`` (:func:`_texts`) of some rows."""
    for text, n in texts.items():
        left = targets.get(text, 0) + sign * int(n)
        if left:
            targets[text] = left
        else:
            targets.pop(text, None)


class Columns:
    """The index's columns with spare room at the end: :meth:`append` writes new rows into it
    and :meth:`frame` hands out a frame of views of the rows held (no copy). A frame handed out
    earlier still sees its own rows only: rows are written past its end, never over it.

    Categorical columns are held as codes (their categories only grow); datetimes as their
    numpy values; when the room runs out every column moves to one a sixteenth larger (a
    copy, once per ~``len / 16`` rows appended). The rows held are ``[start, end)``: dropping
    the first rows (a window moving on, :meth:`drop_first`) moves ``start`` on, no copy, until
    the rows dropped outnumber half the rows held (then the columns are copied, as when the
    room grows, which also leaves the dropped rows behind). Dropping other rows (a row
    replaced, :meth:`kept`) copies the rows kept into new columns.
    """

    SPARE = 1 / 16  # room beyond the rows held, as a share of them (62,500 posts at 1M)
    MIN_SPARE = 4096

    def __init__(self, frame: pd.DataFrame, named: np.ndarray):
        self.start = 0  # the first row held; rows before it were dropped
        self.n = len(frame)  # the end of the rows held
        self.columns = list(frame.columns)
        self.categories: dict[str, pd.CategoricalDtype] = {}
        self.dtypes: dict[str, object] = {}
        self.data: dict[str, np.ndarray] = {}
        capacity = self._capacity(self.n)
        for col in self.columns:
            values = frame[col]
            if isinstance(values.dtype, pd.CategoricalDtype):
                self.categories[col] = values.dtype
                array = values.cat.codes.to_numpy()
            elif isinstance(values.dtype, pd.DatetimeTZDtype):
                self.dtypes[col] = values.dtype
                array = values.array._ndarray  # naive UTC values
            else:
                self.dtypes[col] = values.dtype
                array = values.to_numpy()
            self.data[col] = _room(array, capacity)
        self._named = _room(np.asarray(named, dtype=np.int64), capacity)

    def kept(self, keep: np.ndarray) -> Columns:
        """New columns of the rows ``keep`` (a mask over the rows held): one copy each."""
        out = object.__new__(Columns)
        out.start, out.n = 0, int(keep.sum())
        out.columns, out.categories, out.dtypes = (
            list(self.columns),
            dict(self.categories),
            dict(self.dtypes),
        )
        capacity = self._capacity(out.n)
        at = np.flatnonzero(keep) + self.start
        out.data = {c: _room(a[: self.n], capacity, at) for c, a in self.data.items()}
        out._named = _room(self._named[: self.n], capacity, at)
        return out

    def _capacity(self, n: int) -> int:
        return n + max(int(n * self.SPARE), self.MIN_SPARE)

    def frame(self) -> pd.DataFrame:
        """The rows held, as a frame of views of the columns (the index's frame)."""
        out = {}
        for col in self.columns:
            values = self.data[col][self.start : self.n]
            if col in self.categories:
                array = pd.Categorical.from_codes(
                    values, dtype=self.categories[col], validate=False
                )
            elif isinstance(self.dtypes[col], pd.DatetimeTZDtype):
                array = DatetimeArray._simple_new(values, dtype=self.dtypes[col])
            else:
                array = values
            out[col] = pd.Series(array, dtype=None if col in self.categories else
                                 self.dtypes[col], copy=False)  # fmt: skip
        return pd.DataFrame(out, copy=False)

    def named(self) -> np.ndarray:
        """The copies naming each row held (a view: updated in place)."""
        return self._named[self.start : self.n]

    def __len__(self) -> int:
        return self.n - self.start

    def drop_first(self, k: int) -> None:
        """Stop holding the first ``k`` rows: ``start`` moves on (frames handed out keep
        theirs); the columns are copied only once the rows dropped outnumber half those held."""
        self.start += k
        if self.start > len(self) // 2:
            self._grow(self._capacity(len(self)))

    def append(self, new: pd.DataFrame, named: np.ndarray) -> None:
        """Write ``new`` (the same columns) and its ``named`` after the rows held."""
        k = len(new)
        if self.n + k > len(self._named):
            self._grow(self._capacity(len(self) + k))
        at = slice(self.n, self.n + k)
        for col in self.columns:
            values = new[col]
            if col in self.categories:
                held = self.categories[col]
                extra = pd.Index(values.dropna().unique()).difference(held.categories)
                if len(extra):
                    cats = held.categories.append(extra)
                    self.categories[col] = pd.CategoricalDtype(cats)
                    wanted = pd.Categorical.from_codes(
                        np.zeros(0, dtype=np.int8), dtype=self.categories[col]
                    ).codes.dtype
                    if wanted.itemsize > self.data[col].dtype.itemsize:
                        self.data[col] = self.data[col].astype(wanted)  # >127 categories
                codes = pd.Categorical(values, dtype=self.categories[col]).codes
                self.data[col][at] = codes
            elif isinstance(self.dtypes[col], pd.DatetimeTZDtype):
                self.data[col][at] = (
                    pd.Series(values).dt.tz_convert("UTC").array._ndarray.astype(
                        self.data[col].dtype
                    )
                )  # fmt: skip
            else:
                self.data[col][at] = values.to_numpy(dtype=self.data[col].dtype)
        self._named[at] = named
        self.n += k

    def _grow(self, capacity: int) -> None:
        """Move the rows held to new columns of ``capacity`` (the rows dropped left behind)."""
        held = slice(self.start, self.n)
        for col in self.columns:
            self.data[col] = _room(self.data[col][held], capacity)
        self._named = _room(self._named[held], capacity)
        self.start, self.n = 0, self.n - self.start


def _room(values: np.ndarray, capacity: int, at: np.ndarray | None = None) -> np.ndarray:
    """A new array of ``capacity`` starting with ``values`` (those at positions ``at``): a copy."""
    n = len(values) if at is None else len(at)
    out = np.empty(capacity, dtype=values.dtype)
    if values.dtype == object:
        out[n:] = None
    if at is None:
        out[:n] = values
    else:
        np.take(values, at, out=out[:n])
    return out
