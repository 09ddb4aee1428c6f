"""The reports map: hexagon aggregates of all filtered posts, incidents, the feed page's posts.

Pure folium builders (no streamlit). Whatever the volume, the map holds a few hundred hexagons
(:func:`geodata.geometry.hexbin`), at most :data:`geodata.feed.INCIDENT_LIMIT`
incidents and the 20 posts of the feed page as numbered pins — never one marker per post.
Every text from a post is html-escaped here before it reaches a tooltip or popup (Leaflet puts
both into ``innerHTML``).
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd

from dashboard.i18n import t
from dashboard.maps.elements import GeoJsonLayer, LayerPrototypes, Legend, PinLayer
from dashboard.maps.layers import base_map, boundary_layer, layer_control, towns_layer
from geodata.export.map_style import CATEGORY_STYLE
from geodata.feed import incident_size
from geodata.geometry import feature_collection, points_only
from geodata.schema import CATEGORIES

_E = html.escape
# Hexagon fill by number of posts: (lowest count, colour).
HEX_CLASSES: tuple[tuple[int, str], ...] = (
    (1, "#ffffb2"),
    (2, "#fed976"),
    (5, "#feb24c"),
    (10, "#fd8d3c"),
    (20, "#f03b20"),
    (50, "#bd0026"),
)
URGENCY_COLOURS = {3: "#b71c1c", 2: "#e65100", 1: "#f9a825", 0: "#9e9e9e"}
POPUP_CHARS = 400
TOOLTIP_CHARS = 80


def category_colour(category: str | None) -> str:
    """The colour of a damage category (the same as on the printed situation map)."""
    return CATEGORY_STYLE.get(category or "その他", CATEGORY_STYLE["その他"])["color"]


def hex_colour(count: int) -> str:
    """The fill of a hexagon holding ``count`` posts.

    Examples
    --------
    >>> hex_colour(1), hex_colour(7), hex_colour(500)
    ('#ffffb2', '#feb24c', '#bd0026')
    """
    colour = HEX_CLASSES[0][1]
    for low, fill in HEX_CLASSES:
        if count >= low:
            colour = fill
    return colour


def hex_class_labels(lang: str = "ja") -> list[tuple[str, str]]:
    """(colour, label) of each hexagon class: 1, 2–4, 5–9, 10–19, 20–49, 50+."""
    rows = []
    for i, (low, colour) in enumerate(HEX_CLASSES):
        if i + 1 < len(HEX_CLASSES):
            high = HEX_CLASSES[i + 1][0] - 1
            text = str(low) if high == low else f"{low}–{high}"
        else:
            text = f"{low}+"
        rows.append((colour, t("reports.map.posts_n", lang=lang, n=text)))
    return rows


def clip(text, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (None -> "")."""
    text = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def category_label(category: str, lang: str = "ja") -> str:
    """A damage category in the UI language."""
    return t(f"category.{category}", lang=lang)


