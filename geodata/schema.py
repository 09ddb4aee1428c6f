"""The layers of the domain model: their columns, keys and types, and ``validate``.

Every hand-over between ingest, store and dashboard goes through :func:`validate`, which splits a
frame into rows that fit the layer and rows that do not (each with a reason). Geometries leave
``validate`` in EPSG:4326 whatever CRS they came in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

STORE_CRS = "EPSG:4326"

# Column kinds. "json" holds a list or dict (stored as JSON text).
STR, INT, FLOAT, BOOL, TIME, JSON = "str", "int", "float", "bool", "datetime", "json"

SHELTER_STATUSES = ("未開設", "開設", "満員", "閉鎖")  # not open / open / full / closed
SAFETY_STATUSES = ("無事", "負傷", "要救助", "不明")  # safe / injured / needs rescue / unknown
TRIAGE_STATES = ("new", "verified", "dismissed", "handled")
SHELTER_KINDS = ("emergency_site", "shelter", "both")
CATEGORIES = (
    "浸水・冠水",
    "土砂災害",
    "火災",
    "建物被害",
    "道路・交通",
    "停電",
    "断水",
    "救助要請",
    "避難所",
    "その他",
)
NEEDS = ("water", "food", "blankets", "medical", "power", "toilets", "milk", "medicine", "staff")


@dataclass(frozen=True)
class Layer:
    """A layer of the domain model.

    Parameters
    ----------
    name : table name.
    key : the columns that identify a record (upsert key).
    columns : column name -> kind (STR, INT, FLOAT, BOOL, TIME, JSON); geometry excluded.
    geometry : None for a table without geometry, else "point", "polygon" or "any".
    required : columns that may not be null (key columns are always required).
    time_column : the column a time-window read filters on.
    choices : allowed values of some columns.
    personal : columns holding personal data (masked for viewers, purged after the disaster).
    geometry_required : whether a row without geometry is rejected.
    """

    name: str
    key: tuple[str, ...]
    columns: dict[str, str]
    geometry: str | None = "point"
    required: tuple[str, ...] = ()
    time_column: str | None = None
    choices: dict[str, tuple] = field(default_factory=dict)
    personal: tuple[str, ...] = ()
    geometry_required: bool = True

    @property
    def all_columns(self) -> list[str]:
        cols = list(self.columns)
        return cols + ["geometry"] if self.geometry else cols


LAYERS: dict[str, Layer] = {}


def _layer(layer: Layer) -> Layer:
    missing = [k for k in layer.key if k not in layer.columns]
    assert not missing, f"{layer.name}: key columns {missing} not in columns"
    LAYERS[layer.name] = layer
    return layer


TOWNS = _layer(
    Layer(
        "towns",
        key=("town_code",),
        columns={
            "town_code": STR,  # e-Stat KEY_CODE, 11 digits (13208001001)
            "city_code": STR,
            "name": STR,  # S_NAME 飛田給一丁目
            "city_name": STR,
            "population": INT,
            "households": INT,
            "area_m2": FLOAT,
        },
        geometry="polygon",
        required=("name",),
    )
)

BOUNDARIES = _layer(
    Layer(
        "boundaries",
        key=("city_code",),
        columns={"city_code": STR, "pref_name": STR, "city_name": STR, "source": STR},
        geometry="polygon",
    )
)

HAZARD_AREAS = _layer(
    Layer(
        "hazard_areas",
        key=("id",),
        columns={
            "id": STR,
            "kind": STR,  # flood, landslide, ...
            "rank": STR,  # depth rank when the data has it, else null
            "river": STR,
            "source": STR,
        },
        geometry="polygon",
        required=("kind", "source"),
    )
)

SHELTERS = _layer(
    Layer(
        "shelters",
        key=("shelter_id",),
        columns={
            "shelter_id": STR,  # 共通ID stem or the dataset's ID
            "city_code": STR,
            "name": STR,
            "kana": STR,
            "address": STR,
            "kind": STR,
            "hazards": JSON,  # ["flood", "earthquake", ...]
            "capacity": INT,
            "capacity_estimated": BOOL,
            "capacity_text": STR,  # the published text, e.g. 屋内480人／屋外3,350人
            "target": STR,  # 受入対象者, e.g. 要配慮者
            "source_ids": JSON,  # original record IDs merged into this shelter
            "town_code": STR,
            "source": STR,
            "note": STR,
        },
        required=("name",),
        choices={"kind": SHELTER_KINDS},
    )
)

SHELTER_STATUS = _layer(
    Layer(
        "shelter_status",
        key=("shelter_id", "version"),
        columns={
            "shelter_id": STR,
            "version": INT,
            "reported_at": TIME,
            "status": STR,
            "evacuees": INT,
            "households": INT,
            "needs": JSON,
            "note": STR,
            "reported_by": STR,
            "source": STR,
            "source_id": STR,
        },
        geometry=None,
        required=("reported_at", "status"),
        time_column="reported_at",
        choices={"status": SHELTER_STATUSES},
    )
)

ROSTER = _layer(
    Layer(
        "roster",
        key=("resident_id",),
        columns={
            "resident_id": STR,
            "name": STR,
            "kana": STR,
            "address": STR,
            "phone": STR,
            "chat_user_id": STR,
            "town_code": STR,
            "care_needs": STR,  # 要介護3, 車いす, 視覚障害 ...
            "care_priority": INT,  # 1 = highest
            "supporter": STR,  # 避難支援等関係者
            "located_by": STR,
        },
        required=("name",),
        personal=("name", "kana", "address", "phone", "chat_user_id", "care_needs", "supporter"),
        geometry_required=False,
    )
)

SAFETY_REPLIES = _layer(
    Layer(
        "safety_replies",
        key=("source", "source_id"),
        columns={
            "source": STR,
            "source_id": STR,
            "resident_id": STR,
            "channel": STR,  # line, web_form, phone, visit
            "status": STR,
            "needs_text": STR,
            "sender_id": STR,  # chat user id / phone as received
            "located_by": STR,  # message_location, roster_home, none
            "replied_at": TIME,
        },
        required=("channel", "status", "replied_at"),
        time_column="replied_at",
        choices={"status": SAFETY_STATUSES},
        personal=("needs_text", "sender_id"),
        geometry_required=False,
    )
)

FOLLOW_UPS = _layer(
    Layer(
        "follow_ups",
        key=("id",),
        columns={
            "id": STR,
            "resident_id": STR,
            "action": STR,  # phone, visit, reminder
            "outcome": STR,  # reached_safe, reached_needs_help, no_answer, not_home, ...
            "note": STR,
            "by": STR,
            "at": TIME,
        },
        geometry=None,
        required=("resident_id", "action", "at"),
        time_column="at",
        choices={"action": ("phone", "visit", "reminder")},
        personal=("note",),
    )
)

POSTS = _layer(
    Layer(
        "posts",
        key=("platform", "post_id"),
        columns={
            "platform": STR,
            "post_id": STR,
            "author": STR,
            "text": STR,
            "url": STR,
            "posted_at": TIME,
            "lang": STR,
            "geo_source": STR,  # geotag, gazetteer, manual, none
            "geo_confidence": FLOAT,
            "matched_place": STR,
            "town_code": STR,
            "categories": JSON,
            "matched_terms": JSON,
            "urgency": INT,  # 0 (info) .. 3 (life-threatening)
            "triage": STR,
            "repost_of": STR,
            "incident_id": STR,
            "assigned_to": STR,
        },
        required=("posted_at",),
        time_column="posted_at",
        choices={"triage": TRIAGE_STATES},
        personal=("author",),
        geometry_required=False,
    )
)

FIELD_REPORTS = _layer(
    Layer(
        "field_reports",
        key=("source", "source_id"),
        columns={
            "source": STR,
            "source_id": STR,
            "category": STR,
            "severity": INT,  # 1..3
            "description": STR,
            "photo_url": STR,
            "reported_by": STR,
            "reported_at": TIME,
            "town_code": STR,
            "incident_id": STR,
        },
        required=("category", "reported_at"),
        time_column="reported_at",
    )
)

INCIDENTS = _layer(
    Layer(
        "incidents",
        key=("incident_id",),
        columns={
            "incident_id": STR,
            "category": STR,
            "first_seen": TIME,
            "last_seen": TIME,
            "counts": JSON,  # {"posts": 5, "safety_replies": 1, "field_reports": 2}
            "members": JSON,  # [["posts", "mastodon:123"], ...]
            "town_code": STR,
            "urgency": INT,
            "status": STR,
        },
        required=("category", "first_seen"),
        time_column="last_seen",
        geometry="any",
    )
)

SOURCE_HEALTH = _layer(
    Layer(
        "source_health",
        key=("source",),
        columns={
            "source": STR,
            "kind": STR,
            "last_success_at": TIME,
            "last_error": STR,
            "last_error_at": TIME,
            "cursor": STR,
            "rows_last_run": INT,
            "rejected_last_run": INT,
            "newest_record_at": TIME,
        },
        geometry=None,
    )
)


class SchemaError(ValueError):
    """A frame that cannot be validated at all (missing CRS, unknown layer...)."""


def empty_frame(layer: Layer | str) -> gpd.GeoDataFrame | pd.DataFrame:
    """An empty frame with the layer's columns (a GeoDataFrame in EPSG:4326 for geo layers)."""
    layer = LAYERS[layer] if isinstance(layer, str) else layer
    df = pd.DataFrame({c: pd.Series(dtype=_DTYPES[k]) for c, k in layer.columns.items()})
    if layer.geometry:
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs=STORE_CRS), crs=STORE_CRS)
    return df


