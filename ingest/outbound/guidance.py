"""Shelter guidance answered from the webhook side (避難所案内).

The webhook receiver (:mod:`ingest.line_webhook`) spools a body and answers LINE at once; then it
hands the body to :meth:`GuidanceResponder.submit`, which only queues it. A worker thread reads
the queue and, for each event that asks where to go — a text with 「避難所」 (see
:func:`geodata.guidance.asks_for_shelters`) or a location message — answers through the reply
API with the nearest open shelters (:func:`geodata.guidance.nearest_open`): one text naming
them with how full each is, and a location message per shelter. Events whose reply token is
older than :data:`ingest.outbound.line.REPLY_WINDOW_SECONDS` are dropped (counted ``too_late``).

Where the resident is: the location they sent; for 「避難所」 alone, their home on the roster
when their LINE user id is on it; else the city's centre is no answer, so the reply asks them to
send their location (a quick reply with the location action). A resident on the roster (避難行動要支援者:
a person who needs care) is answered with 福祉避難所 too; anyone else is not sent there.

Logs carry counts only: no user id, no point, no text.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable

import pandas as pd

from geodata import guidance
from ingest.outbound.line import REPLY_WINDOW_SECONDS, LineClient, location_message

log = logging.getLogger(__name__)
ASK_LOCATION = "近くの避難所をお知らせします。下のボタンから現在地を送ってください。"
CACHE_SECONDS = 20.0


class GuidanceResponder:
    """Answer shelter questions from webhook bodies in a worker thread.

    Parameters
    ----------
    client : the LINE client (its ``reply``).
    shelters : returns the shelters with their current status (``geodata.shelters.status_at``);
        called at most every :data:`CACHE_SECONDS`.
    hazard : returns the current hazard code (``flood``) or None.
    homes : returns ``{chat_user_id: (lon, lat)}`` of roster residents (optional).
    """

    def __init__(
        self,
        client: LineClient,
        shelters: Callable[[], pd.DataFrame],
        *,
        hazard: Callable[[], str | None] = lambda: None,
        homes: Callable[[], dict] | None = None,
    ):
        self.client = client
        self._shelters = shelters
        self._hazard = hazard
        self._homes = homes
        self._cache: tuple[float, pd.DataFrame] | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=1000)
        self.counts = {"answered": 0, "asked_location": 0, "too_late": 0, "errors": 0}
        self._thread = threading.Thread(target=self._run, name="line-guidance", daemon=True)
        self._stop = threading.Event()
        self._thread.start()

    def submit(self, body: bytes) -> None:
        """Queue the answerable events of one webhook body (never blocks the webhook)."""
        received = time.monotonic()
        try:
            events = json.loads(body).get("events") or []
        except (ValueError, AttributeError):
            return
        for event in events:
            if isinstance(event, dict) and wants_guidance(event):
                try:
                    self.queue.put_nowait((received, event))
                except queue.Full:
                    self.counts["too_late"] += 1

    def close(self, timeout: float = 5.0) -> None:
        """Finish the queued events (up to ``timeout``) and stop the worker."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not (self._stop.is_set() and self.queue.empty()):
            try:
                received, event = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.answer(event, received)
            except Exception as exc:  # noqa: BLE001 - one bad event never stops the worker
                self.counts["errors"] += 1
                log.warning("shelter guidance failed: %s", type(exc).__name__)
                log.debug("shelter guidance failure", exc_info=True)

    def shelters(self) -> pd.DataFrame:
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
            self._cache = (now, self._shelters())
        return self._cache[1]

    def answer(self, event: dict, received: float) -> str:
        """Reply to one event; returns what was done (``answered``, ``asked_location`` …)."""
        if time.monotonic() - received > REPLY_WINDOW_SECONDS:
            self.counts["too_late"] += 1
            return "too_late"
        point = event_point(event)
        user = (event.get("source") or {}).get("userId")
        homes = self._homes() if self._homes is not None else {}
        if point is None:
            point = homes.get(user)
        # a resident on the roster (避難行動要支援者) needs care: welfare shelters are for them
        needs_care = user is not None and user in homes
        if point is None:
            messages = [ask_location_message()]
            outcome = "asked_location"
        else:
            hazard = self._hazard()
            nearest = guidance.nearest_open(
                self.shelters(), point[0], point[1], hazard=hazard, needs_care=needs_care
            )
            messages = guidance_messages(nearest, hazard)
            outcome = "answered"
        result = self.client.reply(event["replyToken"], messages, received=received)
        if not result.ok:
            self.counts["errors"] += 1
            log.warning("shelter guidance reply: HTTP %s request %s", result.http_status,
                        result.request_id)  # fmt: skip
            return "error"
        self.counts[outcome] += 1
        return outcome


def wants_guidance(event: dict) -> bool:
    """A message event with a reply token that is a location or asks for shelters."""
    if event.get("type") != "message" or not event.get("replyToken"):
        return False
    message = event.get("message") or {}
    if message.get("type") == "location":
        return True
    return message.get("type") == "text" and guidance.asks_for_shelters(message.get("text"))


def event_point(event: dict) -> tuple[float, float] | None:
    """(lon, lat) of a location message, else None."""
    message = event.get("message") or {}
    if message.get("type") != "location":
        return None
    try:
        return float(message["longitude"]), float(message["latitude"])
    except (KeyError, TypeError, ValueError):
        return None


def guidance_messages(nearest: pd.DataFrame, hazard: str | None) -> list[dict]:
    """The reply: the text, then a location message per shelter (at most 5 messages)."""
    messages = [{"type": "text", "text": guidance.answer_text(nearest, hazard)}]
    for row in nearest.head(4).to_dict("records"):
        messages.append(location_message(row["name"], row.get("address"), row["lat"], row["lon"]))
    return messages


def ask_location_message() -> dict:
    """A text asking for the resident's location, with the location quick reply."""
    return {
        "type": "text",
        "text": ASK_LOCATION,
        "quickReply": {
            "items": [{"type": "action", "action": {"type": "location", "label": "位置を送る"}}]
        },
    }
