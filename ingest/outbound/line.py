"""The LINE Messaging API client: push, multicast, reply, broadcast, quota, default rich menu.

What it keeps from LINE's reference (docs/line.md cites the pages):

- ``Authorization: Bearer <channel access token>``; the token is held by the client and never
  logged, and neither are user ids or message texts (log lines carry the endpoint, the status,
  the request id and the retry key only).
- ``X-Line-Retry-Key`` (a UUID) on every push, multicast and broadcast: a request retried with
  the same key is executed at most once. A retry of an accepted request is answered ``409``
  with ``x-line-accepted-request-id``: the message went out, so it counts as sent.
- Multicast takes at most :data:`MULTICAST_MAX` (500) user ids per request; more raise.
- Rate limits per endpoint and channel (:data:`RATE_LIMITS`): a token bucket per endpoint
  waits before a request would exceed them.
- ``429`` and ``5xx`` (and a connection error or timeout) are retried with exponential backoff
  — with the *same* retry key, so a request that LINE accepted before the error is not sent
  again. Other ``4xx`` are not retried. Error bodies are ``{"message": …, "details": […]}``.
- A reply token is valid for a short time only (:data:`REPLY_WINDOW_SECONDS`); replies are
  never retried after it.

The ``requests`` session is injected (make it with ``geodata.http.make_session(retries=0)``:
this client does the retrying, with the retry key).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests

log = logging.getLogger(__name__)

API_URL = "https://api.line.me"
MULTICAST_MAX = 500  # user ids per multicast request
MESSAGES_MAX = 5  # message objects per request
REPLY_WINDOW_SECONDS = 60.0  # answer within this long of the webhook event (docs/line.md)
# Requests per second per endpoint (docs/line.md: the reference's "Rate limits" table). A
# margin under the limit, as LINE's 429 guidance asks.
RATE_LIMITS: dict[str, tuple[float, float]] = {  # endpoint -> (requests, per seconds)
    "multicast": (200 * 0.9, 1.0),
    "broadcast": (60, 3600.0),
    "push": (2000 * 0.9, 1.0),
    "reply": (2000 * 0.9, 1.0),
    "other": (2000 * 0.9, 1.0),
}
RETRY_STATUSES = (429, 500, 502, 503, 504)


class LineError(Exception):
    """A request LINE refused (not retried, or retried too often)."""


@dataclass(frozen=True)
class SendResult:
    """What came of one request.

    ``status`` is ``sent`` (2xx, or 409 with an accepted request id: sent before) or ``error``;
    ``request_id`` the ``x-line-request-id`` (for a 409: the accepted request's id).
    """

    status: str
    http_status: int | None
    request_id: str | None
    retry_key: str | None
    error: str | None = None
    attempts: int = 1
    body: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"


class TokenBucket:
    """At most ``rate`` requests per ``per`` seconds on average, bursts up to ``rate``."""

    def __init__(self, rate: float, per: float, *, clock=time.monotonic, sleep=time.sleep):
        self.capacity = float(rate)
        self.fill_per_second = float(rate) / float(per)
        self.tokens = float(rate)
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Wait until a request may go; returns the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(
                    self.capacity, self.tokens + (now - self.updated) * self.fill_per_second
                )
                self.updated = now
                if self.tokens >= 1.0 - 1e-9:  # float error of the refill
                    self.tokens = max(self.tokens - 1.0, 0.0)
                    return waited
                wait = (1.0 - self.tokens) / self.fill_per_second
            self.sleep(wait)
            waited += wait


def new_retry_key() -> str:
    """A fresh retry key (a UUID, as LINE asks)."""
    return str(uuid.uuid4())


def stable_retry_key(*parts: str) -> str:
    """A retry key derived from ``parts``: the same request planned again gets the same key, so
    a sender restarted after a crash cannot send a batch twice.

    Examples
    --------
    >>> stable_retry_key("c-1", "message", "0") == stable_retry_key("c-1", "message", "0")
    True
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "bosai-line:" + ":".join(parts)))


