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
   configured river (:func:`is_wanted`);
3. fetch each message not stored yet — an entry id already stored with the same ``updated`` is
   not fetched again, and a message whose text was stored under another id is a duplicate;
4. :meth:`normalize` parses each message (:func:`ingest.sources.jmaxml.parse_message`) into a
   ``warnings`` row that keeps the raw XML, its feed entry id and the time it was received. A
   malformed message is stored too (raw XML and ``error``) and goes to rejections with its
   reason; a message that could not be downloaded is a rejection and is tried again next run.

The cursor is JSON: the ``Last-Modified`` of each feed read whole, the time of the run and the
entry ids of the last duplicates (so a copy is not downloaded again). A feed whose messages could
not all be fetched keeps its old ``Last-Modified``, so the next run reads it again. What is in
force for which towns: :mod:`geodata.warnings`. :func:`atom_feed` writes a feed shaped like JMA's
(the drill serves one; stored messages can be served again the same way).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urljoin

import pandas as pd
import requests
from lxml import etree
from lxml.builder import ElementMaker

from geodata.schema import now_utc, to_utc
from ingest.base import BaseSource, Rejection, SourceError, clean_text, raw_text
from ingest.sources import jmaxml
from ingest.sources.jmaxml import JmaFormatError, Targets, read_xml, text_of

# JIS prefecture codes 01-47 -> name: a feed entry's headline names its prefecture.
PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県",
    "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県",
    "山梨県", "長野県", "岐阜県", "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府",
    "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県", "徳島県",
    "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県",
    "鹿児島県", "沖縄県",
)  # fmt: skip

FEED_BASE = "https://www.data.jma.go.jp/developer/xml/feed/"
ATOM = "http://www.w3.org/2005/Atom"
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
    prefecture : a feed entry must name it (or a river) in its headline (default: the
        municipality's prefecture, 13208 → 東京都).
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
        if not (
            municipality.isdigit() and len(municipality) == 5 and 1 <= int(municipality[:2]) <= 47
        ):
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
        prefecture = prefecture or PREFECTURES[int(municipality[:2]) - 1]
        self.words = (prefecture, *self.targets.rivers)
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
                entries = parse_feed(response.content, feed)
            except JmaFormatError as exc:
                raise SourceError(str(exc)) from exc
            complete = True
            for entry in reversed(entries):  # the feed lists the newest first
                if not entry["id"] or entry["id"] in seen:
                    continue
                if not is_wanted(entry, self.message_types, self.words):
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


# -- feeds ------------------------------------------------------------------------------------


def parse_feed(data: bytes, feed_url: str) -> list[dict]:
    """The entries of a JMA Atom feed, in feed order.

    Each entry: ``id``, ``title`` (the message type), ``updated``, ``author``, ``url`` (the
    message, resolved against ``feed_url``) and ``content`` (the headline text).

    Raises
    ------
    JmaFormatError : not XML, or not an Atom feed.
    """
    root = read_xml(data, feed_url)
    if root.tag != f"{{{ATOM}}}feed":
        raise JmaFormatError(f"{feed_url}: not an Atom feed (root <{etree.QName(root).localname}>)")
    ns = {"a": ATOM}
    entries = []
    for entry in root.findall("a:entry", ns):
        link = None
        for el in entry.findall("a:link", ns):
            if el.get("href") and el.get("rel", "alternate") in ("alternate", ""):
                link = el.get("href")
                if el.get("type") == "application/xml":
                    break
        entry_id = text_of(entry, "a:id", ns)
        entries.append(
            {
                "id": entry_id,
                "title": text_of(entry, "a:title", ns),
                "updated": text_of(entry, "a:updated", ns),
                "author": text_of(entry, "a:author/a:name", ns),
                "url": urljoin(feed_url, link or entry_id or ""),
                "content": text_of(entry, "a:content", ns),
            }
        )
    return entries


def atom_feed(entries: list[dict], *, feed_id: str, title: str, updated: str) -> bytes:
    """An Atom feed shaped like JMA's (the drill and replays serve it).

    ``entries``: dicts with ``id``, ``title``, ``updated``, ``author``, ``url``, ``content``.
    """
    E = ElementMaker(namespace=ATOM, nsmap={None: ATOM})  # noqa: N806 - builder idiom
    feed = E.feed(
        E.title(title),
        E.subtitle("JMAXML publishing feed"),
        E.updated(updated),
        E.id(feed_id),
        E.link(href=feed_id, rel="self"),
        E.rights("Published by Japan Meteorological Agency"),
    )
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "ja")
    for e in entries:
        feed.append(
            E.entry(
                E.title(e["title"]),
                E.id(e["id"]),
                E.updated(e["updated"]),
                E.author(E.name(e.get("author") or "気象庁")),
                E.link(type="application/xml", href=e["url"]),
                E.content(e.get("content") or "", type="text"),
            )
        )
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def is_wanted(entry: dict, titles=jmaxml.TITLES, words=()) -> bool:
    """Whether a feed entry is a message type in ``titles`` whose text names one of ``words``."""
    title = entry.get("title") or ""
    if not any(title.startswith(t) for t in titles):
        return False
    if not words:
        return True
    text = f"{entry.get('content') or ''} {entry.get('author') or ''}"
    return any(w in text for w in words)


def _read_cursor(since: str | None) -> dict:
    if not since:
        return {}
    try:
        cursor = json.loads(since)
    except ValueError:
        return {}
    return cursor if isinstance(cursor, dict) else {}
