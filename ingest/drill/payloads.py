"""Raw payloads as the real sources send them: Mastodon statuses, the generic posts file; the ids
and encodings the sources use (Bluesky is in ``drill_bluesky``, LINE in ``drill_people``).

Ids are derived from the seed and the position in the timeline, never from the wall clock, so a
drill re-run with another anchor updates the same records instead of adding new ones. Hosts are
under the reserved ``.example`` TLD: no drill post can be taken for, or linked to, a real account.
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import html
from functools import lru_cache
from urllib.parse import quote

import numpy as np
import pandas as pd

from ingest.drill import texts as tx

# Time part of every id: 2026-10-12T03:00:00Z plus the offset in the timeline.
ID_EPOCH_MS = 1_791_774_000_000
MASTODON_HOST = "mstdn.example"
MASTODON_REMOTES = ("fedibird.example", "social.example", "mastodon.example")
MASTODON_PAGE = 40
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # ULID


def without_gc(fn):
    """Run ``fn`` with the cyclic GC paused: it builds millions of small acyclic dicts, and the
    collector's passes over them only cost time (1M posts: 31 s -> 17 s)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


def digest(*parts) -> bytes:
    """32 bytes derived from ``parts`` (seeded, stable names and ids)."""
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=32).digest()


def b32(data: bytes) -> str:
    """Multibase base32 (lower case, no padding)."""
    return base64.b32encode(data).decode().lower().rstrip("=")


_B32_CHARS = np.array(list("abcdefghijklmnopqrstuvwxyz234567"))


def cids(rng: np.random.Generator, n: int, codec: int = 0x71) -> np.ndarray:
    """``n`` CIDv1 strings (sha2-256 multihash, random digests): "bafyrei" + 52 characters
    for dag-cbor records, "bafkrei..." for raw blobs (``codec=0x55``). Vectorized base32."""
    raw = np.empty((n, 36), dtype=np.uint8)
    raw[:, :4] = (0x01, codec, 0x12, 0x20)
    raw[:, 4:] = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    bits = np.zeros((n, 290), dtype=np.uint8)
    bits[:, :288] = np.unpackbits(raw, axis=1)
    idx = bits.reshape(n, 58, 5) @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    text = np.ascontiguousarray(_B32_CHARS[idx]).view("<U58").ravel()
    return np.char.add("b", text).astype(object)


@lru_cache(maxsize=4096)
def _tag_url(tag: str) -> str:
    return f"https://{MASTODON_HOST}/tags/{quote(tag)}"


_PAYLOAD_COLUMNS = ("offset_s", "platform", "author", "lang", "body", "emoji", "tags", "link",
                    "photo", "repost_of", "lat", "lon")  # fmt: skip


