"""Reusable page pieces: language switch, wall-screen mode, opening the store, KPI tiles, the map.

Every page opens the store with :func:`open_store`, which says on screen why it cannot (no
traceback on the HQ screen, never the password of the URL); the wall-screen refresh is
:func:`dashboard.kiosk.live`.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import data, settings
from dashboard.i18n import LANGUAGES, current_lang, t
from geodata.shelters import summary as shelter_summary
from geodata.shelters import with_status
from geodata.store.core import Store, split_scoped_url

KIOSK_KEY = "kiosk"
MEASURES = ("none", "population", "households", "density")


def init_session() -> None:
    """Session defaults from the URL (``?lang=en``, ``?kiosk=1``) and the settings."""
    params = st.query_params
    if "lang" not in st.session_state:
        lang = params.get("lang", "")
        st.session_state["lang"] = lang if lang in LANGUAGES else current_lang()
    if KIOSK_KEY not in st.session_state:
        flag = params.get("kiosk")
        st.session_state[KIOSK_KEY] = (
            flag in ("1", "true", "yes") if flag is not None else settings.kiosk_default()
        )


def is_kiosk() -> bool:
    """Whether this session is in wall-screen mode."""
    return bool(st.session_state.get(KIOSK_KEY, False))


def apply_style() -> None:
    """The one page stylesheet of a run: the wall screen's (sidebar and chrome hidden, type
    readable from 5 m, :func:`dashboard.kiosk.style`) or the desk's, whose touch layout applies
    on tablets (:func:`dashboard.touch.style`). Imported here: kiosk imports this module."""
    from dashboard import kiosk, touch

    if is_kiosk():
        kiosk.style()
    else:
        touch.style()


def language_switch() -> None:
    """The ja/en switch in the sidebar (stored in ``st.session_state['lang']``)."""
    st.sidebar.segmented_control(
        t("app.language"),
        options=list(LANGUAGES),
        format_func=lambda code: {"ja": "日本語", "en": "English"}[code],
        key="lang",
        required=True,
    )


def municipality_switch() -> None:
    """The sidebar's choice of the municipality the pages show, for a user who belongs to several
    (``st.session_state[data.CURRENT_KEY]``; :func:`dashboard.data.db_url` scopes to it)."""
    codes = data.user_municipalities()
    if len(codes) < 2:
        return
    if st.session_state.get(data.CURRENT_KEY) not in codes:
        st.session_state[data.CURRENT_KEY] = codes[0]
    st.sidebar.selectbox(
        t("app.municipality"),
        options=list(codes),
        key=data.CURRENT_KEY,
        format_func=data.municipality_label,
    )


@dataclass(frozen=True)
class OpenStore:
    """The store a page reads, as :func:`open_store` found it."""

    url: str
    store: Store
    version: int  # the store's data version (keys the cached loaders)


def open_store(url: str | None = None) -> OpenStore | None:
    """The store (``BOSAI_DB_URL`` unless ``url``) and its data version, or None after saying why.

    Opening the engine and reading the data version is what fails when the database is down or
    the URL is wrong; the page then shows the reason (without the password) and stops drawing
    instead of showing a traceback on the HQ screen.

    Returns
    -------
    OpenStore, or None when the store cannot be opened (the reason is on screen).
    """
    url = url or data.db_url()
    try:
        store = data.get_store(url)
        version = store.data_version()
    except Exception as exc:  # noqa: BLE001 - the HQ screen shows the reason, not a traceback
        st.error(t("overview.store_error", url=redact_url(url), error=str(exc)[:300]))
        return None
    return OpenStore(url, store, version)


def redact_url(url: str) -> str:
    """A store URL without its password (and without the scope the dashboard adds)."""
    url = split_scoped_url(url)[0]
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def kpi_row(
    towns: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    status: pd.DataFrame,
    hazard: gpd.GeoDataFrame,
) -> None:
    """KPI tiles: population, shelters open / total, evacuees, hazard areas."""
    counts = shelter_summary(with_status(shelters, status))
    population = pd.to_numeric(towns.get("population"), errors="coerce").sum()
    cols = st.columns(5)
    cols[0].metric(t("kpi.towns"), f"{len(towns):,}")
    cols[1].metric(t("measure.population"), f"{int(population):,}")
    cols[2].metric(t("kpi.shelters_open"), f"{counts['open']:,} / {counts['shelters']:,}")
    cols[3].metric(t("measure.evacuees"), f"{counts['evacuees']:,}")
    cols[4].metric(t("kpi.hazard_areas"), f"{len(hazard):,}")


def measure_select() -> str | None:
    """Choose the town choropleth column; None = plain towns."""
    choice = st.segmented_control(
        t("overview.measure"),
        options=list(MEASURES),
        format_func=lambda m: t(f"measure.{m}"),
        default="none",
        key="overview_measure",
        required=True,
    )
    return None if choice in (None, "none") else choice


def reference_command(municipality: str) -> str:
    """The command that loads the reference layers (shown when the store is empty)."""
    return f"python -m ingest reference --municipality {municipality}"


def map_height() -> int:
    """Map height in px: fills a 1080p screen under the KPI tiles (the wall has its strip and
    as-of line above them)."""
    return 560 if is_kiosk() else 700


def show_map(m: folium.Map, height: int = 640, key: str = "map") -> None:
    """Render a folium map; panning and zooming do not rerun the script."""
    st_folium(m, height=height, use_container_width=True, returned_objects=[], key=key)
