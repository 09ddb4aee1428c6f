"""A generic posts file: other tools' exports (JSON, JSON lines, CSV, GeoJSON), path or URL.

Recognized fields (first present wins; headers are NFKC-normalized, case as written):

========== ===========================================================================
post id    ``id``, ``post_id``, ``status_id``, ``tweet_id``, ``ID``, ``投稿ID``
text       ``text``, ``body``, ``content`` (HTML stripped), ``full_text``, ``本文``, ``内容``
time       ``created_at``, ``posted_at``, ``date``, ``timestamp``, ``time``, ``投稿日時``, ``日時``
author     ``author``, ``user``, ``username``, ``screen_name``, ``投稿者``
url        ``url``, ``link``, ``permalink``, ``URL``
lang       ``lang``, ``language``
platform   ``platform`` (else the configured ``platform``)
position   ``lat``/``lon`` (``latitude``/``longitude``, ``緯度``/``経度``) or a GeoJSON point
========== ===========================================================================
"""

from __future__ import annotations

from ingest.base import first_of, text_or_none
from ingest.reasons import RowError
from ingest.sources.common import html_to_text, post_row
from ingest.sources.files import FileSource

ID = ("id", "post_id", "status_id", "tweet_id", "ID", "投稿ID")
TEXT = ("text", "body", "full_text", "本文", "内容", "message")
TIME = ("created_at", "posted_at", "date", "timestamp", "time", "投稿日時", "日時")
AUTHOR = ("author", "user", "username", "screen_name", "投稿者")
URL = ("url", "link", "permalink", "URL")


class PostsFileSource(FileSource):
    """Posts from a file other tools exported (see the module docstring for the fields).

    Parameters
    ----------
    path, url : where the file is.
    platform : ``platform`` of records that do not name theirs (default ``file``).
    format : csv / json / jsonl / geojson (guessed from the name or content when omitted).
    encoding, crs : see :class:`ingest.sources.files.FileSource`.
    """

    kind = "sns"
    layer = "posts"
    skip_unchanged = True
    required_columns = (("本文", (*TEXT, "content")),)

    def __init__(self, name: str, *, platform: str = "file", **kwargs):
        super().__init__(name, **kwargs)
        self.platform = platform

    def normalize_record(self, record: dict) -> dict:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        text = first_of(record, TEXT)
        if text is None and isinstance(record.get("content"), str):
            text = html_to_text(record["content"])
        if isinstance(text, (int, float)):
            text = str(text)
        if not text_or_none(text):
            raise RowError("本文", "空欄です（投稿の本文が必要です）", "post without text")
        author = first_of(record, AUTHOR)
        if isinstance(author, dict):  # an embedded user object
            author = first_of(author, ("screen_name", "username", "acct", "handle", "name"))
        platform = text_or_none(record.get("platform"), 40) or self.platform
        return post_row(
            platform,
            first_of(record, ID),
            text=text,
            posted_at=self.time_of(record, TIME)[0],
            author=author,
            url=first_of(record, URL),
            lang=first_of(record, ("lang", "language")),
            point=self.point_of(record),
        )
