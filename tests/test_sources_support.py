"""Shared pieces of the source tests: a small municipality, fake upstream APIs, payloads.

The fake APIs are real HTTP endpoints on loopback (pytest-httpserver) that page the payloads
in ``tests/payloads/<source>/`` the way the upstream documents it: Mastodon ``min_id`` /
``max_id`` with ``Link`` headers, Bluesky ``createSession`` + ``searchPosts`` cursors,
Misskey ``notes/search`` with ``sinceId``/``untilId``.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import pytest
import shapely
from werkzeug import Request, Response

from ingest.base import IngestContext

PAYLOADS = Path(__file__).parent / "payloads"
BSKY_JWT = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.eyJzY29wZSI6ImNvbS5hdHByb3RvLmFwcFBhc3MifQ.c2lnbmF0dXJl"
BSKY_USER, BSKY_PASSWORD = "chofu-bosai.bsky.example", "abcd-efgh-ijkl-mnop"
MISSKEY_TOKEN = "misskey-test-token"

TOWNS = [
    ("13208008001", "国領町一丁目", (139.544, 35.645, 139.550, 35.650)),
    ("13208008003", "国領町三丁目", (139.550, 35.645, 139.556, 35.650)),
    ("13208014002", "布田二丁目", (139.538, 35.648, 139.544, 35.653)),
]
SHELTERS = [
    ("S13208-12", "国領中学校", "東京都調布市国領町一丁目5番1号", ["12"], (139.5470, 35.6480)),
    ("E1320800002", "調布市立第二小学校", "東京都調布市国領町三丁目1番1号", ["E1320800002111"],
     (139.5530, 35.6470)),
    ("E1320800003", "布田公民館", "東京都調布市布田二丁目10-1", ["E1320800003111"],
     (139.5410, 35.6505)),
]  # fmt: skip


def payload(path: str):
    """A JSON payload of tests/payloads."""
    return json.loads((PAYLOADS / path).read_text("utf-8"))


def towns_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "town_code": [t[0] for t in TOWNS],
            "city_code": ["13208"] * len(TOWNS),
            "name": [t[1] for t in TOWNS],
            "city_name": ["調布市"] * len(TOWNS),
            "population": [1000] * len(TOWNS),
        },
        geometry=[shapely.box(*t[2]) for t in TOWNS],
        crs=4326,
    )


def shelters_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "shelter_id": [s[0] for s in SHELTERS],
            "city_code": ["13208"] * len(SHELTERS),
            "name": [s[1] for s in SHELTERS],
            "address": [s[2] for s in SHELTERS],
            "source_ids": [s[3] for s in SHELTERS],
            "kind": ["shelter"] * len(SHELTERS),
            "capacity": [500] * len(SHELTERS),
        },
        geometry=[shapely.Point(*s[4]) for s in SHELTERS],
        crs=4326,
    )


@pytest.fixture
def ref_store(store):
    """The parametrized store holding the small municipality's towns and shelters."""
    store.upsert("towns", towns_frame(), source="test")
    store.upsert("shelters", shelters_frame(), source="test")
    return store


@pytest.fixture
def context(ref_store) -> IngestContext:
    return IngestContext(ref_store)


# -- fake Mastodon ------------------------------------------------------------------------------


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


def mastodon_handler(statuses: list[dict], base_url: str):
    """GET /api/v1/timelines/tag/<tag>: pages newest first, min_id/since_id/max_id, Link."""
    ordered = sorted(statuses, key=lambda s: _id_key(s["id"]), reverse=True)

    def handle(request: Request) -> Response:
        args = request.args
        limit = min(int(args.get("limit", 20)), 40)
        rows = ordered
        if "max_id" in args:
            rows = [s for s in rows if _id_key(s["id"]) < _id_key(args["max_id"])]
        for key in ("since_id", "min_id"):
            if key in args:
                rows = [s for s in rows if _id_key(s["id"]) > _id_key(args[key])]
        page = rows[-limit:] if "min_id" in args else rows[:limit]
        headers = {}
        if page:
            path = f"{base_url}{request.path}"
            nxt = urlencode({"limit": limit, "max_id": page[-1]["id"]})
            prev = urlencode({"limit": limit, "min_id": page[0]["id"]})
            headers["Link"] = f'<{path}?{nxt}>; rel="next", <{path}?{prev}>; rel="prev"'
        return Response(json.dumps(page), 200, headers, content_type="application/json")

    return handle


