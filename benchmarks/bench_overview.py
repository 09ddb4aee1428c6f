"""The overview map: what ``st_folium`` sends and how long building it takes, against a
MarkerCluster of the raw post points.

Measured: the overview page's map built the way ``app_pages/overview.py`` builds it (the page's
``dashboard.data`` loaders, then ``dashboard.maps.layers.overview_map``) and handed to
``streamlit_folium.st_folium`` with the component call recorded instead of sent: ``bytes`` is
the size of the JSON the component would send to the browser (script, html, header, links),
``build time`` the time of ``overview_map`` + ``st_folium`` (rendering the folium tree to
JavaScript). The data loads are not timed (they are cached by data version on the server).
Baseline (same run): ``folium.Map`` + ``folium.plugins.MarkerCluster`` of every located post
of the scenario (the raw points), through the same ``st_folium`` recorder.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager

from benchmarks.common import Figure, Scale, Workspace

NAME = "overview"
TARGET_BYTES = 3 * 2**20
BASELINE_MAX_POINTS = 200_000  # one folium Marker per post: beyond this the baseline takes hours


@contextmanager
def recorded_component():
    """``st_folium`` with its component call replaced by a recorder; yields the calls."""
    import streamlit_folium

    calls: list[dict] = []
    real = streamlit_folium._component_func

    def record(**kwargs):
        kwargs.pop("on_change", None)
        calls.append(kwargs)
        return kwargs.get("default")

    streamlit_folium._component_func = record
    try:
        yield calls
    finally:
        streamlit_folium._component_func = real


def payload_bytes(call: dict) -> int:
    """Size of the component arguments as the frontend receives them (JSON, UTF-8)."""
    return len(json.dumps(call, ensure_ascii=False, default=str).encode("utf-8"))


@contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def overview_inputs(url: str) -> dict:
    """The arguments ``app_pages/overview.py`` gives ``maps.overview_map`` (default view)."""
    from dashboard import data

    version = data.data_version(url)
    ref = data.reference_layers(url, version)
    return {
        "towns": ref.towns,
        "hazard": ref.hazard,
        "shelters": ref.shelters,
        "status": ref.status,
        "tiles": "none",
        "tile_url": "",
        "measure": None,
        "lang": "ja",
        "boundaries": ref.boundaries,
    }


def build_overview(inputs: dict) -> tuple[float, int]:
    """(seconds, payload bytes) of the overview map through st_folium."""
    from streamlit_folium import st_folium

    from dashboard.maps import layers as maps

    with recorded_component() as calls:
        start = time.perf_counter()
        m = maps.overview_map(**inputs)
        st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")
        seconds = time.perf_counter() - start
    return seconds, payload_bytes(calls[-1])


def raw_points(url: str):
    """Every located post of the store (lon/lat arrays)."""
    from geodata.store.core import open_store

    store = open_store(url)
    try:
        posts = store.read("posts", columns=["posted_at", "geometry"])
    finally:
        store.dispose()
    geoms = posts.geometry
    ok = geoms.notna() & ~geoms.is_empty
    return geoms[ok].y.to_numpy(), geoms[ok].x.to_numpy()


def marker_cluster_base(lat: float, lon: float):
    """An empty map without tiles that a MarkerCluster accepts (it needs the map's maxZoom,
    which folium only sets through a tile layer)."""
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    m = folium.Map(location=[lat, lon], zoom_start=13, tiles=None)
    zoom = MacroElement()
    zoom._template = Template(
        "{% macro script(this, kwargs) %}{{ this._parent.get_name() }}.setMaxZoom(19);"
        "{% endmacro %}"
    )
    zoom.add_to(m)
    return m


def marker_cluster_map(lat, lon):
    """The naive map: one marker per post in a MarkerCluster (folium's own plugin)."""
    import folium
    from folium.plugins import MarkerCluster

    m = marker_cluster_base(float(lat.mean()), float(lon.mean()))
    cluster = MarkerCluster(name="posts").add_to(m)
    for y, x in zip(lat.tolist(), lon.tolist(), strict=True):
        folium.Marker([y, x]).add_to(cluster)
    return m


def build_marker_cluster(lat, lon) -> tuple[float, int]:
    from streamlit_folium import st_folium

    with recorded_component() as calls:
        start = time.perf_counter()
        m = marker_cluster_map(lat, lon)
        st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")
        seconds = time.perf_counter() - start
    return seconds, payload_bytes(calls[-1])


def _median(pairs):
    pairs = sorted(pairs)
    return pairs[len(pairs) // 2]


def run(ws: Workspace, scales: list[Scale]) -> list[Figure]:
    import statistics

    figures = []
    for scale in scales:
        scenario = ws.scenario(scale, "sqlite")
        ws.log(f"overview {scale.name}")
        with _env(BOSAI_DB_URL=scenario.url, BOSAI_TILES="none", BOSAI_TILE_URL=""):
            inputs = overview_inputs(scenario.url)
            ours = [build_overview(inputs) for _ in range(ws.repeats)]
        lat, lon = raw_points(scenario.url)
        base = []
        for _ in range(ws.repeats if len(lat) <= BASELINE_MAX_POINTS else 0):
            base.append(build_marker_cluster(lat, lon))
            if base[-1][0] * 2 > ws.budget:
                break
        if not base:
            posts_note = (
                f"baseline not built for {len(lat):,} points (over {BASELINE_MAX_POINTS:,})"
            )
        else:
            posts_note = (
                f"MarkerCluster of {len(lat):,} located posts; the overview map shows towns, "
                "hazard areas and shelters (posts are mapped on the reports page: map_ready)"
            )
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="overview map payload (st_folium)",
                value=statistics.median(b for _, b in ours),
                unit="bytes",
                baseline=statistics.median(b for _, b in base) if base else None,
                baseline_name="MarkerCluster of the raw post points",
                better="lower",
                target=TARGET_BYTES,
                notes=posts_note,
            )
        )
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="overview map build time (overview_map + st_folium)",
                value=statistics.median(s for s, _ in ours),
                unit="s",
                baseline=statistics.median(s for s, _ in base) if base else None,
                baseline_name="MarkerCluster of the raw post points",
                better="lower",
                samples=[round(s, 4) for s, _ in ours],
                baseline_samples=[round(s, 4) for s, _ in base],
                notes=f"data loads not timed; {len(lat):,} points in the baseline",
            )
        )
    return figures
