"""The 通報・SNS page on the wall screen: no filters, no feed cards, nothing to click.

The last 24 hours as the desk opens them (the default filters): the KPI tiles, the damage
reports a visitor may see (confirmed, none near a home: :class:`geodata.export.public.PublicView`)
as a big paged table (the most urgent on every page, the next :data:`WALL_TURNING` in turn),
and a map of every post aggregated into hexagons with those reports on it. The map keeps its
view across refreshes (:func:`dashboard.kiosk.live_map`: the towns are the fixed part, hexagons
and reports the live layers).
"""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st

from dashboard import kiosk, settings
from dashboard.i18n import t
from dashboard.reports import map as reports_map
from dashboard.reports import view as reports_view
from dashboard.shelters.board import format_age
from dashboard.shelters.table import markdown_safe
from geodata import feed as reports
from geodata.export.public import PublicView
from geodata.schema import now_utc

WALL_ROWS = 9  # table rows under the tiles on a 1080p screen at 32 px
# The most urgent reports head every page; the next ones take turns below them — only so many
# that a round of pages takes minutes, not the half hour 600 reports of a big storm would take
# (the desk and the print list them all; the tile counts them all).
WALL_PINNED = 3
WALL_TURNING = 60  # 10 pages of 6: a round in 5 minutes at the 30 s refresh
LAYERS = ("posts", "incidents")  # the ages on the as-of line


def public_reports(ctx: reports_view.Context, filters: reports.Filters) -> pd.DataFrame:
    """The damage reports of ``filters`` a wall may show (confirmed, away from homes)."""
    incidents = PublicView(ctx.store).read("incidents", since=filters.since())
    if not len(incidents):
        return incidents
    return reports.filter_incidents(incidents, filters)


def table(ctx: reports_view.Context, incidents: pd.DataFrame) -> pd.DataFrame:
    """Category, town, urgency, pieces and age of each report (no text: it may name people)."""
    lang, now = ctx.lang, pd.Timestamp(now_utc())
    frame = pd.DataFrame(
        {
            t("wall.col.category", lang=lang): [
                reports_map.category_label(c or "その他", lang) for c in incidents["category"]
            ],
            t("wall.col.town", lang=lang): [
                ctx.names.get(c, "–") if c else "–" for c in incidents["town_code"]
            ],
            t("wall.col.urgency", lang=lang): [
                t(f"reports.urgency.{int(u) if pd.notna(u) else 0}", lang=lang)
                for u in incidents["urgency"]
            ],
            t("wall.col.pieces", lang=lang): [
                reports.incident_size(c) for c in incidents["counts"]
            ],
            t("wall.col.age", lang=lang): [
                format_age((now - pd.Timestamp(v)).to_pytimedelta(), lang)
                for v in incidents["last_seen"]
            ],
        }
    )
    return markdown_safe(frame)


def table_section(ctx: reports_view.Context, incidents: pd.DataFrame, now=None) -> None:
    """The paged table of ``incidents`` (ranked: most urgent, biggest, newest first) at ``now``:
    the first :data:`WALL_PINNED` on every page, the next :data:`WALL_TURNING` in turn below
    them, and a note of how many there are in all when that leaves some out."""
    if incidents.empty:
        st.info(t("reports.no_incidents", lang=ctx.lang))
        return
    ranked = incidents.head(WALL_PINNED + WALL_TURNING)
    shown, page, pages = kiosk.page_of(ranked, WALL_ROWS, now=now, pinned=WALL_PINNED,
                                       key="reports")  # fmt: skip
    with st.container(key="wall-table"):
        st.table(table(ctx, shown))
    more = len(incidents) > len(ranked)
    kiosk.page_note(page, pages, t("wall.top_of", lang=ctx.lang, shown=len(ranked),
                                   total=len(incidents)) if more else None)  # fmt: skip


def wall() -> None:
    """The whole wall page (run inside :func:`dashboard.kiosk.live`)."""
    ctx = reports_view.context()
    if ctx is None:
        return
    st.subheader(t("reports.title", city=reports_view.city_name(ctx)))
    filters = reports.Filters()
    view = reports_view.load_feed(ctx, filters)
    incidents = public_reports(ctx, filters)
    reports_view.kpi_row(ctx, view, incidents, filters.window)
    left, right = st.columns([3, 2])
    with left:
        table_section(ctx, incidents)
    with right:
        m = reports_map.reports_map(
            ctx.towns,
            ctx.towns.iloc[0:0],
            ctx.towns.iloc[0:0],
            {},
            None,
            boundaries=ctx.boundaries,
            tiles=settings.get("BOSAI_TILES"),
            tile_url=settings.get("BOSAI_TILE_URL"),
            lang=ctx.lang,
        )
        hexes = folium.FeatureGroup(name=t("reports.layer.hexes", lang=ctx.lang))
        if len(view.hexes):
            reports_map.hex_layer(view.hexes, lang=ctx.lang).add_to(hexes)
        found = folium.FeatureGroup(name=t("wall.layer.damage", lang=ctx.lang))
        if len(incidents):
            reports_map.incidents_layer(
                incidents.head(reports.INCIDENT_LIMIT), lang=ctx.lang, names=ctx.names
            ).add_to(found)
        kiosk.live_map(m, [hexes, found], key="reports_wall_map", height=680)
