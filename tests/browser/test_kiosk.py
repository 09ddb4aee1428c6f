"""The wall screen (?kiosk=1) in Chromium: an update made in another browser shows up within one
refresh interval, without a page reload and without losing the map's view.

Runs its own server on a private copy of the reference store (the update changes the data).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shelters import (
    MAP_FRAME,
    REFRESH_SECONDS,
    STAFF_SHELTER,
    copy_store,
    evacuees_input,
    form_of,
    history,
    open_page,
    serve,
    submit_update,
    table_rows,
    wait_for_map,
)

STAFF_SHELTER_NAME = "特別養護老人ホームちょうふ花園"
SLACK_SECONDS = 2  # the data must be on the wall within one refresh interval + this


@pytest.fixture(scope="module")
def kiosk_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("kiosk_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    with serve(db, workdir) as url:
        yield {"url": url, "db": db, "workdir": workdir}


@pytest.fixture
def pages() -> Iterator[list]:
    opened: list = []
    yield opened
    for page in opened:
        page.context.close()


def _map_frame(page):
    return next(f for f in page.frames if "streamlit_folium" in (f.url or ""))


def _wall_row(page, name: str) -> list[str] | None:
    for row in table_rows(page.get_by_test_id("stTable")):
        if row and row[0] == name:
            return row
    return None


def test_update_in_one_browser_reaches_the_wall_screen_and_the_map_keeps_its_view(
    browser, kiosk_app, pages
):
    wall = open_page(browser, kiosk_app, "viewer", "/shelters?kiosk=1")
    pages.append(wall)
    wait_for_map(wall)
    expect(wall.get_by_test_id("stSidebar")).to_be_hidden()
    assert _wall_row(wall, STAFF_SHELTER_NAME)[2] == "3"
    # someone at the wall zooms into the town; the next refreshes must not undo it
    frame = _map_frame(wall)
    # the map fits itself to the city once on its first resize (and 250/300 ms after it is
    # made): let those happen first, so what follows can only be the refreshes
    wall.wait_for_timeout(1500)
    frame.evaluate("map_div.fire('resize')")
    frame.evaluate("window.__wall_probe = 'same map'; map_div.setView([35.655, 139.56], 15)")
    wall.wait_for_timeout(REFRESH_SECONDS * 1000 + 500)  # at least one refresh without changes
    assert _map_frame(wall).evaluate("map_div.getZoom()") == 15

    editor = open_page(browser, kiosk_app, "staff", "/shelters", width=1024, height=768)
    pages.append(editor)
    evacuees_input(editor, STAFF_SHELTER).wait_for(timeout=90_000)
    submit_update(editor, STAFF_SHELTER, 26)
    editor.get_by_text(f"{STAFF_SHELTER_NAME} を更新しました", exact=False).wait_for(timeout=60_000)
    saved = time.monotonic()
    assert history(kiosk_app["db"], STAFF_SHELTER)["evacuees"].iloc[-1] == 26

    deadline = saved + REFRESH_SECONDS + SLACK_SECONDS
    while True:
        row = _wall_row(wall, STAFF_SHELTER_NAME)
        if row and row[2] == "26":
            break
        assert time.monotonic() < deadline, f"not on the wall after {deadline - saved} s: {row}"
        wall.wait_for_timeout(200)
    seen_after = time.monotonic() - saved
    assert row[4] == "87%"  # 26 of about 30
    # the map: the same Leaflet map (no reload), the same view, the new count on it
    frame = _map_frame(wall)
    expect(wall.frame_locator(MAP_FRAME).locator(".bosai-count", has_text="26人")).to_have_count(
        1, timeout=SLACK_SECONDS * 1000
    )
    assert frame.evaluate("window.__wall_probe") == "same map"
    assert frame.evaluate("map_div.getZoom()") == 15
    center = frame.evaluate("map_div.getCenter()")
    assert abs(center["lat"] - 35.655) < 1e-6 and abs(center["lng"] - 139.56) < 1e-6
    assert frame.evaluate("document.querySelectorAll('.leaflet-control-layers').length") == 1
    print(f"update visible on the wall screen {seen_after:.1f} s after the save")
    assert wall.offline.blocked == [] and editor.offline.blocked == []


def _add_field_reports(db: str) -> None:
    from datetime import UTC, datetime, timedelta

    import shapely

    from dashboard.field import report as field
    from geodata.store.core import open_store
    from geodata.text.geocode import Gazetteer

    now = datetime.now(UTC)
    reports = (
        (
            "浸水・冠水",
            3,
            "国領町3丁目 市道冠水 膝下。田中様 090-1234-5678 から通報",
            35.650,
            139.560,
        ),
        ("道路・交通", 2, "布田駅前 信号停止、交通整理が必要", 35.650, 139.552),
        ("建物被害", 1, "住宅の瓦が落下", 35.662, 139.573),
    )
    store = open_store(db)
    try:
        towns = Gazetteer.from_layers(store.read("towns"), landmarks=())
        for i, (category, severity, text, lat, lon) in enumerate(reports):
            point = shapely.Point(lon, lat)
            place = field.Place(point, towns.town_at(point), "", "map")
            at = now - timedelta(minutes=25 * i + 3)
            frame = field.report_frame(category, severity, text, place, "operator", at)
            store.upsert("field_reports", frame, source="dashboard", actor="operator")
    finally:
        store.dispose()


def test_wall_screen_screenshots(browser, kiosk_app, pages):
    _add_field_reports(kiosk_app["db"])
    overview = open_page(browser, kiosk_app, "viewer", "/?kiosk=1")
    shelters = open_page(browser, kiosk_app, "viewer", "/shelters?kiosk=1")
    field = open_page(browser, kiosk_app, "viewer", "/field?kiosk=1")
    pages += [overview, shelters, field]
    for page, name in (
        (overview, "kiosk-overview-1920.png"),
        (shelters, "kiosk-shelters-1920.png"),
        (field, "kiosk-field-1920.png"),
    ):
        wait_for_map(page)
        expect(page.get_by_test_id("stSidebar")).to_be_hidden()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / name))
        assert page.offline.blocked == []
    # type legible from 5 m: KPI values and wall-table cells are big
    value = shelters.get_by_test_id("stMetricValue").first
    size = float(value.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px"))
    assert size >= 60, size
    cell = shelters.get_by_test_id("stTable").locator("td").first
    assert float(cell.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 26
    assert form_of(shelters).count() == 0  # no form on the wall
    rows = table_rows(field.get_by_test_id("stTable"))
    assert [row[:4] for row in rows][0][1:4] == ["浸水・冠水", "3", "国領町三丁目"]
    descriptions = [row[-1] for row in rows]
    assert descriptions[0] == "国領町3丁目 市道冠水 膝下。田中様 [redacted] から通報"  # masked
    assert len(descriptions) == 3


def test_a_disabled_wall_account_stops_at_the_next_refresh(browser, kiosk_app, pages):
    import secrets

    from geodata.access import accounts as auth
    from geodata.store.core import open_store

    store = open_store(kiosk_app["db"])
    try:
        auth.add_user(store, "wall2", "viewer", secrets.token_urlsafe(18), actor="tests")
    finally:
        store.dispose()
    wall = open_page(browser, kiosk_app, "wall2", "/shelters?kiosk=1")
    pages.append(wall)
    wall.get_by_test_id("stTable").wait_for(timeout=90_000)
    store = open_store(kiosk_app["db"])
    try:
        auth.disable_user(store, "wall2", actor="tests")
    finally:
        store.dispose()
    # the fragment rerun (not the frame) re-checks the account: the data goes away
    wall.get_by_text("権限がありません", exact=False).wait_for(
        timeout=(REFRESH_SECONDS + SLACK_SECONDS) * 1000
    )
    expect(wall.get_by_test_id("stTable")).to_have_count(0)
