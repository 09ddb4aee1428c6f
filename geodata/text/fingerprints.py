"""Text fingerprints of posts: what is left of a text when everything that differs between
copies is removed (NFKC, lower case, RT/QT prefixes, URLs, @mentions, #hashtags, whitespace,
punctuation and emoji).

Two posts with the same fingerprint of at least :data:`MIN_EXACT` characters are copies (see
geodata/incidents.py). The store keeps a short digest of it per post (``posts.text_fp``, an
indexed store column outside the layer schema), so the dedupe of a new batch reads from the
day's history only the posts that share a fingerprint with it, not the whole day.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

MIN_EXACT = 20  # shorter fingerprints (「助けて」) never make two posts copies

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@[\w.@-]+")
_HASHTAG = re.compile(r"[#＃]\S+")
_NONWORD = re.compile(r"[\W_]+")
_RT = re.compile(r"^\s*(rt|qt|拡散希望|拡散)\b[:：]?", re.IGNORECASE)


@lru_cache(maxsize=1 << 17)
def fingerprint(text: str | None) -> str:
    """The text with everything that differs between copies removed.

    Examples
    --------
    >>> fingerprint("RT @abc: 国領町で冠水！ #調布 https://x.example/1")
    '国領町で冠水'
    """
    if not text or not isinstance(text, str):
        return ""
    t = unicodedata.normalize("NFKC", text).lower()
    t = _RT.sub(" ", t)
    t = _URL.sub(" ", t)
    t = _MENTION.sub(" ", t)
    t = _HASHTAG.sub(" ", t)
    return _NONWORD.sub("", t)


@lru_cache(maxsize=1 << 16)
def fingerprint_digest(fp: str) -> str | None:
    """16 hex characters identifying a fingerprint long enough to match exactly, else None
    (cached: a batch, its dedupe window and every copy repeat the same fingerprints)."""
    if len(fp) < MIN_EXACT:
        return None
    return hashlib.blake2b(fp.encode("utf-8"), digest_size=8).hexdigest()


@lru_cache(maxsize=1 << 17)
def text_digest(text: str | None) -> str | None:
    """:func:`fingerprint_digest` of a post's text (what ``posts.text_fp`` holds; cached: the
    settling looks up a batch's texts, and the store writes them, each by this digest)."""
    return fingerprint_digest(fingerprint(text))


def digest(*parts, size: int = 10) -> str:
    """A short stable hex digest of ``parts`` (record ids derived from their content)."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=size).hexdigest()
