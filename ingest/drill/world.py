"""The 調布市 the drill plays in: towns, flood-hazard areas, shelters and landmarks.

Read from the reference open data (``geodata.settings.reference_dir()``), never from the store,
so that generating a drill needs no database. Loaded once per folder and cached.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.reference.layers import estimate_capacity, load_hazard_areas, load_towns

log = logging.getLogger(__name__)

METRIC_CRS = "EPSG:6677"  # JGD2011 plane-rectangular zone IX (Tokyo)
CITY_CODE = "13208"
FLOOD_TOWN_SHARE = 0.1  # a town is a "flood town" when this share of its area is flood-assumed

# Landmarks posts name, with approximate lon/lat; the town comes from the polygons.
LANDMARKS: tuple[tuple[str, str, float, float], ...] = (
    # (name, English name, lon, lat)
    ("調布駅", "Chofu Station", 139.5440, 35.6520),
    ("国領駅", "Kokuryo Station", 139.5584, 35.6503),
    ("布田駅", "Fuda Station", 139.5514, 35.6499),
    ("西調布駅", "Nishi-Chofu Station", 139.5298, 35.6573),
    ("飛田給駅", "Tobitakyu Station", 139.5235, 35.6601),
    ("京王多摩川駅", "Keio-tamagawa Station", 139.5380, 35.6442),
    ("柴崎駅", "Shibasaki Station", 139.5665, 35.6540),
    ("つつじヶ丘駅", "Tsutsujigaoka Station", 139.5752, 35.6579),
    ("仙川駅", "Sengawa Station", 139.5848, 35.6623),
    ("味の素スタジアム", "Ajinomoto Stadium", 139.5271, 35.6645),
    ("深大寺", "Jindaiji Temple", 139.5488, 35.6707),
    ("神代植物公園", "Jindai Botanical Gardens", 139.5498, 35.6694),
    ("調布市役所", "Chofu City Hall", 139.5407, 35.6508),
    ("多摩川原橋", "Tamagawara Bridge", 139.5372, 35.6428),
    ("京王閣", "Keiokaku", 139.5345, 35.6442),
    ("電気通信大学", "UEC Tokyo", 139.5437, 35.6568),
    ("布多天神社", "Fuda Tenjin Shrine", 139.5430, 35.6565),
    ("多摩川住宅", "Tamagawa Jutaku", 139.5520, 35.6410),
    ("たづくり", "Tazukuri", 139.5424, 35.6510),
    ("二ヶ領上河原堰", "Nikaryo Kamigawara Weir", 139.5545, 35.6372),
)

# 国分寺崖線 (the escarpment) towns: where landslide posts come from.
SLOPE_TOWNS = ("深大寺元町", "深大寺南町", "佐須町", "入間町", "若葉町", "緑ケ丘", "東つつじケ丘")

_CHOME = "一二三四五六七八九"


@dataclass(frozen=True)
class World:
    """Reference geography of the drill.

    Attributes
    ----------
    towns : one row per town_code (polygons dissolved): town_code, name, base (name without
        丁目), chome (1..9 or 0), population, households, flood_share, slope, geometry (EPSG:4326).
    flood : union of the flood-assumed polygons inside the city (EPSG:4326), maybe empty.
    shelters : designated shelters: common_id, name, address, welfare (受入対象者 要配慮者),
        capacity (geodata.reference.layers's estimate, as the shelters layer has it), riverside,
        town_code, lon, lat.
    landmarks : name, name_en, town_code, lon, lat (only those inside a town).
    """

    towns: gpd.GeoDataFrame
    flood: shapely.Geometry
    shelters: pd.DataFrame
    landmarks: pd.DataFrame

    def town_index(self, codes) -> np.ndarray:
        """Row positions in ``towns`` of the given town codes."""
        lookup = pd.Index(self.towns["town_code"])
        return lookup.get_indexer(list(codes))


def split_town_name(name: str) -> tuple[str, int]:
    """Split 国領町八丁目 into ("国領町", 8); a name without 丁目 gives (name, 0).

    Examples
    --------
    >>> split_town_name("国領町八丁目")
    ('国領町', 8)
    >>> split_town_name("西町")
    ('西町', 0)
    """
    m = re.fullmatch(r"(.+?)([一二三四五六七八九])丁目", name)
    if not m:
        return name, 0
    return m.group(1), _CHOME.index(m.group(2)) + 1


@lru_cache(maxsize=4)
def load_world(reference_dir: str) -> World:
    """Load the towns, flood areas, shelters and landmarks of 調布市 from ``reference_dir``."""
    ref = Path(reference_dir)
    towns = _towns(ref)
    flood = _flood(ref, towns)
    metric = towns.to_crs(METRIC_CRS)
    flood_m = gpd.GeoSeries([flood], crs="EPSG:4326").to_crs(METRIC_CRS).iloc[0]
    towns["flood_share"] = (
        metric.geometry.intersection(flood_m).area / metric.geometry.area
    ).values
    towns["slope"] = towns["base"].isin(SLOPE_TOWNS)
    shelters = _shelters(ref, towns, flood_m)
    landmarks = _landmarks(towns)
    return World(towns=towns, flood=flood, shelters=shelters, landmarks=landmarks)


def _towns(ref: Path) -> gpd.GeoDataFrame:
    towns, _ = load_towns(ref / "chofu" / "towns_r2ka13208.geojson", CITY_CODE)
    towns = towns[["town_code", "name", "population", "households", "geometry"]].copy()
    towns["population"] = towns["population"].fillna(0).astype(int)
    towns["households"] = towns["households"].fillna(0).astype(int)
    parts = [split_town_name(n) for n in towns["name"]]
    towns["base"] = [p[0] for p in parts]
    towns["chome"] = [p[1] for p in parts]
    return towns.sort_values("town_code").reset_index(drop=True)


def _flood(ref: Path, towns: gpd.GeoDataFrame) -> shapely.Geometry:
    """The flood-assumed area inside the city (union, clipped), via geodata.reference.layers."""
    city = shapely.union_all(towns.geometry.values)
    shp = ref / "hazard" / "flood_A31-12_13" / "A31-12_13.shp"
    if not shp.exists():
        log.warning("no flood-hazard shapefile at %s: the drill has no flood areas", shp)
        return shapely.Polygon()
    frame, _ = load_hazard_areas(shp, city)
    flood = shapely.union_all(frame.geometry.values)
    return shapely.make_valid(shapely.intersection(flood, city))


def _shelters(ref: Path, towns: gpd.GeoDataFrame, flood_m) -> pd.DataFrame:
    path = ref / "shelters_gsi" / "evacuation_132080.json"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    rows = []
    for f in features:
        p = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        target = p.get("受入対象者") or ""
        welfare = target == "要配慮者"
        name = p["施設・場所名"]
        rows.append(
            {
                "common_id": p["共通ID"],
                "name": name,
                "address": p.get("住所") or "",
                "welfare": welfare,
                "capacity": estimate_capacity(name, target),
                "lon": float(lon),
                "lat": float(lat),
            }
        )
    frame = pd.DataFrame(rows)
    points = gpd.GeoSeries(gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    frame["town_code"] = _town_of(points, towns)
    dist = points.to_crs(METRIC_CRS).distance(flood_m).values
    frame["riverside"] = dist < 700
    return frame


def _landmarks(towns: gpd.GeoDataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(LANDMARKS, columns=["name", "name_en", "lon", "lat"])
    points = gpd.GeoSeries(gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    frame["town_code"] = _town_of(points, towns)
    return frame[frame["town_code"].notna()].reset_index(drop=True)


def _town_of(points: gpd.GeoSeries, towns: gpd.GeoDataFrame) -> list:
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points.values, crs=points.crs),
        towns[["town_code", "geometry"]],
        how="left",
        predicate="within",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return [None if pd.isna(c) else c for c in joined["town_code"]]


def random_points(
    geoms, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points inside each polygon, ``counts[i]`` of them in ``geoms[i]``.

    Rejection sampling in each bounding box, vectorized per polygon. A polygon that is empty
    or too thin to hit gives its representative point.

    Returns
    -------
    (lon, lat) : arrays of length ``counts.sum()``, grouped by polygon in order.
    """
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    for geom, n in zip(geoms, counts, strict=True):
        n = int(n)
        if n == 0:
            continue
        if geom is None or geom.is_empty:
            lons.append(np.full(n, np.nan))
            lats.append(np.full(n, np.nan))
            continue
        shapely.prepare(geom)
        minx, miny, maxx, maxy = geom.bounds
        got_x: list[np.ndarray] = []
        got_y: list[np.ndarray] = []
        have = 0
        for _ in range(30):
            k = max(16, int((n - have) * 3))
            x = rng.uniform(minx, maxx, k)
            y = rng.uniform(miny, maxy, k)
            inside = shapely.contains_xy(geom, x, y)
            got_x.append(x[inside])
            got_y.append(y[inside])
            have += int(inside.sum())
            if have >= n:
                break
        x = np.concatenate(got_x)[:n]
        y = np.concatenate(got_y)[:n]
        if len(x) < n:
            rep = geom.representative_point()
            x = np.concatenate([x, np.full(n - len(x), rep.x)])
            y = np.concatenate([y, np.full(n - len(y), rep.y)])
        lons.append(x)
        lats.append(y)
    if not lons:
        return np.empty(0), np.empty(0)
    return np.concatenate(lons), np.concatenate(lats)


def points_in_towns(
    world: World, town: np.ndarray, in_flood: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random point per element: inside town ``town[i]`` (row position in ``world.towns``),
    and inside its flood-assumed part where ``in_flood[i]`` and the town has one.

    Returns
    -------
    (lon, lat) : arrays aligned with ``town``.
    """
    n = len(town)
    lon, lat = np.empty(n), np.empty(n)
    if not n:
        return lon, lat
    geoms = list(world.towns.geometry)
    key = np.asarray(town, dtype=np.int64) * 2 + np.asarray(in_flood, dtype=bool)
    order = np.argsort(key, kind="stable")
    uniq, counts = np.unique(key[order], return_counts=True)
    polys = []
    for k in uniq:
        town_geom = geoms[int(k // 2)]
        part = town_geom.intersection(world.flood) if k % 2 else town_geom
        polys.append(part if not part.is_empty else town_geom)
    lon[order], lat[order] = random_points(polys, counts, rng)
    return lon, lat
