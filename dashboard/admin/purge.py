"""The purge of personal data after the disaster: a dry run first, then a confirmed purge.

The dry run's counts are shown and kept with the data version they were computed on; the purge
is offered only then, asks for a typed word, and is refused when the data changed since (run
the dry run again). Both call :func:`geodata.access.retention.purge_personal`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.admin import actions
from dashboard.admin.common import when
from dashboard.i18n import t
from geodata.access.retention import PurgeError
from geodata.access.roles import Forbidden
from geodata.schema import now_utc

DRY_KEY = "bosai_admin_purge_dry"  # {"rows", "version", "at"} of the last dry run
DONE_KEY = "bosai_admin_purge_done"


def rows(report, spool_files: int) -> list[tuple[str, int]]:
    """(item, count) of a purge report: every count it changes, the spool files last."""
    out: list[tuple[str, int]] = []
    for layer, cols in sorted(report.nulled.items()):
        for column, n in sorted(cols.items()):
            out.append((t("adm.purge.nulled", layer=layer, column=column), int(n)))
    for layer, n in sorted(report.moved_points.items()):
        out.append((t("adm.purge.moved", layer=layer), int(n)))
    for layer, n in sorted(report.redacted_texts.items()):
        out.append((t("adm.purge.redacted", layer=layer), int(n)))
    for name in ("pseudonymized", "audit_rows", "rejections", "health_errors"):
        out.append((t(f"adm.purge.{name}"), int(getattr(report, name))))
    out.append((t("adm.purge.spool", folder=str(actions.SPOOL_FOLDER)), int(spool_files)))
    return out


def frame(items: list[tuple[str, int]]) -> pd.DataFrame:
    """The counts as a table with catalogue column names."""
    return pd.DataFrame(
        {t("adm.purge.item"): [i for i, _ in items], t("adm.purge.count"): [n for _, n in items]}
    )


def panel(store) -> None:
    """The dry-run button, its counts, and the confirmed purge (admin / purge only)."""
    auth.require("admin", "purge")
    version = store.data_version()
    st.info(t("adm.purge.explain"))
    st.caption(t("adm.purge.other_spools"))
    if st.button(t("adm.purge.dry_run"), key="adm_purge_dry"):
        try:
            report, files = actions.purge(store, dry_run=True)
        except Forbidden:
            st.error(t("adm.denied"))
            return
        st.session_state[DRY_KEY] = {
            "rows": rows(report, files),
            "changed": report.changed or files > 0,
            "version": version,
            "at": now_utc(),
        }
        st.session_state.pop(DONE_KEY, None)
    done = st.session_state.get(DONE_KEY)
    if done:
        st.success(t("adm.purge.done", time=when(done["at"])))
        st.dataframe(frame(done["rows"]), hide_index=True, key="adm_purge_done_table")
    dry = st.session_state.get(DRY_KEY)
    if not dry:
        return
    st.markdown(f"#### {t('adm.purge.would', time=when(dry['at']))}")
    st.dataframe(frame(dry["rows"]), hide_index=True, key="adm_purge_dry_table")
    if not dry["changed"]:
        st.info(t("adm.purge.nothing"))
        return
    word = st.text_input(t("adm.purge.confirm_label"), key="adm_purge_word")
    go = st.button(t("adm.purge.go"), type="primary", key="adm_purge_go",
                   disabled=word.strip() != t("adm.purge.word"))  # fmt: skip
    if not go:
        return
    if dry["version"] != version:
        st.warning(t("adm.purge.changed"))
        st.session_state.pop(DRY_KEY, None)
        return
    try:
        report, files = actions.purge(store, dry_run=False)
    except Forbidden:
        st.error(t("adm.denied"))
        return
    except PurgeError as exc:
        st.error(t("adm.failed", error=str(exc)[:200]))
        return
    st.session_state[DONE_KEY] = {"rows": rows(report, files), "at": now_utc()}
    st.session_state.pop(DRY_KEY, None)
    st.session_state.pop("adm_purge_word", None)
    st.rerun()
