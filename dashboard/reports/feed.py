"""通報・SNS: the caching around the feed's rules (the rules themselves: :mod:`geodata.feed`).

The feed never holds every post in the page: :func:`feed_view` (cached on the store's posts
version and the filters) reduces the window's posts to the ordered list of keys, the KPIs and
the hexagon aggregate of the map (:func:`geodata.feed.build_feed`); a page then reads its 20
full rows by key (:func:`geodata.feed.page_rows`).
"""

from __future__ import annotations

from datetime import timedelta

import geopandas as gpd
import pandas as pd
import streamlit as st

from geodata import feed

_TTL = timedelta(minutes=30)


def posts_version(url: str) -> int:
    """The posts layer's data version (grows with every write to posts)."""
    from dashboard.data import get_store

    return get_store(url).data_version("posts")


@st.cache_resource(ttl=_TTL, show_spinner=False, max_entries=2)
def post_index(url: str, version: int, since_hour: str | None) -> gpd.GeoDataFrame:
    """The posts since ``since_hour`` (ISO, a whole hour: one load per hour and version), slim.

    Only the columns the feed filters and sorts on (:func:`geodata.feed.slim_index`). One frame
    shared by every session and never copied (``cache_resource``): at a million posts a pickled
    copy per cache entry and an unpickled one per call cost hundreds of MB. Read only —
    :func:`geodata.feed.build_feed` filters into new frames.
    """
    from dashboard.data import get_store

    del version
    frame = get_store(url).read("posts", since=since_hour, columns=feed.INDEX_COLUMNS)
    return feed.slim_index(frame)


# cache_resource: one FeedView per key shared by every session and never copied (at a million
# posts unpickling its keys took 0.2 s per rerun). Read only: pages take slices of it.
@st.cache_resource(ttl=_TTL, show_spinner=False, max_entries=8)  # a new minute is a new entry
def feed_view(
    url: str,
    version: int,
    filters: feed.Filters,
    minute: str,
    bounds: tuple[float, float, float, float] | None = None,
) -> feed.FeedView:
    """The feed for ``filters`` at ``minute`` (ISO; the window ends there), cached."""
    now = pd.Timestamp(minute)
    since = filters.since(now)
    since_hour = None if since is None else since.floor("h").isoformat()
    index = post_index(url, version, since_hour)
    return feed.build_feed(index, filters, now=now, bounds=bounds)
