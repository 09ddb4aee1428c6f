"""Cached reads from the store, keyed by simple arguments and the store's data version.

Every loader takes the store URL, the layer, the time window and ``data_version`` (from
:func:`data_version`, which grows with every write): a new write means a new key, so the cache
never serves stale rows and never has to hash a GeoDataFrame. Pages call these, never the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard import settings
from geodata import schema
from geodata import settings as core_settings
from geodata.export.common import municipality
from geodata.store.core import Store, open_store, scoped_url, split_scoped_url

_TTL = timedelta(minutes=30)  # bounds memory; freshness comes from data_version
CACHED_CITIES = settings.CACHED_CITIES
_SCOPE_KEY = "_bosai_municipalities"  # the logged-in user's municipalities (set by use_user)
CURRENT_KEY = "bosai_municipality"  # the one the pages show (the sidebar switch)


def use_user(user) -> None:
    """Keep the logged-in user's municipalities for this session's reads (the frame calls it
    right after the login gate, on every run)."""
    st.session_state[_SCOPE_KEY] = list(user.scope)


def user_municipalities() -> tuple[str, ...]:
    """The municipalities of the logged-in user (no user: ``BOSAI_MUNICIPALITY``)."""
    try:
        codes = tuple(st.session_state.get(_SCOPE_KEY) or ())
    except Exception:  # noqa: BLE001 - no session (a script run outside streamlit)
        codes = ()
    return codes or (core_settings.municipality(),)


def municipality_code() -> str:
    """The 5-digit code of the municipality the pages show: the user's current one (the
    sidebar switch), else their first (by default ``BOSAI_MUNICIPALITY``)."""
    codes = user_municipalities()
    try:
        current = st.session_state.get(CURRENT_KEY)
    except Exception:  # noqa: BLE001 - no session
        current = None
    return current if current in codes else codes[0]


def db_url() -> str:
    """The store URL (``BOSAI_DB_URL``) scoped to the municipality the pages show: every read
    and write of a page goes through a store that sees only its rows (geodata/store/core.py
    ``Store.scoped``), and the cached loaders are keyed by it."""
    return scoped_url(settings.db_url(), [municipality_code()])


def area_url() -> str:
    """The store URL scoped to all of the user's municipalities (the area view)."""
    return scoped_url(settings.db_url(), user_municipalities())


def municipality_label(code: str) -> str:
    """「小金井市（13210）」 for the municipalities the exports know by name, else the code
    (the frame's switch draws before any page opens the store)."""
    _code, _pref, name = municipality(None, code)
    return code if name == code else f"{name}（{code}）"


@st.cache_resource(show_spinner=False)
def _engine_store(url: str) -> Store:
    return open_store(url)


def get_store(url: str) -> Store:
    """The store of ``url``: one engine and connection pool per database for the whole
    server, scoped as the URL says (:func:`db_url`)."""
    base, scope = split_scoped_url(url)
    store = _engine_store(base)
    return store.scoped(scope) if scope is not None else store


def data_version(url: str) -> int:
    """The store's data version: cheap, read on every run to key the cached loaders."""
    return get_store(url).data_version()


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=4 * CACHED_CITIES)
def load_layer(
    url: str,
    layer: str,
    window_hours: float | None,
    version: int,
    bbox: tuple[float, float, float, float] | None = None,
    where: tuple[tuple[str, str], ...] = (),
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Rows of ``layer`` (in the last ``window_hours`` when given) in ``bbox``.

    ``version`` is only part of the cache key. ``where`` is a tuple of (column, value) pairs so the
    arguments stay hashable.
    """
    del version
    since = None
    if window_hours is not None:
        since = schema.now_utc() - timedelta(hours=float(window_hours))
    return get_store(url).read(layer, since=since, bbox=bbox, where=dict(where) or None)


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=2 * CACHED_CITIES)
def load_towns(url: str, city_code: str, version: int) -> gpd.GeoDataFrame:
    """The town polygons of ``city_code`` (all towns when the store has none tagged with it)."""
    del version
    store = get_store(url)
    towns = store.read("towns", where={"city_code": city_code}) if city_code else None
    if towns is None or towns.empty:
        towns = store.read("towns")
    return towns


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=2 * CACHED_CITIES)
def load_shelter_status(url: str, version: int) -> pd.DataFrame:
    """The latest status row per shelter."""
    del version
    return get_store(url).current_shelter_status()


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=8)
def load_source_health(url: str, version: int) -> pd.DataFrame:
    """Every source's health row."""
    del version
    return get_store(url).health()


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=8)
def load_rejections(url: str, version: int, limit: int = 200) -> pd.DataFrame:
    """The newest rejected records."""
    del version
    return get_store(url).read_rejections(limit=limit)


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=8)
def layer_counts(url: str, version: int) -> pd.DataFrame:
    """Rows per layer (columns ``layer``, ``rows``)."""
    del version
    store = get_store(url)
    return pd.DataFrame(
        [{"layer": name, "rows": store.count(name)} for name in schema.LAYERS],
        columns=["layer", "rows"],
    )


@dataclass(frozen=True)
class ReferenceLayers:
    """What the overview map shows for one municipality."""

    city_name: str
    towns: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame
    hazard: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    status: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.towns.empty


def reference_layers(url: str, version: int, code: str | None = None) -> ReferenceLayers:
    """Towns, boundary, hazard areas and shelters of the municipality ``code`` (default: the one
    the pages show, :func:`municipality_code`), and shelter status.

    Hazard areas and shelters are read in the towns' bounding box.
    """
    code = code or municipality_code()
    towns = load_towns(url, code, version)
    if towns.empty:
        empty = schema.empty_frame
        return ReferenceLayers(
            code,
            towns,
            empty("boundaries"),
            empty("hazard_areas"),
            empty("shelters"),
            empty("shelter_status"),
        )
    names = towns["city_name"].dropna()
    area = tuple(float(v) for v in towns.total_bounds)
    return ReferenceLayers(
        city_name=str(names.iloc[0]) if len(names) else code,
        towns=towns,
        boundaries=load_layer(url, "boundaries", None, version, where=(("city_code", code),)),
        hazard=load_layer(url, "hazard_areas", None, version, bbox=area),
        shelters=load_layer(url, "shelters", None, version, bbox=area),
        status=load_shelter_status(url, version),
    )
