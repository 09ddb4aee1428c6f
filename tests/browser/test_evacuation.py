"""避難指示 from the overview in Chromium: a commander issues it for two flood-zone towns, a wall
screen shows them purple within one refresh, the CAP message names both, the lift clears the map
and is in the audit log; an operator gets no form (and the core refuses them: tests/test_evacuation).

Runs its own server on a private copy of the reference store (the test writes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from lxml import etree
from playwright.sync_api import expect

from geodata import evacuation
from geodata.access import accounts
from geodata.evacuation_criteria import Criterion, hazard_towns
from geodata.export.cap import validate_cap
from geodata.export.evacuation import evacuation_cap_messages
from geodata.store.core import open_store
from tests.browser.conftest import ARTIFACTS, pick_options
from tests.browser.test_shelters import (
    MAP_FRAME,
    REFRESH_SECONDS,
    copy_store,
    open_page,
    serve,
    wait_for_map,
)

SLACK_SECONDS = 3
NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
PURPLE = "#AA00AA"


@pytest.fixture(scope="module")
def evac_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("evac_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    store = open_store(db)
    try:
        accounts.add_user(store, "honbucho", "commander", "kaigi-shitsu-2026", actor="tests")
        towns = store.read("towns", columns=["town_code", "name", "geometry"])
        flood = hazard_towns(store, Criterion("flood", "flood", ()), towns)
        names = dict(zip(towns["town_code"], towns["name"], strict=False))
        # two flood-zone towns whose names are unique (a multiselect is searched by name)
        counts = towns["name"].value_counts()
        chosen = [c for c in flood if counts[names[c]] == 1][:2]
    finally:
        store.dispose()
    with serve(db, workdir) as url:
        yield {"url": url, "db": db, "towns": chosen, "names": [names[c] for c in chosen]}


@pytest.fixture
def pages() -> Iterator[list]:
    opened: list = []
    yield opened
    for page in opened:
        page.context.close()


def _evac_paths(page) -> list[dict]:
    frame = page.frame_locator(MAP_FRAME).first
    return frame.locator("path.bosai-evac").evaluate_all(
        "els => els.map(e => ({cls: e.getAttribute('class'), fill: e.getAttribute('fill'),"
        " stroke: e.getAttribute('stroke')}))"
    )


def _wait_for(page, predicate, seconds: float) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            paths = _evac_paths(page)
        except Exception:  # the map frame is being redrawn by the refresh
            paths = None
        if paths is not None and predicate(paths):
            return paths
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / "evacuation-wall-timeout.png"))
            raise AssertionError(f"the wall screen did not change within {seconds} s: {paths}")
        page.wait_for_timeout(300)


def _form(page):
    return page.get_by_test_id("stForm").filter(has_text="上記の町丁目に発令することを確認しました")


def test_a_commander_issues_from_the_overview_and_the_wall_shows_it(browser, evac_app, pages):
    ARTIFACTS.mkdir(exist_ok=True)
    wall = open_page(browser, evac_app, "viewer", "/?kiosk=1")
    pages.append(wall)
    wait_for_map(wall)
    assert _evac_paths(wall) == []

    # an operator sees the decision support but no issue form
    operator = open_page(browser, evac_app, "operator", "/")
    pages.append(operator)
    expect(operator.get_by_text("避難情報の判断支援")).to_be_visible(timeout=90_000)
    expect(operator.get_by_role("button", name="発令する")).to_have_count(0)

    boss = open_page(browser, evac_app, "honbucho", "/")
    pages.append(boss)
    form = _form(boss)
    form.get_by_role("button", name="発令する").wait_for(timeout=90_000)
    form.get_by_role("radio", name="【警戒レベル4】避難指示").check()
    pick_options(
        boss, form.get_by_test_id("stMultiSelect"), evac_app["names"]
    )  # as a commander does
    form.get_by_text("上記の町丁目に発令することを確認しました").click()
    form.get_by_role("button", name="発令する").click()
    expect(
        boss.get_by_text("【警戒レベル4】避難指示を2町丁目に発令しました", exact=False)
    ).to_be_visible(timeout=30_000)
    issued_at = time.monotonic()
    boss.screenshot(path=str(ARTIFACTS / "evacuation-overview.png"), full_page=True)

    # the wall screen: both towns purple within one refresh
    paths = _wait_for(wall, lambda p: len(p) >= 2, REFRESH_SECONDS + SLACK_SECONDS + 10)
    assert time.monotonic() - issued_at <= REFRESH_SECONDS + SLACK_SECONDS + 10
    assert all("bosai-evac-4" in p["cls"] for p in paths)
    assert {p["fill"].upper() for p in paths} == {PURPLE}
    assert {p["stroke"].upper() for p in paths} == {PURPLE}
    wall.screenshot(path=str(ARTIFACTS / "evacuation-wall.png"))

    store = open_store(evac_app["db"])
    try:
        found = evacuation.in_force(store)
        assert sorted(found["town_code"]) == sorted(evac_app["towns"])
        assert set(found["level"]) == {4}
        (message,) = evacuation_cap_messages(store, who="tests")
        assert validate_cap(message.data) == []
        doc = etree.fromstring(message.data)
        areas = [a.text for a in doc.findall("c:info/c:area/c:areaDesc", NS)]
        assert areas == [f"調布市{n}" for n in sorted(evac_app["names"],
                                                   key=lambda n: evac_app["towns"][evac_app["names"].index(n)])]  # fmt: skip
        geocodes = {g.text for g in doc.findall("c:info/c:area/c:geocode/c:value", NS)}
        assert set(evac_app["towns"]) <= geocodes
    finally:
        store.dispose()

    # with the internet down: nothing but loopback was needed to issue and show it
    assert boss.offline.blocked == [] and wall.offline.blocked == []

    # the lift, from the same view, clears the wall screen's map and is in the audit log
    boss.reload(wait_until="domcontentloaded")
    lift_form = boss.get_by_test_id("stForm").filter(has_text="解除を確認しました")
    lift_form.get_by_role("button", name="解除する").wait_for(timeout=90_000)
    lift_form.get_by_text("解除を確認しました").click()
    lift_form.get_by_role("button", name="解除する").click()
    # the confirmation (the notice offered to residents below it says 解除しました too)
    done = boss.get_by_test_id("stAlertContentSuccess").filter(has_text="解除しました")
    expect(done).to_be_visible(timeout=90_000)  # a loaded CI machine: as the form's own wait
    _wait_for(wall, lambda p: p == [], REFRESH_SECONDS + SLACK_SECONDS + 10)
    store = open_store(evac_app["db"])
    try:
        assert evacuation.in_force(store).empty
        audit = store.read_audit(layer="evacuations")
        assert {"issue", "lift"} <= set(audit["action"])
        assert set(audit.loc[audit["action"].isin(["issue", "lift"]), "who"]) == {"honbucho"}
    finally:
        store.dispose()
