"""GeoDataFrame -> folium layers: pure functions, testable through the rendered HTML.

Each builder returns a folium object and never touches streamlit. Every text that comes from data
(names, addresses, river names...) is html-escaped here before it reaches a tooltip: folium's
``GeoJsonTooltip`` puts property values into ``innerHTML`` as they are. Only the properties a
tooltip shows are embedded in the page (no other columns leak into the HTML).

Paths get a CSS class per layer (``bosai-town``, ``bosai-hazard``, ``bosai-shelter``) so a browser
test can count them.

Over ~400 lines on purpose: every map layer's styling (towns, hazards, shelters, legends) in one
file, so the colours and classes the browser tests count are defined side by side.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import folium
import geopandas as gpd
import pandas as pd

from dashboard.i18n import t
from dashboard.maps.basemap import TownNames, choose_tiles
from dashboard.maps.elements import (
    MAP_CSS,
    FitBounds,
    GeoJsonLayer,
    Legend,
    MapStyle,
    MetricScale,
    TouchControls,
)
from dashboard.touch import TABLET_MAX_PX
from geodata.export.map_style import (
    OCCUPANCY_CLASSES,
    OPEN_UNKNOWN,
    SHELTER_PALETTE,
    WELFARE_RING,
    shelter_fill,
)
from geodata.geometry import feature_collection
from geodata.shelters import (
    CLOSED,
    FULL,
    NOT_OPEN,
    care_total,
    is_open,
    is_welfare,
    latest_reports,
    occupancy_class,
    occupancy_rate,
    with_status,
)
from geodata.vocab import HAZARD_AREA_KINDS

# Basemaps: key -> (URL template, attribution HTML, max native zoom). "none" = no tile layer.
_GSI_ATTR = '<a href="https://maps.gsi.go.jp/development/ichiran.html" target="_blank">{label}</a>'
_OSM_ATTR = (
    '&copy; <a href="https://www.openstreetmap.org/copyright" target="_blank">OpenStreetMap</a>'
    " contributors"
)
TILES: dict[str, tuple[str, str, int]] = {
    "gsi_std": ("https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png", _GSI_ATTR, 18),
    "gsi_pale": ("https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png", _GSI_ATTR, 18),
    "gsi_photo": (
        "https://cyberjapandata.gsi.go.jp/xyz/seamlessphoto/{z}/{x}/{y}.jpg",
        _GSI_ATTR,
        18,
    ),
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", _OSM_ATTR, 19),
    "local": ("", "", 0),  # only the prefetched MBTiles file (dashboard/maps/basemap.py)
    "none": ("", "", 0),
}

# Shelter colours, from the one palette of every shelter colour (geodata/export/map_style.py):
# occupancy class of an open shelter (geodata.shelters.occupancy_class), then states.
OCCUPANCY_COLOURS = tuple(SHELTER_PALETTE[c]["fill"] for c in OCCUPANCY_CLASSES)
SHELTER_COLOURS = {
    "unknown": SHELTER_PALETTE[OPEN_UNKNOWN]["fill"],  # open, capacity unknown
    FULL: SHELTER_PALETTE[FULL]["fill"],
    NOT_OPEN: SHELTER_PALETTE[NOT_OPEN]["fill"],
    CLOSED: SHELTER_PALETTE[CLOSED]["fill"],
}
TOWN_PALETTE = ("#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1")
TOWN_FILL = "#f7f4ec"  # paper colour: a readable map without basemap tiles
HAZARD_COLOUR = "#2c7fb8"
# The legend swatch of a 福祉避難所: a thick ring, as drawn on the map.
WELFARE_LEGEND_CSS = f".bosai-legend i[style*='{WELFARE_RING}'] {{ border-width: 3px; }}"

_E = html.escape

# What folium.Map loads besides Leaflet — jQuery, Bootstrap 5 (script and stylesheet), the
# glyphicons of Bootstrap 3, Font Awesome and Awesome Markers — serves only folium.Icon markers,
# which no map of the dashboard draws. The map frame loads its scripts one after the other before
# it draws, so they cost time as well as bytes (~110 kB gzipped, ~680 kB parsed on a first
# visit). docs/benchmarks.md, "overview on the wire".
MAP_ASSETS = ("leaflet", "leaflet_css")


def lean_assets(m: folium.Map) -> folium.Map:
    """``m`` loading only Leaflet's script and stylesheet (:data:`MAP_ASSETS`), at the URLs the
    class has now (``dashboard.maps.offline.install`` points them at the vendored copies)."""
    m.default_js = [(k, v) for k, v in type(m).default_js if k in MAP_ASSETS]
    m.default_css = [(k, v) for k, v in type(m).default_css if k in MAP_ASSETS]
    return m


def _num(value) -> float | None:
    """A finite float or None (for nullable pandas values)."""
    try:
        if value is None or pd.isna(value):
            return None
    except (TypeError, ValueError):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _fmt_int(value) -> str:
    number = _num(value)
    return "–" if number is None else f"{int(round(number)):,}"


def _collection(
    gdf: gpd.GeoDataFrame, id_col: str | None, properties: Callable[[dict], dict]
) -> dict:
    """A GeoJSON FeatureCollection with ``id`` per feature and only the given properties."""
    return feature_collection(gdf, id_col, properties)


def _tooltip(field: str = "label", **kwargs) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(fields=[field], labels=False, sticky=True, **kwargs)


def base_map(
    bounds: tuple[float, float, float, float] | None,
    tiles: str = "gsi_pale",
    tile_url: str = "",
    lang: str = "ja",
    prefer_canvas: bool = False,
) -> folium.Map:
    """An empty map fitted to ``bounds`` (minx, miny, maxx, maxy in lon/lat) with a basemap.

    Parameters
    ----------
    bounds : the area to show; None shows Japan.
    tiles : a key of :data:`TILES` (``none`` = no tile layer: fully offline). A prefetched
        MBTiles file (``BOSAI_MBTILES``) is drawn instead of an online service whenever it
        exists, served by the app: see :func:`dashboard.maps.basemap.choose_tiles`.
    tile_url : a URL template that overrides ``tiles`` (a tile server inside the HQ network).
    lang : language of the attribution label.
    prefer_canvas : draw every vector layer on one canvas instead of an SVG path per shape
        (for tens of thousands of points; CSS classes of the shapes then do not apply).

    Examples
    --------
    >>> m = base_map((139.52, 35.63, 139.60, 35.68), tiles="none")
    >>> type(m).__name__
    'Map'
    """
    if tiles not in TILES:
        raise ValueError(f"unknown tiles {tiles!r}; one of {', '.join(TILES)}")
    # Quarter zoom steps: a city fills the frame instead of the next-lower whole zoom.
    m = folium.Map(
        tiles=None,
        control_scale=False,  # MetricScale below: metres only
        zoom_start=13,
        location=(36.0, 138.0),
        zoom_snap=0.25,
        zoom_delta=0.5,
        prefer_canvas=prefer_canvas,
    )
    lean_assets(m)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        m.location = [(miny + maxy) / 2, (minx + maxx) / 2]
        FitBounds([[miny, minx], [maxy, maxx]]).add_to(m)
    else:
        m.options["zoom"] = 5
    choice = choose_tiles(tiles, tile_url, TILES)
    if choice is not None:
        folium.TileLayer(
            tiles=choice.url,
            attr=choice.attribution.format(label=_E(t("attr.gsi_tiles", lang=lang))),
            name=t("attr.gsi_tiles", lang=lang) if tiles.startswith("gsi") else choice.source,
            max_native_zoom=choice.max_native_zoom,
            max_zoom=19,
            control=False,
            **choice.options,
        ).add_to(m)
    MapStyle(MAP_CSS).add_to(m)
    MetricScale().add_to(m)
    TouchControls(TABLET_MAX_PX).add_to(m)
    return m


def _quantile_bins(values: pd.Series, k: int) -> list[float]:
    """Upper class edges for ``k`` quantile classes (fewer when values repeat)."""
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return []
    edges = sorted(set(clean.quantile([i / k for i in range(1, k + 1)]).round(6)))
    return edges


def _class_of(value: float | None, edges: list[float]) -> int | None:
    if value is None:
        return None
    for i, edge in enumerate(edges):
        if value <= edge:
            return i
    return len(edges) - 1


def towns_layer(
    towns: gpd.GeoDataFrame, measure: str | None = None, lang: str = "ja"
) -> folium.GeoJson:
    """Town (町丁目) polygons with name/population tooltips, optionally a choropleth.

    Parameters
    ----------
    towns : the ``towns`` layer (town_code, name, population, households, geometry).
    measure : a numeric column to colour by (5 quantile classes); None = plain paper fill.
    lang : tooltip language.
    """
    edges = _quantile_bins(towns[measure], len(TOWN_PALETTE)) if measure else []
    palette = TOWN_PALETTE[-len(edges) :] if edges else ()

    def props(row: dict) -> dict:
        value = _num(row.get(measure)) if measure else None
        label = (
            f"<b>{_E(str(row.get('name') or ''))}</b><br>"
            f"{_E(t('measure.population', lang=lang))}: {_fmt_int(row.get('population'))}<br>"
            f"{_E(t('map.households', lang=lang))}: {_fmt_int(row.get('households'))}"
        )
        if measure and measure not in ("population", "households"):
            label += f"<br>{_E(t('measure.' + measure, lang=lang))}: {_fmt_int(value)}"
        cls = _class_of(value, edges)
        return {"label": label, "cls": -1 if cls is None else cls}

    def style(feature: dict) -> dict:
        cls = feature["properties"]["cls"]
        fill = palette[cls] if measure and cls >= 0 else TOWN_FILL
        return {
            "className": "bosai-town",
            "color": "#6b6b6b",
            "weight": 1,
            "fillColor": fill,
            "fillOpacity": 0.75 if measure else 0.55,
        }

    layer = GeoJsonLayer(
        _collection(towns, "town_code", props),
        name=t("layer.towns", lang=lang),
        style_function=style,
        highlight_function=lambda f: {"weight": 3, "color": "#222222"},
        tooltip=_tooltip(),
        attribution=_E(t("attr.towns", lang=lang)),
    )
    TownNames(towns).add_to(layer)  # names from street zoom: readable without basemap tiles
    return layer


def towns_legend(towns: gpd.GeoDataFrame, measure: str, lang: str = "ja") -> Legend | None:
    """The class legend of :func:`towns_layer`'s choropleth (None when nothing is classed)."""
    edges = _quantile_bins(towns[measure], len(TOWN_PALETTE))
    if not edges:
        return None
    palette = TOWN_PALETTE[-len(edges) :]
    rows = []
    for i, hi in enumerate(edges):
        label = f"≤ {_fmt_int(hi)}" if i == 0 else f"{_fmt_int(edges[i - 1])} – {_fmt_int(hi)}"
        rows.append((palette[i], "#6b6b6b", label))
    return Legend(t("measure." + measure, lang=lang), rows, position="bottomleft")


