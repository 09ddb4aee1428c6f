"""``python -m ingest load KIND FILE_OR_URL``: a one-off load through the source classes.

KIND is one of shelters, shelter-status, posts, safety, roster, field-reports. The load is
recorded in source_health under ``load:<kind>:<file name>``; loading the same file twice
inserts nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from geodata.http import make_session
from geodata.store.core import open_store
from ingest.cli import CommandError
from ingest.runner import run_source
from ingest.sources import source_class

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


def build_source(args: argparse.Namespace):
    """The source object for the arguments."""
    cls = source_class(KINDS[args.kind])
    location = args.location
    key = "url" if location.startswith(("http://", "https://")) else "path"
    if key == "path" and not Path(location).exists():
        raise CommandError(f"{location}: no such file")
    params = {key: location, "crs": args.crs, "encoding": args.encoding, "format": args.format}
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
        result = run_source(store, source)
    finally:
        store.dispose()
    if not result["ok"]:
        raise CommandError(f"{source.name}: {result['error']}")
    keep = ("source", "layer", "fetched", "inserted", "updated", "unchanged", "rejected")
    summary = {k: result.get(k) for k in keep}
    if "unmatched" in result:
        summary["unmatched"] = result["unmatched"]
    return summary
