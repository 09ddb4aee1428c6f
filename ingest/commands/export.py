"""``python -m ingest export KIND``: write the situation map, data files, the visit list, open data.

Kinds:

- ``situation-map`` — the 状況図 as A3 PDF and/or 300 dpi PNG (``--format pdf,png``);
- ``layer NAME`` — one layer as geojson, gpkg, kml, csv or csv-sjis, with filters;
- ``visit-list`` — the visit list of :mod:`geodata.safety` (A4 PDF, internal only, audit-logged):
  the safety page's list, ``--as-of`` a past time;
- ``shelters-opendata`` — shelter status as open data, two files: 指定緊急避難場所一覧 and
  指定避難所一覧 (csv / csv-sjis);
- ``cap`` — one CAP 1.2 XML message per shelter status update (``--since`` for a scheduler).

``--public`` makes the version without personal data. Files go to ``--out`` (a file, or a
folder; default ``var/exports/``); the summary lists the paths and counts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from geodata.settings import PROJECT_ROOT
from ingest.cli import CommandError

NAME = "export"
HELP = (
    "Export the situation: map (PDF/PNG), layers (GeoJSON/GPKG/KML/CSV), visit list, open data, "
    "CAP (shelters; evacuation information)."
)
KINDS = (
    "situation-map", "layer", "visit-list", "shelters-opendata", "cap", "evacuation-cap",
    "evacuation-opendata",
)  # fmt: skip
DEFAULT_OUT = PROJECT_ROOT / "var" / "exports"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("kind", choices=KINDS, help="what to export")
    parser.add_argument("name", nargs="?", help="the layer name (for KIND=layer)")
    parser.add_argument(
        "--format",
        help="situation-map: pdf, png or pdf,png (default pdf); layer: geojson (default), gpkg, "
        "kml, csv, csv-sjis; shelters-opendata: csv (default, UTF-8 with BOM) or csv-sjis",
    )
    parser.add_argument("--public", action="store_true", help="the version without personal data")
    parser.add_argument("--out", type=Path, help=f"output file or folder (default {DEFAULT_OUT})")
    parser.add_argument("--since", help="only records at or after this time (ISO; naive = JST)")
    parser.add_argument("--until", help="only records before this time (ISO; naive = JST)")
    parser.add_argument("--as-of", help="situation / status at this time (default: now)")
    parser.add_argument("--bbox", help="layer: minlon,minlat,maxlon,maxlat")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="layer: equality filter; VALUE a,b,c means any of them (repeatable)",
    )
    parser.add_argument(
        "--basemap",
        choices=("auto", "local", "online", "none"),
        default="auto",
        help="situation-map: auto (default) draws the prefetched tiles of BOSAI_MBTILES when the "
        "file exists (no network), else tries the online tiles; local / online: only that; none",
    )
    parser.add_argument(
        "--tiles",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="situation-map: --no-tiles is --basemap none",
    )
    parser.add_argument("--sender", help="cap: CAP sender (default <code>.bosai-dashboard)")
    parser.add_argument(
        "--exercise",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cap: force status Exercise (--exercise) or Actual (--no-exercise); default: "
        "Exercise for drill records",
    )
    parser.add_argument("--who", help="user name for the audit log (default cli:<login>)")
    parser.add_argument(
        "--municipality",
        help="the municipality whose data is exported (5-digit code; default BOSAI_MUNICIPALITY)",
    )


def _scoped(store, municipality: str | None):
    """The store as the export reads it: one municipality's data (``--municipality``, else
    BOSAI_MUNICIPALITY) — a situation map or a layer file is about one city."""
    code = (municipality or store.home_municipality).strip()
    if not (code.isdigit() and len(code) in (5, 6)):
        raise CommandError(f"--municipality: not a municipality code: {code!r}")
    return store.scoped([code[:5]])


def run(args: argparse.Namespace) -> dict:
    """Run one export; returns the summary."""
    from geodata.export.common import PersonalDataError
    from geodata.export.fonts import FontNotFound
    from geodata.store.core import open_store

    store = open_store(args.db)
    try:
        store = _scoped(store, getattr(args, "municipality", None))
        results, extra = _export(store, args)
    except (PersonalDataError, FontNotFound, ValueError, KeyError) as exc:
        raise CommandError(str(exc).strip("'\"")) from exc
    finally:
        store.dispose()
    paths = write_results(results, args.out)
    summary = {"kind": args.kind, "paths": [str(p) for p in paths], "files": len(paths)}
    many = args.kind in ("cap", "evacuation-cap")
    summary["count"] = sum(r.count for r in results) if many else (
        results[0].count if results else 0
    )  # fmt: skip
    summary.update(extra)
    return summary


def _export(store, args) -> tuple[list, dict]:
    if args.kind == "situation-map":
        from geodata.export.map import situation_map

        formats = tuple(f.strip() for f in (args.format or "pdf").split(",") if f.strip())
        mode = args.basemap if args.tiles else "none"
        session = _tile_session() if mode in ("auto", "online") else None
        results = situation_map(
            store, formats=formats, public=args.public, as_of=args.as_of, since=args.since,
            tile_session=session, who=args.who, basemap=mode,
        )  # fmt: skip
        info = results[0].info if results else {}
        extra = {"kpis": info.get("kpis"), "basemap": info.get("basemap")}
        for key in ("basemap_origin", "basemap_credit", "basemap_note"):
            if info.get(key):
                extra[key] = info[key]
        return results, extra
    if args.kind == "layer":
        from geodata.export.data import export_layer

        if not args.name:
            raise ValueError("export layer needs a layer NAME, e.g. export layer shelters")
        result = export_layer(
            store, args.name, args.format or "geojson", since=args.since, until=args.until,
            bbox=parse_bbox(args.bbox), where=parse_where(args.where), public=args.public,
            who=args.who,
        )  # fmt: skip
        extra = {"replaced": result.info["replaced"]} if "replaced" in result.info else {}
        return [result], extra
    if args.kind == "visit-list":
        from geodata.export.visits import visit_list_pdf

        if args.public:
            raise ValueError("the visit list holds personal data: there is no public version")
        result = visit_list_pdf(store, as_of=args.as_of, who=args.who)
        return [result], {k: result.info[k] for k in ("towns", "urgent", "pages")}
    if args.kind == "shelters-opendata":
        from geodata.export.opendata import shelters_opendata

        fmt = args.format or "csv"
        if fmt not in ("csv", "csv-sjis"):
            raise ValueError("shelters-opendata formats: csv or csv-sjis")
        encoding = "cp932" if fmt == "csv-sjis" else "utf-8-sig"
        results = shelters_opendata(store, as_of=args.as_of, encoding=encoding, who=args.who)
        # A facility of kind "both" is in each file: count facilities, not rows.
        listed = set().union(*(r.info["ids"] for r in results))
        opened = set().union(*(r.info["open_ids"] for r in results))
        extra: dict = {"count": len(listed), "open": len(opened)}
        if encoding == "cp932":
            replaced = [r.info["replaced"] for r in results]
            extra["replaced"] = {
                "count": sum(r["count"] for r in replaced),
                "characters": sorted(set().union(*(r["characters"] for r in replaced))),
            }
        return results, extra
    if args.kind == "evacuation-opendata":
        from geodata.export.evacuation import evacuation_opendata_csv

        result = evacuation_opendata_csv(store, as_of=args.as_of, who=args.who)
        return [result], {"towns": result.info["towns"]}
    if args.kind == "evacuation-cap":
        from geodata.export.evacuation import evacuation_cap_messages

        results = evacuation_cap_messages(
            store, since=args.since, until=args.until, sender=args.sender,
            exercise=args.exercise, who=args.who,
        )  # fmt: skip
        return results, {"identifiers": [r.info["identifier"] for r in results]}
    from geodata.export.cap import cap_messages

    results = cap_messages(
        store, since=args.since, until=args.until, sender=args.sender, exercise=args.exercise,
        who=args.who,
    )  # fmt: skip
    return results, {"identifiers": [r.info["identifier"] for r in results]}


def _tile_session():
    from geodata.http import make_session

    return make_session(retries=0, timeout=(3.0, 5.0))


def write_results(results: list, out: Path | None) -> list[Path]:
    """Write each result; ``out`` is a file (one result with a suffix) or a folder."""
    out = out or DEFAULT_OUT
    as_file = len(results) == 1 and out.suffix and not out.is_dir()
    if not as_file:
        out.mkdir(parents=True, exist_ok=True)
    return [r.write(out) for r in results]


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` -> a tuple of floats.

    Examples
    --------
    >>> parse_bbox("139.5,35.6,139.6,35.7")
    (139.5, 35.6, 139.6, 35.7)
    """
    if not text:
        return None
    parts = [float(v) for v in text.split(",")]
    if len(parts) != 4 or parts[0] >= parts[2] or parts[1] >= parts[3]:
        raise ValueError("--bbox wants minlon,minlat,maxlon,maxlat with min < max")
    return tuple(parts)  # type: ignore[return-value]


def parse_where(items: list[str]) -> dict | None:
    """``["triage=new,verified", "town_code=13208001001"]`` -> an equality filter dict.

    Examples
    --------
    >>> parse_where(["triage=new,verified", "category=火災"])
    {'triage': ['new', 'verified'], 'category': '火災'}
    """
    where: dict = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise ValueError(f"--where wants COLUMN=VALUE, got {item!r}")
        where[column.strip()] = value.split(",") if "," in value else value
    return where or None