def boundary_layer(boundaries: gpd.GeoDataFrame, lang: str = "ja") -> folium.GeoJson:
    """The municipal boundary as a strong outline (not clickable: it must not hide the towns)."""
    return GeoJsonLayer(
        _collection(boundaries, "city_code", lambda row: {}),
        name=t("layer.boundary", lang=lang),
        style_function=lambda f: {
            "className": "bosai-boundary",
            "color": "#3d3d3d",
            "weight": 3,
            "fill": False,
            "interactive": False,
        },
        control=False,
        attribution=_E(t("attr.boundary", lang=lang)),
    )


def hazard_layer(hazard: gpd.GeoDataFrame, lang: str = "ja") -> folium.GeoJson:
    """Hazard-area polygons (浸水想定区域…) in translucent blue, kind/river in the tooltip."""

    def props(row: dict) -> dict:
        kind = str(row.get("kind") or "")
        title = (
            t(HAZARD_AREA_KINDS.key(kind), lang=lang)
            if kind in HAZARD_AREA_KINDS
            else t("map.hazard.other", lang=lang, kind=kind)
        )
        label = f"<b>{_E(title)}</b>"
        if row.get("river"):
            label += f"<br>{_E(t('map.river', lang=lang))}: {_E(str(row['river']))}"
        if row.get("rank"):
            label += f"<br>{_E(t('map.rank', lang=lang))}: {_E(str(row['rank']))}"
        return {"label": label}

    return GeoJsonLayer(
        _collection(hazard, "id", props),
        name=t("layer.hazard", lang=lang),
        style_function=lambda f: {
            "className": "bosai-hazard",
            "color": HAZARD_COLOUR,
            "weight": 0.5,
            "fillColor": HAZARD_COLOUR,
            "fillOpacity": 0.35,
        },
        tooltip=_tooltip(),
        attribution=_E(t("attr.hazard", lang=lang)),
    )


