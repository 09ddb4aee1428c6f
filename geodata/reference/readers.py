"""Reading the files municipalities and agencies really publish.

Text comes as UTF-8 with or without a BOM, Shift_JIS (cp932) or UTF-16 (Excel's "Unicode
text"); GeoJSON may carry a ``crs`` member; town polygons also come as TopoJSON; and the
国土数値情報 hazard shapefiles sometimes lack their ``.dbf``. Nothing here knows about layers:
:mod:`geodata.reference.layers` maps what these functions return onto the schema.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely


class ReferenceFileError(ValueError):
    """A reference file that cannot be read at all; the message starts with the file name."""

    def __init__(self, path: Path | str, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


def detect_encoding(data: bytes) -> str:
    """The text encoding of ``data``: utf-8-sig, utf-16, utf-8 or cp932.

    Examples
    --------
    >>> detect_encoding("避難所".encode("cp932")), detect_encoding(b"\\xef\\xbb\\xbfID")
    ('cp932', 'utf-8-sig')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp932")
        return "cp932"
    except UnicodeDecodeError:
        pass
    raise UnicodeError("neither UTF-8 nor Shift_JIS (cp932) text")


def read_text(path: Path | str) -> str:
    """The text of ``path`` in whatever encoding it was written; ReferenceFileError if unreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReferenceFileError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        return data.decode(detect_encoding(data))
    except UnicodeError as exc:
        raise ReferenceFileError(path, f"unknown text encoding ({exc})") from exc


def normalize_header(name: str) -> str:
    """A column header with full-width characters folded and spaces removed (NFKC)."""
    return "".join(unicodedata.normalize("NFKC", str(name)).split())


def read_csv_records(path: Path | str) -> list[dict[str, str]]:
    """The rows of a CSV (or tab-separated) file as dicts of text keyed by normalized headers.

    Empty cells are ``""``; nothing is converted, so codes keep their leading zeros.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> _ = open(p, "wb").write("ＩＤ,名称\\n001,第一小学校\\n".encode("cp932"))
    >>> read_csv_records(p)
    [{'ID': '001', '名称': '第一小学校'}]
    """
    text = read_text(path)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ReferenceFileError(path, "no header row")
    header = [normalize_header(h) for h in rows[0]]
    records = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        row = row + [""] * (len(header) - len(row))
        records.append({h: cell.strip() for h, cell in zip(header, row, strict=False) if h})
    return records


def read_json(path: Path | str) -> dict:
    """A JSON document; ReferenceFileError if the file is not JSON."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ReferenceFileError(path, f"not JSON ({exc})") from exc


def geojson_crs(doc: dict) -> pyproj.CRS:
    """The CRS a GeoJSON document declares (old-style ``crs`` member), else EPSG:4326."""
    name = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if not name or "CRS84" in name:
        return pyproj.CRS.from_epsg(4326)
    return pyproj.CRS.from_user_input(name)


def features_to_frame(features: list[dict], crs) -> tuple[gpd.GeoDataFrame, list[tuple[str, str]]]:
    """GeoJSON features -> GeoDataFrame of their properties; bad geometries become rejections.

    Returns
    -------
    (frame, rejected) : ``rejected`` is a list of (raw text, reason).
    """
    rows, geoms, rejected = [], [], []
    for feature in features:
        props = dict(feature.get("properties") or {})
        try:
            geom = shapely.geometry.shape(feature["geometry"]) if feature.get("geometry") else None
        except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as exc:
            raw = json.dumps(props, ensure_ascii=False, default=str)[:2000]
            rejected.append((raw, f"unreadable geometry ({exc})"))
            continue
        rows.append(props)
        geoms.append(geom)
    frame = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    return frame, rejected


# --- TopoJSON ---------------------------------------------------------------------------------


