"""``python -m ingest reference``: load a municipality's reference layers into the store.

Towns (町丁・字 with population), the municipal boundary, designated shelters and flood-hazard
areas are read from the reference folder; missing files are first downloaded from their public
sources (``--no-download`` for an offline HQ). Loading twice changes nothing.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from urllib.parse import urlparse

from geodata import settings
from geodata.reference.codes import parse_code
from geodata.reference.download import KINDS, SourceUrls, download_reference
from geodata.reference.files import find_reference_files, load_reference, reference_paths
from geodata.reference.readers import ReferenceFileError
from ingest.cli import CommandError

NAME = "reference"
HELP = "Load towns, boundary, shelters and hazard areas of a municipality into the store."
LAYERS = ("boundaries", "towns", "shelters", "hazard_areas")
# Which download kinds provide a layer.
_SOURCES_OF = {
    "towns": ("towns",),
    "boundaries": ("boundary",),
    "shelters": ("emergency", "evacuation"),
    "hazard_areas": ("flood",),
}

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument(
        "--municipality",
        default=settings.get("BOSAI_MUNICIPALITY"),
        help="municipality code, 5 or 6 digits (default: BOSAI_MUNICIPALITY)",
    )
    parser.add_argument(
        "--reference-dir", type=Path, help="reference data folder (default: BOSAI_REFERENCE_DIR)"
    )
    parser.add_argument(
        "--download",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="download missing files from the public sources (default: yes; --no-download "
        "loads only what is in the folder)",
    )
    parser.add_argument(
        "--crs",
        help="CRS of shelter coordinates given in a plane-rectangular system, e.g. EPSG:6677 "
        "(detected from the boundary when omitted)",
    )
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="SOURCE=TEMPLATE",
        help=f"replace a source URL template; SOURCE is one of {', '.join(KINDS)}; "
        "placeholders {code5} {code6} {pref2}",
    )


def _urls(pairs: list[str]) -> SourceUrls:
    overrides = {}
    for pair in pairs:
        name, sep, template = pair.partition("=")
        if not sep or not template:
            raise CommandError(f"--url wants SOURCE=TEMPLATE, got {pair!r}")
        overrides[name.strip()] = template.strip()
    try:
        return SourceUrls().replace(overrides)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def run(args: argparse.Namespace) -> dict:
    """Download what is missing, load the four layers and upsert them; returns the summary."""
    from geodata.store.core import open_store  # the store opens the database: only when running

    try:
        code5 = parse_code(args.municipality)
    except ValueError as exc:
        raise CommandError(f"--municipality: {exc}") from exc
    root = args.reference_dir or settings.reference_dir()
    urls = _urls(args.url)
    missing = find_reference_files(code5, root).missing()
    downloaded, download_errors = [], []
    if missing and args.download:
        from geodata.http import make_session

        kinds = tuple(k for layer in missing for k in _SOURCES_OF[layer])
        for result in download_reference(code5, root, make_session(), urls, kinds=kinds):
            if result.status == "downloaded":
                downloaded.append(result.kind)
            elif result.status != "present":
                host = urlparse(result.url).netloc
                download_errors.append(f"{result.kind}: {result.error or result.status} ({host})")
    try:
        loaded = load_reference(code5, root, crs=args.crs)
    except ReferenceFileError as exc:
        raise CommandError(str(exc)) from exc
    if not any(len(frame) for frame in loaded.frames.values()):
        hint = "" if args.download else " (try without --no-download)"
        errors = (
            f"; {len(download_errors)} downloads failed ({', '.join(download_errors)})"
            if download_errors
            else ""
        )
        by_hand = ", ".join(reference_paths(code5).values())
        raise CommandError(
            f"no reference data for {code5} in {root}{hint}{errors}. "
            f"To load it offline, put the files there by hand as: {by_hand}"
        )

    # every row belongs to this municipality: another one's reference layers stay beside them
    store = open_store(args.db).scoped([code5])
    source = f"reference:{code5}"
    summary: dict = {"municipality": code5}
    totals = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for layer in LAYERS:
        frame, early = loaded.frames[layer], loaded.rejected[layer]
        if len(early):
            store.add_rejections(
                source, zip(early["raw"], early["reason"], strict=True), layer=layer
            )
        result = store.upsert(layer, frame, source=source) if len(frame) else None
        summary[layer] = len(frame)
        totals["rejected"] += len(early)
        if result is not None:
            for key in ("inserted", "updated", "unchanged", "rejected"):
                totals[key] += getattr(result, key)
    summary.update(totals)
    summary["missing"] = loaded.files.missing()
    summary["downloaded"] = downloaded
    if download_errors:
        summary["download_errors"] = download_errors
    return summary
