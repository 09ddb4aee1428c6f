"""通報・SNS Reports: the feed of posts and incidents beside the map, with triage."""

import streamlit as st

from dashboard import auth, kiosk
from dashboard.i18n import t
from dashboard.reports import view as reports_view
from dashboard.reports import wall as reports_wall

auth.require_page(__file__)
if kiosk.enabled():  # the wall: no filters, no cards, refreshed in place
    kiosk.live(reports_wall.wall, __file__, layers=reports_wall.LAYERS)
    st.stop()
ctx = reports_view.context()
if ctx is None:
    st.stop()

st.subheader(t("reports.title", city=reports_view.city_name(ctx)))
reports_view.show_message()
filters = reports_view.filter_bar(ctx)
view = reports_view.load_feed(ctx, filters)
incidents = reports_view.load_incidents(ctx, filters)
reports_view.kpi_row(ctx, view, incidents, filters.window)
rows, number = reports_view.page_rows(ctx, view)

left, right = st.columns([5, 6], gap="medium")
with left:
    posts_tab, incidents_tab = st.tabs(
        [
            t("reports.tab.posts", n=f"{view.total:,}"),
            t("reports.tab.incidents", n=f"{len(incidents):,}"),
        ]
    )
    with posts_tab:
        reports_view.feed(ctx, view, rows, number)
    with incidents_tab:
        reports_view.incident_list(ctx, incidents)
with right:
    reports_view.map_panel(ctx, view, rows, number, incidents)
