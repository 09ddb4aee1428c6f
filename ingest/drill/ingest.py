"""Play the drill through the real sources: files on disk, the SNS APIs on a loopback server.

:func:`ingest_drill` writes the drill's payloads (:func:`ingest.drill.scenario.write_payloads`), serves
the Mastodon and Bluesky pages from a local HTTP server that answers like the real APIs
(``min_id``/``max_id`` + ``Link`` headers; ``searchPosts`` cursors and ``since``) and JMA's
feed and data folders (the official warnings of ingest/drill/jma.py), and runs
every source class over them with :func:`ingest.chunks.run_all_in_chunks` (``run_all`` with every
file read to its end, however many batches it takes) — the same code path as
``python -m ingest run``, so the demo exercises geocoding, classification, dedupe, incidents,
roster matching and cursor handling.

Usage::

    from ingest.drill.scenario import generate
    from ingest.drill.ingest import ingest_drill
    layers = ingest_drill(generate(seed=0), store)          # {layer: {inserted, updated, ...}}
"""

from __future__ import annotations

import json
import tempfile
import threading
from bisect import bisect_left, bisect_right
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from geodata.http import make_session
from ingest.chunks import run_all_in_chunks
from ingest.drill import jma as drill_jma
from ingest.drill.evacuation import play_evacuations
from ingest.drill.load import stored_shelter_history
from ingest.sources.bluesky import BlueskySource
from ingest.sources.field_reports import FieldReportSource
from ingest.sources.jma import JmaSource
from ingest.sources.line import LineSpoolSource
from ingest.sources.mastodon import MastodonSource
from ingest.sources.posts_file import PostsFileSource
from ingest.sources.river_levels import RiverLevelSource
from ingest.sources.roster import RosterCsvSource
from ingest.sources.shelter_status import ShelterStatusSource

TAG = "調布"
PREFIX = "drill:"


class DrillIngestError(RuntimeError):
    """A drill source failed; ``results`` holds every source's run summary."""

    def __init__(self, message: str, results: list[dict]):
        super().__init__(message)
        self.results = results


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


