"""The basemap with the internet down: tiles prefetched from a loopback tile server, then served
by the app itself (``/bosai/tiles/…``) while Chromium may reach nothing but loopback.

The tile server is stopped before the browser opens, so every tile on screen came through the
dashboard from the MBTiles file; ``BOSAI_TILES`` stays ``gsi_pale`` (the online default) to show
that the local file wins and GSI is never asked.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from geodata.tiles import MBTiles
from ingest.cli import main
from tests.browser.conftest import ARTIFACTS, serve
from tests.tile_server import TileServer, tile_png

pytestmark = pytest.mark.browser

MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

# Tile <img> elements of the map: where they came from and whether they decoded as 256 px images.
_TILES_JS = """
() => Array.from(document.querySelectorAll('img.leaflet-tile')).map(img => ({
  src: img.src, complete: img.complete, width: img.naturalWidth,
  loaded: img.classList.contains('leaflet-tile-loaded'),
}))
"""
_NAMES_JS = """
() => ({zoom: window.map.getZoom(),
        names: Array.from(document.querySelectorAll('.bosai-town-name'))
          .map(e => e.innerText).filter(t => t)})
"""


@pytest.fixture(scope="module")
def prefetched(tmp_path_factory) -> dict:
    """The 調布市 extent at zoom 11-16 prefetched with the CLI from a loopback tile server, which
    is then shut down."""
    out = tmp_path_factory.mktemp("tiles") / "basemap.mbtiles"
    with TileServer() as ts:
        code = main(["basemap", "prefetch", "--json", "--zoom", "11-16", "--url", ts.url,
                     "--out", str(out), "--rate", "500"])  # fmt: skip
        asked = len(ts.requests)
    if code != 0:
        pytest.skip("no 調布市 reference boundary to prefetch for")
    with MBTiles(out) as mb:
        stored = sum(n for n, _ in mb.stats().values())
    assert stored == asked > 500
    return {"path": out, "tiles": stored}


@pytest.fixture(scope="module")
def basemap_app(reference_store, vendored_assets, prefetched, tmp_path_factory):
    """``streamlit run app.py`` (the app with its tile route) serving the prefetched file."""
    workdir = tmp_path_factory.mktemp("streamlit-basemap")
    with serve(
        reference_store["url"], workdir, script="app.py",
        BOSAI_TILES="gsi_pale", BOSAI_MBTILES=str(prefetched["path"]),
        BOSAI_REFRESH_SECONDS="30",
    ) as base:  # fmt: skip
        yield {"url": base, "store": reference_store}


def _loaded_tiles(map_frame) -> list[dict]:
    return [
        t for t in map_frame.evaluate(_TILES_JS) if t["loaded"] and t["complete"] and t["width"]
    ]


def test_offline_map_shows_the_prefetched_basemap(browser, basemap_app, prefetched):
    from tests.accounts import session_cookie
    from tests.browser.conftest import _instrument

    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="ja-JP")
    context.add_cookies([session_cookie(basemap_app["store"]["url"], "admin", basemap_app["url"])])
    page = _instrument(context)
    try:
        page.goto(basemap_app["url"] + "/", wait_until="domcontentloaded")
        frame = page.frame_locator(MAP_FRAME)
        frame.locator("path.bosai-town").first.wait_for(state="attached", timeout=90_000)
        map_frame = next(f for f in page.frames if "st_folium" in f.url)
        deadline = time.monotonic() + 30
        while len(_loaded_tiles(map_frame)) < 12 and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / "basemap-offline.png"))
        tiles = map_frame.evaluate(_TILES_JS)
        loaded = _loaded_tiles(map_frame)
        # Basemap tiles on screen, each a decoded 256 px image from the app's own tile route.
        assert len(loaded) >= 12, tiles
        assert {t["width"] for t in loaded} == {256}
        assert all(t["src"].startswith(basemap_app["url"] + "/bosai/tiles/") for t in tiles)
        # One of them, fetched again, is the very tile the loopback server made.
        z, x, y = (int(v) for v in loaded[0]["src"].split("/bosai/tiles/")[1].split("?")[0]
                   .removesuffix(".png").split("/"))  # fmt: skip
        with urllib.request.urlopen(loaded[0]["src"], timeout=5) as resp:
            assert resp.read() == tile_png(z, x, y)
        attribution = frame.locator(".leaflet-control-attribution").inner_text()
        assert "地理院タイル" in attribution
        # Town names only from street zoom (15) on.
        before = map_frame.evaluate(_NAMES_JS)
        assert before["zoom"] < 15 and before["names"] == []
        map_frame.evaluate("() => window.map.setView([35.6518, 139.5410], 16)")
        page.wait_for_timeout(1500)
        after = map_frame.evaluate(_NAMES_JS)
        assert after["zoom"] == 16 and "小島町二丁目" in after["names"], json.dumps(after)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            "/16/" in t["src"] for t in _loaded_tiles(map_frame)
        ):
            page.wait_for_timeout(250)
        assert any("/bosai/tiles/16/" in t["src"] for t in _loaded_tiles(map_frame))
        page.screenshot(path=str(ARTIFACTS / "basemap-offline-z16.png"))
        # Nothing left this machine: GSI was never asked, no failed tile inside the city.
        assert page.offline.blocked == []
        assert not [r for r in page.offline.bad_responses if "/bosai/tiles/" not in r]
    finally:
        context.close()
