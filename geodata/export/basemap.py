"""Optional basemap for printed maps: GSI tiles fetched, stitched and warped to EPSG:6677.

The HQ may be offline: :func:`fetch_basemap` gives up silently (returns None) at the first tile
that cannot be fetched, or when the time budget is spent, and the map is drawn without a
basemap. The HTTP session is passed in (see :func:`geodata.http.make_session`); tests serve
tiles from a local server.
"""

from __future__ import annotations

import io
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pyproj

from geodata import settings

log = logging.getLogger(__name__)

GSI_TILES = {
    "gsi_pale": "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
    "gsi_std": "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png",
    "gsi_photo": "https://cyberjapandata.gsi.go.jp/xyz/seamlessphoto/{z}/{x}/{y}.jpg",
}
TILE_SIZE = 256
MAX_TILES = 120
_WEB_MERCATOR_HALF = 20037508.342789244


@dataclass
class Basemap:
    """A basemap image in the map's CRS.

    Attributes
    ----------
    image : RGB(A) array, row 0 at the top.
    extent : (minx, maxx, miny, maxy) in the map CRS, as ``imshow(extent=...)`` wants.
    zoom : the tile zoom level used.
    tiles : number of tiles fetched.
    """

    image: np.ndarray
    extent: tuple[float, float, float, float]
    zoom: int
    tiles: int


def tile_url_template() -> str | None:
    """The tile URL template of the settings (BOSAI_TILE_URL, else a GSI BOSAI_TILES choice).

    Returns None when the settings ask for no tiles, or for tiles that may not be printed
    (OpenStreetMap's tile policy forbids bulk downloads).
    """
    custom = settings.get("BOSAI_TILE_URL")
    if custom:
        return custom
    return GSI_TILES.get(settings.get("BOSAI_TILES"))


def fetch_basemap(
    bounds: tuple[float, float, float, float],
    session,
    *,
    crs: str = "EPSG:6677",
    url_template: str | None = None,
    width_px: int = 2400,
    timeout: float = 4.0,
    budget_seconds: float = 30.0,
) -> Basemap | None:
    """Fetch the tiles covering ``bounds`` and warp them to ``crs``; None when unreachable.

    Parameters
    ----------
    bounds : (minx, miny, maxx, maxy) in ``crs``.
    session : a requests-like session (``get(url, timeout=...)``); None means no basemap.
    crs : the projected CRS the map is drawn in.
    url_template : ``{z}/{x}/{y}`` template; default: :func:`tile_url_template`.
    width_px : width of the warped image (its height follows the bounds).
    timeout : seconds per tile request.
    budget_seconds : give up when fetching takes longer than this in total.

    Returns
    -------
    Basemap or None. Never raises for network or image errors.
    """
    url_template = url_template or tile_url_template()
    if session is None or not url_template:
        return None
    try:
        return _fetch(bounds, session, crs, url_template, width_px, timeout, budget_seconds)
    except Exception as exc:  # noqa: BLE001 - the basemap is optional, the map is not
        log.info("basemap not available (%s); drawing without it", exc)
        return None


def _fetch(bounds, session, crs, url_template, width_px, timeout, budget) -> Basemap | None:
    from PIL import Image

    to_merc = pyproj.Transformer.from_crs(crs, "EPSG:3857", always_xy=True)
    minx, miny, maxx, maxy = bounds
    xs, ys = to_merc.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    mx0, mx1, my0, my1 = min(xs), max(xs), min(ys), max(ys)
    metres_per_px = (maxx - minx) / width_px
    lat = math.radians(
        pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
            (minx + maxx) / 2, (miny + maxy) / 2
        )[1]
    )
    # Web Mercator metres are stretched by 1/cos(lat): pick the zoom whose pixel is finer.
    zoom = int(math.ceil(math.log2(2 * _WEB_MERCATOR_HALF * math.cos(lat) / (256 * metres_per_px))))
    zoom = max(1, min(zoom, 17))
    while True:
        tx0, ty0 = _tile_xy(mx0, my1, zoom)
        tx1, ty1 = _tile_xy(mx1, my0, zoom)
        if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) <= MAX_TILES or zoom <= 1:
            break
        zoom -= 1
    started = time.monotonic()
    mosaic = np.zeros(((ty1 - ty0 + 1) * TILE_SIZE, (tx1 - tx0 + 1) * TILE_SIZE, 3), np.uint8)
    count = 0
    for ty in range(ty0, ty1 + 1):
        for tx in range(tx0, tx1 + 1):
            if time.monotonic() - started > budget:
                log.info("basemap: time budget spent after %d tiles", count)
                return None
            resp = session.get(url_template.format(z=zoom, x=tx, y=ty), timeout=timeout)
            resp.raise_for_status()
            tile = Image.open(io.BytesIO(resp.content)).convert("RGB").resize((256, 256))
            r, c = (ty - ty0) * TILE_SIZE, (tx - tx0) * TILE_SIZE
            mosaic[r : r + TILE_SIZE, c : c + TILE_SIZE] = np.asarray(tile)
            count += 1
    image = _warp(mosaic, (tx0, ty0), zoom, bounds, width_px, to_merc)
    return Basemap(image=image, extent=(minx, maxx, miny, maxy), zoom=zoom, tiles=count)


def _tile_xy(mx: float, my: float, zoom: int) -> tuple[int, int]:
    n = 2**zoom
    x = int((mx + _WEB_MERCATOR_HALF) / (2 * _WEB_MERCATOR_HALF) * n)
    y = int((_WEB_MERCATOR_HALF - my) / (2 * _WEB_MERCATOR_HALF) * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def _warp(mosaic, origin, zoom, bounds, width_px, to_merc) -> np.ndarray:
    """Resample the Web Mercator mosaic onto a regular grid of the map CRS (nearest pixel)."""
    minx, miny, maxx, maxy = bounds
    height_px = max(1, int(round(width_px * (maxy - miny) / (maxx - minx))))
    gx = minx + (np.arange(width_px) + 0.5) * (maxx - minx) / width_px
    gy = maxy - (np.arange(height_px) + 0.5) * (maxy - miny) / height_px
    xx, yy = np.meshgrid(gx, gy)
    mx, my = to_merc.transform(xx.ravel(), yy.ravel())
    world_px = 2 * _WEB_MERCATOR_HALF / (TILE_SIZE * 2**zoom)
    col = ((np.asarray(mx) + _WEB_MERCATOR_HALF) / world_px - origin[0] * TILE_SIZE).astype(int)
    row = ((_WEB_MERCATOR_HALF - np.asarray(my)) / world_px - origin[1] * TILE_SIZE).astype(int)
    col = np.clip(col, 0, mosaic.shape[1] - 1)
    row = np.clip(row, 0, mosaic.shape[0] - 1)
    return mosaic[row, col].reshape(height_px, width_px, 3)