class _APIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once (no delayed-ACK stall)

    def _send(self, data: bytes, headers: dict | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server naming
        url = urlsplit(self.path)
        args = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/api/v1/timelines/tag/"):
            self._mastodon(url.path, args)
        elif url.path == "/xrpc/app.bsky.feed.searchPosts":
            self._bluesky(args)
        elif url.path.startswith(("/developer/xml/feed/", "/developer/xml/data/")):
            self._jma(url.path)
        else:
            self.send_error(404)

    def _mastodon(self, path: str, args: dict) -> None:
        srv = self.server
        limit = min(int(args.get("limit", 20)), 40)
        hi = bisect_left(srv.status_keys, _id_key(args["max_id"])) if "max_id" in args else None
        hi = len(srv.status_keys) if hi is None else hi
        after = args.get("min_id") or args.get("since_id")
        lo = bisect_right(srv.status_keys, _id_key(after)) if after else 0
        # min_id: the statuses just after it; otherwise the newest; always sent newest first.
        chosen = (
            range(lo, min(hi, lo + limit)) if "min_id" in args else range(max(lo, hi - limit), hi)
        )
        page = [srv.status_json[i] for i in reversed(chosen)]
        headers = {}
        if page:
            base = f"http://{self.headers['Host']}{path}"
            newest, oldest = srv.status_ids[chosen[-1]], srv.status_ids[chosen[0]]
            older = urlencode({"limit": limit, "max_id": oldest})
            newer = urlencode({"limit": limit, "min_id": newest})
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        self._send(("[" + ",".join(page) + "]").encode(), headers)

    def _bluesky(self, args: dict) -> None:
        srv = self.server
        # posts are oldest first; the API answers newest first
        lo = bisect_left(srv.post_times, args["since"]) if "since" in args else 0
        count = len(srv.post_times) - lo
        start = int(args.get("cursor") or 0)
        limit = max(1, min(int(args.get("limit", 25)), 100))
        stop = min(count, start + limit)
        chosen = [srv.post_json[len(srv.post_json) - 1 - k] for k in range(start, stop)]
        body = '{"posts":[' + ",".join(chosen) + f'],"hitsTotal":{count}'
        if stop < count:
            body += f',"cursor":"{stop}"'
        self._send((body + "}").encode())

    def _jma(self, path: str) -> None:
        """JMA's feed and data folders (ingest/drill/jma.py wrote them)."""
        folder, _, name = path.removeprefix("/developer/xml/").partition("/")
        file = self.server.jma_dir / folder / name
        if "/" in name or not name.endswith(".xml") or not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


class DrillAPIServer(ThreadingHTTPServer):
    """Serves written Mastodon and Bluesky pages as the real APIs page them (loopback only)."""

    daemon_threads = True

    def __init__(self, payload_dir: Path | str):
        out = Path(payload_dir)
        statuses = [s for p in sorted(out.glob("mastodon/page-*.json")) for s in _load(p)]
        posts = [v for p in sorted(out.glob("bluesky/page-*.json")) for v in _load(p)["posts"]]
        statuses.sort(key=lambda s: _id_key(s["id"]))  # oldest first, for bisect
        posts.sort(key=lambda v: v["record"]["createdAt"])
        self.status_ids = [s["id"] for s in statuses]
        self.status_keys = [_id_key(i) for i in self.status_ids]
        self.status_json = [json.dumps(s, ensure_ascii=False) for s in statuses]
        self.post_times = [v["record"]["createdAt"] for v in posts]
        self.post_json = [json.dumps(v, ensure_ascii=False) for v in posts]
        self.jma_dir = out / "jma"
        super().__init__(("127.0.0.1", 0), _APIHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


def _load(path: Path):
    return json.loads(path.read_text("utf-8"))


def drill_sources(payload_dir: Path | str, api_url: str) -> list:
    """The sources reading a written drill (``payload_dir``) and its API server."""
    out = Path(payload_dir)
    session = make_session(retries=0, timeout=(5, 60))
    kw = {"session": session}
    return [
        RosterCsvSource(f"{PREFIX}roster", path=str(out / "roster.csv"), **kw),
        ShelterStatusSource(f"{PREFIX}shelter-status", path=str(out / "shelters" / "*.csv"), **kw),
        MastodonSource(
            f"{PREFIX}mastodon", base_url=api_url, hashtags=[TAG], max_pages=1_000_000, **kw
        ),  # fmt: skip
        BlueskySource(f"{PREFIX}bluesky", base_url=api_url, query=TAG, max_pages=1_000_000, **kw),
        PostsFileSource(f"{PREFIX}posts-file", path=str(out / "posts.jsonl"), **kw),
        LineSpoolSource(f"{PREFIX}line", spool_dir=str(out / "line"), lag_seconds=0, **kw),
        FieldReportSource(f"{PREFIX}field-reports", path=str(out / "field_reports.csv"), **kw),
        JmaSource(
            f"{PREFIX}jma",
            base_url=f"{api_url}/developer/xml/feed/",
            feeds=["extra_l.xml"],
            municipality=drill_jma.CITY_CODE,
            region_codes=[drill_jma.REGION],
            rivers=[drill_jma.RIVER],
            prefecture="東京都",
            **kw,
        ),
        RiverLevelSource(
            f"{PREFIX}river-levels",
            path=str(out / "river" / "ishihara.dat"),
            stations=[drill_jma.STATION],
            **kw,
        ),
    ]


def ingest_drill(drill, store, out_dir: str | Path | None = None) -> dict[str, dict]:
    """Write the drill's payloads and run every source over them into ``store``.

    Parameters
    ----------
    drill : from :func:`ingest.drill.scenario.generate`.
    store : a :class:`geodata.store.core.Store` that already holds the reference layers (towns and
        shelters: the gazetteer and shelter matching need them).
    out_dir : where the payload files go (kept); a temporary folder when None.

    Returns
    -------
    {layer: {"inserted", "updated", "unchanged", "rejected"}} summed over the sources, plus
    ``"sources"``: every source's run summary. Stored cursors are ignored (the drill is a
    replayed data set), so a second call with the same drill reports only ``unchanged``. When
    the store already holds the drill's shelter history, the shelter source is not run again
    (:func:`ingest.drill.load.stored_shelter_history`): a drill at a later anchor moves the
    keyed layers in time but appends no second history.

    Raises
    ------
    DrillIngestError : a source failed (the others still ran; see ``results``).
    """
    from ingest.drill.scenario import write_payloads

    shelter_source = f"{PREFIX}shelter-status"
    loaded = stored_shelter_history(store, [shelter_source])
    with tempfile.TemporaryDirectory(prefix="drill-") as tmp:
        out = Path(out_dir) if out_dir else Path(tmp)
        write_payloads(drill, out)
        server = DrillAPIServer(out)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
        thread.start()
        sources = drill_sources(out, server.url)
        if loaded:
            sources = [s for s in sources if s.name != shelter_source]
        try:
            results = run_all_in_chunks(store, sources, from_start=True)
        finally:
            server.shutdown()
            thread.join()
            server.server_close()
    failed = [r for r in results if not r["ok"]]
    if failed:
        names = ", ".join(f"{r['source']} ({r['error']})" for r in failed)
        raise DrillIngestError(f"drill sources failed: {names}", results)
    layers: dict[str, dict] = {}
    for r in results:
        acc = layers.setdefault(r["layer"], dict.fromkeys(("inserted", "updated", "unchanged",
                                                           "rejected"), 0))  # fmt: skip
        for key in acc:
            acc[key] += int(r.get(key) or 0)
    if loaded:
        layers["shelter_status"] = {"inserted": 0, "updated": 0, "unchanged": loaded, "rejected": 0}
    evac = play_evacuations(store, drill.t0)  # the HQ's decisions, through geodata.evacuation
    layers["evacuations"] = {"inserted": evac["inserted"], "updated": 0,
                             "unchanged": evac["unchanged"], "rejected": 0}  # fmt: skip
    return {**layers, "sources": results}
