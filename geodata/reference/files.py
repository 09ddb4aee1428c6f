"""The reference files of one municipality: where they live and loading all four layers.

Layout of the reference folder (``BOSAI_REFERENCE_DIR``)::

    <dir>/<any>/towns_r2ka<code5>.geojson     e-Stat 町丁・字 via CODH Geoshape (or .topojson)
    <dir>/<any>/boundary_N03_<code5>.geojson  国土数値情報 N03 行政区域
    <dir>/shelters_gsi/emergency_<code6>.json  国土地理院 指定緊急避難場所 (also .csv)
    <dir>/shelters_gsi/evacuation_<code6>.json 国土地理院 指定避難所 (also .csv)
    <dir>/shelters_opendata/<code5 or code6>/*.csv  自治体標準オープンデータセット
    <dir>/hazard/<kind>_<dataset>_<pref2>/*.shp     e.g. flood_A31-12_13 (.dbf optional)

:mod:`geodata.reference.download` saves downloads to :func:`reference_paths`, inside this layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geodata import schema, settings
from geodata.reference.codes import parse_code, prefecture, to_code6
from geodata.reference.layers import (
    HAZARD_SOURCES,
    TOWNS_SOURCE,
    load_boundary,
    load_hazard_areas,
    load_shelters,
    load_towns,
    rejection_frame,
)


@dataclass
class ReferenceFiles:
    """The reference files found for one municipality (None / empty when missing)."""

    municipality: str
    towns: Path | None = None
    boundary: Path | None = None
    shelters: list[Path] = field(default_factory=list)
    hazards: list[tuple[str, Path]] = field(default_factory=list)  # (kind, .shp)

    def missing(self) -> list[str]:
        """The layers with no file."""
        pairs = (("towns", self.towns), ("boundaries", self.boundary),
                 ("shelters", self.shelters), ("hazard_areas", self.hazards))  # fmt: skip
        return [name for name, found in pairs if not found]


def reference_paths(municipality) -> dict[str, str]:
    """Where :mod:`geodata.reference.download` saves each file, relative to the reference folder."""
    code5 = parse_code(municipality)
    code6, pref = to_code6(code5), prefecture(code5)
    return {
        "towns": f"{code5}/towns_r2ka{code5}.geojson",
        "boundary": f"{code5}/boundary_N03_{code5}.geojson",
        "emergency": f"shelters_gsi/emergency_{code6}.json",
        "evacuation": f"shelters_gsi/evacuation_{code6}.json",
        "flood": f"hazard/flood_A31-12_{pref}",
    }


def _first_match(root: Path, patterns: list[str]) -> Path | None:
    for pattern in patterns:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
    return None


def find_reference_files(municipality, reference_dir: Path | str | None = None) -> ReferenceFiles:
    """Look up the reference files of a municipality (layout in the module docstring)."""
    root = Path(reference_dir) if reference_dir else settings.reference_dir()
    code5 = parse_code(municipality)
    code6, pref = to_code6(code5), prefecture(code5)
    names = [f"towns_r2ka{code5}", f"r2ka{code5}"]
    town_patterns = [
        f"{d}{n}.{ext}"
        for d in ("", "*/")
        for n in names
        for ext in ("geojson", "topojson", "json")
    ]
    shelters = sorted(
        {
            p
            for kind in ("emergency", "evacuation")
            for p in root.glob(f"shelters_gsi/{kind}_{code6}.*")
        }
        | {p for c in (code5, code6) for p in root.glob(f"shelters_opendata/{c}/*.csv")}
    )
    hazards = []
    for shp in sorted(root.glob(f"hazard/*_{pref}/*.shp")):
        hazards.append((shp.parent.name.split("_")[0], shp))
    return ReferenceFiles(
        municipality=code5,
        towns=_first_match(root, town_patterns),
        boundary=_first_match(
            root, [f"boundary_N03_{code5}.geojson", f"*/boundary_N03_{code5}.geojson"]
        ),
        shelters=shelters,
        hazards=hazards,
    )


def boundary_from_towns(towns: gpd.GeoDataFrame, municipality: str) -> gpd.GeoDataFrame:
    """A boundaries row made of the union of the town polygons (when N03 data is missing)."""
    names = towns["city_name"].dropna()
    frame = gpd.GeoDataFrame(
        {
            "city_code": [parse_code(municipality)],
            "city_name": [names.iloc[0] if len(names) else None],
            "source": [f"{TOWNS_SOURCE} (union of towns)"],
        },
        geometry=[shapely.union_all(towns.geometry.values)],
        crs=schema.STORE_CRS,
    )
    return schema.validate(frame, "boundaries")[0]


@dataclass
class ReferenceLoad:
    """The four reference layers of one municipality, their rejections and the files used."""

    files: ReferenceFiles
    frames: dict[str, gpd.GeoDataFrame]
    rejected: dict[str, pd.DataFrame]


def load_reference(
    municipality, reference_dir: Path | str | None = None, crs=None
) -> ReferenceLoad:
    """Load towns, boundary, shelters and hazard areas of a municipality from the reference folder.

    Without a boundary file the boundary is the union of the towns. Missing files give empty
    layers (see ``files.missing()``); unreadable files raise :class:`ReferenceFileError`.
    """
    files = find_reference_files(municipality, reference_dir)
    code5 = files.municipality
    frames = {
        name: schema.empty_frame(name)
        for name in ("towns", "boundaries", "shelters", "hazard_areas")
    }
    rejected = {name: rejection_frame([]) for name in frames}
    if files.towns:
        frames["towns"], rejected["towns"] = load_towns(files.towns, code5)
    if files.boundary:
        frames["boundaries"], rejected["boundaries"] = load_boundary(files.boundary, code5)
    elif len(frames["towns"]):
        frames["boundaries"] = boundary_from_towns(frames["towns"], code5)
    boundary = frames["boundaries"] if len(frames["boundaries"]) else None
    if files.shelters:
        frames["shelters"], rejected["shelters"] = load_shelters(
            files.shelters, code5, crs=crs, boundary=boundary, towns=frames["towns"]
        )
    if files.hazards and boundary is not None:
        parts, bad = [], []
        for kind, shp in files.hazards:
            dataset = next((k for k in HAZARD_SOURCES if k in shp.parent.name), None)
            source = HAZARD_SOURCES.get(dataset, f"国土数値情報 {shp.parent.name}")
            frame, rej = load_hazard_areas(shp, boundary, kind=kind, source=source)
            parts.append(frame)
            bad.append(rej)
        frames["hazard_areas"] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        rejected["hazard_areas"] = pd.concat(bad, ignore_index=True)
    return ReferenceLoad(files=files, frames=frames, rejected=rejected)
