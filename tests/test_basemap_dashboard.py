"""The dashboard's basemap: prefetched tiles served by the app, the fallback order, town names.

The browser side (tiles loaded with outside traffic blocked) is tests/browser/test_basemap.py.
"""

from __future__ import annotations

import json
import re
import warnings

import geopandas as gpd
import pytest
import shapely

from dashboard.maps import layers as maps
from dashboard.maps.basemap import TOWN_NAMES_MIN_ZOOM, TownNames, choose_tiles
from geodata import tile_prefetch
from geodata.http import make_session
from geodata.tiles import tile_bounds
from tests.tile_server import TileServer, tile_png

Z, X, Y = 14, 14542, 6453
GSI_PALE = "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png"


@pytest.fixture
def mbtiles(tmp_path, monkeypatch):
    """A prefetched file (zoom 14-15 of one tile) as the settings' BOSAI_MBTILES."""
    path = tmp_path / "basemap.mbtiles"
    west, south, east, north = tile_bounds(Z, X, Y)
    bounds = (west + 1e-7, south + 1e-7, east - 1e-7, north - 1e-7)
    with TileServer() as ts:
        plan = tile_prefetch.make_plan(bounds, range(14, 16), "gsi_pale", url=ts.url, margin=0)
        tile_prefetch.prefetch(plan, path, make_session(retries=0), rate=1000)
    monkeypatch.setenv("BOSAI_MBTILES", str(path))
    return path


def test_online_tiles_without_a_local_file():
    choice = choose_tiles("gsi_pale", "", maps.TILES)
    assert choice.url == GSI_PALE and choice.source == "gsi_pale"
    assert choose_tiles("none", "", maps.TILES) is None
    assert choose_tiles("local", "", maps.TILES) is None  # local only, nothing prefetched


def test_local_file_wins_over_the_online_service(mbtiles):
    choice = choose_tiles("gsi_pale", "", maps.TILES)
    assert choice.source == "local" and choice.max_native_zoom == 15
    assert re.fullmatch(r"/bosai/tiles/\{z\}/\{x\}/\{y\}\.png\?v=\d+", choice.url)
    assert "地理院タイル" in choice.attribution and "maps.gsi.go.jp" in choice.attribution
    west, south, east, north = tile_bounds(Z, X, Y)
    assert choice.options["min_native_zoom"] == 14
    (s, w), (n, e) = choice.options["bounds"]
    assert (s, w, n, e) == pytest.approx((south, west, north, east), abs=1e-6)
    assert choose_tiles("local", "", maps.TILES).source == "local"
    assert choose_tiles("osm", "", maps.TILES).source == "local"
    # An explicit HQ tile server and an explicit "none" still win.
    assert choose_tiles("gsi_pale", "http://tiles.hq/{z}/{x}/{y}.png", maps.TILES).source == (
        "custom"
    )
    assert choose_tiles("none", "", maps.TILES) is None


def test_base_map_draws_the_local_tiles(mbtiles):
    html = maps.base_map((139.5, 35.6, 139.6, 35.7), tiles="gsi_pale").get_root().render()
    assert "/bosai/tiles/{z}/{x}/{y}.png?v=" in html
    assert GSI_PALE not in html and "cyberjapandata" not in html
    assert '"maxNativeZoom": 15' in html and '"minNativeZoom": 14' in html
    assert json.dumps("地理院タイル")[1:-1] in html  # the attribution kept in the file


def test_tile_route_serves_the_file(mbtiles):
    from starlette.applications import Starlette

    from dashboard import tile_server

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from starlette.testclient import TestClient

        client = TestClient(Starlette(routes=tile_server.routes()))
    ok = client.get(f"/bosai/tiles/{Z}/{X}/{Y}.png?v=1")
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert ok.content == tile_png(Z, X, Y)
    assert "max-age" in ok.headers["cache-control"]
    child = client.get(f"/bosai/tiles/15/{2 * X + 1}/{2 * Y}.png")
    assert child.status_code == 200 and child.content == tile_png(15, 2 * X + 1, 2 * Y)
    assert client.get(f"/bosai/tiles/{Z}/{X + 1}/{Y}.png").status_code == 404
    assert client.get("/bosai/tiles/99/0/0.png").status_code == 404
    assert client.get("/bosai/tiles/a/b/c.png").status_code == 404
    mbtiles.unlink()
    assert client.get(f"/bosai/tiles/{Z}/{X}/{Y}.png").status_code == 404


def test_the_app_routes_include_the_tiles():
    from dashboard import server

    paths = [r.path for r in server.routes()]
    assert "/bosai/tiles/{z:int}/{x:int}/{y:int}.png" in paths
    assert "/bosai/session" in paths and "/bosai/logout" in paths


def _towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "town_code": ["1", "2", "3", "4"],
            "name": ["国領町一丁目", "<b>x</b>", "野水一丁目", "野水一丁目"],
            "population": [1, 2, 3, 4],
            "households": [1, 1, 1, 1],
        },
        geometry=[
            shapely.box(139.54, 35.64, 139.55, 35.65),
            shapely.box(139.55, 35.64, 139.56, 35.65),
            shapely.box(139.56, 35.64, 139.58, 35.66),  # the big piece gets the label
            shapely.box(139.60, 35.60, 139.601, 35.601),
        ],
        crs="EPSG:4326",
    )


def test_town_names_from_street_zoom():
    names = TownNames(_towns())
    data = json.loads(names.json.replace("\\u003c", "<").replace("\\u003e", ">"))
    assert data["minZoom"] == TOWN_NAMES_MIN_ZOOM == 15
    assert [n[2] for n in data["names"]] == ["野水一丁目", "国領町一丁目", "&lt;b&gt;x&lt;/b&gt;"]
    lat, lon, _ = data["names"][0]
    assert 35.64 < lat < 35.66 and 139.56 < lon < 139.58  # inside the big piece of 野水
    html = maps.overview_map(_towns(), _towns().iloc[:0], _towns().iloc[:0], tiles="none")
    rendered = html.get_root().render()
    assert "bosai-town-name" in rendered and "<b>x</b>" not in rendered
    assert "map.getZoom() >= d.minZoom" in rendered
