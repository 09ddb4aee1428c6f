"""A loopback LINE platform for drills and tests: the Messaging API's request and response shapes,
and webhook events delivered, signed, to the receiver.

The API side (:class:`LinePlatform`, ``http://127.0.0.1:<port>``) checks what LINE checks and
answers as LINE answers (docs/line.md):

- ``Authorization: Bearer <token>`` (401 ``{"message": "Authentication failed…"}`` otherwise);
- ``X-Line-Retry-Key`` on push / multicast / broadcast must be a UUID (400 otherwise) and is
  refused on other endpoints (400); a key already accepted answers 409 with
  ``x-line-accepted-request-id`` and sends nothing;
- multicast ``to``: 1–500 user ids, 1–5 messages (400 with ``details`` otherwise);
- every answer carries ``x-line-request-id``;
- ``faults``: a function (endpoint, n-th request) -> None, ``"429"`` (refused before
  accepting), ``"400"`` (refused with an error body) or ``"500-after"`` (accepted and sent, then answered 500 — the case the retry key
  exists for);
- quota: ``/v2/bot/message/quota`` and ``/quota/consumption`` from ``quota`` and what was sent;
- ``/v2/bot/user/all/richmenu/{id}`` (POST) and ``/v2/bot/user/all/richmenu`` (DELETE) set the
  default rich menu.

:attr:`LinePlatform.inbox` holds every message delivered per user id, so a test can assert that
each resident got a message exactly once. :func:`deliver` posts webhook events to a receiver
with the ``X-Line-Signature`` of the channel secret; :func:`postback_event` and
:func:`location_event` build the documented event shapes.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from ingest.line_webhook import signature

RETRY_KEY_ENDPOINTS = ("push", "multicast", "broadcast", "narrowcast")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _answer(self, code: int, payload: dict | None = None, headers: dict | None = None):
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-line-request-id", uuid.uuid4().hex)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def do_GET(self):  # noqa: N802
        p = self.server.platform
        if not p.authorized(self.headers):
            return self._answer(
                401,
                {"message": "Authentication failed due to the following reason: invalid token."},
            )
        if self.path == "/v2/bot/message/quota":
            return self._answer(200, p.quota_body())
        if self.path == "/v2/bot/message/quota/consumption":
            return self._answer(200, {"totalUsage": p.used})
        return self._answer(404, {"message": "Not found"})

    def do_DELETE(self):  # noqa: N802
        p = self.server.platform
        if not p.authorized(self.headers):
            return self._answer(401, {"message": "Authentication failed"})
        if self.path == "/v2/bot/user/all/richmenu":
            p.requests["richmenu"] += 1
            p.default_rich_menu = None
            return self._answer(200, {})
        return self._answer(404, {"message": "Not found"})

    def do_POST(self):  # noqa: N802
        p = self.server.platform
        body = self._body()
        if not p.authorized(self.headers):
            return self._answer(401, {"message": "Authentication failed"})
        if self.path.startswith("/v2/bot/user/all/richmenu/"):
            p.requests["richmenu"] += 1
            p.default_rich_menu = self.path.rsplit("/", 1)[1]
            return self._answer(200, {})
        endpoint = self.path.rsplit("/", 1)[-1]
        if not self.path.startswith("/v2/bot/message/") or endpoint not in (
            "push", "multicast", "broadcast", "reply"
        ):  # fmt: skip
            return self._answer(404, {"message": "Not found"})
        key = self.headers.get("X-Line-Retry-Key")
        problem = p.check(endpoint, key, body, self.headers)
        if problem:
            return self._answer(400, problem)
        with p.lock:
            p.requests[endpoint] += 1
            n = p.requests[endpoint]
            if key and key in p.accepted:
                p.conflicts += 1
                return self._answer(
                    409,
                    {"message": "The retry key is already accepted"},
                    {"x-line-accepted-request-id": p.accepted[key]},
                )
            fault = p.faults(endpoint, n) if p.faults else None
            if fault == "429":
                p.refused += 1
                return self._answer(429, {"message": "Too Many Requests"})
            if fault == "400":
                return self._answer(400, {"message": "The request body has 1 error(s)", "details": [
                    {"message": "May not be empty", "property": "messages[0].text"}]})  # fmt: skip
            request_id = uuid.uuid4().hex
            p.executed[endpoint] += 1
            if key:
                p.accepted[key] = request_id
            p.deliver_messages(endpoint, body)
        if fault == "500-after":
            return self._answer(500, {"message": "Internal server error"})
        sent = [{"id": uuid.uuid4().hex[:18], "quoteToken": "q"} for _ in body.get("messages", [])]
        return self._answer(200, {"sentMessages": sent} if endpoint in ("push", "reply") else {})


class LinePlatform:
    """The loopback Messaging API (module docstring). Use as a context manager.

    Parameters
    ----------
    token : the channel access token it accepts.
    faults : (endpoint, n) -> None | "429" | "500-after".
    quota : this month's limit (None: no limit).
    followers : the user ids a broadcast reaches.
    """

    def __init__(self, token: str, *, faults=None, quota: int | None = None, followers=()):
        self.token = token
        self.faults = faults
        self.quota = quota
        self.followers = list(followers)
        self.lock = threading.Lock()
        self.inbox: dict[str, list[dict]] = defaultdict(list)
        self.replies: list[dict] = []
        self.requests: dict[str, int] = defaultdict(int)  # every request, retries too
        self.executed: dict[str, int] = defaultdict(int)  # requests that sent their messages
        self.accepted: dict[str, str] = {}
        self.conflicts = self.refused = self.used = 0
        self.max_multicast = 0
        self.default_rich_menu: str | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.platform = self
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> LinePlatform:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

    def quota_body(self) -> dict:
        if self.quota is None:
            return {"type": "none"}
        return {"type": "limited", "value": self.quota}

    def check(self, endpoint: str, key: str | None, body: dict, headers) -> dict | None:
        """The 400 body for a request LINE would refuse, else None."""
        if not str(headers.get("Content-Type", "")).startswith("application/json"):
            return {"message": "Content-Type must be application/json"}
        if key is not None and endpoint not in RETRY_KEY_ENDPOINTS:
            return {"message": "X-Line-Retry-Key is not supported for this API"}
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                return {"message": "The value for the 'X-Line-Retry-Key' header is invalid"}
        messages = body.get("messages")
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return {"message": "The request body has 1 error(s)",
                    "details": [{"message": "Size must be between 1 and 5", "property": "messages"}]}  # fmt: skip
        if endpoint == "multicast":
            to = body.get("to")
            if not isinstance(to, list) or not 1 <= len(to) <= 500:
                return {"message": "The request body has 1 error(s)",
                        "details": [{"message": "Size must be between 1 and 500", "property": "to"}]}  # fmt: skip
            self.max_multicast = max(self.max_multicast, len(to))
        if endpoint == "reply" and not body.get("replyToken"):
            return {"message": "Invalid reply token"}
        return None

    def deliver_messages(self, endpoint: str, body: dict) -> None:
        if endpoint == "reply":
            self.replies.append(body)
            return
        users = {"push": lambda: [body["to"]], "multicast": lambda: body["to"],
                 "broadcast": lambda: self.followers}[endpoint]()  # fmt: skip
        for user in users:
            self.inbox[user].extend(body["messages"])
        self.used += len(users) * len(body["messages"])


def deliver(webhook_url: str, secret: str, events: list[dict], *, session=None) -> int:
    """POST ``events`` as one webhook body signed with ``secret``; returns the HTTP status."""
    body = json.dumps({"destination": "Ubosai", "events": events}, ensure_ascii=False).encode()
    http = session or requests
    resp = http.post(
        webhook_url,
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature(secret, body)},
        timeout=10,
    )
    return resp.status_code


def _base(kind: str, user_id: str, at_ms: int | None, reply_token: bool = True) -> dict:
    event = {
        "type": kind,
        "mode": "active",
        "timestamp": at_ms if at_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token:
        event["replyToken"] = uuid.uuid4().hex
    return event


def postback_event(user_id: str, data: str, at_ms: int | None = None) -> dict:
    """A postback event (a quick-reply button tapped)."""
    return {**_base("postback", user_id, at_ms), "postback": {"data": data}}


def location_event(user_id: str, lat: float, lon: float, at_ms: int | None = None, title=None):
    """A location message event."""
    message = {"id": str(uuid.uuid4().int)[:18], "type": "location", "latitude": lat,
               "longitude": lon, "address": title or "", "title": title or "位置情報"}  # fmt: skip
    return {**_base("message", user_id, at_ms), "message": message}


def text_event(user_id: str, text: str, at_ms: int | None = None) -> dict:
    """A text message event."""
    message = {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": text, "quoteToken": "q"}
    return {**_base("message", user_id, at_ms), "message": message}
