"""Which basemap a dashboard map draws, and town names that make a map without tiles readable.

:func:`choose_tiles` decides, in this order:

1. ``BOSAI_TILE_URL`` (``tile_url``): a tile server inside the HQ network, as configured;
2. ``BOSAI_TILES=none``: no tiles (the paper-coloured towns, their names and the boundary);
3. the **prefetched MBTiles file** (``BOSAI_MBTILES``) when it exists, or ``BOSAI_TILES=local``:
   tiles served by the app itself at ``/bosai/tiles/…`` (dashboard/tile_server.py), so the map
   works with the internet down; the attribution is the one stored in the file;
4. the online service of ``BOSAI_TILES`` (GSI, OSM). Offline its tiles fail in the browser and
   the map shows the paper colour underneath: still readable, with town names from street zoom.

:class:`TownNames` writes the reference layer's town names (町丁目) on the map from zoom 15 on:
below that they would cover each other (103 towns in 21.6 km²).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import geopandas as gpd
import shapely
from branca.element import MacroElement
from folium.utilities import get_obj_in_upper_tree
from jinja2 import Template

from dashboard.maps.elements import render_parts, script_json
from geodata.tiles import SOURCES, local_tiles, plain_text

_E = html.escape
TOWN_NAMES_MIN_ZOOM = 15


@dataclass(frozen=True)
class TileChoice:
    """The tile layer of a map.

    Attributes
    ----------
    url : ``{z}/{x}/{y}`` template.
    attribution : HTML for Leaflet's attribution control.
    max_native_zoom : the deepest zoom with tiles (deeper zooms enlarge them).
    source : ``local``, ``custom`` or the ``BOSAI_TILES`` key.
    options : further Leaflet TileLayer options (``minNativeZoom``, ``bounds``).
    """

    url: str
    attribution: str
    max_native_zoom: int
    source: str
    options: dict


def choose_tiles(tiles: str, tile_url: str, online: dict) -> TileChoice | None:
    """The tile layer for the settings ``tiles`` / ``tile_url``; None for no tiles.

    Parameters
    ----------
    tiles : ``BOSAI_TILES`` (a key of ``online``, ``local`` or ``none``).
    tile_url : ``BOSAI_TILE_URL`` (wins when set).
    online : key -> (URL template, attribution HTML, max native zoom) of the online services.
    """
    if tile_url:
        return TileChoice(tile_url, _E(tile_url.split("/{z}")[0]), 18, "custom", {})
    if tiles == "none":
        return None
    info = local_tiles()
    if info is not None:
        from dashboard.tile_server import tile_url_template

        try:
            version = str(int(info.path.stat().st_mtime))
        except OSError:
            version = ""
        if info.source in SOURCES:
            attribution = SOURCES[info.source].attribution
        else:  # a file made by another tool: its attribution as plain text only
            attribution = _E(plain_text(info.attribution) or info.path.name)
        options: dict = {"min_native_zoom": info.min_zoom}
        if info.bounds is not None:
            west, south, east, north = info.bounds
            options["bounds"] = [[south, west], [north, east]]
        return TileChoice(tile_url_template(version), attribution, info.max_zoom, "local", options)
    if tiles == "local":
        return None  # asked for local tiles only, and there are none yet: paper colour
    url, attribution, max_native = online[tiles]
    return TileChoice(url, attribution, max_native, tiles, {}) if url else None


class TownNames(MacroElement):
    """Town names at their label points, shown from zoom :data:`TOWN_NAMES_MIN_ZOOM` on.

    Add it as a child of the towns layer: the names follow that layer when the layer control
    hides it. Names are html-escaped here (a ``divIcon``'s html is ``innerHTML``); the markers
    are not interactive, so the towns' tooltips still answer the mouse under them.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .leaflet-pane.leaflet-bosai-names-pane { pointer-events: none; }
        .bosai-town-name { pointer-events: none; }
        .bosai-town-name span { position: absolute; transform: translate(-50%, -50%);
          white-space: nowrap; font-size: 13px; font-weight: 600; color: #3d3d3d;
          text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (layer, map, d) {
            if (!map.getPane('bosai-names')) {
                map.createPane('bosai-names').style.zIndex = 450;
            }
            var names = L.layerGroup();
            for (var i = 0; i < d.names.length; i++) {
                var n = d.names[i];
                names.addLayer(L.marker([n[0], n[1]], {
                    icon: L.divIcon({className: 'bosai-town-name', html: '<span>' + n[2] + '</span>',
                                     iconSize: [0, 0]}),
                    interactive: false, keyboard: false, pane: 'bosai-names'
                }));
            }
            function sync() {
                var on = map.hasLayer(layer) && map.getZoom() >= d.minZoom;
                if (on && !map.hasLayer(names)) { names.addTo(map); }
                if (!on && map.hasLayer(names)) { map.removeLayer(names); }
            }
            map.on('zoomend', sync);
            layer.on('add remove', function () { setTimeout(sync, 0); });
            map.whenReady(sync);
        })({{ this._parent.get_name() }}, {{ this.map_name }}, {{ this.json }});
        {% endmacro %}
        """
    )

    def __init__(self, towns: gpd.GeoDataFrame, min_zoom: int = TOWN_NAMES_MIN_ZOOM):
        super().__init__()
        self._name = "TownNames"
        self.map_name = ""
        rows = []
        if len(towns) and "name" in towns:
            named = towns[towns["name"].notna() & towns.geometry.notna()]
            named = named.to_crs("EPSG:4326") if named.crs is not None else named
            # One label per town name (野水一丁目 has three enclaves: label the biggest).
            named = named.assign(_area=shapely.area(named.geometry.values))
            named = named.sort_values("_area", ascending=False)
            named = named.drop_duplicates("name")
            for name, point in zip(
                named["name"], named.geometry.representative_point(), strict=True
            ):
                rows.append([round(point.y, 6), round(point.x, 6), _E(str(name))])
        self.count = len(rows)
        self.json = script_json({"names": rows, "minZoom": int(min_zoom)})

    def render(self, **kwargs):
        import folium

        self.map_name = get_obj_in_upper_tree(self, folium.Map).get_name()
        render_parts(self, kwargs)
