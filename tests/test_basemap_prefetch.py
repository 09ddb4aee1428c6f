"""Prefetching basemap tiles into one MBTiles file, against a loopback tile server.

The plan's tile count, the MBTiles 1.3 layout (metadata, TMS rows), resuming, a 404 or 500 tile
counted and not fatal, the rate limit, the dry run and reading the tiles back.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from geodata import tile_prefetch
from geodata.http import make_session
from geodata.tiles import MBTiles, local_tiles, tile_bounds
from ingest.cli import main
from tests.tile_server import TileServer, tile_png

# One zoom-14 tile over 調布市 (its inside, so that no neighbour is touched).
Z, X, Y = 14, 14542, 6453


def _inside(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    west, south, east, north = tile_bounds(z, x, y)
    eps = 1e-7
    return west + eps, south + eps, east - eps, north - eps


BOUNDS = _inside(Z, X, Y)
# Its four children at zoom 15, in fetch order (row, then column).
CHILDREN = [(15, 2 * X + dx, 2 * Y + dy) for dy in (0, 1) for dx in (0, 1)]


def _plan(url: str, zooms=range(14, 16), margin: int = 0):
    return tile_prefetch.make_plan(BOUNDS, zooms, "gsi_pale", url=url, margin=margin)


def _session():
    return make_session(retries=0, user_agent=tile_prefetch.user_agent())


def test_plan_counts_tiles_per_zoom():
    plan = tile_prefetch.make_plan(BOUNDS, range(14, 17), "gsi_pale", margin=0)
    assert plan.per_zoom == {14: 1, 15: 4, 16: 16} and plan.count == 21
    assert plan.estimated_bytes == 21 * 22_000
    assert list(plan.tiles())[:5] == [(Z, X, Y), *CHILDREN]
    wider = tile_prefetch.make_plan(BOUNDS, range(14, 15), "gsi_pale", margin=1)
    assert wider.per_zoom == {14: 9}


def test_plan_refuses_bad_input():
    with pytest.raises(ValueError, match="may not be prefetched"):
        tile_prefetch.make_plan(BOUNDS, range(14, 15), "osm")
    with pytest.raises(ValueError, match="unknown tile source"):
        tile_prefetch.make_plan(BOUNDS, range(14, 15), "google")
    with pytest.raises(ValueError, match="MIN-MAX"):
        tile_prefetch.parse_zooms("ten")
    with pytest.raises(ValueError, match="0-20"):
        tile_prefetch.parse_zooms("16-10")
    assert tile_prefetch.parse_zooms("10-16") == range(10, 17)


def test_prefetch_stores_tiles_in_tms_rows_with_metadata(tmp_path):
    path = tmp_path / "basemap.mbtiles"
    with TileServer() as ts:
        result = tile_prefetch.prefetch(_plan(ts.url), path, _session(), rate=1000)
    assert (result.fetched, result.skipped, result.missing, result.failed) == (5, 0, 0, 0)
    assert result.bytes == sum(len(tile_png(*t)) for t in [(Z, X, Y), *CHILDREN])
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    stored = {(z, c, r): bytes(d) for z, c, r, d in rows}
    # TMS: row = 2^z - 1 - y (the MBTiles 1.3 example: 11/327/791 is row 1256).
    assert stored[(14, X, 2**14 - 1 - Y)] == tile_png(Z, X, Y)
    for z, x, y in CHILDREN:
        assert stored[(z, x, 2**z - 1 - y)] == tile_png(z, x, y)
    assert (14, X, Y) not in stored  # the XYZ row is not used as is
    meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
    conn.close()
    assert meta["format"] == "png" and meta["minzoom"] == "14" and meta["maxzoom"] == "15"
    assert meta["name"] == "bosai basemap gsi_pale" and meta["scheme"] == "tms"
    assert "地理院タイル" in meta["attribution"] and "maps.gsi.go.jp" in meta["attribution"]
    west, south, east, north = (float(v) for v in meta["bounds"].split(","))
    assert (west, south, east, north) == pytest.approx(BOUNDS, abs=1e-6)
    assert meta["bosai:source"] == "gsi_pale" and meta["bosai:url"] == ts.url
    assert meta["type"] == "baselayer" and len(meta["center"].split(",")) == 3


def test_failed_tiles_are_counted_and_the_rest_fetched_then_resumed(tmp_path):
    path = tmp_path / "basemap.mbtiles"
    gone, broken = CHILDREN[1], CHILDREN[2]
    with TileServer(missing=[gone], broken=[broken]) as ts:
        first = tile_prefetch.prefetch(_plan(ts.url), path, _session(), rate=1000)
    assert (first.fetched, first.missing, first.failed) == (3, 1, 1)
    assert first.failures == [f"{broken[0]}/{broken[1]}/{broken[2]}: HTTP 500"]
    assert len(ts.paths()) == 5  # the 404 and the 500 did not stop the run
    with MBTiles(path) as mb:
        assert mb.get(*gone) is None and mb.get(*broken) is None
        assert mb.get(*CHILDREN[3]) == tile_png(*CHILDREN[3])
    with TileServer() as ts2:
        second = tile_prefetch.prefetch(_plan(ts2.url), path, _session(), rate=1000)
    assert (second.fetched, second.skipped, second.missing, second.failed) == (2, 3, 0, 0)
    assert ts2.paths() == [f"/{z}/{x}/{y}.png" for z, x, y in (gone, broken)]
    with MBTiles(path) as mb:
        assert mb.stats() == {14: (1, len(tile_png(Z, X, Y))),
                              15: (4, sum(len(tile_png(*t)) for t in CHILDREN))}  # fmt: skip


def test_rate_limit_spaces_requests_in_plan_order(tmp_path):
    rate = 20.0
    sent = []
    with TileServer() as ts:
        session = _session()
        real_get = session.get

        def get(url, **kwargs):
            sent.append(time.monotonic())  # when the request leaves (the server's clock sees
            return real_get(url, **kwargs)  # arrival, which a loaded machine can bunch up)

        session.get = get
        tile_prefetch.prefetch(_plan(ts.url), tmp_path / "t.mbtiles", session, rate=rate)
    assert [p for _, p, _ in ts.requests] == [
        f"/{z}/{x}/{y}.png" for z, x, y in [(Z, X, Y), *CHILDREN]
    ]
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert len(gaps) == 4 and min(gaps) >= 1 / rate - 1e-3, gaps
    user_agents = {ua for _, _, ua in ts.requests}
    assert len(user_agents) == 1
    assert user_agents.pop().startswith("bosai-dashboard/") and "basemap prefetch" in ua_of(ts)


def ua_of(ts: TileServer) -> str:
    return ts.requests[0][2]


def test_rate_limit_sleeps_exactly_the_missing_time():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 6))
        now[0] += seconds

    limit = tile_prefetch.RateLimit(4.0, clock=lambda: now[0], sleep=sleep)
    limit.wait()  # the first request goes at once
    now[0] += 0.1
    limit.wait()  # 0.25 s after the first
    now[0] += 1.0
    limit.wait()  # long after: no wait
    assert slept == [0.15]
    with pytest.raises(ValueError):
        tile_prefetch.RateLimit(0)


def test_another_source_is_not_mixed_into_a_file(tmp_path):
    path = tmp_path / "basemap.mbtiles"
    with TileServer() as ts:
        tile_prefetch.prefetch(_plan(ts.url, zooms=range(14, 15)), path, _session(), rate=1000)
        photo = tile_prefetch.make_plan(BOUNDS, range(14, 15), "gsi_photo", url=ts.url)
        with pytest.raises(ValueError, match="holds gsi_pale tiles"):
            tile_prefetch.prefetch(photo, path, _session(), rate=1000)


def test_cli_dry_run_fetches_nothing(tmp_path, capsys):
    out = tmp_path / "basemap.mbtiles"
    bbox = ",".join(str(v) for v in BOUNDS)
    with TileServer() as ts:
        code = main(["basemap", "prefetch", "--dry-run", "--json", "--bbox", bbox, "--zoom",
                     "14-16", "--margin", "0", "--url", ts.url, "--out", str(out)])  # fmt: skip
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and ts.requests == [] and not out.exists()
    assert summary["plan"]["tiles"] == 21 and summary["plan"]["estimated_mb"] == 0.5
    assert summary["plan"]["tiles_per_zoom"] == {"14": 1, "15": 4, "16": 16}
    assert summary["dry_run"] is True


def test_cli_prefetch_prints_the_plan_first_then_fetches(tmp_path, capsys):
    out = tmp_path / "basemap.mbtiles"
    bbox = ",".join(str(v) for v in BOUNDS)
    with TileServer(missing=[CHILDREN[0]]) as ts:
        code = main(["basemap", "prefetch", "--json", "--bbox", bbox, "--zoom", "14-15",
                     "--margin", "0", "--url", ts.url, "--out", str(out), "--rate", "100"])  # fmt: skip
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert code == 0
    assert captured.err.startswith("basemap: 5 tiles of gsi_pale at zoom 14-15, about 0.1 MB")
    assert (summary["fetched"], summary["missing"], summary["failed"]) == (4, 1, 0)
    code = main(["basemap", "info", "--json", "--out", str(out)])
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and info["tiles"] == 4 and info["tiles_per_zoom"] == {"14": 1, "15": 3}
    assert info["credit"] == "背景地図：地理院タイル（国土地理院）"


def test_cli_prefetch_extent_from_the_reference_boundary(capsys):
    code = main(["basemap", "prefetch", "--dry-run", "--json", "--zoom", "10-16"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    if code != 0:
        pytest.skip("no 調布市 reference files in BOSAI_REFERENCE_DIR")
    west, south, east, north = summary["plan"]["bounds"]
    # 調布市: about 139.52–139.59 E, 35.63–35.69 N.
    assert 139.50 < west < 139.53 and 139.58 < east < 139.61
    assert 35.62 < south < 35.64 and 35.68 < north < 35.70
    assert summary["plan"]["tiles"] == 672 and summary["plan"]["tiles_per_zoom"]["16"] == 323


def test_cli_refuses_a_missing_reference(tmp_path, capsys):
    code = main(["basemap", "prefetch", "--dry-run", "--reference-dir", str(tmp_path)])
    assert code == 2
    assert "run `python -m ingest reference --download` first" in capsys.readouterr().err


def test_local_tiles_reads_back_what_was_prefetched(tmp_path):
    path = tmp_path / "basemap.mbtiles"
    assert local_tiles(path) is None
    with TileServer() as ts:
        tile_prefetch.prefetch(_plan(ts.url), path, _session(), rate=1000)
    info = local_tiles(path)
    assert (info.format, info.media_type, info.min_zoom, info.max_zoom) == (
        "png",
        "image/png",
        14,
        15,
    )
    assert info.bounds == pytest.approx(BOUNDS, abs=1e-6)
    assert info.credit == "背景地図：地理院タイル（国土地理院）" and info.source == "gsi_pale"
    with MBTiles(path) as mb:
        assert mb.get(Z, X, Y) == tile_png(Z, X, Y) and mb.get(Z, X + 1, Y) is None
        assert mb.get(99, 0, 0) is None and mb.get(1, 5, 0) is None
    with pytest.raises(FileNotFoundError):
        MBTiles(tmp_path / "nothing.mbtiles")


def test_an_interrupted_prefetch_keeps_the_tiles_it_fetched(tmp_path):
    path = tmp_path / "basemap.mbtiles"
    with TileServer() as ts:
        session = _session()
        real_get = session.get
        calls = []

        def get(url, **kwargs):
            calls.append(url)
            if len(calls) == 4:
                raise KeyboardInterrupt  # Ctrl-C in the middle of a run
            return real_get(url, **kwargs)

        session.get = get
        with pytest.raises(KeyboardInterrupt):
            tile_prefetch.prefetch(_plan(ts.url), path, session, rate=1000)
    with MBTiles(path) as mb:
        assert sum(n for n, _ in mb.stats().values()) == 3  # not committed one by one, yet kept
