"""Misskey: ``POST /api/notes/search``.

Request body ``{"query", "limit", "sinceId"?, "untilId"?, "i": token}``; answer ``[Note]``.
Misskey ids (aid/aidx/meid/ulid) sort with time, so the cursor is the greatest note id seen.
From a cursor the notes after it are paged forward (``sinceId`` = newest of the page) while
pages come back full; on a first run the newest page and older pages (``untilId``) are read up
to ``max_pages``. A pure renote (``renoteId`` set, no text) becomes a row without text whose
``repost_of`` is the original (``misskey:<id>``); the embedded original is stored too when it
is whole (it carries its ``user``, as the API's Note schema says it does). A quote (text and
``renoteId``) is a post.
"""

from __future__ import annotations

from collections.abc import Iterator

from ingest.base import BaseSource, SourceError, text_or_none
from ingest.sources.common import get_json, newest_id, page_items, post_row


class MisskeySource(BaseSource):
    """Notes matching a Misskey search query.

    Parameters
    ----------
    base_url : the instance, e.g. ``https://misskey.example``.
    query : the search words.
    token : an access token (``i``); most instances need one for search.
    limit : notes per page (Misskey caps at 100).
    max_pages : pages per run.
    """

    kind = "sns"
    layer = "posts"
    cursor_field = "sinceId"

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        query: str,
        token: str | None = None,
        limit: int = 100,
        max_pages: int = 10,
        platform: str = "misskey",
        **kwargs,
    ):
        super().__init__(name, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.token = token
        self.limit = max(1, min(100, int(limit)))
        self.max_pages = int(max_pages)
        self.platform = platform

    def fetch(self, since: str | None) -> Iterator[dict]:
        url = f"{self.base_url}/api/notes/search"
        since_id, until_id = since, None
        for _ in range(self.max_pages):
            body = {"query": self.query, "limit": self.limit}
            if self.token:
                body["i"] = self.token
            if since_id:
                body["sinceId"] = since_id
            if until_id:
                body["untilId"] = until_id
            notes, _ = get_json(self._http(), url, method="POST", json=body)
            if not isinstance(notes, list):
                raise SourceError(f"{url}: expected a list of notes, got {type(notes).__name__}")
            notes = page_items(self, notes, self.limit, url, "notes")
            yield from notes
            ids = _ids(notes)
            if len(notes) < self.limit or not ids:
                return
            if since:
                since_id = newest_id(ids, since_id)
            else:
                until_id = min(ids)

    def normalize_record(self, note: dict) -> list[dict]:
        if not isinstance(note, dict):
            raise TypeError(f"expected a Note object, got {type(note).__name__}")
        renote = note.get("renote")
        if note.get("renoteId") and not text_or_none(note.get("text")):
            if renote is not None and not isinstance(renote, dict):
                raise TypeError("renote: expected a Note object")
            # An embedded note without its ``user`` is partial (a thin packing): written, it
            # would replace the original's author with a bare userId. Its id is enough here.
            whole = bool(renote) and renote.get("user") is not None
            rows = [self._row(renote)] if whole else []
            original = (
                rows[0]["post_id"]
                if rows
                else text_or_none(note.get("renoteId")) or text_or_none((renote or {}).get("id"))
            )
            rows.append(
                post_row(
                    self.platform,
                    note.get("id"),
                    text=None,
                    posted_at=note.get("createdAt"),
                    author=_user(note),
                    url=self._url(note),
                    repost_of=f"{self.platform}:{original}",
                )
            )
            return rows
        return [self._row(note)]

    def _row(self, note: dict) -> dict:
        text = text_or_none(note.get("text"))
        cw = text_or_none(note.get("cw"))
        if cw:
            text = f"{cw}\n{text}" if text else cw
        if not text:
            raise ValueError("note without text")
        return post_row(
            self.platform,
            note.get("id"),
            text=text,
            posted_at=note.get("createdAt"),
            author=_user(note),
            url=self._url(note),
        )

    def _url(self, note: dict) -> str | None:
        url = note.get("url") or note.get("uri")
        if url:
            return url
        note_id = text_or_none(note.get("id"))
        return f"{self.base_url}/notes/{note_id}" if note_id else None

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        return newest_id(_ids(records), since)


def _ids(notes) -> list[str]:
    return [n["id"] for n in notes if isinstance(n, dict) and isinstance(n.get("id"), str)]


def _user(note: dict) -> str | None:
    user = note.get("user")
    if user is None:
        return text_or_none(note.get("userId"))
    if not isinstance(user, dict):
        raise TypeError("user: expected a User object")
    username = text_or_none(user.get("username"))
    host = text_or_none(user.get("host"))
    return f"{username}@{host}" if username and host else username
