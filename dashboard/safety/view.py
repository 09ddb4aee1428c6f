"""The widgets of the 安否確認 page that every role sees: KPIs, reply-rate chart, town table and
map. Every count comes from :mod:`geodata.safety`; the personal part (the visit list, its
follow-up form and downloads, matching unmatched replies) is :mod:`dashboard.safety.form`.

Viewers (``safety/view`` only) get the counts, the chart, the town table and a map of displaced
points; the homes on the map need ``safety/view_personal``, checked on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard import auth, data, settings, widgets
from dashboard.i18n import current_lang, t
from dashboard.maps import evacuation as evac_maps
from dashboard.safety import data as safety_data
from dashboard.safety import map as safety_map
from geodata import evacuation, safety
from geodata.access import roles
from geodata.access.roles import User
from geodata.schema import now_utc
from geodata.vocab import SAFETY_STATUSES

MSG_KEY = "safety_msg"
MAP_HEIGHT = 640


@dataclass
class Context:
    """The page's data, loaded once per run from the cached loaders."""

    url: str
    lang: str
    user: User | None
    code: str  # the municipality
    key: tuple[int, ...]  # data versions of roster, replies, follow-ups, evacuations
    towns_version: int
    towns: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame
    states: pd.DataFrame
    personal: bool
    can_follow_up: bool
    can_export: bool

    @property
    def store(self):
        return data.get_store(self.url)

    @property
    def city(self) -> str:
        names = self.towns["city_name"].dropna() if "city_name" in self.towns else []
        return str(names.iloc[0]) if len(names) else data.municipality_code()


def context() -> Context | None:
    """The data versions, towns and resident states; None (reason shown) when unreachable.

    The roster and replies themselves are read only by the cached derivations of
    :mod:`dashboard.safety.data`, so a rerun does not copy them out of the cache.
    """
    opened = widgets.open_store()
    if opened is None:
        return None
    url, store = opened.url, opened.store
    key = safety_data.versions(store)
    versions = {layer: store.data_version(layer) for layer in ("towns", "boundaries")}
    code = data.municipality_code()
    user = auth.current_user()
    return Context(
        url=url,
        lang=current_lang(),
        user=user,
        code=code,
        key=key,
        towns_version=versions["towns"],
        towns=data.load_towns(url, code, versions["towns"]),
        boundaries=data.load_layer(
            url, "boundaries", None, versions["boundaries"], where=(("city_code", code),)
        ),
        states=safety_data.states(url, key),
        personal=roles.allowed(user, "safety", "view_personal"),
        can_follow_up=roles.allowed(user, "safety", "follow_up"),
        can_export=roles.allowed(user, "safety", "view_personal")
        and roles.allowed(user, "export", "export_internal"),
    )


def show_message() -> None:
    """The result of the last write (set before a rerun)."""
    msg = st.session_state.pop(MSG_KEY, None)
    if msg:
        kind, text = msg
        (st.error if kind == "error" else st.success)(text)


def kpi_row(ctx: Context) -> None:
    """Registered, replied (rate), needing rescue, injured, reached by follow-up, not yet heard."""
    lang = ctx.lang
    n = safety.totals(ctx.states)
    rate = safety.reply_rate(n["replied"], n["registered"])
    cols = st.columns(6)
    cols[0].metric(t("safety.kpi.registered", lang=lang), f"{n['registered']:,}")
    cols[1].metric(t("safety.kpi.replied", lang=lang), f"{n['replied']:,}（{rate:.1f}%）")
    cols[2].metric(t("safety_status.要救助", lang=lang), f"{n['要救助']:,}")
    cols[3].metric(t("safety_status.負傷", lang=lang), f"{n['負傷']:,}")
    cols[4].metric(t("safety.kpi.reached", lang=lang), f"{n['reached']:,}")
    cols[5].metric(t("safety.kpi.unconfirmed", lang=lang), f"{n['unconfirmed']:,}")


