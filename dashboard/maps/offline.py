"""Maps that work with the internet down: folium's CDN assets served by the app itself.

folium renders ``<script src="https://cdn.jsdelivr.net/...">`` tags for Leaflet, jQuery, Bootstrap,
Font Awesome and each plugin (the ``default_js`` / ``default_css`` class attributes), and
streamlit-folium passes the same URLs to its component, which loads them one after the other: a
single unreachable CDN and the HQ sees no map at all. ``scripts/vendor_assets.py`` copies the same
packages (installed from the npm registry with ``package-lock.json``) into ``static/vendor``;
:func:`install` rewrites the class attributes to ``/app/static/vendor/...``, which Streamlit's
static serving answers (``server.enableStaticServing = true``). See docs/offline.md.

This module does not import streamlit at import time, so the vendoring script and the tests can
read :data:`VENDOR_FILES` and :data:`CDN_TO_LOCAL` without a running app.
"""

from __future__ import annotations

import inspect
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = PROJECT_ROOT / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
# Streamlit serves ./static/<path> at <baseUrlPath>/app/static/<path>.
VENDOR_URL_PATH = "app/static/vendor"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorFile:
    """One file or folder in ``static/vendor``.

    ``origin`` is ``npm`` (``source`` is a path inside ``node_modules``), ``folium`` (a path inside
    the installed folium package) or ``generated`` (``source`` names a generator in
    scripts/vendor_assets.py).
    """

    dest: str
    origin: str
    source: str


VENDOR_FILES: tuple[VendorFile, ...] = (
    VendorFile("leaflet/leaflet.js", "npm", "leaflet/dist/leaflet.js"),
    VendorFile("leaflet/leaflet.css", "npm", "leaflet/dist/leaflet.css"),
    VendorFile("leaflet/images", "npm", "leaflet/dist/images"),
    VendorFile("jquery/jquery.min.js", "npm", "jquery/dist/jquery.min.js"),
    VendorFile(
        "bootstrap/js/bootstrap.bundle.min.js", "npm", "bootstrap/dist/js/bootstrap.bundle.min.js"
    ),
    VendorFile("bootstrap/css/bootstrap.min.css", "npm", "bootstrap/dist/css/bootstrap.min.css"),
    # The glyphicons of Bootstrap 3 (folium's Icon(prefix="glyphicon")), cut out of bootstrap 3.4.1.
    VendorFile("glyphicons/css/bootstrap-glyphicons.css", "generated", "glyphicons"),
    VendorFile("glyphicons/fonts", "npm", "bootstrap3/dist/fonts"),
    VendorFile(
        "fontawesome/css/all.min.css", "npm", "@fortawesome/fontawesome-free/css/all.min.css"
    ),
    VendorFile("fontawesome/webfonts", "npm", "@fortawesome/fontawesome-free/webfonts"),
    VendorFile(
        "awesome-markers/leaflet.awesome-markers.js",
        "npm",
        "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    ),
    VendorFile(
        "awesome-markers/leaflet.awesome-markers.css",
        "npm",
        "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    ),
    VendorFile("awesome-markers/images", "npm", "leaflet.awesome-markers/dist/images"),
    VendorFile("folium/leaflet.awesome.rotate.min.css", "generated", "awesome_rotate"),
    VendorFile("folium/leaflet_heat.min.js", "folium", "templates/leaflet_heat.min.js"),
    VendorFile(
        "markercluster/leaflet.markercluster.js",
        "npm",
        "leaflet.markercluster/dist/leaflet.markercluster.js",
    ),
    VendorFile(
        "markercluster/MarkerCluster.css", "npm", "leaflet.markercluster/dist/MarkerCluster.css"
    ),
    VendorFile(
        "markercluster/MarkerCluster.Default.css",
        "npm",
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
    ),
    VendorFile(
        "subgroup/leaflet.featuregroup.subgroup.js",
        "npm",
        "leaflet.featuregroup.subgroup/dist/leaflet.featuregroup.subgroup.js",
    ),
    # leaflet.fullscreen 3.0.0 on npm has no .min.js; the plain file is the same code.
    VendorFile(
        "fullscreen/Control.FullScreen.js", "npm", "leaflet.fullscreen/Control.FullScreen.js"
    ),
    VendorFile(
        "fullscreen/Control.FullScreen.css", "npm", "leaflet.fullscreen/Control.FullScreen.css"
    ),
    VendorFile("fullscreen/icon-fullscreen.svg", "npm", "leaflet.fullscreen/icon-fullscreen.svg"),
    VendorFile("leaflet-draw/leaflet.draw.js", "npm", "leaflet-draw/dist/leaflet.draw.js"),
    VendorFile("leaflet-draw/leaflet.draw.css", "npm", "leaflet-draw/dist/leaflet.draw.css"),
    VendorFile("leaflet-draw/images", "npm", "leaflet-draw/dist/images"),
)

_JSD = "https://cdn.jsdelivr.net"
_CF = "https://cdnjs.cloudflare.com/ajax/libs"

# Every CDN URL folium 0.20 emits for the map and the plugins the dashboard supports -> the file
# under static/vendor that replaces it. A plugin not listed here keeps its CDN URL (and
# tests/test_offline.py fails if a map the dashboard builds uses it).
CDN_TO_LOCAL: dict[str, str] = {
    # folium.Map
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    f"{_JSD}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
        "bootstrap/js/bootstrap.bundle.min.js"
    ),
    f"{_CF}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        "awesome-markers/leaflet.awesome-markers.js"
    ),
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
    f"{_JSD}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
        "glyphicons/css/bootstrap-glyphicons.css"
    ),
    f"{_JSD}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
        "fontawesome/css/all.min.css"
    ),
    f"{_CF}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        "awesome-markers/leaflet.awesome-markers.css"
    ),
    f"{_JSD}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": (
        "folium/leaflet.awesome.rotate.min.css"
    ),
    # folium.plugins.HeatMap
    f"{_JSD}/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js": (
        "folium/leaflet_heat.min.js"
    ),
    # folium.plugins.MarkerCluster
    f"{_CF}/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
        "markercluster/leaflet.markercluster.js"
    ),
    f"{_CF}/leaflet.markercluster/1.1.0/MarkerCluster.css": "markercluster/MarkerCluster.css",
    f"{_CF}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
        "markercluster/MarkerCluster.Default.css"
    ),
    # folium.plugins.FeatureGroupSubGroup
    "https://unpkg.com/leaflet.featuregroup.subgroup@1.0.2/dist/leaflet.featuregroup.subgroup.js": (
        "subgroup/leaflet.featuregroup.subgroup.js"
    ),
    # folium.plugins.Fullscreen
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
        "fullscreen/Control.FullScreen.js"
    ),
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
        "fullscreen/Control.FullScreen.css"
    ),
    # folium.plugins.Draw
    f"{_CF}/leaflet.draw/1.0.2/leaflet.draw.js": "leaflet-draw/leaflet.draw.js",
    f"{_CF}/leaflet.draw/1.0.2/leaflet.draw.css": "leaflet-draw/leaflet.draw.css",
}

