"""Offline map assets: every URL the patched folium emits is a vendored file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import folium
import folium.plugins
import pytest

from dashboard.maps import offline

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def vendored() -> Path:
    """static/vendor filled by the script (idempotent: a no-op when already current)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.match(r"static/vendor (vendored|already current): \d+ KiB", proc.stdout)
    return offline.VENDOR_DIR


def _asset_urls(m: folium.Map) -> list[str]:
    html = m.get_root().render()
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def _map_with_every_supported_plugin() -> folium.Map:
    m = folium.Map(tiles=None)
    folium.plugins.HeatMap([[35.65, 139.54, 1.0]]).add_to(m)
    cluster = folium.plugins.MarkerCluster().add_to(m)
    folium.Marker([35.65, 139.54], icon=folium.Icon(icon="home", prefix="fa", angle=45)).add_to(
        cluster
    )
    folium.plugins.FeatureGroupSubGroup(cluster, name="sub").add_to(m)
    folium.plugins.Fullscreen().add_to(m)
    folium.plugins.Draw().add_to(m)
    return m


def test_every_patched_url_is_a_vendored_file(vendored):
    left = offline.patch_folium("")
    urls = _asset_urls(_map_with_every_supported_plugin())
    assert len(urls) == 19
    for url in urls:
        assert url.startswith("/app/static/vendor/"), url
        path = vendored / url.removeprefix("/app/static/vendor/")
        assert path.is_file() and path.stat().st_size > 0, url
    # Each supported plugin is fully vendored; what is left on a CDN is only unsupported ones.
    assert not {cls for cls, _ in left} & set(offline.SUPPORTED_PLUGINS)
    assert offline.missing_files() == []


def test_css_references_resolve(vendored):
    """Fonts and images a vendored stylesheet points to (url(...)) are there too."""
    for css in vendored.rglob("*.css"):
        for ref in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            target = (css.parent / ref.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), f"{css.relative_to(vendored)} -> {ref}"


def test_vendor_script_is_idempotent(vendored):
    stamp = (vendored / ".stamp").read_text()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.startswith("static/vendor already current")
    assert (vendored / ".stamp").read_text() == stamp
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0 and check.stdout == ""


def test_glyphicons_cut_from_bootstrap3(vendored):
    css = (vendored / "glyphicons/css/bootstrap-glyphicons.css").read_text(encoding="utf-8")
    assert css.count("@font-face") == 1
    assert ".glyphicon-home:before" in css
    assert "body" not in css  # nothing else of Bootstrap 3 (it would fight Bootstrap 5)


def test_patch_rewrites_from_the_originals_and_honours_base_path():
    offline.patch_folium("bosai")
    assert dict(folium.Map.default_js)["leaflet"] == "/bosai/app/static/vendor/leaflet/leaflet.js"
    offline.patch_folium("")
    assert dict(folium.Map.default_js)["leaflet"] == "/app/static/vendor/leaflet/leaflet.js"
    originals = dict(folium.Map._bosai_cdn_js)
    assert originals["leaflet"] == "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"


def test_every_cdn_url_of_folium_map_is_mapped():
    offline.patch_folium("")
    originals = [url for _, url in folium.Map._bosai_cdn_js + folium.Map._bosai_cdn_css]
    assert len(originals) == 10
    assert all(url in offline.CDN_TO_LOCAL for url in originals)


def test_install_sets_script_mime_types():
    import mimetypes

    offline.install(base_url_path="")
    assert mimetypes.guess_type("leaflet.js")[0] == "text/javascript"
    assert mimetypes.guess_type("leaflet.css")[0] == "text/css"
