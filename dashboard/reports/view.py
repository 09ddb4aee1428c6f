"""The widgets of the 通報・SNS page: filters, KPIs, the feed with triage, the map.

Permissions are checked on the server: the triage buttons appear only for roles with
``reports/triage``, and every write (a callback) calls :func:`dashboard.auth.check` again
right before the store. Post texts are masked for roles without ``view_personal``.

Over ~400 lines on purpose: the page's filter bar, feed, pager, triage bar and map share one
:class:`Context` and session keys; the rules they show live in :mod:`geodata.feed`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard import auth, data, settings, widgets
from dashboard.i18n import current_lang, t
from dashboard.reports import cards as reports_feed
from dashboard.reports import feed as cached
from dashboard.reports import map as reports_map
from dashboard.reports import map_cache
from geodata import feed as reports
from geodata import vocab
from geodata.access import accounts
from geodata.access.roles import Forbidden
from geodata.schema import CATEGORIES, TRIAGE_STATES, now_utc

PAGE_KEY = "reports_page"
MOVE_KEY = "reports_move"
CLICK_KEY = "reports_click_seen"
MSG_KEY = "reports_msg"
FILTERS_KEY = "reports_filters_seen"
MAP_HEIGHT = 640
FEED_HEIGHT = 600
INCIDENT_CARDS = 50
# The triage buttons (an icon tells them apart from the filter pills of the same state).
ACTION_ICONS = {
    "verify": ":material/check_circle:",
    "dismiss": ":material/block:",
    "handled": ":material/task_alt:",
    "reopen": ":material/undo:",
}


@dataclass
class Context:
    """What every section of the page needs."""

    url: str
    towns: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame
    names: dict[str, str]
    lang: str
    can_triage: bool
    show_author: bool
    layer_versions: tuple = ()  # of towns and boundaries (the map's cache key)

    @property
    def store(self):
        return data.get_store(self.url)


def context() -> Context | None:
    """The store, towns and permissions; None (with the reason on screen) when unreachable."""
    opened = widgets.open_store()
    if opened is None:
        return None
    url, store = opened.url, opened.store
    towns_version = store.data_version("towns")
    code = data.municipality_code()
    towns = data.load_towns(url, code, towns_version)
    boundaries_version = store.data_version("boundaries")
    boundaries = data.load_layer(
        url, "boundaries", None, boundaries_version, where=(("city_code", code),)
    )
    return Context(
        url=url,
        towns=towns,
        boundaries=boundaries,
        names=dict(zip(towns["town_code"], towns["name"], strict=False)),
        lang=current_lang(),
        can_triage=auth.can("reports", "triage"),
        show_author=auth.can("reports", "view_personal"),
        layer_versions=(code, towns_version, boundaries_version),
    )


def city_name(ctx: Context) -> str:
    names = ctx.towns["city_name"].dropna() if "city_name" in ctx.towns else []
    return str(names.iloc[0]) if len(names) else data.municipality_code()


# -- filters -----------------------------------------------------------------------------------


def filter_bar(ctx: Context) -> reports.Filters:
    """The filter widgets; returns the filters (and resets the page when they change)."""
    lang = ctx.lang
    c1, c2, c3, c4 = st.columns([2.2, 1.6, 3.2, 3.4])
    window = c1.segmented_control(
        t("reports.filter.window", lang=lang),
        options=list(reports.WINDOWS),
        format_func=lambda w: t(f"reports.window.{w}", lang=lang),
        default="24h",
        required=True,
        key="reports_window",
    )
    order = c2.segmented_control(
        t("reports.filter.order", lang=lang),
        options=list(reports.ORDERS),
        format_func=lambda o: t(f"reports.order.{o}", lang=lang),
        default="urgent",
        required=True,
        key="reports_order",
    )
    triage = c3.pills(
        t("reports.filter.triage", lang=lang),
        options=list(TRIAGE_STATES),
        selection_mode="multi",
        format_func=lambda s: t(f"triage.{s}", lang=lang),
        default=list(reports.DEFAULT_TRIAGE),
        key="reports_triage",
    )
    urgencies = c4.pills(
        t("reports.filter.urgency", lang=lang),
        options=list(reports.URGENCIES),
        selection_mode="multi",
        format_func=lambda u: t(f"reports.urgency.{u}", lang=lang),
        key="reports_urgency",
    )
    c5, c6, c7 = st.columns([6.2, 3.0, 1.2], vertical_alignment="bottom")
    categories = c5.pills(
        t("reports.filter.category", lang=lang),
        options=list(CATEGORIES),
        selection_mode="multi",
        format_func=lambda c: reports_map.category_label(c, lang),
        key="reports_categories",
    )
    codes = sorted(ctx.names)
    towns = c6.multiselect(
        t("reports.filter.town", lang=lang),
        options=codes,
        format_func=lambda c: ctx.names.get(c, c),
        placeholder=t("reports.filter.all_towns", lang=lang),
        key="reports_towns",
    )
    hide = c7.toggle(t("reports.filter.hide_copies", lang=lang), value=True, key="reports_hide")
    filters = reports.Filters(
        window=window or "24h",
        categories=tuple(categories or ()),
        urgencies=tuple(sorted(urgencies or (), reverse=True)),
        towns=tuple(towns or ()),
        triage=tuple(triage or ()),
        hide_copies=bool(hide),
        order=order or "urgent",
    )
    if st.session_state.get(FILTERS_KEY) != filters:
        st.session_state[FILTERS_KEY] = filters
        st.session_state[PAGE_KEY] = 0
    return filters


def load_feed(ctx: Context, filters: reports.Filters) -> reports.FeedView:
    """The cached feed for ``filters`` (recomputed when posts change, at most once a minute)."""
    minute = pd.Timestamp(now_utc()).floor("min").isoformat()
    bounds = tuple(float(v) for v in ctx.towns.total_bounds) if len(ctx.towns) else None
    version = cached.posts_version(ctx.url)
    return cached.feed_view(ctx.url, version, filters, minute, bounds)


def load_incidents(ctx: Context, filters: reports.Filters) -> gpd.GeoDataFrame:
    """The damage reports of the filters (window, categories, urgencies, towns), ordered."""
    version = ctx.store.data_version("incidents")
    incidents = data.load_layer(ctx.url, "incidents", None, version)
    return reports.filter_incidents(incidents, filters)


def kpi_row(ctx: Context, view: reports.FeedView, incidents: gpd.GeoDataFrame, window: str) -> None:
    """The feed's counts and its damage reports (:func:`geodata.feed.damage_reports`)."""
    lang = ctx.lang
    cols = st.columns(6)
    labels = {k: f"reports.kpi.{k}" for k in ("posts", "critical", "urgent", "unlocated")}
    labels["new"] = vocab.TRIAGE_STATES.key("new")  # 未処理: the triage state's own word
    for col, key in zip(cols, ("posts", "critical", "urgent", "new", "unlocated"), strict=False):
        col.metric(t(labels[key], lang=lang), f"{view.kpis[key]:,}")
    cols[5].metric(
        t("reports.kpi.incidents", lang=lang, window=t(f"reports.window.{window}", lang=lang)),
        f"{len(incidents):,}",
        help=t("reports.kpi.incidents_help", lang=lang),
    )


