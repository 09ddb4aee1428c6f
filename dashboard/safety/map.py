"""The safety map: towns shaded by unconfirmed residents, replies by status, homes to visit.

Pure folium builders. Reply points come in already masked for roles without personal data
(displaced 100–300 m, no names: :func:`dashboard.auth.mask`); the homes of the residents on the
visit list are drawn only when the caller passes them (operators and admins). Every text is
html-escaped.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd

from dashboard.i18n import t
from dashboard.maps.basemap import TownNames
from dashboard.maps.elements import GeoJsonLayer, Legend, PointData, PointLayer, point_data
from dashboard.maps.layers import base_map, boundary_layer, layer_control
from dashboard.reports.cards import when_texts
from geodata.export.map_style import NOT_REPLIED_CLASSES
from geodata.geometry import STORE_CRS, feature_collection, points_only

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

    layer = GeoJsonLayer(
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
    TownNames(towns).add_to(layer)  # names from street zoom: readable without basemap tiles
    return layer


def towns_with_counts(towns: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """The town polygons with the counts of :func:`geodata.safety.town_table` (0 where nobody is
    registered)."""
    cols = ["registered", "replied", "unconfirmed"]
    counts = table.dropna(subset=["town_code"]).set_index("town_code")[cols]
    out = towns[["town_code", "name", "geometry"]].merge(
        counts, left_on="town_code", right_index=True, how="left"
    )
    out[cols] = out[cols].fillna(0).astype(int)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=towns.crs)


def homes(roster: gpd.GeoDataFrame, people: pd.DataFrame) -> gpd.GeoDataFrame:
    """The home points of ``people`` (a visit list) with what a map tooltip shows."""
    home = dict(zip(roster["resident_id"], roster.geometry, strict=False))
    cols = ["resident_id", "name", "address", "care_needs", "care_priority", "reply"]
    cols += ["last_follow_up"]
    return gpd.GeoDataFrame(
        people[cols].copy(),
        geometry=gpd.GeoSeries(
            [home.get(r) for r in people["resident_id"]], crs="EPSG:4326"
        ).values,
        crs="EPSG:4326",
    )


def _lat_lon(points: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[float], list[float]]:
    points = points_only(points)
    if points.crs is not None and not points.crs.equals(STORE_CRS):
        points = points.to_crs(STORE_CRS)
    return points, points.geometry.y.tolist(), points.geometry.x.tolist()


def _texts(frame: pd.DataFrame, col: str) -> list[str]:
    """The column's non-empty strings html-escaped ("" for anything else)."""
    if col not in frame:
        return [""] * len(frame)
    return [_E(v) if isinstance(v, str) and v else "" for v in frame[col]]


REPLY_STYLES = [
    {
        "className": "bosai-reply",
        "radius": 6,
        "fill": True,
        "fillColor": colour,
        "fillOpacity": 0.9,
        "color": "#ffffff",
        "weight": 1.2,
    }
    for colour in STATUS_COLOURS.values()
]  # one per status, in the order of STATUS_COLOURS
HOME_STYLE = {
    "className": "bosai-home",
    "radius": 6,
    "fill": True,
    "fillColor": "#ffffff",
    "fillOpacity": 0.6,
    "color": "#1f2933",
    "weight": 2.2,
}


def reply_points_data(points: gpd.GeoDataFrame, lang: str = "ja") -> PointData:
    """The reply points for :func:`replies_layer`: coloured by status; the tooltip holds the
    status, the resident's name when the frame still has it (operators), the time (JST), the
    channel, and a note when the sender is not matched to the roster."""
    points, lats, lons = _lat_lon(points)
    statuses = list(STATUS_COLOURS)
    titles = [_E(t(f"safety_status.{s}", lang=lang)) for s in statuses]
    via = _E(t("safety.map.channel", lang=lang, channel="\x00"))
    unmatched = _E(t("safety.map.unmatched", lang=lang))
    index = {s: i for i, s in enumerate(statuses)}
    status = [index.get(s, index["不明"]) for s in points["status"].fillna("不明")]
    flags = points["unmatched"].fillna(False).astype(bool) if "unmatched" in points else None
    flags = flags.tolist() if flags is not None else [False] * len(points)
    rows = [
        (lat, lon, st, name, when, via.replace("\x00", channel) if channel else "",
         unmatched if flag else "")
        for lat, lon, st, name, when, channel, flag in zip(
            lats, lons, status, _texts(points, "name"), when_texts(points["replied_at"]),
            _texts(points, "channel"), flags, strict=True,
        )
    ]  # fmt: skip
    # the rarest and most urgent are drawn last, on top: 無事 < 不明 < 負傷 < 要救助
    on_top = {index[s]: rank for rank, s in enumerate(("無事", "不明", "負傷", "要救助"))}
    rows.sort(key=lambda row: on_top[row[2]])
    return point_data(rows, REPLY_STYLES, titles)


def replies_layer(data: PointData, lang: str = "ja") -> PointLayer:
    """Reply points (:func:`reply_points_data`) coloured by status."""
    return PointLayer(data, name=t("safety.layer.replies", lang=lang))


def homes_data(people: gpd.GeoDataFrame, lang: str = "ja") -> PointData:
    """The homes of the residents on the visit list for :func:`homes_layer`; the tooltip holds
    the name, priority, address, care needs, the reply (要救助・負傷) and the last follow-up."""
    people, lats, lons = _lat_lon(people)
    prio_text = _E(t("safety.list.priority_n", lang=lang, n="\x00"))
    prios = people["care_priority"] if "care_priority" in people else [None] * len(people)
    prios = [
        "" if p is None or pd.isna(p) else prio_text.replace("\x00", str(int(p))) for p in prios
    ]
    rows = zip(
        lats, lons, [0] * len(lats), _texts(people, "name"), prios,
        *(_texts(people, c) for c in ("address", "care_needs", "reply", "last_follow_up")),
        strict=True,
    )  # fmt: skip
    return point_data(rows, [HOME_STYLE])


def homes_layer(data: PointData, lang: str = "ja") -> PointLayer:
    """Homes of the residents to visit (:func:`homes_data`; operators only): dark rings."""
    return PointLayer(data, name=t("safety.layer.homes", lang=lang))


def legend(lang: str = "ja", homes: bool = False) -> Legend:
    """Reply statuses, the homes ring and the town classes."""
    rows = [
        (colour, "#ffffff", t(f"safety_status.{status}", lang=lang))
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
    replies: PointData,
    homes: PointData | None = None,
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
        :func:`geodata.safety.town_table`).
    replies : :func:`reply_points_data` of the reply points, masked as the user may see them.
    homes : :func:`homes_data` of the non-responders (operators only), or None.
    """
    bounds = tuple(towns.total_bounds) if len(towns) else None
    dense = replies.dense or (homes is not None and homes.dense)
    m = base_map(bounds, tiles=tiles, tile_url=tile_url, lang=lang, prefer_canvas=dense)
    if len(towns):
        towns_layer(towns, lang=lang).add_to(m)
    if boundaries is not None and len(boundaries):
        boundary_layer(boundaries, lang=lang).add_to(m)
    if homes is not None and homes.count:
        homes_layer(homes, lang=lang).add_to(m)
    if replies.count:
        replies_layer(replies, lang=lang).add_to(m)
    legend(lang, homes=homes is not None and homes.count > 0).add_to(m)
    return layer_control(m)