def topojson_features(topology: dict, object_name: str | None = None) -> list[dict]:
    """Decode a TopoJSON object into GeoJSON features (quantized, delta-encoded arcs supported).

    Parameters
    ----------
    topology : the parsed TopoJSON document (``{"type": "Topology", ...}``).
    object_name : the object to decode; default the first one (Geoshape names it ``town``).

    Examples
    --------
    >>> topo = {"type": "Topology", "arcs": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
    ...         "objects": {"a": {"type": "GeometryCollection", "geometries": [
    ...             {"type": "Polygon", "arcs": [[0]], "properties": {"n": 1}}]}}}
    >>> topojson_features(topo)[0]["geometry"]["coordinates"][0][2]
    [1.0, 1.0]
    """
    objects = topology.get("objects") or {}
    if not objects:
        raise ValueError("TopoJSON without objects")
    name = object_name or next(iter(objects))
    if name not in objects:
        raise ValueError(f"TopoJSON has no object {name!r} (has {', '.join(objects)})")
    transform = topology.get("transform")
    scale = np.asarray(transform["scale"], float) if transform else np.ones(2)
    translate = np.asarray(transform["translate"], float) if transform else np.zeros(2)
    arcs = []
    for arc in topology.get("arcs", []):
        points = np.asarray(arc, float)[:, :2]
        if transform:
            points = np.cumsum(points, axis=0) * scale + translate
        arcs.append(points)

    def ring(indexes: list[int]) -> list[list[float]]:
        coords: list[np.ndarray] = []
        for i in indexes:
            points = arcs[i] if i >= 0 else arcs[~i][::-1]
            coords.append(points if not coords else points[1:])
        return np.concatenate(coords).tolist() if coords else []

    def point(p: list[float]) -> list[float]:
        return (np.asarray(p[:2], float) * scale + translate).tolist()

    def geometry(obj: dict) -> dict | None:
        kind, a = obj.get("type"), obj.get("arcs")
        if kind == "Polygon":
            return {"type": kind, "coordinates": [ring(r) for r in a]}
        if kind == "MultiPolygon":
            return {"type": kind, "coordinates": [[ring(r) for r in poly] for poly in a]}
        if kind == "LineString":
            return {"type": kind, "coordinates": ring(a)}
        if kind == "MultiLineString":
            return {"type": kind, "coordinates": [ring(r) for r in a]}
        if kind == "Point":
            return {"type": kind, "coordinates": point(obj["coordinates"])}
        if kind == "MultiPoint":
            return {"type": kind, "coordinates": [point(p) for p in obj["coordinates"]]}
        return None

    top = objects[name]
    members = top.get("geometries", []) if top.get("type") == "GeometryCollection" else [top]
    return [
        {"type": "Feature", "properties": m.get("properties") or {}, "geometry": geometry(m)}
        for m in members
    ]


# --- Shapefile without .dbf -------------------------------------------------------------------

_POLYGON_TYPES = {5, 15, 25}  # Polygon, PolygonZ, PolygonM


def read_prj_crs(shp_path: Path | str) -> pyproj.CRS | None:
    """The CRS in the ``.prj`` next to a shapefile, or None when there is none."""
    prj = Path(shp_path).with_suffix(".prj")
    if not prj.exists():
        return None
    crs = pyproj.CRS.from_wkt(read_text(prj))
    epsg = crs.to_epsg(min_confidence=70)
    return pyproj.CRS.from_epsg(epsg) if epsg else crs


def read_shapefile_polygons(path: Path | str, bbox: tuple | None = None) -> gpd.GeoDataFrame:
    """Read the polygons of a ``.shp`` with nothing but the file itself (no .shx, no .dbf).

    A small fallback for when GDAL refuses a broken shapefile. Outer rings are clockwise and
    holes counter-clockwise (the shapefile rule); each hole goes to the shell that contains it.

    Parameters
    ----------
    path : the ``.shp`` file; the CRS comes from the ``.prj`` beside it when present.
    bbox : (minx, miny, maxx, maxy) in the file's CRS; records whose box misses it are skipped.

    Returns
    -------
    GeoDataFrame indexed by the record number (0-based, the same as GDAL's FID).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReferenceFileError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    if len(data) < 100 or struct.unpack(">i", data[:4])[0] != 9994:
        raise ReferenceFileError(path, "not a shapefile (bad header)")
    fids, geoms = [], []
    offset, fid = 100, 0
    while offset + 8 <= len(data):
        (length_words,) = struct.unpack(">i", data[offset + 4 : offset + 8])
        content = data[offset + 8 : offset + 8 + 2 * length_words]
        offset += 8 + 2 * length_words
        if len(content) >= 44 and struct.unpack("<i", content[:4])[0] in _POLYGON_TYPES:
            box = struct.unpack("<4d", content[4:36])
            if bbox is None or not (
                box[0] > bbox[2] or box[2] < bbox[0] or box[1] > bbox[3] or box[3] < bbox[1]
            ):
                fids.append(fid)
                geoms.append(_polygon_record(content))
        fid += 1
    return gpd.GeoDataFrame(
        index=fids, geometry=gpd.GeoSeries(geoms, index=fids), crs=read_prj_crs(path)
    )


def _polygon_record(content: bytes) -> shapely.Geometry:
    num_parts, num_points = struct.unpack("<2i", content[36:44])
    parts = list(struct.unpack(f"<{num_parts}i", content[44 : 44 + 4 * num_parts])) + [num_points]
    start = 44 + 4 * num_parts
    xy = np.frombuffer(content, "<f8", count=2 * num_points, offset=start).reshape(-1, 2)
    shells: list[list] = []  # [shell ring, [holes]]
    holes = []
    for a, b in zip(parts[:-1], parts[1:], strict=True):
        ring = shapely.LinearRing(xy[a:b]) if b - a >= 4 else None
        if ring is None:
            continue
        if ring.is_ccw:
            holes.append(ring)
        else:
            shells.append([ring, []])
    if not shells:  # some writers ignore the orientation rule: read every ring as a shell
        shells, holes = [[h, []] for h in holes], []
    for hole in holes:
        inside = [
            s for s in shells if shapely.Polygon(s[0]).contains(shapely.Point(hole.coords[0]))
        ]
        (inside or shells)[0][1].append(hole)
    polygons = [shapely.Polygon(shell, rings) for shell, rings in shells]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)
