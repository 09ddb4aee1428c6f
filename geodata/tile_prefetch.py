"""Prefetching basemap tiles for the municipality into one MBTiles file, politely.

The HQ runs this while online, before a disaster season (docs/offline.md): a plan first (how
many tiles, how many megabytes, from the extent of the reference boundary and a zoom range),
then the fetch:

- **polite**: one request at a time, at most ``rate`` requests per second (``BOSAI_TILE_RATE``),
  in a fixed order, with our User-Agent; a server asking us to back off (429/503 with a long
  ``Retry-After``) stops the run (resume later) instead of being hammered;
- **resumable**: tiles already in the file are skipped; fetched tiles are committed every
  :data:`COMMIT_EVERY` tiles and when the run ends or is interrupted (Ctrl-C), so a stopped run
  loses at most that many;
- **never fatal per tile**: a 404 (no tile there: the GSI has none over the sea) is counted as
  missing, any other failure (5xx, timeout, a body that is not an image) as failed, and the run
  goes on; the summary lists the first few failures.

The attribution of the source is written into the file's metadata and kept: the dashboard and
the printed map credit what they draw from it (:func:`geodata.tiles.local_tiles`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from geodata import settings
from geodata.tiles import (
    SOURCES,
    TYPICAL_TILE_BYTES,
    MBTiles,
    TileSource,
    tile_range,
    tiles_in,
)

log = logging.getLogger(__name__)

COMMIT_EVERY = 50  # tiles per transaction: one fsync per tile would cost ~10 ms each
_SIGNATURES = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",)}
_ANY_IMAGE = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"GIF8")


@dataclass(frozen=True)
class Plan:
    """What a prefetch would fetch.

    Attributes
    ----------
    source : the tile service.
    url : the ``{z}/{x}/{y}`` template (the source's, or a custom one).
    bounds : (west, south, east, north) of the extent, degrees.
    zooms : the zoom levels.
    margin : tiles added around the extent on every side, at every zoom.
    per_zoom : zoom -> number of tiles.
    """

    source: TileSource
    url: str
    bounds: tuple[float, float, float, float]
    zooms: range
    margin: int
    per_zoom: dict[int, int]

    @property
    def count(self) -> int:
        """Tiles in the plan."""
        return sum(self.per_zoom.values())

    @property
    def estimated_bytes(self) -> int:
        """The expected size of the tiles (:data:`geodata.tiles.TYPICAL_TILE_BYTES` each)."""
        return self.count * TYPICAL_TILE_BYTES[self.source.format]

    def tiles(self):
        """Every (z, x, y) of the plan, in fetch order."""
        return tiles_in(self.bounds, self.zooms, self.margin)

    def summary(self) -> dict:
        """The plan as the command prints it."""
        return {
            "source": self.source.key,
            "bounds": [round(v, 5) for v in self.bounds],
            "zooms": f"{self.zooms.start}-{self.zooms.stop - 1}",
            "margin_tiles": self.margin,
            "tiles": self.count,
            "tiles_per_zoom": dict(self.per_zoom),
            "estimated_mb": round(self.estimated_bytes / 1e6, 1),
        }


def parse_zooms(text: str) -> range:
    """``"10-16"`` or ``"14"`` -> a range of zoom levels (0-20).

    Examples
    --------
    >>> parse_zooms("10-16")
    range(10, 17)
    """
    lo, sep, hi = str(text).partition("-")
    try:
        start, stop = int(lo), int(hi if sep else lo)
    except ValueError:
        raise ValueError(f"zoom range wants MIN-MAX such as 10-16, got {text!r}") from None
    if not 0 <= start <= stop <= 20:
        raise ValueError(f"zoom range must lie within 0-20 with MIN <= MAX, got {text!r}")
    return range(start, stop + 1)


def make_plan(
    bounds: tuple[float, float, float, float],
    zooms: range,
    source: str = "gsi_pale",
    url: str | None = None,
    margin: int = 2,
) -> Plan:
    """The plan for ``bounds`` (lon/lat) at ``zooms`` from ``source`` (a key of
    :data:`geodata.tiles.SOURCES`); ``url`` replaces the source's template (a mirror)."""
    if source not in SOURCES:
        raise ValueError(f"unknown tile source {source!r}; one of {', '.join(SOURCES)}")
    tile_source = SOURCES[source]
    if not tile_source.prefetch:
        raise ValueError(
            f"{source} tiles may not be prefetched in bulk (the service's tile policy); "
            "use gsi_pale, gsi_std or gsi_photo"
        )
    west, south, east, north = bounds
    if not (west < east and south < north):
        raise ValueError(f"empty extent {bounds}")
    if zooms.stop - 1 > tile_source.max_zoom:
        raise ValueError(f"{source} has tiles up to zoom {tile_source.max_zoom}")
    per_zoom = {}
    for z in zooms:
        x0, y0, x1, y1 = tile_range(bounds, z, margin)
        per_zoom[z] = (x1 - x0 + 1) * (y1 - y0 + 1)
    return Plan(tile_source, url or tile_source.url, tuple(bounds), zooms, margin, per_zoom)


@dataclass
class Result:
    """What a prefetch did: counts, bytes, seconds and the first few failures."""

    planned: int = 0
    fetched: int = 0
    skipped: int = 0
    missing: int = 0
    failed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    stopped: str = ""
    failures: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """The result as the command prints it."""
        out = {
            "planned": self.planned, "fetched": self.fetched, "skipped": self.skipped,
            "missing": self.missing, "failed": self.failed,
            "fetched_mb": round(self.bytes / 1e6, 2),
            "average_kb": round(self.bytes / self.fetched / 1e3, 1) if self.fetched else None,
        }  # fmt: skip
        if self.stopped:
            out["stopped"] = self.stopped
        if self.failures:
            out["failures"] = self.failures
        return out


class RateLimit:
    """At most ``rate`` calls per second: :meth:`wait` sleeps until the next call may start.

    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):  # fmt: skip
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests per second, not {rate}")
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._next = None

    def wait(self) -> None:
        """Block until a request may start, then book the next slot."""
        now = self.clock()
        while self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = self.clock()  # a late wake-up moves the next slot too: no gap is ever shorter
        self._next = now + self.interval


def municipality_bounds(
    municipality: str, reference_dir: Path | str | None = None
) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the municipality from the reference folder: the N03
    boundary, else the union of the towns. A clear ValueError when neither file is there."""
    from geodata.reference.files import find_reference_files
    from geodata.reference.layers import load_boundary, load_towns

    files = find_reference_files(municipality, reference_dir)
    frame = None
    if files.boundary:
        frame, _ = load_boundary(files.boundary, files.municipality)
    if (frame is None or not len(frame)) and files.towns:
        frame, _ = load_towns(files.towns, files.municipality)
    if frame is None or not len(frame):
        folder = reference_dir or settings.reference_dir()
        raise ValueError(
            f"no boundary or town file of municipality {municipality} in {folder}: run "
            "`python -m ingest reference --download` first, or give --bbox"
        )
    west, south, east, north = frame.to_crs("EPSG:4326").total_bounds
    return float(west), float(south), float(east), float(north)


def user_agent(extra: str = "") -> str:
    """The User-Agent of the prefetch: the project, what it does, the municipality."""
    code = settings.get("BOSAI_MUNICIPALITY")
    agent = f"bosai-dashboard/0.1 (basemap prefetch for a disaster HQ; municipality {code})"
    return f"{agent} {extra}".strip()


def write_metadata(mb: MBTiles, plan: Plan) -> None:
    """The MBTiles 1.3 metadata of the plan (kept across resumed runs; zooms widen)."""
    old = mb.metadata()
    zooms = [plan.zooms.start, plan.zooms.stop - 1]
    if old.get("minzoom") and old.get("maxzoom"):
        zooms = [min(zooms[0], int(old["minzoom"])), max(zooms[1], int(old["maxzoom"]))]
    west, south, east, north = plan.bounds
    if old.get("bounds"):
        ow, os_, oe, on = (float(v) for v in old["bounds"].split(","))
        west, south, east, north = min(west, ow), min(south, os_), max(east, oe), max(north, on)
    centre_zoom = max(zooms[0], min(zooms[1], 13))
    mb.set_metadata({
        "name": f"bosai basemap {plan.source.key}",
        "format": plan.source.format,
        "bounds": f"{west:.6f},{south:.6f},{east:.6f},{north:.6f}",
        "center": f"{(west + east) / 2:.6f},{(south + north) / 2:.6f},{centre_zoom}",
        "minzoom": zooms[0],
        "maxzoom": zooms[1],
        "attribution": plan.source.attribution,
        "description": f"{plan.source.key} tiles prefetched for offline use by bosai-dashboard",
        "type": "baselayer",
        "version": "1",
        "scheme": "tms",
        "bosai:source": plan.source.key,
        "bosai:url": plan.url,
    })  # fmt: skip


def check_file_source(path: Path, plan: Plan) -> None:
    """Refuse to mix sources in one file (the attribution would then be wrong)."""
    if not path.exists():
        return
    with MBTiles(path) as mb:
        meta = mb.metadata()
    held = meta.get("bosai:source")
    if held and held != plan.source.key:
        raise ValueError(
            f"{path} holds {held} tiles; prefetch {plan.source.key} into another file "
            "(--out) or delete it first"
        )


def prefetch(
    plan: Plan,
    path: Path | str,
    session: requests.Session,
    *,
    rate: float,
    timeout: float | tuple[float, float] = (5.0, 20.0),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[Result], None] | None = None,
    progress_every: int = 100,
    max_failures: int = 10,
) -> Result:
    """Fetch the tiles of ``plan`` into the MBTiles file at ``path``.

    Parameters
    ----------
    plan : from :func:`make_plan`.
    path : the MBTiles file (created when missing; tiles already in it are skipped).
    session : a requests session (:func:`geodata.http.make_session`, with the User-Agent).
    rate : requests per second at most.
    timeout : per request (connect, read).
    clock, sleep : injectable for tests.
    progress : called every ``progress_every`` tiles with the running result.
    max_failures : how many failure lines the result keeps (all are counted).

    Returns
    -------
    :class:`Result`. Raises only for a file it cannot write or a plan of another source.
    """
    from geodata.http import backing_off

    path = Path(path)
    check_file_source(path, plan)
    result = Result(planned=plan.count)
    limit = RateLimit(rate, clock=clock, sleep=sleep)
    started = time.monotonic()
    with MBTiles(path, write=True) as mb:
        write_metadata(mb, plan)
        for i, (z, x, y) in enumerate(plan.tiles(), start=1):
            if mb.has(z, x, y):
                result.skipped += 1
                continue
            limit.wait()
            url = plan.url.format(z=z, x=x, y=y)
            try:
                resp = session.get(url, timeout=timeout)
            except requests.RequestException as exc:
                if backing_off(exc) is not None:
                    result.stopped = f"the tile server asked to back off: {exc}"
                    break
                _fail(result, f"{z}/{x}/{y}: {type(exc).__name__}", max_failures)
                continue
            if resp.status_code == 404:
                result.missing += 1
            elif resp.status_code != 200:
                _fail(result, f"{z}/{x}/{y}: HTTP {resp.status_code}", max_failures)
            elif not resp.content.startswith(_SIGNATURES.get(plan.source.format, _ANY_IMAGE)):
                _fail(result, f"{z}/{x}/{y}: not a {plan.source.format} image", max_failures)
            else:
                mb.put(z, x, y, resp.content, commit=False)
                result.fetched += 1
                result.bytes += len(resp.content)
                if result.fetched % COMMIT_EVERY == 0:
                    mb.conn.commit()
            if progress is not None and i % progress_every == 0:
                progress(result)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _fail(result: Result, line: str, keep: int) -> None:
    result.failed += 1
    if len(result.failures) < keep:
        result.failures.append(line)
    log.info("tile failed: %s", line)
