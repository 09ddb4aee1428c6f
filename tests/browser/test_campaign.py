"""LINE 安否確認 from the safety page in Chromium: an operator starts a campaign for two towns,
confirms the numbers the page states, and watches the reply counts rise while the loopback LINE
platform delivers the residents' postbacks to the real webhook receiver (signed as LINE signs),
the line_spool source reads them into the store and the panel refreshes itself.

Runs its own server on a private copy of the reference store (the test writes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import geopandas as gpd
import pytest
from playwright.sync_api import expect

from geodata import campaigns as core
from geodata.http import make_session
from geodata.store.core import open_store
from ingest.drill.line_platform import LinePlatform, deliver, postback_event
from ingest.line_webhook import WebhookServer
from ingest.outbound import campaigns as sender
from ingest.outbound.line import LineClient
from ingest.runner import run_source
from ingest.sources.line import LineSpoolSource
from tests.browser.conftest import ARTIFACTS, pick_options
from tests.browser.test_shelters import copy_store, open_page, serve

TOKEN = "browser-test-channel-token"
SECRET = "browser-test-channel-secret"
PER_TOWN = 6  # residents with LINE in each chosen town
NO_LINE = 2  # and without LINE
WAVES = (5, 3)  # replies delivered in two waves
REFRESH = 20  # seconds for the panel (refreshed every 3 s) to show new figures


def _roster(towns: gpd.GeoDataFrame, chosen: list[str], other: str) -> gpd.GeoDataFrame:
    rows, points = [], []
    reps = dict(zip(towns["town_code"], towns.geometry.representative_point(), strict=False))
    n = 0
    for code in [*chosen, other]:
        for i in range(PER_TOWN + NO_LINE):
            rows.append(
                {
                    "resident_id": f"B{n:04d}",
                    "name": f"試験住民{n:04d}",
                    "phone": f"090-1111-{n:04d}",
                    "chat_user_id": f"U{n:032x}" if i < PER_TOWN else None,
                    "town_code": code,
                    "care_priority": 1 + i % 3,
                }
            )
            points.append(reps[code])
            n += 1
    return gpd.GeoDataFrame(rows, geometry=points, crs=4326)


@pytest.fixture(scope="module")
def campaign_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("campaign_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    store = open_store(db)
    try:
        towns = store.read("towns", columns=["town_code", "name", "geometry"])
        counts = towns["name"].value_counts()
        unique = [c for c, n in zip(towns["town_code"], towns["name"], strict=True)
                  if counts[n] == 1]  # fmt: skip
        chosen, other = sorted(unique)[:2], sorted(unique)[2]
        roster = _roster(towns, chosen, other)
        store.upsert("roster", roster, source="test:browser")
        names = dict(zip(towns["town_code"], towns["name"], strict=False))
    finally:
        store.dispose()
    spool = workdir / "spool"
    hook = WebhookServer(("127.0.0.1", 0), SECRET, spool)
    thread = threading.Thread(target=hook.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        with serve(db, workdir) as url:
            yield {
                "url": url, "db": db, "towns": chosen, "names": [names[c] for c in chosen],
                "roster": roster, "spool": spool,
                "webhook": f"http://127.0.0.1:{hook.server_port}/callback",
            }  # fmt: skip
    finally:
        hook.shutdown()
        thread.join()
        hook.server_close()


def _tile(page, label: str) -> int:
    tiles = page.locator(".st-key-campaign_tiles")
    metric = tiles.get_by_test_id("stMetric").filter(has_text=label)
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


def _wait_tiles(page, expected: dict[str, int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            got = {label: _tile(page, label) for label in expected}
        except Exception:  # the fragment is being redrawn
            got = None
        if got == expected:
            return
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / "campaign-timeout.png"), full_page=True)
            raise AssertionError(f"the campaign tiles show {got}, expected {expected}")
        page.wait_for_timeout(300)


def test_an_operator_starts_a_campaign_and_watches_the_replies_come_in(browser, campaign_app):
    ARTIFACTS.mkdir(exist_ok=True)
    app = campaign_app
    page = open_page(browser, app, "operator", "/safety")
    try:
        _run(page, app)
    finally:
        page.context.close()


def _run(page, app) -> None:
    start = page.get_by_role("button", name="安否確認を送信")
    start.wait_for(timeout=90_000)
    pick_options(page, page.locator(".st-key-campaign_towns"), app["names"])
    # the confirmation states the numbers of the two towns
    line, phone = 2 * PER_TOWN, 2 * NO_LINE
    confirm = page.get_by_text(
        f"対象 {line} 人にLINEで送信し、LINEのない {phone} 人を電話リストに載せる"
    )
    expect(confirm).to_be_visible(timeout=30_000)
    confirm.click()
    start.click()
    expect(page.get_by_text("を送信待ちにしました", exact=False)).to_be_visible(timeout=30_000)

    store = open_store(app["db"])
    try:
        (campaign,) = store.read("campaigns").to_dict("records")
        assert campaign["towns"] == sorted(app["towns"]) and campaign["status"] == "queued"
        _wait_tiles(page, {"送信済": 0, "未回答": line}, REFRESH)
        # the sender (python -m ingest campaigns) sends it to the loopback LINE platform
        with LinePlatform(TOKEN) as platform:
            client = LineClient(make_session(retries=0), TOKEN, base_url=platform.url)
            assert sender.run_once(store, client)["sent"] == line
            roster = app["roster"]
            users = roster[roster["town_code"].isin(app["towns"]) & roster["chat_user_id"].notna()]
            assert sorted(platform.inbox) == sorted(users["chat_user_id"])
        _wait_tiles(page, {"送信済": line, "送信エラー": 0, "回答あり": 0, "未回答": line}, REFRESH)
        expect(page.get_by_text(f"LINEなし：電話で確認（{phone} 人）")).to_be_visible()

        # the residents tap their answers: the platform posts them to the webhook in waves
        source = LineSpoolSource("line", spool_dir=str(app["spool"]), lag_seconds=0)
        answered = 0
        ids = list(users["chat_user_id"])
        for wave in WAVES:
            events = [
                postback_event(u, core.postback_data(campaign["id"], "1" if i % 4 else "3"))
                for i, u in enumerate(ids[answered : answered + wave])
            ]
            assert deliver(app["webhook"], SECRET, events) == 200
            assert run_source(store, source)["ok"]
            answered += wave
            _wait_tiles(page, {"回答あり": answered, "未回答": line - answered}, REFRESH)
            page.screenshot(
                path=str(ARTIFACTS / f"campaign-replies-{answered}.png"), full_page=True
            )
        figures = core.counts(
            store.get("campaigns", campaign["id"]), store.read("deliveries"),
            store.read("safety_replies"),
        )  # fmt: skip
        assert (figures.sent, figures.replied, figures.not_replied) == (line, 8, line - 8)
        replies = store.read("safety_replies")
        assert set(replies["status"]) == {"無事", "要救助"}
        assert replies["resident_id"].notna().all() and len(replies) == sum(WAVES)
    finally:
        store.dispose()
    # nothing but loopback was needed
    assert page.offline.blocked == []
