"""出力 Export: what the export page offers, and the functions that make each file's bytes.

Each export is a pure ``geodata.export.common*`` function; this module decides what a role may take
(``export_internal`` for anything with personal data, ``export_public`` for the rest, asked of
:func:`geodata.access.roles.allowed`), turns the page's filters into the function's arguments, and
returns ``(bytes, file name, MIME type)``. The bytes are made only when a download button is
pressed (Streamlit's deferred download data), and every export is audit-logged by the export
function itself under the user's name.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pandas as pd

from geodata.access import accounts, roles
from geodata.access.roles import User
from geodata.export import visits
from geodata.export.cap import cap_messages
from geodata.export.common import stamp
from geodata.export.data import FORMATS, TOWN_COUNTS, export_layer
from geodata.export.evacuation import evacuation_cap_messages, evacuation_opendata_csv
from geodata.export.map import situation_map
from geodata.export.opendata import shelters_opendata_csv
from geodata.export.supplies import supplies_file
from geodata.schema import LAYERS, now_utc

# Layers offered for data export, in the order of the select box.
LAYERS_OFFERED = (
    "posts",
    "incidents",
    "field_reports",
    "shelters",
    "shelter_status",
    "safety_replies",
    "follow_ups",
    "roster",
    "towns",
    "hazard_areas",
)
# Layers with no public version (rows are persons or personal notes).
INTERNAL_ONLY = ("roster", "follow_ups")
WINDOWS: dict[str, float | None] = {"1h": 1.0, "6h": 6.0, "24h": 24.0, "all": None}
SITUATION_FORMATS = {"pdf": "application/pdf", "png": "image/png"}
OPENDATA_ENCODINGS = {"utf-8-sig": "csv", "cp932": "csv-sjis"}


@dataclass(frozen=True)
class LayerRequest:
    """A layer export as the page's widgets describe it."""

    layer: str
    fmt: str = "geojson"
    public: bool = False
    window: str = "all"
    towns: tuple[str, ...] = ()
    triage: tuple[str, ...] = ()

    def since(self, now=None) -> pd.Timestamp | None:
        hours = WINDOWS[self.window]
        if hours is None or not LAYERS[self.layer].time_column:
            return None
        return pd.Timestamp(now if now is not None else now_utc()) - pd.Timedelta(hours=hours)

    def where(self) -> dict | None:
        cols = LAYERS[self.layer].columns
        where = {}
        if self.towns and "town_code" in cols:
            where["town_code"] = list(self.towns)
        if self.triage and self.layer == "posts":
            where["triage"] = list(self.triage)
        return where or None


def current(store, user: User | None) -> User | None:
    """``user`` as the store has them now (a download runs later, outside the session).

    A local account is read again, so one disabled or given another role since the page was
    drawn is refused; single sign-on users are taken as the page saw them.
    """
    if user is None or user.source != "local":
        return user
    return accounts.get_user(store, user.username)


def check(store, user: User | None, public: bool) -> User:
    """The current ``user`` if they may take the public (or internal) version, else Forbidden."""
    fresh = current(store, user)
    roles.check(fresh, "export", action_for(public))
    return fresh


def action_for(public: bool) -> str:
    """The permission an export needs."""
    return "export_public" if public else "export_internal"


def may(user: User | None, public: bool) -> bool:
    """Whether ``user`` may take the public (or internal) version of an export."""
    return roles.allowed(user, "export", action_for(public))


def versions(user: User | None) -> list[bool]:
    """The versions (public=True / internal=False) ``user`` may export, internal first."""
    return [public for public in (False, True) if may(user, public)]


def layer_problem(req: LayerRequest) -> str | None:
    """Why a layer export cannot be made (a catalogue key), or None."""
    if req.public and req.layer in INTERNAL_ONLY:
        return "export.layer.no_public"
    if req.fmt == "kml" and (LAYERS[req.layer].geometry is None):
        return "export.layer.no_geometry"
    if req.fmt not in FORMATS:
        return "export.layer.bad_format"
    return None


def layer_count(store, req: LayerRequest) -> int:
    """How many rows the export would hold (before the public town aggregation)."""
    return store.count(req.layer, since=req.since(), where=req.where())


