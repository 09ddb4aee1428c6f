"""Reading the tabular files other systems export: CSV (any encoding), JSON, JSON lines, GeoJSON.

Every reader returns plain dict records keyed by normalized headers (NFKC, no spaces). A
GeoJSON feature becomes its properties plus ``_geometry`` (a shapely geometry already in
lon/lat) so the sources need not care where a position came from.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pyproj
import shapely

from geodata.text.fingerprints import digest
from ingest.base import (
    BaseSource,
    SourceError,
    decode_text,
    lonlat_point,
    normalize_header,
    read_location,
)

LAT = ("lat", "latitude", "緯度", "y座標(緯度)", "_geolocation_lat", "geo_lat")
LON = ("lon", "lng", "long", "longitude", "経度", "x座標(経度)", "_geolocation_lon", "geo_lon")
PLANE_X = ("x", "x座標", "X")  # plane-rectangular: X is northing in Japanese surveying
PLANE_Y = ("y", "y座標", "Y")


def guess_format(location: str, data: bytes) -> str:
    """``csv``, ``json``, ``jsonl`` or ``geojson`` from the name, else from the first bytes."""
    lowered = location.lower().split("?", 1)[0]
    for ext, fmt in ((".geojson", "geojson"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                     (".json", "json"), (".csv", "csv"), (".tsv", "csv"), (".txt", "csv")):  # fmt: skip
        if lowered.endswith(ext):
            return fmt
    head = data.lstrip(b"\xef\xbb\xbf \r\n\t")[:1]
    return "json" if head in (b"{", b"[") else "csv"


def parse_records(data: bytes, fmt: str, *, encoding: str | None = None, crs=None) -> list[dict]:
    """The records of a file; raises SourceError when the file as a whole is unreadable.

    Parameters
    ----------
    data : the file's bytes.
    fmt : ``csv``, ``json``, ``jsonl`` or ``geojson`` (``json`` holding a FeatureCollection is
        read as GeoJSON).
    encoding : the text encoding; detected (UTF-8 with/without BOM, cp932) when None.
    crs : the CRS of GeoJSON coordinates when the file does not declare one.
    """
    try:
        text = decode_text(data, encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode the file ({exc})") from exc
    if fmt == "csv":
        return _csv_records(text)
    if fmt == "jsonl":
        records = []
        # Only \n ends a record: str.splitlines() would also split at U+2028, U+0085 ...
        # which JSON writers leave unescaped inside strings.
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                records.append({"_unreadable_line": n, "_error": str(exc), "_text": line[:500]})
        return records
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"the file is not JSON ({exc})") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        return _features(doc, crs)
    if isinstance(doc, dict):
        for key in ("posts", "statuses", "data", "items", "records", "results", "rows"):
            if isinstance(doc.get(key), list):
                return doc[key]
        raise SourceError("a JSON object without a list of records")
    if isinstance(doc, list):
        return doc
    raise SourceError(f"JSON of type {type(doc).__name__} is not a list of records")


def _csv_records(text: str) -> list[dict]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows or not any(c.strip() for c in rows[0]):
        raise SourceError("CSV without a header row")
    header = [normalize_header(h) for h in rows[0]]
    records = []
    for row in rows[1:]:
        if not any(c.strip() for c in row):
            continue
        record = {h: c.strip() for h, c in zip(header, row, strict=False) if h}
        if len(row) > len(header):
            record["_extra_cells"] = row[len(header) :]
        records.append(record)
    return records


@lru_cache(maxsize=32)
def _transformer(crs_text: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(pyproj.CRS.from_user_input(crs_text), 4326, always_xy=True)


def to_lonlat(geom: shapely.Geometry, crs) -> shapely.Geometry:
    """``geom`` transformed from ``crs`` (None or lon/lat: unchanged) to EPSG:4326."""
    if crs is None:
        return geom
    crs_text = str(crs)
    if pyproj.CRS.from_user_input(crs_text).equals(pyproj.CRS.from_epsg(4326)):
        return geom
    return shapely.transform(geom, _transformer(crs_text).transform, interleaved=False)


def _features(doc: dict, crs) -> list[dict]:
    declared = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if declared and "CRS84" not in declared:
        crs = declared
    records = []
    for feature in doc.get("features") or []:
        if not isinstance(feature, dict):
            records.append({"_unreadable_feature": str(feature)[:500]})
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        record = {normalize_header(k): v for k, v in props.items()}
        if "id" in feature and "id" not in record:
            record["id"] = feature["id"]
        try:
            geom = shapely.geometry.shape(feature["geometry"]) if feature.get("geometry") else None
            record["_geometry"] = None if geom is None else to_lonlat(geom, crs)
        except Exception as exc:  # noqa: BLE001 - reported with the record
            record["_geometry_error"] = f"unreadable geometry ({exc})"
        records.append(record)
    return records


def record_point(record: dict, crs=None) -> shapely.Point | None:
    """The position of a record: its GeoJSON geometry, lat/lon columns, or X/Y in ``crs``.

    Raises ValueError for unreadable or out-of-range coordinates.
    """
    if record.get("_geometry_error"):
        raise ValueError(record["_geometry_error"])
    geom = record.get("_geometry")
    if geom is not None:
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        return lonlat_point(point.x, point.y)
    lat, lon = _given(record, LAT), _given(record, LON)
    geoloc = record.get("_geolocation")  # KoboToolbox: [lat, lon]
    if lat is None and isinstance(geoloc, list) and len(geoloc) == 2:
        lat, lon = geoloc
    if lat is None and isinstance(record.get("geopoint"), str):  # ODK/Kobo "lat lon alt acc"
        parts = record["geopoint"].split()
        lat, lon = (parts + [None, None])[:2]
    if lat is not None or lon is not None:
        if crs is not None and _is_plane(crs):
            # Files that name a plane-rectangular CRS sometimes still label the columns 緯度/経度.
            return _plane_point(lat, lon, crs)
        return lonlat_point(lon, lat)
    x, y = _given(record, PLANE_X), _given(record, PLANE_Y)
    if x is not None and y is not None:
        if crs is None:
            raise ValueError("X/Y coordinates without a CRS (set crs, e.g. EPSG:6677)")
        return _plane_point(x, y, crs)
    return None


def _given(record: dict, names):
    """The first value of ``names`` that is not null or blank (NaN counts: it is a bad value)."""
    for name in names:
        value = record.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


def _is_plane(crs) -> bool:
    return pyproj.CRS.from_user_input(str(crs)).is_projected


def _plane_point(northing, easting, crs) -> shapely.Point:
    """A point from plane-rectangular (X northing, Y easting) in ``crs``; axis order detected."""
    n = float(unicodedata.normalize("NFKC", str(northing)).replace(",", ""))
    e = float(unicodedata.normalize("NFKC", str(easting)).replace(",", ""))
    if not (math.isfinite(n) and math.isfinite(e)):
        raise ValueError("coordinates are not finite")
    transformer = _transformer(str(crs))
    # JGD2011 plane-rectangular EPSG codes are (northing, easting); files mix both orders.
    lon, lat = transformer.transform(e, n)
    if not (120 <= lon <= 155 and 20 <= lat <= 47):
        lon, lat = transformer.transform(n, e)
    return lonlat_point(lon, lat)


class FileSource(BaseSource):
    """A source reading one file (path or http(s) URL), or every file a glob names, each run.

    The cursor is the digest of the bytes read. With ``skip_unchanged`` files whose digest
    equals the cursor are not read again; otherwise every run re-reads them and the idempotent
    upsert leaves unchanged rows alone (so later roster or shelter loads can match them).
    With a glob (``exports/status-*.csv``) the files are read in name order and every record
    carries its file's name in ``_file``.
    """

    cursor_field = "file digest"
    skip_unchanged = False

    def __init__(
        self,
        name: str,
        *,
        path: str | None = None,
        url: str | None = None,
        format: str | None = None,  # noqa: A002 - the config key
        encoding: str | None = None,
        crs: str | None = None,
        skip_unchanged: bool | None = None,
        **kwargs,
    ):
        super().__init__(name, **kwargs)
        if not (path or url):
            raise ValueError(f"{name}: give a path or a url")
        self.location = str(url or path)
        self.format = format
        self.encoding = encoding
        self.crs = crs
        if skip_unchanged is not None:
            self.skip_unchanged = bool(skip_unchanged)
        self._digest: str | None = None
        self.file_time: str | None = None
        self.file_times: dict[str, str | None] = {}

    @property
    def file_id(self) -> str:
        """The file's name (stable across runs) used in derived record ids."""
        return Path(self.location.split("?", 1)[0]).name or self.location

    def file_of(self, record: dict) -> str:
        """The name of the file a record came from."""
        return str(record.get("_file") or self.file_id)

    def locations(self) -> list[str]:
        """The files to read: the location itself, or the files its glob matches (sorted)."""
        if self.location.startswith(("http://", "https://")) or not any(
            c in self.location for c in "*?["
        ):
            return [self.location]
        found = sorted(glob.glob(self.location))
        if not found:
            raise SourceError(f"{self.location}: no file matches")
        return found

    def fetch(self, since: str | None) -> Iterator[dict]:
        blobs = []
        for location in self.locations():
            data, when = read_location(location, self.session)
            blobs.append((location, data, when))
        self._digest = "sha256:" + digest(*[d for _, d, _ in blobs], size=16)
        self.file_time = blobs[-1][2] if blobs else None
        if self.skip_unchanged and since == self._digest:
            return
        several = len(blobs) > 1 or blobs[0][0] != self.location
        for location, data, when in blobs:
            name = Path(location.split("?", 1)[0]).name
            self.file_times[name] = when
            fmt = self.format or guess_format(location, data)
            for record in parse_records(data, fmt, encoding=self.encoding, crs=self.crs):
                if several and isinstance(record, dict):
                    record["_file"] = name
                yield record

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        return self._digest or since


def clean_key(text: str | None) -> str | None:
    """A name key: NFKC, lower case, spaces and punctuation removed."""
    if not text:
        return None
    s = unicodedata.normalize("NFKC", str(text)).lower()
    return re.sub(r"[\s・･()（）「」『』\[\]【】.,、。'\"-]", "", s) or None