def serve_mastodon(httpserver, statuses=None, tag="chofu"):
    statuses = payload("mastodon/statuses.json") if statuses is None else statuses
    base = httpserver.url_for("").rstrip("/")
    httpserver.expect_request(f"/api/v1/timelines/tag/{tag}").respond_with_handler(
        mastodon_handler(statuses, base)
    )
    return base


# -- fake Bluesky -------------------------------------------------------------------------------


def serve_bluesky(httpserver, posts=None, page_size=2):
    posts = payload("bluesky/posts.json") if posts is None else posts
    newest_first = sorted(posts, key=lambda p: p["record"]["createdAt"], reverse=True)

    def session(request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("identifier") != BSKY_USER or body.get("password") != BSKY_PASSWORD:
            return Response(json.dumps({"error": "AuthenticationRequired",
                                        "message": "Invalid identifier or password"}), 401,
                            content_type="application/json")  # fmt: skip
        return Response(
            (PAYLOADS / "bluesky/createSession.json").read_bytes(),
            content_type="application/json",
        )

    def search(request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {BSKY_JWT}":
            return Response(json.dumps({"error": "AuthenticationRequired"}), 401,
                            content_type="application/json")  # fmt: skip
        args = request.args
        rows = newest_first
        if "since" in args:
            rows = [p for p in rows if p["record"]["createdAt"] >= args["since"]]
        start = int(args.get("cursor", 0))
        limit = min(int(args.get("limit", 25)), page_size)
        page = {"posts": rows[start : start + limit], "hitsTotal": len(rows)}
        if start + limit < len(rows):
            page["cursor"] = str(start + limit)
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request(
        "/xrpc/com.atproto.server.createSession", method="POST"
    ).respond_with_handler(session)
    httpserver.expect_request("/xrpc/app.bsky.feed.searchPosts").respond_with_handler(search)
    return httpserver.url_for("").rstrip("/")


# -- fake Misskey -------------------------------------------------------------------------------


def serve_misskey(httpserver, notes=None):
    notes = payload("misskey/notes.json") if notes is None else notes

    def search(request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        if body.get("i") != MISSKEY_TOKEN:
            return Response(json.dumps({"error": {"code": "CREDENTIAL_REQUIRED"}}), 401,
                            content_type="application/json")  # fmt: skip
        rows = sorted(notes, key=lambda n: n["id"])
        if body.get("sinceId"):
            rows = [n for n in rows if n["id"] > body["sinceId"]]
        if body.get("untilId"):
            rows = [n for n in rows if n["id"] < body["untilId"]]
        limit = int(body.get("limit", 10))
        # Misskey answers ascending from a sinceId alone, newest first otherwise.
        page = (
            rows[:limit] if body.get("sinceId") and not body.get("untilId") else rows[::-1][:limit]
        )
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request("/api/notes/search", method="POST").respond_with_handler(search)
    return httpserver.url_for("").rstrip("/")


# -- a server that cuts its answer short --------------------------------------------------------


class TruncatingServer:
    """Answers every request with a Content-Length larger than the bytes it sends, then closes."""

    def __init__(self, body: bytes = b'[{"id": "1", "created_at": "2024-01-09T'):
        self.body = body
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    head = (
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(self.body) + 5000}\r\n\r\n"
                    )
                    conn.sendall(head.encode() + self.body)
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def truncating_server():
    server = TruncatingServer()
    yield server
    server.close()
