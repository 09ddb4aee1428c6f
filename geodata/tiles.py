"""Basemap tiles: the tile sources, XYZ tile arithmetic and one MBTiles file of prefetched tiles.

An HQ loses the internet first in a disaster, so the basemap is prefetched while online
(``python -m ingest basemap prefetch``, :mod:`geodata.tile_prefetch`) into **one MBTiles file**
(``BOSAI_MBTILES``): a SQLite database as the MBTiles 1.3 specification has it
(github.com/mapbox/mbtiles-spec, 1.3/spec.md):

- ``metadata(name, value)`` with the required ``name`` and ``format`` (``png`` / ``jpg``) and the
  suggested ``bounds`` (left,bottom,right,top in WGS 84), ``center``, ``minzoom``, ``maxzoom``,
  plus ``attribution`` (HTML, shown by the dashboard's map), ``type`` (baselayer), ``version``,
  ``scheme`` (tms) and our own ``bosai:source`` (the key of :data:`SOURCES`) and
  ``bosai:url`` (the template the tiles came from): what the printed map credits;
- ``tiles(zoom_level, tile_column, tile_row, tile_data)`` in the TMS scheme: the row counts from
  the south, so the tile 11/327/791 of a URL is stored as row 2^11 - 1 - 791 = 1256. Callers of
  :class:`MBTiles` always speak XYZ (``y`` from the north, as in tile URLs); the flip is here only.

The dashboard serves the file (dashboard/tile_server.py), the printed situation map reads it
(:mod:`geodata.export.basemap`). A file written by another tool (QGIS, tippecanoe) works when it
holds raster tiles in png or jpg.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from geodata import settings

_GSI_LINK = "https://maps.gsi.go.jp/development/ichiran.html"


@dataclass(frozen=True)
class TileSource:
    """One online tile service.

    Attributes
    ----------
    key : the ``BOSAI_TILES`` value.
    url : ``{z}/{x}/{y}`` template.
    format : ``png`` or ``jpg`` (MBTiles ``format``).
    max_zoom : the deepest zoom the service has.
    attribution : HTML for the map's attribution control (MBTiles ``attribution``).
    credit : the line a printed map carries when it draws these tiles.
    prefetch : whether bulk prefetching is allowed by the service's terms.
    """

    key: str
    url: str
    format: str
    max_zoom: int
    attribution: str
    credit: str
    prefetch: bool = True


GSI_CREDIT = "背景地図：地理院タイル（国土地理院）"
SOURCES: dict[str, TileSource] = {
    s.key: s
    for s in (
        TileSource(
            "gsi_pale", "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png", "png", 18,
            f'<a href="{_GSI_LINK}" target="_blank">地理院タイル</a>', GSI_CREDIT,
        ),
        TileSource(
            "gsi_std", "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png", "png", 18,
            f'<a href="{_GSI_LINK}" target="_blank">地理院タイル</a>', GSI_CREDIT,
        ),
        TileSource(
            "gsi_photo",
            "https://cyberjapandata.gsi.go.jp/xyz/seamlessphoto/{z}/{x}/{y}.jpg", "jpg", 18,
            f'<a href="{_GSI_LINK}" target="_blank">地理院タイル</a>（全国最新写真（シームレス））',
            "背景地図：地理院タイル 全国最新写真（シームレス）（国土地理院）",
        ),
        # OpenStreetMap's tile usage policy forbids bulk downloading ("prefetching"): online only.
        TileSource(
            "osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "png", 19,
            '&copy; <a href="https://www.openstreetmap.org/copyright" target="_blank">'
            "OpenStreetMap</a> contributors",
            "背景地図：© OpenStreetMap contributors", prefetch=False,
        ),
    )
}  # fmt: skip

# Average bytes per tile for the size estimate of a dry run. Measured GSI tiles vary from a few
# hundred bytes (water, empty land) to ~40 kB (dense town blocks); the one published figure we
# rely on is 22,021 bytes for pale/11/1826/793.png (gsi-cyberjapan/nippo-spec, 2020). Urban
# tiles of a city are on the heavy side, so the estimate takes 22 kB for png and 30 kB for the
# aerial jpg. The prefetch prints the real average as it goes.
TYPICAL_TILE_BYTES = {"png": 22_000, "jpg": 30_000}
_WEB_MERCATOR_LAT = 85.0511287798


def mbtiles_path() -> Path:
    """The MBTiles file of the settings (``BOSAI_MBTILES``)."""
    return Path(settings.get("BOSAI_MBTILES"))


def credit_for_url(url: str) -> str:
    """The printed credit of tiles drawn from ``url``: a known source's, else the URL's host.

    Examples
    --------
    >>> credit_for_url("https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png")
    '背景地図：地理院タイル（国土地理院）'
    >>> credit_for_url("http://tiles.hq.example.lg.jp:8080/std/{z}/{x}/{y}.png")
    '背景地図：tiles.hq.example.lg.jp'
    """
    for source in SOURCES.values():
        if source.url == url:
            return source.credit
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I).split("/")[0]
    host = host.rsplit("@", 1)[-1].split(":")[0]
    return f"背景地図：{host}" if host else "背景地図"


def plain_text(html_text: str) -> str:
    """An attribution's HTML as one line of plain text (tags dropped, entities kept simple).

    Examples
    --------
    >>> plain_text('&copy; <a href="x">OpenStreetMap</a> contributors')
    '© OpenStreetMap contributors'
    """
    text = re.sub(r"<[^>]*>", "", html_text or "")
    for entity, char in (("&copy;", "©"), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        text = text.replace(entity, char)
    return " ".join(text.split())


# --- tile arithmetic (XYZ, Web Mercator) -------------------------------------------------------


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ tile holding a point.

    Examples
    --------
    >>> tile_of(139.5410, 35.6518, 16)  # 調布市役所
    (58170, 25813)
    """
    lat = max(-_WEB_MERCATOR_LAT, min(_WEB_MERCATOR_LAT, lat))
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bounds(zoom: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of an XYZ tile in degrees."""
    n = 2**zoom

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def tile_range(
    bounds: tuple[float, float, float, float], zoom: int, margin: int = 0
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive, of the tiles covering ``bounds`` (lon/lat) at ``zoom``,
    widened by ``margin`` tiles on every side (clipped to the world)."""
    west, south, east, north = bounds
    x0, y0 = tile_of(west, north, zoom)
    x1, y1 = tile_of(east, south, zoom)
    top = 2**zoom - 1
    return (max(0, x0 - margin), max(0, y0 - margin), min(top, x1 + margin),
            min(top, y1 + margin))  # fmt: skip


def tiles_in(
    bounds: tuple[float, float, float, float], zooms: range, margin: int = 0
) -> Iterator[tuple[int, int, int]]:
    """Every (z, x, y) covering ``bounds`` for each zoom, in a fixed order: zoom, then row, then
    column (a resumed run asks for the same tiles in the same order)."""
    for z in zooms:
        x0, y0, x1, y1 = tile_range(bounds, z, margin)
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                yield z, x, y


def tms_row(zoom: int, y: int) -> int:
    """The MBTiles (TMS) row of an XYZ ``y``: rows count from the south.

    Examples
    --------
    >>> tms_row(11, 791)  # the MBTiles 1.3 specification's example
    1256
    """
    return 2**zoom - 1 - y


# --- the MBTiles file ----------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metadata (name text, value text);
CREATE UNIQUE INDEX IF NOT EXISTS name ON metadata (name);
CREATE TABLE IF NOT EXISTS tiles (zoom_level integer, tile_column integer, tile_row integer,
                                  tile_data blob);
CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);
"""
# SQLite's application_id for MBTiles ("MPBX"), registered in SQLite's magic.txt.
_APPLICATION_ID = 0x4D504258
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class MBTiles:
    """One MBTiles file; tile coordinates are XYZ (the TMS flip happens inside).

    Parameters
    ----------
    path : the file.
    write : create the file (and its folder) when missing, and allow writes; otherwise the file
        is opened read-only and must exist (FileNotFoundError).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.mbtiles"
    >>> with MBTiles(path, write=True) as mb:
    ...     mb.put(11, 327, 791, b"png")
    ...     mb.conn.execute("SELECT tile_row FROM tiles").fetchone()[0]
    1256
    >>> with MBTiles(path) as mb:
    ...     mb.get(11, 327, 791)
    b'png'
    """

    def __init__(self, path: Path | str, write: bool = False):
        self.path = Path(path)
        self.write = write
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path)
            self.conn.executescript(_SCHEMA)
            self.conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            self.conn.commit()
        else:
            if not self.path.is_file():
                raise FileNotFoundError(f"no MBTiles file at {self.path}")
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def __enter__(self) -> MBTiles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Commit what was written (an interrupted prefetch keeps its tiles) and close."""
        if self.write:
            self.conn.commit()
        self.conn.close()

    def metadata(self) -> dict[str, str]:
        """The ``metadata`` table as a dict."""
        return dict(self.conn.execute("SELECT name, value FROM metadata").fetchall())

    def set_metadata(self, values: dict[str, object]) -> None:
        """Insert or replace metadata rows (values written as text)."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO metadata (name, value) VALUES (?, ?)",
            [(k, str(v)) for k, v in values.items()],
        )
        self.conn.commit()

    def has(self, z: int, x: int, y: int) -> bool:
        """Whether the tile is stored."""
        row = self.conn.execute(
            "SELECT 1 FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, x, tms_row(z, y)),
        ).fetchone()
        return row is not None

    def get(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None when it is not stored."""
        if z < 0 or z > 30 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        row = self.conn.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
            (z, x, tms_row(z, y)),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, z: int, x: int, y: int, data: bytes, commit: bool = True) -> None:
        """Store (or replace) a tile."""
        self.conn.execute(
            "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) "
            "VALUES (?, ?, ?, ?)",
            (z, x, tms_row(z, y), sqlite3.Binary(data)),
        )
        if commit:
            self.conn.commit()

    def stats(self) -> dict[int, tuple[int, int]]:
        """zoom -> (tiles, bytes) of the stored tiles."""
        rows = self.conn.execute(
            "SELECT zoom_level, COUNT(*), SUM(LENGTH(tile_data)) FROM tiles GROUP BY zoom_level"
        ).fetchall()
        return {int(z): (int(n), int(b or 0)) for z, n, b in rows}