# The folium classes whose assets are vendored (all their URLs are in CDN_TO_LOCAL).
SUPPORTED_PLUGINS = ("HeatMap", "MarkerCluster", "FeatureGroupSubGroup", "Fullscreen", "Draw")

_installed_prefix: str | None = None


def vendor_url(dest: str, base_url_path: str = "") -> str:
    """The URL path the app serves ``static/vendor/<dest>`` at.

    Examples
    --------
    >>> vendor_url("leaflet/leaflet.js")
    '/app/static/vendor/leaflet/leaflet.js'
    >>> vendor_url("leaflet/leaflet.js", "bosai/")
    '/bosai/app/static/vendor/leaflet/leaflet.js'
    """
    parts = [p for p in (base_url_path.strip("/"), VENDOR_URL_PATH, dest) if p]
    return "/" + "/".join(parts)


def missing_files(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The files of :data:`CDN_TO_LOCAL` not present under ``vendor_dir`` (empty when vendored)."""
    return sorted({d for d in CDN_TO_LOCAL.values() if not (vendor_dir / d).is_file()})


def _asset_classes() -> list[type]:
    """folium/branca classes that declare their own ``default_js`` or ``default_css``."""
    import folium
    import folium.features
    import folium.plugins

    seen: dict[type, None] = {}
    for module in (folium, folium.features, folium.plugins):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if "default_js" in cls.__dict__ or "default_css" in cls.__dict__:
                seen[cls] = None
    return list(seen)


def patch_folium(base_url_path: str = "") -> list[tuple[str, str]]:
    """Rewrite folium's class-level CDN URLs to the vendored copies.

    Idempotent: the original URLs are kept on each class (``_bosai_cdn_js`` / ``_bosai_cdn_css``)
    so calling again with another ``base_url_path`` rewrites from the originals.

    Returns
    -------
    The ``(class name, url)`` pairs left pointing to a CDN (plugins the dashboard does not vendor).
    """
    left: list[tuple[str, str]] = []
    for cls in _asset_classes():
        for attr in ("default_js", "default_css"):
            if attr not in cls.__dict__:
                continue
            keep = f"_bosai_cdn_{attr.removeprefix('default_')}"
            if keep not in cls.__dict__:
                setattr(cls, keep, list(cls.__dict__[attr]))
            rewritten = []
            for name, url in getattr(cls, keep):
                local = CDN_TO_LOCAL.get(url)
                if local is None:
                    left.append((cls.__name__, url))
                    rewritten.append((name, url))
                else:
                    rewritten.append((name, vendor_url(local, base_url_path)))
            setattr(cls, attr, rewritten)
    return left


def install(base_url_path: str | None = None) -> list[str]:
    """Point folium at the vendored assets; call once at app start (cheap to call again).

    Also maps ``.js``/``.css`` to their MIME types in :mod:`mimetypes`: Streamlit's static serving
    sends ``X-Content-Type-Options: nosniff`` and takes the type from :mod:`mimetypes`, which reads
    the OS tables (a Windows registry can say ``text/plain`` for .js and then no script runs).

    Parameters
    ----------
    base_url_path : Streamlit's ``server.baseUrlPath``; read from the running config when None.

    Returns
    -------
    The vendored files that are missing (run ``python scripts/vendor_assets.py``); empty when all
    are in place.
    """
    global _installed_prefix
    if base_url_path is None:
        import streamlit as st

        base_url_path = st.get_option("server.baseUrlPath") or ""
    mimetypes.add_type("text/javascript", ".js")
    mimetypes.add_type("text/css", ".css")
    mimetypes.add_type("font/woff2", ".woff2")
    if _installed_prefix != base_url_path:
        left = patch_folium(base_url_path)
        unsupported = sorted({cls for cls, _ in left})
        _log.debug("folium classes left on CDN assets: %s", ", ".join(unsupported))
        _installed_prefix = base_url_path
    missing = missing_files()
    if missing:
        _log.warning(
            "%d vendored map assets are missing (run python scripts/vendor_assets.py): %s",
            len(missing),
            ", ".join(missing[:5]),
        )
    return missing
