"""The overview page in Chromium with the internet down: map, layers, no off-machine request."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

# Leaflet layers of the map inside the streamlit-folium iframe (window.map), by CSS class.
_COUNT_JS = """
() => {
  const out = {features: {}, polygons: {}, paths: {}};
  for (const layer of Object.values(window.map._layers)) {
    const cls = layer.options && layer.options.className;
    if (!cls || !cls.startsWith('bosai-') || !layer.feature) continue;
    out.features[cls] = (out.features[cls] || 0) + 1;
    const g = layer.feature.geometry;
    const n = g.type === 'MultiPolygon' ? g.coordinates.length : 1;
    out.polygons[cls] = (out.polygons[cls] || 0) + n;
  }
  for (const cls of ['bosai-town', 'bosai-hazard', 'bosai-shelter']) {
    out.paths[cls] = document.querySelectorAll('path.' + cls).length;
  }
  out.fills = {};
  for (const layer of Object.values(window.map._layers)) {
    if (layer.options && layer.options.className === 'bosai-shelter' && layer.feature) {
      out.fills[layer.feature.id] = layer.options.fillColor;
    }
  }
  out.counts = Array.from(document.querySelectorAll('.leaflet-tooltip.bosai-count'))
    .map(e => e.innerText).sort();
  out.boundary = document.querySelectorAll('path.bosai-boundary').length;
  out.attribution = document.querySelector('.leaflet-control-attribution').innerText;
  out.tiles = document.querySelectorAll('.leaflet-tile').length;
  return out;
}
"""


# Open the tooltip of the first shelter marker and return its text.
_OPEN_SHELTER_TOOLTIP_JS = """
() => {
  const layer = Object.values(window.map._layers)
    .find(l => l.options && l.options.className === 'bosai-shelter' && l.feature);
  // The tooltip is bound to the GeoJson group: a mouseover on the marker bubbles up to it.
  layer.fire('mouseover', {latlng: layer.getLatLng(), layer: layer}, true);
  const tips = document.querySelectorAll('.leaflet-tooltip');
  return tips.length ? tips[tips.length - 1].innerText : '';
}
"""


def _store_counts(url: str) -> dict:
    from geodata.store.core import open_store

    store = open_store(url)
    try:
        towns = store.read("towns")
        parts = sum(len(getattr(g, "geoms", [g])) for g in towns.geometry)
        return {
            "towns": len(towns),
            "town_polygons": parts,
            "hazard": store.count("hazard_areas"),
            "shelters": store.count("shelters"),
        }
    finally:
        store.dispose()


def _open_overview(page, base_url: str):
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{base_url}/", wait_until="domcontentloaded")
    try:
        page.wait_for_selector(MAP_FRAME, state="attached", timeout=90_000)
        frame = page.frame_locator(MAP_FRAME)
        frame.locator(".leaflet-container").wait_for(timeout=90_000)
        frame.locator("path.bosai-town").first.wait_for(state="attached", timeout=90_000)
        page.wait_for_load_state("networkidle")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "overview-failure.png"))
        raise
    return frame, sockets


def test_overview_map_offline(app_server, page):
    expected = _store_counts(app_server["store"]["url"])
    frame, sockets = _open_overview(page, app_server["url"])
    map_frame = next(f for f in page.frames if "st_folium" in f.url)
    counts = map_frame.evaluate(_COUNT_JS)
    page.screenshot(path=str(ARTIFACTS / "overview.png"))

    # The 調布市 reference layers, all drawn.
    assert expected["town_polygons"] == 105
    assert counts["polygons"]["bosai-town"] == 105
    assert counts["features"]["bosai-town"] == expected["towns"]
    assert counts["paths"]["bosai-town"] == expected["towns"]
    assert expected["hazard"] > 0
    assert counts["features"]["bosai-hazard"] == expected["hazard"]
    assert counts["paths"]["bosai-hazard"] == expected["hazard"]
    assert expected["shelters"] > 0
    assert counts["features"]["bosai-shelter"] == expected["shelters"]
    assert counts["paths"]["bosai-shelter"] == expected["shelters"]
    # Shelter colours follow the reports (status, occupancy class); open ones carry their count.
    reports = app_server["store"]["statuses"]
    assert len(reports) == 6
    colours = [counts["fills"][sid] for sid in reports]
    assert colours == ["#1a9850", "#fee08b", "#fc8d59", "#d73027", "#67001f", "#8c8c8c"]
    unreported = set(counts["fills"]) - set(reports)
    assert {counts["fills"][sid] for sid in unreported} == {"#ffffff"}
    open_counts = sorted(
        f"{r['evacuees']:,}人" for r in reports.values() if r["status"] in ("開設", "満員")
    )
    assert counts["counts"] == open_counts
    assert counts["boundary"] == 1
    # Tiles are off: no tile image, the data attributions are shown.
    assert counts["tiles"] == 0
    assert "e-Stat" in counts["attribution"]
    assert "国土数値情報" in counts["attribution"]
    assert "国土地理院" in counts["attribution"]
    assert "行政区域" in counts["attribution"]
    # One scale bar, metric only, clear of the attribution (top left).
    scale = frame.locator(".leaflet-control-scale-line")
    assert scale.count() == 1
    assert re.fullmatch(r"\d+ (m|km)", scale.inner_text().strip())
    assert frame.locator(".leaflet-top.leaflet-left .leaflet-control-scale").count() == 1
    # Layer control lists the three layers.
    control = frame.locator(".leaflet-control-layers-overlays").inner_text()
    for name in ("町丁目", "浸水想定区域", "避難所"):
        assert name in control

    # Nothing left this machine, and every script loaded.
    assert page.offline.blocked == []
    assert all(re.match(r"wss?://(127\.0\.0\.1|localhost)[:/]", u) for u in sockets), sockets
    assert page.offline.bad_responses == []
    script_errors = [
        e
        for e in page.offline.console_errors
        if re.search(r"ERR_|Refused to|is not defined|MIME type|Uncaught", e)
    ]
    assert script_errors == []
    assert page.offline.failed == []


def test_shelter_tooltip_and_language_switch(app_server, page):
    frame, _ = _open_overview(page, app_server["url"])
    map_frame = next(f for f in page.frames if "st_folium" in f.url)
    text = map_frame.evaluate(_OPEN_SHELTER_TOOLTIP_JS)
    assert "状況" in text

    page.goto(f"{app_server['url']}/?lang=en", wait_until="domcontentloaded")
    frame = page.frame_locator(MAP_FRAME)
    frame.locator("path.bosai-town").first.wait_for(state="attached", timeout=90_000)
    assert "Towns" in frame.locator(".leaflet-control-layers-overlays").inner_text()
    assert page.offline.blocked == []


def test_kiosk_mode_keeps_the_map_across_refreshes(app_server, page):
    page.goto(f"{app_server['url']}/?kiosk=1", wait_until="domcontentloaded")
    frame = page.frame_locator(MAP_FRAME)
    frame.locator("path.bosai-town").first.wait_for(state="attached", timeout=90_000)
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    # The map part reruns every BOSAI_REFRESH_SECONDS (5 s here): the same map stays on screen.
    page.wait_for_timeout(12_000)
    assert frame.locator("path.bosai-town").count() == 103
    assert page.locator(MAP_FRAME).count() == 1
    page.screenshot(path=str(ARTIFACTS / "overview-kiosk.png"))
    assert page.offline.blocked == []
