"""Tablet (touch) layout of the desk pages: touch targets of at least 44 px, a narrow sidebar.

Shelter staff and field staff use tablets (1024×768 landscape, 768×1024 portrait). The frame
adds one stylesheet per run (:func:`dashboard.widgets.apply_style`): the wall screen's
(:func:`dashboard.kiosk.style`) or this one. Inside a map (its own iframe, which the page's CSS
does not reach) the same rule is applied by :class:`dashboard.maps.elements.TouchControls`.

THE RULE (docs/kiosk.md, "Tablets"): on a touch screen, or any window at most
:data:`TABLET_MAX_PX` wide, every button, input, select, pill and map control is at least
:data:`MIN_TARGET_PX` CSS pixels high and wide (WCAG 2.5.5, Apple HIG), a row of pills wraps
instead of scrolling sideways, a KPI or toggle label wraps instead of ending in 「…」, and the
sidebar is at most :data:`SIDEBAR_PX` wide. The browser tests (tests/browser/test_tablet.py)
read the numbers from here.
"""

from __future__ import annotations

MIN_TARGET_PX = 44  # the least touch target, CSS px
TABLET_MAX_PX = 1100  # windows up to this width get the touch layout (a 1024 px tablet does)
SIDEBAR_PX = 220  # the sidebar's width there (Streamlit's own: 300 of 1024 px)
# The media query of the touch layout: a coarse pointer (a finger) or a tablet-sized window.
MEDIA = f"(pointer: coarse), (max-width: {TABLET_MAX_PX}px)"

_T = f"{MIN_TARGET_PX}px"
_CSS = f"""
<style>
@media {MEDIA} {{
  section[data-testid="stSidebar"][data-collapsed="false"] {{ width: {SIDEBAR_PX}px !important;
      min-width: {SIDEBAR_PX}px !important; max-width: {SIDEBAR_PX}px !important; }}
  [data-testid="stSidebarNavLink"] {{ min-height: {_T}; align-items: center; }}
  [data-testid="stMainBlockContainer"] {{ padding: 3.5rem 1rem 2rem 1rem !important; }}
  [data-testid="stAppViewContainer"] button {{ min-height: {_T} !important;
      min-width: {_T} !important; }}
  [data-testid="stAppViewContainer"] [data-baseweb="select"] > div,
  [data-testid="stAppViewContainer"] [data-baseweb="input"],
  [data-testid="stAppViewContainer"] [data-testid="stNumberInputContainer"] {{
      min-height: {_T} !important; height: auto !important; }}
  [data-testid="stAppViewContainer"] input:not([type="checkbox"]):not([type="radio"]),
  [data-testid="stAppViewContainer"] textarea {{ min-height: {_T} !important;
      min-width: {_T} !important; }}
  [data-testid="stCheckbox"] label, [data-testid="stRadio"] label,
  [data-testid="stExpander"] summary {{ min-height: {_T} !important;
      align-items: center !important; }}
  [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
  [data-testid="stCheckbox"] label [data-testid="stMarkdownContainer"],
  [data-testid="stCheckbox"] label [data-testid="stMarkdownContainer"] p {{
      white-space: normal !important; overflow: visible !important;
      text-overflow: clip !important; height: auto !important; }}
      /* a KPI label or a toggle's wraps: 「3時間以上報告…」, 「古い…」 said nothing */
  [data-testid="stButtonGroup"] > div {{ flex-wrap: wrap !important; row-gap: 6px;
      overflow-x: visible !important; }}  /* pills wrap: a sideways scroll hid 閉鎖, 報告なし */
  [data-testid="stTooltipHoverTarget"], [data-testid="stTooltipIcon"] button {{
      min-width: {_T} !important; min-height: {_T} !important; display: inline-flex;
      align-items: center; justify-content: center; }}
}}
</style>
"""


def style() -> None:
    """The touch layout's stylesheet (active only on touch-sized screens: :data:`MEDIA`)."""
    import streamlit as st  # here: the maps read this module's numbers without streamlit

    st.html(_CSS)
