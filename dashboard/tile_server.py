"""The prefetched basemap served by the app itself: ``GET <base>/bosai/tiles/{z}/{x}/{y}.png``.

Why a route of the app and not a folder or a second server: the HQ reaches the dashboard through
one HTTPS reverse proxy (README, "Serving the HQ network"), so a tile server on another port
bound to 127.0.0.1 would only work in a browser on the server itself; Streamlit's static folder
(``static/``) would need every tile extracted as a file (tens of thousands, kept in step with the
MBTiles file) and refuses symlinks. A Starlette route next to the login endpoints
(dashboard/server.py, ``streamlit.starlette.App(routes=...)``) is on the same origin, passes the
same proxy, needs no port and no thread, and reads the one MBTiles file (``BOSAI_MBTILES``)
directly. Tiles are public map data: no login is needed, as for ``/app/static``.

A tile the file does not hold answers 404 (Leaflet then shows the map's paper background there).
"""

from __future__ import annotations

from geodata.tiles import MBTiles, local_tiles

TILE_ROUTE = "bosai/tiles"


def tile_url_template(version: str = "") -> str:
    """The ``{z}/{x}/{y}`` template of the route for Leaflet (``?v=`` busts the browser cache
    when the file changes)."""
    from dashboard.server import endpoint

    query = f"?v={version}" if version else ""
    return endpoint(TILE_ROUTE) + "/{z}/{x}/{y}.png" + query


def read_tile(z: int, x: int, y: int) -> tuple[bytes, str] | None:
    """(tile bytes, media type) from the local MBTiles file, or None (no file, no tile)."""
    info = local_tiles()
    if info is None:
        return None
    try:
        with MBTiles(info.path) as mb:
            data = mb.get(z, x, y)
    except Exception:  # noqa: BLE001 - a file being replaced: answer 404 this once
        return None
    return None if data is None else (data, info.media_type)


async def _tile(request):
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    p = request.path_params
    found = await run_in_threadpool(read_tile, p["z"], p["x"], p["y"])
    if found is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    data, media_type = found
    return Response(
        data,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def routes() -> list:
    """The tile route (for ``App(..., routes=...)``, through :func:`dashboard.server.routes`)."""
    from starlette.routing import Route

    from dashboard.server import endpoint

    path = endpoint(TILE_ROUTE) + "/{z:int}/{x:int}/{y:int}.png"
    return [Route(path, _tile, methods=["GET"])]
