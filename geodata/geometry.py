"""Geometry for the reports and safety maps: GeoJSON features, hexagon aggregates, town lookup.

No streamlit and no folium here. The aggregation is what keeps the map light at any volume:
100,000 posts become a few hundred hexagons (counts per category, highest urgency), computed
with numpy in a metric CRS, never one marker per post.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import chain

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geodata.schema import CATEGORIES, STORE_CRS

SQRT3 = math.sqrt(3.0)
MIN_HEX_M = 150.0  # hexagon radius (centre to corner) never below this
HEXES_ACROSS = 40  # the wider side of the data spans about this many hexagons


def point_mask(frame: gpd.GeoDataFrame) -> np.ndarray:
    """True for the rows of ``frame`` with a non-empty point geometry."""
    geoms = np.asarray(frame.geometry.array, dtype=object) if len(frame) else np.array([])
    if not len(geoms):
        return np.zeros(0, dtype=bool)
    return (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)  # None: type -1


def points_only(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of ``frame`` with a non-empty point geometry."""
    if not len(frame):
        return frame
    return frame[point_mask(frame)]


def feature_collection(
    frame: gpd.GeoDataFrame, id_col: str | None, properties: Callable[[dict], dict]
) -> dict:
    """A GeoJSON FeatureCollection holding only the properties ``properties(row)`` returns.

    Rows without geometry are skipped; coordinates are rounded to 1e-6° (about 0.1 m). The
    collection carries its ``bbox`` (GeoJSON's [west, south, east, north]), which
    :class:`dashboard.maps.elements.GeoJsonLayer` uses instead of walking every coordinate.
    """
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.crs is not None and not frame.crs.equals(STORE_CRS):
        frame = frame.to_crs(STORE_CRS)
    geoms = shapely.set_precision(frame.geometry.values, 1e-6, mode="pointwise")
    features = []
    for i, (row, geom) in enumerate(zip(frame.to_dict("records"), geoms, strict=True)):
        fid = str(row[id_col]) if id_col and row.get(id_col) is not None else str(i)
        features.append(
            {
                "type": "Feature",
                "id": fid,
                "properties": {"fid": fid, **properties(row)},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    out = {"type": "FeatureCollection", "features": features}
    if features:
        out["bbox"] = [round(float(v), 6) for v in shapely.total_bounds(geoms)]
    return out


def utm_crs(lon: float, lat: float) -> str:
    """The UTM zone CRS of (lon, lat) (WGS 84), for distances and areas in metres.

    Examples
    --------
    >>> utm_crs(139.54, 35.65)
    'EPSG:32654'
    """
    zone = min(60, max(1, int(math.floor((lon + 180.0) / 6.0)) + 1))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def hex_radius(bounds: tuple[float, float, float, float], crs) -> float:
    """A hexagon radius (m) giving about :data:`HEXES_ACROSS` hexagons over ``bounds``."""
    box = gpd.GeoSeries([shapely.box(*bounds)], crs=STORE_CRS).to_crs(crs).total_bounds
    span = max(box[2] - box[0], box[3] - box[1])
    return max(MIN_HEX_M, span / HEXES_ACROSS / SQRT3)


def hex_cells(x: np.ndarray, y: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates (q, r) of the pointy-top hexagon of ``radius`` holding each point.

    Examples
    --------
    >>> q, r = hex_cells(np.array([0.0, 1000.0]), np.array([0.0, 0.0]), 100.0)
    >>> q.tolist(), r.tolist()
    ([0, 6], [0, 0])
    """
    qf = (SQRT3 / 3.0 * x - y / 3.0) / radius
    rf = (2.0 / 3.0 * y) / radius
    sf = -qf - rf
    q, r, s = np.rint(qf), np.rint(rf), np.rint(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def hex_polygon(q: int, r: int, radius: float) -> shapely.Polygon:
    """The hexagon (q, r) in the metric CRS."""
    cx = radius * SQRT3 * (q + r / 2.0)
    cy = radius * 1.5 * r
    angles = np.radians(30.0 + 60.0 * np.arange(6))
    return shapely.Polygon(
        zip(cx + radius * np.cos(angles), cy + radius * np.sin(angles), strict=True)
    )


def point_lonlat(posts: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ok, lon, lat)`` over every row of ``posts``: ``ok`` for a non-empty point geometry, its
    lon/lat in the store's CRS (NaN where not ``ok``)."""
    ok = point_mask(posts)
    lon = np.full(len(posts), np.nan)
    lat = np.full(len(posts), np.nan)
    if ok.any():
        # coordinates as arrays: no projected copy of a million point objects
        geoms = np.asarray(posts.geometry.array, dtype=object)[ok]
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        if posts.crs is not None and not posts.crs.equals(STORE_CRS):
            x, y = Transformer.from_crs(posts.crs, STORE_CRS, always_xy=True).transform(x, y)
        lon[ok], lat[ok] = x, y
    return ok, lon, lat


def category_counts(categories) -> np.ndarray:
    """Per row of ``categories`` (lists), how often it names each of :data:`CATEGORIES`
    (rows × categories, int16); an empty or missing list counts as その他, unknown names not."""
    lists = [c if isinstance(c, list) and c else ["その他"] for c in categories]
    rows, named = _category_pairs(lists)
    table = np.bincount(rows * len(CATEGORIES) + named, minlength=len(lists) * len(CATEGORIES))
    return table.reshape(len(lists), len(CATEGORIES)).astype(np.int16)


def _category_pairs(lists: list) -> tuple[np.ndarray, np.ndarray]:
    """(row, category number) of every known category named in ``lists``."""
    number = {c: i for i, c in enumerate(CATEGORIES)}
    sizes = np.fromiter((len(c) for c in lists), dtype=np.int64, count=len(lists))
    named = np.fromiter(
        (number.get(c, -1) for c in chain.from_iterable(lists)), dtype=np.int64, count=sizes.sum()
    )
    rows = np.repeat(np.arange(len(lists)), sizes)
    known = named >= 0
    return rows[known], named[known]


def metric_crs(lon: np.ndarray, lat: np.ndarray) -> str:
    """The metric CRS :func:`hexbin` projects points at ``lon``/``lat`` to: the UTM zone of the
    middle of their extent."""
    return utm_crs((lon.min() + lon.max()) / 2, (lat.min() + lat.max()) / 2)


def hexbin(
    posts: gpd.GeoDataFrame,
    radius_m: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Aggregate located posts into hexagons.

    Parameters
    ----------
    posts : posts (or any points) with ``categories`` (list) and ``urgency`` columns.
    radius_m : hexagon radius in metres; default from ``bounds`` (or the points' extent).
    bounds : lon/lat bounds the map shows (for the default radius).

    Returns
    -------
    GeoDataFrame (EPSG:4326) of hexagon polygons with count, urgent (posts of urgency >= 2),
    max_urgency, top_category, and one column per category of
    :data:`geodata.schema.CATEGORIES` (posts naming it); most posts first.
    """
    ok, lon, lat = point_lonlat(posts)
    if not ok.any():
        return hexbin_points(lon[:0], lat[:0], np.zeros(0), None)
    urgency = pd.to_numeric(posts["urgency"], errors="coerce").fillna(0).to_numpy()[ok]
    lists = [
        c if isinstance(c, list) and c else ["その他"] for c in posts["categories"].to_numpy()[ok]
    ]
    return hexbin_points(lon[ok], lat[ok], urgency, _category_pairs(lists), radius_m, bounds)


def hexbin_points(
    lon: np.ndarray,
    lat: np.ndarray,
    urgency: np.ndarray,
    categories,
    radius_m: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    projected: Callable[[str], tuple[np.ndarray, np.ndarray] | None] | None = None,
) -> gpd.GeoDataFrame:
    """:func:`hexbin` of located points given as arrays (lon/lat in the store's CRS).

    ``categories``: per point, how often it names each category (points × categories), or the
    pairs (point, category number) of every name. ``projected(metric)``: the points' x/y in
    that CRS when the caller holds them (else they are projected here).
    """
    cols = ["count", "urgent", "max_urgency", "top_category", *CATEGORIES]
    if not len(lon):
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=STORE_CRS))
    minx, miny, maxx, maxy = lon.min(), lat.min(), lon.max(), lat.max()
    metric = metric_crs(lon, lat)
    xy = projected(metric) if projected is not None else None
    if xy is None:
        xy = Transformer.from_crs(STORE_CRS, metric, always_xy=True).transform(lon, lat)
    x, y = xy
    if radius_m is None:
        radius_m = hex_radius(bounds or (minx, miny, maxx, maxy), metric)
    q, r = hex_cells(np.asarray(x), np.asarray(y), radius_m)
    # one code per cell; counts by bincount (a groupby and an explode of the category lists
    # took most of a second at a million posts)
    span = int(r.max() - r.min()) + 1
    cell, cells = pd.factorize((q - q.min()) * span + (r - r.min()), sort=False)
    n = len(cells)
    max_urgency = np.full(n, -np.inf)
    np.maximum.at(max_urgency, cell, urgency)
    out = pd.DataFrame(
        {
            "q": cells // span + q.min(),
            "r": cells % span + r.min(),
            "count": np.bincount(cell, minlength=n),
            "urgent": np.bincount(cell, weights=urgency >= 2, minlength=n),
            "max_urgency": max_urgency,
        }
    )
    if isinstance(categories, tuple):  # (point, category number) pairs
        rows, named = categories
        table = np.bincount(
            cell[rows] * len(CATEGORIES) + named, minlength=n * len(CATEGORIES)
        ).reshape(n, len(CATEGORIES))
    else:  # counts per point
        table = np.column_stack(
            [
                np.bincount(cell, weights=categories[:, i], minlength=n)
                for i in range(len(CATEGORIES))
            ]
        )
    for i, c in enumerate(CATEGORIES):
        out[c] = table[:, i]
    out = out.astype({c: int for c in ("count", "urgent", "max_urgency", *CATEGORIES)})
    out["top_category"] = out[list(CATEGORIES)].idxmax(axis=1)
    out = out.sort_values(["count", "q", "r"], ascending=[False, True, True])
    polygons = [hex_polygon(a, b, radius_m) for a, b in zip(out["q"], out["r"], strict=True)]
    hexes = gpd.GeoDataFrame(
        out[cols].reset_index(drop=True),
        geometry=gpd.GeoSeries(polygons, crs=metric).to_crs(STORE_CRS).values,
        crs=STORE_CRS,
    )
    return hexes


def town_at(towns: gpd.GeoDataFrame, lon: float, lat: float) -> str | None:
    """The town_code of the town polygon holding (lon, lat), or None outside every town."""
    point = shapely.Point(float(lon), float(lat))
    hits = towns.sindex.query(point, predicate="intersects") if len(towns) else []
    for i in hits:
        return str(towns["town_code"].iloc[int(i)])
    return None


def rfc7946_rings(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Polygons with counter-clockwise outer rings and clockwise holes (RFC 7946 §3.1.6)."""
    values = np.asarray(geoms.values)
    present = np.array([g is not None for g in values], dtype=bool)
    if present.any():
        values = values.copy()
        values[present] = shapely.orient_polygons(values[present], exterior_cw=False)
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs, name=geoms.name)
