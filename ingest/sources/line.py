"""LINE Messaging API replies (安否確認 over LINE), read from the webhook spool.

``python -m ingest line-webhook`` (:mod:`ingest.line_webhook`) verifies each POST and writes its
raw body to the spool directory, one file per request named ``<time_ns>-<uuid>.json``. This
source reads the files newer than its cursor and turns every webhook event into a
safety_replies row:

* ``message`` / ``text``: the status read from the text (:func:`parse_status`), the text kept
  as ``needs_text`` unless it is a bare menu number;
* ``message`` / ``location``: the sent point (``located_by = message_location``); its status is
  that of the sender's text reply in the same batch, else 不明 — and that text reply gets the
  point too;
* ``postback``: ``data`` such as ``status=2`` or ``2`` (a rich-menu button);
* other messages (sticker, image ...): status 不明 (the resident answered, nothing more);
* other events (follow, unfollow ...): skipped.

The record id is the message id (``webhookEventId`` for postbacks), so a redelivered event
(``deliveryContext.isRedelivery``) updates the same row. The cursor is the newest spool file
name, held back by ``lag_seconds`` so a file still being renamed into place is read again
next run rather than missed. Files the cursor has passed are deleted once they are older than
``BOSAI_LINE_SPOOL_RETENTION_DAYS`` (geodata/access/spool.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

from geodata.access import spool
from ingest.base import BaseSource, SourceError, lonlat_point, rows_to_frame, text_or_none
from ingest.sources.jptime import parse_time
from ingest.sources.safety_common import MENU, RosterMatcher, is_menu_answer, locate, parse_status


class LineSpoolSource(BaseSource):
    """Safety replies from the LINE webhook spool directory.

    Parameters
    ----------
    spool_dir : the directory ``python -m ingest line-webhook`` writes to.
    lag_seconds : how far behind "now" the cursor stays (files named within it are re-read).
    """

    kind = "safety"
    layer = "safety_replies"
    cursor_field = "spool file name"
    poll_seconds = 10.0

    def __init__(self, name: str, *, spool_dir: str, lag_seconds: float = 5.0, **kwargs):
        super().__init__(name, **kwargs)
        self.spool_dir = Path(spool_dir)
        self.lag_ns = int(lag_seconds * 1e9)
        self._fetched_at_ns = time.time_ns()

    def fetch(self, since: str | None) -> Iterator[dict]:
        self._fetched_at_ns = time.time_ns()
        if not self.spool_dir.is_dir():
            raise SourceError(f"{self.spool_dir}: the spool directory does not exist")
        # ``since`` is the cursor saved after the last commit: files up to it are in the store.
        spool.prune(self.spool_dir, processed_through=since)
        names = sorted(p.name for p in self.spool_dir.glob("*.json"))
        for file_name in names:
            if since and file_name <= since:
                continue
            try:
                body = json.loads((self.spool_dir / file_name).read_text("utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield {"file": file_name, "_error": f"unreadable spool file ({exc})"}
                continue
            events = body.get("events") if isinstance(body, dict) else None
            if not isinstance(events, list):
                yield {"file": file_name, "_error": "webhook body without an events list"}
                continue
            for event in events:
                yield {"file": file_name, "event": event}

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        names = [r["file"] for r in records if isinstance(r, dict) and r.get("file")]
        if not names:
            return since
        newest = max(names)
        hold = f"{self._fetched_at_ns - self.lag_ns:020d}"
        cursor = min(newest, hold)
        return max(cursor, since) if since else cursor

    def normalize_record(self, record: dict) -> dict | None:
        if record.get("_error"):
            raise ValueError(f"{record['file']}: {record['_error']}")
        event = record["event"]
        if not isinstance(event, dict):
            raise TypeError(f"event: expected an object, got {type(event).__name__}")
        kind = event.get("type")
        if kind not in ("message", "postback"):
            return None
        source = event.get("source") if isinstance(event.get("source"), dict) else {}
        user = text_or_none(source.get("userId"))
        replied_at = event.get("timestamp")
        if not isinstance(replied_at, (int, float)) or isinstance(replied_at, bool):
            raise ValueError(f"timestamp: expected milliseconds, got {replied_at!r}")
        row = {
            "source": self.name,
            "channel": "line",
            "sender_id": user,
            "replied_at": parse_time(int(replied_at)),
        }
        point = None
        if kind == "postback":
            postback = event.get("postback")
            if not isinstance(postback, dict):
                raise TypeError("postback: expected an object")
            row["source_id"] = text_or_none(event.get("webhookEventId"))
            row["status"] = _postback_status(text_or_none(postback.get("data")) or "")
            row["needs_text"] = None
        else:
            message = event.get("message")
            if not isinstance(message, dict):
                raise TypeError("message: expected an object")
            row["source_id"] = text_or_none(message.get("id")) or text_or_none(
                event.get("webhookEventId")
            )
            mtype = message.get("type")
            if mtype == "text":
                text = text_or_none(message.get("text"), 2000)
                row["status"] = parse_status(text)
                row["needs_text"] = None if is_menu_answer(text) else text
            elif mtype == "location":
                point = lonlat_point(message.get("longitude"), message.get("latitude"))
                if point is None:
                    raise ValueError("location message without latitude/longitude")
                row["status"] = "不明"
                place = [text_or_none(message.get(k)) for k in ("title", "address")]
                row["needs_text"] = " ".join(p for p in place if p) or None
                row["_location_only"] = True
            else:
                row["status"] = "不明"
                row["needs_text"] = f"[{mtype}]"
        if not row.get("source_id"):
            raise ValueError("event without a message id or webhookEventId")
        row["_point"] = point
        return row

    def finish(self, rows: list[dict], rejected):
        matcher = RosterMatcher(self.context.frame("roster"))
        _share_within_batch(rows)
        unmatched = []
        by_key: dict[tuple, dict] = {}
        for row in rows:
            row["resident_id"], _ = matcher.match(chat_user_id=row.get("sender_id"))
            if row["resident_id"] is None:
                unmatched.append(row["source_id"])
            locate(row, row.pop("_point", None), matcher)
            row.pop("_location_only", None)
            by_key[(row["source"], row["source_id"])] = row
        self.notes = {"unmatched": sorted(set(unmatched))}
        return rows_to_frame(list(by_key.values()), self.layer), rejected


def _postback_status(data: str) -> str:
    values = [data.strip()]
    for key, found in parse_qs(data).items():
        if key in ("status", "answer", "safety", "menu"):
            values = found + values
    for value in values:
        if value in MENU:
            return MENU[value]
        status = parse_status(value)
        if status != "不明":
            return status
    return "不明"


def _share_within_batch(rows: list[dict]) -> None:
    """A location message and a text reply of one sender in one batch complete each other."""
    by_sender: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["replied_at"]):
        if row.get("sender_id"):
            by_sender.setdefault(row["sender_id"], []).append(row)
    for replies in by_sender.values():
        locations = [r for r in replies if r.get("_location_only")]
        statuses = [r for r in replies if not r.get("_location_only") and r["status"] != "不明"]
        if not locations:
            continue
        if statuses:
            for loc in locations:
                loc["status"] = statuses[-1]["status"]
        last_point = locations[-1]["_point"]
        for reply in replies:
            if not reply.get("_location_only") and reply.get("_point") is None:
                reply["_point"] = last_point
