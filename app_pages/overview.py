"""概況 Overview: the HQ's common picture — live KPI tiles with thresholds (open shelters,
evacuees, residents not confirmed safe, life-threatening reports, towns under evacuation
information) and one map of shelters, damage reports, residents not confirmed by town, rescue
counts by town and evacuation information; the warnings in force and the HQ's decisions."""

import pandas as pd
import streamlit as st

from dashboard import area, auth, data, kiosk, settings, widgets
from dashboard import picture as common
from dashboard.chronology import as_of as as_of_view
from dashboard.evacuation import notice as evac_notice
from dashboard.evacuation import view as evac
from dashboard.i18n import current_lang, t
from dashboard.shelters import map as shelters_map
from geodata.schema import now_utc

auth.require_page(__file__)
# The layers whose newest record the wall's as-of line ages.
LAYERS = ("shelter_status", "incidents", "posts", "safety_replies", "field_reports")


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
    status = kiosk.mask("shelter_status", ref.status)
    as_of = None
    if not widgets.is_kiosk():  # the picture as of a time (meeting, handover, review)
        as_of = as_of_view.choose("overview-as-of")
        if as_of is not None:
            status = as_of_view.shelter_status(opened.url, opened.version, as_of)
            as_of_view.note(as_of)
    minute = pd.Timestamp(now_utc()).floor("10min").isoformat()  # the 24 h window moves on
    p = common.load(opened.url, opened.version, common.public_picture(), minute, as_of)
    common.kpi_tiles(p, lang)
    measure = None if widgets.is_kiosk() else widgets.measure_select()
    m = common.context_map(
        ref, settings.get("BOSAI_TILES"), settings.get("BOSAI_TILE_URL"), measure, lang
    )
    live = common.live_layers(p, ref, status, opened.store, lang, as_of)
    kiosk.live_map(
        m,
        live,
        key="map",
        height=widgets.map_height(),
        layer_control=shelters_map.layer_control(),
    )


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
    evac_notice.section(opened.url, lang, ref.city_name)
    evac.decision_section(opened.url, opened.version, ref.towns, lang)


# On the wall screen only this part reruns, every BOSAI_REFRESH_SECONDS; the map stays and its
# live layers are swapped inside it (the view someone zoomed to is kept).
kiosk.live(overview, __file__, layers=LAYERS)
area.section(current_lang())  # a user of several municipalities: each one's situation
decisions()
