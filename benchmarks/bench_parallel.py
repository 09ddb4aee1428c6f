"""Parallel ingest on PostGIS: 1, 2 and 4 worker processes, against a one-transaction bulk insert.

Run::

    .venv/bin/python -m benchmarks.bench_parallel --posts 100000 --workers 1,2,4

(a throwaway PostGIS cluster is started as for the tests, tests/pg_cluster.py; or set
``BOSAI_TEST_PG_URL``). The drill's posts (``ingest.drill.scenario.generate``) are split by post
id over the workers; each worker's share is cut into time windows of ``--batch`` posts, written
as posts files, and the worker runs them oldest first through the real runner
(``ingest.runner.run_source``: normalize, geocode, classify, dedupe, settle, incidents, upsert;
``python -m ingest run --sources`` does the same per source). All workers start together on a
fresh database holding the 調布市 reference layers; the figure is posts / wall seconds until the
last worker is done.

``--cities K`` (K > 1): worker ``w`` ingests for municipality ``w mod K`` — 調布市 and
synthetic copies of its reference layers (13901, …: :func:`benchmarks.city_copies.make_cities`,
in place) — through a store scoped to it, as one worker per city of a shared system would.
Workers of different cities take different incident locks (``Store.lock``); the check against
one worker is then not made (each city holds another share of the posts).

Baseline, in the same run: the very post rows the one-worker run stored, read back and inserted
into an empty database of the same schema with one ``executemany`` in one transaction (the
store's own INSERT). ``ratio`` = pipeline posts/s ÷ bulk rows/s. The check after each run: every
configuration stores the same posts, ``repost_of`` and incidents as the one-worker run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd

from geodata.store.core import open_store
from ingest.drill.scenario import FIXED_ANCHOR, generate

REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _posts_files(drill, workers: int, batch: int, out: Path) -> list[list[Path]]:
    """Per worker, its time windows as posts files (oldest first)."""
    posts = drill.posts
    when = drill.t0 + pd.to_timedelta(posts["offset_s"], unit="s")
    order = np.argsort(when.to_numpy(), kind="stable")
    shares: list[list[dict]] = [[] for _ in range(workers)]
    for i in order:
        row = posts.iloc[i]
        rec = {"id": f"p{i:07d}", "text": row["body"], "platform": row["platform"],
               "created_at": when.iloc[i].isoformat(), "author": f"u{row['author']}"}  # fmt: skip
        if row["lon"] == row["lon"]:
            rec["lon"], rec["lat"] = float(row["lon"]), float(row["lat"])
        shares[i % workers].append(rec)
    files = []
    per_worker = max(1, batch // workers)
    for w, share in enumerate(shares):
        mine = []
        for start in range(0, len(share), per_worker):
            path = out / f"w{w}-{start // per_worker:05d}.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for rec in share[start : start + per_worker]:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            mine.append(path)
        files.append(mine)
    return files


def _worker(url: str, paths: list[str], start, city: str | None = None) -> float:
    from ingest.base import IngestContext
    from ingest.runner import run_source
    from ingest.sources.posts_file import PostsFileSource

    store = open_store(url, migrate=False)
    if city is not None:
        store = store.scoped([city])
    context = IngestContext(store)
    start.wait(120)
    for path in paths:
        result = run_source(
            store, PostsFileSource(Path(path).stem, path=path), context=context, from_start=True
        )
        if not result["ok"]:
            raise RuntimeError(result["error"])
    store.dispose()
    return time.perf_counter()


def _fresh(cluster, reference: Path, cities: int = 1) -> tuple[str, list[str]]:
    """A database with the 調布市 reference layers (and ``cities`` − 1 copies of them); the
    URL and the municipality codes."""
    from benchmarks.city_copies import make_cities, synthetic_codes
    from ingest.cli import main

    url = cluster.new_database()
    args = ["reference", "--municipality", "13208", "--no-download", "--db", url,
            "--reference-dir", str(reference)]  # fmt: skip
    assert main(args) == 0
    codes = ["13208"]
    if cities > 1:
        codes += synthetic_codes(cities - 1)
        make_cities(url, "13208", codes[1:], keep_source=True, log=lambda *_: None)
    return url, codes


def _state(url: str) -> tuple[set, set]:
    store = open_store(url, migrate=False)
    posts = store.read("posts", columns=["repost_of", "incident_id"])
    rows = store.read("incident_members", columns=["incident_id"])
    store.dispose()
    links = set(zip(posts["post_id"], posts["repost_of"].fillna(""),
                    posts["incident_id"].fillna(""), strict=True))  # fmt: skip
    members = set(zip(rows["incident_id"], zip(rows["layer"], rows["member"], strict=True),
                      strict=True))  # fmt: skip
    return links, members


def _bulk_rate(cluster, url: str) -> tuple[float, int]:
    """Rows/s of one executemany of the stored posts into an empty database, one transaction."""
    source = open_store(url, migrate=False)
    posts = source.read("posts")
    source.dispose()
    target = open_store(cluster.new_database())
    spec = target.tables["posts"]
    from geodata.schema import LAYERS

    names, rows = target._encode(LAYERS["posts"], posts)
    sql = target._insert_sql(LAYERS["posts"], names)
    started = time.perf_counter()
    with target.engine.begin() as conn:
        conn.exec_driver_sql(sql, rows)
    seconds = time.perf_counter() - started
    assert target.count(spec.name) == len(posts)
    target.dispose()
    return len(posts) / seconds, len(posts)


def main(argv=None) -> dict:
    """Run the benchmark; prints and returns the figures."""
    from tests.pg_cluster import PgCluster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--batch", type=int, default=5_000, help="posts per window, all workers")
    ap.add_argument("--reference-dir", type=Path, default=REFERENCE)
    ap.add_argument("--cities", type=int, default=1, help="municipalities the workers serve")
    args = ap.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    drill = generate(seed=0, posts=args.posts, roster=10, anchor=FIXED_ANCHOR,
                     reference_dir=str(args.reference_dir))  # fmt: skip
    cluster = PgCluster.start()
    figures: dict = {"posts": args.posts, "batch": args.batch, "cities": args.cities, "runs": {}}
    baseline = None
    try:
        for workers in counts:
            with TemporaryDirectory() as tmp:
                files = _posts_files(drill, workers, args.batch, Path(tmp))
                url, codes = _fresh(cluster, args.reference_dir, args.cities)
                scoped = args.cities > 1
                ctx = mp.get_context("spawn")
                start = ctx.Barrier(workers + 1)
                procs = []
                queue = ctx.Queue()
                for w, f in enumerate(files):
                    city = codes[w % len(codes)] if scoped else None
                    p = ctx.Process(target=_run_and_report, args=(url, [str(x) for x in f],
                                                                  start, queue, city))  # fmt: skip
                    p.start()
                    procs.append(p)
                start.wait(300)
                began = time.perf_counter()
                outcomes = [queue.get(timeout=7200) for _ in procs]
                if any(o != "ok" for o in outcomes):
                    raise RuntimeError(outcomes)
                seconds = time.perf_counter() - began
                for p in procs:
                    p.join(60)
                bulk, rows = _bulk_rate(cluster, url)
                state = None if scoped else _state(url)
                if baseline is None:
                    baseline = state
                run = {
                    "workers": workers,
                    "seconds": round(seconds, 1),
                    "posts_per_s": round(rows / seconds),
                    "bulk_rows_per_s": round(bulk),
                    "ratio": round(rows / seconds / bulk, 3),
                    "cities": min(workers, args.cities),
                    "same_as_one_worker": None if scoped else state == baseline,
                }
                figures["runs"][workers] = run
                print(json.dumps(run), flush=True)
    finally:
        cluster.stop()
    return figures


def _run_and_report(url, paths, start, queue, city=None) -> None:
    try:
        _worker(url, paths, start, city)
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        queue.put(f"failed: {exc}")


if __name__ == "__main__":
    main()