def layer_file(store, req: LayerRequest, user: User) -> tuple[bytes, str, str]:
    """The layer export's bytes, file name and MIME type (checks the permission first)."""
    user = check(store, user, req.public)
    problem = layer_problem(req)
    if problem:
        raise ValueError(problem)
    # Safety replies have no public version: the public file is the town-level counts.
    layer = TOWN_COUNTS if req.public and req.layer == "safety_replies" else req.layer
    res = export_layer(
        store,
        layer,
        req.fmt,
        since=req.since(),
        where=req.where(),
        public=req.public,
        who=user.username,
    )
    return res.data, layer_filename(req), res.media_type


def layer_filename(req: LayerRequest) -> str:
    """The file name the browser saves a layer export as."""
    ext = FORMATS[req.fmt][1]
    name = TOWN_COUNTS if req.public and req.layer == "safety_replies" else req.layer
    version = "public" if req.public else "internal"
    suffix = "-sjis" if req.fmt == "csv-sjis" else ""
    return f"{name}-{version}-{stamp()}{suffix}.{ext}"


def situation_file(store, fmt: str, public: bool, user: User, tile_session=None) -> bytes:
    """The 状況図 as PDF or PNG (A3), internal or public."""
    user = check(store, user, public)
    if fmt not in SITUATION_FORMATS:
        raise ValueError(f"unknown situation map format {fmt!r}")
    (res,) = situation_map(
        store, formats=(fmt,), public=public, tile_session=tile_session, who=user.username
    )
    return res.data


def situation_filename(code: str, fmt: str, public: bool) -> str:
    return f"situation-map-{code}-{'public' if public else 'internal'}-{stamp()}.{fmt}"


def visit_list_file(store, user: User, fmt: str = "pdf") -> bytes:
    """The visit list of :mod:`geodata.safety`, all towns (internal only)."""
    user = check(store, user, public=False)
    export = visits.visit_list_csv if fmt == "csv" else visits.visit_list_pdf
    return export(store, who=user.username).data


def opendata_file(store, dataset: str, encoding: str, user: User) -> bytes:
    """One shelter open-data CSV (``dataset``: see :data:`geodata.export.opendata.DATASETS`;
    public: no personal data)."""
    user = check(store, user, public=True)
    return shelters_opendata_csv(store, dataset=dataset, encoding=encoding, who=user.username).data


def supplies_export(store, fmt: str, user: User) -> bytes:
    """The supply requests of every shelter as CSV or Excel (internal: who asked, notes)."""
    user = check(store, user, public=False)
    return supplies_file(store, fmt, who=user.username).data


def cap_file(store, window: str, user: User) -> bytes:
    """CAP 1.2 messages of the shelter updates in the window, as one ZIP of XML files."""
    user = check(store, user, public=True)
    hours = WINDOWS[window]
    since = None if hours is None else pd.Timestamp(now_utc()) - pd.Timedelta(hours=hours)
    messages = cap_messages(store, since=since, who=user.username)
    return zip_results(messages)


def cap_count(store, window: str) -> int:
    """Shelter status updates in the window (one CAP message each)."""
    hours = WINDOWS[window]
    since = None if hours is None else pd.Timestamp(now_utc()) - pd.Timedelta(hours=hours)
    return store.count("shelter_status", since=since)


def evacuation_cap_file(store, user: User) -> bytes:
    """CAP 1.2 messages of every record of evacuation information, as one ZIP (public)."""
    user = check(store, user, public=True)
    return zip_results(evacuation_cap_messages(store, who=user.username))


def evacuation_opendata_file(store, user: User) -> bytes:
    """The open-data CSV of the evacuation information in force now (public)."""
    user = check(store, user, public=True)
    return evacuation_opendata_csv(store, who=user.username).data


def zip_results(results) -> bytes:
    """ExportResults as one ZIP (each under its own file name)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for res in results:
            zf.writestr(res.filename, res.data)
    return buf.getvalue()


def tile_session():
    """A session for basemap tiles when tiles are configured (None offline: no basemap)."""
    from dashboard import settings

    if settings.get("BOSAI_TILES") in ("", "none") and not settings.get("BOSAI_TILE_URL"):
        return None
    from geodata.http import make_session

    return make_session(retries=0, timeout=(3.0, 5.0))
