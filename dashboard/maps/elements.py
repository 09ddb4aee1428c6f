"""Small folium elements of the dashboard's maps: page CSS, legend control, late fit-to-bounds.

Their templates render only escaped or JSON-encoded values (``tojson``), never raw data.
"""

from __future__ import annotations

import copy
import html
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import folium
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.features import GeoJsonStyleMapper
from folium.map import Layer
from folium.utilities import get_bounds
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


class MetricScale(MacroElement):
    """A scale bar in metres and kilometres only (folium's ``control_scale`` adds feet and miles).

    Top left, under the zoom buttons: at the bottom the long attribution line covers it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true, maxWidth: 160, position: 'topleft'})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class Legend(MacroElement):
    """A Leaflet control with legend rows (colour swatch + escaped label)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create('div', '{{ this.css_class }}');
            div.innerHTML = {{ this.html|tojson }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        title: str,
        rows: Iterable[tuple[str, str, str]],
        position="bottomright",
        strip: bool = False,
    ):
        """``rows``: (fill colour, border colour, label) — labels are escaped here. ``strip``:
        the rows in two columns across the whole map (class ``bosai-legend-strip``)."""
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.css_class = "bosai-legend bosai-legend-strip" if strip else "bosai-legend"
        items = "".join(
            f'<div><i style="background:{_E(fill)};border-color:{_E(border)}"></i>'
            f"<span>{_E(label)}</span></div>"
            for fill, border, label in rows
        )
        self.html = f"<b>{_E(title)}</b>{items}"


