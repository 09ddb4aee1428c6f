"""Safety, reports and export pages in Chromium, on a copy of the reference store with a drill.

- attacker-controlled post texts (``<img src=x onerror=alert(1)>``, ``<script>``) show as text in
  the feed, the map pin's popup and its tooltip, and no dialog ever opens;
- a post is moved by clicking the map (what AppTest cannot do: st_folium's ``last_clicked``);
- 1920×1080 screenshots of the three pages go to test-artifacts/ for a person to look at.

The store is a copy of the session's reference store (towns, shelters, accounts) plus a small
enriched drill (roster, LINE replies, geocoded and classified posts, incidents), served by its
own Streamlit server so the other browser tests keep their data.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from dashboard.reports.map import category_colour, post_pin_html
from tests.browser.conftest import ARTIFACTS, ROOT, _free_port, _instrument

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(1)</script>"
AUTHOR = '"><b onmouseover=alert(2)>evil</b>'


def _copy_sqlite(src_url: str, dest: Path) -> str:
    """A consistent copy of a SQLite store (the backup API also copies what the WAL holds)."""
    src = sqlite3.connect(src_url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(dest)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{dest}"


def _fill(url: str) -> dict:
    """A small enriched drill, three follow-ups and two hostile posts; returns facts to check."""
    from geodata.incidents import link_stored
    from geodata.schema import now_utc
    from geodata.store.core import open_store
    from ingest.base import IngestContext
    from ingest.dedupe import mark_duplicates
    from ingest.drill.scenario import generate, load_into_store
    from ingest.runner import enrich_posts

    store = open_store(url)
    try:
        context = IngestContext(store)
        now = pd.Timestamp(now_utc())
        # The drill ends 10 minutes ago, so the hostile posts below (3 and 4 minutes ago) are the
        # newest life-threatening ones whatever the time of day (the default anchor is now
        # floored to 10 minutes: a drill post could be newer than "4 minutes ago").
        drill = generate(seed=3, posts=1200, roster=120, anchor=now - pd.Timedelta(minutes=10))
        load_into_store(drill, store, enrich=lambda frame: enrich_posts(frame, context))
        posts = mark_duplicates(store.read("posts"))
        link_stored(store, "posts", posts)
        towns = store.read("towns").set_index("name")
        point = towns.loc["小島町一丁目"].geometry.representative_point()
        hostile = gpd.GeoDataFrame(
            {
                "platform": ["x", "x"],
                "post_id": ["xss-img", "xss-script"],
                "author": [AUTHOR, AUTHOR],
                "text": [XSS_IMG, f"{XSS_SCRIPT} 救助要請"],
                "url": ["javascript:alert(3)", "https://x.example/evil/1"],
                "posted_at": [now - pd.Timedelta(minutes=3), now - pd.Timedelta(minutes=4)],
                "geo_source": ["gazetteer", "gazetteer"],
                "geo_confidence": [0.9, 0.9],
                "matched_place": ["小島町1丁目", "小島町1丁目"],
                "town_code": [towns.loc["小島町一丁目", "town_code"]] * 2,
                "categories": [["救助要請"], ["救助要請"]],
                "urgency": [3, 3],
                "triage": ["new", "new"],
            },
            geometry=[point, shapely.Point(point.x + 0.002, point.y)],
            crs=4326,
        )
        store.upsert("posts", hostile, source="test:hostile")
        roster = store.read("roster")
        replied = set(store.read("safety_replies")["resident_id"].dropna())
        waiting = roster[~roster["resident_id"].isin(replied)].sort_values("resident_id")
        follow = pd.DataFrame(
            {
                "id": ["fu-b1", "fu-b2", "fu-b3"],
                "resident_id": waiting["resident_id"].head(3).tolist(),
                "action": ["phone", "visit", "phone"],
                "outcome": ["reached_safe", "reached_needs_help", "no_answer"],
                "by": ["operator"] * 3,
                "at": [now - pd.Timedelta(minutes=m) for m in (50, 30, 10)],
            }
        )
        store.upsert("follow_ups", follow, source="test", actor="operator")
        return {"waiting": len(waiting) - 2, "posts": store.count("posts")}
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def drill_app(reference_store, vendored_assets, tmp_path_factory):
    """Its own ``streamlit run`` on a copy of the reference store filled with a drill."""
    folder = tmp_path_factory.mktemp("reports_store")
    url = _copy_sqlite(reference_store["url"], folder / "bosai.sqlite")
    facts = _fill(url)
    port = _free_port()
    log = folder / "server.log"
    env = {
        **os.environ,
        "BOSAI_DB_URL": url,
        "BOSAI_TILES": "none",
        "BOSAI_TILE_URL": "",
        "BOSAI_LANG": "ja",
        "BOSAI_KIOSK": "0",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    cmd = [
        str(Path(sys.executable).parent / "streamlit"),
        "run",
        "streamlit_app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": base, "db": url, "log": log, **facts}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def open_page(browser, drill_app):
    """Factory: a 1920×1080 page logged in as ``user`` (cookie), loopback-only, dialogs recorded."""
    from tests.accounts import session_cookie

    contexts = []

    def make(path: str, user: str = "operator"):
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="ja-JP")
        contexts.append(context)
        context.add_cookies([session_cookie(drill_app["db"], user, drill_app["url"])])
        page = _instrument(context)
        page.dialogs = []

        def on_dialog(dialog):
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(f"{drill_app['url']}/{path}")
        return page

    yield make
    for context in contexts:
        context.close()


def _wait_for_map(page, selector: str, timeout: float = 30_000):
    """The st_folium iframe once ``selector`` (inside the map) has rendered."""
    page.wait_for_selector('iframe[title="streamlit_folium.st_folium"]', timeout=timeout)
    frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]').first
    frame.locator(selector).first.wait_for(timeout=timeout)
    return frame


def _no_errors(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.offline.blocked == []
    assert page.dialogs == []


# -- (a) hostile texts -------------------------------------------------------------------------


def test_markup_in_posts_is_text_in_feed_popup_and_tooltip(open_page):
    page = open_page("reports")
    page.get_by_role("heading", name="通報・SNS — 調布市").wait_for(timeout=60_000)
    feed = page.locator(".bosai-post")
    feed.first.wait_for(timeout=30_000)
    # the two hostile posts are the newest life-threatening ones: first on the feed. Wait for
    # the page's last run (a run still replacing an earlier run's cards is not the answer);
    # on a timeout the feed as it stands is saved for a person to look at.
    try:
        feed.first.locator(".text", has_text=XSS_IMG).wait_for(timeout=30_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "reports-feed-first.png"))
    texts = [t.strip() for t in feed.locator(".text").all_inner_texts()]
    assert texts[:2] == [XSS_IMG, f"{XSS_SCRIPT} 救助要請"], texts[:6]
    assert page.locator(".bosai-post img, .bosai-post script, .bosai-post b").count() == 0
    assert AUTHOR in feed.first.inner_text()  # the author, as text (operators see authors)
    assert page.locator('a[href^="javascript:"]').count() == 0

    frame = _wait_for_map(page, ".bosai-pin")
    pin = frame.locator(".bosai-post-marker", has_text=re.compile(r"^1$")).first
    # the pin the browser builds is the markup post_pin_html gives (as folium's DivIcon had it)
    assert pin.inner_html() == post_pin_html(1, category_colour("救助要請"))
    assert pin.evaluate("e => [e.offsetWidth, e.offsetHeight]") == [26, 26]
    layers = frame.locator(".leaflet-control-layers-overlays label", has_text="表示中の投稿")
    assert layers.locator("input").is_checked()
    pin.hover()
    tooltip = frame.locator(".leaflet-tooltip", has_text="#1")
    tooltip.wait_for(timeout=10_000)
    assert XSS_IMG in tooltip.inner_text()
    pin.click()
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert XSS_IMG in popup.inner_text()
    assert frame.locator('.leaflet-pane img[src="x"], .leaflet-popup script').count() == 0
    frame.locator(".bosai-post-marker", has_text=re.compile(r"^2$")).first.click()
    frame.locator(".leaflet-popup-content", has_text=XSS_SCRIPT).wait_for(timeout=10_000)

    page.wait_for_timeout(1500)  # an onerror handler would have fired by now
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    page.screenshot(path=str(ARTIFACTS / "reports-hostile-posts.png"))
    _no_errors(page)


def test_a_post_is_moved_by_clicking_the_map(open_page, drill_app):
    from geodata.store.core import open_store

    page = open_page("reports")
    page.locator(".bosai-post").first.wait_for(timeout=60_000)
    _wait_for_map(page, ".bosai-pin")
    box = page.locator('[data-testid="stCheckbox"]').filter(
        has=page.get_by_role("checkbox", name="#1 を選択")
    )
    box.locator("label").first.click()
    move = page.get_by_role("button", name="位置修正")
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some("
        "b => b.innerText.includes('位置修正') && !b.disabled)",
        timeout=15_000,
    )
    move.click()
    page.get_by_text("地図をクリックして投稿 x:xss-img の正しい位置を指定してください。").wait_for(
        timeout=15_000
    )
    frame = _wait_for_map(page, ".bosai-pin-moving")
    assert frame.locator(".bosai-pin-moving").all_inner_texts() == ["1"]
    box = frame.locator(".leaflet-container").bounding_box()
    frame.locator(".leaflet-container").click(
        position={"x": box["width"] * 0.30, "y": box["height"] * 0.45}
    )
    page.get_by_text("投稿の位置を修正しました").wait_for(timeout=30_000)
    store = open_store(drill_app["db"])
    try:
        post = store.get("posts", ("x", "xss-img"))
        audit = store.read_audit(layer="posts", limit=1).iloc[0]
    finally:
        store.dispose()
    assert post["geo_source"] == "manual" and post["geo_confidence"] == 1.0
    assert post["town_code"] is None or post["town_code"].startswith("13208")
    assert (audit["who"], audit["record_key"]) == ("operator", "x|xss-img")
    _no_errors(page)


# -- (c) screenshots ---------------------------------------------------------------------------


def _scroll(page, y: int) -> None:
    page.evaluate("y => { document.querySelector('[data-testid=stMain]').scrollTop = y; }", y)
    page.wait_for_timeout(600)


def test_screenshots_for_a_person_to_look_at(open_page, drill_app):
    page = open_page("safety")
    page.get_by_role("heading", name="安否確認 — 調布市").wait_for(timeout=60_000)
    _wait_for_map(page, "path.bosai-reply")
    page.get_by_role("heading", name="訪問リスト", exact=True).wait_for()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "safety-1920x1080.png"))
    _scroll(page, 900)
    page.screenshot(path=str(ARTIFACTS / "safety-list-1920x1080.png"))
    metric = page.locator('[data-testid="stMetric"]', has_text="未確認（要フォロー）")
    assert metric.locator('[data-testid="stMetricValue"]').inner_text() == str(drill_app["waiting"])
    _no_errors(page)

    page = open_page("reports")
    page.get_by_role("heading", name="通報・SNS — 調布市").wait_for(timeout=60_000)
    _wait_for_map(page, "path.bosai-hex")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "reports-1920x1080.png"))
    _no_errors(page)

    page = open_page("export")
    page.get_by_role("heading", name="出力", exact=True).wait_for(timeout=60_000)
    page.get_by_role("button", name="状況図 PDF").wait_for()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="訪問リスト（印刷用PDF）").click()
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    page.screenshot(path=str(ARTIFACTS / "export-1920x1080.png"))
    _no_errors(page)
    for name in ("safety", "safety-list", "reports", "export"):
        assert (ARTIFACTS / f"{name}-1920x1080.png").stat().st_size > 50_000
