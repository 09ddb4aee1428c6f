"""Where a record of a file says it is: GeoJSON geometry, lat/lon columns, or X/Y in a CRS.

Positions come back in lon/lat (EPSG:4326) together with the CRS their numbers were read in, so
that :mod:`ingest.sources.placement` can tell which plane-rectangular zone a file really used.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache

import pyproj
import shapely

from ingest.base import lonlat_point, normalize_header
from ingest.reasons import RowError

LAT = ("lat", "latitude", "緯度", "y座標(緯度)", "_geolocation_lat", "geo_lat")
LON = ("lon", "lng", "long", "longitude", "経度", "x座標(経度)", "_geolocation_lon", "geo_lon")
PLANE_X = ("x", "x座標", "X")  # plane-rectangular: X is northing in Japanese surveying
PLANE_Y = ("y", "y座標", "Y")


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


def feature_records(doc: dict, crs) -> list[dict]:
    """The features of a GeoJSON FeatureCollection as records (module docstring of files.py)."""
    declared = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if declared and "CRS84" not in declared:
        crs = declared
    records = []
    for n, feature in enumerate(doc.get("features") or [], 1):
        if not isinstance(feature, dict):
            records.append({"_bad": "GeoJSON の Feature ではありません", "_item": n,
                            "_text": str(feature)[:500]})  # fmt: skip
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        record = {normalize_header(k): v for k, v in props.items()}
        if "id" in feature and "id" not in record:
            record["id"] = feature["id"]
        record["_item"] = n
        if crs is not None:
            record["_crs"] = str(crs)
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
    return read_point(record, crs)[0]


def read_point(record: dict, crs=None) -> tuple[shapely.Point | None, str | None]:
    """(position, the CRS its numbers were read in — None for lon/lat); see :func:`record_point`."""
    if record.get("_geometry_error"):
        raise ValueError(record["_geometry_error"])
    geom = record.get("_geometry")
    if geom is not None:
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        declared = record.get("_crs")
        return lonlat_point(point.x, point.y), declared if declared and _is_plane(
            declared
        ) else None
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
            return _plane_point(lat, lon, crs), str(crs)
        return lonlat_point(lon, lat), None
    x, y = _given(record, PLANE_X), _given(record, PLANE_Y)
    if x is not None and y is not None:
        if crs is None:
            raise RowError(
                "位置",
                "X/Y 座標の CRS が指定されていません（--crs / crs で、例: EPSG:6677）",
                "X/Y coordinates without a CRS",
            )
        return _plane_point(x, y, crs), str(crs)
    return None, None


def _given(record: dict, names):
    """The first value of ``names`` that is not null or blank (NaN counts: it is a bad value)."""
    for name in names:
        value = record.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value
    return None


@lru_cache(maxsize=64)
def _is_plane_text(crs_text: str) -> bool:
    return pyproj.CRS.from_user_input(crs_text).is_projected


def _is_plane(crs) -> bool:
    return _is_plane_text(str(crs))


def _plane_point(northing, easting, crs) -> shapely.Point:
    """A point from plane-rectangular (X northing, Y easting) in ``crs``; axis order detected."""
    try:
        n = float(unicodedata.normalize("NFKC", str(northing)).replace(",", ""))
        e = float(unicodedata.normalize("NFKC", str(easting)).replace(",", ""))
    except ValueError:
        raise RowError(
            "位置",
            f"座標「{northing}」「{easting}」が数として読めません",
            "coordinates not numbers",
        ) from None
    if not (math.isfinite(n) and math.isfinite(e)):
        raise ValueError("coordinates are not finite")
    transformer = _transformer(str(crs))
    # JGD2011 plane-rectangular EPSG codes are (northing, easting); files mix both orders.
    lon, lat = transformer.transform(e, n)
    if not (120 <= lon <= 155 and 20 <= lat <= 47):
        lon, lat = transformer.transform(n, e)
    return lonlat_point(lon, lat)