def reply_chart(ctx: Context) -> None:
    """Cumulative share of the roster heard from, by hour (JST)."""
    lang = ctx.lang
    st.markdown(f"**{t('safety.chart.title', lang=lang)}**")
    hourly = safety.reply_rate_by_hour(ctx.states, now=now_utc())
    if hourly.empty:
        st.info(t("safety.chart.empty", lang=lang))
        return
    series = {
        "replied_pct": t("safety.chart.replied", lang=lang),
        "confirmed_pct": t("safety.chart.confirmed", lang=lang),
    }
    long = hourly.melt(id_vars="hour", value_vars=list(series), var_name="series", value_name="pct")
    long["series"] = long["series"].map(series)
    # The hours are naive JST; a UTC scale shows them as they are, whatever the browser's zone.
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "hour:T",
                title=t("safety.chart.hour", lang=lang),
                scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%m/%d %H:%M", labelAngle=0),
            ),
            y=alt.Y(
                "pct:Q",
                title=t("safety.chart.percent", lang=lang),
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(range=["#1565c0", "#2e7d32"]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip(
                    "hour:T", title=t("safety.chart.hour", lang=lang), format="%m/%d %H:%M"
                ),
                alt.Tooltip("series:N", title=""),
                alt.Tooltip("pct:Q", title="%", format=".1f"),
            ],
        )
        .properties(height=230)
    )
    st.altair_chart(chart, width="stretch")


def town_table(ctx: Context) -> pd.DataFrame:
    """The counts per town (every role sees them); returns the table."""
    lang = ctx.lang
    table = safety.town_table(ctx.states, ctx.towns)
    st.markdown(f"**{t('safety.towns.title', lang=lang)}**")
    shown = table.drop(columns="town_code")
    labels = {
        c: t(SAFETY_STATUSES.key(c) if c in SAFETY_STATUSES else f"safety.col.{c}", lang=lang)
        for c in shown.columns
    }
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=380,
        column_config={
            **{c: st.column_config.NumberColumn(labels[c], format="%d", width=46) for c in labels},
            "town": st.column_config.TextColumn(labels["town"], width=104),
            "reply_rate": st.column_config.ProgressColumn(
                labels["reply_rate"], min_value=0, max_value=100, format="%.0f%%", width=72
            ),
        },
        key="safety_towns",
    )
    return table


def reply_map(ctx: Context, table: pd.DataFrame, town_codes: list[str] | None) -> None:
    """Towns shaded by unconfirmed residents, replies by status, homes to visit (operators).

    ``town_codes``: the towns the operator's list is narrowed to (their homes are drawn).
    """
    role = ctx.user.role if ctx.user else None
    points = safety_data.reply_points(ctx.url, ctx.key, role, ctx.lang)
    homes = None
    if ctx.personal:
        auth.require("safety", "view_personal")
        codes = tuple(town_codes) if town_codes else None
        homes = safety_data.homes(ctx.url, ctx.code, ctx.key, ctx.towns_version, codes, ctx.lang)
    m = safety_map.safety_map(
        safety_map.towns_with_counts(ctx.towns, table),
        points,
        homes,
        boundaries=ctx.boundaries,
        tiles=settings.get("BOSAI_TILES"),
        tile_url=settings.get("BOSAI_TILE_URL"),
        lang=ctx.lang,
    )
    found = evacuation.in_force(ctx.store)
    layer = evac_maps.evacuation_layer(ctx.towns, found, ctx.lang, fill_opacity=0.2)
    if layer is not None:
        layer.add_to(m)
        evac_maps.evacuation_legend(ctx.lang).add_to(m)
    widgets.show_map(m, height=MAP_HEIGHT, key="safety_map")
    note = "safety.map.caption_personal" if ctx.personal else "safety.map.caption_masked"
    st.caption(t(note, lang=ctx.lang))
