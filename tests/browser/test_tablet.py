"""The field and shelters pages on a 1024×768 tablet, and the shelters wall's legend at 1080p.

On a tablet every visible button, input, select, pill and map control is at least
dashboard.touch.MIN_TARGET_PX high and wide (measured where it is drawn) and the sidebar at most
dashboard.touch.SIDEBAR_PX wide; the field map has a legend and a layer control. On the wall the
shelter legend covers no shelter marker. Read-only: the session's shared server and store.
"""

from __future__ import annotations

import pytest

from dashboard.touch import MIN_TARGET_PX, SIDEBAR_PX
from tests.browser.conftest import ARTIFACTS

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

# What a finger taps: every visible one of these, in the page and in the map, is measured.
TARGETS_JS = """
(selectors) => {
  const out = [];
  for (const el of document.querySelectorAll(selectors)) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden'
        || style.display === 'none' || parseFloat(style.opacity) === 0) continue;
    out.push({what: el.getAttribute('data-testid') || el.tagName.toLowerCase(),
              text: (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 30),
              width: Math.round(r.width), height: Math.round(r.height)});
  }
  return out;
}
"""
PAGE_TARGETS = ", ".join(
    [
        "button",
        "input:not([type=checkbox]):not([type=radio]):not([type=file]):not([type=hidden])",
        "textarea",
        '[data-baseweb="select"] > div',
        '[data-testid="stCheckbox"] label',  # a toggle's input is drawn by its label
        '[data-testid="stSidebarNavLink"]',
    ]
)
MAP_TARGETS = ".leaflet-bar a, .leaflet-control-layers label"
# the KPI and toggle labels (texts) cut short: wider than their box
LABELS_CUT_JS = """
() => [...document.querySelectorAll(
    '[data-testid="stMetricLabel"] *, [data-testid="stCheckbox"] label *')]
  .filter(el => el.textContent.trim() && el.clientWidth > 0
                && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
  .map(el => el.textContent.trim())
"""
# the pills (texts) reaching beyond the right edge of their group
PILLS_CUT_JS = """
() => [...document.querySelectorAll('[data-testid="stButtonGroup"]')].flatMap(group => {
  const edge = group.getBoundingClientRect().right + 1;
  return [...group.querySelectorAll('button')]
    .filter(b => b.getBoundingClientRect().right > edge).map(b => b.innerText);
})
"""


def _small(targets: list[dict]) -> list[dict]:
    return [t for t in targets if t["width"] < MIN_TARGET_PX or t["height"] < MIN_TARGET_PX]


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/field", "報告を送信"), ("/shelters", "避難所の状況を更新")],
)
def test_tablet_touch_targets_and_sidebar(make_page, app_server, path, ready):
    page = make_page("operator", width=1024, height=768)
    page.goto(app_server["url"] + path, wait_until="domcontentloaded")
    page.get_by_text(ready).first.wait_for(timeout=90_000)
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("path.bosai-town").first.wait_for(state="attached", timeout=90_000)
    page.wait_for_timeout(1500)
    name = path.strip("/")
    page.screenshot(path=str(ARTIFACTS / f"tablet-{name}-1024.png"))

    targets = page.evaluate(TARGETS_JS, PAGE_TARGETS)
    assert len(targets) > 10, targets  # the page's widgets were found
    assert _small(targets) == []
    sidebar = page.get_by_test_id("stSidebar").bounding_box()
    assert (
        sidebar is None or sidebar["x"] + sidebar["width"] <= 0 or (sidebar["width"] <= SIDEBAR_PX)
    ), sidebar

    # every pill of a filter is in view (a row of pills wraps; it scrolled sideways, hiding
    # 閉鎖, 報告なし, 60–80% and 80%以上 on the shelters board)
    assert page.evaluate(PILLS_CUT_JS) == []
    assert page.evaluate(LABELS_CUT_JS) == []  # KPI and toggle labels whole, not 「…」

    inside = page.frames[1:]
    map_targets = [t for f in inside if f.url for t in f.evaluate(TARGETS_JS, MAP_TARGETS)]
    assert {t["text"] for t in map_targets} >= {"+", "−"}  # the zoom buttons
    assert _small(map_targets) == []
    if path == "/field":  # the field map: a legend and a layer control listing the reports
        legend = frame.locator(".bosai-legend")
        assert "現地調査（深刻度）" in legend.inner_text()
        assert "3 深刻" in legend.inner_text() and "指定した場所" in legend.inner_text()
        control = frame.locator(".leaflet-control-layers")
        assert control.count() == 1
        assert "現地調査の報告" in control.inner_text()
    assert page.offline.blocked == []


OVERLAP_JS = """
() => {
  const legend = document.querySelector('.bosai-legend');
  const L = legend.getBoundingClientRect();
  const map = document.querySelector('.leaflet-container').getBoundingClientRect();
  const hits = [];
  let markers = 0;
  for (const m of document.querySelectorAll('path.bosai-shelter')) {
    const r = m.getBoundingClientRect();
    if (r.width === 0) continue;
    markers++;
    if (r.left < L.right && r.right > L.left && r.top < L.bottom && r.bottom > L.top)
      hits.push([Math.round(r.x), Math.round(r.y)]);
  }
  return {markers, hits, legend: [L.left, L.top, L.right, L.bottom],
          map: [map.left, map.top, map.right, map.bottom]};
}
"""


def test_shelters_wall_legend_covers_no_shelter(make_page, app_server):
    page = make_page("viewer")  # 1920×1080
    page.goto(app_server["url"] + "/shelters?kiosk=1", wait_until="domcontentloaded")
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator("path.bosai-shelter").first.wait_for(state="attached", timeout=90_000)
    frame.locator(".bosai-legend").wait_for(timeout=30_000)
    page.wait_for_timeout(2000)  # the fits at ready, resize, 300 ms and fonts-ready are done
    page.screenshot(path=str(ARTIFACTS / "tablet-wall-legend-1920.png"))
    [inside] = [f for f in page.frames[1:] if f.url and "folium" in f.url]
    found = inside.evaluate(OVERLAP_JS)
    assert found["markers"] >= 70, found  # every shelter of the city is drawn
    assert found["hits"] == [], found
    left, top, right, bottom = found["legend"]
    assert bottom <= found["map"][3] and right <= found["map"][2], found  # inside the map
    assert page.offline.blocked == []
