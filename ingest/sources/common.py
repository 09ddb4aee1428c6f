"""Helpers shared by the SNS sources: HTML to text, post rows, JSON pages, id ordering."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import requests

from ingest.base import SourceError, clean_text, text_or_none
from ingest.sources.jptime import parse_time

TEXT_LIMIT = 5000  # characters of a post text kept (a post longer than this is spam or a bug)


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("p", "div", "li"):
            self.parts.append("\n\n")

    def handle_data(self, data):
        self.parts.append(data)


# A tag of the plain form Mastodon and most servers send: a name, attributes with quoted or no
# values, an optional "/" before ">". Markup made only of such tags and text without "<" is
# converted by _html_to_text_fast; anything else (comments, <script>, unquoted attribute
# values, a stray "<") goes through HTMLParser. Both give the same text (tests compare them).
_SIMPLE_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'))?)*)\s*(/?)>"
)
_RAW_TEXT_TAGS = frozenset({"script", "style", "textarea", "title"})
_BLOCK_END = frozenset({"p", "div", "li"})
_SPACE_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")


# The same tags, as one capturing group: ``split`` gives text, tag, text, ..., text.
_SIMPLE_TAG_SPLIT = re.compile(
    r"(<(?:/?)[a-zA-Z][a-zA-Z0-9]*"
    r"(?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'))?)*\s*/?>)"
)
_TAG_TEXT: dict[str, str | None] = {}  # tag -> the text it stands for (None: needs the parser)
_TAG_TEXT_LIMIT = 20_000


def _tag_text(tag: str) -> str | None:
    """The text a simple tag becomes ("\n" for <br>, "\n\n" after a block), None when the
    markup needs the full parser."""
    closing, name, attrs, self_closing = _SIMPLE_TAG.fullmatch(tag).groups()
    name = name.lower()
    if name in _RAW_TEXT_TAGS:
        return None
    if closing:
        if attrs or self_closing:  # "</p class=x>" / "</p/>": let the parser decide
            return None
        return "\n\n" if name in _BLOCK_END else ""
    text = "\n" if name == "br" else ""
    return text + "\n\n" if self_closing and name in _BLOCK_END else text


def _html_to_text_fast(markup: str) -> str | None:
    """The joined text of simple markup, or None when the markup needs the full parser."""
    parts = _SIMPLE_TAG_SPLIT.split(markup)
    texts = parts[0::2]
    if any("<" in t for t in texts):
        return None
    known = _TAG_TEXT
    tags = []
    for tag in parts[1::2]:
        text = known.get(tag, False)
        if text is False:
            text = _tag_text(tag)
            if len(known) >= _TAG_TEXT_LIMIT:
                known.clear()
            known[tag] = text
        if text is None:
            return None
        tags.append(text)
    parts[0::2] = [html.unescape(t) if "&" in t else t for t in texts]
    parts[1::2] = tags
    return "".join(parts)


def _html_to_text_parser(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def html_to_text(markup: str | None) -> str:
    """The text of an HTML fragment: tags dropped, entities unescaped, <br>/<p> as newlines.

    Examples
    --------
    >>> html_to_text('<p>川が&amp;あふれた<br />#<span>調布</span></p><p>2</p>')
    '川が&あふれた\\n#調布\\n\\n2'
    """
    if not markup:
        return ""
    if not isinstance(markup, str):
        raise TypeError(f"content: expected text, got {type(markup).__name__}")
    if type(markup) is not str:  # a str subclass (numpy's): plain text is faster to cut up
        markup = str.__str__(markup)
    text = _html_to_text_fast(markup)
    if text is None:
        text = _html_to_text_parser(markup)
    text = _SPACE_BEFORE_NEWLINE.sub("\n", text)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def post_row(
    platform: str,
    post_id,
    *,
    text: str | None,
    posted_at,
    author=None,
    url=None,
    lang=None,
    point=None,
    repost_of: str | None = None,
) -> dict:
    """One posts-layer row (not yet geocoded nor classified).

    ``repost_of`` is the key of the original post written ``platform:post_id``.
    """
    post_id = text_or_none(post_id)
    if post_id is None:
        raise ValueError("missing post id")
    when = parse_time(posted_at)
    if when is None:
        raise ValueError("missing posting time")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"text: expected text, got {type(text).__name__}")
    text = clean_text(text) if text else text
    return {
        "platform": platform,
        "post_id": post_id,
        "author": text_or_none(author, 200),
        "text": (text or "")[:TEXT_LIMIT] or None,
        "url": text_or_none(url, 1000),
        "posted_at": when,
        "lang": text_or_none(lang, 20),
        "geo_source": "geotag" if point is not None else "none",
        "geo_confidence": 1.0 if point is not None else None,
        "triage": "new",
        "repost_of": repost_of,
        "categories": [],
        "matched_terms": [],
        "geometry": point,
    }


def get_json(session: requests.Session, url: str, *, method: str = "GET", **kwargs):
    """The JSON body of a request; SourceError on a transport error, an HTTP error or bad JSON.

    Returns (parsed JSON, response).
    """
    try:
        response = session.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise SourceError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise SourceError(f"{method} {url}: HTTP {response.status_code} {response.text[:200]}")
    try:
        return json.loads(response.content.decode("utf-8")), response
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{method} {url}: the answer is not JSON ({exc})") from exc


def page_items(source, items: list, limit: int, url: str, what: str = "items") -> list:
    """The items of one page, at most the ``limit`` the page was asked for.

    An upstream that ignores ``limit`` (a 10 MB page of 6,720 statuses for ``limit=40``) gets
    its page cut to the first ``limit`` items; the cut is a rejection of the run
    (``source.fetch_rejections``, written with the batch's rejections) saying how many were
    dropped, so it shows on the admin page and in the health row's rejected count.
    """
    if len(items) <= limit:
        return items
    note = (
        url,
        f"the page has {len(items):,} {what} for limit={limit}: the first {limit} were kept, "
        f"{len(items) - limit:,} dropped",
    )
    if getattr(source, "fetch_rejections", None) is None:
        source.fetch_rejections = []
    source.fetch_rejections.append(note)
    return items[:limit]


def id_order(value: str) -> tuple[int, str]:
    """A sort key for snowflake-like ids that are decimal strings of varying length."""
    return (len(value), value)


def newest_id(ids, since: str | None) -> str | None:
    """The greatest id of ``ids`` and ``since`` in :func:`id_order`."""
    candidates = [i for i in ids if isinstance(i, str) and i] + ([since] if since else [])
    return max(candidates, key=id_order) if candidates else None
