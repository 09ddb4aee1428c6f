"""Every wall-screen page (?kiosk=1) in Chromium at 1920×1080 as a viewer, with the drill loaded:
legible from 5 m (computed sizes at least dashboard.kiosk.MIN_PX, no text cut), nothing to fill
in, the as-of time and the age of each layer's data shown, and the map's view kept across a data
refresh. Screenshots go to the test's tmp path (and test-artifacts/) to be looked at.

One app server for the module, on a private copy of the reference store with a small drill.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import geopandas as gpd
import pandas as pd
import pytest

from dashboard.i18n import t
from dashboard.kiosk import MIN_PX
from geodata import picture
from geodata.schema import now_utc
from geodata.store.core import open_store
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_shelters import MAP_FRAME, REFRESH_SECONDS, copy_store, open_page, serve

RESCUE_ASKED = 3  # residents of one town whose newest reply asks for rescue (_fill)

# path -> (name, has a map)
PAGES = {
    "/": ("overview", True),
    "/shelters": ("shelters", True),
    "/reports": ("reports", True),
    "/safety": ("safety", True),
    "/field": ("field", True),
    "/chronology": ("chronology", False),
}

LEGENDS = {  # wall page -> its map legend's lines
    "overview": ["概況", "避難所 開設", "避難所 80%以上", "満員", "被害報告（24時間）",
                 "命に関わる通報", "安否未確認（町丁目）", "要救助・負傷（町丁目）", "避難情報の対象"],
    "safety": ["安否確認", "安否未確認（町丁目）", "要救助・負傷（町丁目）", "避難情報の対象"],
    "field": ["現地調査（深刻度）", "3 深刻", "2 中程度", "1 軽微", "浸水想定区域"],
}  # fmt: skip

# Every text element the rule covers, with its minimum and whether it must not be cut.
MEASURE_JS = """
(specs) => {
  // every element under a match that holds text itself: what the eye reads
  const owns = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const out = [];
  for (const [kind, selector] of specs) {
    for (const match of document.querySelectorAll(selector)) {
      for (const el of [match, ...match.querySelectorAll('*')]) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || !owns(el)) continue;
        if (getComputedStyle(el).visibility === 'hidden') continue;
        out.push({kind, text: el.textContent.trim().slice(0, 40),
                  size: parseFloat(getComputedStyle(el).fontSize),
                  scroll: el.scrollWidth, client: el.clientWidth});
      }
    }
  }
  return out;
}
"""
PAGE_SPECS = [
    ["kpi_label", '[data-testid="stMetricLabel"]'],
    ["kpi_value", '[data-testid="stMetricValue"]'],
    ["text", '[data-testid="stCaptionContainer"]'],
    ["table_cell", '[data-testid="stTable"] td'],
    ["table_header", '[data-testid="stTable"] th'],
    ["text", ".st-key-kiosk-updated p"],
    ["text", ".st-key-wall-page p"],
]
MAP_SPECS = [
    ["map_label", ".leaflet-tooltip.bosai-count"],
    ["map_label", ".leaflet-tooltip.bosai-wall-label"],
    ["legend", ".bosai-legend"],
]


def _fill(url: str) -> str:
    """A small enriched drill (posts placed and classified, replies, incidents) ending now;
    returns the town whose residents ask for rescue."""
    from geodata.incidents import link_stored
    from ingest.base import IngestContext
    from ingest.dedupe import mark_duplicates
    from ingest.drill.scenario import generate, load_into_store
    from ingest.runner import enrich_posts

    store = open_store(url)
    try:
        context = IngestContext(store)
        now = pd.Timestamp(now_utc())
        drill = generate(seed=5, posts=800, roster=150, anchor=now - pd.Timedelta(minutes=10))
        load_into_store(drill, store, enrich=lambda frame: enrich_posts(frame, context))
        posts = mark_duplicates(store.read("posts"))
        # staff confirmed the urgent ones: what a wall (the public picture) may show
        urgent = pd.to_numeric(posts["urgency"], errors="coerce").fillna(0) >= 2
        posts.loc[urgent & posts.geometry.notna(), "triage"] = "verified"
        link_stored(store, "posts", posts)
        # three residents of one town ask for rescue: the wall labels the town 「要救助 N」
        roster = store.read("roster", columns=["resident_id", "town_code"])
        replied = set(store.read("safety_replies", columns=["resident_id"])["resident_id"])
        waiting = roster[~roster["resident_id"].isin(replied) & roster["town_code"].notna()]
        town = waiting["town_code"].value_counts().index[0]
        ids = waiting.loc[waiting["town_code"] == town, "resident_id"].head(RESCUE_ASKED)
        rescue = pd.DataFrame({
            "source": "line", "source_id": [f"wall-rescue-{i}" for i in ids], "resident_id": ids,
            "channel": "line", "status": "要救助", "replied_at": now - pd.Timedelta(minutes=5),
        })  # fmt: skip
        rescue = gpd.GeoDataFrame(rescue, geometry=[None] * len(rescue), crs="EPSG:4326")
        assert store.upsert("safety_replies", rescue, source="test").inserted == RESCUE_ASKED
    finally:
        store.dispose()
    return town


@pytest.fixture(scope="module")
def wall_app(reference_store, vendored_assets, tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("wall_app")
    db = copy_store(reference_store, workdir / "bosai.sqlite")
    town = _fill(db)
    with serve(db, workdir) as url:
        yield {"url": url, "db": db, "rescue_town": town}


def _map_frame(page):
    return next(f for f in page.frames if "streamlit_folium" in (f.url or ""))


def _open_wall(browser, app, path: str):
    page = open_page(browser, app, "viewer", f"{path}?kiosk=1")
    page.locator(".st-key-kiosk-updated .age").first.wait_for(timeout=90_000)
    if PAGES[path][1]:
        page.frame_locator(MAP_FRAME).first.locator(".leaflet-pane").first.wait_for(
            state="attached", timeout=90_000
        )
    page.wait_for_timeout(2500)  # fits, declutter, fonts
    return page


def _check(items: list[dict]) -> list[str]:
    bad = []
    for item in items:
        if item["size"] < MIN_PX[item["kind"]] - 0.01:
            bad.append(f"{item['kind']} {item['size']}px < {MIN_PX[item['kind']]}: {item['text']}")
        if item["kind"] != "kpi_value" and item["scroll"] > item["client"] + 1:
            bad.append(f"{item['kind']} cut ({item['scroll']} > {item['client']}): {item['text']}")
    return bad


@pytest.mark.parametrize("path", list(PAGES), ids=[v[0] for v in PAGES.values()])
def test_each_wall_page_is_legible_from_5_m(browser, wall_app, path, tmp_path):
    name, has_map = PAGES[path]
    page = _open_wall(browser, wall_app, path)
    try:
        for target in (tmp_path / f"wall-{name}.png", ARTIFACTS / f"wall-{name}-1920.png"):
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
        items = page.evaluate(MEASURE_JS, PAGE_SPECS)
        if has_map:
            items += _map_frame(page).evaluate(MEASURE_JS, MAP_SPECS)
        kinds = {i["kind"] for i in items}
        assert "text" in kinds, items  # the as-of line was measured
        if has_map:
            assert "legend" in kinds, kinds
        if name in LEGENDS:  # the legend names what the map draws, and only that
            legend = _map_frame(page).locator(".bosai-legend").first.inner_text()
            assert [line.strip() for line in legend.splitlines() if line.strip()] == LEGENDS[name]
        if name in ("overview", "shelters", "reports", "safety"):
            assert {"kpi_label", "kpi_value"} <= kinds, kinds
        if name in ("shelters", "reports", "safety", "field", "chronology"):
            assert {"table_cell", "table_header"} <= kinds, kinds
        assert _check(items) == []
        # nothing to fill in or pick on the wall
        for widget in ("stTextInput", "stSelectbox", "stMultiSelect", "stButtonGroup",
                       "stCheckbox", "stDateInput", "stForm", "stButton"):  # fmt: skip
            assert page.get_by_test_id(widget).count() == 0, widget
        # nor a help icon nobody can hover over (the wall's stylesheet hides every one)
        icons = page.get_by_test_id("stTooltipIcon")
        assert icons.evaluate_all("els => els.filter(e => e.getClientRects().length).length") == 0
        # the as-of time and the age of each shown layer's newest record, on the screen
        line = page.locator(".st-key-kiosk-updated")
        assert line.inner_text().startswith("最終更新")
        ages = line.locator(".age")
        assert ages.count() >= 1
        for i in range(ages.count()):
            chip = ages.nth(i)
            assert chip.get_attribute("data-level") in ("fresh", "aging", "old", "none")
            assert "最新" in chip.inner_text() or "記録なし" in chip.inner_text()
        box = line.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 1080
        # every column of a table is in its box (none cut off at the right)
        for i in range(page.get_by_test_id("stTable").count()):
            box = page.get_by_test_id("stTable").nth(i)
            inner = box.locator("table").bounding_box()
            outer = box.bounding_box()
            assert inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1, (name, i)
        # nobody scrolls a wall: the tables and the map end on the screen
        for element in (page.get_by_test_id("stTable"), page.locator(MAP_FRAME)):
            for i in range(element.count()):
                box = element.nth(i).bounding_box()
                assert box["y"] + box["height"] <= 1080 + 1, (name, box)
        assert page.offline.blocked == []
    finally:
        page.context.close()


# Squeeze the field wall's wrapping column (説明) through every width a day of data gives it
# (the ages and towns beside it do not wrap) and report the widths where a line sticks out.
SQUEEZE_JS = """
(text) => {
  const td = document.querySelector('.st-key-wall-field tbody tr td:last-child');
  const p = td.querySelector('p') || td;
  p.textContent = text;
  const cut = [];
  for (let w = 420; w >= 160; w -= 1) {
    td.style.width = td.style.maxWidth = w + 'px';
    if (p.scrollWidth > p.clientWidth + 1) cut.push([w, p.scrollWidth, p.clientWidth]);
  }
  return cut;
}
"""


def test_a_wrapping_wall_cell_fits_its_column_at_every_width(browser, wall_app):
    # a run in full-width brackets, as the field reports write a town: Chromium trims the
    # bracket when breaking and then draws it whole, so at some widths the line stuck out
    page = _open_wall(browser, wall_app, "/field")
    try:
        for text in (
            "被害なし 巡回継続（深大寺南町一丁目）",
            "避難所 受付混雑 毛布不足（若葉町三丁目）",
        ):
            assert page.evaluate(SQUEEZE_JS, text) == [], text
    finally:
        page.context.close()


def _report(db: str, evacuees: int) -> None:
    """A new report for the first open shelter (new data for every map of the wall)."""
    store = open_store(db)
    try:
        current = store.current_shelter_status()
        sid = current.loc[current["status"] == "開設", "shelter_id"].iloc[0]
        frame = pd.DataFrame({
            "shelter_id": [sid], "reported_at": [pd.Timestamp(now_utc())], "status": ["開設"],
            "evacuees": [evacuees], "source_id": [f"wall-test-{evacuees}"],
        })  # fmt: skip
        assert store.append_shelter_status(frame, source="test:wall").inserted == 1
    finally:
        store.dispose()


@pytest.mark.parametrize("path", ["/", "/shelters", "/reports", "/safety", "/field"],
                         ids=["overview", "shelters", "reports", "safety", "field"])  # fmt: skip
def test_every_wall_map_keeps_its_view_across_a_data_refresh(browser, wall_app, path):
    page = _open_wall(browser, wall_app, path)
    try:
        frame = _map_frame(page)
        frame.evaluate("map_div.fire('resize')")
        page.wait_for_timeout(500)
        frame.evaluate("window.__wall_probe = 'same map'; map_div.setView([35.655, 139.56], 15)")
        stamp = page.locator(".st-key-kiosk-updated p").inner_text()
        _report(wall_app["db"], 100 + len(path))  # new data: the next refresh redraws
        deadline = time.monotonic() + REFRESH_SECONDS * 2 + 5
        while page.locator(".st-key-kiosk-updated p").inner_text() == stamp:
            assert time.monotonic() < deadline, "the wall did not refresh"
            page.wait_for_timeout(250)
        page.wait_for_timeout(1500)  # the layers swapped in
        frame = _map_frame(page)
        assert frame.evaluate("window.__wall_probe") == "same map"  # no new map
        assert frame.evaluate("map_div.getZoom()") == 15
        center = frame.evaluate("map_div.getCenter()")
        # the same place (a pixel of re-layout may nudge it by centimetres, never a refit)
        assert abs(center["lat"] - 35.655) < 1e-4 and abs(center["lng"] - 139.56) < 1e-4
    finally:
        page.context.close()


def test_the_overview_wall_is_the_common_picture(browser, wall_app):
    page = _open_wall(browser, wall_app, "/")
    try:
        labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
        assert labels == ["開設中の避難所", "避難者数", "安否未確認", "命に関わる通報", "避難情報"]
        frame = page.frame_locator(MAP_FRAME).first
        assert frame.locator("path.bosai-hex").count() > 0  # damage reports aggregated
        assert frame.locator("path.bosai-unconfirmed").count() > 0  # residents by town
        assert frame.locator("path.bosai-shelter").count() > 0
        # no resident-derived point: rescue requests are counts per town
        assert frame.locator(".bosai-reply, .bosai-home").count() == 0
        # 「要救助 N」 for each town the public picture counts, the seeded town among them
        # (text contents: a label that overlaps a larger count's is hidden, not gone)
        store = open_store(wall_app["db"])
        try:
            towns, _ = picture.town_part(store, public=True)
        finally:
            store.dispose()
        counts = dict(zip(towns["town_code"], towns["needs_help"], strict=True))
        assert isinstance(counts[wall_app["rescue_town"]], int)
        assert counts[wall_app["rescue_town"]] >= RESCUE_ASKED
        expected = sorted(
            t("wall.town.rescue", lang="ja", n=f"{n:,}")
            for n in counts.values() if isinstance(n, int) and n > 0
        )  # fmt: skip
        assert sorted(frame.locator(".bosai-rescue").all_text_contents()) == expected
        # the seeded town's label is shown, centred on its town (neither hidden behind an
        # evacuee count nor drawn at the map's edge: both happened)
        town = towns.set_index("town_code").loc[wall_app["rescue_town"]]
        point = town.geometry.representative_point()
        text = t("wall.town.rescue", lang="ja", n=f"{town['needs_help']:,}")
        shown, off, colour = _map_frame(page).evaluate(RESCUE_PLACED_JS, [point.y, point.x, text])
        assert shown and off < 3, (shown, off)
        assert colour == "rgb(183, 28, 28)"  # the life-safety red, not a count's white
        assert page.locator(".bosai-sources").count() == 1  # the sources' health strip
    finally:
        page.context.close()


# whether the label ``text`` is shown, how far (px) its centre is from [lat, lon], its colour
RESCUE_PLACED_JS = """
([lat, lon, text]) => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const el = [...document.querySelectorAll('.bosai-rescue')].find(e => e.textContent === text);
  const box = map.getContainer().getBoundingClientRect(), p = map.latLngToContainerPoint([lat, lon]);
  const r = el.getBoundingClientRect();
  return [getComputedStyle(el).visibility !== 'hidden',
          Math.hypot(r.left + r.width / 2 - box.left - p.x, r.top + r.height / 2 - box.top - p.y),
          getComputedStyle(el).backgroundColor];
}
"""

TABLE_SNAPSHOT_JS = """
() => {
  const table = document.querySelector('[data-testid="stTable"]');
  if (!table) return [[], ''];
  const rows = [...table.querySelectorAll('tbody tr')];
  const head = table.querySelector('thead');
  return [rows.map(r => r.querySelector('td') ? r.querySelector('td').innerText : '')
              .filter(t => t), head ? head.innerText : ''];
}
"""


def test_the_shelters_wall_pages_through_every_open_shelter(browser, wall_app):
    store = open_store(wall_app["db"])
    try:
        current = store.current_shelter_status()
        open_count = int(current["status"].isin(["開設", "満員"]).sum())
    finally:
        store.dispose()
    page = _open_wall(browser, wall_app, "/shelters")
    try:
        seen: set[str] = set()
        note = page.locator(".st-key-wall-page")
        pages = int(note.inner_text().split("/")[1].split()[0]) if note.count() else 1
        # Two rounds of pages plus slack: each refresh shows the next page (kiosk.turn_page),
        # but one that runs more than half an interval late takes the clock's page again.
        deadline = time.monotonic() + (2 * pages + 2) * REFRESH_SECONDS + 10
        heads: set[str] = set()
        while len(seen) < open_count:
            # one snapshot of the table in the page: a refresh between reading the row count
            # and a row (the last page has fewer rows) left the test waiting for a gone row
            names, head = page.evaluate(TABLE_SNAPSHOT_JS)
            seen |= set(names)
            heads.add(head)
            assert time.monotonic() < deadline, f"{len(seen)} of {open_count} seen"
            page.wait_for_timeout(500)
        # the drill's reports carry needs lists: the supply column is on, and fewer rows fit
        from dashboard.shelters.view import KIOSK_PINNED, KIOSK_ROWS_WITH_NEEDS

        # (on a page that shows a shelter with needs: a page without one has no such column)
        assert any("物資要請" in head for head in heads), heads
        turning = KIOSK_ROWS_WITH_NEEDS - KIOSK_PINNED  # the fullest on every page, the rest turn
        assert pages == -(-(open_count - KIOSK_PINNED) // turning)
        assert len(seen) == open_count
    finally:
        page.context.close()


def test_the_safety_walls_table_shows_no_small_count(wall_app):
    """The safety wall's rows (``town_rows``) from the public picture of the drill: the town
    whose residents ask for rescue first, and no count of 1 or 2 anywhere (3人未満 / 秘匿)."""
    from dashboard.safety.wall import town_rows
    from geodata.export.public import SMALL, WITHHELD

    store = open_store(wall_app["db"])
    try:
        towns, _ = picture.town_part(store, public=True)
    finally:
        store.dispose()
    rows = town_rows(towns, "ja")
    name = towns.set_index("town_code").loc[wall_app["rescue_town"], "name"]
    assert rows.iloc[0, 0] == name
    for cell in rows.iloc[:, 1:].to_numpy().ravel():
        assert cell in ("", SMALL, WITHHELD) or int(cell.replace(",", "")) not in (1, 2), cell
