"""The area view (広域の状況) on the overview: one row per municipality of the user, for an area
HQ whose staff belong to several cities. The numbers come from :func:`geodata.area.area_summary`
through a store scoped to the user's municipalities (:func:`dashboard.data.area_url`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.i18n import t
from geodata import area, evacuation
from geodata.export.public import SMALL, WITHHELD
from geodata.schema import now_utc
from geodata.store.core import split_scoped_url

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


@st.cache_resource(show_spinner=False, max_entries=8)
def cache(base_url: str) -> area.AreaCache:
    """The area summary's rows of the store ``base_url`` (unscoped), city by city, for every
    area user of the server: a city's row is computed again after a write to what it reads or
    at its next change time, not per minute or per post ingested. Each user's table takes the
    rows of their cities only (through their scoped store) and suppresses the small counts."""
    del base_url
    return area.AreaCache()


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
    shared = cache(split_scoped_url(url)[0])
    summary, totals = shared.summary(data.get_store(url), pd.Timestamp(now_utc()))
    st.markdown(f"#### {t('area.title')}")
    st.dataframe(table(summary, totals, lang), hide_index=True, width="stretch")
    st.caption(t("area.note", small=SMALL, withheld=WITHHELD))
