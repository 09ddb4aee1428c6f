"""クロノロジー The HQ's chronology: quick entry from a tablet, the timeline with filters and tasks,
printing for the meeting; the wall screen (and a viewer) gets a masked, read-only view."""

import streamlit as st

from dashboard import auth, data, kiosk, widgets
from dashboard.chronology import damage_view, view
from dashboard.i18n import t
from geodata import chronology

user = auth.require_page(__file__)


def wall_screen() -> None:
    opened = widgets.open_store()
    if opened is None:
        return
    ref = data.reference_layers(opened.url, opened.version)
    st.subheader(t("chronology.title", city=ref.city_name))
    view.wall(opened.url, opened.version, view.roster_terms(opened.url))


def desk() -> None:
    opened = widgets.open_store()
    if opened is None:
        return
    url, version = opened.url, opened.version
    ref = data.reference_layers(url, version)
    st.subheader(t("chronology.title", city=ref.city_name))
    view.flash()
    names = view.shelter_names(url, version)
    masked = not auth.can("chronology", "view_personal")
    may_record = auth.can("chronology", "record")
    record_tab, damage_tab = st.tabs([t("chronology.tab.record"), t("chronology.tab.damage")])
    with damage_tab:
        damage_view.section(url, version)
    with record_tab:
        record(url, version, names, masked, may_record)


def record(url, version, names, masked: bool, may_record: bool) -> None:
    left, right = st.columns([3, 2], gap="large") if may_record else (st.container(), None)
    with left:
        kinds, dept, shelter, as_of = view.filters(names)
        if as_of is not None:
            st.caption(
                t(
                    "chronology.as_of_note",
                    time=as_of.tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M"),
                )
            )
        frame = view.load_timeline(url, version, as_of)
        shown = view.select(frame, kinds, dept, shelter)
        if masked:
            shown = chronology.wall_view(shown, view.roster_terms(url))
        view.timeline(shown.reset_index(drop=True), masked=masked)
    if right is not None:
        with right:
            view.entry_form(url, names)
            view.tasks(url, frame)
            view.correction(url, frame)
            view.printing(url, as_of)


if kiosk.enabled():
    kiosk.live(wall_screen, __file__, layers=("chronology",))
else:
    desk()
