"""The admin room in Chromium at 1920×1080: every tab drawn, Japanese column names, JST times,
no "None" / "NaT"; a write made in the browser lands in the store and the audit log;
a viewer opening /admin gets the refusal. Screenshots: test-artifacts/admin-*.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from geodata import source_control
from geodata.store.core import open_store
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shelters import copy_store, open_page, serve

TABS = {"status": "状態", "audit": "監査ログ", "users": "利用者", "sources": "データ取得元",
        "purge": "個人情報の削除"}  # fmt: skip


@pytest.fixture(scope="module")
def admin_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("admin_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    store = open_store(db)
    try:
        store.record_health("mastodon", ok=True, kind="posts", rows=12)
        store.record_health("jma", ok=False, kind="warnings", error="HTTP 503")
        store.add_rejections("mastodon", [('{"id": "9"}', "not a time: 'x'")], layer="posts")
        for i in range(3):
            store.log_action("operator", "export:csv", "posts", {"rows": 10 + i})
    finally:
        store.dispose()
    with serve(db, workdir) as url:
        yield {"url": url, "db": db, "workdir": workdir}


@pytest.fixture
def pages(browser) -> Iterator[list]:
    opened: list = []
    yield opened
    for page in opened:
        page.context.close()


def _tab(page, name: str):
    page.get_by_role("tab", name=TABS[name]).click()
    panel = page.get_by_role("tabpanel", name=TABS[name])
    panel.wait_for(timeout=30_000)
    return panel


def test_the_admin_room_at_1920(browser, admin_app, pages):
    page = open_page(browser, admin_app, "admin", "/admin")
    pages.append(page)
    page.get_by_role("tab", name=TABS["audit"]).wait_for(timeout=90_000)
    for name in TABS:
        panel = _tab(page, name)
        if name != "purge":
            panel.get_by_test_id("stDataFrame").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1200)
        page.screenshot(path=str(ARTIFACTS / f"admin-{name}-1920.png"))
        text = panel.inner_text()
        assert "None" not in text and "NaT" not in text and "+00:00" not in text, (name, text)
    # a write in the browser: pause a source, stored and audited
    panel = _tab(page, "sources")
    assert "取得ループ" in panel.inner_text()  # no loop is listening: the page says so
    panel.get_by_test_id("stSelectbox").locator("input").click()
    page.get_by_role("option", name="mastodon").click()
    panel.get_by_role("button", name="一時停止").click()
    page.get_by_text("mastodon: 一時停止を保存しました。").wait_for(timeout=60_000)
    store = open_store(admin_app["db"])
    try:
        assert source_control.controls(store)["mastodon"].paused_by == "admin"
        assert store.read_audit(layer="sources")["action"].tolist() == ["sources:pause"]
    finally:
        store.dispose()
    panel = _tab(page, "sources")
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "admin-sources-paused-1920.png"))
    assert page.offline.blocked == []


def test_a_viewer_opening_admin_gets_the_refusal(browser, admin_app, pages):
    page = open_page(browser, admin_app, "viewer", "/admin")
    pages.append(page)
    expect(
        page.get_by_text("権限がありません：viewer は「admin」の view ができません。")
    ).to_be_visible(timeout=90_000)
    expect(page.get_by_role("tab", name=TABS["audit"])).to_have_count(0)
