"""概況 Overview: the municipality with towns, flood-hazard areas and shelters; the warnings in
force, evacuation information (避難情報) in force and the HQ's decision on it."""

import streamlit as st

from dashboard import auth, data, kiosk, settings, widgets
from dashboard.chronology import as_of as as_of_view
from dashboard.evacuation import view as evac
from dashboard.i18n import current_lang, t
from dashboard.maps import evacuation as evac_maps
from dashboard.maps import layers as maps
from geodata import evacuation, warnings

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

    lang = current_lang()
    evac.banner(opened.url, lang)
    status = ref.status
    if not widgets.is_kiosk():  # the picture as of a time (meeting, handover, review)
        as_of = as_of_view.choose("overview-as-of")
        if as_of is not None:
            status = as_of_view.shelter_status(opened.url, opened.version, as_of)
            as_of_view.note(as_of)
    widgets.kpi_row(ref.towns, ref.shelters, status, ref.hazard)
    evac.kpi_tile(opened.url, lang)
    measure = None if widgets.is_kiosk() else widgets.measure_select()
    m = maps.overview_map(
        maps.add_density(ref.towns) if measure == "density" else ref.towns,
        ref.hazard,
        ref.shelters,
        status,
        tiles=settings.get("BOSAI_TILES"),
        tile_url=settings.get("BOSAI_TILE_URL"),
        measure=measure,
        lang=lang,
        boundaries=ref.boundaries,
    )
    evac_maps.evacuation_legend(lang).add_to(m)
    live = evac_maps.live_layers(
        ref.towns, evacuation.in_force(opened.store), warnings.towns_in_force(opened.store), lang
    )
    kiosk.live_map(m, live, key="map", height=widgets.map_height())


def decisions() -> None:
    """Not on the wall screen: the orders in force (with lifts) and the decision support."""
    if widgets.is_kiosk():
        return
    opened = widgets.open_store()
    if opened is None:
        return
    ref = data.reference_layers(opened.url, opened.version)
    if ref.empty:
        return
    lang = current_lang()
    evac.in_force_section(opened.url, lang)
    evac.decision_section(opened.url, opened.version, ref.towns, lang)


# On the wall screen only this part reruns, every BOSAI_REFRESH_SECONDS (new data -> new map).
kiosk.live(overview, __file__)
decisions()
