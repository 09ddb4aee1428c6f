"""Static files go out gzipped, compressed once (dashboard/static_gzip.py), and the app's map
frames load only Leaflet (dashboard/maps/layers.py lean_assets)."""

from __future__ import annotations

import gzip
import tomllib
from pathlib import Path

import pytest

from dashboard.static_gzip import GzipCache, StaticGzip

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ("function f(x) { return x * 2; }\n" * 4000).encode()  # 132 kB, compressible
WOFF2 = bytes(range(256)) * 40  # stands for an already-compressed font


@pytest.fixture()
def client(tmp_path):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles
    from starlette.testclient import TestClient

    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.js").write_bytes(SCRIPT)
    (tmp_path / "js" / "tiny.js").write_bytes(b"var a = 1;")
    (tmp_path / "font.woff2").write_bytes(WOFF2)
    (tmp_path / "js" / "main.521860b0.js").write_bytes(SCRIPT)
    files = StaticFiles(directory=tmp_path)
    cache = GzipCache()
    app = Starlette(
        routes=[
            Mount("/static", files),
            Mount("/app/static", files),
            Mount("/media", files),
            Mount("/component/streamlit_folium.st_folium", files),
        ],  # fmt: skip
        # the inner GZipMiddleware stands for Streamlit's own (per request, level 9)
        middleware=[Middleware(StaticGzip, base="/", cache=cache), Middleware(GZipMiddleware)],
    )
    with TestClient(app) as c:
        c.cache = cache
        yield c


def test_script_is_gzipped_once_and_decodes_to_the_file(client):
    first = client.get("/static/js/main.js", headers={"Accept-Encoding": "gzip, br"})
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip"
    assert first.content == SCRIPT  # httpx decoded it
    assert int(first.headers["content-length"]) < len(SCRIPT) / 10
    assert first.headers["etag"].startswith("W/")
    assert "Accept-Encoding" in first.headers["vary"]
    again = client.get("/app/static/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert again.content == SCRIPT
    assert client.cache.compressions == 1  # same bytes under another path: compressed once


def test_raw_gzip_bytes_are_what_the_header_says(client):
    with client.stream("GET", "/static/js/main.js", headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
    assert len(raw) == int(r.headers["content-length"])
    assert gzip.decompress(raw) == SCRIPT


def test_passes_through_what_it_should_not_touch(client):
    plain = client.get("/static/js/main.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == SCRIPT
    refused = client.get("/static/js/main.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert refused.content == SCRIPT  # not compressed here (compressions == 0 below)
    font = client.get("/static/font.woff2", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in font.headers  # not a compressible type
    assert font.content == WOFF2
    tiny = client.get("/static/js/tiny.js", headers={"Accept-Encoding": "gzip"})
    assert tiny.content == b"var a = 1;"
    assert "content-encoding" not in tiny.headers  # below MIN_SIZE
    part = client.get(
        "/static/js/main.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"}
    )
    assert part.status_code == 206
    assert part.content == SCRIPT[:10]
    missing = client.get("/static/js/nope.js", headers={"Accept-Encoding": "gzip"})
    assert missing.status_code == 404
    # not a handled prefix: the inner (per-request) middleware answers as before
    media = client.get("/media/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert media.content == SCRIPT
    assert client.cache.compressions == 0


def test_hashed_component_files_are_cacheable(client):
    """Streamlit answers component files with a bare "Cache-Control: public": the browser
    fetched streamlit-folium's script again on every page. Hashed names may be kept a year."""
    hashed = client.get("/component/streamlit_folium.st_folium/js/main.521860b0.js")
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashed.content == SCRIPT
    plain = client.get("/component/streamlit_folium.st_folium/js/main.js")
    assert "immutable" not in plain.headers.get("cache-control", "")


def test_conditional_request_with_the_weak_etag_is_not_modified(client):
    first = client.get("/static/js/main.js", headers={"Accept-Encoding": "gzip"})
    again = client.get(
        "/static/js/main.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304


def test_cache_drops_the_least_recently_used_over_its_limit():
    cache = GzipCache(limit=1)
    a, b = b"a" * 5000, b"b" * 5000
    assert gzip.decompress(cache.get(a)) == a
    assert gzip.decompress(cache.get(b)) == b
    cache.get(a)
    assert cache.compressions == 3  # a was dropped when b came in


def test_app_serves_with_static_gzip_and_websocket_compression():
    text = (ROOT / "app.py").read_text("utf-8")
    assert "Middleware(StaticGzip)" in text
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["enableWebsocketCompression"] is True


def test_dashboard_maps_load_only_leaflet():
    import folium
    from streamlit_folium import _get_map_string  # noqa: F401 - the component is importable

    from dashboard.maps.layers import base_map

    m = base_map((139.52, 35.63, 139.60, 35.68), tiles="none")
    js = [name for name, _ in m.default_js]
    css = [name for name, _ in m.default_css]
    assert js == ["leaflet"] and css == ["leaflet_css"]
    # folium's own Map still lists the rest: only the dashboard's maps are lean
    assert "jquery" in [name for name, _ in folium.Map.default_js]
    html = m.get_root().render()
    assert "jquery" not in html and "bootstrap" not in html and "leaflet.js" in html
