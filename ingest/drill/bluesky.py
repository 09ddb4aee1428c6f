"""Bluesky ``app.bsky.feed.searchPosts`` results of the drill: PostViews and their pages.

Record keys are TIDs and CIDs random but seeded, so they stay when the anchor moves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.drill import texts as tx
from ingest.drill.payloads import (
    ID_EPOCH_MS,
    b32,
    cids,
    digest,
    iso_times,
    payload_columns,
    plain_text,
    without_gc,
)

BLUESKY_PAGE = 100
B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"  # atproto TID alphabet


_SORT_CHARS = np.array(list(B32_SORT))


def tids(micros: np.ndarray, clock: int) -> np.ndarray:
    """atproto TIDs (record keys): 53-bit microseconds and a 10-bit clock id, base32-sortable."""
    value = (np.asarray(micros, dtype=np.uint64) << np.uint64(10)) | np.uint64(clock & 0x3FF)
    shifts = np.arange(60, -1, -5, dtype=np.uint64)
    idx = (value[:, None] >> shifts[None, :]) & np.uint64(31)
    return np.ascontiguousarray(_SORT_CHARS[idx]).view("<U13").ravel().astype(object)


def _bluesky_author(seed: int, author: int) -> dict:
    h = digest("bsky-author", seed, author)
    words = tx.HANDLE_WORDS
    handle = f"{words[h[0] % len(words)]}{words[h[1] % len(words)]}{h[2] % 100}.bsky.example"
    return {
        "did": "did:plc:" + b32(h[3:18]),
        "handle": handle,
        "displayName": tx.NICKNAMES[h[20] % len(tx.NICKNAMES)],
        "labels": [],
        "createdAt": f"2024-0{1 + h[21] % 9}-0{1 + h[22] % 9}T00:00:00.000Z",
    }


def _facets(body: str, emoji: str, tags: tuple, link: str) -> list[dict]:
    """richtext facets (byte offsets in UTF-8) of the hashtags and the link of plain_text()."""
    facets = []
    pos = len((body + (" " + emoji if emoji else "")).encode())
    if tags:
        pos += 1  # "\n"
        for j, t in enumerate(tags):
            start = pos + (1 if j else 0)
            end = start + len(("#" + t).encode())
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": t}
            facets.append({"index": {"byteStart": start, "byteEnd": end}, "features": [feature]})
            pos = end
    if link:
        start = pos + 1
        end = start + len(link.encode())
        feature = {"$type": "app.bsky.richtext.facet#link", "uri": link}
        facets.append({"index": {"byteStart": start, "byteEnd": end}, "features": [feature]})
    return facets


@without_gc
def bluesky_posts(posts: pd.DataFrame, seed: int, t0: pd.Timestamp) -> list[dict]:
    """``app.bsky.feed.defs#postView`` objects of the drill's Bluesky posts, oldest first."""
    rows = np.flatnonzero(posts["platform"].to_numpy() == "bluesky")
    if not len(rows):
        return []
    sub = payload_columns(posts, rows)
    offsets = sub["offset_s"]
    times = iso_times(t0, offsets)
    indexed = iso_times(t0, offsets + 0.5 + (rows % 5))
    us = (ID_EPOCH_MS + np.round(offsets * 1000).astype(np.int64)) * 1000 + rows % 1000
    authors: dict[int, dict] = {}
    out = []
    rng = np.random.default_rng([seed, 70])
    post_cids = cids(rng, len(rows))
    blobs = iter(cids(rng, int(np.count_nonzero(sub["photo"])), codec=0x55))
    cols = zip(rows, tids(us, seed), post_cids, times, indexed, sub["author"], sub["lang"], sub["body"], sub["emoji"],
               sub["tags"], sub["link"], sub["photo"], strict=True)  # fmt: skip
    for row, rkey, post_cid, at, idx_at, author, lang, body, emoji, tags, link, photo in cols:
        who = authors.get(author) or authors.setdefault(author, _bluesky_author(seed, author))
        record = {
            "$type": "app.bsky.feed.post",
            "text": plain_text(body, emoji, tags, link),
            "createdAt": at,
            "langs": [lang],
        }
        facets = _facets(body, emoji, tags, link)
        if facets:
            record["facets"] = facets
        view = {
            "uri": f"at://{who['did']}/app.bsky.feed.post/{rkey}",
            "cid": post_cid,
            "author": who,
            "record": record,
            "replyCount": 0,
            "repostCount": int(row % 4),
            "likeCount": int(row % 9),
            "quoteCount": 0,
            "indexedAt": idx_at,
            "labels": [],
        }
        if photo:
            blob = next(blobs)
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [{"alt": "", "image": {"$type": "blob", "ref": {"$link": blob},
                                                 "mimeType": "image/jpeg", "size": 183211}}],
            }  # fmt: skip
            img = f"https://cdn.bsky.example/img/feed_fullsize/plain/{who['did']}/{blob}@jpeg"
            view["embed"] = {
                "$type": "app.bsky.embed.images#view",
                "images": [
                    {"thumb": img.replace("fullsize", "thumbnail"), "fullsize": img, "alt": ""}
                ],
            }
        out.append(view)
    return out


def bluesky_pages(views: list[dict], size: int = BLUESKY_PAGE) -> list[dict]:
    """``app.bsky.feed.searchPosts?sort=latest`` responses: newest first, a cursor but on the last."""
    newest_first = views[::-1]
    pages = []
    for i in range(0, len(newest_first), size):
        page: dict = {"posts": newest_first[i : i + size]}
        if i + size < len(newest_first):
            page["cursor"] = str(i + size)
        pages.append(page)
    return pages
