"""Source control: each source's health and whether it is paused; pause, resume, run now.

The requests are stored (geodata/source_control.py) and the ingest loop reads them every second;
the panel says whether a loop is listening, or that the request waits for the next loop.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, source_health
from dashboard.admin import actions
from dashboard.admin.common import EMPTY, flash, when
from dashboard.i18n import t
from geodata import source_control
from geodata.access.roles import Forbidden


def control_label(control: source_control.SourceControl | None) -> str:
    """``実行中`` / ``一時停止中（who、when）`` plus a pending run request."""
    if control is None:
        return t("adm.sources.running")
    parts = [
        t("adm.sources.paused", by=control.paused_by or EMPTY, time=when(control.paused_at))
        if control.paused
        else t("adm.sources.running")
    ]
    if control.run_requested_at:
        parts.append(t("adm.sources.requested", by=control.run_requested_by or EMPTY,
                       time=when(control.run_requested_at)))  # fmt: skip
    return " · ".join(parts)


def _do(source: str, what: str, write) -> None:
    try:
        write()
    except Forbidden:
        st.error(t("adm.denied"))
        return
    except ValueError as exc:
        st.error(t("adm.failed", error=str(exc)[:200]))
        return
    flash("success", t("adm.sources.stored", source=source, what=what))
    st.rerun()


def panel(store) -> None:
    """The health table with each source's control state, and the three buttons."""
    auth.require("admin", "manage_sources")
    controls = source_control.controls(store)
    health = source_health.table()
    seen = source_control.loop_last_seen(store)
    if source_control.loop_listening(store):
        st.success(t("adm.sources.listening", time=when(seen)))
    else:
        st.warning(t("adm.sources.not_listening", time=when(seen)))
    names = list(health[t("health.col.source")]) if not health.empty else []
    names += sorted(set(controls) - set(names))
    if not names:
        st.info(t("adm.sources.none"))
        return
    if health.empty:
        health = pd.DataFrame({t("health.col.source"): names})
    extra = [n for n in names if n not in set(health[t("health.col.source")])]
    if extra:
        health = pd.concat([health, pd.DataFrame({t("health.col.source"): extra})])
    health = health.fillna(EMPTY).replace("", EMPTY)
    health.insert(1, t("adm.sources.control_state"),
                  [control_label(controls.get(n)) for n in health[t("health.col.source")]])  # fmt: skip
    st.dataframe(health, hide_index=True, width="stretch", key="adm_sources_table")
    st.markdown(f"#### {t('adm.sources.control')}")
    cols = st.columns([3, 1, 1, 1])
    source = cols[0].selectbox(t("adm.sources.source"), names, key="adm_source_pick")
    control = controls.get(source)
    if control is not None and control.paused:
        if cols[1].button(t("adm.sources.resume"), key="adm_source_resume"):
            _do(source, t("adm.sources.resume"), lambda: actions.resume_source(store, source))
    elif cols[1].button(t("adm.sources.pause"), key="adm_source_pause"):
        _do(source, t("adm.sources.pause"), lambda: actions.pause_source(store, source))
    if cols[2].button(t("adm.sources.run_now"), key="adm_source_run"):
        _do(source, t("adm.sources.run_now"), lambda: actions.run_source_now(store, source))
