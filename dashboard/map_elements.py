"""Small folium elements of the dashboard's maps: page CSS, legend control, late fit-to-bounds.

Their templates render only escaped or JSON-encoded values (``tojson``), never raw data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from branca.element import MacroElement
from jinja2 import Template

_E = html.escape


class MapStyle(MacroElement):
    """Page-level CSS for the map (container background, legend, count labels)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        """
    )

    def __init__(self, css: str):
        super().__init__()
        self._name = "Style"
        self.css = css


class Legend(MacroElement):
    """A Leaflet control with legend rows (colour swatch + escaped label)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create('div', 'bosai-legend');
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, rows: Iterable[tuple[str, str, str]], position="bottomright"):
        """``rows``: (fill colour, border colour, label) — labels are escaped here."""
        super().__init__()
        self._name = "Legend"
        self.position = position
        items = "".join(
            f'<div><i style="background:{_E(fill)};border-color:{_E(border)}"></i>{_E(label)}</div>'
            for fill, border, label in rows
        )
        self.html = f"<b>{_E(title)}</b>{items}"


class FitBounds(MacroElement):
    """Fit the map to ``bounds`` once it has its real size.

    streamlit-folium creates the map while its iframe is still 0 px high, so folium's own
    ``fit_bounds`` computes the wrong zoom; fitting again on the first resize fixes that.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, bounds) {
            function fit() { map.invalidateSize(); map.fitBounds(bounds); }
            map.whenReady(fit);
            map.once('resize', fit);
            setTimeout(fit, 250);
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "FitBounds"
        self.bounds = bounds


MAP_CSS = """
.leaflet-container { background: #dfe6ea; font-size: 14px; }
.leaflet-control-attribution { font-size: 11px; }
.bosai-legend { background: rgba(255,255,255,.92); padding: 6px 10px; border-radius: 4px;
  line-height: 1.5; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
.bosai-legend i { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: -2px; border: 1px solid #555; border-radius: 50%; }
.leaflet-tooltip.bosai-count { background: rgba(255,255,255,.85); border: 0; box-shadow: none;
  padding: 0 3px; font-weight: bold; font-size: 13px; }
.leaflet-tooltip.bosai-count:before { display: none; }
"""
