"""The layers of the domain model: their columns, keys and types, how each is written, and
``validate``.

Every hand-over between ingest, store and dashboard goes through :func:`validate`, which splits a
frame into rows that fit the layer and rows that do not (each with a reason). Geometries leave
``validate`` in EPSG:4326 whatever CRS they came in.

How a layer is written is declared on it, as dlt resources declare their key and write
disposition: ``write`` (merge on the key, or append-only), ``staff_fields`` (what a re-fetched
record never undoes), ``incident_role`` (how its rows join incidents), ``enrich`` (the ingest
steps its rows go through) and ``fingerprint`` (the text column the dedupe indexes). The ingest
runner and the store read these declarations; neither branches on a layer's name.

Over ~400 lines on purpose: every layer is declared here, in one file read top to bottom.
"""

from __future__ import annotations

import math
import re
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
NEEDS = vocab.SHELTER_NEEDS.codes  # the old needs list of a shelter report (now supply requests)
CARE_GROUPS = vocab.CARE_GROUPS.codes
# The 要配慮者 counts of a shelter report: one nullable count per group (null = not counted).
CARE_COLUMNS = tuple(f"care_{code}" for code in CARE_GROUPS)


@dataclass(frozen=True)
class StaffFields:
    """What a re-fetched record never undoes on a stored row (kept by the ingest runner).

    Parameters
    ----------
    owned : columns whose stored value always wins (staff set them; a source sends a default,
        e.g. every fetched post says triage ``new``).
    kept : columns whose stored value fills an empty fetched value (staff or an earlier batch
        set them: an assignee, an incident, a manual roster match).
    manual_position : columns kept, with the stored geometry, on a row staff placed by hand
        (``geo_source == "manual"``); the first must be ``geo_source``.
    """

    owned: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    manual_position: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The owned and kept columns, in that order."""
        return self.owned + self.kept


@dataclass(frozen=True)
class IncidentRole:
    """How rows of a layer become pieces of incidents (geodata/incidents.py).

    Parameters
    ----------
    category : the column naming what a row is about: a category, or a list of categories
        (the first one other than その他 counts); a row with none is not a piece.
    urgency : the column with the row's urgency (None: no urgency).
    town : the column with the row's town (a piece known only by its town joins by town).
    by_value : when given, ``category``'s value -> (category, urgency) of the piece; other
        values are not pieces (a safety reply is a piece only when it says 要救助 or 負傷).
    excluded_by : a column that, when set, keeps a row out (a copy's ``repost_of``).

    Rows of a layer with an ``incident_id`` column carry their incident; of the others (safety
    replies) only the ``incident_members`` layer names them.
    """

    category: str
    urgency: str | None = None
    town: str | None = "town_code"
    by_value: dict[str, tuple[str, int]] | None = None
    excluded_by: str | None = None


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
    write : ``merge`` (upsert on the key: a second load of the same rows changes nothing) or
        ``append`` (an append-only history written by the store's ``append_<layer>``).
    staff_fields : what a re-fetched record never undoes (:class:`StaffFields`).
    incident_role : how rows join incidents (:class:`IncidentRole`); None: they do not.
    enrich : the ingest steps a batch goes through before it is written, in order (names of
        ``ingest.runner.ENRICHMENTS``: geocoding and classifying text, marking copies).
    fingerprint : the text column whose fingerprint the store keeps in ``text_fp`` (the
        dedupe finds copies through it).
    municipal : whether each row belongs to one municipality (the column
        :data:`MUNICIPALITY`, added by the declaration): a store scoped to some municipalities
        reads and writes only their rows (geodata/store/scope.py). False for what is shared by
        every municipality of one system (the sources' health).
    row_security : whether the rows are about persons, so that on PostGIS the database itself
        keeps them to the scope of the transaction (row-level security, docs/security.md).
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
    write: str = "merge"
    staff_fields: StaffFields | None = None
    incident_role: IncidentRole | None = None
    enrich: tuple[str, ...] = ()
    fingerprint: str | None = None
    municipal: bool = True
    row_security: bool = False

    @property
    def all_columns(self) -> list[str]:
        cols = list(self.columns)
        return cols + ["geometry"] if self.geometry else cols


LAYERS: dict[str, Layer] = {}

# The municipality a row belongs to: the 5-digit 全国地方公共団体コード without its check digit
# (13208 = 調布市), added to every layer declared ``municipal`` (several municipalities can share
# one system; geodata/store/scope.py keeps each user to theirs).
MUNICIPALITY = "municipality"


WRITE_DISPOSITIONS = ("merge", "append")


def _layer(layer: Layer) -> Layer:
    missing = [k for k in layer.key if k not in layer.columns]
    assert not missing, f"{layer.name}: key columns {missing} not in columns"
    assert layer.write in WRITE_DISPOSITIONS, f"{layer.name}: write={layer.write!r}"
    declared = [*(layer.staff_fields.columns if layer.staff_fields else ())]
    if layer.incident_role:
        role = layer.incident_role
        declared += [c for c in (role.category, role.urgency, role.town, role.excluded_by) if c]
        assert layer.time_column, f"{layer.name}: incident pieces need a time column"
    if layer.fingerprint:
        declared.append(layer.fingerprint)
    unknown = [c for c in declared if c not in layer.columns]
    assert not unknown, f"{layer.name}: declared columns {unknown} not in columns"
    assert not layer.row_security or layer.municipal, f"{layer.name}: row security needs rows"
    if layer.municipal:
        layer.columns.setdefault(MUNICIPALITY, STR)
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
            "needs": JSON,  # the old needs list (codes of vocab.SHELTER_NEEDS): read only
            "note": STR,
            "reported_by": STR,
            "source": STR,
            "source_id": STR,
            # 要配慮者 counted at the shelter, per group (vocab.CARE_GROUPS); null = not counted
            **{column: INT for column in CARE_COLUMNS},
        },
        geometry=None,
        required=("reported_at", "status"),
        time_column="reported_at",
        choices={"status": SHELTER_STATUSES},
        write="append",  # a history: each report is a new version (store.append_shelter_status)
    )
)

# 物資要請: what a shelter asks the HQ for, one request per item (geodata/supplies.py). An
# append-only history like shelter_status: each change of state (requested → arranged →
# delivered) is a new version written by store.append_version, so who arranged what and when
# stays readable; the current state of a request is its highest version.
SUPPLY_REQUESTS = _layer(
    Layer(
        "supply_requests",
        key=("request_id", "version"),
        columns={
            "request_id": STR,  # sup-<shelter>-<random>; needs-<shelter>-<version>-<need> (v11)
            "version": INT,
            "shelter_id": STR,
            "item": STR,  # vocab.SUPPLY_ITEMS
            "item_text": STR,  # what "other" is (or a detail: サイズ L)
            "quantity": INT,  # null: not stated
            "unit": STR,  # 本, 食, 枚 ... (supplies.DEFAULT_UNITS)
            "urgency": STR,  # vocab.SUPPLY_URGENCIES
            "state": STR,  # vocab.SUPPLY_STATES
            "note": STR,
            "requested_by": STR,
            "requested_at": TIME,
            "updated_by": STR,  # who wrote this version
            "updated_at": TIME,
            "source": STR,  # staff / needs (migrated from a report's needs list)
        },
        geometry=None,
        required=("shelter_id", "item", "urgency", "state", "requested_at", "updated_at"),
        time_column="updated_at",
        choices={
            "item": vocab.SUPPLY_ITEMS.codes,
            "urgency": vocab.SUPPLY_URGENCIES.codes,
            "state": vocab.SUPPLY_STATES.codes,
        },
        write="append",  # a history: store.append_version (geodata/store/history.py)
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
        row_security=True,
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
        staff_fields=StaffFields(kept=("resident_id",)),  # a manual roster match
        # 要救助 / 負傷 join incidents as rescue requests (named by incident_members).
        incident_role=IncidentRole(
            category="status",
            town=None,
            by_value={"要救助": ("救助要請", 3), "負傷": ("救助要請", 2)},
        ),
        row_security=True,
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
        row_security=True,
    )
)

# 安否確認 campaigns sent to the roster (geodata/campaigns.py): one row per campaign, written by
# the safety page (queued) and the sender (``python -m ingest campaigns``: sending, sent, refused).
CAMPAIGNS = _layer(
    Layer(
        "campaigns",
        key=("id",),
        columns={
            "id": STR,
            "kind": STR,  # vocab.CAMPAIGN_KINDS: safety_check, evacuation_notice, evacuation_broadcast
            "question": STR,  # the operator's question / the notice's text (no personal data)
            "towns": JSON,  # town codes; [] = every town
            "status": STR,
            "reason": STR,  # why it was refused or failed
            "created_by": STR,
            "created_at": TIME,
            "started_at": TIME,  # the first message left
            "finished_at": TIME,
            "remind_after_min": INT,  # first reminder this long after the start (null: none)
            "remind_every_min": INT,  # then every this long (0: once)
            "reminders_max": INT,
            "recipients": INT,  # residents with a LINE user id in the towns
            "without_line": INT,  # residents without one (phone list / SMS)
            "quota_remaining": INT,  # LINE messages left this month when it was checked
        },
        geometry=None,
        required=("kind", "status", "created_at"),
        time_column="created_at",
        choices={
            "status": ("queued", "sending", "sent", "refused", "failed"),
            "kind": vocab.CAMPAIGN_KINDS.codes,
        },
        row_security=True,
    )
)

# Every message sent for a campaign, one row per resident and send (the delivery log). Holds
# the LINE user id / phone it went to (personal): application logs never carry them.
DELIVERIES = _layer(
    Layer(
        "deliveries",
        key=("id",),
        columns={
            "id": STR,  # campaign:kind:round:resident
            "campaign_id": STR,
            "resident_id": STR,
            "channel": STR,  # line, sms, phone_list (a broadcast: line, resident "*")
            "kind": STR,  # message, reminder, broadcast
            "round": INT,  # 0 for the message, 1.. for reminders
            "recipient": STR,  # LINE user id or phone number
            "retry_key": STR,  # X-Line-Retry-Key of the request that carried it
            "request_id": STR,  # x-line-request-id (or x-line-accepted-request-id) / SMS sid
            "status": STR,
            "http_status": INT,
            "error": STR,  # the API's message, never the text sent
            "at": TIME,
        },
        geometry=None,
        required=("campaign_id", "resident_id", "channel", "status", "at"),
        time_column="at",
        choices={"status": ("sent", "error", "listed")},
        personal=("recipient",),
        row_security=True,
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
        staff_fields=StaffFields(
            owned=("triage",),
            kept=("assigned_to", "incident_id", "repost_of"),
            manual_position=("geo_source", "geo_confidence", "matched_place", "town_code"),
        ),
        incident_role=IncidentRole(
            category="categories", urgency="urgency", excluded_by="repost_of"
        ),
        enrich=("geocode_classify", "mark_copies"),
        fingerprint="text",
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
            # Verified by the HQ (triage): only verified reports count as 確定 in the damage
            # report (geodata/damage.py); a report nobody checked yet counts as 未確認.
            "triage": STR,
            # The damage counts of 第4号様式 その2 (geodata.vocab.DAMAGE_ITEMS), null = not stated.
            **{f"dmg_{code}": INT for code in vocab.DAMAGE_ITEMS.codes},
        },
        required=("category", "reported_at"),
        time_column="reported_at",
        choices={"triage": TRIAGE_STATES},
        staff_fields=StaffFields(owned=("triage",), kept=("incident_id",)),
        incident_role=IncidentRole(category="category", urgency="severity"),
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
            "town_code": STR,
            "urgency": INT,
            "status": STR,
        },
        required=("category", "first_seen"),
        time_column="last_seen",
        geometry="any",
        # an incident of pieces known only by their town has no anchor point (yet)
        geometry_required=False,
    )
)

# The pieces of each incident, one row per piece (a piece is in at most one incident): an
# incident taking a piece writes one row, not its whole member list (geodata/incident_relink.py).
# The piece's facts that the incident's state is made of are kept with it, so an incident cut
# back to the pieces before a time is made again without reading those pieces' rows.
INCIDENT_MEMBERS = _layer(
    Layer(
        "incident_members",
        key=("layer", "member"),
        columns={
            "layer": STR,  # posts, safety_replies, field_reports
            "member": STR,  # the piece's key: "platform:post_id", "source:reply_id", ...
            "incident_id": STR,
            "seen_at": TIME,  # the piece's time
            "urgency": INT,  # the piece's urgency (None: none)
            "located": BOOL,  # whether the piece has a point
            "town_code": STR,  # the piece's town (None: none)
        },
        geometry=None,
        required=("incident_id", "seen_at"),
        time_column="seen_at",
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
            # the last run's outcome (ok / failing / backing_off) and until when an upstream
            # asked to be left alone; the state shown adds "stale" (geodata/health.py)
            "state": STR,
            "backoff_until": TIME,
            "stale_after_seconds": FLOAT,
        },
        geometry=None,
        municipal=False,  # one row per source of the system
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


# 避難情報 (evacuation information) the HQ issues, updates and lifts (geodata/evacuation.py):
# an append-only history. An order (発令) is a chain of records sharing ``order_id``; each
# record is a new version referencing the one it changes (``refers_to``): issue → update(s) →
# lift. What is in force at a time is the newest record of each order (geodata/evacuation.py).
EVACUATIONS = _layer(
    Layer(
        "evacuations",
        key=("order_id", "version"),
        columns={
            "order_id": STR,  # evac-<hazard>-<issue time>-<n>: the first record's identity
            "version": INT,  # 1 = the issue; each update or the lift adds one
            "action": STR,  # issue / update / lift (vocab.EVACUATION_ACTIONS)
            "refers_to": STR,  # "<order_id>|<version>" of the record this one changes
            "level": INT,  # 3 高齢者等避難, 4 避難指示, 5 緊急安全確保 (vocab.EVACUATION_LEVELS)
            "hazard": STR,  # a code of vocab.HAZARDS (flood, landslide ...)
            "towns": JSON,  # town codes (町丁目); every town of the city when whole_city
            "whole_city": BOOL,
            "reason": STR,  # why, as published (e.g. 多摩川 石原 氾濫危険水位到達)
            "warning_ids": JSON,  # message ids of the warnings that triggered it
            "issued_at": TIME,  # when the order was first issued
            "at": TIME,  # when this record took effect (issue / update / lift time)
            "lifted_at": TIME,  # set on the lift record
            "issued_by": STR,  # who made this record (staff account; audit has it too)
            "source": STR,  # staff / drill
        },
        geometry=None,
        required=("action", "level", "hazard", "at", "issued_at", "issued_by"),
        time_column="at",
        choices={"action": vocab.EVACUATION_ACTIONS.codes},
        write="append",  # a history: store.append_version (geodata/store/history.py)
    )
)

# クロノロジー: the HQ's time-ordered record (geodata/chronology.py). Append-only: a correction
# is a new entry naming the one it corrects (``corrects``); nothing is edited away. A system
# entry's ``entry_id`` is derived from ``event_key`` (what caused it), so writing it twice —
# a retry, two dashboard servers — stores it once.
CHRONOLOGY = _layer(
    Layer(
        "chronology",
        key=("entry_id",),
        columns={
            "entry_id": STR,
            "at": TIME,  # when it happened (a system event: when its cause happened)
            "kind": STR,  # geodata.vocab.CHRONO_KINDS
            "event": STR,  # system entries: geodata.vocab.SYSTEM_EVENTS
            "event_key": STR,  # system entries: what caused it (unique)
            "from_unit": STR,  # 部署 or person
            "to_unit": STR,
            "text": STR,
            "links": JSON,  # {"shelter": ["S1"], "incident": [...], "town": [...], ...}
            "corrects": STR,  # the entry this one corrects
            "task": BOOL,  # an 指示 / 要請 with an assignee and a state
            "assignee": STR,  # 部署
            "due_at": TIME,
            "entered_by": STR,
            "entered_at": TIME,
        },
        geometry=None,
        required=("at", "kind", "text", "entered_by"),
        time_column="at",
        choices={"kind": vocab.CHRONO_KINDS.codes},
        write="append",  # store.append_chronology
    )
)

# State changes of tasks (an audited history: the current state is the newest row).
TASK_STATE_HISTORY = _layer(
    Layer(
        "task_states",
        key=("entry_id", "version"),
        columns={
            "entry_id": STR,
            "version": INT,
            "state": STR,  # geodata.vocab.TASK_STATES
            "note": STR,
            "changed_by": STR,
            "changed_at": TIME,
        },
        geometry=None,
        required=("state", "changed_by", "changed_at"),
        time_column="changed_at",
        choices={"state": vocab.TASK_STATES.codes},
        write="append",  # store.append_task_state
    )
)

# 第N報: the damage report as the HQ fixed it at a time (geodata/damage.py). ``figures`` holds
# every count (confirmed and unconfirmed) and ``evidence`` the reports behind each.
DAMAGE_REPORTS = _layer(
    Layer(
        "damage_reports",
        key=("number",),
        columns={
            "number": INT,  # 第N報
            "as_of": TIME,
            "fixed_at": TIME,
            "fixed_by": STR,
            "disaster_name": STR,
            "figures": JSON,
            "evidence": JSON,
            "overview": JSON,  # その1: HQ set-up, shelters open, evacuees, evacuation information
        },
        geometry=None,
        required=("as_of", "fixed_at", "fixed_by"),
        time_column="as_of",
        write="append",  # store.append_damage_report
    )
)


class SchemaError(ValueError):
    """A frame that cannot be validated at all (missing CRS, unknown layer...)."""


def geo_frame(df: pd.DataFrame, geoms) -> gpd.GeoDataFrame:
    """``df`` with a ``geometry`` column of ``geoms`` (shapely geometries or None, one per row
    in order) in :data:`STORE_CRS`. The same frame as
    ``GeoDataFrame(df, geometry=GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS)`` for a frame
    with a 0..n-1 index, in half the time (every read and every validation makes one)."""
    with_geometry = df.assign(
        geometry=gpd.array.from_shapely(np.asarray(geoms, dtype=object), crs=STORE_CRS)
    )
    return gpd.GeoDataFrame(with_geometry, geometry="geometry")


def empty_frame(layer: Layer | str) -> gpd.GeoDataFrame | pd.DataFrame:
    """An empty frame with the layer's columns (a GeoDataFrame in EPSG:4326 for geo layers):
    a copy of one made once per layer (making one took 2–5 ms, and every empty read, batch
    and page part asks for one)."""
    layer = LAYERS[layer] if isinstance(layer, str) else layer
    template = _EMPTY.get(layer.name)
    if template is None or template[0] is not layer:
        template = _EMPTY[layer.name] = (layer, _make_empty(layer))
    return template[1].copy()


_EMPTY: dict[str, tuple[Layer, pd.DataFrame]] = {}


def _make_empty(layer: Layer) -> gpd.GeoDataFrame | pd.DataFrame:
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


# An ISO 8601 time with seconds (at most microseconds) and an offset: 2026-10-12T03:04:05.123Z
_ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")


def to_utc(value) -> pd.Timestamp | None:
    """Parse a time value (ISO text, epoch seconds, datetime) to a UTC timestamp; naive = JST.

    Japanese sources give local time without an offset; a naive time is read as Asia/Tokyo.
    Returns None for null; raises ValueError on text that is not a time.
    """
    if isinstance(value, str) and _ISO_WITH_OFFSET.fullmatch(value):
        # the usual case (an API's time): the same timestamp as below, without pandas' parse
        try:
            return pd.Timestamp(datetime.fromisoformat(value).astimezone(UTC))
        except (ValueError, OverflowError):
            pass
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