def shelter_colour(status: str | None, occupancy: int | None) -> str:
    """The fill colour of a shelter marker for its status and occupancy class (the palette's)."""
    return shelter_fill(status, occupancy)


def _join_status(shelters: gpd.GeoDataFrame, status: pd.DataFrame | None) -> gpd.GeoDataFrame:
    latest = None if status is None or status.empty else latest_reports(status)
    return with_status(shelters, latest)


def shelters_layer(
    shelters: gpd.GeoDataFrame, status: pd.DataFrame | None = None, lang: str = "ja"
) -> folium.FeatureGroup:
    """Shelter points coloured by status and occupancy, with evacuee counts.

    One GeoJson layer of circle markers (scales to thousands of shelters: one style per class,
    not one folium object per shelter) plus permanent count labels for open/full shelters.

    Parameters
    ----------
    shelters : the ``shelters`` layer.
    status : current shelter status (``store.current_shelter_status()``); None = no reports.
    lang : text language.
    """
    data = _join_status(shelters, status)
    name = t("layer.shelters", lang=lang)
    group = folium.FeatureGroup(name=name)

    def props(row: dict) -> dict:
        st = row.get("status") if isinstance(row.get("status"), str) else None
        rate = occupancy_rate(row.get("evacuees"), row.get("capacity"))
        occ = occupancy_class(rate)
        kind = row.get("kind")
        lines = [f"<b>{_E(str(row.get('name') or ''))}</b>"]
        if kind:
            lines.append(_E(t(f"shelter_kind.{kind}", lang=lang)))
        status_text = (
            t(f"shelter_status.{st}", lang=lang) if st else t("map.shelter.no_report", lang=lang)
        )
        lines.append(f"{_E(t('map.shelter.status', lang=lang))}: {_E(status_text)}")
        capacity = _num(row.get("capacity"))
        if is_open(st):
            lines.append(
                f"{_E(t('map.shelter.evacuees', lang=lang))}: "
                f"{_E(t('map.persons', lang=lang, n=_fmt_int(row.get('evacuees'))))}"
            )
        if capacity is not None:
            est = (
                t("map.shelter.capacity_estimated", lang=lang)
                if row.get("capacity_estimated")
                else ""
            )
            lines.append(
                f"{_E(t('measure.capacity', lang=lang))}: "
                f"{_E(t('map.persons', lang=lang, n=_fmt_int(capacity)))}{_E(est)}"
            )
            if is_open(st) and rate is not None:
                lines.append(f"{_E(t('measure.occupancy', lang=lang))}: {rate:.0%}")
        welfare = is_welfare(row)
        if welfare:
            target = row.get("target") if isinstance(row.get("target"), str) else ""
            lines.append(
                _E(t("map.shelter.welfare", lang=lang, target=target or "要配慮者").strip())
            )
        care = care_total(row) if is_open(st) else None
        if care is not None:
            lines.append(
                f"{_E(t('care.total', lang=lang))}: {_E(t('map.persons', lang=lang, n=f'{care:,}'))}"
            )
        if row.get("address"):
            lines.append(_E(str(row["address"])))
        evacuees = _num(row.get("evacuees"))
        return {
            "label": "<br>".join(lines),
            "fill": shelter_colour(st, occ),
            "welfare": welfare,
            "open": is_open(st),
            "count": _E(t("map.shelter.count_label", lang=lang, n=_fmt_int(evacuees)))
            if evacuees is not None
            else "",
            "radius": 6 + min(10, math.sqrt(evacuees or 0) / 2) if is_open(st) else 5,
        }

    collection = _collection(data, "shelter_id", props)
    # Big (busy) circles first, so they never cover a small one drawn later.
    collection["features"].sort(key=lambda f: -f["properties"]["radius"])

    def style(feature: dict) -> dict:
        p = feature["properties"]
        return {
            "className": "bosai-shelter",
            "radius": round(p["radius"], 1),
            "fill": True,
            "fillColor": p["fill"],
            "fillOpacity": 0.95,
            "color": "#333333" if p["fill"] != SHELTER_COLOURS[CLOSED] else "#555555",
            "weight": 1.5 if p["open"] else 1,
            "dashArray": "3" if p["fill"] == SHELTER_COLOURS[CLOSED] else None,
        }

    GeoJsonLayer(
        collection,
        name=name,
        marker=folium.CircleMarker(radius=6),
        style_function=style,
        tooltip=_tooltip(),
        attribution=_E(t("attr.shelters", lang=lang)),
    ).add_to(group)

    welfare = [f for f in collection["features"] if f["properties"]["welfare"]]
    if welfare:  # a ring around each 福祉避難所: for people who need care, not the public
        GeoJsonLayer(
            {"type": "FeatureCollection", "features": welfare},
            name=t("legend.welfare", lang=lang),
            marker=folium.CircleMarker(radius=10, interactive=False),
            style_function=lambda f: {
                "className": "bosai-welfare",
                "radius": round(f["properties"]["radius"] + 4, 1),
                "fill": False,
                "color": WELFARE_RING,
                "weight": 3,
                "interactive": False,
            },
            control=False,
        ).add_to(group)

    counted = [f for f in collection["features"] if f["properties"]["open"]]
    if counted:
        GeoJsonLayer(
            {"type": "FeatureCollection", "features": counted},
            name=t("layer.evacuee_counts", lang=lang),
            marker=folium.CircleMarker(radius=0, opacity=0, fill=False, interactive=False),
            # One permanent tooltip per marker (a tooltip bound to the GeoJson group would be one
            # shared tooltip). The count text was escaped in Python.
            on_each_feature=folium.JsCode(_COUNT_LABEL_JS),
            control=False,
        ).add_to(group)
    return group


