"""Optional basemap for printed maps: tiles stitched and warped to EPSG:6677.

Two places tiles come from, chosen by :func:`choose_basemap`:

- the **local MBTiles file** of prefetched tiles (``BOSAI_MBTILES``, :mod:`geodata.tiles`) when
  it exists: no network, well under a second (:func:`local_basemap`);
- the **online tile service** (GSI, or ``BOSAI_TILE_URL``): :func:`fetch_basemap` gives up
  (returns None) at the first tile that cannot be fetched, or when the time budget is spent, and
  the map is drawn without a basemap. The HTTP session is passed in (see
  :func:`geodata.http.make_session`); tests serve tiles from a local server.

A :class:`Basemap` carries the credit line of what was drawn: GSI's for GSI tiles, the host for a
custom URL, the file's own source for local tiles; a map drawn without one credits none.
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
from geodata.tiles import SOURCES, LocalTiles, MBTiles, credit_for_url, local_tiles

log = logging.getLogger(__name__)

GSI_TILES = {key: source.url for key, source in SOURCES.items() if key.startswith("gsi_")}
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
    tiles : number of tiles drawn.
    credit : the credit line the map must carry for these tiles.
    origin : ``local`` (the MBTiles file) or ``online``.
    """

    image: np.ndarray
    extent: tuple[float, float, float, float]
    zoom: int
    tiles: int
    credit: str = ""
    origin: str = "online"


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
    started = time.monotonic()

    def get(z: int, x: int, y: int) -> bytes:
        if time.monotonic() - started > budget:
            raise TimeoutError(f"time budget of {budget:g} s spent")
        resp = session.get(url_template.format(z=z, x=x, y=y), timeout=timeout)
        resp.raise_for_status()
        return resp.content

    zoom = _zoom_for(bounds, crs, width_px)
    basemap = _stitch(bounds, crs, width_px, zoom, get)
    if basemap is not None:
        basemap.credit, basemap.origin = credit_for_url(url_template), "online"
    return basemap


def local_basemap(
    bounds: tuple[float, float, float, float],
    tiles: LocalTiles | None = None,
    *,
    crs: str = "EPSG:6677",
    width_px: int = 2400,
) -> Basemap | None:
    """The basemap from the local MBTiles file (``tiles``, default: the settings' file), or None
    when there is no file or it holds no tile of the extent. Never touches the network.

    The zoom is the one the print wants, clamped to the zooms the file holds; a tile the file
    lacks (outside the prefetched extent) stays paper-white.
    """
    tiles = tiles or local_tiles()
    if tiles is None:
        return None
    zoom = max(tiles.min_zoom, min(_zoom_for(bounds, crs, width_px), tiles.max_zoom))
    try:
        with MBTiles(tiles.path) as mb:
            basemap = _stitch(bounds, crs, width_px, zoom, mb.get)
    except Exception as exc:  # noqa: BLE001 - the basemap is optional, the map is not
        log.info("local basemap not readable (%s); drawing without it", exc)
        return None
    if basemap is not None:
        basemap.credit, basemap.origin = tiles.credit, "local"
    return basemap


BASEMAP_MODES = ("auto", "local", "online", "none")


def choose_basemap(
    bounds: tuple[float, float, float, float],
    mode: str = "auto",
    session=None,
    url_template: str | None = None,
    *,
    crs: str = "EPSG:6677",
) -> tuple[Basemap | None, str]:
    """The basemap of a printed map, and a note saying why there is none.

    Parameters
    ----------
    mode : ``auto`` — a ``url_template`` or ``BOSAI_TILE_URL`` server when set, else the local
        MBTiles file when it exists, else the online service when a ``session`` is given, else
        none (the order of the dashboard's maps, dashboard/maps/basemap.py);
        ``local`` / ``online`` — only that one; ``none``. ``BOSAI_TILES=none`` means none in
        ``auto`` unless a tile server is named.
    session : requests session for online tiles (None: no online tiles).
    url_template : online template (default: :func:`tile_url_template`).

    Returns
    -------
    (basemap or None, note): the note is empty when a basemap was drawn.
    """
    if mode not in BASEMAP_MODES:
        raise ValueError(f"unknown basemap mode {mode!r}; one of {', '.join(BASEMAP_MODES)}")
    custom = url_template or settings.get("BOSAI_TILE_URL")
    if mode == "auto" and custom:
        mode = "online"  # a tile server named in the settings (or by the caller) wins, as on screen
    if mode == "none" or (mode == "auto" and settings.get("BOSAI_TILES") == "none"):
        return None, "no basemap asked for"
    if mode in ("auto", "local"):
        info = local_tiles()
        if info is not None:
            basemap = local_basemap(bounds, info, crs=crs)
            if basemap is not None or mode == "local":
                return basemap, "" if basemap else f"{info.path} holds no tile of the map"
        elif mode == "local":
            return None, f"no local tiles at {settings.get('BOSAI_MBTILES')}"
    if session is None:
        return None, "no local tiles and no online tiles asked for"
    template = url_template or tile_url_template()
    if not template:
        return None, f"BOSAI_TILES={settings.get('BOSAI_TILES')} has no printable online tiles"
    basemap = fetch_basemap(bounds, session, crs=crs, url_template=template)
    return basemap, "" if basemap else "online tiles unreachable (see the log)"


