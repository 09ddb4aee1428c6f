"""The layers of the domain model: their columns, keys and types, and ``validate``.

Every hand-over between ingest, store and dashboard goes through :func:`validate`, which splits a
frame into rows that fit the layer and rows that do not (each with a reason). Geometries leave
``validate`` in EPSG:4326 whatever CRS they came in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata import vocab

STORE_CRS = "EPSG:4326"

# Column kinds. "json" holds a list or dict (stored as JSON text).
STR, INT, FLOAT, BOOL, TIME, JSON = "str", "int", "float", "bool", "datetime", "json"

# The codes of the domain's vocabularies (labels and order: geodata/vocab.py).
SHELTER_STATUSES = vocab.SHELTER_STATUSES.codes  # not open / open / full / closed
SAFETY_STATUSES = vocab.SAFETY_STATUSES.codes  # safe / injured / needs rescue / unknown
TRIAGE_STATES = ("new", "verified", "dismissed", "handled")
SHELTER_KINDS = vocab.SHELTER_KINDS.codes
CATEGORIES = vocab.CATEGORIES.codes
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


# 気象庁防災情報XML messages as received (ingest/sources/jma.py), one row per message: the raw
# XML is kept whole (audit, replay), its parsed header, and ``items``, the warnings it states
# for the municipality's areas and rivers. What is in force for which towns is answered by
# geodata/warnings.py from these rows (a message is a snapshot of its stream; see there).
WARNINGS = _layer(
    Layer(
        "warnings",
        key=("source", "message_id"),
        columns={
            "source": STR,
            "message_id": STR,  # the Atom entry id (JMA: the message URL)
            "entry_updated": TIME,  # the entry's <updated>: a changed entry is fetched again
            "feed": STR,  # the feed URL the entry was listed in
            "url": STR,  # where the message was fetched from
            "received_at": TIME,
            "type_code": STR,  # VPWW55, VXWW50, VXKOii, VPOA50 ... (from the URL or title)
            "title": STR,  # Control/Title: 気象警報・注意報（Ｒ０６）（大雨）
            "head_title": STR,  # Head/Title: 東京都大雨警報・注意報
            "control_status": STR,  # Control/Status: 通常 / 訓練 / 試験
            "office": STR,  # Control/EditorialOffice
            "info_type": STR,  # Head/InfoType: 発表 / 訂正 / 取消
            "event_id": STR,
            "serial": STR,
            "stream": STR,  # messages of one stream replace each other (title|office|event)
            "report_at": TIME,  # Head/ReportDateTime
            "headline": STR,
            "items": JSON,  # [{kind, level, status, jma_code, jma_name, area_code, ...}]
            "digest": STR,  # sha256 of the stored text: the same message twice is stored once
            "size": INT,  # bytes received
            "raw_xml": STR,
            "error": STR,  # why the message could not be read (it is also in rejections)
        },
        geometry=None,
        required=("received_at",),
        time_column="received_at",
    )
)

# Water levels of river observation stations (ingest/sources/river_levels.py), with the
# station's thresholds as configured when observed (they change; the row keeps what applied).
RIVER_LEVELS = _layer(
    Layer(
        "river_levels",
        key=("station_id", "observed_at"),
        columns={
            "station_id": STR,  # 観測所記号 (水文水質データベース) or the configured code
            "station_name": STR,
            "river": STR,
            "observed_at": TIME,
            "level_m": FLOAT,
            "standby_m": FLOAT,  # 水防団待機水位 (レベル１)
            "advisory_m": FLOAT,  # 氾濫注意水位 (レベル２)
            "evacuation_m": FLOAT,  # 避難判断水位 (レベル３)
            "danger_m": FLOAT,  # 氾濫危険水位 (レベル４)
            "source": STR,
        },
        required=("level_m",),
        time_column="observed_at",
        geometry_required=False,
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


def validate(
    frame: pd.DataFrame, layer: Layer | str
) -> tuple[gpd.GeoDataFrame | pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into the rows that fit ``layer`` and the rows that do not.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame. A geo layer needs a GeoDataFrame with a CRS; it is
        transformed to EPSG:4326. Missing optional columns are added as null; unknown columns
        are dropped. Messy values are coerced: ``"1,200"`` to 1200, flags ``1``/``1.0``/``○``
        to True, naive times are read as JST.
    layer : a :class:`Layer` or its name.

    Returns
    -------
    (valid, rejected) : ``valid`` has exactly the layer's columns, coerced to their kinds;
        ``rejected`` has columns ``raw`` (the row as JSON text, truncated) and ``reason``.
        Of rows sharing a key, the last wins and the others are rejected.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> gdf = gpd.GeoDataFrame({"town_code": ["1"], "name": ["国領町一丁目"]},
    ...                        geometry=[shapely.box(139.5, 35.6, 139.51, 35.61)], crs=4326)
    >>> ok, bad = validate(gdf, "towns")
    >>> len(ok), len(bad)
    (1, 0)
    """
    from geodata.validation import validate_frame

    layer = LAYERS[layer] if isinstance(layer, str) else layer
    return validate_frame(frame, layer)


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