def hex_layer(hexes: gpd.GeoDataFrame, lang: str = "ja") -> folium.GeoJson:
    """Hexagons coloured by post count, a dark red edge where a post is life-threatening."""

    def props(row: dict) -> dict:
        count = int(row["count"])
        top = sorted(((int(row[c]), c) for c in CATEGORIES if int(row.get(c) or 0)), reverse=True)[
            :4
        ]
        lines = [f"<b>{_E(t('reports.map.hex_posts', lang=lang, n=f'{count:,}'))}</b>"]
        if row["urgent"]:
            lines.append(_E(t("reports.map.hex_urgent", lang=lang, n=f"{int(row['urgent']):,}")))
        lines += [f"{_E(category_label(c, lang))}: {n:,}" for n, c in top]
        return {
            "label": "<br>".join(lines),
            "fill": hex_colour(count),
            "critical": int(row["max_urgency"]) >= 3,
        }

    return GeoJsonLayer(
        feature_collection(hexes, None, props),
        name=t("reports.layer.hexes", lang=lang),
        style_function=lambda f: {
            "className": "bosai-hex",
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.6,
            "color": "#7a0019" if f["properties"]["critical"] else "#8c6d1f",
            "weight": 2.5 if f["properties"]["critical"] else 0.6,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#222222"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    )


def incidents_layer(incidents: gpd.GeoDataFrame, lang: str = "ja", names=None) -> folium.GeoJson:
    """Incidents as circles: colour = category, size = number of pieces."""
    names = names or {}

    def props(row: dict) -> dict:
        size = incident_size(row.get("counts"))
        counts = row.get("counts") if isinstance(row.get("counts"), dict) else {}
        lines = [
            f"<b>{_E(category_label(str(row.get('category') or 'その他'), lang))}</b>",
            _E(t("reports.incident.pieces", lang=lang, n=size)),
        ]
        for layer, n in counts.items():
            lines.append(f"{_E(t('reports.incident.layer.' + str(layer), lang=lang))}: {int(n)}")
        town = names.get(row.get("town_code"))
        if town:
            lines.append(_E(town))
        urgency = int(row.get("urgency") or 0)
        lines.append(_E(t(f"reports.urgency.{urgency}", lang=lang)))
        return {
            "label": "<br>".join(lines),
            "fill": category_colour(row.get("category")),
            "radius": min(18, 5 + 2 * size**0.5),
        }

    return GeoJsonLayer(
        feature_collection(points_only(incidents), "incident_id", props),
        name=t("reports.layer.incidents", lang=lang),
        marker=folium.CircleMarker(radius=6),
        style_function=lambda f: {
            "className": "bosai-incident",
            "fill": True,
            "radius": round(f["properties"]["radius"], 1),
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.85,
            "color": "#ffffff",
            "weight": 1.5,
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        show=False,
    )


def post_pin_html(number: int, colour: str, moving: bool = False) -> str:
    """The numbered pin of a feed post (the number matches the feed card).

    The map builds this markup in the browser (:class:`dashboard.maps.elements.PinLayer`) from
    the number, colour and moving flag; this is its reference (tests compare against it).
    """
    ring = " bosai-pin-moving" if moving else ""
    return f'<div class="bosai-pin{ring}" style="background:{_E(colour)}">{int(number)}</div>'


def post_popup_html(row: dict, number: int, lang: str = "ja", show_author: bool = False) -> str:
    """The popup of a feed post: number, urgency, categories, time, escaped text, place."""
    from dashboard.reports.cards import place_text, when_text

    cats = row.get("categories") if isinstance(row.get("categories"), list) else []
    urgency = int(row.get("urgency") or 0) if not pd.isna(row.get("urgency")) else 0
    parts = [
        f"<b>#{int(number)}</b> {_E(t(f'reports.urgency.{urgency}', lang=lang))}",
        " ".join(_E(category_label(c, lang)) for c in cats),
        _E(when_text(row.get("posted_at"))),
        f'<div class="bosai-popup-text">{_E(clip(row.get("text"), POPUP_CHARS))}</div>',
        _E(place_text(row, lang)),
    ]
    if show_author and row.get("author"):
        parts.append(_E(f"{row['author']} · {row.get('platform') or ''}"))
    return "<br>".join(p for p in parts if p)


def posts_layer(
    posts: gpd.GeoDataFrame,
    numbers: dict[tuple[str, str], int],
    lang: str = "ja",
    show_author: bool = False,
    moving: tuple[str, str] | None = None,
) -> PinLayer:
    """Numbered pins for the feed page's located posts, with escaped popups and tooltips.

    One :class:`PinLayer` (a JSON row per pin), not a ``folium.Marker`` per post: folium
    compiles each marker's, icon's, popup's and tooltip's script as a Jinja template, which is
    slow and evaluates ``{{ ... }}`` written in a post.
    """
    pins = []
    for row in points_only(posts).to_dict("records"):
        key = (row["platform"], row["post_id"])
        number = numbers.get(key)
        if number is None:
            continue
        cats = row.get("categories") if isinstance(row.get("categories"), list) else []
        geom = row["geometry"]
        pins.append(
            (
                geom.y,
                geom.x,
                int(number),
                category_colour(cats[0] if cats else None),
                moving == key,
                post_popup_html(row, number, lang, show_author),
                f"#{int(number)} {_E(clip(row.get('text'), TOOLTIP_CHARS))}",
            )
        )
    return PinLayer(pins, category_colour(None), name=t("reports.layer.page", lang=lang))


def legend(lang: str = "ja") -> Legend:
    """Hexagon classes and the category colours of pins and incidents."""
    rows = [(c, "#8c6d1f", label) for c, label in hex_class_labels(lang)]
    rows.append(("#ffffff", "#7a0019", t("reports.map.critical_edge", lang=lang)))
    return Legend(t("reports.map.legend", lang=lang), rows, position="bottomright")


# The towns', boundaries' and incidents' layers, built and rendered once per content and
# language (reports_map's ``layer_keys``); a map whose hexagons or page changed reuses them.
SHARED_LAYERS = LayerPrototypes(max_entries=16)


def _layer(layer_keys: dict | None, name: str, lang: str, build):
    key = None if layer_keys is None else layer_keys.get(name)
    if key is None:
        return build()
    return SHARED_LAYERS.layer((name, key, lang), build)


PIN_CSS = """
<style>
.bosai-pin { width: 26px; height: 26px; border-radius: 50%; color: #fff; font-weight: bold;
  font-size: 13px; line-height: 22px; text-align: center; border: 2px solid #fff;
  box-shadow: 0 1px 4px rgba(0,0,0,.5); }
.bosai-pin-moving { outline: 4px solid #ff1744; }
.bosai-popup-text { white-space: pre-wrap; margin: 4px 0; max-height: 12em; overflow: auto; }
</style>
"""


def reports_map(
    towns: gpd.GeoDataFrame,
    hexes: gpd.GeoDataFrame,
    posts: gpd.GeoDataFrame,
    numbers: dict[tuple[str, str], int],
    incidents: gpd.GeoDataFrame | None = None,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    tiles: str = "gsi_pale",
    tile_url: str = "",
    lang: str = "ja",
    show_author: bool = False,
    moving: tuple[str, str] | None = None,
    layer_keys: dict | None = None,
) -> folium.Map:
    """The map beside the feed.

    Parameters
    ----------
    towns : town polygons (the frame of the map).
    hexes : :func:`geodata.geometry.hexbin` of every filtered post.
    posts : the feed page's posts (full rows); ``numbers`` maps their keys to card numbers.
    incidents : incidents to show (a layer off by default), or None.
    moving : the key of a post being moved (its pin gets a red ring).
    layer_keys : ``{"towns": key, "boundaries": key, "incidents": key}`` (hashable keys; any
        may be left out): a key that identifies what that layer shows (the incidents' key
        also the towns' names) — the layer is then built and rendered once per key and
        language (:data:`SHARED_LAYERS`) and shared by later maps.
    """
    bounds = tuple(towns.total_bounds) if len(towns) else None
    m = base_map(bounds, tiles=tiles, tile_url=tile_url, lang=lang)
    if len(towns):
        _layer(layer_keys, "towns", lang, lambda: towns_layer(towns, lang=lang)).add_to(m)
    if boundaries is not None and len(boundaries):
        _layer(
            layer_keys, "boundaries", lang, lambda: boundary_layer(boundaries, lang=lang)
        ).add_to(m)
    if len(hexes):
        hex_layer(hexes, lang=lang).add_to(m)
    if incidents is not None and len(incidents):

        def build_incidents():
            names = dict(zip(towns["town_code"], towns["name"], strict=False))
            return incidents_layer(incidents, lang=lang, names=names)

        _layer(layer_keys, "incidents", lang, build_incidents).add_to(m)
    if len(posts):
        posts_layer(posts, numbers, lang=lang, show_author=show_author, moving=moving).add_to(m)
    m.get_root().header.add_child(folium.Element(PIN_CSS))
    legend(lang).add_to(m)
    return layer_control(m)
