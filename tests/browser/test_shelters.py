"""避難所 and 現地調査 in Chromium: two editors on one shelter, the tablet form, screenshots.

These tests write to the store, so they run against their own copy of the reference store and
their own Streamlit server (``shelters_app``), not the shared ``app_server``.
"""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from geodata.store.core import open_store
from tests.accounts import ensure_accounts, session_cookie
from tests.browser.conftest import ARTIFACTS, _instrument
from tests.browser.conftest import REFRESH_SECONDS as REFRESH_SECONDS  # re-exported
from tests.browser.conftest import serve as serve  # re-exported to the other browser tests

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
STAFF_SHELTER = "E1320800002"  # 開設, 3 evacuees of about 30 (conftest.SHELTER_REPORTS)
STAFF_SHELTER_NAME = "特別養護老人ホームちょうふ花園"


def copy_store(reference_store: dict, target: Path) -> str:
    """A private copy of the session's reference store (with the test accounts)."""
    source = reference_store["url"].removeprefix("sqlite:///")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    url = f"sqlite:///{target}"
    ensure_accounts(url, shelter_ids=[STAFF_SHELTER])
    return url


def open_page(browser, app: dict, user: str, path: str, width: int = 1920, height: int = 1080):
    """A page logged in as ``user`` (signed session cookie), only loopback network."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
    context.add_cookies([session_cookie(app["db"], user, app["url"])])
    page = _instrument(context)
    page.goto(app["url"] + path, wait_until="domcontentloaded")
    return page


def wait_for_map(page) -> None:
    page.frame_locator(MAP_FRAME).first.locator("path.bosai-town").first.wait_for(
        state="attached", timeout=90_000
    )


def history(db_url: str, shelter_id: str):
    store = open_store(db_url)
    try:
        return store.shelter_status_history(shelter_id)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def shelters_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("shelters_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    with serve(db, workdir) as url:
        yield {"url": url, "db": db, "workdir": workdir}


@pytest.fixture
def pages(browser) -> Iterator[list]:
    """Pages opened by a test; their contexts are closed after it."""
    opened: list = []
    yield opened
    for page in opened:
        page.context.close()


def choose_shelter(page, shelter_id: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has_text="避難所を選択")
    box.locator("input").click()
    page.get_by_role("option", name=shelter_id).click()
    expect(box.locator("input")).to_have_value(re.compile(shelter_id), timeout=30_000)
    evacuees_input(page, shelter_id).wait_for(timeout=60_000)
    expect(form_of(page).get_by_label("避難者数（人）")).to_have_count(1, timeout=60_000)


def evacuees_input(page, shelter_id: str):
    """The evacuees field of the form of ``shelter_id`` (widget keys name the shelter)."""
    return page.locator(f".st-key-shf_{shelter_id}_evacuees input")


def table_rows(scope) -> list[list[str]]:
    """The cell texts of the body rows of the (st.table) table in ``scope``."""
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in scope.locator("tbody tr").all()
    ]


def form_of(page):
    return page.locator(".st-key-shelter-form")


def submit_update(page, shelter_id: str, evacuees: int, status: str | None = None) -> None:
    form = form_of(page)
    if status:
        form.get_by_role("radio", name=status, exact=True).click()
    field = evacuees_input(page, shelter_id)
    field.fill(str(evacuees))
    field.press("Tab")
    form.get_by_role("button", name="更新する").click()


def test_two_editors_conflict_and_nothing_is_lost(browser, shelters_app, pages):
    db = shelters_app["db"]
    base_version = int(history(db, STAFF_SHELTER)["version"].max())
    # A: the shelter's own staff on a tablet; B: an HQ operator at a desk. Both open the form.
    a = open_page(browser, shelters_app, "staff", "/shelters", width=1024, height=768)
    b = open_page(browser, shelters_app, "operator", "/shelters")
    pages += [a, b]
    form_of(a).get_by_role("button", name="更新する").wait_for(timeout=90_000)
    form_of(b).wait_for(state="attached", timeout=90_000)
    choose_shelter(b, STAFF_SHELTER)
    expect(evacuees_input(b, STAFF_SHELTER)).to_have_value("3", timeout=60_000)

    evacuees_input(a, STAFF_SHELTER).wait_for(timeout=60_000)  # their own shelter, preselected
    submit_update(a, STAFF_SHELTER, 12)  # A saves first
    a.get_by_text(f"{STAFF_SHELTER_NAME} を更新しました（第{base_version + 1}版）").wait_for(
        timeout=60_000
    )
    submit_update(b, STAFF_SHELTER, 20, status="満員")  # B's form still stands on the old version
    conflict = b.locator(".st-key-shelter-conflict")
    conflict.get_by_text("この避難所は、フォームを開いた後に更新されました").wait_for(
        timeout=60_000
    )
    conflict.locator("tbody tr").nth(4).wait_for(timeout=30_000)  # one row per field
    rows = {r[0]: r[1:] for r in table_rows(conflict.locator("table").first)}  # the diff
    assert rows["避難者数（人）"] == ["12", "20"]  # A's saved value beside B's input
    assert rows["状況"] == ["開設", "満員"]
    assert len(history(db, STAFF_SHELTER)) == base_version + 1  # B's input not written yet
    b.screenshot(path=str(ARTIFACTS / "shelters-conflict.png"))

    # Both changed the count: B chooses per field (the status only B changed is B's).
    conflict.get_by_text("あなたの入力: 20").click()
    confirm = conflict.get_by_role("button", name="選んだ内容で更新する", exact=False)
    expect(confirm).to_be_enabled(timeout=30_000)
    confirm.click()
    b.get_by_text(f"{STAFF_SHELTER_NAME} を更新しました（第{base_version + 2}版）").wait_for(
        timeout=60_000
    )
    rows = history(db, STAFF_SHELTER)[["version", "status", "evacuees", "reported_by"]]
    assert rows.values.tolist()[-2:] == [
        [base_version + 1, "開設", 12, "staff"],
        [base_version + 2, "満員", 20, "operator"],
    ]
    # the page's history lists both writes
    b.get_by_test_id("stDataFrame").last.wait_for(timeout=30_000)
    assert a.offline.blocked == [] and b.offline.blocked == []


def test_two_editors_merge_per_field_and_keep_the_others_note_and_the_imported_needs(
    browser, shelters_app, pages
):
    db = shelters_app["db"]
    store = open_store(db)  # a needs list from another system's file (the form has none)
    try:
        store.update_shelter_status(
            STAFF_SHELTER, {"needs": ["food", "blankets"]}, base_version=None, actor="import"
        )
    finally:
        store.dispose()
    base_version = int(history(db, STAFF_SHELTER)["version"].max())
    a = open_page(browser, shelters_app, "staff", "/shelters", width=1024, height=768)
    b = open_page(browser, shelters_app, "operator", "/shelters")
    pages += [a, b]
    form_of(a).get_by_role("button", name="更新する").wait_for(timeout=90_000)
    form_of(b).wait_for(state="attached", timeout=90_000)
    choose_shelter(b, STAFF_SHELTER)
    evacuees_input(a, STAFF_SHELTER).wait_for(timeout=60_000)
    # A (shelter staff): writes a note, counts 30 — and saves first.
    form_of(a).get_by_label("メモ").fill("食料を要請（50食）")
    submit_update(a, STAFF_SHELTER, 30)
    a.get_by_text(f"{STAFF_SHELTER_NAME} を更新しました（第{base_version + 1}版）").wait_for(
        timeout=60_000
    )
    # B (HQ, form opened before A saved): counts 25, writes another note.
    form_of(b).get_by_label("メモ").fill("毛布20枚が不足")
    submit_update(b, STAFF_SHELTER, 25)
    conflict = b.locator(".st-key-shelter-conflict")
    conflict.get_by_text("この避難所は、フォームを開いた後に更新されました").wait_for(
        timeout=60_000
    )
    # The count both changed is chosen per field: B keeps A's 30 (counted at the shelter).
    conflict.get_by_text("最新の値: 30").click()
    confirm = conflict.get_by_role("button", name="選んだ内容で更新する", exact=False)
    expect(confirm).to_be_enabled(timeout=30_000)
    b.wait_for_timeout(500)
    b.screenshot(path=str(ARTIFACTS / "shelters-merge-per-field.png"), full_page=True)
    confirm.click()
    b.get_by_text(f"{STAFF_SHELTER_NAME} を更新しました（第{base_version + 2}版）").wait_for(
        timeout=60_000
    )
    last = history(db, STAFF_SHELTER).iloc[-1]
    assert int(last["version"]) == base_version + 2 and last["reported_by"] == "operator"
    assert int(last["evacuees"]) == 30
    assert set(last["needs"]) == {"food", "blankets"}  # the imported list survived both
    note = last["note"]
    assert re.search(r"【\d\d/\d\d \d\d:\d\d staff】食料を要請（50食）", note), note
    assert re.search(r"【\d\d/\d\d \d\d:\d\d operator】毛布20枚が不足", note), note
    assert note.index("staff】") < note.index("operator】")  # theirs first, then mine
    assert a.offline.blocked == [] and b.offline.blocked == []


def test_screenshots_of_the_shelters_page_and_the_tablet_form(browser, shelters_app, pages):
    desk = open_page(browser, shelters_app, "operator", "/shelters")
    tablet = open_page(browser, shelters_app, "staff", "/shelters", width=1024, height=768)
    pages += [desk, tablet]
    wait_for_map(desk)
    desk.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
    desk.wait_for_timeout(1500)
    desk.screenshot(path=str(ARTIFACTS / "shelters-1920.png"))
    form_of(tablet).get_by_role("button", name="更新する").wait_for(timeout=90_000)
    tablet.wait_for_timeout(1000)
    tablet.screenshot(path=str(ARTIFACTS / "shelters-form-tablet-1024.png"))
    # touch targets: the submit button and the status buttons are at least 44 px high
    submit = form_of(tablet).get_by_role("button", name="更新する").bounding_box()
    status = form_of(tablet).get_by_role("radio", name="満員", exact=True).bounding_box()
    assert submit["height"] >= 44 and status["height"] >= 44, (submit, status)
    assert desk.offline.blocked == [] and tablet.offline.blocked == []


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def test_field_report_with_a_photo_and_screenshot(browser, shelters_app, pages):
    page = open_page(browser, shelters_app, "operator", "/field")
    pages.append(page)
    wait_for_map(page)
    # a click on the map chooses a place; the marker is added inside the same map
    map_frame = page.frame_locator(MAP_FRAME).first
    map_frame.locator(".leaflet-container").click(position={"x": 420, "y": 300})
    page.get_by_text("地図で指定した場所（", exact=False).wait_for(timeout=60_000)
    map_frame.locator("path.bosai-picked").wait_for(state="attached", timeout=30_000)
    # then an address overrides it
    page.get_by_label("住所・地名", exact=False).fill("国領町3-1-2")
    page.get_by_role("button", name="場所を探す").click()
    page.get_by_text("国領町三丁目（住所", exact=False).wait_for(timeout=60_000)
    form = page.locator(".st-key-field-form")
    form.get_by_role("radio", name="浸水・冠水").click()
    form.get_by_role("radio", name="2 中程度").click()
    form.get_by_label("状況の説明").fill("市道が冠水、車両通行不可")
    form.locator("input[type=file]").set_input_files(
        {"name": "冠水.png", "mimeType": "image/png", "buffer": _png()}
    )
    form.get_by_text("冠水.png").wait_for(timeout=30_000)
    form.get_by_role("button", name="報告を送信").click()
    page.get_by_text("報告を保存しました（浸水・冠水、国領町三丁目）").wait_for(timeout=60_000)
    store = open_store(shelters_app["db"])
    try:
        reports = store.read("field_reports")
    finally:
        store.dispose()
    row = reports.iloc[-1]
    assert (row["category"], row["severity"], row["reported_by"]) == ("浸水・冠水", 2, "operator")
    photo = Path(row["photo_url"])
    assert photo.is_file() and photo.read_bytes() == _png()
    assert photo.is_relative_to(shelters_app["workdir"] / "uploads")
    # the new report is in the list and on the map
    page.frame_locator(MAP_FRAME).first.locator("path.bosai-field").first.wait_for(
        state="attached", timeout=30_000
    )
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "field-1920.png"))
    assert page.offline.blocked == []
