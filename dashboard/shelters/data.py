"""Shelter reads and the shelter writes of the dashboard (a status report, supply requests).

Reads are cached by the store's data version like :mod:`dashboard.data` (a write makes a new
key). The write checks the permission right before it (shelter staff: own shelters only) and
never overwrites a newer report: :class:`geodata.store.core.StaleVersion` goes back to the page.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import auth, data
from geodata import supplies
from geodata.shelters import latest_reports

_TTL = timedelta(minutes=30)


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=32)
def load_history(url: str, shelter_id: str, version: int) -> pd.DataFrame:
    """Every report of one shelter, oldest first (``version`` is only the cache key)."""
    del version
    return data.get_store(url).shelter_status_history(shelter_id)


def current_record(status: pd.DataFrame, shelter_id: str) -> dict | None:
    """The current report of ``shelter_id`` from ``store.current_shelter_status()`` (or None)."""
    if status is None or status.empty:
        return None
    rows = status[status["shelter_id"] == shelter_id]
    if rows.empty:
        return None
    rec = latest_reports(rows).iloc[0].to_dict()
    return {k: (None if _missing(v) else v) for k, v in rec.items()}


def _missing(value) -> bool:
    if isinstance(value, (list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def save_update(url: str, shelter_id: str, fields: dict, base_version: int) -> dict:
    """Append a staff update based on ``base_version``.

    Raises
    ------
    geodata.access.roles.Forbidden : the user may not update this shelter (checked here, right
        before the write, whatever the page showed).
    geodata.store.core.StaleVersion : someone saved a newer report since ``base_version``; its
        ``current`` holds that report. Nothing was written.
    """
    user = auth.check("shelters", "update_shelter", shelter_id)
    return data.get_store(url).update_shelter_status(
        shelter_id, fields, base_version=base_version, actor=user.username
    )


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=32)
def load_requests(url: str, version: int) -> pd.DataFrame:
    """The current version of every supply request (``version`` is only the cache key)."""
    del version
    return supplies.current(data.get_store(url).read("supply_requests"))


def create_request(url: str, shelter_id: str, fields: dict) -> dict:
    """Store a new supply request of ``shelter_id`` (:func:`geodata.supplies.create`).

    Raises
    ------
    geodata.access.roles.Forbidden : the user may not update this shelter.
    ValueError : the request does not fit (unknown item, quantity below 1 ...).
    """
    user = auth.check("shelters", "update_shelter", shelter_id)
    return supplies.create(data.get_store(url), user, shelter_id, **fields)


def move_request(url: str, current: dict, to: str) -> dict:
    """Move a supply request to ``to`` (:func:`geodata.supplies.move`; the role is checked
    there, right before the write). StaleVersion when someone moved it meanwhile."""
    user = auth.current_user()
    return supplies.move(data.get_store(url), user, current, to)