def _zoom_for(bounds, crs, width_px) -> int:
    """The tile zoom whose pixel is at least as fine as the printed map's."""
    minx, miny, maxx, maxy = bounds
    metres_per_px = (maxx - minx) / width_px
    lat = math.radians(
        pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
            (minx + maxx) / 2, (miny + maxy) / 2
        )[1]
    )
    # Web Mercator metres are stretched by 1/cos(lat): pick the zoom whose pixel is finer.
    zoom = int(math.ceil(math.log2(2 * _WEB_MERCATOR_HALF * math.cos(lat) / (256 * metres_per_px))))
    return max(1, min(zoom, 17))


def _stitch(bounds, crs, width_px, zoom, get_tile) -> Basemap | None:
    """Mosaic the tiles of ``bounds`` (``get_tile(z, x, y)`` -> bytes, or None for a tile that is
    not there: paper white) at ``zoom`` or coarser (at most :data:`MAX_TILES`), warped to ``crs``.
    None when not one tile was there."""
    from PIL import Image

    to_merc = pyproj.Transformer.from_crs(crs, "EPSG:3857", always_xy=True)
    minx, miny, maxx, maxy = bounds
    xs, ys = to_merc.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    mx0, mx1, my0, my1 = min(xs), max(xs), min(ys), max(ys)
    while True:
        tx0, ty0 = _tile_xy(mx0, my1, zoom)
        tx1, ty1 = _tile_xy(mx1, my0, zoom)
        if (tx1 - tx0 + 1) * (ty1 - ty0 + 1) <= MAX_TILES or zoom <= 1:
            break
        zoom -= 1
    mosaic = np.full(((ty1 - ty0 + 1) * TILE_SIZE, (tx1 - tx0 + 1) * TILE_SIZE, 3), 255, np.uint8)
    count = 0
    for ty in range(ty0, ty1 + 1):
        for tx in range(tx0, tx1 + 1):
            data = get_tile(zoom, tx, ty)
            if data is None:
                continue
            tile = Image.open(io.BytesIO(data)).convert("RGB").resize((256, 256))
            r, c = (ty - ty0) * TILE_SIZE, (tx - tx0) * TILE_SIZE
            mosaic[r : r + TILE_SIZE, c : c + TILE_SIZE] = np.asarray(tile)
            count += 1
    if not count:
        return None
    image = _warp(mosaic, (tx0, ty0), zoom, bounds, width_px, to_merc)
    return Basemap(image=image, extent=(minx, maxx, miny, maxy), zoom=zoom, tiles=count)


def _tile_xy(mx: float, my: float, zoom: int) -> tuple[int, int]:
    n = 2**zoom
    x = int((mx + _WEB_MERCATOR_HALF) / (2 * _WEB_MERCATOR_HALF) * n)
    y = int((_WEB_MERCATOR_HALF - my) / (2 * _WEB_MERCATOR_HALF) * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def _warp(mosaic, origin, zoom, bounds, width_px, to_merc, step: int = 32) -> np.ndarray:
    """Resample the Web Mercator mosaic onto a regular grid of the map CRS (nearest pixel).

    The projection is exact on a grid of every ``step``-th pixel and bilinear in between: over a
    city the plane-rectangular -> Web Mercator transform is smooth (the error is far below a
    pixel), and transforming all ~5 million pixel centres one by one took seconds.
    """
    minx, miny, maxx, maxy = bounds
    height_px = max(1, int(round(width_px * (maxy - miny) / (maxx - minx))))
    # Coarse knots in pixel space (the last one at or beyond the last pixel).
    kx = np.arange(0, max(width_px - 1, 1) + step, step, dtype=float)
    ky = np.arange(0, max(height_px - 1, 1) + step, step, dtype=float)
    gx = minx + (kx + 0.5) * (maxx - minx) / width_px
    gy = maxy - (ky + 0.5) * (maxy - miny) / height_px
    xx, yy = np.meshgrid(gx, gy)
    cmx, cmy = (np.asarray(v).reshape(xx.shape) for v in to_merc.transform(xx, yy))
    px, py = np.arange(width_px) / step, np.arange(height_px) / step
    ix, iy = np.minimum(px.astype(int), len(kx) - 2), np.minimum(py.astype(int), len(ky) - 2)
    tx, ty = (px - ix)[None, :], (py - iy)[:, None]

    def lerp(c: np.ndarray) -> np.ndarray:
        across = c[:, ix] * (1 - tx) + c[:, ix + 1] * tx  # the knot rows, every column
        return across[iy] * (1 - ty) + across[iy + 1] * ty

    mx, my = lerp(cmx), lerp(cmy)
    world_px = 2 * _WEB_MERCATOR_HALF / (TILE_SIZE * 2**zoom)
    col = ((mx + _WEB_MERCATOR_HALF) / world_px - origin[0] * TILE_SIZE).astype(int)
    row = ((_WEB_MERCATOR_HALF - my) / world_px - origin[1] * TILE_SIZE).astype(int)
    col = np.clip(col, 0, mosaic.shape[1] - 1)
    row = np.clip(row, 0, mosaic.shape[0] - 1)
    return mosaic[row, col].reshape(height_px, width_px, 3)
