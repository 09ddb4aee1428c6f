"""Data exports of any layer: GeoJSON, GeoPackage, KML and CSV (UTF-8 with BOM, or Shift_JIS).

:func:`export_layer` reads a layer with the store's filters (time window, bounding box,
equality) and returns the file as bytes. The formats are meant for:

- ``geojson``: web maps and other systems (RFC 7946, lon/lat, English field names, times in
  ISO 8601 with +09:00);
- ``gpkg``: QGIS (one layer named after the table, EPSG:4326, times as UTC datetimes);
- ``kml``: Google Earth (see :mod:`geodata.export.kml`);
- ``csv`` / ``csv-sjis``: Excel, with Japanese headers, 経度/緯度 columns instead of geometry and
  times in JST; ``csv`` is UTF-8 with a BOM, ``csv-sjis`` is cp932 (Windows Shift_JIS) where
  characters cp932 cannot hold become 〓 and are reported in ``info["replaced"]``.

``public=True`` reads through :class:`geodata.export.public.PublicView` (the public-output
policy): confirmed reports only, no person's point, account or text, no layer whose rows are
persons; residents only as suppressed town-level counts (``safety_by_town``, which is also
exported internally with the exact counts).

Every file says where its data comes from (the CC BY / CC BY-SA attribution lines of
:data:`geodata.export.common.ATTRIBUTIONS` for the layers they cover) and, when public, the
policy it follows: a top-level ``attribution`` / ``public_policy`` member in GeoJSON, layer
metadata and description in GeoPackage, the document's description and ``atom:author`` in
KML, and ``出典`` / ``注記`` columns in CSV (columns, not comment lines, so every CSV reader and
Excel keeps them). GeoJSON polygons are written with counter-clockwise outer rings and clockwise
holes (RFC 7946 §3.1.6).

Over ~400 lines on purpose: one writer per format sharing the attribution, labels and the
public gate; the formats differ in a few lines each.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geodata.export import public as policy
from geodata.export.common import (
    JST,
    ExportResult,
    audit_export,
    municipality,
    parse_time,
    stamp,
)
from geodata.export.kml import frame_to_kml
from geodata.export.labels import column_label
from geodata.export.notes import FileNotes
from geodata.export.situation import safety_counts
from geodata.geometry import rfc7946_rings
from geodata.schema import BOOL, CARE_COLUMNS, FLOAT, INT, JSON, LAYERS, STORE_CRS, TIME
from geodata.shelters import EXPORT_COLUMNS, PUBLIC_CARE, status_at

FORMATS: dict[str, tuple[str, str]] = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "kml": ("application/vnd.google-earth.kml+xml", "kml"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "csv-sjis": ("text/csv; charset=shift_jis", "csv"),
}
NOTE_COLUMN = "注記"  # CSV: the suppression rule, on every row of the public town counts
SOURCE_COLUMN = "出典"  # CSV: the attribution lines of the sources
GETA = "〓"  # the conventional mark for a character that cannot be printed
# Characters with a cp932 look-alike at another code point (the "wave dash problem").
CP932_FIXES = str.maketrans(
    {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u2014": "\u2015",
     "\u00a2": "\uffe0", "\u00a3": "\uffe1", "\u00ac": "\uffe2"}
)  # fmt: skip
TOWN_COUNTS = policy.TOWN_COUNTS
# Exportable names: the layers, and the town-level counts of residents.
EXPORTABLE = (*LAYERS, TOWN_COUNTS)


def read_layer(
    store,
    layer: str,
    *,
    since=None,
    until=None,
    bbox: tuple[float, float, float, float] | None = None,
    where: dict | None = None,
    public: bool = False,
) -> tuple[pd.DataFrame, str]:
    """Read ``layer`` (or ``safety_by_town``) with filters; in public mode through the policy.

    ``safety_by_town`` gives one row per town with residents, replied, needs_help, reached and
    unconfirmed (the terms of :mod:`geodata.safety`; replies and follow-ups in [since, until));
    public: suppressed by the policy.

    Returns
    -------
    (frame, name) : the rows, and the name of what they are (the layer's name).

    Raises
    ------
    geodata.export.common.PersonalDataError : a public read of a layer whose rows are persons.
    KeyError : an unknown layer or column.
    """
    if layer not in EXPORTABLE:
        raise KeyError(f"unknown layer {layer!r}; one of {', '.join(EXPORTABLE)}")
    since, until = parse_time(since), parse_time(until)
    source = policy.PublicView(store) if public else store
    if layer == TOWN_COUNTS:
        frame = _town_counts(source, since=since, until=until, bbox=bbox, where=where)
        return frame, layer
    where = typed_where(where, layer)
    frame = source.read(layer, since=since, until=until, bbox=bbox, where=where)
    if layer == "shelters":  # with the status the HQ has for them now (geodata.shelters)
        frame = _with_status(source, frame)
    return frame, layer


def _town_counts(source, *, since, until, bbox, where) -> gpd.GeoDataFrame:
    unknown = set(where or {}) - {"town_code"}
    if unknown:
        raise KeyError(f"{TOWN_COUNTS} filters on town_code only, not {sorted(unknown)}")
    towns = source.read("towns")
    if isinstance(source, policy.PublicView):
        counted, _ = source.town_counts(towns, since=since, until=until)
    else:
        replies = source.read("safety_replies", since=since, until=until)
        follow_ups = source.read("follow_ups", since=since, until=until)
        counted, _, _ = safety_counts(
            source.read("roster"), replies, follow_ups, towns, public=True
        )
    cols = ["town_code", "name", *policy.PERSON_COUNTS]
    counted = counted[cols + ["geometry"]]
    if bbox is not None:
        counted = counted[counted.intersects(_box(bbox))]
    if where and where.get("town_code") is not None:
        codes = where["town_code"]
        counted = counted[counted["town_code"].isin(codes if isinstance(codes, list) else [codes])]
    return counted.reset_index(drop=True)


def _with_status(store, shelters: pd.DataFrame) -> pd.DataFrame:
    """開設状況, 避難者数, 世帯数 and the report time of each shelter's current report (at the
    export); None where a shelter has no report."""
    out = status_at(store, shelters=shelters)
    if PUBLIC_CARE in out.columns:  # public: the 要配慮者 total as published, no groups
        columns = [c for c in EXPORT_COLUMNS if c not in CARE_COLUMNS]
        return out[[*shelters.columns, *columns[:-1], PUBLIC_CARE, columns[-1]]]
    return out[[*shelters.columns, *EXPORT_COLUMNS]]


def typed_where(where: dict | None, layer: str) -> dict | None:
    """Convert text filter values (from a command line) to the kinds of the layer's columns.

    Raises
    ------
    KeyError : a column the layer does not have.
    """
    if not where:
        return where
    spec = LAYERS[layer]
    out = {}
    for column, value in where.items():
        if column not in spec.columns:
            raise KeyError(f"{layer} has no column {column!r}")
        kind = spec.columns[column]
        values = value if isinstance(value, (list, tuple)) else [value]
        typed = [_typed(v, kind) for v in values]
        out[column] = typed if isinstance(value, (list, tuple)) else typed[0]
    return out


def _typed(value, kind: str):
    if not isinstance(value, str):
        return value
    if kind == INT:
        return int(value)
    if kind == FLOAT:
        return float(value)
    if kind == BOOL:
        return value.strip().lower() in ("1", "true", "yes", "t", "y")
    if kind == TIME:
        return parse_time(value)
    return value


def export_layer(
    store,
    layer: str,
    fmt: str = "geojson",
    *,
    since=None,
    until=None,
    bbox: tuple[float, float, float, float] | None = None,
    where: dict | None = None,
    public: bool = False,
    who: str | None = None,
) -> ExportResult:
    """Export ``layer`` in ``fmt`` (geojson, gpkg, kml, csv, csv-sjis) as bytes.

    Parameters
    ----------
    store : the store.
    layer : a layer name of :data:`geodata.schema.LAYERS`.
    fmt : the file format (see :data:`FORMATS`).
    since, until, bbox, where : filters, as in :meth:`geodata.store.core.Store.read`.
    public : the public version (see the module docstring).
    who : the user, for the audit log (every export is logged).

    Returns
    -------
    ExportResult with ``count`` rows; ``info["replaced"]`` for csv-sjis.

    Examples
    --------
    >>> res = export_layer(store, "shelters", "csv", public=True)  # doctest: +SKIP
    >>> res.data[:3] == b"\\xef\\xbb\\xbf"  # doctest: +SKIP
    True
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    frame, name = read_layer(
        store, layer, since=since, until=until, bbox=bbox, where=where, public=public
    )
    _, _, city = municipality(store)
    data, info = frame_to_bytes(frame, fmt, name=name, public=public, author=city)
    media, ext = FORMATS[fmt]
    version = "public" if public else "internal"
    suffix = "-sjis" if fmt == "csv-sjis" else ""
    result = ExportResult(
        data, f"{name}-{version}-{stamp()}{suffix}.{ext}", media, len(frame), info
    )
    audit_export(
        store,
        who,
        "layer",
        layer,
        {"format": fmt, "public": public, "rows": len(frame), "since": str(since or ""),
         "until": str(until or ""), "bbox": list(bbox) if bbox else None, "where": where},
    )  # fmt: skip
    return result


