"""Mastodon: statuses of hashtag timelines and of a status search.

Endpoints (docs.joinmastodon.org/methods/timelines, /methods/search):

* ``GET /api/v1/timelines/tag/:hashtag?limit=40&min_id=<cursor>`` -> ``[Status]`` newest first,
  with a ``Link`` header: ``rel="prev"`` pages to newer statuses (``min_id``), ``rel="next"``
  to older ones (``max_id``).
* ``GET /api/v2/search?q=…&type=statuses&min_id=<cursor>`` -> ``{"statuses": [Status], ...}``.

The cursor is the greatest status id seen (``since_id`` semantics; Mastodon ids are
snowflakes that grow with time). Without a cursor the newest page is read, plus older pages up
to ``max_pages``. A boost (``reblog`` set) becomes a row without text whose ``repost_of`` is
the original (``mastodon:<id>``); the original status is stored as its own post.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from ingest.base import BaseSource, SourceError, text_or_none
from ingest.sources.common import get_json, html_to_text, newest_id, page_items, post_row


class MastodonSource(BaseSource):
    """Statuses of Mastodon hashtag timelines and/or a status search.

    Parameters
    ----------
    name : configured source name.
    base_url : the instance, e.g. ``https://mastodon.example``.
    hashtags : hashtag timelines to read (without ``#``).
    query : a ``/api/v2/search`` query (needs a token on most instances).
    token : an access token (read:statuses / read:search), or None for public timelines.
    limit : statuses per page (Mastodon caps at 40).
    max_pages : pages per hashtag per run.
    platform : the ``platform`` of the rows (``mastodon``; name instances apart when several).
    """

    kind = "sns"
    layer = "posts"
    cursor_field = "since_id"

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        hashtags: list[str] | tuple[str, ...] = (),
        query: str | None = None,
        token: str | None = None,
        limit: int = 40,
        max_pages: int = 10,
        platform: str = "mastodon",
        **kwargs,
    ):
        super().__init__(name, **kwargs)
        if not hashtags and not query:
            raise ValueError(f"{name}: a Mastodon source needs hashtags or a query")
        self.base_url = base_url.rstrip("/")
        self.hashtags = [h.lstrip("#") for h in hashtags]
        self.query = query
        self.token = token
        self.limit = int(limit)
        self.max_pages = int(max_pages)
        self.platform = platform

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def fetch(self, since: str | None) -> Iterator[dict]:
        for tag in self.hashtags:
            yield from self._timeline(tag, since)
        if self.query:
            yield from self._search(since)

    def _timeline(self, tag: str, since: str | None) -> Iterator[dict]:
        url: str | None = f"{self.base_url}/api/v1/timelines/tag/{quote(tag, safe='')}"
        params: dict | None = {"limit": self.limit, **({"min_id": since} if since else {})}
        for _ in range(self.max_pages):
            page, response = get_json(self._http(), url, params=params, headers=self._headers())
            if not isinstance(page, list):
                raise SourceError(f"{url}: expected a list of statuses, got {type(page).__name__}")
            page = page_items(self, page, self.limit, response.url, "statuses")
            yield from page
            if not page:
                return
            # Forward (newer) from a cursor, backward (older) on a first run.
            link = response.links.get("prev" if since else "next", {}).get("url")
            if link:
                url, params = link, None
            elif since and len(page) >= self.limit:
                params = {"limit": self.limit, "min_id": newest_id(_ids(page), since)}
            else:
                return

    def _search(self, since: str | None) -> Iterator[dict]:
        url = f"{self.base_url}/api/v2/search"
        cursor = since
        for _ in range(self.max_pages):
            params = {"q": self.query, "type": "statuses", "limit": self.limit}
            if cursor:
                params["min_id"] = cursor
            body, response = get_json(self._http(), url, params=params, headers=self._headers())
            statuses = body.get("statuses") if isinstance(body, dict) else None
            if not isinstance(statuses, list):
                raise SourceError(f"{url}: expected {{'statuses': [...]}}")
            statuses = page_items(self, statuses, self.limit, response.url, "statuses")
            yield from statuses
            if not cursor or len(statuses) < self.limit:
                return
            cursor = newest_id(_ids(statuses), cursor)

    def normalize_record(self, status: dict) -> list[dict]:
        if not isinstance(status, dict):
            raise TypeError(f"expected a Status object, got {type(status).__name__}")
        original = status.get("reblog")
        if original is not None:
            if not isinstance(original, dict):
                raise TypeError("reblog: expected a Status object")
            first = self._row(original)
            boost = post_row(
                self.platform,
                status.get("id"),
                text=None,
                posted_at=status.get("created_at"),
                author=_acct(status),
                url=status.get("url") or status.get("uri"),
                repost_of=f"{self.platform}:{first['post_id']}",
            )
            return [first, boost]
        return [self._row(status)]

    def _row(self, status: dict) -> dict:
        text = html_to_text(status.get("content"))
        spoiler = text_or_none(status.get("spoiler_text"))
        if spoiler:
            text = f"{spoiler}\n{text}" if text else spoiler
        if not text:
            raise ValueError("status without text")
        return post_row(
            self.platform,
            status.get("id"),
            text=text,
            posted_at=status.get("created_at"),
            author=_acct(status),
            url=status.get("url") or status.get("uri"),
            lang=status.get("language"),
        )

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        return newest_id(_ids(records), since)


def _ids(statuses) -> list[str]:
    return [s["id"] for s in statuses if isinstance(s, dict) and isinstance(s.get("id"), str)]


def _acct(status: dict) -> str | None:
    account = status.get("account")
    if account is None:
        return None
    if not isinstance(account, dict):
        raise TypeError("account: expected an Account object")
    return text_or_none(account.get("acct") or account.get("username"))
