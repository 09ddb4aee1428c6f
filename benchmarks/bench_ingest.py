"""Ingest throughput: drill posts through the real runner into SQLite, against a row-by-row insert.

Measured (``posts/s``): the drill's raw payloads (Mastodon statuses, Bluesky PostViews, the
generic posts file) replayed through ``ingest.runner.run_all`` with the real source classes,
so every batch is normalized, geocoded (gazetteer), classified, de-duplicated (copies ->
``repost_of``), merged into incidents and upserted, with rejections and source health written.
Only ``fetch`` is replaced (it yields the batch's payloads from memory: the network is not what
is measured). The 24 h timeline is cut into windows of ``batch`` posts, oldest window first,
like a catch-up after an outage; per window the three sources are fetched and written as the
``run --loop`` process writes fetches that end together (``ingest.runner.run_all`` ->
``write_together``: their posts in one transaction, copies settled and incidents linked once). A run
stops after the workspace budget (the figure then says how many posts it covered).

Baseline (same run, same machine): the very rows the pipeline stored, written the naive way
with Python's sqlite3 into an empty store of the same schema (same indexes, WAL,
synchronous=NORMAL): one ``INSERT`` per row and one commit per row — what a simple webhook
handler does. A second baseline commits once per 1,000 rows. The baselines do none of the
pipeline's work (no parsing, geocoding, classification, dedupe, incidents): a ratio below 1
says the pipeline is slower than merely writing rows one by one.

``stages`` (in ``extra``) splits the pipeline's time by step (exclusive times).
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
import pandas as pd

from benchmarks.common import SEED, Figure, Scale, Workspace, copy_sqlite

NAME = "ingest"
BATCH = 5_000  # posts per window (all sources together)
BASELINE_ROWS = 20_000  # rows the row-by-row baselines write (a rate; more adds nothing)
TARGET = 12_000.0  # posts/s on 2 cores, one process at 100k (issue 20)
FROM_T0_MAX = 100_000  # larger drills are measured in steady state from the peak (T+12 h)
PEAK_HOURS = 12


class StageTimer:
    """Exclusive wall time per named step of wrapped functions (nested calls subtracted)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []

    def wrap(self, name: str, fn):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            self._stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                total = time.perf_counter() - start
                children = self._stack.pop()
                self.seconds[name] += total - children
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1] += total

        return timed_call


# Runner steps, by the name they have in ingest.runner (a renamed one fails the benchmark).
_RUNNER_STEPS = {
    "enrich_posts": "geocode+classify (glue)",
    "keep_staff_fields": "staff fields",
    "link_and_store": "incidents",
    "settle_copies": "dedupe",  # copies marked under the lock (ingest/settle.py)
    "_new_rejections": "rejections",
}
# Store reads are left unwrapped: their time counts in the step that asked for them.
_STORE_STEPS = {
    "upsert": "upsert (posts, incidents)",
    "record_health": "health",
    "record_healths": "health",
    "get_cursor": "health",
    "add_rejections": "rejections",
    "read_rejections": "rejections",
    "first_posts": "dedupe (history read)",
}


@contextmanager
def _instrumented(timer: StageTimer, store, context, sources):
    import ingest.runner as runner

    saved = []
    for attr, stage in _RUNNER_STEPS.items():
        saved.append((runner, attr, getattr(runner, attr)))
        setattr(runner, attr, timer.wrap(stage, getattr(runner, attr)))
    for attr, stage in _STORE_STEPS.items():
        if hasattr(store, attr):
            setattr(store, attr, timer.wrap(stage, getattr(store, attr)))
    gaz = context.gazetteer
    if gaz is not None:
        gaz.geocode_many = timer.wrap("geocode", gaz.geocode_many)
    copies = context.copies  # the dedupe's history kept between batches
    copies._sync = timer.wrap("dedupe (history read)", copies._sync)
    classify = context.classifier
    if classify is not None:
        wrapped = timer.wrap("classify", classify)
        if getattr(classify, "many", None) is not None:  # the batch form the runner uses
            wrapped.many = timer.wrap("classify", classify.many)
        context._classifier = wrapped
    for source in sources:
        source.normalize = timer.wrap("normalize", source.normalize)
    try:
        yield
    finally:
        for owner, attr, value in saved:
            setattr(owner, attr, value)


def _replay_sources():
    """The real source classes with ``fetch`` yielding ``self.batch`` (set per window)."""
    from ingest.sources.bluesky import BlueskySource
    from ingest.sources.mastodon import MastodonSource
    from ingest.sources.posts_file import PostsFileSource

    class Replay:
        batch: list = []

        def fetch(self, since):
            return iter(self.batch)

    class Mastodon(Replay, MastodonSource):
        pass

    class Bluesky(Replay, BlueskySource):
        pass

    class PostsFile(Replay, PostsFileSource):
        pass

    return [
        Mastodon("drill-mastodon", base_url="https://mstdn.example", hashtags=["調布"]),
        Bluesky("drill-bluesky", base_url="https://bsky.example", query="調布"),
        PostsFile("drill-posts-file", path="drill/posts.jsonl", platform="x"),
    ]


