"""``python -m ingest run``: run every configured source once, or each on its poll interval.

``--loop`` keeps running until SIGTERM or SIGINT: the batches in progress are finished and
committed (or abandoned at their deadline), then the command exits 0. ``--max-cycles N`` bounds
the loop (tests, cron). Each source's fetch has its deadline, a source one upstream asked to
wait is skipped until then (``backing_off`` in the summary), and in the loop no source waits on
another (ingest/loop.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

import pandas as pd

from geodata.store.core import open_store
from ingest.cli import CommandError
from ingest.loop import run_loop
from ingest.runner import run_all, tune_gc
from ingest.sources_config import ConfigError, load_config

NAME = "run"
HELP = "Fetch every configured source once (or --loop on their poll intervals) into the store."

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("sources.toml"),
        help="sources TOML file (default: sources.toml; see sources.example.toml)",
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run only this source"
    )
    parser.add_argument(
        "--sources",
        metavar="A,B",
        help="run only these sources (comma-separated names): one ingest worker of several "
        "against one PostGIS store (docs/sources.md)",
    )
    parser.add_argument(
        "--loop", action="store_true", help="keep running each source on its poll interval"
    )
    parser.add_argument("--max-cycles", type=int, help="with --loop: stop after this many cycles")


def _sources(args):
    if not args.config.exists():
        raise CommandError(
            f"{args.config} not found: copy sources.example.toml to sources.toml and edit it, "
            "or pass --config"
        )
    try:
        sources = load_config(args.config).sources
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    wanted = [*args.only, *[n.strip() for n in (args.sources or "").split(",") if n.strip()]]
    if args.sources is not None and not wanted:
        raise CommandError("--sources names no source")
    if wanted:
        unknown = set(wanted) - {s.name for s in sources}
        if unknown:
            raise CommandError(f"no enabled source named {', '.join(sorted(unknown))}")
        sources = [s for s in sources if s.name in wanted]
    return sources


def run(args: argparse.Namespace) -> dict:
    """Run the sources; returns counts and the failed sources."""
    sources = _sources(args)
    store = open_store(args.db)
    try:
        if not args.loop:
            return _summary(run_all(store, sources), cycles=1)
        tune_gc()  # this process now runs the loop for hours
        stop = threading.Event()
        results: list[dict] = []

        def _stop(signum, _frame):
            log.info("signal %s: finishing the current batch", signum)
            stop.set()

        previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            cycles = run_loop(
                store, sources, stop=stop, max_cycles=args.max_cycles, on_result=results.append
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return _summary(results, cycles=cycles, stopped=stop.is_set())
    finally:
        store.dispose()


def _summary(results: list[dict], **extra) -> dict:
    """Counts over the runs, the failed sources, the sources backing off (until when), the
    unmatched safety replies per source (docs/sources.md: listed for the operator to match by
    hand) and the last 50 runs."""
    total = {k: sum(r.get(k) or 0 for r in results) for k in ("inserted", "updated", "rejected")}
    backing_off: dict[str, str] = {}  # as of each source's last run
    for r in results:
        if r.get("backing_off") is not None:
            backing_off[r["source"]] = pd.Timestamp(r["backing_off"]).isoformat()
        else:
            backing_off.pop(r["source"], None)
    failed = sorted({r["source"] for r in results if not r["ok"]} - set(backing_off))
    unmatched: dict[str, list[str]] = {}
    for r in results:
        if r.get("unmatched"):
            unmatched[r["source"]] = sorted({*unmatched.get(r["source"], ()), *r["unmatched"]})
    keep = ("source", "ok", "fetched", "inserted", "rejected", "error")
    return {
        "sources": len({r["source"] for r in results}),
        "runs": len(results),
        **total,
        "failed": failed,
        "backing_off": backing_off,
        "unmatched": unmatched,
        **extra,
        "results": [
            {k: r.get(k) for k in keep}
            | ({"unmatched": r["unmatched"]} if "unmatched" in r else {})
            for r in results[-50:]
        ],
    }
