"""Is a position from a file inside (or near) the municipality, and if not, which CRS was meant?

Coordinates in the wrong plane-rectangular zone (a file in EPSG:6675 loaded as EPSG:6677) land
100–300 km away and look like any other point. A file source that places municipal things —
shelter status, field reports, the roster, shelters — checks each position against the area of
the stored towns (or the stored boundary), widened by :data:`AREA_MARGIN_M`. A position outside
is rejected; when its coordinates came from a projected CRS, the 19 zones of the Japan Plane
Rectangular CS (EPSG:6669–6687) are tried on the same numbers, both axis orders, and the zone
that puts it inside is named in the reason. Without towns or a boundary in the store there is
nothing to check against, and nothing is checked.
"""

from __future__ import annotations

import math
from functools import lru_cache

import geopandas as gpd
import pandas as pd
import pyproj
import shapely

from geodata.geometry import utm_crs
from geodata.reference.codes import PLANE_EPSG_CODES
from ingest.reasons import RowError

AREA_MARGIN_M = 10_000.0
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII",
          "XIV", "XV", "XVI", "XVII", "XVIII", "XIX")  # fmt: skip


def zone_label(epsg: int) -> str:
    """``EPSG:6675（平面直角座標系 第VII系）`` for a plane-rectangular zone, else ``EPSG:n``."""
    if epsg in PLANE_EPSG_CODES:
        return f"EPSG:{epsg}（平面直角座標系 第{_ROMAN[epsg - PLANE_EPSG_CODES[0]]}系）"
    return f"EPSG:{epsg}"


@lru_cache(maxsize=64)
def _to_plane(crs_text: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(4326, pyproj.CRS.from_user_input(crs_text), always_xy=True)


@lru_cache(maxsize=64)
def _epsg_of(crs_text: str) -> int | None:
    return pyproj.CRS.from_user_input(crs_text).to_epsg()


@lru_cache(maxsize=64)
def _is_projected(crs_text: str) -> bool:
    return pyproj.CRS.from_user_input(crs_text).is_projected


@lru_cache(maxsize=64)
def _from_plane(epsg: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)


class Area:
    """The municipality's area, widened by :data:`AREA_MARGIN_M`, and its name.

    Parameters
    ----------
    geometry : the municipality (lon/lat polygons).
    name : what the reasons call it (調布市).
    """

    def __init__(self, geometry: shapely.Geometry, name: str):
        self.name = name
        self.center = geometry.centroid
        metric = utm_crs(self.center.x, self.center.y)
        series = gpd.GeoSeries([geometry], crs=4326).to_crs(metric).buffer(AREA_MARGIN_M)
        self.zone = series.to_crs(4326).iloc[0]
        shapely.prepare(self.zone)
        self._last_hit: int | None = None

    @classmethod
    def from_layers(cls, towns: pd.DataFrame, boundaries: pd.DataFrame) -> Area | None:
        """The area of the stored boundary, else of the stored towns; None when neither is."""
        for frame in (boundaries, towns):
            if frame is None or not len(frame) or "geometry" not in frame:
                continue
            geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
            if not geoms:
                continue
            names = [n for n in frame.get("city_name", []) if isinstance(n, str) and n]
            return cls(shapely.union_all(geoms), names[0] if names else "市区町村")
        return None

    def check(self, point: shapely.Point, crs) -> None:
        """Raise :class:`RowError` when ``point`` (lon/lat, read in ``crs``) is outside."""
        if shapely.contains_xy(self.zone, point.x, point.y):
            return
        away = _km(self.center, point)
        if crs is None or not _is_projected(str(crs)):
            raise RowError(
                "位置",
                f"{self.name}の範囲外です（中心から約 {away:,.0f} km）。緯度・経度を確かめてください",
                "outside the municipality",
            )
        used = str(crs).upper()
        likely = self.likely_zone(point, str(crs))
        if likely is None:
            raise RowError(
                "位置",
                f"{used} として読むと{self.name}の範囲外です（中心から約 {away:,.0f} km）。"
                "平面直角座標系のどの系でも範囲に入りません。座標と CRS の指定を確かめてください",
                "outside the municipality",
            )
        raise RowError(
            "位置",
            f"{used} として読むと{self.name}の範囲外です（中心から約 {away:,.0f} km）。"
            f"{zone_label(likely)}として読むと範囲内に入ります。CRS の指定（--crs / crs）を "
            f"EPSG:{likely} にしてください",
            f"outside the municipality; likely EPSG:{likely}",
        )

    def likely_zone(self, point: shapely.Point, crs_text: str) -> int | None:
        """The plane-rectangular zone (EPSG code) that puts the raw coordinates inside, if any."""
        x, y = _to_plane(crs_text).transform(point.x, point.y)
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        codes = list(PLANE_EPSG_CODES)
        if self._last_hit in codes:  # a file in the wrong zone: every row finds the same one
            codes.remove(self._last_hit)
            codes.insert(0, self._last_hit)
        used = _epsg_of(crs_text)
        for code in codes:
            if code == used:
                continue
            for a, b in ((x, y), (y, x)):
                lon, lat = _from_plane(code).transform(a, b)
                if math.isfinite(lon) and shapely.contains_xy(self.zone, lon, lat):
                    self._last_hit = code
                    return code
        return None


def _km(a: shapely.Point, b: shapely.Point) -> float:
    """Great-circle distance in km."""
    lat1, lat2 = math.radians(a.y), math.radians(b.y)
    dlat, dlon = lat2 - lat1, math.radians(b.x - a.x)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def area_of(context) -> Area | None:
    """The :class:`Area` of the context's towns/boundary (memoized on the context)."""
    if "area" not in context.memo:
        try:
            boundaries = context.frame("boundaries")
        except Exception:  # noqa: BLE001 - a store without the layer: towns alone
            boundaries = None
        context.memo["area"] = Area.from_layers(context.frame("towns"), boundaries)
    return context.memo["area"]
