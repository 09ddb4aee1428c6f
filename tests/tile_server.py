"""A loopback XYZ tile server for the basemap tests: ``/{z}/{x}/{y}.png``.

Every tile is a 256×256 PNG whose colour comes from its coordinates (:func:`tile_png`), so a test
can tell which tile was stored where. ``missing`` tiles answer 404, ``broken`` ones 500; every
request is recorded with its time and User-Agent.
"""

from __future__ import annotations

import io
import re
import threading
import time
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


@lru_cache(maxsize=4096)
def tile_png(z: int, x: int, y: int) -> bytes:
    """The PNG the server answers for tile z/x/y (a colour per tile, a dark frame)."""
    image = Image.new("RGB", (256, 256), (x * 37 % 200 + 40, y * 53 % 200 + 40, z * 11 % 200 + 40))
    ImageDraw.Draw(image).rectangle((0, 0, 255, 255), outline=(60, 60, 60))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server.tiles
        match = _PATH.match(self.path)
        with srv.lock:
            srv.requests.append((time.monotonic(), self.path, self.headers.get("User-Agent", "")))
        if match is None:
            return self._answer(404, b"", "text/plain")
        z, x, y = (int(v) for v in match.groups())
        if (z, x, y) in srv.missing:
            return self._answer(404, b"not found", "text/plain")
        if (z, x, y) in srv.broken:
            return self._answer(500, b"oops", "text/plain")
        return self._answer(200, tile_png(z, x, y), "image/png")

    def _answer(self, code: int, body: bytes, media: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TileServer:
    """``with TileServer() as ts``: ts.url (the ``{z}/{x}/{y}`` template), ts.requests."""

    def __init__(self, missing=(), broken=()):
        self.missing, self.broken = set(missing), set(broken)
        self.requests: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.tiles = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{{z}}/{{x}}/{{y}}.png"

    def paths(self) -> list[str]:
        with self.lock:
            return [p for _, p, _ in self.requests]

    def __enter__(self) -> TileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