class TouchControls(MacroElement):
    """The touch layout inside a map (its own iframe): the class ``bosai-touch`` on the map's
    container on a touch screen or in a tablet-sized window, which :data:`MAP_CSS` gives
    44 px controls. The page's media query (:data:`dashboard.touch.MEDIA`) cannot see the
    window from inside the iframe, so the width is read from the page holding it."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, maxWidth) {
            function apply() {
                var width = window.innerWidth;
                try { width = window.top.innerWidth; } catch (e) {}
                var touch = window.matchMedia('(pointer: coarse)').matches || width <= maxWidth;
                map.getContainer().classList.toggle('bosai-touch', touch);
            }
            apply();
            window.addEventListener('resize', apply);
        })({{ this._parent.get_name() }}, {{ this.max_width|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, max_width: int):
        super().__init__()
        self._name = "TouchControls"
        self.max_width = int(max_width)


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


class RawElement(Element):
    """Already rendered text (branca's ``Element(text)`` compiles the text as a template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str):
        super().__init__()
        self.text = text


def render_parts(element: MacroElement, kwargs: dict) -> None:
    """``MacroElement.render`` without compiling each rendered part as a Jinja template.

    branca wraps the output of an element's ``header``/``html``/``script`` macros in
    ``Element(output)``, which parses that output as a template: for a script holding megabytes
    of data that costs more than everything else in the map.
    """
    figure = element.get_root()
    for part, target in (
        ("header", figure.header),
        ("html", figure.html),
        ("script", figure.script),
    ):
        macro = element._template.module.__dict__.get(part)
        if macro is not None:
            target.add_child(RawElement(macro(element, kwargs)), name=element.get_name())
    for child in list(element._children.values()):
        child.render(**kwargs)


def _add_to_parent(layer: Layer) -> None:
    """What folium's ``Layer.render`` does before rendering: add the layer to its parent."""
    if layer.show:
        layer.add_child(
            ElementAddToElement(
                element_name=layer.get_name(), element_parent_name=layer._parent.get_name()
            ),
            name=layer.get_name() + "_add",
        )


class GeoJsonLayer(folium.GeoJson):
    """``folium.GeoJson`` that renders once per run, not once per call.

    streamlit-folium renders a map twice per run and asks for its bounds; folium's GeoJson
    computes its style map (the style function for every feature) on each render, walks every
    coordinate for its bounds, and branca compiles its rendered script (the whole GeoJSON) as a
    Jinja template — which also means a ``{{`` in a tooltip would be read as template code.
    Here the style maps and bounds are computed once and the script is added as plain text.
    """

    def render(self, **kwargs):
        self.parent_map = folium.utilities.get_obj_in_upper_tree(self, folium.Map)
        self._style_once()
        self._freeze_script()
        _add_to_parent(self)
        render_parts(self, kwargs)

    def _freeze_script(self) -> bool:
        """Render the script macro once (its GeoJSON serialised once, not on each of the three
        renders of a streamlit-folium run): later renders put this layer's id into the text
        (:class:`_RenderedScript`). Not when the script names the map (zoom on click).
        Returns whether the script is frozen."""
        if isinstance(self._template, _RenderedScript):
            return True
        if self.zoom_on_click:
            return False
        self._style_once()
        real_id, token = self._id, "p" + self._generate_id()
        self._id = token
        try:
            text = str(self._template.module.script(self, {}))
        finally:
            self._id = real_id
        self._template = _RenderedScript(text, token)
        return True

    def _style_once(self) -> None:
        if not getattr(self, "_styled", False):
            if (self.style or self.highlight) and self.data["features"]:
                mapper = GeoJsonStyleMapper(self.data, self.feature_identifier, self)
                if self.style:
                    self.style_map = mapper.get_style_map(self.style_function)
                if self.highlight:
                    self.highlight_map = mapper.get_highlight_map(self.highlight_function)
            self._styled = True

    def _get_self_bounds(self):
        if getattr(self, "_bounds", None) is None:
            box = self.data.get("bbox") if isinstance(self.data, dict) else None
            if box and len(box) == 4:  # GeoJSON: [west, south, east, north]
                self._bounds = [[box[1], box[0]], [box[3], box[2]]]
            else:
                self._bounds = get_bounds(self.data, lonlat=True)
        return self._bounds


class _RenderedScript:
    """Stands in for a :class:`GeoJsonLayer`'s template: its script macro rendered once, with a
    placeholder where the layer's id goes (the script names the layer and nothing else of the
    map when it does not zoom on click), the id of the element asking put in. Both folium's
    render (:func:`render_parts`) and streamlit-folium (``_template.module.script(element)``)
    call the macro through ``_template.module``."""

    def __init__(self, text: str, token: str):
        self.text, self.token = text, token
        self.module = self
        self.script = self._script  # render_parts looks the macro up in module.__dict__

    def _script(self, this, kwargs=None) -> str:
        return self.text.replace(self.token, this._id)


class LayerPrototypes:
    """:class:`GeoJsonLayer` layers built, styled and rendered once per key and shown on many
    maps: each map gets a shallow copy sharing the data, style maps, bounds and the rendered
    script (:class:`_RenderedScript`), with its own id and children.

    A map showing the same towns and boundaries as the last one (only its hexagons or page
    changed) then neither builds their GeoJSON nor serialises it again: at a million posts
    that was most of rendering the reports map (~0.06 of 0.12 s). The output is the same as
    from a layer built anew (tests/test_reports_map_cache.py).
    """

    def __init__(self, max_entries: int = 16):
        self.max_entries = max_entries
        self._protos: dict = {}
        self._lock = threading.Lock()
        self.built = 0

    def layer(self, key, build: Callable[[], GeoJsonLayer]) -> GeoJsonLayer:
        """A copy of the prototype of ``key`` (hashable), built by ``build()`` the first time
        (a layer that cannot be shared, :meth:`_prototype`, is returned as built)."""
        with self._lock:
            proto = self._protos.pop(key, None)
            if proto is not None:
                self._protos[key] = proto  # most recently used last
        if proto is None:
            built = build()
            proto = self._prototype(built)
            if proto is None:
                return built
            with self._lock:
                self._protos[key] = proto
                self.built += 1
                while len(self._protos) > self.max_entries:
                    self._protos.pop(next(iter(self._protos)))
        return _copy_layer(proto)

    @staticmethod
    def _prototype(layer: GeoJsonLayer) -> GeoJsonLayer | None:
        """``layer`` styled, with its bounds and its script rendered (None when it cannot be
        shared: the script would name the map, or it was rendered into a map already)."""
        if not isinstance(layer, GeoJsonLayer) or layer._parent is not None:
            return None
        if not layer._freeze_script():
            return None
        layer._get_self_bounds()
        return layer


def _copy_layer(proto: GeoJsonLayer) -> GeoJsonLayer:
    layer = copy.copy(proto)
    layer._id = proto._generate_id()
    layer._parent = None
    layer._children = OrderedDict()
    for name, child in proto._children.items():
        child = copy.copy(child)
        child._parent = layer
        layer._children[name] = child
    return layer


def script_json(value) -> str:
    """JSON that is safe inside a ``<script>`` element (as jinja's ``tojson``), compact."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return text


@dataclass(frozen=True)
class PointData:
    """The points of a :class:`PointLayer`, encoded once (small to pickle, so it can be cached)."""

    json: str
    count: int
    bounds: list | None  # [[south, west], [north, east]]
    dense: bool = False


def point_data(
    points: Iterable[Sequence],
    styles: Sequence[dict],
    titles: Sequence[str] = (),
    dense_over: int = 5000,
) -> PointData:
    """Encode ``points`` for :class:`PointLayer`.

    Parameters
    ----------
    points : rows ``(lat, lon, style index, line, line, ...)``; the lines (already
        html-escaped) make the tooltip, one per row, empty ones left out.
    styles : Leaflet path options per style (``radius``, ``color``, ``fillColor``,
        ``className``, ...).
    titles : a bold first tooltip line per style (e.g. the reply status), or none.
    dense_over : above this many points the markers shrink to dots below street-level zoom
        (16), so a whole city of them stays readable. Draw dense layers on a map with
        ``prefer_canvas`` (:attr:`PointData.dense`): an SVG path per marker makes the browser slow.
    """
    rows = []
    for lat, lon, style, *lines in points:
        rows.append([round(float(lat), 5), round(float(lon), 5), int(style), *lines])
    bounds = None
    if rows:
        lats, lons = [r[0] for r in rows], [r[1] for r in rows]
        bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
    payload = {
        "dense": len(rows) > dense_over,
        "styles": list(styles),
        "titles": list(titles),
        "points": rows,
    }
    return PointData(script_json(payload), len(rows), bounds, payload["dense"])


class PointLayer(Layer):
    """Many circle markers from compact rows (:func:`point_data`), with sticky tooltips.

    folium's ``GeoJson`` writes a Feature (and its style) per point, and branca compiles every
    rendered script as a Jinja template, twice per streamlit-folium run: at tens of thousands of
    points that costs seconds per rerun and megabytes per page. Here a point is
    ``[lat, lon, style, tooltip lines...]``, encoded once, and the tooltip is put together
    in the browser when it is first shown.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (d) {
            var group = L.featureGroup();
            function tip(p) {
                return function () {
                    var lines = p.slice(3).filter(function (x) { return x; });
                    var title = d.titles[p[2]];
                    if (title) { lines.unshift('<b>' + title + '</b>'); }
                    else if (lines.length) { lines[0] = '<b>' + lines[0] + '</b>'; }
                    return lines.join('<br>');
                };
            }
            for (var i = 0; i < d.points.length; i++) {
                var p = d.points[i];
                var o = Object.assign({}, d.styles[p[2]]);
                var marker = L.circleMarker([p[0], p[1]], o);
                marker._bosaiRadius = o.radius || 10;
                if (p.length > 3 || d.titles[p[2]]) {
                    marker.bindTooltip(tip(p), {sticky: true});
                }
                group.addLayer(marker);
            }
            if (d.dense) {
                // Dense layers: small dots for the whole city, full size from street level.
                var fit = function (map) {
                    var z = map.getZoom(), k = z >= 16 ? 1 : z >= 15 ? 0.7 : z >= 14 ? 0.5 : 0.3;
                    group.eachLayer(function (m) { m.setRadius(Math.max(1.5, m._bosaiRadius * k)); });
                };
                group.on('add', function (e) {
                    var map = e.target._map;
                    fit(map);
                    map.on('zoomend', function () { fit(map); });
                });
            }
            return group;
        })({{ this.data.json }});
        {% endmacro %}
        """
    )

    def __init__(self, data: PointData, name: str | None = None, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointLayer"
        self.data = data

    def _get_self_bounds(self):
        return self.data.bounds or [[None, None], [None, None]]

    def render(self, **kwargs):
        _add_to_parent(self)
        render_parts(self, kwargs)


class LabelLayer(Layer):
    """Permanent text labels at points (``[lat, lon, html]`` rows), one script for all of them.

    A ``folium.CircleMarker`` with a permanent ``folium.Tooltip`` per label is two elements, each
    rendered and compiled as a Jinja template twice per streamlit-folium run (the overview's ~100
    rescue counts by town: ~0.3 s of every run). Here the rows are JSON and the browser binds
    the same tooltips (``options``: Leaflet tooltip options, ``permanent`` among them) to
    invisible circle markers. The html must already be escaped (Leaflet sets ``innerHTML``).
    Labels that overlap are hidden by :class:`Declutter` (rows first are kept first).

    Leaflet places a tooltip by its measured size when it opens. streamlit-folium adds the
    map's stylesheets with the map, so a label may open before leaflet.css applies: a block as
    wide as the map, and a centred one (the overview's 「要救助 N」) was drawn ~900 px to the
    left of its town, at the map's edge. Each label is placed again as soon as leaflet.css
    applies to it (looked at every 100 ms, up to 10 s) and when the fonts are ready; then
    :class:`Declutter` runs again (``bosai:labels``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (rows, options) {
            var group = L.featureGroup();
            rows.forEach(function (r) {
                L.circleMarker([r[0], r[1]], {radius: 0, opacity: 0, fill: false,
                                              interactive: false})
                    .bindTooltip(r[2], options).addTo(group);
            });
            // Placed again once the stylesheets and fonts are in (see the class docstring).
            function refit() {
                if (!group._map) { return; }
                group.eachLayer(function (m) {
                    var t = m.getTooltip();
                    if (t && t.isOpen()) { t.update(); }
                });
                group._map.fire('bosai:labels');
            }
            group.on('add', function () {
                var tries = 100;  // 10 s
                (function styled() {
                    var el = null;
                    group.eachLayer(function (m) {
                        var t = m.getTooltip();
                        if (!el && t && t.isOpen()) { el = t.getElement(); }
                    });
                    if (!el) { return; }
                    if (getComputedStyle(el).position === 'absolute') { refit(); }
                    else if (tries-- > 0) { setTimeout(styled, 100); }
                })();
                if (document.fonts && document.fonts.ready) { document.fonts.ready.then(refit); }
            });
            return group;
        })({{ this.rows }}, {{ this.options }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: Iterable[Sequence], options: dict, name: str | None = None,
                 control: bool = False):  # fmt: skip
        super().__init__(name=name, overlay=True, control=control, show=True)
        self._name = "LabelLayer"
        rows = [[round(float(lat), 5), round(float(lon), 5), str(text)] for lat, lon, text in rows]
        self.rows = script_json(rows)
        self.options = script_json(options)
        self._bounds = (
            [[min(r[0] for r in rows), min(r[1] for r in rows)],
             [max(r[0] for r in rows), max(r[1] for r in rows)]]
            if rows else [[None, None], [None, None]]
        )  # fmt: skip

    def _get_self_bounds(self):
        return self._bounds

    def render(self, **kwargs):
        _add_to_parent(self)
        render_parts(self, kwargs)


class Declutter(MacroElement):
    """Hide the map labels (shelter counts ``bosai-count``, town counts ``bosai-wall-label``)
    that would overlap one drawn before them: the labels come biggest first, so a big count
    wins. A layer whose labels must never give way declares it with the class ``bosai-first``
    (the overview's 「要救助 N」 per town: an evacuee count drawn earlier had hidden it): those
    are placed first. Re-run after every zoom, pan and layer swap (a refresh's new labels), so
    zooming in shows more. Every map :func:`dashboard.kiosk.live_map` shows has it, the desk's
    too: at a whole city's zoom a hundred town labels otherwise pile into a heap nobody can
    read."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var timer = null;
            function declutter() {
                var kept = [];
                var box = map.getContainer();
                var first = box.querySelectorAll('.leaflet-tooltip.bosai-first');
                var rest = box.querySelectorAll(
                    '.leaflet-tooltip.bosai-count:not(.bosai-first), ' +
                    '.leaflet-tooltip.bosai-wall-label:not(.bosai-first)');
                var labels = Array.prototype.slice.call(first).concat(
                    Array.prototype.slice.call(rest));
                labels.forEach(function (el) {
                    el.style.visibility = '';
                    var r = el.getBoundingClientRect();
                    var hit = kept.some(function (k) {
                        return r.left < k.right && r.right > k.left &&
                               r.top < k.bottom && r.bottom > k.top;
                    });
                    if (hit) { el.style.visibility = 'hidden'; } else { kept.push(r); }
                });
            }
            function later() { clearTimeout(timer); timer = setTimeout(declutter, 120); }
            map.on('zoomend moveend layeradd resize bosai:labels', later);
            map.whenReady(later);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "Declutter"


HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


class PinLayer(Layer):
    """Numbered pins (``L.marker`` with a ``L.divIcon``) from compact rows, with popups and tooltips.

    A ``folium.Marker`` with its ``DivIcon``, ``Popup`` and ``Tooltip`` is four elements, each
    rendered and compiled as a Jinja template (twice per streamlit-folium run), and the template
    pass evaluates ``{{ ... }}`` found in a popup's text. Here a pin is one JSON row
    ``[lat, lon, number, colour, moving, popup html, tooltip html]`` and the browser builds the
    pin's markup from the number and colour — the markup of
    :func:`dashboard.reports.map.post_pin_html`: ``<div class="bosai-pin[ bosai-pin-moving]"
    style="background:#rrggbb">n</div>`` in a ``bosai-post-marker`` icon of 26×26 px.

    The popup and tooltip html must already be escaped (Leaflet puts them into ``innerHTML``);
    colours that are not ``#hex`` are replaced by ``fallback`` here and again in the browser.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (d) {
            var group = L.featureGroup();
            var hex = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
            for (var i = 0; i < d.pins.length; i++) {
                var p = d.pins[i];
                var colour = hex.test(p[3]) ? p[3] : d.fallback;
                var pin = '<div class="bosai-pin' + (p[4] ? ' bosai-pin-moving' : '') +
                    '" style="background:' + colour + '">' + (parseInt(p[2], 10) || 0) + '</div>';
                var marker = L.marker([p[0], p[1]], {icon: L.divIcon({
                    html: pin, className: 'bosai-post-marker', iconSize: [26, 26], iconAnchor: [13, 13]
                })});
                marker.bindPopup(p[5], {maxWidth: 360});
                marker.bindTooltip(p[6], {sticky: true});
                group.addLayer(marker);
            }
            return group;
        })({{ this.json }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        pins: Iterable[Sequence],
        fallback: str,
        name: str | None = None,
        show: bool = True,
    ):
        """``pins``: rows ``(lat, lon, number, colour, moving, popup html, tooltip html)``."""
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PinLayer"
        if not HEX_COLOUR.fullmatch(fallback):
            raise ValueError(f"fallback colour {fallback!r} is not a #hex colour")
        rows = []
        for lat, lon, number, colour, moving, popup, tip in pins:
            colour = (
                colour if isinstance(colour, str) and HEX_COLOUR.fullmatch(colour) else fallback
            )
            rows.append(
                [round(float(lat), 6), round(float(lon), 6), int(number), colour,
                 1 if moving else 0, str(popup), str(tip)]
            )  # fmt: skip
        self.count = len(rows)
        self.bounds = None
        if rows:
            lats, lons = [r[0] for r in rows], [r[1] for r in rows]
            self.bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
        self.json = script_json({"pins": rows, "fallback": fallback})

    def _get_self_bounds(self):
        return self.bounds or [[None, None], [None, None]]

    def render(self, **kwargs):
        _add_to_parent(self)
        render_parts(self, kwargs)


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
.leaflet-tooltip.bosai-rescue { background: #b71c1c; color: #fff; border-color: #7f0000; }
/* 「要救助 N」 in the red of the life-safety tiles: not read as one more evacuee count */
.bosai-legend-strip { display: grid; grid-template-columns: 1fr 1fr; column-gap: 14px;
  box-sizing: border-box; width: calc(100vw - 20px); }
.bosai-legend-strip b { grid-column: 1 / -1; }
.bosai-legend-strip div { display: flex; align-items: center; }  /* a long label wraps beside
  its swatch, not onto a line of its own below it */
.bosai-legend-strip i { flex: none; }
.bosai-legend-strip span { flex: 1 1 auto; min-width: 0; text-spacing-trim: space-all; }
/* (Chromium trims a closing bracket at a line's end when it checks the fit, then lays it out
   whole: 「…向け）」 stayed on one line 2 px wider than its box; untrimmed, it wraps) */
.leaflet-container.bosai-touch .leaflet-bar a { width: 44px; height: 44px; line-height: 44px;
  font-size: 24px; }
.leaflet-container.bosai-touch .leaflet-control-layers label { min-height: 44px; display: flex;
  align-items: center; }
.leaflet-container.bosai-touch .leaflet-control-layers input { width: 22px; height: 22px;
  margin: 0 6px 0 0; }
"""
