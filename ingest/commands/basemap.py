"""``python -m ingest basemap prefetch|info``: basemap tiles for an HQ without internet.

``prefetch`` (run while online, before a disaster season) fetches the tiles of the municipality's
extent (the reference boundary, ``BOSAI_REFERENCE_DIR``) at a zoom range into one MBTiles file
(``BOSAI_MBTILES``), politely: the plan (tile count, estimated megabytes) is printed first, then
at most ``BOSAI_TILE_RATE`` requests per second, resumable, a failed tile counted and skipped.
``--dry-run`` prints the plan only. ``info`` shows what the file holds. docs/offline.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geodata import settings
from ingest.cli import CommandError

NAME = "basemap"
HELP = "Prefetch basemap tiles into one MBTiles file for maps without internet (docs/offline.md)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("action", choices=("prefetch", "info"), help="what to do")
    parser.add_argument("--zoom", default="10-16", help="zoom range MIN-MAX (default 10-16)")
    parser.add_argument(
        "--tiles",
        default=None,
        help="tile source: gsi_pale, gsi_std or gsi_photo (default: BOSAI_TILES when one of "
        "those, else gsi_pale)",
    )
    parser.add_argument(
        "--url", help="fetch from this {z}/{x}/{y} template instead (a mirror of the source)"
    )
    parser.add_argument("--out", type=Path, help="the MBTiles file (default: BOSAI_MBTILES)")
    parser.add_argument(
        "--rate", type=float, help="requests per second at most (default: BOSAI_TILE_RATE)"
    )
    parser.add_argument(
        "--margin",
        type=int,
        default=2,
        help="tiles added around the extent on every side, at every zoom (default 2)",
    )
    parser.add_argument(
        "--municipality",
        default=settings.get("BOSAI_MUNICIPALITY"),
        help="municipality code (default: BOSAI_MUNICIPALITY)",
    )
    parser.add_argument(
        "--reference-dir", type=Path, help="reference data folder (default: BOSAI_REFERENCE_DIR)"
    )
    parser.add_argument("--bbox", help="minlon,minlat,maxlon,maxlat instead of the boundary")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, fetch nothing")


def run(args: argparse.Namespace) -> dict:
    """Run ``prefetch`` or ``info``; returns the summary."""
    out = args.out or Path(settings.get("BOSAI_MBTILES"))
    if args.action == "info":
        return _info(out)
    from geodata import tile_prefetch
    from ingest.commands.export import parse_bbox

    try:
        bounds = parse_bbox(args.bbox) or tile_prefetch.municipality_bounds(
            args.municipality, args.reference_dir
        )
        configured = settings.get("BOSAI_TILES")
        source = args.tiles or (configured if configured.startswith("gsi_") else "gsi_pale")
        plan = tile_prefetch.make_plan(
            bounds, tile_prefetch.parse_zooms(args.zoom), source, url=args.url,
            margin=args.margin,
        )  # fmt: skip
        rate = args.rate if args.rate is not None else settings.number("BOSAI_TILE_RATE")
        if rate <= 0:
            raise ValueError(f"the rate must be > 0 requests per second, not {rate}")
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    summary = {"file": str(out), "plan": plan.summary()}
    if args.dry_run:
        summary["dry_run"] = True
        summary["estimated_minutes"] = round(plan.count / rate / 60, 1)
        return summary
    print(
        f"basemap: {plan.count} tiles of {plan.source.key} at zoom {args.zoom}, about "
        f"{plan.estimated_bytes / 1e6:.1f} MB, at most {rate:g} per second "
        f"(~{plan.count / rate / 60:.0f} min) into {out}",
        file=sys.stderr,
        flush=True,
    )
    from geodata.http import Limits, make_session

    session = make_session(
        retries=1, backoff=1.0, user_agent=tile_prefetch.user_agent(),
        limits=Limits(deadline=30.0, max_bytes=4_000_000, retry_after_cap=30.0),
    )  # fmt: skip

    def progress(result) -> None:
        done = result.fetched + result.skipped + result.missing + result.failed
        print(
            f"basemap: {done}/{plan.count} tiles ({result.fetched} fetched, {result.skipped} "
            f"already there, {result.missing} missing, {result.failed} failed)",
            file=sys.stderr,
            flush=True,
        )

    try:
        result = tile_prefetch.prefetch(plan, out, session, rate=rate, progress=progress)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    summary.update(result.summary())
    summary["file_mb"] = round(out.stat().st_size / 1e6, 2)
    return summary


def _info(path: Path) -> dict:
    from geodata.tiles import MBTiles, local_tiles

    if not path.is_file():
        raise CommandError(f"no MBTiles file at {path}: run `python -m ingest basemap prefetch`")
    with MBTiles(path) as mb:
        meta, stats = mb.metadata(), mb.stats()
    info = local_tiles(path)
    return {
        "file": str(path),
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "source": meta.get("bosai:source") or meta.get("name"),
        "format": meta.get("format"),
        "zooms": f"{meta.get('minzoom')}-{meta.get('maxzoom')}",
        "bounds": meta.get("bounds"),
        "tiles": sum(n for n, _ in stats.values()),
        "tiles_per_zoom": {z: n for z, (n, _) in sorted(stats.items())},
        "credit": info.credit if info else None,
    }
