"""物資要請 on the shelters page: the tablet form that asks for an item, a shelter's open
requests, the table across shelters (urgent first) and the HQ's state changes.

The rules — who may ask, who may arrange, what a state may become — are
:mod:`geodata.supplies`; the writes go through :mod:`dashboard.shelters.data`, which checks the
role right before writing.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.i18n import current_lang, t
from dashboard.shelters import board as shelters
from dashboard.shelters.data import create_request, move_request
from dashboard.shelters.view import Board
from geodata import supplies
from geodata.access.roles import Forbidden, allowed
from geodata.store.core import StaleVersion
from geodata.vocab import SUPPLY_ITEMS, SUPPLY_STATES, SUPPLY_URGENCIES

FORM_KEY = "supply-form"  # CSS class st-key-supply-form: the big tablet inputs
FLASH_KEY = "shelters_flash"  # the page's flash messages (dashboard.shelters.form.flash)
# Touch targets of at least 48 px (a finger on a tablet in a gym hall): the item and urgency
# pills, the inputs and the send button.
_TABLET_CSS = """
<style>
  .st-key-supply-form input, .st-key-supply-form textarea { font-size: 1.3rem !important;
      min-height: 3rem; }
  .st-key-supply-form [data-testid="stNumberInput"] input { min-height: 3rem; }
  .st-key-supply-form [data-testid="stNumberInputContainer"] { height: auto !important;
      min-height: 3rem; }
  .st-key-supply-form [data-testid="stNumberInputStepDown"],
  .st-key-supply-form [data-testid="stNumberInputStepUp"] { width: 3rem !important;
      min-height: 3rem !important; height: 3rem !important; }
  .st-key-supply-form [data-testid="stWidgetLabel"] p { font-size: 1.15rem !important;
      font-weight: 600; }
  .st-key-supply-form button[data-variant="segmented_control"],
  .st-key-supply-form button[data-variant="pills"] {
      min-height: 3rem; min-width: 5.5rem; font-size: 1.2rem !important; }
  .st-key-supply-form button[data-variant="pills"][aria-checked="true"],
  .st-key-supply-form button[data-variant="pills"][aria-pressed="true"],
  .st-key-supply-form button[data-variant="pills"][data-selected="true"] {
      background: #1f4e9c !important; color: #fff !important; border-color: #1f4e9c !important; }
  .st-key-supply-form [data-testid="stFormSubmitButton"] button,
  .st-key-supply-actions button { min-height: 3.2rem; font-size: 1.25rem !important; }
</style>
"""


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text))


def request_form(b: Board, shelter_id: str) -> None:
    """The form shelter staff (or the HQ) ask for one item with: item, quantity, urgency."""
    lang = current_lang()
    st.html(_TABLET_CSS)
    with st.container(key=FORM_KEY):
        st.markdown(f"#### {t('supplies.form.title')}")
        with st.form(f"supply_request_{shelter_id}", border=True, clear_on_submit=True):
            item = st.pills(
                t("supplies.field.item"),
                options=list(SUPPLY_ITEMS.codes),
                format_func=lambda c: SUPPLY_ITEMS.label(c, lang),
                selection_mode="single",
                key=f"sup_item_{shelter_id}",
            )
            item_text = st.text_input(
                t("supplies.field.item_text"), key=f"sup_text_{shelter_id}", max_chars=60
            )
            cols = st.columns([2, 1])
            quantity = cols[0].number_input(
                t("supplies.field.quantity"),
                min_value=1,
                step=1,
                value=None,
                key=f"sup_qty_{shelter_id}",
            )
            unit = cols[1].text_input(
                t("supplies.field.unit"),
                placeholder="本・食・枚",
                key=f"sup_unit_{shelter_id}",
                max_chars=10,
            )
            urgency = st.segmented_control(
                t("supplies.field.urgency"),
                options=list(SUPPLY_URGENCIES.codes),
                format_func=lambda c: SUPPLY_URGENCIES.label(c, lang),
                default="normal",
                key=f"sup_urgency_{shelter_id}",
            )
            note = st.text_input(
                t("supplies.field.note"), key=f"sup_note_{shelter_id}", max_chars=200
            )
            sent = st.form_submit_button(t("supplies.submit"), type="primary", width="stretch")
    if not sent:
        return
    if not item:
        st.error(t("supplies.invalid", error=t("supplies.field.item")))
        return
    fields = {
        "item": item,
        "item_text": item_text,
        "quantity": None if quantity is None else int(quantity),
        "unit": unit,
        "urgency": urgency or "normal",
        "note": note,
    }
    try:
        new = create_request(b.url, shelter_id, fields)
    except Forbidden:
        st.error(t("supplies.denied"))
        return
    except ValueError as exc:
        st.error(t("supplies.invalid", error=str(exc)[:200]))
        return
    _flash("success", t("supplies.saved", item=supplies.request_label(new, lang)))
    st.rerun()


def display(requests: pd.DataFrame, names: dict, lang: str) -> pd.DataFrame:
    """Requests as people read them: shelter, item, quantity, urgency, state, times, who."""
    rows = requests.to_dict("records")
    return pd.DataFrame(
        {
            t("shelters.col.name", lang=lang): [names.get(r["shelter_id"], r["shelter_id"]) for r in rows],
            t("supplies.col.item", lang=lang): [supplies.item_label(r, lang) for r in rows],
            t("supplies.col.quantity", lang=lang): [supplies.quantity_label(r) for r in rows],
            t("supplies.col.urgency", lang=lang): [SUPPLY_URGENCIES.label(r["urgency"], lang) for r in rows],
            t("supplies.col.state", lang=lang): [SUPPLY_STATES.label(r["state"], lang) for r in rows],
            t("supplies.col.requested", lang=lang): [shelters.format_time(r["requested_at"]) for r in rows],
            t("supplies.col.updated", lang=lang): [shelters.format_time(r["updated_at"]) for r in rows],
            t("supplies.col.by", lang=lang): [r.get("requested_by") or "" for r in rows],
        }
    )  # fmt: skip


def _styled(requests: pd.DataFrame, frame: pd.DataFrame, lang: str):
    urgency_col = t("supplies.col.urgency", lang=lang)
    marks = [
        "background-color: #b30000; color: #ffffff; font-weight: 700"
        if r["urgency"] == supplies.URGENT and r["state"] in supplies.OPEN_STATES
        else ""
        for r in requests.to_dict("records")
    ]
    # st.dataframe shows cells as text (no markdown): no escaping needed here
    return frame.style.apply(
        lambda col: marks if col.name == urgency_col else [""] * len(col), axis=0
    ).hide(axis="index")


def shelter_requests(b: Board, shelter_id: str) -> None:
    """The open requests of one shelter (under its form)."""
    lang = current_lang()
    mine = b.requests[b.requests["shelter_id"] == shelter_id] if len(b.requests) else b.requests
    still = supplies.open_requests(mine)
    st.markdown(f"**{t('supplies.open_of')}**")
    if still.empty:
        st.caption(t("supplies.none"))
        return
    names = dict(zip(b.board["shelter_id"], b.board["name"], strict=True))
    frame = display(still, names, lang)
    st.dataframe(_styled(still, frame, lang), hide_index=True, width="stretch",
                 key=f"supplies_of_{shelter_id}")  # fmt: skip


def requests_table(b: Board) -> None:
    """Every shelter's requests, open ones first and urgent first, and the HQ's state changes."""
    lang = current_lang()
    st.markdown(f"### {t('supplies.table')}")
    if b.requests.empty:
        st.caption(t("supplies.none"))
        return
    ordered = supplies.sort_by_urgency(b.requests)
    names = dict(zip(b.board["shelter_id"], b.board["name"], strict=True))
    frame = display(ordered, names, lang)
    st.dataframe(_styled(ordered, frame, lang), hide_index=True, width="stretch",
                 height=min(360, 40 + 35 * len(frame)), key="supplies_table")  # fmt: skip
    user = auth.current_user()
    if allowed(user, "shelters", "arrange_supplies"):
        actions(b, ordered, names, lang)


def actions(b: Board, ordered: pd.DataFrame, names: dict, lang: str) -> None:
    """Pick a request; one button per state it may become (HQ operators; reopening a delivered
    one: administrators)."""
    user = auth.current_user()
    reopen = allowed(user, "shelters", "reopen_supplies")
    pickable = ordered if reopen else ordered[ordered["state"].isin(supplies.OPEN_STATES)]
    if pickable.empty:
        return
    records = {r["request_id"]: r for r in pickable.to_dict("records")}
    with st.container(key="supply-actions"):
        rid = st.selectbox(
            t("supplies.pick"),
            options=list(records),
            format_func=lambda i: (
                f"{names.get(records[i]['shelter_id'], records[i]['shelter_id'])} — "
                f"{supplies.request_label(records[i], lang)} — "
                f"{SUPPLY_STATES.label(records[i]['state'], lang)}"
            ),
            key="supplies_pick",
        )
        current = records[rid]
        targets = [
            s
            for s in SUPPLY_STATES.codes
            if supplies.allowed_transition(current["state"], s, reopen=reopen)
        ]
        cols = st.columns(max(1, len(targets)))
        for col, state in zip(cols, targets, strict=False):
            label = t("supplies.action.to", state=SUPPLY_STATES.label(state, lang))
            if col.button(label, key=f"supplies_to_{state}", width="stretch"):
                _move(b, current, state, lang)


def _move(b: Board, current: dict, state: str, lang: str) -> None:
    try:
        move_request(b.url, current, state)
    except Forbidden:
        st.error(t("supplies.denied"))
        return
    except StaleVersion:
        _flash("warning", t("supplies.stale"))
        st.rerun()
    except ValueError as exc:
        st.error(t("supplies.invalid", error=str(exc)[:200]))
        return
    label = supplies.request_label(current, lang)
    _flash("success", t("supplies.moved", item=label, state=SUPPLY_STATES.label(state, lang)))
    st.rerun()
