"""The pieces of the shelters page that show data: KPI tiles, filters, board, map, history."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, kiosk, settings, widgets
from dashboard.i18n import current_lang, t
from dashboard.shelters import board as shelters
from dashboard.shelters import map as shelters_map
from dashboard.shelters import table as shelters_table
from dashboard.shelters.data import load_history, load_requests
from geodata import supplies
from geodata.schema import now_utc
from geodata.shelters import CLOSED, FULL, NOT_OPEN, OPEN, OPEN_STATES, care_summary, to_number

KIOSK_ROWS = 7  # wall rows that fit a 1080p screen at 32 px, a long name on two lines (kiosk.md)
# with the 要配慮者 / supply-request columns the table is narrower per column and a cell (a
# needs list) can take three lines: fewer rows, so the table still ends on the screen
KIOSK_ROWS_WITH_NEEDS = 5
KIOSK_PINNED = 2  # the fullest shelters head every page of the wall table
STATUS_FILTERS = (OPEN, FULL, NOT_OPEN, CLOSED, "none")


@dataclass(frozen=True)
class Board:
    """What the page shows, read once per run."""

    url: str
    version: int
    ref: data.ReferenceLayers
    status: pd.DataFrame  # current status, masked for the user / the wall screen
    board: pd.DataFrame  # shelters.board(...)
    requests: pd.DataFrame  # the current version of every supply request (geodata.supplies)


def load(url: str | None = None) -> Board | None:
    """Read the store (cached by data version); None after showing why it cannot."""
    opened = widgets.open_store(url)
    if opened is None:
        return None
    url, version = opened.url, opened.version
    ref = data.reference_layers(url, version)
    if ref.shelters.empty:
        st.info(t("shelters.empty", command=widgets.reference_command(data.municipality_code())))
        return None
    status = kiosk.mask("shelter_status", ref.status)
    requests = load_requests(url, version)
    board = shelters.board(ref.shelters, status, now_utc(), lang=current_lang(), requests=requests)
    return Board(url, version, ref, status, board, requests)


def title(b: Board) -> None:
    st.subheader(t("shelters.title", city=b.ref.city_name))


def kpi_tiles(b: Board) -> None:
    """Open / total, evacuees, 要配慮者, full, stale reports, urgent supply requests."""
    counts = shelters.summary(b.board)
    care = care_summary(b.status)
    still = supplies.open_requests(b.requests)
    urgent = int((still["urgency"] == supplies.URGENT).sum()) if len(still) else 0
    cols = st.columns(6)
    cols[0].metric(t("shelters.kpi.open"), f"{counts['open']:,} / {counts['shelters']:,}")
    cols[1].metric(t("measure.evacuees"), f"{counts['evacuees']:,}")
    cols[2].metric(
        t("care.kpi"),
        "–" if care["care_total"] is None else f"{care['care_total']:,}",
        help=t("care.kpi_help", n=care["care_counted"]),
    )
    cols[3].metric(t("shelter_status.満員"), f"{counts['full']:,}")
    cols[4].metric(t("shelters.kpi.stale"), f"{counts['stale']:,}")
    cols[5].metric(t("supplies.kpi.urgent"), f"{urgent:,} / {len(still):,}")


def filters(frame: pd.DataFrame) -> pd.DataFrame:
    """Status / occupancy / name / stale filters and the sort order (one row); returns the
    rows to show."""
    cols = st.columns([3.2, 2.4, 2, 1.7, 1.3], vertical_alignment="bottom")
    statuses = cols[0].pills(
        t("shelters.filter.status"),
        options=list(STATUS_FILTERS),
        selection_mode="multi",
        format_func=lambda s: (
            t("shelters.status.none") if s == "none" else t(f"shelter_status.{s}")
        ),
        key="shelters_filter_status",
    )
    classes = cols[1].pills(
        t("measure.occupancy"),
        options=[0, 1, 2, 3],
        selection_mode="multi",
        format_func=lambda c: t(f"shelters.class.{c}"),
        key="shelters_filter_class",
    )
    search = cols[2].text_input(t("shelters.filter.search"), key="shelters_search")
    order = cols[3].selectbox(
        t("shelters.filter.order"),
        options=list(shelters.ORDERS),
        format_func=lambda o: t(f"shelters.order.{o}"),
        key="shelters_order",
    )
    stale_only = cols[4].toggle(t("shelters.filter.stale"), key="shelters_stale_only")
    shown = shelters.filter_board(frame, statuses, classes, stale_only, search or "")
    return shelters.sort_board(shown, order)


def board_table(b: Board, rows: pd.DataFrame, height: int = 430) -> None:
    """The board (desk: a sortable grid; wall screen: a big table of open shelters)."""
    lang = current_lang()
    if kiosk.enabled():
        open_now = rows[rows["status"].isin(OPEN_STATES)]
        if open_now.empty:
            st.info(t("kiosk.no_open"))
            return
        # what matters first (full, then fullest) on every page, and every open shelter on
        # some page: the rest of the table turns its page at each refresh
        ranked = shelters.sort_board(open_now, "occupancy")
        filled = any(
            shelters_table.wall_shows(ranked, col) for col in shelters_table.WALL_IF_FILLED
        )
        per_page = KIOSK_ROWS_WITH_NEEDS if filled else KIOSK_ROWS
        shown, page, pages = kiosk.page_of(ranked, per_page, pinned=KIOSK_PINNED, key="shelters")
        with st.container(key="wall-shelters"):
            st.table(shelters_table.styled(shown, lang=lang, kiosk=True))
        kiosk.page_note(page, pages)
        return
    if rows.empty:
        st.info(t("shelters.no_match"))
        return
    st.dataframe(
        shelters_table.styled(rows, lang=lang),
        hide_index=True,
        width="stretch",
        height=height,
        placeholder="–",
        row_height=34,
        key="shelters_board",
    )
    st.caption(t("shelters.shown", shown=len(rows), total=len(b.board)))


def shelter_map(b: Board, height: int = 560) -> None:
    """Shelters coloured by status and occupancy over the towns; the view survives refreshes."""
    lang = current_lang()
    base = shelters_map.context_map(
        b.ref.towns,
        b.ref.hazard,
        b.ref.boundaries,
        tiles=settings.get("BOSAI_TILES"),
        tile_url=settings.get("BOSAI_TILE_URL"),
        lang=lang,
        wall=kiosk.enabled(),
    )
    kiosk.live_map(
        base,
        shelters_map.live_layers(b.ref.shelters, b.status, lang=lang),
        key="shelters_map",
        height=height,
        layer_control=shelters_map.layer_control(),
    )


def welfare_note(b: Board, shelter_id: str) -> None:
    """Say that a shelter is a 福祉避難所, and for whom (its 受入対象者)."""
    row = b.board[b.board["shelter_id"] == shelter_id]
    if len(row) and bool(row.iloc[0]["welfare"]):
        st.markdown(
            f":violet-badge[{shelters.md_text(t('shelters.welfare_for', target=row.iloc[0]['welfare_label']))}]"
        )


def history(b: Board, shelter_id: str) -> None:
    """Evacuees over time of one shelter (chart) and its reports (table)."""
    lang = current_lang()
    raw = load_history(b.url, shelter_id, b.version)
    raw = kiosk.mask("shelter_status", raw)
    frame = shelters.history_frame(raw, lang=lang)
    st.markdown(f"#### {t('shelters.history.title')}")
    if frame.empty:
        st.info(t("shelters.history.empty"))
        return
    capacity = b.board.loc[b.board["shelter_id"] == shelter_id, "capacity"]
    st.altair_chart(
        history_chart(frame, capacity.iloc[0] if len(capacity) else None, lang),
        width="stretch",
    )
    table = pd.DataFrame(
        {
            t("shelters.history.time"): frame["time"].dt.strftime("%m/%d %H:%M"),
            t("shelters.col.status"): frame["status"],
            t("shelters.col.evacuees"): frame["evacuees"].map(shelters.format_count),
            t("shelters.field.households"): frame["households"].map(shelters.format_count),
            t("shelters.col.by"): frame["reported_by"],
            t("shelters.history.version"): frame["version"].astype("Int64"),
        }
    ).iloc[::-1]
    st.dataframe(table, hide_index=True, width="stretch", key="shelters_history")


def history_chart(frame: pd.DataFrame, capacity=None, lang: str = "ja") -> alt.Chart:
    """Line + points of evacuees over time; a dashed rule at the capacity when known."""
    x_title, y_title = t("shelters.history.time", lang=lang), t("shelters.col.evacuees", lang=lang)
    base = alt.Chart(frame).encode(
        x=alt.X("time:T", title=x_title, axis=alt.Axis(format="%H:%M", tickMinStep=60_000)),
        y=alt.Y("evacuees:Q", title=y_title),
        tooltip=[
            alt.Tooltip("time:T", title=x_title, format="%m/%d %H:%M"),
            alt.Tooltip("evacuees:Q", title=y_title),
            alt.Tooltip("status:N", title=t("shelters.col.status", lang=lang)),
        ],
    )
    chart = base.mark_line(interpolate="step-after") + base.mark_point(filled=True, size=70)
    cap = to_number(capacity)
    if cap is not None and cap <= 5 * max(1.0, float(frame["evacuees"].max() or 0)):
        rule = (
            alt.Chart(pd.DataFrame({"capacity": [cap]}))
            .mark_rule(strokeDash=[6, 4], color="#d73027")
            .encode(y="capacity:Q")
        )
        chart = chart + rule
    return chart.properties(height=260)
