"""The admin page's list of open login sessions, with "sign out everywhere" (per user, or all)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.admin.common import when
from dashboard.i18n import t
from geodata.access import accounts, sessions


def panel() -> None:
    """Open sessions (who, since, last use, end) and the sign-out buttons.

    Needs ``admin`` / ``manage_users`` (checked again right before each sign-out); every
    sign-out is audit-logged as ``users:sign-out``.
    """
    if not auth.can("admin", "manage_users"):
        return
    store = auth._store()
    st.markdown(f"#### {t('sessions.title')}")
    live = sessions.live_sessions(store, policy=auth.policy())
    if not live:
        st.info(t("sessions.none"))
    else:
        frame = pd.DataFrame(
            {
                t("sessions.user"): [s.username for s in live],
                t("sessions.since"): [when(s.created_at) for s in live],
                t("sessions.seen"): [when(s.last_seen_at) for s in live],
                t("sessions.until"): [when(s.expires_at) for s in live],
            }
        )
        st.dataframe(frame, hide_index=True)
        names = sorted({s.username for s in live})
        who = st.selectbox(t("sessions.user"), names, key="bosai_sessions_user")
        if st.button(t("sessions.sign_out_user"), key="bosai_sign_out_user"):
            actor = auth.check("admin", "manage_users").username
            ended = accounts.sign_out_everywhere(store, who, actor=actor)
            st.success(t("sessions.signed_out", n=ended))
    if st.button(t("sessions.sign_out_all"), key="bosai_sign_out_all"):
        actor = auth.check("admin", "manage_users").username
        ended = accounts.sign_out_everywhere(store, None, actor=actor)
        st.success(t("sessions.signed_out", n=ended))
