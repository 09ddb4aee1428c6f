"""The safety map: towns shaded by residents not yet heard from, replies by status, homes to visit.

Pure folium builders. Reply points come in already masked for roles without personal data
(displaced 100–300 m, no names: :func:`dashboard.auth.mask`); the homes of non-responders are
drawn only when the caller passes them (operators and admins). Every text is html-escaped.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd

from dashboard.i18n import t
from dashboard.map_elements import Legend
from dashboard.maps import base_map, boundary_layer, layer_control
from geodata.export_map_style import NOT_REPLIED_CLASSES

from .reports_feed import when_text
from .reports_geo import feature_collection, points_only

_E = html.escape
STATUS_COLOURS = {"無事": "#1a9850", "負傷": "#fd8d3c", "要救助": "#d73027", "不明": "#8c8c8c"}
NO_UNCONFIRMED = "#f7f4ec"  # towns where everyone has been heard from


def unconfirmed_colour(count) -> str:
    """The town fill for ``count`` residents not yet heard from (classes of the 状況図).

    Examples
    --------
    >>> unconfirmed_colour(0), unconfirmed_colour(4)
    ('#f7f4ec', '#f9c77a')
    """
    count = int(count or 0)
    for low, high, _, colour in NOT_REPLIED_CLASSES:
        if low <= count <= high:
            return colour
    return NO_UNCONFIRMED


def _range_label(low: int, high: int, lang: str) -> str:
    if high >= 10**6:
        return t("safety.map.class_open", lang=lang, low=low)
    return t("safety.map.class", lang=lang, low=low, high=high)


def towns_layer(towns: gpd.GeoDataFrame, lang: str = "ja") -> folium.GeoJson:
    """Towns with registered / replied / unconfirmed counts in the tooltip, shaded by unconfirmed."""

    def props(row: dict) -> dict:
        lines = [
            f"<b>{_E(str(row.get('name') or ''))}</b>",
            _E(
                t(
                    "safety.map.town_counts",
                    lang=lang,
                    registered=int(row.get("registered") or 0),
                    replied=int(row.get("replied") or 0),
                )
            ),  # fmt: skip
            _E(t("safety.map.town_unconfirmed", lang=lang, n=int(row.get("unconfirmed") or 0))),
        ]
        return {"label": "<br>".join(lines), "fill": unconfirmed_colour(row.get("unconfirmed"))}

    return folium.GeoJson(
        feature_collection(towns, "town_code", props),
        name=t("safety.layer.towns", lang=lang),
        style_function=lambda f: {
            "className": "bosai-town",
            "color": "#6b6b6b",
            "weight": 1,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.7,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#222222"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        attribution=_E(t("attr.towns", lang=lang)),
    )


def replies_layer(points: gpd.GeoDataFrame, lang: str = "ja") -> folium.GeoJson:
    """Reply points coloured by status; the name shows only when the frame still has it."""

    def props(row: dict) -> dict:
        status = str(row.get("status") or "不明")
        lines = [f"<b>{_E(t(f'safety.status.{status}', lang=lang))}</b>"]
        name = row.get("name")
        if isinstance(name, str) and name:
            lines.append(_E(name))
        lines.append(_E(when_text(row.get("replied_at"))))
        channel = row.get("channel")
        if isinstance(channel, str) and channel:
            lines.append(_E(t("safety.map.channel", lang=lang, channel=channel)))
        if row.get("unmatched"):
            lines.append(_E(t("safety.map.unmatched", lang=lang)))
        return {"label": "<br>".join(lines), "fill": STATUS_COLOURS.get(status, "#8c8c8c")}

    return folium.GeoJson(
        feature_collection(points_only(points), None, props),
        name=t("safety.layer.replies", lang=lang),
        marker=folium.CircleMarker(radius=6),
        style_function=lambda f: {
            "className": "bosai-reply",
            "fill": True,
            "radius": 6,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.9,
            "color": "#ffffff",
            "weight": 1.2,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    )


def homes_layer(people: gpd.GeoDataFrame, lang: str = "ja") -> folium.GeoJson:
    """Homes of residents not yet heard from (operators only): hollow dark rings."""

    def props(row: dict) -> dict:
        prio = row.get("care_priority")
        lines = [f"<b>{_E(str(row.get('name') or ''))}</b>"]
        if prio is not None and not pd.isna(prio):
            lines.append(_E(t("safety.list.priority_n", lang=lang, n=int(prio))))
        for col in ("address", "care_needs", "last_follow_up"):
            value = row.get(col)
            if isinstance(value, str) and value:
                lines.append(_E(value))
        return {"label": "<br>".join(lines)}

    return folium.GeoJson(
        feature_collection(points_only(people), "resident_id", props),
        name=t("safety.layer.homes", lang=lang),
        marker=folium.CircleMarker(radius=6),
        style_function=lambda f: {
            "className": "bosai-home",
            "radius": 6,
            "fill": True,
            "fillColor": "#ffffff",
            "fillOpacity": 0.6,
            "color": "#1f2933",
            "weight": 2.2,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    )


def legend(lang: str = "ja", homes: bool = False) -> Legend:
    """Reply statuses, the homes ring and the town classes."""
    rows = [
        (colour, "#ffffff", t(f"safety.status.{status}", lang=lang))
        for status, colour in STATUS_COLOURS.items()
    ]
    if homes:
        rows.append(("#ffffff", "#1f2933", t("safety.layer.homes", lang=lang)))
    rows += [
        (colour, "#6b6b6b", t("safety.map.town_class", lang=lang, label=_range_label(lo, hi, lang)))
        for lo, hi, _, colour in NOT_REPLIED_CLASSES
    ]
    return Legend(t("safety.map.legend", lang=lang), rows, position="bottomright")


def safety_map(
    towns: gpd.GeoDataFrame,
    replies: gpd.GeoDataFrame,
    homes: gpd.GeoDataFrame | None = None,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    tiles: str = "gsi_pale",
    tile_url: str = "",
    lang: str = "ja",
) -> folium.Map:
    """The safety map.

    Parameters
    ----------
    towns : town polygons with registered, replied, unconfirmed (from
        :func:`dashboard.safety.town_table`).
    replies : reply points (status, replied_at, channel, name, unmatched), masked as the user
        may see them.
    homes : non-responders with home points (operators only), or None.
    """
    bounds = tuple(towns.total_bounds) if len(towns) else None
    m = base_map(bounds, tiles=tiles, tile_url=tile_url, lang=lang)
    if len(towns):
        towns_layer(towns, lang=lang).add_to(m)
    if boundaries is not None and len(boundaries):
        boundary_layer(boundaries, lang=lang).add_to(m)
    if homes is not None and len(homes):
        homes_layer(homes, lang=lang).add_to(m)
    if len(replies):
        replies_layer(replies, lang=lang).add_to(m)
    legend(lang, homes=homes is not None and len(homes) > 0).add_to(m)
    return layer_control(m)
