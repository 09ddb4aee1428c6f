"""The chronology in Chromium: an operator enters an instruction from a tablet-sized browser; it
is on the chronology page and, within one refresh, on the wall screen (masked).

Runs its own server on a private copy of the reference store (the test writes to it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shelters import REFRESH_SECONDS, copy_store, open_page, serve, table_rows

SLACK_SECONDS = 3
TEXT = "多摩川河川敷の巡回を30分ごとに実施せよ"
TITLE = "クロノロジー — 調布市"


@pytest.fixture(scope="module")
def record_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("record_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    earlier = _earlier_reports(db, reference_store["statuses"])
    with serve(db, workdir) as url:
        yield {"url": url, "db": db, "workdir": workdir, "earlier": earlier}


def _earlier_reports(db: str, current: dict) -> dict:
    """Two shelters opened three hours ago (before the store's other reports, made "now")."""
    from geodata.store.core import open_store

    store = open_store(db)
    try:
        shelters = store.read("shelters", order="shelter_id")
        ids = [s for s in shelters["shelter_id"] if s not in current][:2]
        at = pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(hours=3)
        rows = [{"shelter_id": s, "reported_at": at, "status": "開設", "evacuees": n,
                 "source_id": f"earlier-{s}"} for s, n in zip(ids, (11, 22), strict=True)]  # fmt: skip
        assert store.append_shelter_status(pd.DataFrame(rows), source="test:earlier").inserted == 2
        return {"at": at, "shelters": len(shelters)}
    finally:
        store.dispose()


def _metric(page, label: str) -> str:
    tile = page.get_by_test_id("stMetric").filter(has_text=label)
    return tile.get_by_test_id("stMetricValue").inner_text()


@pytest.fixture
def pages() -> Iterator[list]:
    opened: list = []
    yield opened
    for page in opened:
        page.context.close()


def _choose(page, scope, label: str, option: str) -> None:
    scope.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def _texts(scope) -> list[str]:
    return [" | ".join(row) for row in table_rows(scope)]


def test_an_instruction_from_a_tablet_reaches_the_page_and_the_wall(browser, record_app, pages):
    wall = open_page(browser, record_app, "viewer", "/chronology?kiosk=1")
    pages.append(wall)
    wall.get_by_role("heading", name=TITLE).wait_for(timeout=60_000)

    tablet = open_page(browser, record_app, "operator", "/chronology", width=820, height=1180)
    pages.append(tablet)
    form = tablet.locator(".st-key-chrono-entry")
    form.get_by_role("button", name="記録", exact=True).wait_for(timeout=60_000)
    form.get_by_role("radio", name="指示", exact=True).click()
    _choose(tablet, form, "発信", "本部長室")
    _choose(tablet, form, "宛先", "建設部")
    _choose(tablet, form, "担当部署（タスクにする）", "建設部")
    form.get_by_label("内容").fill(TEXT)
    # touch targets of at least 44 px on the tablet
    for role, name in (("button", "記録"), ("radio", "指示"), ("radio", "報告")):
        box = form.get_by_role(role, name=name, exact=True).bounding_box()
        assert box["height"] >= 44, (name, box)
    tablet.screenshot(path=str(ARTIFACTS / "chronology-tablet-form.png"), full_page=True)
    sent = time.monotonic()
    form.get_by_role("button", name="記録", exact=True).click()
    tablet.get_by_text("記録しました。").wait_for(timeout=30_000)
    desk = tablet.locator(".st-key-desk-chronology")
    expect(desk.locator("tbody tr").first).to_contain_text(TEXT, timeout=30_000)
    first = table_rows(desk)[0]
    assert first[1] == "指示" and first[2] == "本部長室 → 建設部"
    assert first[4].startswith("建設部") and "未着手" in first[4]
    assert first[5] == "operator"

    board = wall.locator(".st-key-wall-chronology")
    deadline = sent + REFRESH_SECONDS + SLACK_SECONDS
    expect(board.locator("tbody tr").first).to_contain_text(
        TEXT, timeout=(REFRESH_SECONDS + SLACK_SECONDS) * 1000
    )
    assert time.monotonic() <= deadline + 2  # one refresh interval (+ rendering)
    row = table_rows(board)[0]
    assert row[1] == "指示" and "未着手" in row[4]
    assert len(row) == 5  # no 記入者 column on the wall
    assert "operator" not in " ".join(_texts(board))
    wall.screenshot(path=str(ARTIFACTS / "chronology-wall.png"), full_page=True)
    assert wall.offline.blocked == [] and tablet.offline.blocked == []


def test_the_overview_as_of_an_earlier_time_shows_the_shelter_counts_of_then(
    browser, record_app, pages
):
    earlier, total = record_app["earlier"]["at"], record_app["earlier"]["shelters"]
    page = open_page(browser, record_app, "operator", "/")
    pages.append(page)
    page.get_by_test_id("stMetric").first.wait_for(timeout=60_000)
    now_open = int(_metric(page, "開設中の避難所").split("/")[0])
    assert now_open == 2 + 5  # the two earlier ones and 4 開設 + 1 満員 of conftest.SHELTER_REPORTS
    then = (earlier + pd.Timedelta(hours=1)).tz_convert("Asia/Tokyo").strftime("%Y-%m-%dT%H:%M")
    page.goto(record_app["url"] + f"/?as_of={then}", wait_until="domcontentloaded")
    try:
        page.get_by_text("時点の状況（記録から再構成）").wait_for(timeout=60_000)
    finally:  # kept for a person to look at (and to see why, on a failure)
        page.screenshot(path=str(ARTIFACTS / "overview-as-of.png"), full_page=True)
    expect(page.get_by_test_id("stMetric").filter(has_text="開設中の避難所")
           .get_by_test_id("stMetricValue")).to_have_text(f"2 / {total}", timeout=30_000)  # fmt: skip
    assert _metric(page, "避難者数") == "33"
    assert page.offline.blocked == []
