"""Town labels that would overlap are hidden on the map, the largest counts kept, and shown again
when the map is zoomed in (dashboard/maps/elements.py ``Declutter``, on every map
``kiosk.live_map`` shows, the overview's 「要救助 N」 per town among them): at a whole city's zoom
a hundred labels otherwise piled into a heap nobody can read from 5 m. The map is a real folium page in Chromium, its scripts the
vendored copies (nothing leaves the machine)."""

from __future__ import annotations

import mimetypes
import re

import folium
import pytest

from dashboard.maps import offline
from dashboard.maps.elements import Declutter, LabelLayer
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ORIGIN = "http://bosai.test"
# 48 labels in a 6 x 8 grid about 250 m apart: at zoom 13 they overlap, at 17 they do not.
ROWS = [(35.650 + 0.0022 * (i // 8), 139.540 + 0.0028 * (i % 8), f"要救助 {48 - i}")
        for i in range(48)]  # fmt: skip
STYLE = ".bosai-rescue { font-size: 22px; font-weight: 700; }"
CLASS = "bosai-wall-label bosai-rescue bosai-first"  # as dashboard.picture.rescue_labels does

# (visible labels' texts in row order, pairs of visible labels that overlap, labels in all)
_PLACED_JS = """
() => {
  const els = [...document.querySelectorAll('.bosai-rescue')];
  const shown = els.filter(e => getComputedStyle(e).visibility !== 'hidden');
  const boxes = shown.map(e => e.getBoundingClientRect());
  let overlaps = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps++;
  }
  return [shown.map(e => e.innerText), overlaps, els.length];
}
"""


def _map_html(declutter: bool, rows=ROWS, counts=()) -> tuple[str, str]:
    """The page and the map's name; ``counts``: shelter-style count labels drawn first."""
    offline.install("")
    m = folium.Map(location=[35.6555, 139.550], zoom_start=13, tiles=None)
    m.get_root().header.add_child(folium.Element(f"<style>{STYLE}</style>"))
    if counts:
        LabelLayer(counts, {"permanent": True, "direction": "right", "className": "bosai-count"}
                   ).add_to(m)  # fmt: skip
    options = {"permanent": True, "direction": "center", "className": CLASS}
    LabelLayer(rows, options).add_to(m)
    if declutter:
        Declutter().add_to(m)
    return m.get_root().render(), m.get_name()


# the largest distance (px) between a centred label's centre and its point on the screen
_OFF_CENTRE_JS = """
(name) => {
  const map = window[name], box = map.getContainer().getBoundingClientRect();
  let worst = 0, n = 0;
  map.eachLayer(l => {
    const t = l.getTooltip && l.getTooltip();
    if (!t || !t.isOpen() || t.options.direction !== 'center') return;
    const p = map.latLngToContainerPoint(l.getLatLng());
    const r = t.getElement().getBoundingClientRect();
    const dx = r.left + r.width / 2 - (box.left + p.x), dy = r.top + r.height / 2 - (box.top + p.y);
    worst = Math.max(worst, Math.hypot(dx, dy)); n++;
  });
  return [n, worst];
}
"""


def _open(browser, html: str):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()

    def answer(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            return route.fulfill(body=html, content_type="text/html; charset=utf-8")
        prefix = offline.vendor_url("") + "/"
        if path.startswith(prefix):
            file = offline.VENDOR_DIR / path.removeprefix(prefix)
            if file.is_file():
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                return route.fulfill(body=file.read_bytes(), content_type=kind)
        return route.abort()  # nothing leaves the machine

    page.route("**/*", answer)
    page.goto(ORIGIN + "/")
    page.wait_for_timeout(600)  # placed 120 ms after the last change, fonts settled
    return context, page


def test_overlapping_labels_are_hidden_largest_first_and_shown_when_zoomed_in(browser):
    html, name = _map_html(declutter=True)
    context, page = _open(browser, html)
    try:
        shown, overlaps, total = page.evaluate(_PLACED_JS)
        assert total == len(ROWS)
        assert overlaps == 0 and 0 < len(shown) < total, (len(shown), overlaps)
        assert shown[0] == "要救助 48"  # the first row (the largest count) always shows
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map-labels-city.png"))
        page.evaluate(f"{name}.setZoom(17, {{animate: false}})")
        page.wait_for_timeout(400)
        closer, overlaps, _ = page.evaluate(_PLACED_JS)
        assert overlaps == 0 and len(closer) > len(shown), (len(closer), len(shown))
        page.evaluate(f"{name}.setZoom(13, {{animate: false}})")
        page.wait_for_timeout(400)
        again, overlaps, _ = page.evaluate(_PLACED_JS)
        assert overlaps == 0 and again == shown  # the same labels at the same zoom
    finally:
        context.close()


def test_without_decluttering_the_same_labels_overlap(browser):
    """What the test above guards against: the labels do overlap at the city's zoom."""
    html, _name = _map_html(declutter=False)
    context, page = _open(browser, html)
    try:
        shown, overlaps, total = page.evaluate(_PLACED_JS)
        assert len(shown) == total == len(ROWS) and overlaps > 20
    finally:
        context.close()


def test_a_centred_label_sits_on_its_town_when_leaflets_stylesheet_comes_late(browser):
    """As in the app: streamlit-folium adds leaflet.css with the map, so a label can open before
    it applies (a block as wide as the map): the overview's 「要救助 4」 was drawn ~900 px left of
    its town. Here the stylesheet is added 400 ms after the map's script has run."""
    rows = ROWS[::9]  # six labels far apart
    html, name = _map_html(declutter=False, rows=rows)
    link = re.search(r'<link[^>]*href="([^"]*leaflet/leaflet\.css)"[^>]*>', html)
    assert link is not None
    late = (f"<script>setTimeout(function () {{ var l = document.createElement('link');"
            f" l.rel = 'stylesheet'; l.href = '{link.group(1)}';"
            f" document.head.appendChild(l); }}, 400);</script>")  # fmt: skip
    html = html.replace(link.group(0), "").replace("</body>", late + "</body>")
    context, page = _open(browser, html)
    try:
        page.wait_for_timeout(1200)
        placed, worst = page.evaluate(_OFF_CENTRE_JS, name)
        assert placed == len(rows) and worst < 3, worst
    finally:
        context.close()


def test_a_rescue_count_is_never_hidden_behind_an_earlier_count(browser):
    """Declutter keeps ``bosai-first`` labels first: an evacuee count drawn before the rescue
    labels, on the same spot, gives way (it had hidden the overview's only 「要救助 4」)."""
    rows = ROWS[:1]
    counts = [(rows[0][0], rows[0][1] - 0.001, "5,000人")]
    html, _name = _map_html(declutter=True, rows=rows, counts=counts)
    context, page = _open(browser, html)
    try:
        shown, overlaps, total = page.evaluate(_PLACED_JS)
        assert (shown, overlaps, total) == (["要救助 48"], 0, 1)
        hidden = page.evaluate(
            "() => [...document.querySelectorAll('.bosai-count')]"
            ".map(e => getComputedStyle(e).visibility)"
        )
        assert hidden == ["hidden"]
    finally:
        context.close()
