"""避難所 Shelters: status board and map, the update form (version-checked), supply requests
(物資要請), history per shelter."""

import streamlit as st

from dashboard import auth, kiosk
from dashboard.i18n import t
from dashboard.shelters import form as shelters_form
from dashboard.shelters import supplies as shelters_supplies
from dashboard.shelters import view as shelters_view
from geodata.access import roles

user = auth.require_page(__file__)


def wall_screen() -> None:
    """Tiles, open shelters and the map; re-run in place every BOSAI_REFRESH_SECONDS."""
    b = shelters_view.load()
    if b is None:
        return
    shelters_view.title(b)
    shelters_view.kpi_tiles(b)
    left, right = st.columns([3, 2])
    with left:
        shelters_view.board_table(b, b.board)
    with right:
        shelters_view.shelter_map(b, height=720)


def board(b: shelters_view.Board) -> None:
    shelters_view.kpi_tiles(b)
    shelters_view.board_table(b, shelters_view.filters(b.board))


def detail(b: shelters_view.Board, editable: list[str], side_by_side: bool) -> None:
    """Choose a shelter; its update form (when the user may) and its history."""
    st.markdown(f"### {t('shelters.update.title')}")
    shelters_form.flash()
    shelter_id = shelters_form.choose(b, editable)
    shelters_view.welfare_note(b, shelter_id)
    if not side_by_side:
        shelters_form.section(b, shelter_id, may_update=shelter_id in editable)
        if shelter_id in editable:
            shelters_supplies.request_form(b, shelter_id)
        shelters_supplies.shelter_requests(b, shelter_id)
        shelters_view.history(b, shelter_id)
        return
    form_col, chart_col = st.columns(2, gap="large")
    with form_col:
        shelters_form.section(b, shelter_id, may_update=shelter_id in editable)
    with chart_col:
        shelters_view.history(b, shelter_id)


def desk() -> None:
    b = shelters_view.load()
    if b is None:
        return
    shelters_view.title(b)
    editable = roles.shelter_scope(user, b.board["shelter_id"].tolist())
    if user.role == "shelter_staff":  # on the tablet the form of their own shelter comes first
        detail(b, editable, side_by_side=False)
        st.divider()
        board(b)
        shelters_view.shelter_map(b)
        return
    board(b)
    map_col, detail_col = st.columns([3, 2], gap="large")
    with map_col:
        shelters_view.shelter_map(b, height=640)
        shelters_supplies.requests_table(b)
    with detail_col:
        detail(b, editable, side_by_side=False)


if kiosk.enabled():
    kiosk.live(wall_screen, __file__, layers=("shelter_status",))
else:
    desk()
