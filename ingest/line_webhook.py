"""The LINE Messaging API webhook receiver: verify, spool durably, then answer.

LINE POSTs a JSON body with ``X-Line-Signature = base64(HMAC-SHA256(channel secret, body))``.
For each request the receiver

1. reads the raw body (at most ``MAX_BODY`` bytes; 413 above),
2. compares the signature with :func:`hmac.compare_digest` — a missing or wrong signature is
   answered 401 and nothing is written,
3. writes the raw body to the spool directory atomically and durably: a temporary file in
   ``<spool>/.tmp`` is written, flushed and fsync'ed, renamed to ``<time_ns>-<uuid>.json`` and
   the directory fsync'ed,
4. only then answers 200,
5. and then hands the body to ``on_spooled`` when one is given (shelter guidance,
   ingest/outbound/guidance.py, which queues it for a worker that replies within the reply
   token's time).

If the write fails the answer is 500, and LINE redelivers (when redelivery is enabled in the
LINE console). :class:`ingest.sources.line.LineSpoolSource` reads the spool into
safety_replies. ``GET /health`` answers 200 with the number of spooled files.

Limits, so that clients that send headers and then nothing cannot hold the server (300 such
connections once held 305 threads and 185 MB, none closed after 32 s):

- every read waits at most ``socket_timeout`` seconds (:data:`SOCKET_TIMEOUT`, also the idle
  time of a kept-alive connection);
- one request (request line, headers and body) must arrive within ``request_deadline`` seconds
  (:data:`REQUEST_DEADLINE`), however slowly its bytes trickle in: a reaper thread shuts the
  socket down;
- at most ``max_connections`` (:data:`MAX_CONNECTIONS`) are served at once; one more is answered
  ``503`` with ``Retry-After`` and closed at once, without a thread (LINE retries).

The spool folder is made ``0700`` and its files ``0600``: they hold LINE user ids and residents'
own words. Processed files are pruned by the line_spool source after
``BOSAI_LINE_SPOOL_RETENTION_DAYS`` and all of them by ``python -m ingest purge --personal``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from geodata.access.files import private_dir

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # LINE bodies are a few kB; anything near this is not LINE
SOCKET_TIMEOUT = 10.0  # seconds a read may wait (and a kept-alive connection may idle)
REQUEST_DEADLINE = 30.0  # seconds for one whole request, however slowly it trickles in
MAX_CONNECTIONS = 64  # served at once; LINE sends a few requests at a time
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n"
)


def signature(secret: str, body: bytes) -> str:
    """The X-Line-Signature of ``body``: base64(HMAC-SHA256(channel secret, body)).

    Examples
    --------
    >>> signature("s3cret", b'{"events":[]}')
    'ZuVY0DkZxvoGXoj+QPBt7+gZL2ow1Kpy+nm913XvpIw='
    """
    mac = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time comparison)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def spool_write(spool_dir: Path | str, body: bytes) -> Path:
    """Write ``body`` durably as one new file of the spool; returns its path.

    The file appears under its final name only once its bytes are on disk, so a reader never
    sees a partial body.
    """
    spool = Path(spool_dir)
    tmp_dir = spool / ".tmp"
    if not tmp_dir.is_dir():
        private_dir(tmp_dir)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    tmp = tmp_dir / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(body)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    final = spool / name
    os.replace(tmp, final)
    _fsync_dir(spool)
    return final


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Handler(BaseHTTPRequestHandler):
    server_version = "bosai-line-webhook/1"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once (no delayed-ACK stall)

    def setup(self):
        self.timeout = self.server.socket_timeout  # StreamRequestHandler sets it on the socket
        super().setup()

    def handle_one_request(self):
        self.server.watch(self.connection)
        try:
            super().handle_one_request()
        except OSError:  # timed out, or shut down by the reaper: the connection is done
            self.close_connection = True
        finally:
            self.server.unwatch(self.connection)

    def _answer(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client is gone (or its time is up)
            self.close_connection = True

    def do_GET(self):  # noqa: N802 - http.server naming
        if self.path.split("?", 1)[0] != "/health":
            self._answer(404, {"error": "not found"})
            return
        count = sum(1 for _ in Path(self.server.spool_dir).glob("*.json"))
        self._answer(200, {"ok": True, "spooled": count})

    def do_POST(self):  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if length < 0:
            self._answer(411, {"error": "Content-Length required"})
            return
        if length > MAX_BODY:
            self.close_connection = True
            self._answer(413, {"error": "body too large"})
            return
        try:
            body = self.rfile.read(length)
        except OSError:  # the read timed out or the deadline shut the socket
            self.close_connection = True
            self.server.cut["timed_out"] += 1
            return
        if len(body) != length:
            self.close_connection = True
            self._answer(400, {"error": "truncated body"})
            return
        if not verify(self.server.secret, body, self.headers.get("X-Line-Signature")):
            self.server.counts["rejected"] += 1
            self._answer(401, {"error": "bad signature"})
            return
        try:
            with self.server.lock:
                path = spool_write(self.server.spool_dir, body)
        except OSError as exc:
            log.error("cannot spool a webhook body: %s", exc)
            self._answer(500, {"error": "cannot store the body"})
            return
        self.server.counts["stored"] += 1
        log.info("spooled %s (%d bytes)", path.name, len(body))
        self._answer(200, {"ok": True})
        if self.server.on_spooled is not None:  # after the answer: LINE never waits for it
            try:
                self.server.on_spooled(body)
            except Exception as exc:  # noqa: BLE001 - the body is spooled whatever happens here
                log.warning("after-spool hook failed: %s", type(exc).__name__)

    def log_message(self, fmt, *args):
        log.debug("%s - %s", self.address_string(), fmt % args)


class WebhookServer(ThreadingHTTPServer):
    """A threaded HTTP server that spools signed LINE webhook bodies.

    Parameters
    ----------
    address : (host, port); port 0 picks a free port (see ``server_address``).
    secret : the channel secret.
    spool_dir : where bodies are written (made ``0700``).
    socket_timeout, request_deadline, max_connections : the limits of the module docstring.
    on_spooled : called with each body once it is spooled and answered (it must not block:
        ingest/outbound/guidance.py only queues it for its worker thread).
    """

    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        secret: str,
        spool_dir: Path | str,
        *,
        socket_timeout: float = SOCKET_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
        on_spooled=None,
    ):
        if not secret:
            raise ValueError("the LINE channel secret is empty")
        if socket_timeout <= 0 or request_deadline <= 0 or max_connections < 1:
            raise ValueError("timeouts must be > 0 and max_connections >= 1")
        self.secret = secret
        self.on_spooled = on_spooled
        self.spool_dir = private_dir(spool_dir)
        self.lock = threading.Lock()
        self.counts = {"stored": 0, "rejected": 0}
        self.cut = {"busy": 0, "timed_out": 0}  # connections the limits closed
        self.socket_timeout = socket_timeout
        self.request_deadline = request_deadline
        self._slots = threading.BoundedSemaphore(max_connections)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()
        self._closing = threading.Event()
        super().__init__(address, _Handler)
        self._reaper = threading.Thread(target=self._reap, name="webhook-reaper", daemon=True)
        self._reaper.start()

    # -- the connection cap ------------------------------------------------------------------

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.cut["busy"] += 1
            try:
                request.setblocking(False)
                request.send(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    # -- the per-request deadline ------------------------------------------------------------

    def watch(self, connection: socket.socket) -> None:
        """Start the deadline of one request on ``connection``."""
        with self._deadlines_lock:
            self._deadlines[connection] = time.monotonic() + self.request_deadline

    def unwatch(self, connection: socket.socket) -> None:
        with self._deadlines_lock:
            self._deadlines.pop(connection, None)

    def _reap(self) -> None:
        tick = min(0.5, self.request_deadline / 4)
        while not self._closing.wait(tick):
            now = time.monotonic()
            with self._deadlines_lock:
                late = [c for c, until in self._deadlines.items() if until <= now]
                for connection in late:
                    del self._deadlines[connection]
            for connection in late:
                self.cut["timed_out"] += 1
                try:
                    connection.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
                except OSError:
                    pass

    def server_close(self):
        self._closing.set()
        super().server_close()


def serve(
    host: str,
    port: int,
    secret: str,
    spool_dir: Path | str,
    stop: threading.Event,
    **limits,
):
    """Serve until ``stop`` is set; returns the counts (stored, rejected, busy, timed out).

    ``limits`` are the keyword arguments of :class:`WebhookServer` (timeouts, connection cap).
    """
    server = WebhookServer((host, port), secret, spool_dir, **limits)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()
    log.info("LINE webhook on http://%s:%d, spooling to %s", host, server.server_port, spool_dir)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    return {**server.counts, **server.cut}
