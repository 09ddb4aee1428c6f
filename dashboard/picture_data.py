"""The overview's common picture, cached: the loaders of :mod:`dashboard.picture`.

Apart from the page code because :mod:`dashboard.warm` calls them when the server starts, outside
any script run: this module imports no Streamlit component (a component module imported outside
a script run is never registered with the server, and its frame then answers 404).
"""

from __future__ import annotations

import streamlit as st

from dashboard import data
from geodata import picture


def part_versions(store, part: str) -> tuple[int, ...]:
    """The data versions of the layers a part of the picture is computed from (its cache key;
    :data:`geodata.picture.PART_LAYERS`)."""
    return tuple(store.data_version(layer) for layer in picture.PART_LAYERS[part])


@st.cache_data(show_spinner=False, ttl=600, max_entries=2 * data.CACHED_CITIES)
def _towns(url: str, versions: tuple[int, ...], public: bool, as_of=None):
    """The towns' counts of residents: computed again only after a write to the roster, the
    replies, the follow-ups or the towns (20,000 residents' states: seconds)."""
    del versions  # cache key
    return picture.town_part(data.get_store(url), public=public, now=as_of)


@st.cache_data(show_spinner=False, ttl=600, max_entries=2 * data.CACHED_CITIES)
def _damage(url: str, versions: tuple[int, ...], public: bool, minute: str, as_of=None):
    """The damage reports of the 24 h window: computed again after a write to the posts,
    incidents or field reports (or, public, to the homes and replies they are kept away from),
    and when the window moves on (``minute``)."""
    del versions, minute  # cache keys
    return picture.damage_part(data.get_store(url), public=public, now=as_of)


@st.cache_data(show_spinner=False, ttl=600, max_entries=2 * data.CACHED_CITIES)
def load(url: str, version: int, public: bool, minute: str, as_of=None) -> picture.Picture:
    """The common picture, cached by data version and a 10-minute step of the 24 h window: a
    refresh without new data costs nothing. Its two costly parts are cached by the versions of
    their own layers (:func:`_towns`, :func:`_damage`): the posts an ingest writes every minute
    recompute the damage reports, not the residents' counts by town, and the rest of the
    picture (shelters, evacuation information, supplies: a few hundred rows) is read again.
    At 100k posts and a 20,000-person roster the whole picture takes seconds (docs/kiosk.md)."""
    del version  # cache key
    store = data.get_store(url)
    towns = _towns(url, part_versions(store, "towns"), public, as_of)
    damage = _damage(url, part_versions(store, "damage"), public, minute, as_of)
    return picture.common_picture(store, public=public, now=as_of, towns=towns, damage=damage)