def frame_to_bytes(
    frame: pd.DataFrame, fmt: str, *, name: str, public: bool = False, author: str = ""
) -> tuple[bytes, dict]:
    """Write a layer frame in ``fmt``; returns (bytes, info).

    ``name`` picks the column kinds, labels and attribution lines; ``public`` adds the policy
    statement; ``author`` (the city) names the HQ in KML's ``atom:author``.
    """
    spec = LAYERS.get(name)
    notes = FileNotes(name, public, author)
    if fmt == "geojson":
        return _geojson(frame, spec, notes), {}
    if fmt == "gpkg":
        return _gpkg(frame, spec, name, notes), {}
    if fmt == "kml":
        if not isinstance(frame, gpd.GeoDataFrame):
            raise ValueError(f"{name} has no geometry: KML needs one; use csv or geojson")
        return frame_to_kml(
            frame, name=name, description=notes.text(), author=notes.author
        ), {}  # fmt: skip
    return _csv(frame, spec, sjis=fmt == "csv-sjis", name=name, notes=notes)


def _box(bbox):
    return shapely.box(*(float(v) for v in bbox))


def _kinds(frame: pd.DataFrame, spec) -> dict[str, str]:
    kinds = dict(spec.columns) if spec is not None else {}
    for col in frame.columns:
        if col not in kinds and pd.api.types.is_datetime64_any_dtype(frame[col]):
            kinds[col] = TIME
    return kinds