_DTYPES = {
    STR: "object",
    INT: "Int64",
    FLOAT: "float64",
    BOOL: "boolean",
    TIME: "datetime64[ns, UTC]",
    JSON: "object",
}


def to_utc(value) -> pd.Timestamp | None:
    """Parse a time value (ISO text, epoch seconds, datetime) to a UTC timestamp; naive = JST.

    Japanese sources give local time without an offset; a naive time is read as Asia/Tokyo.
    Returns None for null; raises ValueError on text that is not a time.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        ts = pd.Timestamp(float(value), unit="s", tz="UTC")
    else:
        ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("Asia/Tokyo")
    return ts.tz_convert("UTC")


def _coerce(value, kind: str):
    """Coerce one value to a column kind; raises ValueError with a short reason."""
    if value is None:
        return None
    if not isinstance(value, (list, dict, tuple, np.ndarray)):
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
    if kind == STR:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text or None
    if kind == INT:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            value = value.replace(",", "").replace("，", "").strip()
            if not value:
                return None
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"not a whole number: {value!r}")
        return int(number)
    if kind == FLOAT:
        number = float(value)
        if math.isinf(number):
            raise ValueError(f"not a finite number: {value!r}")
        return number
    if kind == BOOL:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "1.0", "true", "yes", "○", "〇", "◯", "y", "t"):
                return True
            if lowered in ("0", "0.0", "false", "no", "×", "n", "f", "-", ""):
                return False
            raise ValueError(f"not a yes/no flag: {value!r}")
        return bool(value)
    if kind == TIME:
        ts = to_utc(value)
        return None if ts is None else ts
    if kind == JSON:
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, (tuple, np.ndarray)):
            value = list(value)
        if not isinstance(value, (list, dict)):
            raise ValueError(f"not a list or mapping: {value!r}")
        return value
    raise SchemaError(f"unknown column kind {kind}")


def _check_geometry(geom, layer: Layer) -> str | None:
    """Return a reason why ``geom`` does not fit the layer, or None."""
    if geom is None or geom.is_empty:
        return "missing geometry" if layer.geometry_required else None
    gtype = geom.geom_type
    if layer.geometry == "point" and gtype != "Point":
        return f"expected a point, got {gtype}"
    if layer.geometry == "polygon" and gtype not in ("Polygon", "MultiPolygon"):
        return f"expected a polygon, got {gtype}"
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return "coordinates are not finite"
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return f"coordinates outside lon/lat range ({minx:.1f}, {miny:.1f})"
    return None


def validate(
    frame: pd.DataFrame, layer: Layer | str
) -> tuple[gpd.GeoDataFrame | pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into the rows that fit ``layer`` and the rows that do not.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame. A geo layer needs a GeoDataFrame with a CRS; it is
        transformed to EPSG:4326. Missing optional columns are added as null; unknown columns
        are dropped.
    layer : a :class:`Layer` or its name.

    Returns
    -------
    (valid, rejected) : ``valid`` has exactly the layer's columns, coerced to their kinds;
        ``rejected`` has columns ``raw`` (the row as JSON text, truncated) and ``reason``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"town_code": ["1"], "name": ["国領町一丁目"]},
    ...                        geometry=[shapely.box(139.5, 35.6, 139.51, 35.61)], crs=4326)
    >>> ok, bad = validate(gdf, "towns")
    >>> len(ok), len(bad)
    (1, 0)
    """
    layer = LAYERS[layer] if isinstance(layer, str) else layer
    if layer.geometry:
        if not isinstance(frame, gpd.GeoDataFrame):
            raise SchemaError(f"{layer.name}: expected a GeoDataFrame, got {type(frame).__name__}")
        if frame.crs is None:
            raise SchemaError(
                f"{layer.name}: the frame has no CRS; set it (e.g. EPSG:4326 for lon/lat, "
                "EPSG:6677 for JGD2011 plane-rectangular zone IX) before validating"
            )
        if len(frame) and not frame.crs.equals(STORE_CRS):
            frame = frame.to_crs(STORE_CRS)
    records = frame.to_dict("records") if len(frame) else []
    geoms = list(frame.geometry) if layer.geometry and len(frame) else [None] * len(records)
    valid_rows: list[dict] = []
    valid_geoms: list = []
    rejected: list[dict] = []
    required = set(layer.key) | set(layer.required)
    for record, geom in zip(records, geoms, strict=False):
        reason = None
        row: dict = {}
        for col, kind in layer.columns.items():
            try:
                row[col] = _coerce(record.get(col), kind)
            except (ValueError, TypeError, OverflowError) as exc:
                reason = f"{col}: {exc}"
                break
        if reason is None:
            missing = [c for c in layer.key + layer.required if row.get(c) is None]
            if missing:
                reason = "missing " + ", ".join(dict.fromkeys(missing))
        if reason is None:
            for col, allowed in layer.choices.items():
                if row.get(col) is not None and row[col] not in allowed:
                    reason = f"{col}: {row[col]!r} is not one of {', '.join(map(str, allowed))}"
                    break
        if reason is None and layer.geometry:
            if geom is not None and not isinstance(geom, shapely.Geometry):
                reason = "geometry: not a geometry"
            else:
                reason = _check_geometry(geom, layer)
        if reason is None:
            valid_rows.append(row)
            valid_geoms.append(None if geom is None or geom.is_empty else geom)
        else:
            rejected.append({"raw": _raw_text(record, geom), "reason": reason})
    del required
    valid = _frame(layer, valid_rows, valid_geoms)
    if len(valid):
        dup = valid.duplicated(subset=list(layer.key), keep="last")
        if dup.any():
            for _, row in valid[dup].iterrows():
                rejected.append(
                    {"raw": _raw_text(row.to_dict(), None), "reason": "duplicate key in batch"}
                )
            valid = valid[~dup].reset_index(drop=True)
    return valid, pd.DataFrame(rejected, columns=["raw", "reason"])


def _frame(layer: Layer, rows: list[dict], geoms: list) -> gpd.GeoDataFrame | pd.DataFrame:
    if not rows:
        return empty_frame(layer)
    df = pd.DataFrame(rows, columns=list(layer.columns))
    for col, kind in layer.columns.items():
        if kind == TIME:
            df[col] = pd.to_datetime(df[col], utc=True)
        elif kind in (INT, BOOL, FLOAT):
            df[col] = df[col].astype(_DTYPES[kind])
        else:
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    if layer.geometry:
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS)
    return df


def _raw_text(record: dict, geom, limit: int = 2000) -> str:
    data = {k: v for k, v in record.items() if k != "geometry"}
    if geom is not None and isinstance(geom, shapely.Geometry):
        data["geometry"] = geom.wkt[:200]
    text = json.dumps(data, ensure_ascii=False, default=str)
    return text[:limit]


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
