"""The reports map, rendered once per content and shown again from the cache on later reruns.

``st_folium`` builds and renders the whole folium map on every rerun: at a million posts that
was 0.13–0.15 s of every rerun of the reports page, also of one with nothing new (the towns'
polygons alone are ~0.7 MB of script). Here the map is rendered into what ``st_folium`` hands
to its component (script, header, html, bounds, links: :func:`component_args`, the same steps as
``st_folium``) once per *content* — a :func:`fingerprint` of the hexagons, the page's posts, the
incidents, the towns and boundaries, plus the language, the tiles, whether authors are shown and
the post being moved — and :func:`show` passes the cached arguments to the same component.

Keyed on content rather than on the feed view's identity: a new minute or an unrelated write
makes a new feed view, but when its hexagons and page are unchanged the map is the same and is
not rendered again. The component's arguments are those of ``streamlit_folium`` 0.27
(``tests/test_reports_map_cache.py`` compares them with ``st_folium``'s own).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import folium
import pandas as pd
import streamlit as st
import streamlit_folium as sf

_MAX_MAPS = 16  # a few sessions × pages × languages; each entry holds ~1 MB of text


def fingerprint(*parts) -> str:
    """A digest of ``parts``: frames by their columns and values (geometry as WKB), anything else
    by ``repr``. Equal content gives an equal digest, whatever object holds it."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(b"\x00")
        if isinstance(part, pd.DataFrame):
            _frame(h, part)
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


def _frame(h, frame: pd.DataFrame) -> None:
    h.update(repr((list(frame.columns), len(frame))).encode())
    for col in frame.columns:
        values = frame[col]
        if getattr(values.dtype, "name", "") == "geometry":
            h.update(b"".join(b or b"" for b in values.to_wkb().tolist()))
            continue
        try:
            h.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
        except TypeError:  # lists, dicts: not hashable by pandas
            h.update(repr(values.tolist()).encode())


def component_args(m: folium.Map) -> dict:
    """What ``st_folium(m)`` passes to its component (without the per-call arguments: key,
    height, width, returned objects), rendered once.

    ``st_folium`` renders the whole page (``m.get_root().render()``: every element, then the
    page's html, whose string it drops) and then the map again; what it passes on comes from
    the map's render alone (the header, html and the elements' scripts), so the map is rendered
    once here (the same arguments: tests/test_reports_map_cache.py)."""
    m.render()
    html = sf._get_html(m)
    header = sf._get_header(m)
    leaflet = sf._get_map_string(m)
    southwest, northeast = m.get_bounds()
    bounds = {
        "_southWest": {"lat": southwest[0], "lng": southwest[1]},
        "_northEast": {"lat": northeast[0], "lng": northeast[1]},
    }
    css, js = [], []
    for elem in _walk(m):
        css.extend(href for _, href in getattr(elem, "default_css", []))
        js.extend(src for _, src in getattr(elem, "default_js", []))
    return {
        "script": leaflet,
        "header": header,
        "html": html,
        "id": sf.get_full_id(m),
        "bounds": bounds,
        "zoom": m.options.get("zoom"),
        "css_links": list(dict.fromkeys(css)),
        "js_links": list(dict.fromkeys(js)),
    }


def _walk(element):
    if isinstance(element, folium.elements.JSCSSMixin):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


@st.cache_resource(show_spinner=False, max_entries=_MAX_MAPS)
def cached_args(key: str, _build: Callable[[], folium.Map]) -> dict:
    """:func:`component_args` of ``_build()``, once per ``key`` (a :func:`fingerprint`).
    Shared by every session and never copied: read only."""
    return component_args(_build())


def show(args: dict, *, key: str, height: int, width="stretch", returned_objects=()) -> dict:
    """The cached map on the page, as ``st_folium(..., key=key)`` shows it; returns the
    component's value (only ``returned_objects`` of it)."""
    returned = list(returned_objects)
    defaults = {"last_clicked": None, "bounds": args["bounds"], "zoom": args["zoom"]}
    defaults = {k: v for k, v in defaults.items() if k in returned}
    hashes = args.setdefault("hashes", {})  # a regex over the whole script: once per key
    hash_key = hashes.get(key) or hashes.setdefault(key, sf.generate_js_hash(args["script"], key))

    def _on_change():
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=args["script"],
        header=args["header"],
        html=args["html"],
        id=args["id"],
        key=hash_key,
        height=height,
        width=width,
        returned_objects=returned,
        default=defaults,
        zoom=None,
        center=None,
        feature_group=None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=args["css_links"],
        js_links=args["js_links"],
        on_change=_on_change,
        wrap_longitude=False,
    )
