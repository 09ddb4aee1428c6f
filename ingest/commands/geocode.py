"""``python -m ingest geocode TEXT...``: where (and what) the gazetteer reads in texts.

Builds the gazetteer straight from the reference files (no store needed) and prints, per text,
the town, how it was found, the confidence and lon/lat; ``--classify`` adds the damage
categories and urgency. With ``--json`` everything goes into the one summary line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from geodata import settings
from geodata.reference.codes import parse_code
from geodata.text.classify import classify_many
from geodata.text.geocode import Gazetteer
from ingest.cli import CommandError

NAME = "geocode"
HELP = "Geocode (and optionally classify) texts with the offline gazetteer."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="post texts or place names")
    parser.add_argument(
        "--municipality",
        default=settings.get("BOSAI_MUNICIPALITY"),
        help="municipality code, 5 or 6 digits (default: BOSAI_MUNICIPALITY)",
    )
    parser.add_argument(
        "--reference-dir", type=Path, help="reference data folder (default: BOSAI_REFERENCE_DIR)"
    )
    parser.add_argument(
        "--classify", action="store_true", help="also print damage categories and urgency"
    )


def run(args: argparse.Namespace) -> dict:
    """Geocode the texts; print one line per text unless ``--json``."""
    try:
        code = parse_code(args.municipality)
    except ValueError as exc:
        raise CommandError(f"--municipality: {exc}") from exc
    root = args.reference_dir or settings.reference_dir()
    try:
        gazetteer = Gazetteer.from_reference(root, code)
    except FileNotFoundError as exc:
        raise CommandError(f"{exc} (run `python -m ingest reference` first)") from exc
    places = gazetteer.geocode_many(args.texts)
    kinds = classify_many(args.texts) if args.classify else None
    results = []
    for i, text in enumerate(args.texts):
        row = places.iloc[i]
        point = row["point"]
        result = {
            "text": text,
            "town_code": row["town_code"],
            "town": row["town_name"],
            "method": row["method"],
            "confidence": float(row["confidence"]),
            "matched": row["matched"],
            "lon": round(point.x, 6) if point is not None else None,
            "lat": round(point.y, 6) if point is not None else None,
        }
        if kinds is not None:
            result["categories"] = kinds.iloc[i]["categories"]
            result["urgency"] = int(kinds.iloc[i]["urgency"])
            result["matched_terms"] = kinds.iloc[i]["matched_terms"]
        results.append(result)
        if not args.json:
            print(_line(result))
    summary = {
        "municipality": code,
        "texts": len(results),
        "located": sum(r["lon"] is not None for r in results),
        "ambiguous": sum(r["method"] == "ambiguous" for r in results),
    }
    if args.json:
        summary["results"] = results
    return summary


def _line(result: dict) -> str:
    where = f"{result['lon']:.5f},{result['lat']:.5f}" if result["lon"] is not None else "-"
    parts = [
        result["text"],
        f"town={result['town'] or '-'}",
        f"method={result['method']}",
        f"confidence={result['confidence']:.2f}",
        f"lon,lat={where}",
    ]
    if "categories" in result:
        parts += [f"categories={'/'.join(result['categories'])}", f"urgency={result['urgency']}"]
    return "\t".join(parts)
