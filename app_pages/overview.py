"""概況 Overview: the municipality with towns, flood-hazard areas and shelters."""

import streamlit as st

from dashboard import auth, data, kiosk, settings, widgets
from dashboard.chronology import as_of as as_of_view
from dashboard.i18n import current_lang, t
from dashboard.maps import layers as maps

auth.require_page(__file__)


def overview() -> None:
    opened = widgets.open_store()
    if opened is None:
        return
    ref = data.reference_layers(opened.url, opened.version)
    st.subheader(t("overview.title", city=ref.city_name))
    if ref.empty:
        st.info(t("overview.empty", command=widgets.reference_command(data.municipality_code())))
        return

    status = ref.status
    if not widgets.is_kiosk():  # the picture as of a time (meeting, handover, review)
        as_of = as_of_view.choose("overview-as-of")
        if as_of is not None:
            status = as_of_view.shelter_status(opened.url, opened.version, as_of)
            as_of_view.note(as_of)
    widgets.kpi_row(ref.towns, ref.shelters, status, ref.hazard)
    measure = None if widgets.is_kiosk() else widgets.measure_select()
    m = maps.overview_map(
        maps.add_density(ref.towns) if measure == "density" else ref.towns,
        ref.hazard,
        ref.shelters,
        status,
        tiles=settings.get("BOSAI_TILES"),
        tile_url=settings.get("BOSAI_TILE_URL"),
        measure=measure,
        lang=current_lang(),
        boundaries=ref.boundaries,
    )
    widgets.show_map(m, height=widgets.map_height())


# On the wall screen only this part reruns, every BOSAI_REFRESH_SECONDS (new data -> new map).
kiosk.live(overview, __file__)
