"""The area view (広域の状況) on the overview: one row per municipality of the user, for an area
HQ whose staff belong to several cities. The numbers come from :func:`geodata.area.area_summary`
through a store scoped to the user's municipalities (:func:`dashboard.data.area_url`)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.i18n import t
from geodata import area, evacuation
from geodata.export.public import SMALL, WITHHELD
from geodata.schema import now_utc

_COLUMNS = {
    "shelters_open": "area.shelters_open",
    "evacuees": "measure.evacuees",
    "warnings": "area.warnings",
    "warning_level": "area.warning_level",
    "evacuation_level": "area.evacuation",
    "evacuation_towns": "area.evacuation_towns",
    "residents": "area.residents",
    "replied": "area.replied",
    "reached": "area.reached",
    "unconfirmed": "area.unconfirmed",
}


@st.cache_data(ttl=timedelta(minutes=30), show_spinner=False, max_entries=8)
def load(url: str, version: int, until: str | None, _at: pd.Timestamp) -> tuple[pd.DataFrame, dict]:
    """:func:`geodata.area.area_summary` of the store ``url`` (scoped) at ``_at``, cached per
    data version of the user's municipalities (a write in another city keeps the entry) and
    per ``until``, the next time at which what is in force changes by itself (a warning's
    hour ends, a report dated later comes due: :func:`geodata.area.change_times`) — not per
    minute: at 30 cities the summary takes seconds."""
    del version, until
    return area.area_summary(data.get_store(url), _at)


@st.cache_data(ttl=timedelta(minutes=30), show_spinner=False, max_entries=8)
def change_times(url: str, version: int, _after: pd.Timestamp) -> list[pd.Timestamp]:
    """:func:`geodata.area.change_times` of the store ``url`` after ``_after``, per data
    version (a later look takes those still ahead of it)."""
    del version
    return area.change_times(data.get_store(url), _after)


def until_next_change(url: str, version: int, now: pd.Timestamp) -> str | None:
    """The cache key of the area view at ``now``: the next of the change times after it."""
    ahead = [t for t in change_times(url, version, now) if t > now]
    return ahead[0].isoformat() if ahead else None


def city_labels(summary: pd.DataFrame) -> list[str]:
    """「調布市（13208）」, or the code alone when the store has no name for it."""
    return [
        code if name is None or pd.isna(name) else f"{name}（{code}）"
        for name, code in zip(summary["city_name"], summary["municipality"], strict=True)
    ]


def table(summary: pd.DataFrame, totals: dict, lang: str) -> pd.DataFrame:
    """The area view as shown: a city column, the figures, a total row of the person counts."""
    shown = pd.DataFrame({t("area.city"): city_labels(summary)})
    for col, key in _COLUMNS.items():
        values = summary[col].astype(object)
        if col == "evacuation_level":
            values = [evacuation.level_label(v, lang) or t("warning_status.none") for v in values]
        elif col == "warning_level":
            values = ["" if pd.isna(v) else str(int(v)) for v in values]
        else:
            values = [str(v) for v in values]
        shown[t(key)] = values
    total = {t("area.city"): t("area.total")}
    for col in ("shelters_open", "evacuees"):  # counts of shelters and evacuees: as they are
        total[t(_COLUMNS[col])] = str(int(pd.to_numeric(summary[col]).sum()))
    total.update({t(_COLUMNS[c]): str(totals.get(c, "")) for c in area.PERSON_COLUMNS})
    return pd.concat([shown, pd.DataFrame([total])], ignore_index=True).fillna("")


def section(lang: str) -> None:
    """The area view, for a user who belongs to more than one municipality."""
    if len(data.user_municipalities()) < 2:
        return
    url = data.area_url()
    store = data.get_store(url)
    now = pd.Timestamp(now_utc())
    version = store.data_version()
    summary, totals = load(url, version, until_next_change(url, version, now), now)
    st.markdown(f"#### {t('area.title')}")
    st.dataframe(table(summary, totals, lang), hide_index=True, width="stretch")
    st.caption(t("area.note", small=SMALL, withheld=WITHHELD))
