"""Bluesky: ``app.bsky.feed.searchPosts`` with an app-password session.

* ``POST /xrpc/com.atproto.server.createSession {"identifier", "password"}`` -> ``accessJwt``,
  sent as ``Authorization: Bearer`` (skipped when no identifier is configured: a public AppView).
* ``GET /xrpc/app.bsky.feed.searchPosts?q=…&sort=latest&since=…&limit=…&cursor=…`` ->
  ``{"cursor"?, "hitsTotal"?, "posts": [PostView]}``, newest first.

The response ``cursor`` only pages within one query. The incremental cursor is the newest
``createdAt`` seen and its post uri (``createdAt|uri``); the next run asks for posts ``since``
that time minus an overlap (indexing lag, clock skew), and the overlap's posts come back
unchanged. A cursor time in the future (a wrong client clock) is clamped to the fetch time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from geodata.schema import now_utc, to_utc
from ingest.base import BaseSource, SourceError, text_or_none
from ingest.sources.common import get_json, page_items, post_row

OVERLAP = pd.Timedelta(minutes=10)


class BlueskySource(BaseSource):
    """Posts matching a Bluesky search query.

    Parameters
    ----------
    base_url : where createSession and searchPosts are sent (``https://bsky.social``), or a
        public AppView (``https://public.api.bsky.app``) without credentials.
    query : the search query (Lucene-like syntax).
    identifier, password : handle and app password; both or neither.
    limit : posts per page (1..100).
    max_pages : pages per run.
    """

    kind = "sns"
    layer = "posts"
    cursor_field = "createdAt|uri"

    def __init__(
        self,
        name: str,
        *,
        base_url: str = "https://bsky.social",
        query: str,
        identifier: str | None = None,
        password: str | None = None,
        limit: int = 100,
        max_pages: int = 10,
        platform: str = "bluesky",
        **kwargs,
    ):
        super().__init__(name, **kwargs)
        if bool(identifier) != bool(password):
            raise ValueError(f"{name}: give both identifier and password, or neither")
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.identifier = identifier
        self.password = password
        self.limit = max(1, min(100, int(limit)))
        self.max_pages = int(max_pages)
        self.platform = platform
        self._started = now_utc()

    def _login(self) -> dict:
        if not self.identifier:
            return {}
        body, _ = get_json(
            self._http(),
            f"{self.base_url}/xrpc/com.atproto.server.createSession",
            method="POST",
            json={"identifier": self.identifier, "password": self.password},
        )
        token = body.get("accessJwt") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(f"{self.name}: createSession answered without an accessJwt")
        return {"Authorization": f"Bearer {token}"}

    def fetch(self, since: str | None) -> Iterator[dict]:
        self._started = now_utc()
        headers = self._login()
        url = f"{self.base_url}/xrpc/app.bsky.feed.searchPosts"
        params = {"q": self.query, "sort": "latest", "limit": self.limit}
        since_time = _cursor_time(since)
        if since_time is not None:
            params["since"] = (since_time - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for _ in range(self.max_pages):
            page, response = get_json(self._http(), url, params=params, headers=headers)
            posts = page.get("posts") if isinstance(page, dict) else None
            if not isinstance(posts, list):
                raise SourceError(f"{url}: expected {{'posts': [...]}}")
            posts = page_items(self, posts, self.limit, response.url, "posts")
            yield from posts
            cursor = page.get("cursor")
            if not posts or not isinstance(cursor, str) or not cursor:
                return
            oldest = _created(posts[-1])
            if since_time is not None and oldest is not None and oldest < since_time - OVERLAP:
                return
            params = {**params, "cursor": cursor}

    def normalize_record(self, view: dict) -> dict:
        if not isinstance(view, dict):
            raise TypeError(f"expected a PostView, got {type(view).__name__}")
        record = view.get("record")
        if not isinstance(record, dict):
            raise TypeError("record: expected an app.bsky.feed.post record")
        uri = text_or_none(view.get("uri"))
        if not uri or not uri.startswith("at://"):
            raise ValueError(f"uri: not an at:// uri: {uri!r}")
        author = view.get("author") if isinstance(view.get("author"), dict) else {}
        handle = text_or_none(author.get("handle"))
        langs = record.get("langs")
        lang = langs[0] if isinstance(langs, list) and langs else None
        rkey = uri.rsplit("/", 1)[-1]
        who = handle or text_or_none(author.get("did"))
        return post_row(
            self.platform,
            uri,
            text=record.get("text"),
            posted_at=record.get("createdAt"),
            author=who,
            url=f"https://bsky.app/profile/{who}/post/{rkey}" if who else None,
            lang=lang,
        )

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        best = None
        if since:
            time = _cursor_time(since)
            best = (time, since.partition("|")[2]) if time is not None else None
        for view in records:
            created = _created(view)
            if created is None:
                continue
            created = min(created, self._started)
            uri = view.get("uri") if isinstance(view.get("uri"), str) else ""
            if best is None or (created, uri) > best:
                best = (created, uri)
        if best is None:
            return since
        return f"{best[0].isoformat()}|{best[1]}"


def _created(view) -> pd.Timestamp | None:
    try:
        return to_utc(view["record"]["createdAt"])
    except (KeyError, TypeError, ValueError):
        return None


def _cursor_time(cursor: str | None) -> pd.Timestamp | None:
    if not cursor:
        return None
    try:
        return to_utc(cursor.partition("|")[0])
    except ValueError:
        return None
