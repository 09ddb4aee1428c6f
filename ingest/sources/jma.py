"""気象庁防災情報XML: official warnings for the municipality, read from JMA's Atom feeds.

JMA publishes every message as an XML file and lists it in Atom feeds
(https://www.data.jma.go.jp/developer/xml/feed/): ``extra.xml`` (随時: warnings, 土砂災害警戒情報,
指定河川洪水予報, 記録的短時間大雨情報 …) holds the last minutes, ``extra_l.xml`` the last days;
``regular.xml`` / ``regular_l.xml`` carry the scheduled forecasts (not read by default). The
feeds answer ``If-Modified-Since`` with 304 when nothing was added.

One run (:meth:`JmaSource.fetch`):

1. read the short feeds, or the long ones on the first run and when the last good run is older
   than ``catch_up_minutes`` (an outage longer than the short feed's span loses nothing);
2. keep the entries of the wanted message types whose headline names the prefecture or a
   configured river (:func:`ingest.sources.jmaxml.is_wanted`);
3. fetch each message not stored yet — an entry id already stored with the same ``updated`` is
   not fetched again, and a message whose text was stored under another id is a duplicate;
4. :meth:`normalize` parses each message (:func:`ingest.sources.jmaxml.parse_message`) into a
   ``warnings`` row that keeps the raw XML, its feed entry id and the time it was received. A
   malformed message is stored too (raw XML and ``error``) and goes to rejections with its
   reason; a message that could not be downloaded is a rejection and is tried again next run.

The cursor is JSON: the ``Last-Modified`` of each feed read whole, the time of the run and the
entry ids of the last duplicates (so a copy is not downloaded again). A
feed whose messages could not all be fetched keeps its old ``Last-Modified``, so the next run
reads it again. What is in force for which towns: :mod:`geodata.warnings`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urljoin

import pandas as pd
import requests

from geodata.schema import now_utc, to_utc
from ingest.base import BaseSource, Rejection, SourceError, clean_text, raw_text
from ingest.sources import jmaxml
from ingest.sources.jmaxml import JmaFormatError, Targets

FEED_BASE = "https://www.data.jma.go.jp/developer/xml/feed/"
RAW_LIMIT = 2000
MAX_COPIES = 500  # duplicate entry ids remembered in the cursor


class JmaSource(BaseSource):
    """Official warnings (気象庁防災情報XML) for one municipality.

    Parameters
    ----------
    name : configured source name.
    base_url : the feeds' folder (JMA's, or a mirror / the drill's loopback server).
    feeds : feeds read on every run (default the short 随時 feed ``extra.xml``).
    catch_up_feeds : feeds read on the first run and after an outage (``extra_l.xml``).
    catch_up_minutes : a last good run older than this reads ``catch_up_feeds``.
    municipality : the municipality's 5-digit code; items carry it, towns are looked up by it.
    area_codes : 二次細分区域 / 市町村等 codes of warnings and 土砂災害警戒情報 (default
        ``<municipality>00``, 調布市: 1320800).
    region_codes : areas of 記録的短時間大雨情報 (一次細分区域, e.g. 130010 東京地方).
    rivers : rivers whose designated-river flood forecasts concern the municipality (多摩川).
    prefecture : a feed entry must name it (or a river) in its headline, e.g. 東京都.
    message_types : the message types read (``Control/Title`` prefixes, default all four).
    max_messages : messages fetched per run at most (the rest on the next run).
    """

    kind = "warnings"
    layer = "warnings"
    cursor_field = "feed Last-Modified"
    poll_seconds = 60.0

    def __init__(
        self,
        name: str,
        *,
        base_url: str = FEED_BASE,
        feeds: list[str] | tuple[str, ...] = ("extra.xml",),
        catch_up_feeds: list[str] | tuple[str, ...] = ("extra_l.xml",),
        catch_up_minutes: float = 10,
        municipality: str,
        area_codes: list[str] | tuple[str, ...] = (),
        region_codes: list[str] | tuple[str, ...] = (),
        rivers: list[str] | tuple[str, ...] = (),
        prefecture: str | None = None,
        message_types: list[str] | tuple[str, ...] = jmaxml.TITLES,
        max_messages: int = 500,
        **kwargs,
    ):
        super().__init__(name, **kwargs)
        municipality = str(municipality)
        if not (municipality.isdigit() and len(municipality) == 5):
            raise ValueError(f"{name}: municipality must be a 5-digit code, got {municipality!r}")
        unknown = [t for t in message_types if t not in jmaxml.TITLES]
        if unknown:
            raise ValueError(f"{name}: unknown message types {unknown} (known: {jmaxml.TITLES})")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.feeds = [urljoin(self.base_url, f) for f in feeds]
        self.catch_up_feeds = [urljoin(self.base_url, f) for f in catch_up_feeds]
        self.catch_up = pd.Timedelta(minutes=float(catch_up_minutes))
        self.targets = Targets(
            city_code=municipality,
            area_codes=tuple(str(c) for c in area_codes) or (f"{municipality}00",),
            region_codes=tuple(str(c) for c in region_codes),
            rivers=tuple(str(r) for r in rivers),
        )
        self.words = tuple(w for w in (prefecture, *self.targets.rivers) if w)
        self.message_types = tuple(message_types)
        self.max_messages = int(max_messages)
        self._next_cursor: dict | None = None

    # -- fetch --------------------------------------------------------------------------------

    def fetch(self, since: str | None) -> Iterator[dict]:
        self._next_cursor = None
        cursor = _read_cursor(since)
        now = now_utc()
        checked = to_utc(cursor.get("checked_at")) if cursor.get("checked_at") else None
        stale = checked is None or pd.Timestamp(now) - checked > self.catch_up
        feeds = self.catch_up_feeds if stale and self.catch_up_feeds else self.feeds
        modified = dict(cursor.get("last_modified") or {})
        known, digests = self._stored()
        copies = list(cursor.get("copies") or [])  # entry ids of duplicates: never refetched
        self.notes = {"duplicates": 0}
        seen: set[str] = set(copies)
        fetched = 0
        for feed in feeds:
            response = self._get(feed, modified.get(feed))
            if response.status_code == 304:
                continue
            try:
                entries = jmaxml.parse_feed(response.content, feed)
            except JmaFormatError as exc:
                raise SourceError(str(exc)) from exc
            complete = True
            for entry in reversed(entries):  # the feed lists the newest first
                if not entry["id"] or entry["id"] in seen:
                    continue
                if not jmaxml.is_wanted(entry, self.message_types, self.words):
                    continue
                seen.add(entry["id"])
                updated = to_utc(entry["updated"]) if entry["updated"] else None
                if entry["id"] in known and known[entry["id"]] == updated:
                    continue  # stored once: JMA never changes a published entry
                if fetched >= self.max_messages:
                    complete = False
                    break
                fetched += 1
                record = self._message(entry, feed)
                if "fetch_error" in record:
                    complete = False
                elif record["digest"] in digests:
                    self.notes["duplicates"] += 1
                    copies.append(entry["id"])
                    continue
                else:
                    digests.add(record["digest"])
                yield record
            if complete and response.headers.get("Last-Modified"):
                modified[feed] = response.headers["Last-Modified"]
        self._next_cursor = {
            "last_modified": modified,
            "checked_at": now.isoformat(),
            "copies": copies[-MAX_COPIES:],
        }

    def _get(self, url: str, last_modified: str | None) -> requests.Response:
        headers = {"If-Modified-Since": last_modified} if last_modified else {}
        try:
            response = self._http().get(url, headers=headers)
        except requests.RequestException as exc:
            raise SourceError(f"{url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise SourceError(f"{url}: HTTP {response.status_code}")
        return response

    def _message(self, entry: dict, feed: str) -> dict:
        record = {"entry": entry, "feed": feed, "received_at": now_utc().isoformat()}
        try:
            response = self._http().get(entry["url"])
        except requests.RequestException as exc:
            return {**record, "fetch_error": f"{type(exc).__name__}: {exc}"}
        if response.status_code >= 400:
            return {**record, "fetch_error": f"HTTP {response.status_code}"}
        data = response.content
        text = data.decode("utf-8", errors="replace")
        return {**record, "xml": text, "size": len(data), "digest": jmaxml.digest(text)}

    def _stored(self) -> tuple[dict, set]:
        """Entry id -> stored ``updated``, and the stored digests, of this source's messages."""
        store = getattr(self.context, "store", None)
        if store is None:
            return {}, set()
        stored = store.read(
            "warnings", where={"source": self.name}, columns=["entry_updated", "digest"]
        )
        known = {
            m: (None if pd.isna(u) else pd.Timestamp(u))
            for m, u in zip(stored["message_id"], stored["entry_updated"], strict=True)
        }
        return known, set(stored["digest"].dropna())

    # -- normalize ----------------------------------------------------------------------------

    def normalize(self, records: list[dict]) -> tuple[pd.DataFrame, list[Rejection]]:
        rows, rejected = [], []
        for record in records:
            entry = record.get("entry") or {}
            if "fetch_error" in record:
                reason = (
                    f"{entry.get('url')}: could not fetch the message ({record['fetch_error']})"
                )
                rejected.append((raw_text(entry), reason))
                continue
            row = self._row(record)
            try:
                row.update(self._parsed(record["xml"]))
            except JmaFormatError as exc:
                row["error"] = clean_text(str(exc))[:300]
                rejected.append((clean_text(record["xml"][:RAW_LIMIT]), f"{entry['url']}: {exc}"))
            rows.append(row)
        return self.finish(rows, rejected)

    def _parsed(self, xml: str) -> dict:
        parsed = jmaxml.parse_message(xml.encode("utf-8"), self.targets)
        parsed["report_at"] = to_utc(parsed["report_at"])
        return parsed

    def _row(self, record: dict) -> dict:
        entry = record["entry"]
        return {
            "source": self.name,
            "message_id": entry["id"],
            "entry_updated": entry.get("updated"),
            "feed": record["feed"],
            "url": entry["url"],
            "received_at": record["received_at"],
            "type_code": jmaxml.type_code(entry["url"], entry.get("title")),
            "title": entry.get("title"),
            "items": [],
            "digest": record["digest"],
            "size": record["size"],
            "raw_xml": clean_text(record["xml"]),
        }

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        if self._next_cursor is None:
            return since
        return json.dumps(self._next_cursor, ensure_ascii=False, sort_keys=True)


def _read_cursor(since: str | None) -> dict:
    if not since:
        return {}
    try:
        cursor = json.loads(since)
    except ValueError:
        return {}
    return cursor if isinstance(cursor, dict) else {}