@dataclass(frozen=True)
class LocalTiles:
    """What a map needs to know about a local MBTiles file (read once per change of the file).

    Attributes
    ----------
    path : the file.
    format : ``png`` / ``jpg``.
    media_type : the HTTP Content-Type of its tiles.
    min_zoom, max_zoom : the zooms it holds.
    bounds : (west, south, east, north), or None when the file does not say.
    attribution : HTML for the map's attribution control.
    credit : the line a printed map carries.
    source : the :data:`SOURCES` key it was prefetched from ('' when unknown).
    """

    path: Path
    format: str
    media_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    attribution: str
    credit: str
    source: str


_INFO_CACHE: dict[Path, tuple[float, int, LocalTiles | None]] = {}


def local_tiles(path: Path | str | None = None) -> LocalTiles | None:
    """The local MBTiles file of the settings (or ``path``) when it exists and holds raster tiles;
    None otherwise. Cheap to call on every page run: the metadata is read again only when the
    file's modification time or size changes."""
    path = Path(path) if path is not None else mbtiles_path()
    try:
        stat = path.stat()
    except OSError:
        return None
    cached = _INFO_CACHE.get(path)
    if cached and cached[:2] == (stat.st_mtime, stat.st_size):
        return cached[2]
    info = _read_info(path)
    _INFO_CACHE[path] = (stat.st_mtime, stat.st_size, info)
    return info


