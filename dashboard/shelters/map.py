"""The shelter map in two parts: a context map that stays the same, and the live shelter layer.

streamlit-folium keys its component by a hash of the map's script. A map rebuilt with new
shelter counts has a new script, so the browser throws the old map away and draws a new one at
the start view (the pan and zoom are lost, the iframe blinks). Splitting the map avoids that:

- :func:`context_map` (towns, boundary, hazard areas, the legend) is the same every refresh, so
  the component (and the view) stays;
- :func:`live_layers` (the shelters coloured by status and occupancy, their counts) is passed as
  ``feature_group_to_add``: streamlit-folium swaps those layers inside the existing map.

Pure functions (no streamlit): tests read the rendered HTML. docs/kiosk.md has the details.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from dashboard.maps import layers as maps
from dashboard.maps.elements import MapStyle

_E = html.escape
PICKED_COLOUR = "#e4007f"  # the place chosen on a map (magenta: no layer uses it)
LEGEND_ROOM_PX = 200  # the shelter legend's height: fit the towns above it
# The wall screen: counts and legend readable from 5 m.
WALL_CSS = """
.leaflet-tooltip.bosai-count { font-size: 20px; padding: 1px 5px; }
.bosai-legend { font-size: 15px; }
"""


class FitBoundsBeside(MacroElement):
    """Fit the map to ``bounds`` above the legend: the bottom padding reaches up to the drawn
    legend's top edge (``bottom`` px until it is drawn; ``bottom=0``: no padding, legend or
    not), so no shelter lies under it.

    Runs after :class:`dashboard.maps.elements.FitBounds` of the base map (same moments: ready,
    first resize, 250 ms; and once the fonts are in, which changes the legend's height), so
    this fit is the one that stays.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds, bottom) {
            function room() {  // from the legend's top edge to the map's bottom edge
                var legend = map.getContainer().querySelector('.bosai-legend');
                if (!bottom || !legend || !legend.offsetHeight) { return bottom; }
                var box = map.getContainer().getBoundingClientRect();
                return Math.ceil(box.bottom - legend.getBoundingClientRect().top) + 10;
            }
            function fit() {
                // a zoom animation in flight swallows a new view: fit when it has ended
                if (map._animatingZoom) { map.once('zoomend', fit); return; }
                map.invalidateSize();
                map.fitBounds(bounds, {paddingTopLeft: [10, 10],
                                       paddingBottomRight: [10, room()], animate: false});
            }
            map.whenReady(fit);
            map.once('resize', fit);
            setTimeout(fit, 300);
            if (document.fonts) { document.fonts.ready.then(fit); }
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }}, {{ this.bottom|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]], bottom: int = LEGEND_ROOM_PX):
        super().__init__()
        self._name = "FitBoundsBeside"
        self.bounds = bounds
        self.bottom = int(bottom)


def context_map(
    towns: gpd.GeoDataFrame,
    hazard: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None,
    tiles: str = "gsi_pale",
    tile_url: str = "",
    lang: str = "ja",
    with_shelter_legend: bool = True,
    wall: bool = False,
) -> folium.Map:
    """The map under the live layers: basemap, towns, hazard areas, boundary, legend.

    It holds no layer control: the control must list the live layers too, so it goes with them
    (:func:`layer_control`). ``wall`` enlarges the count labels and the legend, and lays the
    legend out as a strip across the bottom; the fit leaves the legend's height free
    (:class:`FitBoundsBeside`), so it covers no shelter.
    """
    bounds = tuple(towns.total_bounds) if len(towns) else None
    m = maps.base_map(bounds, tiles=tiles, tile_url=tile_url, lang=lang)
    if len(towns):
        maps.towns_layer(towns, lang=lang).add_to(m)
    if hazard is not None and len(hazard):
        maps.hazard_layer(hazard, lang=lang).add_to(m)
    if boundaries is not None and len(boundaries):
        maps.boundary_layer(boundaries, lang=lang).add_to(m)
    if wall:
        MapStyle(WALL_CSS).add_to(m)
    if with_shelter_legend:  # on the wall a strip across the bottom: the city fits above it
        maps.shelter_legend(lang=lang, strip=wall).add_to(m)
        MapStyle(maps.WELFARE_LEGEND_CSS).add_to(m)
        if bounds is not None:
            minx, miny, maxx, maxy = bounds
            FitBoundsBeside([[miny, minx], [maxy, maxx]]).add_to(m)
    return m


def live_layers(
    shelters: gpd.GeoDataFrame, status: pd.DataFrame | None, lang: str = "ja"
) -> list[folium.FeatureGroup]:
    """The layers that change with every report: shelters by status/occupancy, with counts."""
    if shelters is None or shelters.empty:
        return []
    return [maps.shelters_layer(shelters, status=status, lang=lang)]


def layer_control() -> folium.LayerControl:
    """The expanded layer switcher, rendered together with the live layers."""
    return folium.LayerControl(collapsed=False, position="topright")


def marker_layer(point, label: str, name: str = "marker") -> folium.FeatureGroup:
    """A feature group with one marker at ``point`` (shapely, lon/lat); ``label`` is escaped."""
    group = folium.FeatureGroup(name=name, control=False)
    if point is not None:
        folium.CircleMarker(
            location=[point.y, point.x],
            radius=11,
            color="#000000",
            weight=3,
            fill=True,
            fill_color=PICKED_COLOUR,
            fill_opacity=0.9,
            tooltip=folium.Tooltip(_E(label)) if label else None,
            class_name="bosai-picked",
        ).add_to(group)
    return group


def points_layer(
    frame: gpd.GeoDataFrame,
    label_of,
    name: str = "points",
    class_name: str = "bosai-point",
    colour_of=None,
    radius: float = 6,
    control: bool = False,
) -> folium.FeatureGroup:
    """Markers for ``frame``'s points; ``label_of(row) -> str`` is escaped here,
    ``colour_of(row) -> "#rrggbb"`` colours them (default orange); ``control``: listed (as
    ``name``) in the layer control."""
    group = folium.FeatureGroup(name=name, control=control)
    if frame is None or frame.empty:
        return group
    for row in frame.to_dict("records"):
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            continue
        folium.CircleMarker(
            location=[geom.y, geom.x],
            radius=radius,
            color="#222222",
            weight=1.5,
            fill=True,
            fill_color=colour_of(row) if colour_of else "#ff7f00",
            fill_opacity=0.9,
            tooltip=folium.Tooltip(_E(str(label_of(row)))),
            class_name=class_name,
        ).add_to(group)
    return group
