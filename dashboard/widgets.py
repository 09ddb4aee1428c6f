"""Reusable page pieces: language switch, wall-screen mode, KPI tiles, the map frame."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import settings
from dashboard.i18n import LANGUAGES, current_lang, t
from geodata.shelters import summary as shelter_summary
from geodata.shelters import with_status

KIOSK_KEY = "kiosk"
MEASURES = ("none", "population", "households", "density")

_KIOSK_CSS = """
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
  .block-container { padding-top: 1rem !important; max-width: 100% !important; }
  html, body, [data-testid="stAppViewContainer"] { font-size: 22px; }
  [data-testid="stMetricValue"] { font-size: 3.2rem !important; }
  [data-testid="stMetricLabel"] p { font-size: 1.3rem !important; }
</style>
"""


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


def apply_kiosk_style() -> None:
    """Hide the sidebar and chrome and enlarge the type (readable from 5 m)."""
    st.html(_KIOSK_CSS)


def language_switch() -> None:
    """The ja/en switch in the sidebar (stored in ``st.session_state['lang']``)."""
    st.sidebar.segmented_control(
        t("app.language"),
        options=list(LANGUAGES),
        format_func=lambda code: {"ja": "日本語", "en": "English"}[code],
        key="lang",
        required=True,
    )


def store_error(url: str, error: Exception) -> None:
    """Say that the store cannot be opened (no traceback on the HQ screen)."""
    st.error(t("overview.store_error", url=redact_url(url), error=str(error)[:300]))


def redact_url(url: str) -> str:
    """A store URL without its password."""
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
    cols[1].metric(t("kpi.population"), f"{int(population):,}")
    cols[2].metric(t("kpi.shelters_open"), f"{counts['open']:,} / {counts['shelters']:,}")
    cols[3].metric(t("kpi.evacuees"), f"{counts['evacuees']:,}")
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
    """Map height in px: fills a 1080p screen under the KPI tiles (taller on the wall screen)."""
    return 720 if is_kiosk() else 700


def auto_refresh(body) -> None:
    """Run ``body``; in wall-screen mode as a fragment that reruns every BOSAI_REFRESH_SECONDS."""
    if is_kiosk():
        st.fragment(run_every=settings.refresh_seconds())(body)()
    else:
        body()


def show_map(m: folium.Map, height: int = 640, key: str = "map") -> None:
    """Render a folium map; panning and zooming do not rerun the script."""
    st_folium(m, height=height, use_container_width=True, returned_objects=[], key=key)
