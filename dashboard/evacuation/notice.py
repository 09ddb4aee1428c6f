"""The overview's offer to send evacuation information to the residents (LINE): for each record
just issued, changed or lifted, a preview of the text and the numbers, a broadcast choice and a
ticked confirmation. The notice is queued by :func:`geodata.notices.create_notice` (which
checks the role again) and sent by ``python -m ingest campaigns``; the dashboard never talks
to LINE.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, data
from dashboard.i18n import t
from geodata import evacuation, notices, vocab
from geodata.access.roles import Forbidden

_FLASH = "notice_flash"
SHOWN = 3  # records offered at once (the newest)


def _jst(value) -> str:
    return pd.Timestamp(value).tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M")


def section(url: str, lang: str, city: str) -> None:
    """The offer, for commanders and admins, of every recent record without a notice."""
    if not auth.can("overview", "issue_evacuation"):
        return
    store = data.get_store(url)
    message = st.session_state.pop(_FLASH, None)
    records = notices.pending(store)
    if not records and not message:
        return
    st.markdown(f"#### {t('notice.title', lang=lang)}")
    if message:
        st.success(message)
    for record in records[:SHOWN]:
        _form(store, record, lang, city)


def _form(store, record: dict, lang: str, city: str) -> None:
    key = f"{record['order_id']}_{int(record['version'])}"
    found = notices.preview(store, record, city=city)
    with st.form(f"notice_{key}", border=True):
        st.caption(
            t(
                "notice.record", lang=lang, title=evacuation.level_title(record["level"], lang),
                action=vocab.EVACUATION_ACTIONS.label(record["action"], lang),
                time=_jst(record["at"]), order=record["order_id"],
            )
        )  # fmt: skip
        st.text_area(t("notice.preview", lang=lang), found.text, height=260, disabled=True,
                     key=f"notice_text_{key}")  # fmt: skip
        broadcast = st.checkbox(t("notice.broadcast", lang=lang), value=True,
                                key=f"notice_broadcast_{key}")  # fmt: skip
        confirmed = st.checkbox(
            t("notice.confirm", lang=lang, line=found.recipients, phone=found.without_line),
            key=f"notice_ok_{key}",
        )
        if st.form_submit_button(t("notice.send", lang=lang), type="primary"):
            _send(store, record, broadcast, confirmed, lang, city)


def _send(store, record: dict, broadcast: bool, confirmed: bool, lang: str, city: str) -> None:
    if not confirmed:
        st.error(t("campaign.must_confirm", lang=lang))
        return
    try:
        user = auth.check("overview", "issue_evacuation")
        ids = notices.create_notice(store, record, user=user, city=city, broadcast=broadcast)
    except Forbidden:
        st.error(t("evac.forbidden", lang=lang))
        return
    except ValueError as exc:  # NoticeError, or nobody to send it to
        st.error(t("evac.error", lang=lang, error=str(exc)))
        return
    st.session_state[_FLASH] = t("notice.queued", lang=lang, ids=", ".join(ids))
    st.rerun()
