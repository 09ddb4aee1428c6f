"""The reports feed's post index, kept up to date by reading only what was written since.

The feed (:mod:`geodata.feed`) filters one slim index of the window's posts
(:func:`geodata.feed.slim_index`). Reading and decoding it again after every write to the posts
took 16–19 s at a million posts, and in a disaster an ingest batch writes every minute.
:class:`PostIndex` reads the window once, then on each :meth:`PostIndex.refresh` only the posts
whose write stamp it has not read (``posts.stored_at``: one stamp per transaction, set by every
``upsert``, every staff ``update`` such as a triage, and the retention scrub): a post with a key
it holds replaces it, a new one is appended, one posted before the window is dropped.

What a stamp cannot show is a deleted post (``Store.delete``). After each refresh the number of
posts in the window is compared with the store's count (``Store.count``, from the ``posted_at``
index); when they still disagree after a second look (the first may have missed a transaction
that committed between reading the stamps and counting) the window is read again in full. A transaction stamped more than
:data:`WRITE_SLACK` before a look but committed after it is caught the same way.

No streamlit here; the reports page keeps one :class:`PostIndex` per store and window, shared by
every session (``dashboard/reports/feed.py``).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata import feed
from geodata.schema import now_utc

# Stamps this far before the last look are read again: a transaction stamps its rows when it
# starts writing and may commit later (as ingest/dedupe.py's CopyHistory does).
WRITE_SLACK = timedelta(minutes=2)
# A window moving on keeps this much before its start: a session still on the previous hour's
# window (a rerun that started before the hour) must not send the index back to a full read.
KEEP_BEFORE = pd.Timedelta(hours=1)


class PostIndex:
    """The slim index of the posts posted since a time, and the write stamps it has read.

    Read only from outside: :meth:`refresh` returns the current frame; a change makes a new
    frame (a session still holding the old one is not disturbed). One lock: several sessions
    may refresh at once, one reads.
    """

    def __init__(self):
        self.frame: gpd.GeoDataFrame | None = None
        self.since: pd.Timestamp | None = None
        self.version: int | None = None  # the posts' data version at the last look
        self.looked_at = None  # stamps from WRITE_SLACK before this on are checked
        self.stamps: dict[pd.Timestamp, int] = {}  # stored_at -> rows read with it
        self.full_loads = 0
        self.rows_read = 0  # rows read by stamp (not by full loads)
        self._lock = threading.Lock()

    def refresh(self, store, since=None) -> gpd.GeoDataFrame:
        """The index of the posts posted at or after ``since`` (None: all), brought up to date.

        It may hold up to :data:`KEEP_BEFORE` more before ``since`` (callers filter on their
        window anyway): a ``since`` later than that drops the posts before ``since`` −
        ``KEEP_BEFORE``; an earlier one than it holds (or None after a time) reads in full.
        """
        since = None if since is None else pd.Timestamp(since)
        with self._lock:
            version = store.data_version("posts")
            if self.frame is None or _earlier(since, self.since):
                self._load(store, since, version)
                return self.frame
            if since is not None and (self.since is None or since - KEEP_BEFORE > self.since):
                self._trim(since - KEEP_BEFORE)
            if version != self.version:
                self._update(store, version)
            return self.frame

    # -- reading ------------------------------------------------------------------------------

    def _load(self, store, since, version) -> None:
        """Read the window in full (the stamps first: what commits later is read again)."""
        looked_at = now_utc()
        stamps = store.post_write_stamps(looked_at - WRITE_SLACK)
        frame = store.read("posts", since=since, columns=feed.INDEX_COLUMNS)
        self.frame = _reset(feed.slim_index(frame))
        self.since, self.version, self.looked_at = since, version, looked_at
        self.stamps = stamps
        self.full_loads += 1

    def _update(self, store, version) -> None:
        """Read what was written since the last look; read in full when the count disagrees
        twice (the second look reads what committed in between)."""
        for _ in range(2):
            looked_at = now_utc()
            self._read_written(store)
            self.version = version
            horizon = looked_at - WRITE_SLACK
            self.stamps = {t: n for t, n in self.stamps.items() if t >= horizon}
            self.looked_at = looked_at
            if store.count("posts", since=self.since) == len(self.frame):
                return
        self._load(store, self.since, version)

    def _read_written(self, store) -> None:
        """Merge the posts of every stamp not read yet, or with more rows than when read.

        A stamp with fewer rows lost them to a later write (read under its own stamp) or to a
        delete (the count check): nothing of it needs reading.
        """
        counts = store.post_write_stamps(self.looked_at - WRITE_SLACK)
        todo = [t for t, n in counts.items() if n > self.stamps.get(t, 0)]
        self.stamps.update(counts)
        if not todo:
            return
        rows = store.posts_written_at(todo, columns=feed.INDEX_COLUMNS)
        self.rows_read += len(rows)
        if rows.empty:
            return
        replaced = _key_mask(self.frame, rows)  # a key has one stamp: its last write
        rows = rows.drop(columns="stored_at")
        if self.since is not None:  # a post moved before the window is dropped
            rows = rows[np.asarray(rows["posted_at"] >= self.since, dtype=bool)]
        self._merge(feed.slim_index(rows.copy()), replaced)

    # -- changing the frame -------------------------------------------------------------------

    def _merge(self, new: gpd.GeoDataFrame, replaced: np.ndarray) -> None:
        """A new frame: the rows not ``replaced``, then ``new``; rows moved out of the window
        (``replaced`` but not in ``new``) are gone."""
        old = self.frame if not replaced.any() else self.frame[~replaced]
        if new.empty:
            self.frame = _reset(old)
            return
        old, new = _same_categories(old, new)
        self.frame = pd.concat([old, new[old.columns]], ignore_index=True)

    def _trim(self, since) -> None:
        keep = np.asarray(self.frame["posted_at"] >= since, dtype=bool)
        if not keep.all():
            self.frame = _reset(self.frame[keep])
        self.since = since


def _earlier(since, held) -> bool:
    """Whether a window from ``since`` needs posts the index from ``held`` does not hold."""
    if held is None:
        return False
    return since is None or since < held


def _reset(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.reset_index(drop=True)


def _key_mask(frame: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` whose key (platform, post_id) is among ``rows``' keys.

    The post ids first (a set lookup per row: 2.5× faster than ``isin`` on objects), the
    exact keys only for those few.
    """
    ids = frame["post_id"].to_numpy()
    wanted_ids = set(rows["post_id"])
    mask = np.fromiter((i in wanted_ids for i in ids), dtype=bool, count=len(ids))
    if mask.any():
        wanted = set(zip(rows["platform"].astype(str), rows["post_id"], strict=True))
        where = np.flatnonzero(mask)
        platforms = frame["platform"].iloc[where].astype(str).to_numpy()
        exact = [(p, i) in wanted for p, i in zip(platforms, ids[where], strict=True)]
        mask[where] = exact
    return mask


def _same_categories(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``old`` and ``new`` with the same categories in their categorical columns (so that
    ``concat`` keeps them categorical: an object column costs a pointer per row)."""
    old_changes, new_changes = {}, {}
    for col in feed.LOW_CARDINALITY:
        held = old[col].cat.categories
        extra = new[col].cat.categories.difference(held)
        cats = held.append(extra) if len(extra) else held
        if len(extra):
            old_changes[col] = old[col].cat.add_categories(extra)
        new_changes[col] = new[col].cat.set_categories(cats)
    if old_changes:
        old = old.assign(**old_changes)
    return old, new.assign(**new_changes)
