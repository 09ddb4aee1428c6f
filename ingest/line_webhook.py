"""The LINE Messaging API webhook receiver: verify, spool durably, then answer.

LINE POSTs a JSON body with ``X-Line-Signature = base64(HMAC-SHA256(channel secret, body))``.
For each request the receiver

1. reads the raw body (at most ``MAX_BODY`` bytes; 413 above),
2. compares the signature with :func:`hmac.compare_digest` — a missing or wrong signature is
   answered 401 and nothing is written,
3. writes the raw body to the spool directory atomically and durably: a temporary file in
   ``<spool>/.tmp`` is written, flushed and fsync'ed, renamed to ``<time_ns>-<uuid>.json`` and
   the directory fsync'ed,
4. only then answers 200.

If the write fails the answer is 500, and LINE redelivers (when redelivery is enabled in the
LINE console). :class:`ingest.sources.line.LineSpoolSource` reads the spool into
safety_replies. ``GET /health`` answers 200 with the number of spooled files.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # LINE bodies are a few kB; anything near this is not LINE


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
    tmp_dir.mkdir(parents=True, exist_ok=True)
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

    def _answer(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
        body = self.rfile.read(length)
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

    def log_message(self, fmt, *args):
        log.debug("%s - %s", self.address_string(), fmt % args)


class WebhookServer(ThreadingHTTPServer):
    """A threaded HTTP server that spools signed LINE webhook bodies.

    Parameters
    ----------
    address : (host, port); port 0 picks a free port (see ``server_address``).
    secret : the channel secret.
    spool_dir : where bodies are written.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], secret: str, spool_dir: Path | str):
        if not secret:
            raise ValueError("the LINE channel secret is empty")
        self.secret = secret
        self.spool_dir = Path(spool_dir)
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.counts = {"stored": 0, "rejected": 0}
        super().__init__(address, _Handler)


def serve(host: str, port: int, secret: str, spool_dir: Path | str, stop: threading.Event):
    """Serve until ``stop`` is set; returns the counts of stored and rejected bodies."""
    server = WebhookServer((host, port), secret, spool_dir)
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
    return dict(server.counts)