_COUNT_LABEL_JS = """
function (feature, layer) {
    layer.bindTooltip(feature.properties.count, {
        permanent: true, direction: "right", offset: [8, 0], className: "bosai-count"
    });
}
"""


def shelter_legend(lang: str = "ja", strip: bool = False) -> Legend:
    """The legend of :func:`shelters_layer`'s colours, and the hazard fill (``strip``: in two
    columns across the bottom of the map, for the wall screen)."""
    rows = [
        (OCCUPANCY_COLOURS[i], "#333333", t(f"legend.occupancy.{i}", lang=lang))
        for i in range(len(OCCUPANCY_COLOURS))
    ]
    rows += [
        (SHELTER_COLOURS["unknown"], "#333333", t("legend.occupancy.unknown", lang=lang)),
        (SHELTER_COLOURS[FULL], "#333333", t("shelter_status.満員", lang=lang)),
        (SHELTER_COLOURS[NOT_OPEN], "#333333", t("legend.not_open", lang=lang)),
        (SHELTER_COLOURS[CLOSED], "#555555", t("shelter_status.閉鎖", lang=lang)),
        ("#ffffff", WELFARE_RING, t("legend.welfare", lang=lang)),
        (HAZARD_COLOUR, HAZARD_COLOUR, t("layer.hazard", lang=lang)),
    ]
    return Legend(t("legend.shelters", lang=lang), rows, strip=strip)


