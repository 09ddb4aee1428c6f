"""The overview as the HQ's common picture: live KPI tiles with thresholds and the picture map.

What is counted and drawn is :mod:`geodata.picture` (the same as the printed situation map);
this module shows it. The map is split as the shelters wall's (docs/kiosk.md, "The map keeps its
view"): :func:`context_map` (basemap, towns, hazard areas, boundary, legend) is the same at every
refresh; :func:`live_layers` (residents not confirmed by town, damage hexagons, life-threatening
reports, shelters, evacuation information, rescue counts by town) are swapped inside it.

A screen that may not see personal data — a viewer, and every wall screen — gets the public
picture (``public=True``): confirmed reports only, none near a home, small counts suppressed,
rescue requests only as counts per town.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from dashboard import auth, data, kiosk
from dashboard.i18n import t
from dashboard.maps import evacuation as evac_maps
from dashboard.maps import layers as maps
from dashboard.maps.elements import GeoJsonLayer, LabelLayer, Legend, PointLayer, point_data
from dashboard.picture_data import load, part_versions  # noqa: F401 - the pages' loader
from dashboard.reports import map as reports_map
from dashboard.safety.map import unconfirmed_colour
from dashboard.shelters import map as shelters_map
from geodata import evacuation, picture, warnings
from geodata.geometry import feature_collection
from geodata.shelters import FULL

_E = html.escape
LIFE_COLOUR = "#b2182b"
RESCUE_COLOUR = "#b71c1c"  # the 「要救助 N」 labels (maps.elements.MAP_CSS .bosai-rescue)
LEVEL_STYLE = {  # KPI tile: (background, text)
    "ok": ("#f4f6f8", "#000000"),
    "warn": ("#ffb300", "#000000"),
    "alert": ("#b71c1c", "#ffffff"),
}
# A tile's level colours its box (the container key carries it: st-key-kpi-<key>-<level>). The
# line under the value is a caption, not the metric's delta: the delta draws an icon, and the
# icon font (about 2 MB) would be the biggest download of the page.
_CSS = (
    "<style>"
    + "".join(
        f".st-key-kpi-{key}-{lvl} {{ background: {bg}; border: 2px solid #9e9e9e;"
        f" border-radius: 0.5rem; padding: 0.3rem 0.7rem 0.4rem 0.7rem; gap: 0 !important; }}"
        f".st-key-kpi-{key}-{lvl} * {{ color: {fg} !important; }}"
        for key in picture.KPI_KEYS
        for lvl, (bg, fg) in LEVEL_STYLE.items()
    )
    + "</style>"
)
SIMPLIFY_DEG = 0.00005  # about 5 m: town shading needs no survey precision (a quarter the bytes)


def public_picture() -> bool:
    """Whether this screen gets the public picture (wall screens, roles without personal data)."""
    return kiosk.enabled() or not auth.can("safety", "view_personal")


def _fmt(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def tiles(p: picture.Picture, lang: str = "ja") -> list[tuple[str, str, str, str, str]]:
    """The five KPI tiles: (key, label, value, line under it, level)."""
    k = p.kpis
    occupancy = k["evacuees"]["occupancy"]
    share = k["unconfirmed"]["share"]
    evac = k["evacuation"]
    life_sub = "wall.kpi.life_sub" if p.situation.public else "wall.kpi.life_sub_all"
    rows = [
        ("shelters", t("kpi.shelters_open", lang=lang),
         f"{k['shelters']['open']:,} / {k['shelters']['total']:,}",
         t("wall.kpi.full", lang=lang, n=k["shelters"]["full"])),
        ("evacuees", t("measure.evacuees", lang=lang), _fmt(k["evacuees"]["value"]),
         t("wall.kpi.occupancy", lang=lang, pct=f"{occupancy:.0%}") if occupancy is not None
         else t("wall.kpi.no_capacity", lang=lang)),
        ("unconfirmed", t("wall.kpi.unconfirmed", lang=lang), _fmt(k["unconfirmed"]["value"]),
         t("wall.kpi.of_roster", lang=lang, pct=f"{share:.0%}",
           n=_fmt(k["unconfirmed"]["roster"])) if share is not None else "–"),
        ("life_threatening", t("wall.kpi.life", lang=lang), _fmt(k["life_threatening"]["value"]),
         t(life_sub, lang=lang)),
        ("evacuation", t("wall.kpi.evacuation", lang=lang),
         t("wall.kpi.towns", lang=lang, n=evac["towns"]),
         evacuation.level_title(evac["top_level"], lang) if evac["top_level"]
         else t("wall.kpi.no_evacuation", lang=lang)),
    ]  # fmt: skip
    return [(key, label, value, sub, k[key]["level"]) for key, label, value, sub in rows]


def kpi_tiles(p: picture.Picture, lang: str = "ja") -> None:
    """The tiles as metrics, each in a container whose key names its level (the colour)."""
    st.html(_CSS)
    for col, (key, label, value, sub, lvl) in zip(st.columns(5), tiles(p, lang), strict=True):
        with col.container(key=f"kpi-{key}-{lvl}"):
            st.metric(label, value)
            st.caption(sub)


LEGEND_ROWS = ("shelter_open", "shelter_busy", "full", "damage", "life", "unconfirmed", "rescue",
               "evacuation")  # fmt: skip


def legend(lang: str = "ja", shown: tuple[str, ...] = LEGEND_ROWS, title: str = "wall.legend"
           ) -> Legend:  # fmt: skip
    """One legend for the whole picture (a wall cannot afford four); ``shown``: the rows of
    :data:`LEGEND_ROWS` a map draws (the safety wall's map: residents and evacuation only)."""
    rows = {
        "shelter_open": (maps.OCCUPANCY_COLOURS[0], "#333333",
                         t("wall.legend.shelter_open", lang=lang)),
        "shelter_busy": (maps.OCCUPANCY_COLOURS[3], "#333333",
                         t("wall.legend.shelter_busy", lang=lang)),
        "full": (maps.SHELTER_COLOURS[FULL], "#333333", t("shelter_status.満員", lang=lang)),
        "damage": (reports_map.HEX_CLASSES[3][1], "#8c6d1f", t("wall.legend.damage", lang=lang)),
        "life": ("#ffffff", LIFE_COLOUR, t("wall.legend.life", lang=lang)),
        "unconfirmed": (unconfirmed_colour(10), "#999999",
                        t("wall.legend.unconfirmed", lang=lang)),
        "rescue": (RESCUE_COLOUR, "#7f0000", t("wall.legend.rescue", lang=lang)),
        "evacuation": (evacuation.LEVEL_COLOURS[4], evacuation.LEVEL_COLOURS[4],
                       t("wall.legend.evacuation", lang=lang)),
    }  # fmt: skip
    return Legend(t(title, lang=lang), [rows[k] for k in shown], position="bottomright")


def context_map(ref: data.ReferenceLayers, tiles: str, tile_url: str, measure=None,
                lang: str = "ja") -> folium.Map:  # fmt: skip
    """The part of the overview map that does not change with the data."""
    towns = maps.add_density(ref.towns) if measure == "density" else ref.towns
    bounds = tuple(ref.towns.total_bounds) if len(ref.towns) else None
    m = maps.base_map(bounds, tiles=tiles, tile_url=tile_url, lang=lang)
    if len(towns):
        maps.towns_layer(towns, measure=measure, lang=lang).add_to(m)
        town_legend = maps.towns_legend(towns, measure, lang=lang) if measure else None
        if town_legend is not None:
            town_legend.position = "bottomleft"
            town_legend.add_to(m)
    if len(ref.hazard):
        maps.hazard_layer(ref.hazard, lang=lang).add_to(m)
    if ref.boundaries is not None and len(ref.boundaries):
        maps.boundary_layer(ref.boundaries, lang=lang).add_to(m)
    legend(lang).add_to(m)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        shelters_map.FitBoundsBeside([[miny, minx], [maxy, maxx]], bottom=0).add_to(m)
    return m


def _count_value(value) -> int:
    """A suppressed mark counts as a small number for the colour (never as none)."""
    return value if isinstance(value, int) else 1


def unconfirmed_layer(towns: gpd.GeoDataFrame, lang: str = "ja") -> folium.FeatureGroup:
    """Towns shaded by residents not confirmed safe (suppressed marks as the smallest class)."""
    group = folium.FeatureGroup(name=t("wall.layer.unconfirmed", lang=lang))
    if not len(towns):
        return group

    def props(row: dict) -> dict:
        n = row.get("unconfirmed")
        return {
            "label": f"<b>{_E(str(row.get('name') or ''))}</b><br>"
            + _E(t("wall.town.unconfirmed", lang=lang, n=_fmt(n))),
            "fill": unconfirmed_colour(_count_value(n)) if n not in (0, None) else "#ffffff",
            "shown": n not in (0, None),
        }

    shapes = towns.assign(geometry=towns.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True))
    GeoJsonLayer(
        feature_collection(shapes, "town_code", props),
        name=t("wall.layer.unconfirmed", lang=lang),
        style_function=lambda f: {
            "className": "bosai-unconfirmed",
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.55 if f["properties"]["shown"] else 0.0,
            "color": "#666666",
            "weight": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    ).add_to(group)
    return group


def rescue_labels(towns: gpd.GeoDataFrame, lang: str = "ja") -> folium.FeatureGroup:
    """「要救助 N」 per town (residents whose newest reply asks for help or says injured): a
    count per town, never a point at a home. Public: towns under the small-count threshold
    are not labelled. A label that would overlap a larger rescue count's is hidden until the
    map is zoomed in far enough (:class:`~dashboard.maps.elements.Declutter`: largest first);
    the other labels (evacuees per shelter) give way to these."""
    group = folium.FeatureGroup(name=t("wall.layer.rescue", lang=lang))
    if not len(towns) or "needs_help" not in towns:
        return group
    # A suppressed mark (3人未満 / 秘匿) is also what a town with nobody shows: only counts
    # are labelled (the total is on the safety wall).
    rows = towns[[isinstance(v, int) and v > 0 for v in towns["needs_help"]]]
    rows = rows.sort_values("needs_help", ascending=False, kind="stable")
    labels = []
    for n, geom in zip(rows["needs_help"], rows.geometry, strict=True):
        point = geom.representative_point()
        labels.append((point.y, point.x, _E(t("wall.town.rescue", lang=lang, n=_fmt(n)))))
    if labels:  # one script for every label, not a folium marker and tooltip each
        LabelLayer(
            labels,
            {
                "permanent": True,
                "direction": "center",
                # bosai-first: never hidden behind another label (maps.elements.Declutter)
                "className": "bosai-wall-label bosai-rescue bosai-first",
            },
        ).add_to(group)
    return group


LIFE_STYLE = {"radius": 11, "color": LIFE_COLOUR, "weight": 4, "fill": True,
              "fillColor": "#ffffff", "fillOpacity": 0.6, "className": "bosai-life"}  # fmt: skip


def life_layer(reports: gpd.GeoDataFrame, lang: str = "ja") -> folium.FeatureGroup:
    """Life-threatening damage reports as red rings (public: confirmed, away from homes).

    One :class:`~dashboard.maps.elements.PointLayer` (compact rows drawn in the browser), not a
    ``folium.CircleMarker`` each: at 100k posts there are hundreds, and every folium marker and
    tooltip is a Jinja template compiled at each rerun (half the overview's map build time)."""
    group = folium.FeatureGroup(name=t("wall.layer.life", lang=lang))
    if reports is None or not len(reports):
        return group
    categories = reports["category"] if "category" in reports else [None] * len(reports)
    rows = []
    for category, geom in zip(categories, reports.geometry, strict=True):
        if geom is None or geom.is_empty:
            continue
        point = geom.representative_point()
        label = _E(reports_map.category_label(category or "その他", lang))
        rows.append((point.y, point.x, 0, label))
    layer = PointLayer(point_data(rows, [LIFE_STYLE], dense_over=len(rows) + 1))
    layer.control = False  # the group is what the layer control lists
    layer.add_to(group)
    return group


def damage_layer(hexes: gpd.GeoDataFrame, lang: str = "ja") -> folium.FeatureGroup:
    """Damage reports of the last 24 h aggregated into hexagons (any scale)."""
    group = folium.FeatureGroup(name=t("wall.layer.damage", lang=lang))
    if len(hexes):
        reports_map.hex_layer(hexes, lang=lang).add_to(group)
    return group


def live_layers(p: picture.Picture, ref: data.ReferenceLayers, status: pd.DataFrame, store,
                lang: str = "ja", as_of=None) -> list[folium.FeatureGroup]:  # fmt: skip
    """Every layer of the picture that changes with the data, bottom to top."""
    towns = p.situation.towns
    return [
        unconfirmed_layer(towns, lang),
        *evac_maps.live_layers(ref.towns, evacuation.in_force(store, as_of),
                               warnings.towns_in_force(store), lang),
        damage_layer(p.hexes, lang),
        *shelters_map.live_layers(ref.shelters, status, lang=lang),
        life_layer(p.life_threatening, lang),
        rescue_labels(towns, lang),
    ]  # fmt: skip
