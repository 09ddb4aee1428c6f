"""Wall-screen (kiosk) mode across pages: refresh in place, big type, masked personal data.

``?kiosk=1`` (or ``BOSAI_KIOSK=1``) turns a session into a wall screen; the frame then adds the
one wall stylesheet (:func:`style`: chrome hidden, the minimum type sizes :data:`MIN_PX` for
5 m). Pages use this module to:

- :func:`live` — run the part of a page that shows data as a fragment re-run every
  ``BOSAI_REFRESH_SECONDS``: no page reload, no login lost, only that part is redrawn (every
  page refreshes through it);
- :func:`live_map` — show a map whose live layers change while the map itself (and the view
  someone panned or zoomed to) stays (see :mod:`dashboard.shelters.map`);
- :func:`mask` — on the wall screen, frames are masked as for a *viewer*, whoever logged in;
- :func:`as_of` — the time of the last refresh and the age of each shown layer's newest record
  (amber / red when old), drawn by :func:`live`;
- :func:`wall_map` — decluttered labels inside a map, and the wall's type on the wall
  (:func:`live_map` applies it);
- every wall screen starts with the sources' health strip (:func:`dashboard.source_health.strip`:
  ok / stale / failing / backing off and the age of each source's newest record).

docs/kiosk.md describes the setup.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import auth, data, settings, source_health, widgets
from dashboard.i18n import current_lang, t
from dashboard.maps.elements import Declutter, MapStyle
from dashboard.shelters.board import JST, format_age
from geodata import health
from geodata.access import privacy
from geodata.schema import now_utc

# THE RULE for type on the wall screen (docs/kiosk.md, "Type legible from 5 m"): a 55" 1080p
# screen has 0.63 mm pixels; from 5 m a character needs about 6 mm of cap height (a visual
# angle of ~4 arc-minutes is the least, ~3x that reads without effort), that is 24 px of type at
# the least. Measured in the drill: KPI values at 70 px read, table cells at 29 px, KPI labels
# at 19 px, map labels at 13-20 px and a 14 px legend did not. So: nothing under 24 px, the
# words people look for (KPI labels, header rows) 28 px, table cells 32 px. The browser tests
# (tests/browser/test_wall.py) read these numbers from here.
MIN_PX = {
    "text": 24,  # every other line of text: the as-of line, captions, chips
    "kpi_label": 28,
    "kpi_value": 70,
    "table_header": 28,
    "table_cell": 32,
    "map_label": 24,  # count labels on the map
    "legend": 24,
}

# The one stylesheet of every wall page (the frame adds it once, :func:`style`): chrome hidden,
# big high-contrast type, labels that wrap instead of being cut. Tables on the wall are HTML
# tables (st.table): the canvas grid of st.dataframe cannot be enlarged by CSS.
_CSS = f"""
<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stHeaderActionElements"],
  [data-testid="stTooltipIcon"] {{ display: none !important; }}  /* nobody hovers over a wall */
  .block-container {{ padding: 0.6rem 1.2rem 0 1.2rem !important; max-width: 100% !important; }}
  html, body, [data-testid="stAppViewContainer"] {{ font-size: {MIN_PX["text"]}px;
      text-spacing-trim: space-all; }}
  /* ^ Chromium's default trim (a half-width 「（」 where a line starts) fits 「（深大寺南町一丁目）」
     into a 307 px line when breaking, then draws it 320 px wide: the run stuck out of its cell */
  :where([data-testid="stMarkdownContainer"]) p, :where([data-testid="stCaptionContainer"]),
  :where([data-testid="stAlert"]) p {{ font-size: {MIN_PX["text"]}px !important; }}
  [data-testid="stMetricValue"], [data-testid="stMetricValue"] * {{
      font-size: {MIN_PX["kpi_value"]}px !important; line-height: 1.1 !important; }}
  /* a wall narrower than a 1080p screen (a small monitor): a KPI value smaller, not cut to 「1…」 */
  @media (max-width: 1590px) {{ [data-testid="stMetricValue"], [data-testid="stMetricValue"] * {{
      font-size: clamp(40px, 4.4vw, {MIN_PX["kpi_value"]}px) !important; }} }}
  [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
  [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p {{
      font-size: {MIN_PX["kpi_label"]}px !important; white-space: normal !important;
      overflow: visible !important; text-overflow: clip !important; line-height: 1.15 !important;
      height: auto !important; font-weight: 700 !important; }}
  [data-testid="stMetric"] {{ padding: 0.3rem 0.7rem !important; }}
  [data-testid="stTable"] table {{ font-size: {MIN_PX["table_cell"]}px !important;
      color: #000 !important; width: 100% !important; }}
  [data-testid="stTable"] td, [data-testid="stTable"] td p {{
      font-size: {MIN_PX["table_cell"]}px !important; }}
  [data-testid="stTable"] th, [data-testid="stTable"] th p {{
      white-space: nowrap !important; word-break: keep-all !important;
      background: #1a1a1a !important; color: #fff !important;
      font-size: {MIN_PX["table_header"]}px !important; font-weight: 700 !important; }}
  [data-testid="stTable"] td {{ border-bottom: 2px solid #bdbdbd !important;
      padding: 0.2rem 0.5rem !important; line-height: 1.25 !important; }}
  .st-key-wall-shelters td:not(:first-child), .st-key-wall-shelters td:not(:first-child) p,
  .st-key-wall-table td:not(:first-child), .st-key-wall-table td:not(:first-child) p,
  .st-key-wall-field td:not(:last-child), .st-key-wall-field td:not(:last-child) p {{
      white-space: nowrap !important; word-break: keep-all !important; }}
  /* a refresh must not grey the screen out while it runs (Streamlit fades stale elements) */
  [data-testid="stElementContainer"][data-stale="true"] {{ opacity: 1 !important;
      transition: none !important; }}
  [data-testid="stCaptionContainer"] {{ opacity: 1 !important; }}
  .st-key-wall-shelters td:first-child {{ min-width: 8em; }}  /* names on two lines, not four */
  .st-key-wall-shelters td:nth-child(6), .st-key-wall-shelters td:nth-child(6) p {{
      white-space: normal !important; min-width: 4.2em; }}  /* needs wrap: the column fits */
  h2, h3 {{ font-size: 2.2rem !important; padding: 0.2rem 0 !important; }}
  .st-key-kiosk-updated p {{ display: flex; flex-wrap: wrap; gap: 0.3rem 0.6rem; align-items: center;
      font-size: {MIN_PX["text"]}px; line-height: 1.5; margin: 0 0 0.3rem 0; color: #000; }}
  .st-key-kiosk-updated .age {{ border-radius: 0.35rem; padding: 0 0.5rem; white-space: nowrap;
      border: 2px solid rgba(0,0,0,0.25); }}
  .st-key-kiosk-updated .age-fresh {{ background: #e8f5e9; color: #1b5e20; }}
  .st-key-kiosk-updated .age-aging {{ background: #ffb300; color: #000; font-weight: 700; }}
  .st-key-kiosk-updated .age-old {{ background: #b71c1c; color: #fff; font-weight: 700; }}
  .st-key-kiosk-updated .age-none {{ background: #eeeeee; color: #333; }}
  .bosai-page {{ font-size: {MIN_PX["text"]}px; font-weight: 700; color: #000; }}
  .bosai-legend, .bosai-legend * {{ font-size: {MIN_PX["legend"]}px !important; }}
</style>
"""

# Inside every wall map (its own iframe: the page's CSS does not reach it): count labels and
# legend at the rule's sizes; no layer control (nobody clicks a wall).
WALL_MAP_CSS = f"""
.leaflet-tooltip.bosai-count, .leaflet-tooltip.bosai-wall-label {{
    font-size: {MIN_PX["map_label"]}px; font-weight: 700; padding: 0 5px; line-height: 1.2; }}
.bosai-legend, .bosai-legend b, .bosai-legend div {{ font-size: {MIN_PX["legend"]}px !important;
    line-height: 1.35 !important; }}
.bosai-legend i {{ width: 22px !important; height: 22px !important; }}
.leaflet-control-layers {{ display: none; }}  /* nobody clicks a wall */
"""


def enabled() -> bool:
    """Whether this session is a wall screen."""
    return widgets.is_kiosk()


def style() -> None:
    """The wall screen's one stylesheet (:data:`MIN_PX`); the frame adds it once per run."""
    if enabled():
        st.html(_CSS)


def live(body: Callable[[], None], page: str, layers: Sequence[str] = ()) -> None:
    """Run ``body``; on the wall screen as a fragment re-run every ``BOSAI_REFRESH_SECONDS``.

    The one wall-screen refresh of every page. Only the fragment is redrawn: the page is not
    reloaded, so the session (and its login) stays, and widgets outside the fragment keep their
    state. A fragment rerun does not run the frame's login gate, so every rerun checks again
    that the account may still view ``page`` (the page's script, ``__file__``, or its key; a
    disabled account or an expired session stops the screen at the next refresh).

    On the wall the fragment starts with the sources' strip and the as-of line (:func:`as_of`)
    for ``layers``, the layers the page shows.
    """
    if not enabled():
        body()
        return

    def checked() -> None:
        auth.require_page(page)
        source_health.strip()
        as_of(layers)
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


def as_of_markup(ages: pd.DataFrame, now, lang: str = "ja") -> str:
    """The as-of line (markdown with inline HTML): 「最終更新 14:05:12（30秒ごとに自動更新）」, then one chip per
    layer with the age of its newest record (:func:`geodata.health.layer_ages`), amber or red
    when old. The stamp is when the screen last read the store; the chips say how old what it
    read is."""
    stamp = pd.Timestamp(now).tz_convert(JST).strftime("%H:%M:%S")
    parts = [
        html.escape(t("kiosk.updated", lang=lang, time=stamp, seconds=settings.refresh_seconds()))
    ]
    for row in ages.to_dict("records"):
        name = t(f"wall.layer.{row['layer']}", lang=lang)
        if pd.isna(row["age"]):
            text = t("wall.age.none", lang=lang, layer=name)
        else:
            age = format_age(pd.Timedelta(row["age"]).to_pytimedelta(), lang)
            text = t("wall.age", lang=lang, layer=name, age=age)
        parts.append(
            f'<span class="age age-{row["level"]}" data-layer="{html.escape(row["layer"])}" '
            f'data-level="{row["level"]}">{html.escape(text)}</span>'
        )
    return " ".join(parts)


def as_of(layers: Sequence[str] = ()) -> None:
    """The as-of line on the wall screen (nothing elsewhere; the store's error when it is down)."""
    if not enabled():
        return
    opened = widgets.open_store()  # the one place a store error is explained
    if opened is None:
        return
    now = now_utc()
    ages = health.layer_ages(opened.store, layers, now=now)
    with st.container(key="kiosk-updated"):
        st.markdown(as_of_markup(ages, now, current_lang()), unsafe_allow_html=True)


def wall_map(m: folium.Map) -> folium.Map:
    """``m`` with decluttered labels (:class:`~dashboard.maps.elements.Declutter`, on the desk
    too) and, on the wall, the wall's type (:data:`WALL_MAP_CSS`). The same additions every
    run: the map's script (and view) stay."""
    if enabled():
        MapStyle(WALL_MAP_CSS).add_to(m)
    Declutter().add_to(m)
    return m


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
        wall_map(m),
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


def page_of(
    frame: pd.DataFrame, rows: int, now=None, pinned: int = 0, *, key: str = "table"
) -> tuple[pd.DataFrame, int, int]:
    """The rows of ``frame`` the wall shows now: nobody scrolls a wall, so a long table turns
    its page at every refresh (:func:`turn_page`: from the clock, so every screen showing the
    same table shows the same page and a restart does not start over; a refresh that comes
    late or early still shows the next page, not the one after it or the same one again). The
    first ``pinned`` rows (the most urgent of a ranked table) head every page; the others take
    turns below them. ``key`` names the table among the session's paged tables.

    Returns
    -------
    (rows of this page, page number from 1, number of pages)
    """
    head, rest = frame.iloc[:pinned], frame.iloc[pinned:]
    per = max(1, rows - len(head))
    pages = max(1, -(-len(rest) // per))
    seconds = pd.Timestamp(now if now is not None else now_utc()).timestamp()
    turned = st.session_state.setdefault("_wall_pages", {})
    page = turn_page(seconds, settings.refresh_seconds(), pages, turned.get(key))
    turned[key] = (seconds, page, pages)
    shown = pd.concat([head, rest.iloc[page * per : (page + 1) * per]])
    return shown, page + 1, pages


def turn_page(seconds: float, refresh: float, pages: int, last: tuple | None = None) -> int:
    """The page (from 0) of ``pages`` a wall table shows at ``seconds`` (since the epoch).

    The clock's page, ``seconds // refresh`` modulo ``pages``, when the screen shows the table
    for the first time (``last`` None), after a pause, or when the number of pages changed.
    ``last``: (seconds, page, pages) of this screen's previous run. A run half an interval to
    one and a half after it is the next refresh, however late or early its timer fired: it
    shows the page after ``last``'s (from the clock alone, a refresh at 29.9 s then one at
    60.1 s would skip a page); a run within half an interval (a rerun between refreshes)
    keeps ``last``'s page.

    Examples
    --------
    >>> turn_page(60.1, 30, 4)  # the clock's page
    2
    >>> turn_page(60.1, 30, 4, last=(29.9, 0, 4))  # a late refresh: the next page, not 2
    1
    """
    clock = int(seconds // refresh) % pages
    if last is None or last[2] != pages:
        return clock
    then, shown, _ = last
    elapsed = seconds - then
    if 0 <= elapsed < 0.5 * refresh:
        return shown
    if 0.5 * refresh <= elapsed < 1.5 * refresh:
        return (shown + 1) % pages
    return clock


def page_note(page: int, pages: int, extra: str | None = None) -> None:
    """「2 / 4 ページ（30秒ごとに切替）」 under a paged wall table, then ``extra`` (what the
    table holds of more); nothing for one page and no ``extra``."""
    parts = []
    if pages > 1:
        parts.append(t("wall.page", page=page, pages=pages, seconds=settings.refresh_seconds()))
    if extra:
        parts.append(extra)
    if parts:
        with st.container(key="wall-page"):
            st.markdown("・".join(parts) if current_lang() == "ja" else " · ".join(parts))
