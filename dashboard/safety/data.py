"""Cached derivations of the 安否確認 page, keyed by the store's data versions.

At 20,000 residents the page's derived frames (every resident's state, the visit list,
the map's reply and home points with their tooltips) cost about a second per run; a follow-up
or a match writes to the store, which moves a data version, so these are computed again only
after a write. Like :mod:`dashboard.data`, nothing here hashes a frame: the arguments are the URL,
the versions and small tuples.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, data
from dashboard.data import _TTL, CACHED_CITIES
from dashboard.safety import map as safety_map
from geodata import follow_ups, safety

LAYERS = ("roster", "safety_replies", "follow_ups")
# The visit list also orders by the evacuation information in force (geodata.safety).
KEY_LAYERS = (*LAYERS, "evacuations")


def versions(store) -> tuple[int, ...]:
    """The data versions of the roster, the replies, the follow-ups and the evacuation
    information (the cache key)."""
    return tuple(store.data_version(layer) for layer in KEY_LAYERS)


def _frames(url: str, key: tuple[int, ...]):
    return [data.load_layer(url, layer, None, v) for layer, v in zip(LAYERS, key[:3], strict=True)]


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=CACHED_CITIES)
def evacuation_levels(url: str, version: int) -> dict[str, int]:
    """:func:`geodata.safety.evacuation_levels` now (town -> level in force)."""
    return safety.evacuation_levels(data.get_store(url))


def _roster(url: str, key: tuple[int, ...]):
    return data.load_layer(url, "roster", None, key[0])


def _replies(url: str, key: tuple[int, ...]):
    return data.load_layer(url, "safety_replies", None, key[1])


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=CACHED_CITIES)
def states(url: str, key: tuple[int, ...]) -> pd.DataFrame:
    """:func:`geodata.safety.resident_states` of the stored roster, replies and follow-ups."""
    return safety.resident_states(*_frames(url, key))


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=32)
def visit_list(
    url: str,
    code: str,
    key: tuple[int, ...],
    towns_version: int,
    town_codes: tuple | None,
    lang: str = "ja",
) -> pd.DataFrame:
    """:func:`geodata.safety.visit_list` (personal: call after the permission check), its texts
    in ``lang``."""
    roster = _roster(url, key)
    towns = data.load_towns(url, code, towns_version)
    first = evacuation_levels(url, key[3])
    return safety.visit_list(
        roster, states(url, key), towns, town_codes, first_towns=first, lang=lang
    )


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=16)
def reply_points(
    url: str, key: tuple[int, ...], role: str | None, lang: str
) -> safety_map.PointData:
    """The map's reply points as ``role`` may see them (masked for roles without personal data)."""
    replies = safety.reply_points(_roster(url, key), _replies(url, key))
    points = auth.mask_as(role, "safety_replies", replies)
    return safety_map.reply_points_data(points, lang)


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=32)
def homes(
    url: str, code: str, key: tuple[int, ...], towns_version: int,
    town_codes: tuple | None, lang: str,
) -> safety_map.PointData:  # fmt: skip
    """The map's homes of the residents on the visit list (personal: after the permission check)."""
    roster = _roster(url, key)
    people = visit_list(url, code, key, towns_version, town_codes, lang)
    return safety_map.homes_data(safety_map.homes(roster, people), lang)


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=8)
def unmatched(url: str, key: tuple[int, ...]) -> pd.DataFrame:
    """:func:`geodata.follow_ups.unmatched_replies` (personal: after the permission check)."""
    return follow_ups.unmatched_replies(_replies(url, key))


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=32)
def match_candidates(url: str, key: tuple[int, ...], reply_key: str) -> list[str]:
    """Resident ids to offer for the unmatched reply ``source\x1fsource_id``, nearest first."""
    loose = unmatched(url, key)
    keys = loose["source"].astype(str) + "\x1f" + loose["source_id"].astype(str)
    hit = loose[(keys == reply_key).to_numpy()]
    if hit.empty:
        return []
    return follow_ups.match_candidates(hit.iloc[0].to_dict(), _roster(url, key))


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=8)
def resident_labels(url: str, key: tuple[int, ...]) -> dict[str, str]:
    """resident_id -> ``name（kana）address`` for the match picker (personal)."""
    roster = _roster(url, key)
    return {
        rid: f"{name}（{kana}）{address}"
        for rid, name, kana, address in zip(
            roster["resident_id"], roster["name"], roster["kana"], roster["address"], strict=True
        )
    }
