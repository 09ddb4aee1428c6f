"""``python -m ingest load KIND FILE_OR_URL``: a one-off load through the source classes.

KIND is one of shelters, shelter-status, posts, safety, roster, field-reports. The load is
recorded in source_health under ``load:<kind>:<file name>``; loading the same file twice
inserts nothing. The file is read ``--chunk-rows`` records per batch
(:func:`ingest.chunks.run_in_chunks`): a 200 MB export loads in bounded memory, and a load that
was cut short goes on from its last committed batch when run again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from geodata.http import make_session
from geodata.store.core import open_store
from ingest.chunks import run_in_chunks
from ingest.cli import CommandError
from ingest.sources import source_class
from ingest.sources.files import CHUNK_ROWS

NAME = "load"
HELP = "Load one file or URL (shelters, shelter-status, posts, safety, roster, field-reports)."
KINDS = {
    "shelters": "shelters",
    "shelter-status": "shelter_status",
    "posts": "posts_file",
    "safety": "safety_csv",
    "roster": "roster_csv",
    "field-reports": "field_reports",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
    parser.add_argument("location", help="a file path or an http(s) URL")
    parser.add_argument("--crs", help="CRS of coordinates the file does not declare (EPSG:6677)")
    parser.add_argument("--encoding", help="text encoding (default: detected; e.g. cp932)")
    parser.add_argument("--format", choices=("csv", "json", "jsonl", "geojson"))
    parser.add_argument("--name", help="source name (default: load:<kind>:<file name>)")
    parser.add_argument("--municipality", help="shelters: municipality code")
    parser.add_argument("--channel", help="safety: channel of rows without one (web_form ...)")
    parser.add_argument("--platform", help="posts: platform of rows without one")
    parser.add_argument(
        "--columns",
        help="the file's headers -> the names the loader knows, e.g. name=名称,lat=緯度,lon=経度 "
        "(or a TOML file with a [columns] table)",
    )
    parser.add_argument(
        "--chunk-rows", type=int, help=f"records per batch (default {CHUNK_ROWS:,})"
    )


def build_source(args: argparse.Namespace):
    """The source object for the arguments."""
    cls = source_class(KINDS[args.kind])
    location = args.location
    key = "url" if location.startswith(("http://", "https://")) else "path"
    if key == "path" and not Path(location).exists():
        raise CommandError(f"{location}: no such file")
    params = {key: location, "crs": args.crs, "encoding": args.encoding, "format": args.format}
    if args.columns:
        params["columns_file" if args.columns.endswith(".toml") else "columns"] = args.columns
    if args.chunk_rows:
        params["chunk_rows"] = args.chunk_rows
    if args.kind == "posts":
        params["skip_unchanged"] = False
        if args.platform:
            params["platform"] = args.platform
    if args.kind == "shelters" and args.municipality:
        params["municipality"] = args.municipality
    if args.kind == "safety" and args.channel:
        params["channel"] = args.channel
    file_name = Path(location.split("?", 1)[0]).name
    name = args.name or f"load:{args.kind}:{file_name}"
    return cls(name, session=make_session(), **params)


def run(args: argparse.Namespace) -> dict:
    """Load the file; a failed load is an error (exit code 2)."""
    try:
        source = build_source(args)
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    store = open_store(args.db)
    try:
        result = run_in_chunks(store, source)
    finally:
        store.dispose()
    if not result["ok"]:
        raise CommandError(f"{source.name}: {result['error']}")
    keep = ("source", "layer", "fetched", "inserted", "updated", "unchanged", "rejected", "chunks")
    summary = {k: result.get(k) for k in keep}
    for extra in ("unmatched", "warnings", "crs_hint"):
        if extra in result:
            summary[extra] = result[extra]
    return summary
