"""The damage report (被害報) tab of the chronology page: counts with their evidence, 第N報.

The counts and their rules are :mod:`geodata.damage`; the files :mod:`geodata.export.damage_report`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, data
from dashboard.i18n import current_lang, t
from geodata import damage, vocab
from geodata.export.damage_report import damage_excel, damage_pdf


@st.cache_data(show_spinner=False, ttl=1800, max_entries=8)
def load_counts(url: str, version: int) -> pd.DataFrame:
    del version  # cache key
    return damage.counts(data.get_store(url))


def section(url: str, version: int) -> None:
    lang = current_lang()
    st.markdown(f"### {t('damage.title')}")
    table = load_counts(url, version)
    shown = pd.DataFrame({
        t("damage.col.item"): table["label"],
        t("damage.col.unit"): table["unit"],
        vocab.DAMAGE_CERTAINTY.label("確定", lang): table["confirmed"],
        vocab.DAMAGE_CERTAINTY.label("未確認", lang): table["unconfirmed"],
    })  # fmt: skip
    st.table(shown.style.hide(axis="index"))
    if auth.can("chronology", "view_personal"):
        stated = table[(table["confirmed"] > 0) | (table["unconfirmed"] > 0)]
        with st.expander(t("damage.evidence")):
            item = st.selectbox(t("damage.col.item"), list(stated.index),
                                format_func=lambda c: stated.loc[c, "label"])  # fmt: skip
            if item is not None:
                evidence(url, stated.loc[item])
    if auth.can("chronology", "record"):
        fix_form(url)
    fixed(url)


def evidence(url: str, row: pd.Series) -> None:
    """The reports behind one count: 確定 ones and 未確認 ones."""
    reports = data.get_store(url).read("field_reports")
    reports["key"] = reports["source"] + ":" + reports["source_id"]
    for name in ("confirmed", "unconfirmed"):
        keys = row[f"{name}_reports"]
        label = vocab.DAMAGE_CERTAINTY.label(
            "確定" if name == "confirmed" else "未確認", current_lang()
        )
        st.markdown(f"**{label}**（{len(keys)}）")
        part = reports[reports["key"].isin(keys)]
        if len(part):
            st.dataframe(part[["reported_at", "category", "description", "reported_by", "triage"]],
                         hide_index=True, use_container_width=True)  # fmt: skip


def fix_form(url: str) -> None:
    with st.form("damage-fix", border=True):
        name = st.text_input(t("damage.disaster_name"), key="damage-name")
        hq = st.text_input(t("damage.hq_setup"), key="damage-hq")
        if st.form_submit_button(t("damage.fix"), type="primary"):
            user = auth.check("chronology", "record")
            stored = damage.fix_report(data.get_store(url), actor=user.username,
                                       disaster_name=name, hq_setup=hq or None)  # fmt: skip
            st.success(t("damage.fixed", number=stored["number"]))


def fixed(url: str) -> None:
    store = data.get_store(url)
    reports = damage.fixed_reports(store)
    if reports.empty:
        st.caption(t("damage.none"))
        return
    numbers = list(reports["number"].astype(int))[::-1]
    number = st.selectbox(t("damage.which"), numbers, format_func=lambda n: f"第{n}報")
    current = damage.report(store, number)
    previous = damage.report(store, number - 1) if number > 1 else None
    diff = damage.difference(current, previous)
    st.table(diff[["label", "unit", "confirmed", "unconfirmed", "change"]]
             .rename(columns={"label": t("damage.col.item"), "unit": t("damage.col.unit"),
                              "confirmed": "確定", "unconfirmed": "未確認",
                              "change": t("damage.col.change")})
             .style.hide(axis="index"))  # fmt: skip
    if not auth.can("chronology", "record"):
        return
    if st.button(t("damage.files"), key=f"damage-files-{number}"):  # made (and audited) on request
        user = auth.check("chronology", "record")
        xlsx = damage_excel(store, current, previous, who=user.username)
        pdf = damage_pdf(store, current, previous, who=user.username)
        left, right = st.columns(2)
        left.download_button("Excel", xlsx.data, file_name=xlsx.filename, mime=xlsx.media_type)
        right.download_button("PDF", pdf.data, file_name=pdf.filename, mime=pdf.media_type)
