"""``python -m ingest demo``: load the 調布市 typhoon drill into the store (and optionally write
its raw payload files).

The timeline ends at the anchor, by default now floored to 10 minutes, so the dashboard's 1 h /
6 h / 24 h windows show data; a re-run within those 10 minutes changes nothing, a later re-run
moves the same records in time (their ids depend on the seed only) — except the shelter
status, an append-only history: the first run's stays as it is and nothing is appended.
"""

from __future__ import annotations

import argparse

from geodata import settings
from ingest.cli import CommandError

NAME = "demo"
HELP = "load the 調布市 typhoon drill (SNS posts, LINE replies, roster, shelters, field reports)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the demo command."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--posts", type=int, default=2000, help="SNS posts (default 2000)")
    parser.add_argument(
        "--roster", type=int, default=300, help="residents in the roster (default 300)"
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--anchor",
        help="end of the 24 h timeline, ISO time (naive = JST); default: now floored to 10 minutes",
    )
    when.add_argument(
        "--start", help="start of the timeline (T0, the warnings) instead of --anchor"
    )
    parser.add_argument("--out", help="also write the raw payload files into this folder")
    parser.add_argument("--reference-dir", help="reference open data (default BOSAI_REFERENCE_DIR)")
    parser.add_argument("--no-store", action="store_true", help="only write --out, load nothing")


def run(args: argparse.Namespace) -> dict:
    """Generate the drill, write its payloads (--out), load the reference layers when the store
    has no towns, then the drill; returns counts per layer."""
    import pandas as pd

    from ingest.drill import scenario as drill

    if args.posts < 0 or args.roster < 0:
        raise CommandError("--posts and --roster must not be negative")
    try:
        anchor = drill.parse_anchor(args.anchor)
        if args.start:
            anchor = drill.parse_anchor(args.start) + pd.Timedelta(hours=drill.HOURS)
    except ValueError as exc:
        raise CommandError(f"not a time: {exc}") from exc
    ref_dir = args.reference_dir or str(settings.reference_dir())
    the_drill = drill.generate(
        args.seed, args.posts, args.roster, anchor=anchor, reference_dir=ref_dir
    )
    summary: dict = {
        "seed": args.seed,
        "anchor": the_drill.anchor.isoformat(),
        "t0": the_drill.t0.isoformat(),
    }
    if args.out:
        summary["files"] = drill.write_payloads(the_drill, args.out)
        summary["out"] = args.out
    if args.no_store:
        if not args.out:
            raise CommandError("--no-store without --out does nothing")
        return summary
    from geodata.store.core import open_store

    store = open_store(args.db)
    try:
        if store.count("towns") == 0:
            summary["reference"] = _load_reference(args.db, store, ref_dir)
        # The payloads go through the real sources (files + a loopback Mastodon/Bluesky API),
        # so the demo exercises normalize → geocode → classify → dedupe → incidents → upsert.
        from ingest.drill.ingest import ingest_drill

        layers = ingest_drill(the_drill, store, out_dir=args.out)
        sources = layers.pop("sources", [])
        summary["layers"] = layers
        summary["sources"] = len(sources)
        summary["incidents"] = store.count("incidents")
        summary["non_responders"] = len(the_drill.non_responders)
    finally:
        store.dispose()
    return summary


def _load_reference(db: str | None, store, ref_dir: str) -> dict:
    """Load the municipality's reference layers through the ``reference`` command (offline: no
    download), or with geodata.reference.files directly when that command is not there."""
    try:
        from ingest.commands import reference
    except ImportError:
        reference = None
    if reference is not None:
        parser = argparse.ArgumentParser()
        parser.add_argument("--db")
        reference.add_arguments(parser)
        ref_args = parser.parse_args(["--reference-dir", ref_dir, "--no-download"])
        ref_args.db = db
        return reference.run(ref_args)
    from geodata.reference.files import load_reference

    municipality = settings.get("BOSAI_MUNICIPALITY")
    loaded = load_reference(municipality, ref_dir)
    return {
        layer: store.upsert(layer, frame, source=f"reference:{municipality}").as_dict()
        for layer, frame in loaded.frames.items()
    }