def _plain_columns(frame: pd.DataFrame, spec, time_format) -> pd.DataFrame:
    """JSON columns as JSON text and times through ``time_format`` (None: keep as UTC)."""
    out = frame.copy()
    for col, kind in _kinds(frame, spec).items():
        if col not in out.columns:
            continue
        if kind == JSON:
            out[col] = [
                None if v is None else json.dumps(v, ensure_ascii=False)
                for v in out[col].astype(object)
            ]
        elif kind == TIME and time_format is not None:
            values = pd.to_datetime(out[col], utc=True).dt.tz_convert(JST)
            out[col] = [None if pd.isna(v) else time_format(v) for v in values]
    return out


def _as_geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    if isinstance(frame, gpd.GeoDataFrame):
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=STORE_CRS)


def _geojson(frame: pd.DataFrame, spec, notes: FileNotes) -> bytes:
    plain = _plain_columns(frame, spec, lambda ts: ts.isoformat())
    geo = _as_geo(plain)
    if geo.crs is not None and not geo.crs.equals("EPSG:4326"):
        geo = geo.to_crs(4326)
    geo = geo.set_geometry(rfc7946_rings(geo.geometry))
    for col in geo.columns:
        if col != geo.geometry.name and pd.api.types.is_extension_array_dtype(geo[col]):
            geo[col] = geo[col].astype(object).where(geo[col].notna(), None)
    text = geo.to_json(na="null", drop_id=True, ensure_ascii=False)
    head = '{"type": "FeatureCollection", '
    members = notes.members()
    if members:
        if not text.startswith(head):
            raise RuntimeError("unexpected GeoJSON layout from geopandas")
        extra = json.dumps(members, ensure_ascii=False)[1:-1]
        text = f"{head}{extra}, {text[len(head) :]}"
    return text.encode()


