"""通報・SNS: the caching around the feed's rules (the rules themselves: :mod:`geodata.feed`).

The feed never holds every post in the page: :func:`feed_view` (cached on the store's posts
version and the filters) reduces the window's posts to the ordered list of keys, the KPIs and
the hexagon aggregate of the map (:func:`geodata.feed.build_feed`); a page then reads its 20
full rows by key (:func:`geodata.feed.page_rows`). The window's posts come from one shared
:func:`post_index`, which after a write reads only what was written (:mod:`geodata.feed_index`).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.settings import CACHED_CITIES
from geodata import feed
from geodata.feed_index import PostIndex

_TTL = timedelta(minutes=30)


def posts_version(url: str) -> int:
    """The posts layer's data version (grows with every write to posts)."""
    from dashboard.data import get_store

    return get_store(url).data_version("posts")


# No ttl: an entry dropped would be read again in full (16-19 s at a million posts). One per window
# (1 h, 6 h, 24 h, all): the 1 h and 6 h ones are small, the 24 h and all ones the size of the day;
# per city (the URL is scoped to it), for as many cities as the overview's caches hold.
@st.cache_resource(show_spinner=False, max_entries=len(feed.WINDOWS) * CACHED_CITIES)
def post_index(url: str, window: str) -> PostIndex:
    """The posts of ``window`` (:data:`geodata.feed.WINDOWS`), slim, kept up to date by write stamp.

    One :class:`~geodata.feed_index.PostIndex` per store and window, shared by every session and
    never copied (``cache_resource``): at a million posts a pickled copy per cache entry and an
    unpickled one per call cost hundreds of MB. After a write to the posts it reads only the
    posts written since (an ingest batch, a triage), not the whole window again; its window
    starts on a whole hour and moves on by dropping the posts before it. Read only —
    :func:`geodata.feed.build_feed` filters into new frames.
    """
    del url, window  # the key
    return PostIndex()


# cache_resource: one FeedView per key shared by every session and never copied (at a million
# posts unpickling its keys took 0.2 s per rerun). Read only: pages take slices of it.
# a new minute is a new entry; 2 per city
@st.cache_resource(ttl=_TTL, show_spinner=False, max_entries=2 * CACHED_CITIES)
def feed_view(
    url: str,
    version: int,
    filters: feed.Filters,
    minute: str,
    bounds: tuple[float, float, float, float] | None = None,
) -> feed.FeedView:
    """The feed for ``filters`` at ``minute`` (ISO; the window ends there), cached; built by
    the window's :func:`post_index` from the state it keeps (:meth:`PostIndex.feed`)."""
    now = pd.Timestamp(minute)
    since = filters.since(now)
    since_hour = None if since is None else since.floor("h")
    del version  # the key: a write to the posts makes a new view
    from dashboard.data import get_store

    index = post_index(url, filters.window)
    return index.feed(get_store(url), since_hour, filters, now=now, bounds=bounds)
