"""現地調査 Field reports: a report form (place by map click or address) and the recent reports."""

import streamlit as st

from dashboard import auth, data, kiosk, widgets
from dashboard.field import data as field_data
from dashboard.field import view as field_view
from dashboard.i18n import t

auth.require_page(__file__)


def page() -> None:
    opened = widgets.open_store()
    if opened is None:
        return
    url, version = opened.url, opened.version
    ref = data.reference_layers(url, version)
    st.subheader(t("field.title", city=ref.city_name))
    field_view.flash()
    reports = kiosk.mask("field_reports", field_data.load_recent(url, version))
    if kiosk.enabled():
        left, right = st.columns([3, 2])
        with left:
            field_view.recent_list(url, version, ref, reports)
        with right:
            field_view.report_map(ref, reports, height=720)
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        place = field_view.place_picker(url, ref, reports)
    with right:
        st.markdown(f"### {t('field.new')}")
        if auth.can("field", "add_report"):
            field_view.report_form(url, place)
        else:
            st.info(t("field.denied"))
    field_view.recent_list(url, version, ref, reports)


kiosk.live(page, __file__, layers=("field_reports",))
