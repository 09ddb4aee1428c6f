"""物資要請 in Chromium on a 1024×768 tablet: shelter staff ask for an item with quantity and
urgency; every touch target of the form is at least 44 px (measured); the HQ sees it."""

from __future__ import annotations

from geodata.store.core import open_store
from tests.browser import test_shelters as shelters_browser
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shelters import STAFF_SHELTER, STAFF_SHELTER_NAME, open_page

# the shelters browser tests' server on a private copy of the store, and their page list
shelters_app = shelters_browser.shelters_app
pages = shelters_browser.pages
MIN_TARGET = 44  # px: WCAG 2.5.5 / Apple HIG touch target


def _requests(db: str):
    store = open_store(db)
    try:
        return store.read("supply_requests")
    finally:
        store.dispose()


def test_staff_request_supplies_on_a_tablet_with_big_touch_targets(browser, shelters_app, pages):
    tablet = open_page(browser, shelters_app, "staff", "/shelters", width=1024, height=768)
    pages.append(tablet)
    form = tablet.locator(".st-key-supply-form")
    send = form.get_by_role("button", name="要請を送信")
    send.wait_for(timeout=90_000)
    before = len(_requests(shelters_app["db"]))

    diapers = form.get_by_role("radio", name="紙おむつ", exact=True)  # single-choice pills
    diapers.click()
    form.get_by_label("品目の詳細", exact=False).fill("Lサイズ")
    quantity = tablet.locator(f".st-key-sup_qty_{STAFF_SHELTER} input")
    quantity.fill("30")
    urgent = form.get_by_role("radio", name="至急", exact=True)
    if urgent.count() == 0:  # segmented controls are buttons in some Streamlit versions
        urgent = form.get_by_role("button", name="至急", exact=True)
    urgent.click()

    # Every touch target of the form, measured where it is drawn (1024×768, no zoom).
    targets = {
        "item pill": diapers,
        "another item pill": form.get_by_role("radio", name="水", exact=True),
        "urgency": urgent,
        "quantity input": quantity,
        "quantity +": tablet.locator(
            f".st-key-sup_qty_{STAFF_SHELTER} [data-testid='stNumberInputStepUp']"
        ),
        "unit input": tablet.locator(f".st-key-sup_unit_{STAFF_SHELTER} input"),
        "item details input": form.get_by_label("品目の詳細", exact=False),
        "send": send,
    }
    sizes = {name: loc.bounding_box() for name, loc in targets.items()}
    small = {
        name: (round(box["width"]), round(box["height"]))
        for name, box in sizes.items()
        if box["height"] < MIN_TARGET or box["width"] < MIN_TARGET
    }
    assert small == {}, small
    form.scroll_into_view_if_needed()
    tablet.wait_for_timeout(500)
    tablet.screenshot(path=str(ARTIFACTS / "supplies-form-tablet-1024.png"))
    form.screenshot(path=str(ARTIFACTS / "supplies-form-tablet-1024-form.png"))

    send.click()
    tablet.get_by_text("紙おむつ（Lサイズ） 30枚（至急） を要請しました").wait_for(timeout=60_000)
    saved = _requests(shelters_app["db"])
    assert len(saved) == before + 1
    row = saved.sort_values("requested_at").iloc[-1]
    assert (row["shelter_id"], row["item"], row["item_text"], row["quantity"]) == (
        STAFF_SHELTER, "diapers", "Lサイズ", 30,
    )  # fmt: skip
    assert (row["unit"], row["urgency"], row["state"], row["requested_by"]) == (
        "枚", "urgent", "requested", "staff",
    )  # fmt: skip
    # the shelter's open requests list it under the form
    listed = tablet.get_by_text("この避難所の未配送の要請")
    listed.wait_for(timeout=30_000)
    listed.scroll_into_view_if_needed()
    tablet.wait_for_timeout(800)
    tablet.screenshot(path=str(ARTIFACTS / "supplies-after-tablet-1024.png"))

    # the HQ: the urgent request is first in the table across shelters and can be arranged
    desk = open_page(browser, shelters_app, "operator", "/shelters")
    pages.append(desk)
    desk.get_by_text("物資要請（全避難所・至急順）").wait_for(timeout=90_000)
    desk.get_by_role("button", name="手配済にする").click()
    desk.get_by_text("手配済 にしました", exact=False).wait_for(timeout=60_000)
    states = _requests(shelters_app["db"]).sort_values("version")
    mine = states[states["request_id"] == row["request_id"]]
    assert mine["state"].tolist() == ["requested", "arranged"]
    desk.wait_for_timeout(800)
    desk.get_by_text("物資要請（全避難所・至急順）").scroll_into_view_if_needed()
    desk.wait_for_timeout(500)
    desk.screenshot(path=str(ARTIFACTS / "supplies-desk-1920.png"))
    assert STAFF_SHELTER_NAME  # the form was for the staff member's own shelter
    assert tablet.offline.blocked == [] and desk.offline.blocked == []