def layer_control(m: folium.Map) -> folium.Map:
    """Add an expanded layer switcher (call after all layers are added)."""
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    return m


def overview_map(
    towns: gpd.GeoDataFrame,
    hazard: gpd.GeoDataFrame,
    shelters: gpd.GeoDataFrame,
    status: pd.DataFrame | None = None,
    tiles: str = "gsi_pale",
    tile_url: str = "",
    measure: str | None = None,
    lang: str = "ja",
    boundaries: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """The overview map: towns, hazard areas, shelters and the boundary, legend, layer control."""
    frames = [f for f in (towns, hazard, shelters) if f is not None and len(f)]
    bounds = (
        tuple(towns.total_bounds)
        if len(towns)
        else (tuple(frames[0].total_bounds) if frames else None)
    )
    m = base_map(bounds, tiles=tiles, tile_url=tile_url, lang=lang)
    if len(towns):
        towns_layer(towns, measure=measure, lang=lang).add_to(m)
        legend = towns_legend(towns, measure, lang=lang) if measure else None
        if legend is not None:
            legend.add_to(m)
    if len(hazard):
        hazard_layer(hazard, lang=lang).add_to(m)
    if boundaries is not None and len(boundaries):
        boundary_layer(boundaries, lang=lang).add_to(m)
    if len(shelters):
        shelters_layer(shelters, status=status, lang=lang).add_to(m)
        shelter_legend(lang=lang).add_to(m)
        MapStyle(WELFARE_LEGEND_CSS).add_to(m)
    return layer_control(m)


def add_density(towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``towns`` with ``density`` (persons per km², area from ``area_m2`` or geometry)."""
    out = towns.copy()
    area = pd.to_numeric(out.get("area_m2"), errors="coerce") if "area_m2" in out else None
    if area is None or area.isna().all():
        area = out.geometry.to_crs(6677).area if len(out) else pd.Series(dtype=float)
    out["density"] = pd.to_numeric(out["population"], errors="coerce") / (area / 1e6)
    return out
