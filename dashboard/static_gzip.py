"""Static files gzipped once and served compressed: Streamlit's bundle, the vendored map assets
and the map component's frontend.

Streamlit's own server sends its JavaScript bundle **uncompressed** (it expects a reverse proxy
or CDN in front to compress it): on a first visit that is ~3.4 MB of the ~5.4 MB the overview
costs. The HQ machine serves the dashboard itself (``make demo``; behind an HTTPS proxy only
for the HQ network), so this middleware (``app.py``) compresses those files itself — once: the
gzipped bytes are kept in memory, keyed by a digest of the file's bytes, so a later visitor costs
no compression CPU (Streamlit's reason for not compressing at the origin). Levels 9 and 6
differ by ~2 % in size; the first visitor after a restart pays ~0.3 s of CPU in a worker
thread for the whole bundle the overview loads.

Handled: ``GET`` under ``<base>/static/`` (Streamlit's hashed, immutable bundle),
``<base>/app/static/`` (``./static``: vendored Leaflet/folium) and ``<base>/component/`` (the
component frontends), when the browser accepts gzip and asks no byte range; only 200 answers
of a compressible type (scripts, styles, JSON, SVG, HTML, TrueType/OpenType fonts; not
woff/woff2 or images, which are compressed already). Anything else passes through untouched.
Strong ``ETag``\\ s become weak (the bytes differ from the file's; Starlette compares weakly).
A component's content-hashed build files are marked cacheable for a year (``HASHED_COMPONENT_FILE``).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
import threading
from collections import OrderedDict

PREFIXES = ("static/", "app/static/", "component/")
COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/x-javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
    "font/ttf",
    "font/otf",
    "application/x-font-ttf",
    "application/vnd.ms-fontobject",
)
MIN_SIZE = 1024  # smaller bodies gain nothing worth the header
MAX_BODY = 16 * 2**20  # a bigger file passes through as it is
CACHE_BYTES = 48 * 2**20  # compressed bytes kept (Streamlit's whole bundle gzipped is ~6 MB)
LEVEL = 9
# A component's build files named by their content hash (``static/js/main.521860b0.js``):
# Streamlit sends them with a bare ``Cache-Control: public`` (no age, no validator), so the
# browser fetched streamlit-folium's 225 kB script again on every page. A new build has a new
# name, so they may be kept like Streamlit's own bundle.
HASHED_COMPONENT_FILE = re.compile(r"/component/.+\.[0-9a-f]{8,}\.(?:js|css)$")
IMMUTABLE = b"public, max-age=31536000, immutable"


class GzipCache:
    """Compressed bodies by digest of the raw bytes, least recently used dropped first."""

    def __init__(self, limit: int = CACHE_BYTES, level: int = LEVEL):
        self.limit, self.level = limit, level
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.compressions = 0  # how many bodies were compressed (a test and the log read it)

    def get(self, body: bytes) -> bytes:
        key = hashlib.blake2b(body, digest_size=16).digest()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        packed = gzip.compress(body, compresslevel=self.level, mtime=0)
        with self._lock:
            if key not in self._items:
                self.compressions += 1
                self._items[key] = packed
                self._size += len(packed)
                while self._size > self.limit and len(self._items) > 1:
                    _, old = self._items.popitem(last=False)
                    self._size -= len(old)
        return packed


def _header(headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _accepts_gzip(value: bytes | None) -> bool:
    if not value:
        return False
    for part in value.decode("latin-1").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _compressible(content_type: bytes | None) -> bool:
    kind = (content_type or b"").decode("latin-1").split(";")[0].strip().lower()
    return kind.startswith(COMPRESSIBLE)


class StaticGzip:
    """ASGI middleware: see the module's docstring."""

    def __init__(self, app, base: str | None = None, cache: GzipCache | None = None):
        self.app = app
        self._base = base  # "/" or "/<baseUrlPath>/"; read from Streamlit's config when None
        self.cache = cache or GzipCache()

    def _prefixes(self) -> tuple[str, ...]:
        if self._base is None:
            from dashboard.server import base_path

            self._base = base_path()
        return tuple(self._base + p for p in PREFIXES)

    def _handles(self, scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "GET":
            return False
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if not path.startswith(self._prefixes()):
            return False
        headers = scope.get("headers", [])
        return _accepts_gzip(_header(headers, b"accept-encoding")) and not _header(
            headers, b"range"
        )

    async def __call__(self, scope, receive, send) -> None:
        if not self._handles(scope):
            await self.app(scope, receive, send)
            return
        # Ask the inner app for the plain file (no per-request gzip below us, no zero-copy send).
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        extensions = dict(scope.get("extensions") or {})
        extensions.pop("http.response.pathsend", None)
        inner["extensions"] = extensions
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, capture)
        if not start:  # the inner app sent nothing (a disconnect): nothing to forward
            return
        body = b"".join(chunks)
        headers = list(start.get("headers", []))
        if start.get("status") == 200 and HASHED_COMPONENT_FILE.search(scope.get("path", "")):
            headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
            headers.append((b"cache-control", IMMUTABLE))
        if (
            start.get("status") == 200
            and MIN_SIZE <= len(body) <= MAX_BODY
            and _compressible(_header(headers, b"content-type"))
            and not _header(headers, b"content-encoding")
        ):
            packed = await asyncio.to_thread(self.cache.get, body)
            if len(packed) < len(body):
                body = packed
                kept, vary = [], [b"Accept-Encoding"]
                for key, value in headers:
                    low = key.lower()
                    if low == b"vary":
                        vary.insert(0, value)
                    if low in (b"content-length", b"vary"):
                        continue
                    if low == b"etag" and not value.startswith(b"W/"):
                        value = b"W/" + value
                    kept.append((key, value))
                kept += [
                    (b"content-encoding", b"gzip"),
                    (b"content-length", str(len(body)).encode()),
                    (b"vary", b", ".join(vary)),
                ]
                headers = kept
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
