"""Reference layers of a municipality: towns, boundary, shelters and hazard areas.

Each loader returns ``(frame, rejected)`` like :func:`geodata.schema.validate`: a frame in the
layer's schema (EPSG:4326) and the bad records with a reason. A file that cannot be read at all
raises :class:`ReferenceFileError` (a ValueError naming the file).

The shelter rules (reading, merging, capacity estimates) live in
:mod:`geodata.reference.shelters` and :mod:`geodata.reference.values`; finding the files of a
municipality and loading all four layers at once in :mod:`geodata.reference.files`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj
import shapely

from geodata import schema
from geodata.reference.codes import in_municipality, parse_code
from geodata.reference.readers import (
    ReferenceFileError,
    features_to_frame,
    geojson_crs,
    read_json,
    read_prj_crs,
    read_shapefile_polygons,
    topojson_features,
)
from geodata.reference.shelters import read_shelters
from geodata.reference.values import (
    CAPACITY_ESTIMATES,
    HAZARDS,
    estimate_capacity,
    normalize_address,
    parse_capacity,
    parse_flag,
)

__all__ = [
    "CAPACITY_ESTIMATES", "HAZARDS", "ReferenceFileError", "assign_towns", "estimate_capacity",
    "load_boundary", "load_hazard_areas", "load_shelters", "load_towns", "normalize_address",
    "parse_capacity", "parse_flag",
]  # fmt: skip

log = logging.getLogger(__name__)

TOWNS_SOURCE = "e-Stat 国勢調査町丁・字等別境界データ (CODH Geoshape)"
BOUNDARY_SOURCE = "国土数値情報 行政区域 N03"
HAZARD_SOURCES = {"A31": "国土数値情報 A31 浸水想定区域"}
ATTRIBUTIONS = (
    "出典：政府統計の総合窓口(e-Stat) 国勢調査町丁・字等別境界データ、CODH Geoshape を加工",
    "国土交通省『国土数値情報（行政区域データ）』をもとにNIIが加工",
    "出典：国土地理院 指定緊急避難場所・指定避難所データ",
    "国土数値情報（浸水想定区域データ）国土交通省",
)
# A31 浸水深ランクコード (A31_001) -> depth label; other codes are kept as they are.
A31_RANKS = {
    "11": "0-0.5m", "12": "0.5-1.0m", "13": "1.0-2.0m", "14": "2.0-5.0m", "15": "5.0m-",
    "21": "0-0.5m", "22": "0.5-1.0m", "23": "1.0-2.0m", "24": "2.0-3.0m", "25": "3.0-4.0m",
    "26": "4.0-5.0m", "27": "5.0m-",
}  # fmt: skip
NO_PRJ_CRS = "EPSG:6668"  # JGD2011 lon/lat: what 国土数値情報 uses when a .prj is missing


def rejection_frame(pairs: list[tuple[str, str]], more: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rejections as a frame with columns raw and reason, like :func:`schema.validate` gives."""
    frame = pd.DataFrame(pairs, columns=["raw", "reason"])
    if more is not None and len(more):
        return pd.concat([frame, more], ignore_index=True) if len(frame) else more
    return frame


def _read_features(path: Path) -> tuple[gpd.GeoDataFrame, list[tuple[str, str]]]:
    doc = read_json(path)
    if doc.get("type") == "Topology":
        try:
            features = topojson_features(doc)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ReferenceFileError(path, f"broken TopoJSON ({exc})") from exc
        return features_to_frame(features, "EPSG:4326")
    if doc.get("type") != "FeatureCollection":
        raise ReferenceFileError(path, "neither a GeoJSON FeatureCollection nor a TopoJSON")
    return features_to_frame(doc.get("features") or [], geojson_crs(doc))


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _town_row(props: dict) -> dict:
    pref, city = _text(props.get("PREF")), _text(props.get("CITY"))
    city_code = pref.zfill(2) + city.zfill(3) if pref and city else None
    key = _text(props.get("KEY_CODE"))
    if (
        key
        and city_code
        and not key.startswith(city_code)
        and key.zfill(len(key) + 1).startswith(city_code)
    ):
        key = "0" + key  # a spreadsheet dropped the leading zero
    return {
        "town_code": key,
        "city_code": city_code or (key[:5] if key else None),
        "name": _text(props.get("S_NAME")),
        "city_name": _text(props.get("CITY_NAME")),
        "population": props.get("JINKO"),
        "households": props.get("SETAI"),
        "area_m2": props.get("AREA"),
        "_main": props.get("AREA_MAX_F") == "M",
    }