def payload_columns(posts: pd.DataFrame, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The rows' payload columns as numpy arrays (iterating Arrow-backed strings is slow)."""
    out = {}
    for c in _PAYLOAD_COLUMNS:
        col = posts[c].iloc[rows]
        out[c] = col.to_numpy(dtype=object if col.dtype == "str" else None)
    return out


def _encode(value: int, alphabet: str, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(alphabet[value & 31])
        value >>= 5
    return "".join(reversed(out))


def iso_times(t0: pd.Timestamp, offset_s: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC times with milliseconds and a Z ("2026-10-12T03:04:05.123Z")."""
    base = np.datetime64(t0.tz_convert("UTC").tz_localize(None).as_unit("ms"))
    ms = np.round(np.asarray(offset_s) * 1000).astype("int64").astype("timedelta64[ms]")
    return np.char.add(np.datetime_as_string(base + ms, unit="ms"), "Z")


def plain_text(body: str, emoji: str, tags: tuple, link: str) -> str:
    """The post text as typed: body, emoji, a line of hashtags, a link."""
    text = body + (" " + emoji if emoji else "")
    if tags:
        text += "\n" + " ".join("#" + t for t in tags)
    if link:
        text += " " + link
    return text


def mastodon_id(seed: int, offset_s: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Snowflake-like status ids: (milliseconds << 16) | sequence, as decimal strings."""
    ms = ID_EPOCH_MS + np.round(np.asarray(offset_s) * 1000).astype(np.int64)
    seq = (seed * 7919 + np.asarray(index)) & 0xFFFF
    return ((ms << 16) | seq).astype(str).astype(object)


def _mastodon_account(seed: int, author: int) -> dict:
    h = digest("masto-account", seed, author)
    words = tx.HANDLE_WORDS
    username = f"{words[h[0] % len(words)]}_{words[h[1] % len(words)]}{h[2] % 100}"
    remote = h[3] % 10 >= 7
    host = MASTODON_REMOTES[h[4] % len(MASTODON_REMOTES)] if remote else MASTODON_HOST
    display = tx.NICKNAMES[h[5] % len(tx.NICKNAMES)]
    account_id = str(109_000_000_000_000_000 + int.from_bytes(h[6:14], "big") % 10**15)
    url = f"https://{host}/@{username}"
    return {
        "id": account_id,
        "username": username,
        "acct": f"{username}@{host}" if remote else username,
        "display_name": display,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": f"20{20 + h[7] % 6}-0{1 + h[8] % 9}-1{h[9] % 10}T00:00:00.000Z",
        "note": "",
        "url": url,
        "avatar": f"https://{MASTODON_HOST}/avatars/original/missing.png",
        "avatar_static": f"https://{MASTODON_HOST}/avatars/original/missing.png",
        "header": f"https://{MASTODON_HOST}/headers/original/missing.png",
        "header_static": f"https://{MASTODON_HOST}/headers/original/missing.png",
        "followers_count": int(h[10]) * 3,
        "following_count": int(h[11]) * 2,
        "statuses_count": int.from_bytes(h[12:14], "big"),
        "last_status_at": None,
        "emojis": [],
        "fields": [],
    }


def _escape(text: str) -> str:
    return html.escape(text, quote=False) if ("&" in text or "<" in text or ">" in text) else text


def _mastodon_html(body: str, emoji: str, tags: tuple, link: str) -> str:
    parts = [_escape(body + (" " + emoji if emoji else ""))]
    if tags:
        links = [
            f'<a href="{_tag_url(t)}" class="mention hashtag" '
            f'rel="tag">#<span>{html.escape(t)}</span></a>'
            for t in tags
        ]
        parts.append("<br />" + " ".join(links))
    if link:
        scheme, rest = link.split("://", 1)
        parts.append(
            f' <a href="{html.escape(link)}" target="_blank" rel="nofollow noopener" translate="no">'
            f'<span class="invisible">{scheme}://</span><span class="">{html.escape(rest)}</span>'
            '<span class="invisible"></span></a>'
        )
    return "<p>" + "".join(parts) + "</p>"


@without_gc
def mastodon_statuses(posts: pd.DataFrame, seed: int, t0: pd.Timestamp) -> list[dict]:
    """Mastodon Status entities of the drill's Mastodon posts, oldest first.

    Boosts are statuses with empty content whose ``reblog`` holds the boosted status.
    """
    rows = np.flatnonzero(posts["platform"].to_numpy() == "mastodon")
    if not len(rows):
        return []
    sub = payload_columns(posts, rows)
    ids = mastodon_id(seed, sub["offset_s"], rows)
    times = iso_times(t0, sub["offset_s"])
    accounts: dict[int, dict] = {}
    by_row: dict[int, dict] = {}
    out = []
    cols = zip(rows, ids, times, sub["author"], sub["lang"], sub["body"], sub["emoji"], sub["tags"],
               sub["link"], sub["photo"], sub["repost_of"], strict=True)  # fmt: skip
    for row, sid, at, author, lang, body, emoji, tags, link, photo, repost_of in cols:
        account = accounts.get(author) or accounts.setdefault(
            author, _mastodon_account(seed, author)
        )
        host = account["url"].split("/")[2]
        status = {
            "id": sid,
            "created_at": at,
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": lang,
            "uri": f"https://{host}/users/{account['username']}/statuses/{sid}",
            "url": f"{account['url']}/{sid}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": int(row % 7),
            "edited_at": None,
            "content": "",
            "reblog": None,
            "account": account,
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        if repost_of >= 0 and repost_of in by_row:
            status["uri"] = status["url"] = (
                f"https://{host}/users/{account['username']}/statuses/{sid}/activity"
            )
            status["language"] = None
            status["reblog"] = by_row[repost_of]
            status["favourites_count"] = 0
        else:
            status["content"] = _mastodon_html(body, emoji, tags, link)
            status["tags"] = [{"name": t, "url": _tag_url(t)} for t in tags]
            if photo:
                status["media_attachments"] = [_mastodon_media(seed, row)]
            by_row[row] = status
        out.append(status)
    return out


def _mastodon_media(seed: int, row: int) -> dict:
    media_id = str(109_500_000_000_000_000 + int.from_bytes(digest("media", seed, row)[:6], "big"))
    path = f"https://{MASTODON_HOST}/system/media_attachments/files/{media_id}"
    return {
        "id": media_id,
        "type": "image",
        "url": f"{path}/original/photo.jpg",
        "preview_url": f"{path}/small/photo.jpg",
        "remote_url": None,
        "description": None,
        "blurhash": None,
        "meta": {"original": {"width": 1280, "height": 960}},
    }


def mastodon_pages(statuses: list[dict], size: int = MASTODON_PAGE) -> list[list[dict]]:
    """Pages as ``GET /api/v1/timelines/tag/:tag?limit=40`` returns them: newest first."""
    newest_first = statuses[::-1]
    return [newest_first[i : i + size] for i in range(0, len(newest_first), size)]


@without_gc
def file_records(posts: pd.DataFrame, seed: int, t0: pd.Timestamp) -> list[dict]:
    """The generic posts file (other tools' exports): one dict per line, with lat/lon."""
    rows = np.flatnonzero(posts["platform"].isin(["x", "threads"]).to_numpy())
    if not len(rows):
        return []
    sub = payload_columns(posts, rows)
    offsets = sub["offset_s"]
    ms = ID_EPOCH_MS + np.round(offsets * 1000).astype(np.int64)
    ids = ((ms - 1_288_834_974_657) << 22) | ((seed & 0x3FF) << 12) | (rows & 0xFFF)
    local = (t0.tz_convert("Asia/Tokyo") + pd.to_timedelta(offsets, unit="s")).strftime(
        "%Y-%m-%dT%H:%M:%S+09:00"
    )
    out = []
    cols = zip(ids, local, sub["platform"], sub["author"], sub["body"], sub["emoji"], sub["tags"],
               sub["link"], sub["lat"], sub["lon"], strict=True)  # fmt: skip
    for pid, at, platform, author, body, emoji, tags, link, lat, lon in cols:
        h = digest("file-author", seed, platform, author)
        user = f"{tx.HANDLE_WORDS[h[0] % len(tx.HANDLE_WORDS)]}_{h[1]:02x}{h[2] % 100}"
        out.append(
            {
                "id": str(pid),
                "text": plain_text(body, emoji, tags, link),
                "created_at": at,
                "lat": None if np.isnan(lat) else float(lat),
                "lon": None if np.isnan(lon) else float(lon),
                "author": user,
                "url": f"https://{platform}.example/{user}/status/{pid}",
                "platform": platform,
            }
        )
    return out


def ulid(ms: int, rand: bytes) -> str:
    """A ULID: 48-bit milliseconds and 80 random bits, Crockford base32 (26 characters)."""
    return _encode((ms << 80) | int.from_bytes(rand[:10], "big"), CROCKFORD, 26)
