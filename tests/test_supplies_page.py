"""物資要請 on the shelters page (AppTest): shelter staff ask for an item on their shelter's
form; the HQ sees it on the board and in the table across shelters, urgent first, and moves it
to arranged / delivered; staff get no state buttons."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from geodata.store.core import open_store
from tests import test_shelters_page as shelters_page
from tests.test_shelters_page import STAFF_SHELTER, _choose, _page

# the shelters page's fixtures: a private copy of a store with the reference layers and reports
base_store = shelters_page.base_store
store_url = shelters_page.store_url


def _requests(url: str):
    store = open_store(url)
    try:
        return store.read("supply_requests").sort_values(["request_id", "version"])
    finally:
        store.dispose()


def _ask(at: AppTest, sid: str, item: str, quantity: int, urgency: str) -> AppTest:
    at.button_group(key=f"sup_item_{sid}").set_value(item)
    at.number_input(key=f"sup_qty_{sid}").set_value(quantity)
    at.button_group(key=f"sup_urgency_{sid}").set_value(urgency)
    [button] = [b for b in at.button if b.label == "要請を送信"]
    return button.click().run()


def test_staff_ask_and_the_hq_arranges_and_delivers(monkeypatch, store_url):
    staff = _page(monkeypatch, store_url, user="staff")
    assert not staff.exception
    _ask(staff, STAFF_SHELTER, "water", 200, "urgent")
    assert not staff.exception
    assert [s.value for s in staff.success] == ["水 200本（至急） を要請しました"]
    saved = _requests(store_url)
    assert saved[
        ["item", "quantity", "unit", "urgency", "state", "requested_by"]
    ].values.tolist() == [["water", 200, "本", "urgent", "requested", "staff"]]
    assert not [b for b in staff.button if b.label.endswith("にする")]  # staff do not arrange

    hq = _page(monkeypatch, store_url, user="operator")
    assert not hq.exception
    metrics = {m.label: m.value for m in hq.metric}
    assert metrics["至急の物資要請"] == "1 / 1"
    board = hq.dataframe[0].value.set_index("避難所")
    assert "水 200本（至急）" in board.loc["下石原地域福祉センター", "物資要請"]
    [table] = [d.value for d in hq.dataframe if "品目" in d.value.columns]
    assert table.iloc[0][["品目", "数量", "緊急度", "状態"]].tolist() == [
        "水",
        "200本",
        "至急",
        "要請中",
    ]
    hq.button(key="supplies_to_arranged").click().run()
    assert not hq.exception
    hq.button(key="supplies_to_delivered").click().run()
    assert not hq.exception
    history = _requests(store_url)
    assert history["state"].tolist() == ["requested", "arranged", "delivered"]
    assert history["updated_by"].tolist() == ["staff", "operator", "operator"]
    # delivered: off the board's open requests; an operator cannot take it back
    hq = _page(monkeypatch, store_url, user="operator")
    board = hq.dataframe[0].value.set_index("避難所")
    assert "水 200本" not in board.loc["下石原地域福祉センター", "物資要請"]
    assert not [b for b in hq.button if (b.key or "").startswith("supplies_to_")]


def test_a_care_count_left_blank_is_saved_as_not_counted(monkeypatch, store_url):
    at = _choose(_page(monkeypatch, store_url), STAFF_SHELTER)
    at.number_input(key=f"shf_{STAFF_SHELTER}_care_elderly").set_value(7)
    at.number_input(key=f"shf_{STAFF_SHELTER}_care_infants").set_value(0)
    [button] = [b for b in at.button if b.label == "更新する"]
    button.click().run()
    assert not at.exception
    store = open_store(store_url)
    try:
        last = store.shelter_status_history(STAFF_SHELTER).iloc[-1]
    finally:
        store.dispose()
    assert (last["care_elderly"], last["care_infants"]) == (7, 0)
    assert pd.isna(last["care_pregnant"])  # blank: not counted, not 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["要配慮者"] == "7"
    board = at.dataframe[0].value.set_index("避難所")
    assert board.loc["下石原地域福祉センター", "要配慮者"] == "7"
