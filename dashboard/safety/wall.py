"""The 安否確認 page on the wall screen: counts only, as the public may see them.

Visitors and press pass the wall, so whoever logged in it shows the public picture
(:mod:`geodata.picture`, ``public=True``): the roster-wide counts as published, per-town counts
with small counts suppressed (3人未満 / 秘匿), no reply points — the rescue requests as counts
per town. The towns with rescue requests come first, then those with the most residents not
confirmed safe, paged at each refresh; the map keeps its view (:func:`dashboard.kiosk.live_map`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, kiosk, settings, widgets
from dashboard import picture as common
from dashboard.i18n import current_lang, t
from dashboard.maps import evacuation as evac_maps
from dashboard.maps import layers as maps
from dashboard.shelters.table import markdown_safe
from geodata import evacuation
from geodata.schema import now_utc

WALL_ROWS = 10
LAYERS = ("safety_replies", "follow_ups")  # the ages on the as-of line


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def town_rows(towns: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Towns with a published count (3 or more) of residents asking for rescue or not
    confirmed, those asking for rescue first (most first), then by residents not confirmed;
    one last row for the other towns whose counts are small or withheld — a wall of
    「3人未満」 says nothing, and a mark cannot be ranked without giving away what it hides (a
    mark sorts as 0). Residents asking for rescue replied, so they are confirmed: a town of
    four rescue requests and 3人未満 unconfirmed was folded into 「ほか…（3人未満または秘匿）」
    while the map beside the table labelled it 「要救助 4」."""

    def count(value) -> int:
        return value if isinstance(value, int) else 0

    rescue = [count(v) for v in towns["needs_help"]]
    waiting = [count(v) for v in towns["unconfirmed"]]
    shown = [r > 0 or w > 0 for r, w in zip(rescue, waiting, strict=True)]
    counted = towns.assign(_rescue=rescue, _waiting=waiting)[shown]
    counted = counted.sort_values(
        ["_rescue", "_waiting", "town_code"], ascending=[False, False, True], kind="stable"
    )
    marked = [
        not ok and not (isinstance(r, int) and isinstance(w, int))
        for ok, r, w in zip(shown, towns["needs_help"], towns["unconfirmed"], strict=True)
    ]
    frame = pd.DataFrame(
        {
            t("wall.col.town", lang=lang): counted["name"].astype(str),
            t("safety.kpi.registered", lang=lang): [_n(v) for v in counted["residents"]],
            t("safety.kpi.replied", lang=lang): [_n(v) for v in counted["replied"]],
            t("wall.col.rescue", lang=lang): [_n(v) for v in counted["needs_help"]],
            t("wall.kpi.unconfirmed", lang=lang): [_n(v) for v in counted["unconfirmed"]],
        }
    ).reset_index(drop=True)
    if any(marked):
        rest = {c: "" for c in frame.columns}
        rest[frame.columns[0]] = t("wall.col.other_towns", lang=lang, n=sum(marked))
        frame = pd.concat([frame, pd.DataFrame([rest])], ignore_index=True)
    return markdown_safe(frame)


def wall() -> None:
    """The whole wall page (run inside :func:`dashboard.kiosk.live`)."""
    opened = widgets.open_store()
    if opened is None:
        return
    lang = current_lang()
    ref = data.reference_layers(opened.url, opened.version)
    st.subheader(t("safety.title", city=ref.city_name))
    minute = pd.Timestamp(now_utc()).floor("10min").isoformat()  # the 24 h window moves on
    p = common.load(opened.url, opened.version, True, minute)
    k = p.situation.kpis
    cols = st.columns(5)
    cols[0].metric(t("safety.kpi.registered", lang=lang), _n(k["roster_total"]))
    cols[1].metric(t("safety.kpi.replied", lang=lang), _n(k["replied"]))
    cols[2].metric(t("wall.col.rescue", lang=lang), _n(k["needs_help"]))
    cols[3].metric(t("safety.kpi.reached", lang=lang), _n(k["reached"]))
    cols[4].metric(t("wall.kpi.unconfirmed", lang=lang), _n(k["unconfirmed"]))
    left, right = st.columns([3, 2])
    with left:
        shown, page, pages = kiosk.page_of(
            town_rows(p.situation.towns, lang), WALL_ROWS, key="safety"
        )
        with st.container(key="wall-table"):
            st.table(shown)
        kiosk.page_note(page, pages)
    with right:
        bounds = tuple(ref.towns.total_bounds) if len(ref.towns) else None
        m = maps.base_map(
            bounds, tiles=settings.get("BOSAI_TILES"), tile_url=settings.get("BOSAI_TILE_URL"),
            lang=lang,
        )  # fmt: skip
        if ref.boundaries is not None and len(ref.boundaries):
            maps.boundary_layer(ref.boundaries, lang=lang).add_to(m)
        # what this map draws: residents by town, rescue counts, evacuation information
        common.legend(lang, ("unconfirmed", "rescue", "evacuation"), "wall.legend.safety").add_to(m)
        live = [
            common.unconfirmed_layer(p.situation.towns, lang),
            *evac_maps.live_layers(ref.towns, evacuation.in_force(opened.store), pd.DataFrame(
                columns=["town_code", "level"]), lang),
            common.rescue_labels(p.situation.towns, lang),
        ]  # fmt: skip
        kiosk.live_map(m, live, key="safety_wall_map", height=720)
