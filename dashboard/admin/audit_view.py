"""The audit-log viewer: filter by who / action / layer / day, newest first, a page at a time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.admin.common import shown, when
from dashboard.i18n import t
from dashboard.shelters.board import JST
from geodata import audit

PER_PAGE = 50
_ANY = ""
# A UTC time inside a stored record (``2026-10-12 03:05:00+00:00``): shown in JST like the rest.
_UTC_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:\+00:00|Z)")


def _jst_inside(text: str) -> str:
    return _UTC_TIME.sub(lambda m: when(m.group(0)) + " JST", text)


def _day_start(day: date | None, plus_days: int = 0):
    if day is None:
        return None
    return pd.Timestamp(datetime.combine(day + timedelta(days=plus_days), time(), tzinfo=JST))


def table(page: audit.AuditPage) -> pd.DataFrame:
    """The rows as shown: JST times, catalogue column names, ``—`` for nothing."""
    rows = page.rows
    return pd.DataFrame(
        {
            t("adm.audit.at"): [when(v) for v in rows["at"]],
            t("adm.audit.who"): [shown(v) for v in rows["who"]],
            t("adm.audit.action"): [shown(v) for v in rows["action"]],
            t("adm.audit.layer"): [shown(v) for v in rows["layer"]],
            t("adm.audit.key"): [shown(v) for v in rows["record_key"]],
            t("adm.audit.detail"): [_jst_inside(shown(v)) for v in rows["detail"]],
        }
    )


def panel(store) -> None:
    """The filters, the page of rows and the pager (admin / view_audit only)."""
    auth.require("admin", "view_audit")
    options = audit.filter_options(store)
    cols = st.columns([2, 2, 2, 2, 2])

    def pick(col, label: str, key: str, values: list[str]) -> str | None:
        chosen = col.selectbox(
            label, [_ANY, *values], key=key, format_func=lambda v: v or t("adm.audit.any")
        )
        return chosen or None

    who = pick(cols[0], t("adm.audit.who"), "adm_audit_who", options["who"])
    families = sorted({a.split(":")[0] + ":" for a in options["action"] if ":" in a})
    action = pick(cols[1], t("adm.audit.action"), "adm_audit_action",
                  sorted(set(options["action"]) | set(families)))  # fmt: skip
    layer = pick(cols[2], t("adm.audit.layer"), "adm_audit_layer", options["layer"])
    since = cols[3].date_input(t("adm.audit.since"), value=None, key="adm_audit_since")
    until = cols[4].date_input(t("adm.audit.until"), value=None, key="adm_audit_until")
    filters = (who, action, layer, since, until)
    if st.session_state.get("adm_audit_filters") != filters:  # new filters: back to page 1
        st.session_state["adm_audit_filters"] = filters
        st.session_state["adm_audit_page"] = 1
    first = audit.read_page(store, who=who, action=action, layer=layer,
                            since=_day_start(since), until=_day_start(until, 1),
                            page=0, per_page=PER_PAGE)  # fmt: skip
    pager, caption = st.columns([1, 4], vertical_alignment="bottom")
    number = pager.number_input(
        t("adm.audit.page"), min_value=1, max_value=first.pages, step=1, key="adm_audit_page"
    )
    page = first
    if number > 1:
        page = audit.read_page(store, who=who, action=action, layer=layer,
                               since=_day_start(since), until=_day_start(until, 1),
                               page=int(number) - 1, per_page=PER_PAGE)  # fmt: skip
    if page.total == 0:
        st.info(t("adm.audit.none"))
        return
    start = page.page * page.per_page
    caption.caption(t("adm.audit.count", total=page.total, first=start + 1,
                 last=start + len(page.rows)))  # fmt: skip
    st.dataframe(table(page), hide_index=True, width="stretch", key="adm_audit_table")