def _gpkg(frame: pd.DataFrame, spec, name: str, notes: FileNotes) -> bytes:
    plain = _plain_columns(frame, spec, None)
    metadata = notes.gpkg_metadata()
    description = notes.text()
    options = {"DESCRIPTION": description} if description else None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.gpkg"
        table = plain if isinstance(plain, gpd.GeoDataFrame) else pd.DataFrame(plain)
        pyogrio.write_dataframe(
            table, path, layer=name, driver="GPKG", layer_options=options,
            layer_metadata=metadata or None,
        )  # fmt: skip
        return path.read_bytes()


def _csv(
    frame: pd.DataFrame, spec, *, sjis: bool, name: str, notes: FileNotes
) -> tuple[bytes, dict]:
    table = _plain_columns(frame, spec, lambda ts: ts.strftime("%Y-%m-%d %H:%M:%S"))
    if isinstance(table, gpd.GeoDataFrame):
        geoms = table.geometry
        points = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
        valid = points.notna() & ~points.is_empty
        table = pd.DataFrame(table.drop(columns=table.geometry.name))
        table["lon"] = [round(p.x, 7) if ok else None for p, ok in zip(points, valid, strict=True)]
        table["lat"] = [round(p.y, 7) if ok else None for p, ok in zip(points, valid, strict=True)]
    kinds = _kinds(frame, spec)
    table.columns = [column_label(c, kinds.get(c), name) for c in table.columns]
    if notes.counts:
        table[NOTE_COLUMN] = policy.SUPPRESSION_NOTE["ja"]
    if notes.attribution:
        table[SOURCE_COLUMN] = " / ".join(notes.attribution)
    info: dict = {}
    if sjis:
        table, replaced = cp932_safe(table)
        info["replaced"] = replaced
    text = table.to_csv(index=False, lineterminator="\r\n")
    if sjis:
        return text.encode("cp932"), info
    return text.encode("utf-8-sig"), info


def cp932_safe(table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Make every header and text cell encodable in cp932.

    Look-alikes are mapped (〜 U+301C -> ～ U+FF5E, − U+2212 -> － ...); any other character
    cp932 lacks (𠮷, emoji...) becomes 〓.

    Returns
    -------
    (table, replaced) : ``replaced`` has ``count``, ``characters`` (sorted, distinct) and
    ``cells`` (up to 20 of {row, column, character}; row 1 is the first data row).
    """
    cells: list[dict] = []
    chars: set[str] = set()
    count = 0

    def fix(value, row, column):
        nonlocal count
        if not isinstance(value, str):
            return value
        value = value.translate(CP932_FIXES)
        try:
            value.encode("cp932")
            return value
        except UnicodeEncodeError:
            pass
        out = []
        for ch in value:
            try:
                ch.encode("cp932")
                out.append(ch)
            except UnicodeEncodeError:
                out.append(GETA)
                count += 1
                chars.add(ch)
                if len(cells) < 20:
                    cells.append({"row": row, "column": column, "character": ch})
        return "".join(out)

    header = [fix(c, 0, c) for c in table.columns]
    out = table.copy()
    out.columns = header
    for col in header:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [fix(v, i + 1, col) for i, v in enumerate(out[col].astype(object))]
    return out, {"count": count, "characters": sorted(chars), "cells": cells}
