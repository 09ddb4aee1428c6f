"""A loopback SMS gateway in the shape of Twilio's Messages API (ingest/outbound/sms.py)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        gw = self.server.gateway
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        expected = "Basic " + base64.b64encode(f"{gw.sid}:{gw.token}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if self.path != f"/2010-04-01/Accounts/{gw.sid}/Messages.json":
            return self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._answer(400, {"code": 21601, "message": "form expected", "status": 400})
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        if not form.get("To", "").startswith("+") or not form.get("Body"):
            return self._answer(400, {"code": 21211, "message": "Invalid 'To'", "status": 400})
        gw.messages.append(form)
        sid = "SM" + uuid.uuid4().hex
        return self._answer(201, {"sid": sid, "status": "queued", "to": form["To"]})


class SmsServer:
    """``with SmsServer(sid, token) as gw``: gw.url, gw.messages (the forms received)."""

    def __init__(self, sid: str, token: str):
        self.sid, self.token = sid, token
        self.messages: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.gateway = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> SmsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
