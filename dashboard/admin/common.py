"""What every admin panel shows alike: JST times, "—" for nothing, messages kept across a rerun."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.shelters.board import JST

EMPTY = "—"
FLASH_KEY = "bosai_admin_flash"  # [(kind, text, code)] shown once after the rerun of a write


def when(value) -> str:
    """``2026-10-12 21:05`` in Japan time; ``—`` for none (never "None" / "NaT")."""
    if value is None:
        return EMPTY
    try:
        if pd.isna(value):
            return EMPTY
    except (TypeError, ValueError):
        pass
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return EMPTY
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(JST).strftime("%Y-%m-%d %H:%M")


def shown(value) -> str:
    """A cell's text: ``—`` for None, NaN, NaT and empty text."""
    if value is None:
        return EMPTY
    if isinstance(value, (list, tuple, set)):
        return ", ".join(map(str, value)) or EMPTY
    try:
        if pd.isna(value):
            return EMPTY
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or EMPTY


def flash(kind: str, text: str, code: str | None = None) -> None:
    """Keep a message (and an optional code block, e.g. a new password) for the next run."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text, code))


def show_flash() -> None:
    """Show the kept messages once."""
    for kind, text, code in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(text)
        if code:
            st.code(code, language=None)