# -- the feed ----------------------------------------------------------------------------------


def _sel_key(key: tuple[str, str]) -> str:
    return "rsel:" + reports.key_text(*key)


def selected(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The keys of ``keys`` whose checkbox is ticked."""
    return [k for k in keys if st.session_state.get(_sel_key(k))]


def _clear(keys) -> None:
    for k in keys:
        st.session_state[_sel_key(k)] = False


def _select_page(keys) -> None:
    value = bool(st.session_state.get("reports_select_all"))
    for k in keys:
        st.session_state[_sel_key(k)] = value


def _set_page(number: int) -> None:
    st.session_state[PAGE_KEY] = max(0, number)


def _do_triage(url: str, action: str, keys: list, assignee_key: str | None = None) -> None:
    """Callback of a triage button: permission check, then one audited update per post."""
    keys = [tuple(k) for k in keys if st.session_state.get(_sel_key(tuple(k)))]
    if not keys:
        return
    try:
        user = auth.check("reports", "triage")
        assignee = st.session_state.get(assignee_key) if assignee_key else None
        done = reports.triage(
            data.get_store(url), keys, action, actor=user.username, assignee=assignee
        )
    except (Forbidden, ValueError) as exc:
        st.session_state[MSG_KEY] = ("error", str(exc))
        return
    _clear(keys)
    st.session_state["reports_select_all"] = False
    st.session_state[MSG_KEY] = ("success", t(f"reports.done.{action}", n=done))


def _start_move(keys: list) -> None:
    keys = [tuple(k) for k in keys if st.session_state.get(_sel_key(tuple(k)))]
    if len(keys) == 1:
        st.session_state[MOVE_KEY] = keys[0]


def _cancel_move() -> None:
    st.session_state.pop(MOVE_KEY, None)


def staff_names(ctx: Context) -> list[str]:
    """Names to assign posts to: operators and admins, and names already assigned."""
    try:
        users = accounts.list_users(ctx.store)
    except Exception:  # noqa: BLE001 - no users table yet: free names only
        users = []
    names = [
        u.get("display_name") or u["username"]
        for u in users
        if u.get("role") in ("operator", "admin") and not u.get("disabled")
    ]
    return sorted(dict.fromkeys(names))


def show_message() -> None:
    """The result of the last triage action (set by a callback)."""
    msg = st.session_state.pop(MSG_KEY, None)
    if msg:
        kind, text = msg
        (st.error if kind == "error" else st.success)(text)


def action_bar(ctx: Context, keys: list[tuple[str, str]]) -> None:
    """Bulk triage on the ticked posts of the page: verify, dismiss, handled, reopen, assign."""
    lang = ctx.lang
    n = len(selected(keys))
    args = [[list(k) for k in keys]]
    with st.container(border=True):
        top = st.columns([2, 3, 1.4], vertical_alignment="bottom")
        top[0].checkbox(
            t("reports.select_page", lang=lang),
            key="reports_select_all",
            on_change=_select_page,
            args=(keys,),
        )
        top[0].caption(t("reports.selected", lang=lang, n=n))
        top[1].selectbox(
            t("reports.assignee", lang=lang),
            options=staff_names(ctx),
            index=None,
            accept_new_options=True,
            placeholder=t("reports.assignee_placeholder", lang=lang),
            key="reports_assignee",
        )
        top[2].button(
            t("reports.action.assign", lang=lang),
            key="reports_do_assign",
            icon=":material/person_add:",
            disabled=n == 0,
            on_click=_do_triage,
            args=(ctx.url, "assign", *args, "reports_assignee"),
            width="stretch",
        )
        low = st.columns(5)
        for col, action in zip(low, ACTION_ICONS, strict=False):
            col.button(
                t(f"reports.action.{action}", lang=lang),
                icon=ACTION_ICONS[action],
                key=f"reports_do_{action}",
                disabled=n == 0,
                on_click=_do_triage,
                args=(ctx.url, action, *args),
                type="primary" if action == "verify" else "secondary",
                width="stretch",
            )
        low[4].button(
            t("reports.action.move", lang=lang),
            key="reports_do_move",
            icon=":material/edit_location_alt:",
            disabled=n != 1,
            on_click=_start_move,
            args=args,
            help=t("reports.action.move_help", lang=lang),
            width="stretch",
        )


def page_rows(ctx: Context, view: reports.FeedView) -> tuple[gpd.GeoDataFrame, int]:
    """The current page's posts (masked for roles without personal data) and its number."""
    number = max(0, min(int(st.session_state.get(PAGE_KEY, 0)), view.pages() - 1))
    rows = reports.page_rows(ctx.store, view.page(number))
    return auth.mask("posts", rows), number


def pager(ctx: Context, view: reports.FeedView, number: int) -> None:
    lang = ctx.lang
    first = number * reports.PAGE_SIZE + 1 if view.total else 0
    last = min(view.total, (number + 1) * reports.PAGE_SIZE)
    c1, c2, c3 = st.columns([1, 3, 1], vertical_alignment="center")
    c1.button(
        t("reports.prev", lang=lang),
        key="reports_prev",
        disabled=number == 0,
        on_click=_set_page,
        args=(number - 1,),
        width="stretch",
    )
    c2.markdown(
        t(
            "reports.page_of",
            lang=lang,
            first=f"{first:,}",
            last=f"{last:,}",
            total=f"{view.total:,}",
        )
    )
    c3.button(
        t("reports.next", lang=lang),
        key="reports_next",
        disabled=number >= view.pages() - 1,
        on_click=_set_page,
        args=(number + 1,),
        width="stretch",
    )


def feed(ctx: Context, view: reports.FeedView, rows: gpd.GeoDataFrame, number: int) -> None:
    """The page's post cards (numbered like the map pins), with a checkbox each for triage."""
    lang = ctx.lang
    keys = list(zip(rows["platform"], rows["post_id"], strict=True))
    if ctx.can_triage and keys:
        action_bar(ctx, keys)
    pager(ctx, view, number)
    if not keys:
        st.info(t("reports.empty", lang=lang))
        return
    st.html(reports_feed.FEED_CSS)
    offset = number * reports.PAGE_SIZE
    copies = view.page_copies(number)
    with st.container(height=FEED_HEIGHT, border=False):
        for i, row in enumerate(rows.to_dict("records")):
            key = (row["platform"], row["post_id"])
            card = reports_feed.post_card_html(
                row,
                offset + i + 1,
                lang=lang,
                towns=ctx.names,
                copies=copies.get(reports.key_text(*key), 0),
                show_author=ctx.show_author,
            )
            if ctx.can_triage:
                box, body = st.columns([0.05, 0.95], vertical_alignment="center")
                box.checkbox(
                    t("reports.select_one", lang=lang, no=offset + i + 1),
                    key=_sel_key(key),
                    label_visibility="collapsed",
                )
                body.html(card)
            else:
                st.html(card)


def incident_list(ctx: Context, incidents: gpd.GeoDataFrame) -> None:
    lang = ctx.lang
    if incidents.empty:
        st.info(t("reports.no_incidents", lang=lang))
        return
    st.caption(
        t(
            "reports.incidents_shown",
            lang=lang,
            n=min(len(incidents), INCIDENT_CARDS),
            total=len(incidents),
        )
    )
    st.html(reports_feed.FEED_CSS)
    with st.container(height=FEED_HEIGHT, border=False):
        for row in incidents.head(INCIDENT_CARDS).to_dict("records"):
            st.html(reports_feed.incident_card_html(row, lang=lang, towns=ctx.names))


# -- the map -----------------------------------------------------------------------------------


def map_panel(
    ctx: Context,
    view: reports.FeedView,
    rows: gpd.GeoDataFrame,
    number: int,
    incidents: gpd.GeoDataFrame,
) -> None:
    """The map; while a post is being moved, a click on the map places it there."""
    lang = ctx.lang
    moving = st.session_state.get(MOVE_KEY) if ctx.can_triage else None
    if moving:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.warning(t("reports.move_hint", lang=lang, post=reports.key_text(*moving)))
        c2.button(
            t("reports.move_cancel", lang=lang), on_click=_cancel_move, key="reports_move_cancel"
        )
    offset = number * reports.PAGE_SIZE
    numbers = {
        (p, i): offset + n + 1
        for n, (p, i) in enumerate(zip(rows["platform"], rows["post_id"], strict=True))
    }
    incidents = incidents.head(reports.INCIDENT_LIMIT)
    tiles, tile_url = settings.get("BOSAI_TILES"), settings.get("BOSAI_TILE_URL")
    moving = tuple(moving) if moving else None

    # the towns, boundaries and incidents layers rendered once per content (shared by maps
    # whose hexagons or page changed); the incidents by a digest of the rows shown
    incidents_key = map_cache.fingerprint(incidents)
    layer_keys = {
        "towns": (ctx.url, ctx.layer_versions),
        "boundaries": (ctx.url, ctx.layer_versions),
        "incidents": (ctx.url, ctx.layer_versions, incidents_key),
    }

    def build():
        return reports_map.reports_map(
            ctx.towns,
            view.hexes,
            rows,
            numbers,
            incidents,
            boundaries=ctx.boundaries,
            tiles=tiles,
            tile_url=tile_url,
            lang=lang,
            show_author=ctx.show_author,
            moving=moving,
            layer_keys=layer_keys,
        )

    # rendered once per content: a rerun with the same hexagons, page and incidents reuses it
    # (the small frames shown are digested; towns and boundaries by their data versions)
    key = map_cache.fingerprint(
        view.hexes, rows, numbers, incidents_key,
        (ctx.layer_versions, tiles, tile_url, lang, ctx.show_author, moving),
    )  # fmt: skip
    out = map_cache.show(
        map_cache.cached_args(key, build),
        key="reports_map",
        height=MAP_HEIGHT,
        returned_objects=["last_clicked"] if moving else [],
    )
    st.html(reports_feed.FEED_CSS + reports_feed.category_legend_html(lang))
    st.caption(t("reports.map.caption", lang=lang, hexes=len(view.hexes)))
    click = (out or {}).get("last_clicked") if moving else None
    if click and click != st.session_state.get(CLICK_KEY):
        st.session_state[CLICK_KEY] = click
        _move(ctx, tuple(moving), click)


def _move(ctx: Context, key: tuple[str, str], click: dict) -> None:
    try:
        user = auth.check("reports", "triage")
        record = reports.move_post(
            ctx.store, key, click["lng"], click["lat"], ctx.towns, actor=user.username
        )
    except (Forbidden, ValueError, KeyError) as exc:
        st.session_state[MSG_KEY] = ("error", str(exc))
    else:
        town = ctx.names.get(record.get("town_code")) or t("reports.place.none", lang=ctx.lang)
        st.session_state[MSG_KEY] = ("success", t("reports.done.move", lang=ctx.lang, town=town))
    st.session_state.pop(MOVE_KEY, None)
    st.rerun()
