"""The sources' health strip on the wall screen in Chromium: a failing source is visible without
scrolling, in type legible from 5 m, and turns ok in place at the next refresh once it recovers.

Runs its own server on a private copy of the reference store (the test writes health rows).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest

from geodata.schema import now_utc
from geodata.store.core import open_store
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shelters import REFRESH_SECONDS, copy_store, open_page, serve

FAILING = "SourceDeadline: the fetch did not finish within the source's deadline of 180 s"


def _record(db: str, **kw) -> None:
    store = open_store(db)
    try:
        store.record_health(**kw)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def wall_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("wall_health")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    now = pd.Timestamp(now_utc())
    _record(db, source="jma", ok=True, kind="jma", newest_record_at=now - timedelta(minutes=5))
    _record(db, source="mastodon-chofu", ok=False, kind="sns", error=FAILING)
    with serve(db, workdir) as url:
        yield {"url": url, "db": db}


def _chip(page, source: str):
    return page.locator(".bosai-sources .src", has_text=source)


@pytest.mark.parametrize("path", ["/?kiosk=1", "/shelters?kiosk=1"], ids=["overview", "shelters"])
def test_a_failing_source_is_on_the_wall_screen_legible_and_in_view(browser, wall_app, path):
    page = open_page(browser, wall_app, "viewer", path)
    try:
        failing = _chip(page, "mastodon-chofu")
        failing.wait_for(timeout=90_000)
        assert failing.inner_text() == "mastodon-chofu 取得失敗 · 記録なし"
        assert failing.get_attribute("data-state") == "failing"
        assert _chip(page, "jma").inner_text() == "jma 正常 · 最新 5分前"
        size = failing.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 24  # px: about 6 mm capitals on a 55" 1080p screen, read from 5 m
        box = failing.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 1080  # on the screen, no scrolling
        colour = failing.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(183, 28, 28)"  # red behind white type
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = "shelters" if path.startswith("/shelters") else "overview"
        page.screenshot(path=ARTIFACTS / f"wall-health-{name}.png")
    finally:
        page.context.close()


def test_a_source_that_recovers_turns_ok_at_the_next_refresh(browser, wall_app):
    page = open_page(browser, wall_app, "viewer", "/?kiosk=1")
    try:
        chip = _chip(page, "mastodon-chofu")
        chip.wait_for(timeout=90_000)
        assert chip.get_attribute("data-state") == "failing"
        page.evaluate("window.__wall_probe = 'same page'")
        _record(wall_app["db"], source="mastodon-chofu", ok=True, kind="sns")
        saved = time.monotonic()
        deadline = saved + REFRESH_SECONDS + 3
        while chip.get_attribute("data-state") != "ok":
            assert time.monotonic() < deadline, "the strip did not refresh in place"
            page.wait_for_timeout(200)
        assert chip.inner_text().startswith("mastodon-chofu 正常")
        assert page.evaluate("window.__wall_probe") == "same page"  # refreshed in place
    finally:
        page.context.close()
