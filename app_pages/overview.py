"""概況 Overview: the municipality with towns, flood-hazard areas and shelters."""

import streamlit as st

from dashboard import data, maps, settings, widgets
from dashboard.i18n import current_lang, t

lang = current_lang()
url = data.db_url()
try:
    version = data.data_version(url)
except Exception as exc:  # the HQ screen shows the reason, not a traceback
    widgets.store_error(url, exc)
    st.stop()

towns = data.load_towns(url, data.municipality_code(), version)
city = (
    towns["city_name"].dropna().iloc[0] if len(towns) and towns["city_name"].notna().any() else ""
)
st.subheader(t("overview.title", city=city or data.municipality_code()))
if towns.empty:
    st.info(
        t(
            "overview.empty",
            command=f"python -m ingest reference --municipality {data.municipality_code()}",
        )
    )
    st.stop()

area = tuple(float(v) for v in towns.total_bounds)
hazard = data.load_layer(url, "hazard_areas", None, version, bbox=area)
shelters = data.load_layer(url, "shelters", None, version, bbox=area)
status = data.load_shelter_status(url, version)

widgets.kpi_row(towns, shelters, status, hazard)
measure = None if widgets.is_kiosk() else widgets.measure_select()
m = maps.overview_map(
    maps.add_density(towns) if measure == "density" else towns,
    hazard,
    shelters,
    status,
    tiles=settings.get("BOSAI_TILES"),
    tile_url=settings.get("BOSAI_TILE_URL"),
    measure=measure,
    lang=lang,
)
widgets.show_map(m, height=820 if widgets.is_kiosk() else 640)
