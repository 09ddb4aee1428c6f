"""The picture as of a time (for a meeting, a shift handover, the review afterwards).

A page asks for a time with :func:`choose` and reads what was known then: shelter status from
the stored history (:func:`geodata.shelters.status_at`), the chronology as it stood
(:func:`geodata.chronology.timeline`). Not offered on the wall screen, which shows now.
"""

from __future__ import annotations

from datetime import datetime, time

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.i18n import t
from dashboard.shelters.board import JST
from geodata.schema import to_utc
from geodata.shelters import STATUS_COLUMNS, status_at


def choose(key: str, label: str = "overview.as_of") -> pd.Timestamp | None:
    """A toggle and a JST date and time; the chosen time as UTC, or None (now).

    ``?as_of=2026-10-12T14:00`` (JST) in the URL opens the page at that time: a link to the
    picture a meeting saw.
    """
    asked = _from_url()
    if not st.toggle(t(label), value=asked is not None, key=f"{key}-on"):
        return None
    now = asked.tz_convert(JST) if asked is not None else pd.Timestamp.now(tz=JST)
    left, right = st.columns(2)
    day = left.date_input(t("overview.as_of_time"), value=now.date(), key=f"{key}-day")
    clock = right.time_input(t("overview.as_of_time"), value=time(now.hour, now.minute), step=300,
                             key=f"{key}-time", label_visibility="hidden")  # fmt: skip
    return pd.Timestamp(datetime.combine(day, clock), tz=JST).tz_convert("UTC")


@st.cache_data(show_spinner=False, ttl=1800, max_entries=16)
def shelter_status(url: str, version: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each shelter's report current at ``as_of`` (the rule of the store's current status)."""
    del version  # cache key
    store = data.get_store(url)
    frame = status_at(store, as_of)
    reported = frame[frame["status"].notna()]
    return pd.DataFrame(reported[["shelter_id", *STATUS_COLUMNS]]).reset_index(drop=True)


def note(as_of: pd.Timestamp) -> None:
    st.info(t("overview.as_of_note", time=as_of.tz_convert(JST).strftime("%Y/%m/%d %H:%M")))


def _from_url() -> pd.Timestamp | None:
    value = st.query_params.get("as_of")
    if not value:
        return None
    try:
        return to_utc(value)
    except ValueError:
        st.warning(f"as_of: {value}")
        return None
