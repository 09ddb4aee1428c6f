"""Designated shelters (指定避難所) and emergency evacuation sites (指定緊急避難場所).

Reads the 国土地理院 (GSI) data — per-municipality GeoJSON or its CSV form — and the
自治体標準オープンデータセット CSVs, and merges an emergency-site record and a shelter record of
one facility into one shelter of kind ``both``.

Merging
    GSI 共通ID look like ``E`` + 5-digit city code + 5-digit facility serial + 3 digits
    (``E1321400001201`` is the emergency site and ``E1321400001111`` the shelter of facility
    ``E1321400001``). Records pair up when they share that stem, or else when their normalized
    addresses are equal and unique among the unpaired records of each kind. ``shelter_id`` is the
    stem; when several facilities share a stem (調布市 lists three shelters as
    ``E1320800040121/122/123``) each keeps its full ID. IDs of other datasets are local
    numbers, never paired by equality (the two lists number independently).

    調布市 (2025-10 GSI data): 10 emergency sites and 68 shelters give 78 shelters and no pair:
    its emergency sites are areas (「…周辺」, 河川敷) with their own IDs and block-level
    addresses. 国分寺市: 27 + 38 records give 41 shelters, 24 of kind ``both``.

Capacity
    GSI data has no capacity. A missing capacity is estimated from the facility type in the
    name (:data:`geodata.reference.values.CAPACITY_ESTIMATES`) and flagged
    ``capacity_estimated``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geodata import schema
from geodata.reference.codes import in_municipality, parse_code
from geodata.reference.readers import (
    ReferenceFileError,
    geojson_crs,
    normalize_header,
    read_csv_records,
    read_json,
)
from geodata.reference.values import (
    HAZARD_COLUMNS,
    HAZARDS,
    estimate_capacity,
    normalize_address,
    parse_capacity,
    parse_flag,
    parse_number,
    to_lonlat_points,
)

GSI_SOURCE = "国土地理院 指定緊急避難場所・指定避難所データ"
OPENDATA_SOURCE = "自治体標準オープンデータセット"

_GSI_ID = re.compile(r"E\d{13}")


@dataclass
class ShelterRecord:
    """One row of one shelter file, before merging (coordinates already in EPSG:4326)."""

    source_id: str
    stem: str
    kind: str  # emergency_site | shelter
    name: str | None
    address: str | None
    address_key: str | None
    city_code: str | None
    point: shapely.Point
    kana: str | None = None
    hazards: set[str] = field(default_factory=set)
    capacity: int | None = None
    capacity_text: str | None = None
    target: str | None = None
    note: str | None = None
    source: str = GSI_SOURCE


def id_stem(source_id: str) -> str | None:
    """The facility stem of a GSI 共通ID (``E1321400001201`` -> ``E1321400001``), else None."""
    return source_id[:11] if _GSI_ID.fullmatch(source_id) else None


# --- reading one file -------------------------------------------------------------------------


def _first(props: dict, *names: str) -> str | None:
    for name in names:
        value = props.get(name)
        if value is not None and str(value).strip() not in ("", "nan", "None"):
            return str(value).strip()
    return None


def _file_kind(path: Path, props_list: list[dict]) -> str:
    """emergency_site or shelter, from the file name (GSI, jp-shelter-api, 自治体標準) or columns."""
    lowered = path.name.lower()
    # 自治体標準オープンデータセット names 指定緊急避難場所 "evacuation_space" in English.
    if any(w in lowered for w in ("emergency", "evacuation_space", "緊急", "避難場所")):
        return "emergency_site"
    if "evacuation" in lowered or "shelter" in lowered or "避難所" in path.name:
        return "shelter"
    keys = set().union(*props_list) if props_list else set()
    if any(k.removeprefix("災害種別_") in HAZARD_COLUMNS for k in keys):
        return "emergency_site"
    return "shelter"


_LAT_COLUMNS = ("緯度", "lat", "latitude", "Latitude")
_LON_COLUMNS = ("経度", "lon", "lng", "longitude", "Longitude")


def read_shelter_file(
    path: Path | str,
    municipality: str | None = None,
    kind: str | None = None,
    crs=None,
    boundary: shapely.Geometry | None = None,
) -> tuple[list[ShelterRecord], list[tuple[str, str]]]:
    """Read one shelter file (GSI GeoJSON or CSV, 自治体標準オープンデータセット CSV).

    Parameters
    ----------
    path : ``.json``/``.geojson`` (GeoJSON points) or ``.csv``/``.txt`` in any encoding.
    municipality : 5-digit code; rows whose code column names another municipality are skipped.
    kind : ``emergency_site`` or ``shelter``; default from the file name, else the columns.
    crs : CRS of plane-rectangular coordinates (e.g. ``"EPSG:6677"``) when the file uses them.
    boundary : the municipality's polygon (EPSG:4326), used to detect the zone and axis order of
        plane-rectangular coordinates when ``crs`` is not given.

    Returns
    -------
    (records, rejected) : ``rejected`` is a list of (raw text, reason).

    Raises
    ------
    ReferenceFileError : the file cannot be read at all.
    """
    path = Path(path)
    point_crs = None
    if path.suffix.lower() in (".json", ".geojson"):
        doc = read_json(path)
        if doc.get("type") == "unavailable":  # jp-shelter-api: nothing published
            return [], []
        if doc.get("type") != "FeatureCollection":
            raise ReferenceFileError(path, "not a GeoJSON FeatureCollection")
        point_crs = geojson_crs(doc)
        rows = []
        for f in doc.get("features") or []:
            props = {normalize_header(k): v for k, v in (f.get("properties") or {}).items()}
            coords = ((f.get("geometry") or {}).get("coordinates") or [None, None])[:2]
            rows.append((props, coords[1] if len(coords) > 1 else None, coords[0], False))
    else:
        rows = []
        for props in read_csv_records(path):
            lat = _first(props, *_LAT_COLUMNS)
            lon = _first(props, *_LON_COLUMNS)
            survey = lat is None and lon is None  # X/Y columns: X is the northing (測量の座標)
            if survey:
                lat, lon = _first(props, "Y", "Y座標", "y"), _first(props, "X", "X座標", "x")
            rows.append((props, lat, lon, survey))
    kind = kind or _file_kind(path, [r[0] for r in rows])
    records, rejected, parsed = [], [], []
    for props, lat, lon, survey in rows:
        raw = json.dumps(props, ensure_ascii=False, default=str)[:2000]
        try:
            a, b = parse_number(lat), parse_number(lon)
        except (TypeError, ValueError):
            rejected.append((raw, f"{path.name}: coordinates are not numbers ({lat!r}, {lon!r})"))
            continue
        if a is None or b is None or (a == 0 and b == 0):
            rejected.append((raw, f"{path.name}: no coordinates"))
            continue
        parsed.append((props, raw, a, b, survey))
    points = to_lonlat_points(
        [(a, b, s) for _, _, a, b, s in parsed], point_crs, crs, municipality, boundary
    )
    for (props, raw, *_), point in zip(parsed, points, strict=True):
        if point is None:
            reason = (
                "plane-rectangular coordinates in an unknown zone (give the CRS, e.g. EPSG:6677)"
            )
            rejected.append((raw, f"{path.name}: {reason}"))
            continue
        try:
            record = _record(props, kind, point, municipality, path)
        except ValueError as exc:
            rejected.append((raw, f"{path.name}: {exc}"))
            continue
        if record is not None:
            records.append(record)
    return records, rejected


def _record(props: dict, kind: str, point, municipality: str | None, path: Path):
    code_text = _first(props, "全国地方公共団体コード", "所在地_全国地方公共団体コード",
                       "市区町村コード", "団体コード")  # fmt: skip
    city_code = parse_code(code_text, expect=municipality) if code_text else None
    if municipality and city_code and not in_municipality(city_code, municipality):
        return None  # a prefecture-wide file: another municipality's row
    source_id = _first(props, "共通ID", "ID", "施設ID", "避難所ID", "避難場所ID")
    name = _first(props, "施設・場所名", "名称", "施設名", "避難所名", "避難場所名")
    address = _first(props, "住所", "所在地_連結表記", "所在地", "所在地住所")
    if address is None:
        parts = [props.get(k) for k in ("所在地_都道府県", "所在地_市区町村", "所在地_町字",
                                        "所在地_番地以下")]  # fmt: skip
        address = "".join(p for p in parts if p) or None
    city_name = _first(props, "都道府県名及び市町村名") or "".join(
        props.get(k) or "" for k in ("所在地_都道府県", "所在地_市区町村")
    )
    prefixes = tuple(p for p in (city_name, _first(props, "地方公共団体名")) if p)
    stem = id_stem(source_id) if source_id else None
    if source_id and stem and city_code is None:
        city_code = source_id[1:6]
    city_code = city_code or municipality
    if not source_id:
        digest = hashlib.sha1(f"{name}|{address}".encode()).hexdigest()[:10]
        source_id = f"h{digest}"
    if stem is None:
        stem = f"{'E' if kind == 'emergency_site' else 'S'}{city_code or ''}-{source_id}"
    hazards = {
        HAZARD_COLUMNS[key.removeprefix("災害種別_")]
        for key, value in props.items()
        if key.removeprefix("災害種別_") in HAZARD_COLUMNS and parse_flag(value)
    }
    capacity_text = _first(props, "想定収容人数", "収容人数", "収容可能人数", "受入可能人数")
    return ShelterRecord(
        source_id=source_id,
        stem=stem,
        kind=kind,
        name=name,
        address=address,
        address_key=normalize_address(address, prefixes),
        city_code=city_code,
        point=point,
        kana=_first(props, "名称_カナ", "施設名カナ", "名称カナ", "ふりがな"),
        hazards=hazards,
        capacity=parse_capacity(capacity_text),
        capacity_text=capacity_text,
        target=_first(props, "受入対象者", "対象者"),
        note=_first(props, "備考"),
        source=GSI_SOURCE if _GSI_ID.fullmatch(source_id) else OPENDATA_SOURCE,
    )


# --- merging ----------------------------------------------------------------------------------


def _pairs(records: list[ShelterRecord]) -> dict[int, int]:
    """Emergency-site index -> shelter index for records of one facility."""
    pair: dict[int, int] = {}
    paired: set[int] = set()

    def match(es: list[int], ss: list[int], same_address: bool) -> None:
        if not same_address and len(es) == 1 and len(ss) == 1:
            candidates = [(es[0], ss[0])]
        else:
            keys_e = defaultdict(list)
            for i in es:
                keys_e[records[i].address_key].append(i)
            keys_s = defaultdict(list)
            for i in ss:
                keys_s[records[i].address_key].append(i)
            candidates = [
                (keys_e[k][0], keys_s[k][0])
                for k in keys_e
                if k and len(keys_e[k]) == 1 and len(keys_s.get(k, ())) == 1
            ]
        for e, s in candidates:
            if e not in paired and s not in paired:
                pair[e] = s
                paired.update((e, s))

    by_stem: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, r in enumerate(records):
        if id_stem(r.source_id):
            by_stem[r.stem][r.kind].append(i)
    for groups in by_stem.values():
        match(groups["emergency_site"], groups["shelter"], same_address=False)
    rest = [i for i, r in enumerate(records) if i not in paired]
    match([i for i in rest if records[i].kind == "emergency_site"],
          [i for i in rest if records[i].kind == "shelter"], same_address=True)  # fmt: skip
    return pair


def merge_shelters(records: list[ShelterRecord]) -> gpd.GeoDataFrame:
    """One row per facility: paired emergency-site and shelter records become kind ``both``.

    Returns
    -------
    GeoDataFrame (EPSG:4326) with the shelters layer's columns (``town_code`` null).
    """
    pair = _pairs(records)
    partner_of_shelter = {s: e for e, s in pair.items()}
    groups: list[list[ShelterRecord]] = []
    for i, r in enumerate(records):
        if i in pair:
            groups.append([records[pair[i]], r])  # shelter first: its name, address and point
        elif i not in partner_of_shelter:
            groups.append([r])
    stems = [g[0].stem for g in groups]
    taken = defaultdict(int)
    for s in stems:
        taken[s] += 1
    rows, geoms = [], []
    for group, stem in zip(groups, stems, strict=True):
        main = group[0]
        kind = "both" if len(group) == 2 else main.kind
        capacity = next((r.capacity for r in group if r.capacity is not None), None)
        notes = [r.note for r in group if r.note]
        other = group[1] if len(group) == 2 else None
        if other is not None and other.name and other.name not in (main.name or ""):
            notes.append(f"指定緊急避難場所名: {other.name}")
        rows.append({
            "shelter_id": stem if taken[stem] == 1 else main.source_id,
            "city_code": main.city_code,
            "name": main.name,
            "kana": next((r.kana for r in group if r.kana), None),
            "address": main.address,
            "kind": kind,
            "hazards": [h for h in HAZARDS if any(h in r.hazards for r in group)],
            "capacity": capacity if capacity is not None else estimate_capacity(main.name, main.target),
            "capacity_estimated": capacity is None,
            "capacity_text": next((r.capacity_text for r in group if r.capacity_text), None),
            "target": main.target,
            "source_ids": sorted(r.source_id for r in group),
            "town_code": None,
            "source": " + ".join(dict.fromkeys(r.source for r in group)),
            "note": " / ".join(notes) or None,
        })  # fmt: skip
        geoms.append(main.point)
    frame = pd.DataFrame(rows, columns=list(schema.SHELTERS.columns))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)


def read_shelters(
    paths: list[Path | str],
    municipality: str | None = None,
    crs=None,
    boundary: shapely.Geometry | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read and merge shelter files into the shelters layer (validated, town_code null).

    Parameters
    ----------
    paths : shelter files (see :func:`read_shelter_file`); duplicate IDs after the first are
        rejected.
    municipality, crs, boundary : as for :func:`read_shelter_file`.

    Returns
    -------
    (shelters, rejected) : as :func:`geodata.schema.validate` returns them.
    """
    municipality = parse_code(municipality) if municipality else None
    records, rejected, seen = [], [], set()
    for path in paths:
        file_records, file_rejected = read_shelter_file(path, municipality, None, crs, boundary)
        rejected += file_rejected
        for r in file_records:
            if (r.kind, r.source_id) in seen:
                rejected.append((json.dumps({"ID": r.source_id, "name": r.name}, ensure_ascii=False),
                                 f"{Path(path).name}: duplicate ID {r.source_id}"))  # fmt: skip
                continue
            seen.add((r.kind, r.source_id))
            records.append(r)
    valid, bad = schema.validate(merge_shelters(records), "shelters")
    early = pd.DataFrame(rejected, columns=["raw", "reason"])
    return valid, pd.concat([early, bad], ignore_index=True) if len(bad) else early
