"""Dedupe of posts: a copy of an earlier post collapses onto it (``repost_of``).

``repost_of`` is set to the first post (``platform:post_id``, following chains to the root).
Texts are compared by a fingerprint (geodata/text/fingerprints.py: NFKC, lower case, URLs, @mentions,
#hashtags, whitespace, punctuation and emoji removed). Same fingerprint (at least ``MIN_EXACT``
characters) within ``EXACT_WINDOW`` = a copy; otherwise character 3-gram Jaccard similarity
>= ``SIMILARITY`` (fingerprints of at least ``MIN_SIMILAR`` characters) within
``SIMILAR_WINDOW``, with MinHash LSH buckets so a post is compared only with likely matches.
A candidate's similarity is computed only when an upper bound from 1,024-bit shingle masks says
it can reach the threshold (``_sketch``, ``_Masks``; on the 100k drill 12k of 646k candidates):
the bound never falls below the true similarity, so the copies found are the same.
Short texts (「助けて」) are never collapsed: two people writing them are two reports.

A new post may only copy a post before it; a post already stored keeps what it has (a re-run
changes nothing).

Across batches (:class:`CopyHistory`)
    A long-running ingest keeps what it knows of the stored posts between batches: every post
    from ``SIMILAR_WINDOW`` before its batches on (fingerprint, LSH buckets, ``repost_of``).
    Before a batch it reads from the store only

    * the posts written since its last look, found by write stamp (``posts.stored_at``,
      indexed; one stamp per transaction): its own previous batch, staff edits (an un-merged
      copy), another ingest process, a retention scrub;
    * the stretch of time a batch needs that it does not hold yet (the first batch, or a
      source catching up on hours it missed);
    * the first post of each of the batch's fingerprints in the day before what it holds.

    At a million posts a day the two hours before a batch hold ~100k posts: re-reading and
    re-walking them for every batch was most of the ingest time. Posts more than
    ``SIMILAR_WINDOW`` + ``KEEP_MARGIN`` older than the newest batch are dropped from memory.

Over ~400 lines on purpose: the in-memory index of recent posts and the rules that read it
(exact copies, near-identical texts, reposts) change together.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
from datetime import timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from geodata.incidents import post_key, present
from geodata.schema import now_utc
from geodata.text.fingerprints import MIN_EXACT, fingerprint, text_digest

EXACT_WINDOW = pd.Timedelta(hours=24)
SIMILAR_WINDOW = pd.Timedelta(hours=2)
SIMILARITY = 0.8
MIN_SIMILAR = 20
FIND_MIN = min(MIN_EXACT, MIN_SIMILAR)  # CopyIndex.find finds nothing for a shorter fingerprint
KEEP_MARGIN = pd.Timedelta(hours=1)  # held beyond the similarity window (sources lag)
WRITE_SLACK = timedelta(minutes=2)  # re-read writes this far back (commit order, clock skew)
_EXACT_NS = EXACT_WINDOW.value
_SIMILAR_NS = SIMILAR_WINDOW.value
_BANDS, _ROWS = 6, 3  # a pair at Jaccard 0.8 shares a bucket with p = 0.986
_PRIME = (1 << 31) - 1
_rng = np.random.default_rng(20240109)
_A = _rng.integers(1, _PRIME, _BANDS * _ROWS, dtype=np.int64)
_B = _rng.integers(0, _PRIME, _BANDS * _ROWS, dtype=np.int64)
HISTORY_COLUMNS = ["text", "posted_at", "repost_of"]


_SPOTS = 1024  # bits of a fingerprint's shingle mask (see _near)
_WORDS = _SPOTS // 64


@lru_cache(maxsize=1 << 16)
def _sketch(fp: str) -> tuple[frozenset, tuple, int, np.ndarray]:
    """Shingles, LSH bands, mask slack and shingle mask (as 64-bit words) of a fingerprint
    (cached: copies share them).

    The mask has bit ``crc32(shingle) % _SPOTS`` set for each shingle; the slack is the number
    of shingles whose bit another shingle of the same fingerprint set too. For two
    fingerprints, ``popcount(mask & other_mask) + slack`` is never below the number of shingles
    they share (a shared shingle sets the same bit in both masks; a bit counts once however
    many shared shingles set it, which the slack makes up for), so it bounds their similarity
    from above.
    """
    sh = frozenset(_shingles(fp))
    hashes = np.array([zlib.crc32(s.encode()) for s in sh], np.int64)
    spots = np.zeros(_SPOTS, dtype=bool)
    spots[hashes % _SPOTS] = True
    words = np.packbits(spots, bitorder="little").view(np.uint64)
    return sh, tuple(enumerate(_bands(hashes))), len(sh) - int(spots.sum()), words


class _Masks:
    """The shingle masks (as words), sizes and slacks of the fingerprints in the buckets, as
    rows of arrays: a lookup bounds the similarity of all its candidates at once (_near)."""

    def __init__(self):
        self.row: dict[str, int] = {}
        self.fps: list[str | None] = []
        self.words = np.zeros((256, _WORDS), np.uint64)
        self.sizes = np.zeros(256, np.int64)
        self.slacks = np.zeros(256, np.int64)
        self.free: list[int] = []

    def add(self, fp: str, size: int, slack: int, words: np.ndarray) -> int:
        """Hold ``fp``; its row."""
        if self.free:
            i = self.free.pop()
        else:
            i = len(self.fps)
            self.fps.append(None)
            if i == len(self.sizes):
                self.words = np.concatenate([self.words, np.zeros_like(self.words)])
                self.sizes = np.concatenate([self.sizes, np.zeros_like(self.sizes)])
                self.slacks = np.concatenate([self.slacks, np.zeros_like(self.slacks)])
        self.fps[i] = fp
        self.row[fp] = i
        self.words[i] = words
        self.sizes[i] = size
        self.slacks[i] = slack
        return i

    def remove(self, fp: str) -> int:
        """Let go of ``fp``; the row it had."""
        i = self.row.pop(fp)
        self.fps[i] = None
        self.free.append(i)
        return i

    def possible(self, rows: set[int], n: int, slack: int, words: np.ndarray) -> list[str]:
        """The fingerprints of ``rows`` whose size and shared-shingle bound (see _sketch) let
        them reach :data:`SIMILARITY` with a fingerprint of ``n`` shingles (the float
        arithmetic of the exact score, so nothing that reaches it is left out)."""
        idx = np.fromiter(rows, np.intp, len(rows))
        m = self.sizes[idx]
        shared = np.bitwise_count(self.words[idx] & words).sum(axis=1, dtype=np.int64)
        shared += np.minimum(self.slacks[idx], slack)
        total = m + n
        ratio = shared / np.maximum(total - shared, 1)  # (shared >= total: kept below)
        # Jaccard <= min/max of the sizes; Jaccard <= shared / (n + m - shared)
        keep = np.minimum(m, n) >= SIMILARITY * np.maximum(m, n) - 1e-9
        keep &= (shared >= total) | (ratio >= SIMILARITY)
        fps = self.fps
        return [fps[i] for i in idx[keep].tolist()]


def _shingles(fp: str) -> set[str]:
    return {fp[i : i + 3] for i in range(max(1, len(fp) - 2))}


def _bands(hashes: np.ndarray) -> list[int]:
    """The LSH band hashes of a fingerprint from the crc32 of its shingles."""
    mins = ((np.outer(hashes, _A) + _B) % _PRIME).min(axis=0).tolist()
    return [hash((b, *mins[b * _ROWS : (b + 1) * _ROWS])) for b in range(_BANDS)]


def _earlier(other_time, other_key: str, when, key: str) -> bool:
    """Whether the other post came first (ties broken by key, so the choice is stable)."""
    return other_time < when or (other_time == when and other_key < key)


def _ns(times) -> list[int]:
    """Nanoseconds since the epoch (whatever resolution the column has)."""
    return pd.Series(pd.to_datetime(times, utc=True)).dt.as_unit("ns").astype("int64").tolist()


class CopyIndex:
    """Posts known so far: fingerprint per post, first post per fingerprint, LSH buckets and
    copy -> original. A post can be put again (a re-read or an edit): the last put wins.

    Parameters
    ----------
    similar_from : posts before this time (ns) are not put into the LSH buckets (they can
        only be matched by exact fingerprint).
    """

    def __init__(self, similar_from: int | None = None):
        self.info: dict[str, tuple[int, str, str | None]] = {}  # key -> (when, fp, repost_of)
        self.exact: dict[str, tuple[int, str]] = {}
        # LSH band -> the fingerprints in it, by their row in self.masks (copies repeat the
        # same fingerprint many times: a lookup scores each fingerprint once and takes its
        # earliest eligible post), and fingerprint -> its posts [(when, key)] in time order
        # (one list for all its bands)
        self.buckets: dict[tuple, set[int]] = {}
        self.posts_of: dict[str, list[tuple[int, str]]] = {}
        # fingerprint in the buckets -> its shingles, and its mask, size and slack (_Masks)
        self.held: dict[str, frozenset] = {}
        self.masks = _Masks()
        self.root: dict[str, str] = {}
        self.older: dict[str, tuple[int, str]] = {}  # fp -> first post before what is held
        self.similar_from = similar_from
        self._undo: list | None = None
        # fingerprint in the buckets -> the other fingerprints in the buckets that share a band
        # with it and reach SIMILARITY -> their similarity. Kept as fingerprints come and go:
        # a lookup of a fingerprint held reads these few instead of scoring every fingerprint
        # of its bands (about 50 at 100k posts) again, so each pair is scored once.
        self.near: dict[str, dict[str, float]] = {}
        self._held = 0  # changes whenever a fingerprint comes into or leaves the buckets
        self._scan: tuple | None = None  # (fp, _held, near) of the last fingerprint scored

    def __len__(self) -> int:
        return len(self.info)

    def resolve(self, key: str) -> str:
        seen = set()
        while key in self.root and key not in seen:
            seen.add(key)
            key = self.root[key]
        return key

    def put(self, key: str, when: int, fp: str, repost_of: str | None):
        """Know the post ``key`` (stored, or new in the batch being marked)."""
        repost_of = repost_of if present(repost_of) else None
        old = self.info.get(key)
        if old == (when, fp, repost_of):
            return
        if self._undo is not None:
            self._undo.append(("info", key, old, self.root.get(key)))
        self.info[key] = (when, fp, repost_of)
        if repost_of:
            self.root[key] = repost_of
        else:
            self.root.pop(key, None)
        if old is not None and old[:2] == (when, fp):
            return
        if len(fp) >= MIN_EXACT and (fp not in self.exact or _earlier(when, key, *self.exact[fp])):
            if self._undo is not None:
                self._undo.append(("exact", fp, self.exact.get(fp)))
            self.exact[fp] = (when, key)
        if len(fp) >= MIN_SIMILAR and (self.similar_from is None or when >= self.similar_from):
            entries = self.posts_of.get(fp)
            if entries is None:
                self._arrive(fp)
                entries = self.posts_of[fp] = []
                sh, bands, slack, words = self.sketch(fp)
                self.held[fp] = sh
                row = self.masks.add(fp, len(sh), slack, words)
                for band in bands:
                    self.buckets.setdefault(band, set()).add(row)
            insort(entries, (when, key))
            if self._undo is not None:
                self._undo.append(("bucket", fp, (when, key)))

    def _current(self, key: str, fp: str) -> bool:
        """Whether ``key`` still has the fingerprint ``fp`` (an edited post does not)."""
        info = self.info.get(key)
        return info is not None and info[1] == fp

    def sketch(self, fp: str) -> tuple[frozenset, tuple]:
        return _sketch(fp)

    def find(self, fp: str, when: int, key: str) -> str | None:
        """The root of the earliest earlier post ``fp`` copies, else None."""
        exact = self.exact_copy_of(fp, when, key)
        if exact is not None or len(fp) < MIN_SIMILAR:
            return exact
        near = self.near.get(fp)
        if near is None:  # not in the buckets: scored against the fingerprints of its bands
            near = self._near(fp)
            candidates = near.items()
        else:  # in the buckets: its own earlier posts too
            candidates = [(fp, 1.0), *near.items()]
        return self.earliest_of(candidates, when, key)

    def exact_copy_of(self, fp: str, when: int, key: str) -> str | None:
        """The root of the first post of fingerprint ``fp`` when ``key`` (at ``when``) copies
        it exactly (within ``_EXACT_NS``), else None."""
        first = self.older.get(fp) if len(fp) >= MIN_EXACT else None
        if first is None and len(fp) >= MIN_EXACT and fp in self.exact:
            first = self.exact[fp] if self._current(self.exact[fp][1], fp) else None
        if first is not None:
            first_time, first_key = first
            if (
                _earlier(first_time, first_key, when, key)
                and when - first_time <= _EXACT_NS
                and self.resolve(first_key) != key
            ):
                return self.resolve(first_key)
        return None

    def earliest_of(self, candidates, when: int, key: str) -> str | None:
        """The root of the post ``key`` (at ``when``) copies among ``candidates`` ((fingerprint,
        similarity) pairs): the most similar fingerprint wins, a tie goes to the earliest post
        (whatever order the fingerprints are looked at in)."""
        best, best_score, best_time = None, SIMILARITY, 0
        for other_fp, score in candidates:
            if score < best_score:
                continue
            entries = self.posts_of[other_fp]
            # the earliest post of this fingerprint that qualifies
            for j in range(bisect_left(entries, (when - _SIMILAR_NS,)), len(entries)):
                other_time, other_key = entries[j]
                if not _earlier(other_time, other_key, when, key):
                    break
                if self.resolve(other_key) == key or not self._current(other_key, other_fp):
                    continue
                if score > best_score or (
                    best is None or _earlier(other_time, other_key, best_time, best)
                ):
                    best, best_score, best_time = other_key, score, other_time
                break
        return self.resolve(best) if best else None

    def _near(self, fp: str) -> dict[str, float]:
        """The fingerprints in the buckets (other than ``fp``) that share an LSH band with
        ``fp`` and reach :data:`SIMILARITY`, with their similarity."""
        scan = self._scan
        if scan is not None and scan[0] == fp and scan[1] == self._held:
            return scan[2]  # find scored it, put brings it in: nothing came or left since
        sh, bands, slack, words = _sketch(fp)
        n = len(sh)
        near: dict[str, float] = {}
        buckets = self.buckets
        candidates = set().union(*[buckets[band] for band in bands if band in buckets])
        if fp in self.held:
            candidates.discard(self.masks.row[fp])
        if not candidates:
            self._scan = (fp, self._held, near)
            return near
        held = self.held
        for other_fp in self.masks.possible(candidates, n, slack, words):
            other_sh = held[other_fp]
            m = len(other_sh)
            inter = len(sh & other_sh)
            score = inter / (n + m - inter)
            if score >= SIMILARITY:
                near[other_fp] = score
        self._scan = (fp, self._held, near)
        return near

    def _arrive(self, fp: str) -> None:
        """``fp`` comes into the buckets: it and the similar fingerprints know each other."""
        near = self.near[fp] = self._near(fp)
        for other_fp, score in near.items():
            self.near[other_fp][fp] = score
        self._held += 1

    def _leave(self, fp: str) -> None:
        """``fp`` has no post left in the buckets: out of its bands."""
        del self.posts_of[fp]
        del self.held[fp]
        row = self.masks.remove(fp)
        for band in _sketch(fp)[1]:
            bucket = self.buckets[band]
            bucket.discard(row)
            if not bucket:
                del self.buckets[band]
        for other_fp in self.near.pop(fp):
            self.near[other_fp].pop(fp, None)
        self._held += 1

    def mark(self, posts: pd.DataFrame, *, keep: bool = True) -> list:
        """``repost_of`` for each row of ``posts`` (oldest first; a stored post keeps its own).

        ``keep=False`` forgets the batch's posts afterwards: what reaches the store is read
        back from it (a rejected row must not be matched later).
        """
        keys = [post_key(p, i) for p, i in zip(posts["platform"], posts["post_id"], strict=True)]
        times = _ns(posts["posted_at"])
        texts = posts["text"].tolist()
        repost = posts["repost_of"].astype(object).tolist()
        self._undo = None if keep else []
        try:
            done: set[str] = set()
            for i in sorted(range(len(keys)), key=lambda j: (times[j], keys[j])):
                key = keys[i]
                if key in done:
                    continue
                done.add(key)
                known = self.info.get(key)
                if known is not None:  # stored: keeps what it has
                    repost[i] = known[2]
                    continue
                text = texts[i]
                fp = fingerprint(text if isinstance(text, str) else None)
                if not present(repost[i]) and fp:
                    repost[i] = self.find(fp, times[i], key)
                self.put(key, times[i], fp, repost[i] if present(repost[i]) else None)
        finally:
            undo, self._undo = self._undo, None
            for entry in reversed(undo or ()):
                self._revert(entry)
        return repost

    def _revert(self, entry: tuple) -> None:
        kind = entry[0]
        if kind == "bucket":
            _, fp, item = entry
            entries = self.posts_of[fp]
            entries.pop(bisect_left(entries, item))
            if not entries:
                self._leave(fp)
        elif kind == "exact":
            _, fp, old = entry
            if old is None:
                self.exact.pop(fp, None)
            else:
                self.exact[fp] = old
        else:
            _, key, old, root = entry
            if old is None:
                self.info.pop(key, None)
            else:
                self.info[key] = old
            if root is None:
                self.root.pop(key, None)
            else:
                self.root[key] = root

    def set_older(self, frame: pd.DataFrame) -> None:
        """The first posts of fingerprints from before the held posts (replaces the last set)."""
        self.older = {}
        for platform, post_id, text, when, repost_of in _rows(frame):
            key = post_key(platform, post_id)
            fp = fingerprint(text if isinstance(text, str) else None)
            if len(fp) >= MIN_EXACT and (
                fp not in self.older or _earlier(when, key, *self.older[fp])
            ):
                self.older[fp] = (when, key)
            if present(repost_of):
                self.root[key] = repost_of

    def put_frame(self, frame: pd.DataFrame | None) -> None:
        """Know the stored posts of ``frame`` (platform, post_id, text, posted_at, repost_of)."""
        for platform, post_id, text, when, repost_of in _rows(frame):
            fp = fingerprint(text if isinstance(text, str) else None)
            self.put(post_key(platform, post_id), when, fp, repost_of)

    def forget_before(self, when: int) -> None:
        """Drop the posts before ``when`` (ns)."""
        gone = [k for k, info in self.info.items() if info[0] < when]
        for key in gone:
            del self.info[key]
            self.root.pop(key, None)
        self.exact = {fp: v for fp, v in self.exact.items() if v[0] >= when}
        gone = []
        for fp, entries in self.posts_of.items():
            if entries[-1][0] < when:
                gone.append(fp)
            elif entries[0][0] < when:
                del entries[: bisect_left(entries, (when,))]
        for fp in gone:
            self._leave(fp)
        self._scan = None
        if self.similar_from is not None:
            self.similar_from = max(self.similar_from, when)


def _rows(frame: pd.DataFrame | None):
    """(platform, post_id, text, posted_at ns, repost_of) of stored posts."""
    if frame is None or not len(frame):
        return iter(())
    return zip(
        frame["platform"], frame["post_id"], frame["text"], _ns(frame["posted_at"]),
        frame["repost_of"], strict=True,
    )  # fmt: skip


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
    # A post older than this can match a new one only by exact fingerprint, never by
    # similarity: its shingles are not needed.
    index = CopyIndex(similar_from=min(_ns(out["posted_at"])) - _SIMILAR_NS)
    index.put_frame(history)
    out["repost_of"] = pd.Series(index.mark(out), index=out.index, dtype=object)
    return out


class CopyHistory:
    """What a long-running ingest knows of the stored posts, kept between batches.

    Parameters
    ----------
    store : the store the batches go to (``first_posts``, ``post_write_stamps``, ``posts_written_at``, ``read``);
        None: batches are only compared with themselves.
    """

    def __init__(self, store):
        self.store = store
        self.index = CopyIndex(similar_from=None)
        self.held_from: int | None = None  # every stored post posted since this is known (ns)
        self.written_since = None  # the store's writes before this time are known
        self.newest_batch: int | None = None
        # stored_at -> rows read with it, for the writes of the last WRITE_SLACK (see _written)
        self.stamps: dict[pd.Timestamp, int] = {}
        self.reads = {"window": 0, "written": 0, "first": 0}  # rows read, per kind

    def mark(self, posts: pd.DataFrame) -> pd.DataFrame:
        """A copy of the batch ``posts`` with ``repost_of`` set (as :func:`mark_duplicates` with
        the stored history of the batch's time window)."""
        out = posts.copy()
        times = pd.to_datetime(out["posted_at"], utc=True, errors="coerce").dropna()
        if self.store is None or not len(times):
            return mark_duplicates(out)
        start = pd.Timestamp(times.min()).as_unit("ns").value
        self._sync(start - _SIMILAR_NS)
        first = self.store.first_posts(
            [text_digest(t) for t in out["text"]],
            since=pd.Timestamp(start - _EXACT_NS, tz="UTC"),
            until=pd.Timestamp(self.held_from, tz="UTC"),
            columns=HISTORY_COLUMNS,
        )
        self.reads["first"] += len(first)
        self.index.set_older(first)
        out["repost_of"] = pd.Series(
            self.index.mark(out, keep=False), index=out.index, dtype=object
        )
        self.newest_batch = max(self.newest_batch or start, start)
        self.trim()
        return out

    def settling_index(self, cut: int, texts) -> CopyIndex:
        """The index for settling the posts from ``cut`` (ns) on (ingest/settle.py), under the
        ``incidents`` lock: every stored post from ``cut`` − ``SIMILAR_WINDOW`` on (what the
        store got since the last look is read first), and the first post before those of each
        fingerprint of ``texts``.

        The settling puts its results into the index; they reach the store when the batch's
        transaction commits. A batch that fails must call :meth:`forget` (its rows were
        never stored).
        """
        self._sync(cut - _SIMILAR_NS)
        first = self.store.first_posts(
            {text_digest(t) for t in texts},
            since=pd.Timestamp(cut - _EXACT_NS, tz="UTC"),
            until=pd.Timestamp(self.held_from, tz="UTC"),
            columns=HISTORY_COLUMNS,
        )
        self.reads["first"] += len(first)
        self.index.set_older(first)
        self.newest_batch = max(self.newest_batch or cut, cut)
        return self.index

    def wrote(self, stamps: dict) -> None:
        """The batch settled through :meth:`settling_index` committed, writing posts under
        ``stamps`` (``Store.post_stamps_written``: stamp -> rows). What it wrote is in the
        index already — the batch's posts and the stored posts it settled again, with the
        values the settling put — so the next look does not read those stamps back (at 100k
        posts that was every post read again once). A stamp that later has more rows (another
        transaction with the same stamp) is still read in full."""
        for stamp, n in stamps.items():
            self.stamps[stamp] = max(self.stamps.get(stamp, 0), n)

    def forget(self) -> None:
        """Drop everything held (a batch put into the index failed): the next batch reads the
        store again."""
        self.index = CopyIndex(similar_from=None)
        self.held_from = self.written_since = self.newest_batch = None
        self.stamps = {}

    def trim(self) -> None:
        """Drop what the next batches no longer need."""
        if self.newest_batch is None or self.held_from is None:
            return
        keep_from = self.newest_batch - _SIMILAR_NS - KEEP_MARGIN.value
        if self.held_from < keep_from - KEEP_MARGIN.value:
            self.index.forget_before(keep_from)
            self.held_from = keep_from

    def _sync(self, need_from: int) -> None:
        """Read what the store got since the last look, and the time the batch needs."""
        looked_at = now_utc()
        if self.held_from is None:
            window = self.store.read(
                "posts", since=pd.Timestamp(need_from, tz="UTC"), columns=HISTORY_COLUMNS
            )
            self.reads["window"] += len(window)
            self.index.put_frame(window)
            self.held_from = need_from
            self.index.similar_from = need_from
        else:
            self.index.put_frame(self._written())
            if need_from < self.held_from:
                gap = self.store.read(
                    "posts",
                    since=pd.Timestamp(need_from, tz="UTC"),
                    until=pd.Timestamp(self.held_from, tz="UTC"),
                    columns=HISTORY_COLUMNS,
                )
                self.reads["window"] += len(gap)
                self.index.similar_from = need_from
                self.index.put_frame(gap)
                self.held_from = need_from
        self.written_since = looked_at
        horizon = pd.Timestamp(looked_at - WRITE_SLACK)
        self.stamps = {t: n for t, n in self.stamps.items() if t >= horizon}

    def _written(self) -> pd.DataFrame:
        """Posts the store got since the last look.

        Read by write stamp (``Store.post_write_stamps``): a stamp not read yet, or with more
        rows than when it was read (two transactions with one stamp), is read in full. A stamp
        with fewer rows lost them to a later write (read under its own stamp) or to a delete
        (which a re-read cannot show either): the rows it kept are held as they were read, so
        it is not read again (as geodata/feed_index.py does). Re-reading them was more than
        half of the rows read at 100k posts: every relinked post leaves its batch's stamp.
        The stamps of the ``WRITE_SLACK`` before the last look are checked too: a transaction
        stamped before the last look may have committed after it.
        """
        counts = self.store.post_write_stamps(self.written_since - WRITE_SLACK)
        todo = [t for t, n in counts.items() if n > self.stamps.get(t, 0)]
        self.stamps.update(counts)
        if not todo:
            return None
        rows = self.store.posts_written_at(todo, columns=HISTORY_COLUMNS)
        self.reads["written"] += len(rows)
        held = pd.Timestamp(self.held_from, tz="UTC")
        return rows[rows["posted_at"] >= held]
