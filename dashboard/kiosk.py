"""Wall-screen (kiosk) mode across pages: refresh in place, big type, masked personal data.

``?kiosk=1`` (or ``BOSAI_KIOSK=1``) turns a session into a wall screen; the frame then hides the
sidebar (:func:`dashboard.widgets.apply_kiosk_style`). Pages use this module to:

- :func:`live` — run the part of a page that shows data as a fragment re-run every
  ``BOSAI_REFRESH_SECONDS``: no page reload, no login lost, only that part is redrawn (every
  page refreshes through it);
- :func:`live_map` — show a map whose live layers change while the map itself (and the view
  someone panned or zoomed to) stays (see :mod:`dashboard.shelters.map`);
- :func:`mask` — on the wall screen, frames are masked as for a *viewer*, whoever logged in;
- :func:`style` and :func:`updated` — type legible from 5 m and the time of the last refresh;
- every wall screen starts with the sources' health strip (:func:`dashboard.source_health.strip`:
  ok / stale / failing / backing off and the age of each source's newest record).

docs/kiosk.md describes the setup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import auth, data, settings, source_health, widgets
from dashboard.i18n import t
from dashboard.shelters.board import JST
from geodata.access import privacy
from geodata.schema import now_utc

# Tables on the wall screen: HTML tables (st.table) — the canvas grid of st.dataframe cannot be
# enlarged by CSS. Black on white, a dark header, thick row lines.
_CSS = """
<style>
  [data-testid="stTable"] table { font-size: 1.3rem !important; color: #000 !important; }
  [data-testid="stTable"] th, [data-testid="stTable"] th p,
  .st-key-wall-shelters td:not(:first-child), .st-key-wall-shelters td:not(:first-child) p,
  .st-key-wall-field td:not(:last-child), .st-key-wall-field td:not(:last-child) p {
      white-space: nowrap !important; word-break: keep-all !important; }
  [data-testid="stHeaderActionElements"] { display: none !important; }
  [data-testid="stTable"] th { background: #1a1a1a !important; color: #fff !important;
      font-size: 1.25rem !important; font-weight: 700 !important; }
  [data-testid="stTable"] td { border-bottom: 2px solid #bdbdbd !important;
      padding: 0.35rem 0.6rem !important; }
  .st-key-kiosk-updated p { font-size: 1.2rem !important; color: #000 !important;
      margin: -0.6rem 0 0 0 !important; }
  h2, h3 { font-size: 2.2rem !important; }
</style>
"""


def enabled() -> bool:
    """Whether this session is a wall screen."""
    return widgets.is_kiosk()


def style() -> None:
    """Big, high-contrast tables and captions (call once per page in kiosk mode)."""
    if enabled():
        st.html(_CSS)


def live(body: Callable[[], None], page: str) -> None:
    """Run ``body``; on the wall screen as a fragment re-run every ``BOSAI_REFRESH_SECONDS``.

    The one wall-screen refresh of every page. Only the fragment is redrawn: the page is not
    reloaded, so the session (and its login) stays, and widgets outside the fragment keep their
    state. A fragment rerun does not run the frame's login gate, so every rerun checks again
    that the account may still view ``page`` (the page's script, ``__file__``, or its key; a
    disabled account or an expired session stops the screen at the next refresh).
    """
    if not enabled():
        body()
        return

    def checked() -> None:
        auth.require_page(page)
        source_health.strip()
        body()

    st.fragment(run_every=settings.refresh_seconds())(checked)()


def polled(body: Callable[[], None], page: str, seconds: float) -> None:
    """Run ``body`` as a fragment re-run every ``seconds`` on every screen, not only the wall.

    For a section that follows something in flight (a LINE campaign being sent). Each rerun
    checks again that the account may still view ``page``, as :func:`live` does.
    """

    def checked() -> None:
        auth.require_page(page)
        body()

    st.fragment(run_every=seconds)(checked)()


def updated() -> None:
    """「最終更新 14:05:12（30秒ごとに自動更新）」 on the wall screen; nothing elsewhere."""
    if enabled():
        stamp = pd.Timestamp(now_utc()).tz_convert(JST).strftime("%H:%M:%S")
        with st.container(key="kiosk-updated"):
            st.markdown(t("kiosk.updated", time=stamp, seconds=settings.refresh_seconds()))


def live_map(
    m: folium.Map,
    layers: Sequence[folium.FeatureGroup],
    key: str,
    height: int = 600,
    layer_control: folium.LayerControl | None = None,
    returned_objects: list[str] | None = None,
):
    """Show ``m`` with ``layers`` swapped in place on every rerun (the view is kept).

    ``m`` must come out the same on every rerun (same data, same order): streamlit-folium
    keys the browser map by a hash of its script. ``layers`` may change freely. Returns what
    ``st_folium`` returns (``returned_objects``, default nothing: panning does not rerun).
    """
    return st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=returned_objects if returned_objects is not None else [],
        feature_group_to_add=list(layers) or None,
        layer_control=layer_control,
    )


@st.cache_resource(show_spinner=False, max_entries=2)
def _roster_terms(url: str, version: int) -> privacy.PersonalTerms:
    del version  # cache key: a new roster gives new terms
    roster = data.get_store(url).read("roster", columns=["name", "kana", "address", "supporter"])
    return privacy.PersonalTerms.from_roster(roster)


def mask(layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the wall screen may show it: masked as for a viewer in kiosk mode, else
    as the logged-in user may see it (:func:`dashboard.auth.mask`)."""
    if not enabled():
        return auth.mask(layer, frame)
    url = data.db_url()
    store = data.get_store(url)
    terms = None
    if privacy.TEXT_COLUMNS.get(layer):
        terms = _roster_terms(url, store.data_version("roster"))
    key = privacy.displacement_key(store) if layer in privacy.PERSON_LAYERS else None
    return privacy.mask_frame(layer, frame, "viewer", key=key, terms=terms)