def _payloads(drill) -> list[tuple[list, np.ndarray]]:
    """(payloads oldest first, their offsets in seconds) per source, in _replay_sources order."""
    platform = drill.posts["platform"].to_numpy()
    offset = drill.posts["offset_s"].to_numpy()
    masks = (platform == "mastodon", platform == "bluesky", np.isin(platform, ["x", "threads"]))
    lists = (drill.mastodon, drill.bluesky, drill.posts_file)
    out = []
    for mask, payloads in zip(masks, lists, strict=True):
        offsets = offset[mask]
        assert len(offsets) == len(payloads)
        order = np.argsort(offsets, kind="stable")
        out.append(([payloads[i] for i in order], offsets[order]))
    return out


def _cold_text_caches() -> None:
    """Empty the per-text caches (fingerprints, their digests, LSH sketches): a repeat replays
    the same texts, which a real day's posts never are, so each repeat starts without them."""
    from geodata.text import fingerprints
    from ingest import dedupe

    for cached in (
        fingerprints.fingerprint, fingerprints.fingerprint_digest, fingerprints.text_digest,
        dedupe._sketch,
    ):  # fmt: skip
        clear = getattr(cached, "cache_clear", None)  # (not every version caches each)
        if clear is not None:
            clear()


def run_pipeline(
    url: str,
    drill,
    batch: int = BATCH,
    budget: float | None = None,
    start_s: float = 0.0,
    together: bool = True,
) -> dict:
    """Replay the drill's posts through the runner into the store at ``url``.

    ``start_s``: replay only the windows from this offset (seconds after T0) on; the store is
    expected to hold the posts before it. ``together``: a window's sources are fetched and
    written as ``run --loop`` writes fetches that end together (``ingest.runner.run_all``:
    one transaction, one settling and linking); False: one ``run_source`` per source, each
    settling and re-linking the posts the others wrote for the same minutes. Returns posts
    fed, seconds in the runner, stage seconds, windows done and stored rows.
    """
    from geodata.store.core import open_store
    from ingest.base import IngestContext
    from ingest.runner import run_all, run_source, tune_gc

    _cold_text_caches()
    gc_before = gc.get_threshold()
    tune_gc()  # as the ingest's `run --loop` process does
    store = open_store(url)
    context = IngestContext(store)
    context.gazetteer  # built once, as in a long-running loop  # noqa: B018
    sources = _replay_sources()
    per_source = _payloads(drill)
    offsets = np.sort(drill.posts["offset_s"].to_numpy())
    windows = max(1, -(-len(offsets) // batch))
    edges = np.quantile(offsets, np.linspace(0, 1, windows + 1)) if len(offsets) else [0, 0]
    edges[-1] = np.inf
    timer = StageTimer()
    fed = seconds = 0.0
    done = 0
    failures: list[str] = []
    with _instrumented(timer, store, context, sources):
        for w in range(windows):
            if edges[w + 1] <= start_s:
                continue
            due = []
            for source, (payloads, offs) in zip(sources, per_source, strict=True):
                lo, hi = np.searchsorted(offs, [edges[w], edges[w + 1]], side="left")
                source.batch = payloads[lo:hi]
                if source.batch:
                    due.append(source)
                    fed += len(source.batch)
            start = time.perf_counter()
            if together:  # as `run --loop` writes fetches that end together
                results = run_all(store, due, context=context, deadlines=False)
            else:
                results = [run_source(store, source, context=context) for source in due]
            seconds += time.perf_counter() - start
            failures += [str(r.get("error")) for r in results if not r.get("ok")]
            done += 1
            if budget is not None and seconds > budget:
                break
    gc.set_threshold(*gc_before)
    stored = store.count("posts")
    store.dispose()
    timer.seconds["other (run_source, cursor, context)"] = seconds - sum(timer.seconds.values())
    return {
        "posts": int(fed),
        "seconds": seconds,
        "windows": done,
        "of_windows": int(np.sum(edges[1:] > start_s)),
        "stored": stored,
        "stages": {k: round(v, 3) for k, v in sorted(timer.seconds.items(), key=lambda kv: -kv[1])},
        "failures": failures[:5],
    }


def _store_before(ws: Workspace, scale: Scale, cutoff) -> str:
    """A copy of the scenario store holding only the posts before ``cutoff``."""
    scenario = ws.scenario(scale, "sqlite")
    url = ws.fresh_copy(scenario.url, f"ingest-{scale.name}-template")
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    stamp = pd.Timestamp(cutoff).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f")
    try:
        con.execute("DELETE FROM posts WHERE posted_at >= ?", (stamp,))
        # the scenario store's incidents were linked by the runner: those begun later go too
        # (the ones still going at the cutoff are re-linked by the replayed batches)
        con.execute("DELETE FROM incidents WHERE first_seen >= ?", (stamp,))
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return url


def _stored_rows(url: str, limit: int) -> tuple[list[str], list[tuple]]:
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        cur = con.execute(f"SELECT * FROM posts ORDER BY posted_at LIMIT {int(limit)}")
        names = [d[0] for d in cur.description]
        return names, cur.fetchall()
    finally:
        con.close()


def _baseline_insert(
    empty_db: str, names: list[str], rows: list[tuple], commit_every: int
) -> float:
    """Seconds to write ``rows`` into the empty store ``empty_db`` with Python's sqlite3 (WAL,
    synchronous=NORMAL, as the store): one ``executemany`` in one transaction when
    ``commit_every`` is 0, else one INSERT per row committing every ``commit_every`` rows."""
    con = sqlite3.connect(empty_db, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        sql = f"INSERT INTO posts ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        start = time.perf_counter()
        if not commit_every:
            con.execute("BEGIN")
            con.executemany(sql, rows)
            con.execute("COMMIT")
            return time.perf_counter() - start
        in_tx = 0
        for row in rows:
            if in_tx == 0:
                con.execute("BEGIN")
            con.execute(sql, row)
            in_tx += 1
            if in_tx >= commit_every:
                con.execute("COMMIT")
                in_tx = 0
        if in_tx:
            con.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        con.close()


def run(ws: Workspace, scales: list[Scale], batch: int = BATCH) -> list[Figure]:
    """Ingest throughput per scale (see the module docstring)."""
    import statistics

    from geodata.store.core import open_store
    from ingest.drill.scenario import generate

    figures = []
    for scale in scales:
        ws.log(f"ingest {scale.name}: generating the drill payloads")
        drill = generate(SEED, scale.posts, scale.roster, anchor=ws.anchor)
        drill.mastodon, drill.bluesky, drill.posts_file  # noqa: B018 - built before timing
        start_s = 0.0
        if scale.posts > FROM_T0_MAX:
            # Steady state at the peak: the store holds the drill's posts before T+12 h (from
            # the scenario store), so dedupe and incidents see a full day's history.
            start_s = PEAK_HOURS * 3600.0
            template = _store_before(ws, scale, drill.t0 + pd.Timedelta(seconds=start_s))
        else:
            template = ws.fresh_sqlite(f"ingest-{scale.name}-template", scale.shelters)
        runs = []
        for i in range(ws.repeats):
            url = f"sqlite:///{ws.root / f'ingest-{scale.name}-{i}.sqlite'}"
            copy_sqlite(template.removeprefix("sqlite:///"), url.removeprefix("sqlite:///"))
            res = run_pipeline(url, drill, batch=batch, budget=ws.budget, start_s=start_s)
            res["rate"] = res["posts"] / res["seconds"] if res["seconds"] else 0.0
            ws.log(
                f"  pipeline run {i + 1}: {res['posts']:,} posts in {res['seconds']:.1f} s "
                f"= {res['rate']:,.0f} posts/s ({res['windows']}/{res['of_windows']} windows)"
            )
            runs.append((res, url))
        rates = [r["rate"] for r, _ in runs]
        best_res, best_url = sorted(runs, key=lambda ru: ru[0]["rate"])[len(runs) // 2]
        names, rows = _stored_rows(best_url, BASELINE_ROWS)
        base_rates: dict[int, list[float]] = {0: [], 1: [], 1000: []}  # 0: one executemany
        for every in base_rates:
            for i in range(ws.repeats):
                empty = ws.root / f"ingest-baseline-{scale.name}-{every}-{i}.sqlite"
                open_store(f"sqlite:///{empty}").dispose()
                seconds = _baseline_insert(str(empty), names, rows, every)
                base_rates[every].append(len(rows) / seconds if seconds else 0.0)
                empty.unlink(missing_ok=True)
        del drill
        for _, url in runs:
            for suffix in ("", "-wal", "-shm"):
                __import__("pathlib").Path(url.removeprefix("sqlite:///") + suffix).unlink(
                    missing_ok=True
                )
        note = f"windows of {batch:,} posts; {best_res['posts']:,} of {scale.posts:,} posts"
        if start_s:
            note += f" from T+{PEAK_HOURS} h on, the earlier posts already stored"
        if best_res["windows"] < best_res["of_windows"]:
            note += f" (stopped at the {ws.budget:.0f} s budget)"
        extra = {
            "stages_seconds": best_res["stages"],
            "pipeline_seconds": round(best_res["seconds"], 2),
            "posts_fed": best_res["posts"],
            "posts_stored": best_res["stored"],
            "windows": f"{best_res['windows']}/{best_res['of_windows']}",
            "baseline_rows": len(rows),
            "failures": best_res["failures"],
        }
        for every, label in (
            (0, "one-transaction executemany"),
            (1, "INSERT per row, commit per row"),
            (1000, "INSERT per row, commit per 1,000 rows"),
        ):
            figures.append(
                Figure(
                    benchmark=NAME,
                    scale=scale.name,
                    metric="posts/s through the runner into SQLite",
                    value=statistics.median(rates),
                    unit="posts/s",
                    baseline=statistics.median(base_rates[every]),
                    baseline_name=f"{label} of the same rows (sqlite3)",
                    better="higher",
                    target=TARGET,
                    samples=[round(r, 1) for r in rates],
                    baseline_samples=[round(r, 1) for r in base_rates[every]],
                    notes=note,
                    extra=extra if every == 0 else {},
                )
            )
    return figures
