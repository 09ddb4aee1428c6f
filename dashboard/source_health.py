"""Source health on screen: the wall screen's strip and the admin page's table.

Which state a source is in (ok / stale / failing / backing off) and how old its newest record
is are the core's answers (:mod:`geodata.health`); this module only shows them. The strip is
redrawn with the wall screen's refresh (it runs inside :func:`dashboard.kiosk.live`), so a
source turns stale on the wall without any new write.
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.i18n import current_lang, t
from dashboard.shelters.board import JST, format_age
from geodata import health

# Colour and word together (the word is what a colour-blind reader and a photo of the wall use).
COLOURS = {
    "ok": ("#1b5e20", "#e8f5e9"),
    "stale": ("#6d4c00", "#fff3c4"),
    "failing": ("#ffffff", "#b71c1c"),
    "backing_off": ("#ffffff", "#4a148c"),
}

_CSS = """
<style>
  .st-key-source-health p { margin: 0 !important; }
  .bosai-sources { display: flex; flex-wrap: wrap; gap: 0.4rem 0.6rem; align-items: center;
      font-size: 1.15rem; line-height: 1.5; margin: 0 0 0.4rem 0; }
  .bosai-sources .title { font-weight: 700; color: #000; margin-right: 0.2rem; }
  .bosai-sources .src { border-radius: 0.35rem; padding: 0.05rem 0.55rem; white-space: nowrap;
      border: 2px solid rgba(0,0,0,0.25); }
  .bosai-sources .src b { font-weight: 700; }
</style>
"""


def current(url: str | None = None) -> pd.DataFrame:
    """Every source's state now (``geodata.health.source_states``), worst first."""
    url = url or data.db_url()
    version = data.data_version(url)
    return health.source_states(data.load_source_health(url, version))


def _when(ts) -> str:
    """``09/01 21:05`` in Japan time; empty for none."""
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).tz_convert(JST).strftime("%m/%d %H:%M")


def _chip(row: dict, lang: str) -> str:
    state = row["state"]
    word = health.label(state, lang)
    if state == "backing_off" and _when(row["backoff_until"]):
        word = t("health.until", lang=lang, state=word, time=_when(row["backoff_until"]))
    age = row["record_age"]
    newest = (
        t("health.newest", lang=lang, age=format_age(age.to_pytimedelta(), lang))
        if not pd.isna(age)
        else t("health.no_records", lang=lang)
    )
    fg, bg = COLOURS.get(state, ("#000", "#eee"))
    text = f"<b>{html.escape(str(row['source']))}</b> {html.escape(word)} · {html.escape(newest)}"
    return (
        f'<span class="src src-{state}" data-state="{state}" '
        f'style="color:{fg};background:{bg}">{text}</span>'
    )


def strip_markup(states: pd.DataFrame, lang: str = "ja") -> str:
    """The strip as HTML: a title, then one chip per source (worst first)."""
    chips = [_chip(row, lang) for row in states.to_dict("records")]
    if not chips:
        chips = [f'<span class="src">{html.escape(t("health.none", lang=lang))}</span>']
    title = html.escape(t("health.title", lang=lang))
    return f'<div class="bosai-sources"><span class="title">{title}</span>{"".join(chips)}</div>'


def strip() -> None:
    """The wall screen's compact line of every source: state and age of its newest record.

    Nothing is drawn when the store cannot be read (the page says so itself).
    """
    try:
        states = current()
    except Exception:  # noqa: BLE001 - the page shows the store error
        return
    st.html(_CSS)
    with st.container(key="source-health"):
        st.markdown(strip_markup(states, current_lang()), unsafe_allow_html=True)


def table(lang: str | None = None) -> pd.DataFrame:
    """The admin page's table: each source's state (its label), times, error and stale limit."""
    lang = lang or current_lang()
    states = current()
    if states.empty:
        return states
    out = pd.DataFrame(
        {
            t("health.col.source", lang=lang): states["source"],
            t("health.col.kind", lang=lang): states["kind"],
            t("health.col.state", lang=lang): [health.label(s, lang) for s in states["state"]],
            t("health.col.newest", lang=lang): [
                t("health.no_records", lang=lang)
                if pd.isna(a)
                else format_age(a.to_pytimedelta(), lang)
                for a in states["record_age"]
            ],
            t("health.col.success", lang=lang): [_when(v) for v in states["last_success_at"]],
            t("health.col.backoff", lang=lang): [_when(v) for v in states["backoff_until"]],
            t("health.col.error", lang=lang): states["last_error"].fillna(""),
            t("health.col.stale_after", lang=lang): [
                t("health.minutes", lang=lang, m=int(v.total_seconds() // 60))
                for v in states["stale_after"]
            ],
        }
    )
    return out