def load_towns(
    path: Path | str, municipality: str | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Town (町丁・字) polygons with population from e-Stat / Geoshape GeoJSON or TopoJSON.

    Features sharing a KEY_CODE (a town in several pieces, e.g. 野水一丁目's 飛地 E1/E2/E3) are
    dissolved into one town whose population, households and area are the sums.

    Parameters
    ----------
    path : GeoJSON or TopoJSON with properties KEY_CODE, S_NAME, JINKO, SETAI, AREA, CITY_NAME,
        PREF, CITY.
    municipality : keep only towns of this municipality (any form of its code).

    Returns
    -------
    (towns, rejected) : the towns layer and the rejected records.

    Examples
    --------
    >>> from geodata.settings import reference_dir
    >>> towns, bad = load_towns(reference_dir() / "chofu/towns_r2ka13208.geojson")
    >>> len(towns), int(towns.population.sum())
    (103, 242614)
    """
    path = Path(path)
    frame, rejected = _read_features(path)
    rows = [_town_row(p) for p in frame.drop(columns="geometry").to_dict("records")]
    towns = gpd.GeoDataFrame(rows, geometry=frame.geometry.values, crs=frame.crs)
    if len(towns) == 0:
        return schema.empty_frame("towns"), rejection_frame(rejected)
    if municipality:
        code5 = parse_code(municipality)
        towns = towns[[in_municipality(c, code5) for c in towns["city_code"]]]
    towns = _dissolve_towns(towns)
    valid, bad = schema.validate(towns, "towns")
    return valid, rejection_frame(rejected, bad)


def _dissolve_towns(towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    dup = towns["town_code"].notna() & towns["town_code"].duplicated(keep=False)
    if not dup.any():
        return towns.drop(columns="_main")
    parts = towns[dup].sort_values(["town_code", "_main"], ascending=[True, False])
    merged = []
    for _, group in parts.groupby("town_code", sort=True):
        row = group.iloc[0].to_dict()
        for col in ("population", "households", "area_m2"):
            row[col] = pd.to_numeric(group[col], errors="coerce").sum(min_count=1)
        row["geometry"] = shapely.union_all(group.geometry.values)
        merged.append(row)
    out = pd.concat([towns[~dup], gpd.GeoDataFrame(merged, crs=towns.crs)], ignore_index=True)
    return gpd.GeoDataFrame(out.drop(columns="_main"), geometry="geometry", crs=towns.crs)


def load_boundary(
    path: Path | str, municipality: str | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The municipal boundary from 国土数値情報 N03 GeoJSON, one row per code (pieces dissolved).

    Parameters
    ----------
    path : GeoJSON with N03_001 (prefecture), N03_003 (郡/政令市), N03_004 (city), N03_007 (code).
    municipality : keep only this municipality (a prefecture-wide file holds them all).

    Returns
    -------
    (boundaries, rejected)
    """
    path = Path(path)
    frame, rejected = _read_features(path)
    if len(frame) == 0:
        return schema.empty_frame("boundaries"), rejection_frame(rejected)
    rows = []
    for props in frame.drop(columns="geometry").to_dict("records"):
        code, city, county = (_text(props.get(k)) for k in ("N03_007", "N03_004", "N03_003"))
        try:
            code = parse_code(code) if code else None
        except ValueError:
            code = None
        if county and county.endswith("市") and city and city.endswith("区"):
            city = county + city  # a ward of a 政令指定都市: 札幌市中央区
        rows.append({"city_code": code, "pref_name": _text(props.get("N03_001")),
                     "city_name": city, "source": BOUNDARY_SOURCE})  # fmt: skip
    gdf = gpd.GeoDataFrame(rows, geometry=shapely.make_valid(frame.geometry.values), crs=frame.crs)
    if municipality:  # the wards of a 政令指定都市 dissolve into the city
        code5 = parse_code(municipality)
        gdf = gdf[[in_municipality(c, code5) for c in gdf["city_code"]]]
        if len(gdf) and (gdf["city_code"] != code5).all():
            city = gdf["city_name"].dropna().str.extract(r"^(.+?市)", expand=False).dropna()
            gdf = gdf.assign(city_code=code5, city_name=city.iloc[0] if len(city) else None)
    keyed = gdf[gdf["city_code"].notna()]
    if keyed["city_code"].duplicated().any():
        dissolved = keyed.dissolve(by="city_code", aggfunc="first", as_index=False)
        keyed = dissolved[list(gdf.columns)]
    gdf = pd.concat([keyed, gdf[gdf["city_code"].isna()]], ignore_index=True)
    valid, bad = schema.validate(gpd.GeoDataFrame(gdf, crs=frame.crs), "boundaries")
    return valid, rejection_frame(rejected, bad)


def _boundary_geometry(boundary) -> shapely.Geometry:
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        series = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        if series.crs is not None and not series.crs.equals(schema.STORE_CRS):
            series = series.to_crs(schema.STORE_CRS)
        return shapely.union_all(series.values)
    return boundary


def load_hazard_areas(
    path: Path | str,
    boundary,
    kind: str = "flood",
    source: str = HAZARD_SOURCES["A31"],
    rank_column: str = "A31_001",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Hazard polygons of a prefecture-wide shapefile that intersect the municipality.

    Reads only the boundary's box (the Tokyo A31 file holds 7,303 polygons). Works without the
    ``.dbf`` (rank stays null); with it, ``rank_column`` gives the depth rank. Polygons are kept
    whole, not clipped; ring self-intersections are repaired.

    Parameters
    ----------
    path : the ``.shp``; its CRS from the ``.prj`` (JGD2000 EPSG:4612 for A31-12), else JGD2011.
    boundary : the municipality (GeoDataFrame/GeoSeries with a CRS, or a geometry in EPSG:4326).
    kind, source : written to every row (``flood``, ``国土数値情報 A31 浸水想定区域``).
    rank_column : the attribute holding the rank when the .dbf exists.

    Returns
    -------
    (hazard_areas, rejected) : ids are ``<file stem>:<record number>``, stable across runs.
    """
    path = Path(path)
    if not path.exists():
        raise ReferenceFileError(path, "file not found")
    area = _boundary_geometry(boundary)
    if area is None or area.is_empty:
        raise ValueError("load_hazard_areas needs the municipality's boundary")
    try:
        file_crs = read_prj_crs(path) or pyproj.CRS.from_user_input(NO_PRJ_CRS)
    except pyproj.exceptions.CRSError as exc:
        raise ReferenceFileError(path.with_suffix(".prj"), f"unreadable CRS ({exc})") from exc
    to_file = pyproj.Transformer.from_crs(schema.STORE_CRS, file_crs, always_xy=True)
    bbox = to_file.transform_bounds(*area.bounds)
    try:
        frame = pyogrio.read_dataframe(path, bbox=bbox, fid_as_index=True)
    except Exception as exc:  # GDAL refuses some broken files: fall back to the plain reader
        log.warning("%s: GDAL could not read it (%s); using the built-in reader", path.name, exc)
        frame = read_shapefile_polygons(path, bbox=bbox)
    if frame.crs is None:
        frame = frame.set_crs(file_crs)
    frame = frame.to_crs(schema.STORE_CRS)
    geoms = frame.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(
            geoms[invalid], method="structure", keep_collapsed=False
        )
    inside = shapely.intersects(geoms, area)
    frame = frame[inside]
    ranks = (
        frame[rank_column] if rank_column in frame.columns else pd.Series(None, index=frame.index)
    )
    out = gpd.GeoDataFrame(
        {
            "id": [f"{path.stem}:{fid}" for fid in frame.index],
            "kind": kind,
            "rank": [A31_RANKS.get(str(r), _text(r)) if _text(r) else None for r in ranks],
            "river": None,
            "source": source,
        },
        geometry=geoms[inside],
        crs=schema.STORE_CRS,
    )
    return schema.validate(out, "hazard_areas")


def assign_towns(
    points: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, gap_m: float = 30.0
) -> gpd.GeoDataFrame:
    """A copy of ``points`` with ``town_code`` set to the town polygon each point falls in.

    A point on the line between two towns gets the lower code. Town polygons leave slivers
    (roads, rivers) between them: a point in one goes to the nearest town within ``gap_m``
    metres. A point farther from every town keeps a null town_code.

    Examples
    --------
    >>> towns = gpd.GeoDataFrame({"town_code": ["1", "2"]}, crs=4326,
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(1.5, .5), shapely.Point(5, 5)], crs=4326)
    >>> assign_towns(pts, towns)["town_code"].tolist()
    ['2', None]
    """
    out = points.copy()
    if len(out) == 0 or len(towns) == 0:
        out["town_code"] = pd.Series([None] * len(out), index=out.index, dtype=object)
        return out
    polys = towns[["town_code", "geometry"]].to_crs(out.crs)
    joined = gpd.sjoin(out[[out.geometry.name]], polys, how="left", predicate="intersects")
    codes = joined.groupby(level=0)["town_code"].min().dropna().to_dict()
    unmatched = [i for i in out.index if i not in codes]
    if unmatched and gap_m > 0:  # slivers between town polygons (roads, rivers)
        metric = polys.estimate_utm_crs()
        near = gpd.sjoin_nearest(
            out.loc[unmatched, [out.geometry.name]].to_crs(metric),
            polys.to_crs(metric),
            how="inner",
            max_distance=gap_m,
        )
        codes.update(near.groupby(level=0)["town_code"].min().to_dict())
    out["town_code"] = pd.Series([codes.get(i) for i in out.index], index=out.index, dtype=object)
    return out


def load_shelters(
    paths: list[Path | str],
    municipality: str | None = None,
    crs=None,
    boundary=None,
    towns: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Shelters from GSI GeoJSON/CSV and 自治体標準オープンデータセット CSV files, merged.

    Parameters
    ----------
    paths : the shelter files of one municipality.
    municipality : its code (any form); rows coded for another municipality are skipped.
    crs : CRS of plane-rectangular coordinates, e.g. ``"EPSG:6677"``; detected when omitted.
    boundary : the municipality (GeoDataFrame or geometry), to detect plane-rectangular zones.
    towns : the towns layer; when given, each shelter gets its town_code.

    Returns
    -------
    (shelters, rejected) : see :mod:`geodata.reference.shelters` for the merge rules.
    """
    area = _boundary_geometry(boundary) if boundary is not None else None
    shelters, rejected = read_shelters(paths, municipality, crs=crs, boundary=area)
    if towns is not None and len(towns) and len(shelters):
        shelters = assign_towns(shelters, towns)
    return shelters, rejected