def _read_info(path: Path) -> LocalTiles | None:
    try:
        with MBTiles(path) as mb:
            meta = mb.metadata()
            zooms = mb.conn.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
    except (sqlite3.Error, FileNotFoundError):
        return None
    fmt = (meta.get("format") or "png").lower()
    if fmt not in MEDIA_TYPES or zooms[0] is None:
        return None
    min_zoom = int(meta.get("minzoom") or zooms[0])
    max_zoom = int(meta.get("maxzoom") or zooms[1])
    bounds = None
    try:
        parts = [float(v) for v in (meta.get("bounds") or "").split(",")]
        if len(parts) == 4:
            bounds = (parts[0], parts[1], parts[2], parts[3])
    except ValueError:
        bounds = None
    source = meta.get("bosai:source", "")
    attribution = meta.get("attribution", "")
    if source in SOURCES:
        credit = SOURCES[source].credit
    elif meta.get("bosai:url"):
        credit = credit_for_url(meta["bosai:url"])
    elif attribution:
        credit = f"背景地図：{plain_text(attribution)}"
    else:
        credit = f"背景地図：{meta.get('name') or path.name}"
    return LocalTiles(
        path=path, format=fmt, media_type=MEDIA_TYPES[fmt], min_zoom=min_zoom,
        max_zoom=max_zoom, bounds=bounds, attribution=attribution, credit=credit, source=source,
    )  # fmt: skip