class LineClient:
    """The Messaging API as the HQ uses it.

    Parameters
    ----------
    session : a ``requests.Session`` (injected; without its own retries).
    token : the channel access token.
    base_url : ``https://api.line.me`` (a loopback server in tests and drills).
    max_attempts : attempts of one request (429 / 5xx / connection errors retried).
    backoff : first backoff in seconds, doubled per attempt (``Retry-After`` wins when sent).
    rate_limits : endpoint -> (requests, per seconds); default :data:`RATE_LIMITS`.
    sleep, clock : injected for tests.
    """

    def __init__(
        self,
        session: requests.Session,
        token: str,
        *,
        base_url: str = API_URL,
        max_attempts: int = 5,
        backoff: float = 0.5,
        rate_limits: dict[str, tuple[float, float]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: float | tuple[float, float] = (5.0, 30.0),
    ):
        if not token:
            raise ValueError("the LINE channel access token is empty")
        self.session = session
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, int(max_attempts))
        self.backoff = backoff
        self.sleep = sleep
        self.timeout = timeout
        limits = {**RATE_LIMITS, **(rate_limits or {})}
        self.buckets = {
            name: TokenBucket(rate, per, clock=clock, sleep=sleep)
            for name, (rate, per) in limits.items()
        }

    def __repr__(self) -> str:  # the token never appears in a traceback or a log
        return f"LineClient({self.base_url!r})"

    # -- sending ------------------------------------------------------------------------------

    def push(self, to: str, messages: list[dict], *, retry_key: str | None = None) -> SendResult:
        """Send ``messages`` to one user, group or room."""
        body = {"to": to, "messages": _messages(messages)}
        return self._send("push", "/v2/bot/message/push", body, retry_key or new_retry_key())

    def multicast(
        self, to: list[str], messages: list[dict], *, retry_key: str | None = None
    ) -> SendResult:
        """Send ``messages`` to up to :data:`MULTICAST_MAX` users in one request."""
        if not to:
            raise ValueError("multicast without recipients")
        if len(to) > MULTICAST_MAX:
            raise ValueError(f"multicast takes at most {MULTICAST_MAX} user ids, got {len(to)}")
        body = {"to": list(to), "messages": _messages(messages)}
        key = retry_key or new_retry_key()
        return self._send("multicast", "/v2/bot/message/multicast", body, key)

    def broadcast(self, messages: list[dict], *, retry_key: str | None = None) -> SendResult:
        """Send ``messages`` to every friend of the account."""
        body = {"messages": _messages(messages)}
        key = retry_key or new_retry_key()
        return self._send("broadcast", "/v2/bot/message/broadcast", body, key)

    def reply(self, reply_token: str, messages: list[dict], *, received: float | None = None):
        """Answer a webhook event with its reply token (no retry key: LINE refuses one here).

        ``received`` (``time.monotonic()`` when the event arrived): retries stop once
        :data:`REPLY_WINDOW_SECONDS` have passed.
        """
        body = {"replyToken": reply_token, "messages": _messages(messages)}
        deadline = None if received is None else received + REPLY_WINDOW_SECONDS
        return self._send("reply", "/v2/bot/message/reply", body, None, deadline=deadline)

    # -- quota and rich menus -----------------------------------------------------------------

    def quota(self) -> dict:
        """``{"type": "none"|"limited", "value": n}``: this month's message limit."""
        return self._get("/v2/bot/message/quota")

    def consumption(self) -> int:
        """Messages sent this month (``totalUsage``)."""
        return int(self._get("/v2/bot/message/quota/consumption").get("totalUsage", 0))

    def remaining(self) -> int | None:
        """Messages left this month; None when the plan has no limit."""
        quota = self.quota()
        if quota.get("type") != "limited":
            return None
        return max(int(quota.get("value", 0)) - self.consumption(), 0)

    def set_default_rich_menu(self, rich_menu_id: str) -> SendResult:
        """Make ``rich_menu_id`` every user's default rich menu."""
        path = f"/v2/bot/user/all/richmenu/{requests.utils.quote(rich_menu_id, safe='')}"
        return self._send("other", path, None, None)

    def cancel_default_rich_menu(self) -> SendResult:
        """Remove the default rich menu (users see none, or their linked one)."""
        return self._send("other", "/v2/bot/user/all/richmenu", None, None, method="DELETE")

    # -- plumbing -----------------------------------------------------------------------------

    def _headers(self, retry_key: str | None) -> dict:
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        if retry_key:
            headers["X-Line-Retry-Key"] = retry_key
        return headers

    def _get(self, path: str) -> dict:
        self.buckets["other"].take()
        resp = self.session.get(
            self.base_url + path, headers=self._headers(None), timeout=self.timeout
        )
        if resp.status_code != 200:
            raise LineError(f"GET {path}: HTTP {resp.status_code} {error_message(resp)}")
        return resp.json()

    def _send(
        self,
        endpoint: str,
        path: str,
        body: dict | None,
        retry_key: str | None,
        *,
        method: str = "POST",
        deadline: float | None = None,
    ) -> SendResult:
        attempt, last = 0, None
        while attempt < self.max_attempts:
            attempt += 1
            self.buckets[endpoint].take()
            try:
                resp = self.session.request(
                    method,
                    self.base_url + path,
                    json=body,
                    headers=self._headers(retry_key),
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:  # may or may not have reached LINE
                last = SendResult("error", None, None, retry_key, type(exc).__name__, attempt)
                log.warning("LINE %s: %s (attempt %d)", endpoint, type(exc).__name__, attempt)
                if not self._wait(attempt, None, deadline, retry_key, endpoint):
                    break
                continue
            request_id = resp.headers.get("x-line-request-id")
            if 200 <= resp.status_code < 300:
                log.info("LINE %s: %d request %s", endpoint, resp.status_code, request_id)
                return SendResult("sent", resp.status_code, request_id, retry_key, None, attempt,
                                  _json(resp))  # fmt: skip
            accepted = resp.headers.get("x-line-accepted-request-id")
            if resp.status_code == 409 and accepted and retry_key:
                log.info(
                    "LINE %s: already accepted as %s (retry key %s)", endpoint, accepted, retry_key
                )
                return SendResult("sent", 409, accepted, retry_key, None, attempt)
            message = error_message(resp)
            last = SendResult("error", resp.status_code, request_id, retry_key, message, attempt)
            log.warning("LINE %s: HTTP %d request %s (attempt %d)", endpoint, resp.status_code,
                        request_id, attempt)  # fmt: skip
            if resp.status_code not in RETRY_STATUSES:
                break
            if not self._wait(
                attempt, resp.headers.get("Retry-After"), deadline, retry_key, endpoint
            ):
                break
        return last

    def _wait(self, attempt, retry_after, deadline, retry_key, endpoint) -> bool:
        """Sleep before the next attempt; False when there is none (attempts or time are up)."""
        if attempt >= self.max_attempts:
            return False
        if endpoint != "reply" and retry_key is None and endpoint != "other":
            return False  # never retry a send that could go out twice
        delay = self.backoff * (2 ** (attempt - 1))
        try:
            delay = max(delay, float(retry_after)) if retry_after else delay
        except ValueError:
            pass
        if deadline is not None and time.monotonic() + delay > deadline:
            return False
        self.sleep(delay)
        return True


def _messages(messages: list[dict]) -> list[dict]:
    if not messages or len(messages) > MESSAGES_MAX:
        raise ValueError(f"1 to {MESSAGES_MAX} messages per request, got {len(messages or [])}")
    return list(messages)


def _json(resp) -> dict | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def error_message(resp) -> str:
    """The ``message`` of a LINE error body (``{"message": …, "details": [{"message", "property"}]}``),
    with the properties its details name — never the request's content."""
    data = _json(resp) or {}
    message = str(data.get("message") or resp.reason or "")[:200]
    details = data.get("details") if isinstance(data.get("details"), list) else []
    props = [str(d.get("property")) for d in details if isinstance(d, dict) and d.get("property")]
    return f"{message} ({', '.join(props[:5])})" if props else message


# -- message objects -------------------------------------------------------------------------------


def safety_check_message(text: str, campaign_id: str, answers, location_label: str) -> dict:
    """A text message with quick-reply buttons: one postback per answer and a location action.

    ``answers``: (code, label, status) as :data:`geodata.campaigns.ANSWERS`; each button's
    postback data carries the campaign id (``campaign=<id>&status=<code>``) and shows the label
    in the chat when tapped.
    """
    from geodata.campaigns import postback_data

    items = [
        {
            "type": "action",
            "action": {
                "type": "postback",
                "label": label,
                "data": postback_data(campaign_id, code),
                "displayText": label,
            },
        }
        for code, label, _ in answers
    ]
    items.append({"type": "action", "action": {"type": "location", "label": location_label}})
    return {"type": "text", "text": text, "quickReply": {"items": items}}


def location_message(title: str, address: str | None, lat: float, lon: float) -> dict:
    """A location message (a map pin the resident can open for directions)."""
    return {
        "type": "location",
        "title": str(title)[:100],
        "address": str(address or title)[:100],
        "latitude": float(lat),
        "longitude": float(lon),
    }
