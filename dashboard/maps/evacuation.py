"""Towns under evacuation information, and towns where a warning applies, as folium layers.

Evacuation information is drawn in the official 警戒レベル colours
(:data:`geodata.evacuation.LEVEL_COLOURS`: 5 black, 4 purple, 3 red), a strong fill and outline
so the wall screen reads it from across the room; its paths carry the CSS classes
``bosai-evac bosai-evac-<level>`` (browser tests count them). Towns where a warning applies are a
dashed outline in the warning's level colour (``bosai-warning``), no fill: the HQ tells at a
glance where JMA warns and where the city has issued.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd

from dashboard.i18n import t
from dashboard.maps.elements import GeoJsonLayer, Legend
from dashboard.maps.layers import _collection, _tooltip
from geodata import evacuation, vocab

_E = html.escape


def _jst(value) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M")


def evacuation_layer(
    towns: gpd.GeoDataFrame, found: pd.DataFrame, lang: str = "ja", fill_opacity: float = 0.55
) -> GeoJsonLayer | None:
    """The towns of ``found`` (:func:`geodata.evacuation.in_force`) in their level's colour
    (a lighter fill where the map's own shading must stay readable: the safety map)."""
    if found is None or found.empty or towns.empty:
        return None
    shapes = towns[["town_code", "name", "geometry"]].drop_duplicates("town_code")
    mine = shapes.merge(found[["town_code", "level", "hazard", "since"]], on="town_code")
    if mine.empty:
        return None
    mine = gpd.GeoDataFrame(mine, geometry="geometry", crs=towns.crs)

    def props(row: dict) -> dict:
        level = int(row["level"])
        label = (
            f"<b>{_E(str(row.get('name') or ''))}</b><br>"
            f"{_E(evacuation.level_title(level, lang))}"
            f"（{_E(vocab.HAZARDS.label(row.get('hazard'), lang))}）<br>"
            f"{_E(t('evac.since', lang=lang, time=_jst(row.get('since'))))}"
        )
        return {"label": label, "level": level}

    def style(feature: dict) -> dict:
        level = feature["properties"]["level"]
        colour = evacuation.LEVEL_COLOURS[level]
        return {
            "className": f"bosai-evac bosai-evac-{level}",
            "color": colour,
            "weight": 3,
            "fillColor": colour,
            "fillOpacity": fill_opacity,
        }

    return GeoJsonLayer(
        _collection(mine, "town_code", props),
        name=t("evac.layer", lang=lang),
        style_function=style,
        tooltip=_tooltip(),
    )


def warning_layer(
    towns: gpd.GeoDataFrame, warned: pd.DataFrame, lang: str = "ja"
) -> GeoJsonLayer | None:
    """Towns where a warning with a level applies (:func:`geodata.warnings.towns_in_force`),
    outlined dashed in the level's colour (the highest level per town)."""
    if warned is None or warned.empty or towns.empty:
        return None
    best = warned.assign(_l=warned["level"].fillna(0).astype(int))
    best = best.sort_values("_l", ascending=False).drop_duplicates("town_code")
    best = best[best["_l"] >= 2]
    shapes = towns[["town_code", "name", "geometry"]].drop_duplicates("town_code")
    mine = shapes.merge(best[["town_code", "_l", "label"]], on="town_code")
    if mine.empty:
        return None
    mine = gpd.GeoDataFrame(mine, geometry="geometry", crs=towns.crs)

    def props(row: dict) -> dict:
        label = f"<b>{_E(str(row.get('name') or ''))}</b><br>{_E(str(row.get('label') or ''))}"
        return {"label": label, "level": int(row["_l"])}

    def style(feature: dict) -> dict:
        colour = evacuation.LEVEL_COLOURS[feature["properties"]["level"]]
        return {
            "className": "bosai-warning",
            "color": colour,
            "weight": 2,
            "dashArray": "6 4",
            "fill": False,
        }

    return GeoJsonLayer(
        _collection(mine, "town_code", props),
        name=t("evac.warning_layer", lang=lang),
        style_function=style,
        tooltip=_tooltip(),
    )


def evacuation_legend(lang: str = "ja") -> Legend:
    """The 警戒レベル colours of evacuation information (and the dashed warning outline)."""
    rows = [
        (evacuation.LEVEL_COLOURS[lvl], evacuation.LEVEL_COLOURS[lvl],
         evacuation.level_title(lvl, lang))
        for lvl in (5, 4, 3)
    ]  # fmt: skip
    rows.append(("#ffffff", evacuation.LEVEL_COLOURS[4], t("evac.legend.warning", lang=lang)))
    return Legend(t("evac.legend", lang=lang), rows, position="bottomleft")


def live_layers(
    towns: gpd.GeoDataFrame, found: pd.DataFrame, warned: pd.DataFrame, lang: str = "ja"
) -> list[folium.FeatureGroup]:
    """The warning and evacuation layers as feature groups that streamlit-folium swaps inside
    a map that stays (``feature_group_to_add``): a new issue shows on the next refresh without
    redrawing the map."""
    group = folium.FeatureGroup(name=t("evac.layer", lang=lang), control=False)
    for layer in (warning_layer(towns, warned, lang), evacuation_layer(towns, found, lang)):
        if layer is not None:
            layer.add_to(group)
    return [group]
