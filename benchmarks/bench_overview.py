"""The overview map: what ``st_folium`` sends and how long building it takes, against a
MarkerCluster of the same damage reports.

Measured: the overview page's map built the way ``app_pages/overview.py`` builds it — the
reference layers and the common picture from the page's cached loaders (``dashboard.data``,
``dashboard.picture.load``, internal: the benchmark logs in as an administrator), then
``picture.context_map`` + ``picture.live_layers`` handed to ``kiosk.live_map`` (``st_folium``)
with the component call recorded instead of sent: ``bytes`` is the size of the JSON the
component would send to the browser (script, html, header, links, the live layers), ``build
time`` the time of the map and its layers + ``st_folium`` (rendering the folium tree to
JavaScript). The data loads are not timed (cached by data version on the server; the
``map_ready`` benchmark times them in a real session).

Baseline (same run), like for like: ``folium.Map`` + ``folium.plugins.MarkerCluster`` with one
marker per damage report the overview draws (the picture's report points, which the overview
aggregates into hexagons), through the same ``st_folium`` recorder. Until December 2026 the
baseline was a MarkerCluster of every located post — which the overview does not draw.
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
    """What ``app_pages/overview.py`` builds its map from (default view, internal picture)."""
    import pandas as pd

    from dashboard import data
    from dashboard import picture as common
    from geodata.schema import now_utc

    version = data.data_version(url)
    ref = data.reference_layers(url, version)
    minute = pd.Timestamp(now_utc()).floor("10min").isoformat()
    p = common.load(url, version, False, minute, None)
    return {"ref": ref, "picture": p, "store": data.get_store(url)}


def build_overview(inputs: dict) -> tuple[float, int]:
    """(seconds, payload bytes) of the overview map through st_folium."""
    from dashboard import kiosk
    from dashboard import picture as common
    from dashboard.shelters import map as shelters_map

    ref, p = inputs["ref"], inputs["picture"]
    with recorded_component() as calls:
        start = time.perf_counter()
        m = common.context_map(ref, "none", "", None, "ja")
        live = common.live_layers(p, ref, ref.status, inputs["store"], "ja", None)
        kiosk.live_map(m, live, key="map", height=640,
                       layer_control=shelters_map.layer_control())  # fmt: skip
        seconds = time.perf_counter() - start
    return seconds, payload_bytes(calls[-1])


def report_points(inputs: dict):
    """The damage reports the overview draws (lat, lon arrays)."""
    points = inputs["picture"].situation.reports.geometry
    points = points[points.notna() & ~points.is_empty]
    return points.y.to_numpy(), points.x.to_numpy()


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


def refresh_after_write(ws: Workspace, url: str, repeats: int) -> tuple[list, list]:
    """Seconds of the wall's picture (public) after a write to the posts — what a wall refresh
    costs while the ingest writes every minute — and, interleaved, of the whole picture with
    the caches cleared (what every such refresh cost when the picture was one cache entry)."""
    import pandas as pd
    import streamlit as st

    from dashboard import data
    from dashboard import picture as common
    from geodata.schema import now_utc

    store = data.get_store(url)
    minute = pd.Timestamp(now_utc()).floor("10min").isoformat()
    post = store.read("posts", limit=1).iloc[0]
    key = (post["platform"], post["post_id"])
    common.load(url, store.data_version(), True, minute, None)  # every part cached
    ours, base = [], []
    for i in range(max(1, repeats)):
        # a staff triage: the posts' data version moves, as an ingest batch moves it
        store.update("posts", key, {"triage": "handled" if i % 2 == 0 else "new"}, actor="bench")
        start = time.perf_counter()
        common.load(url, store.data_version(), True, minute, None)
        ours.append(time.perf_counter() - start)
        st.cache_data.clear()
        start = time.perf_counter()
        common.load(url, store.data_version(), True, minute, None)
        base.append(time.perf_counter() - start)
    return ours, base


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
        lat, lon = report_points(inputs)
        base = []
        for _ in range(ws.repeats if 0 < len(lat) <= BASELINE_MAX_POINTS else 0):
            base.append(build_marker_cluster(lat, lon))
            if base[-1][0] * 2 > ws.budget:
                break
        if not base:
            posts_note = f"baseline not built for {len(lat):,} damage reports"
        else:
            posts_note = (
                f"MarkerCluster of the {len(lat):,} damage reports the overview draws (as "
                "hexagons, with towns, hazard areas, shelters, residents by town)"
            )
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="overview map payload (st_folium)",
                value=statistics.median(b for _, b in ours),
                unit="bytes",
                baseline=statistics.median(b for _, b in base) if base else None,
                baseline_name="MarkerCluster of the same damage reports",
                better="lower",
                target=TARGET_BYTES,
                notes=posts_note,
            )
        )
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="overview map build time (context map + live layers + st_folium)",
                value=statistics.median(s for s, _ in ours),
                unit="s",
                baseline=statistics.median(s for s, _ in base) if base else None,
                baseline_name="MarkerCluster of the same damage reports",
                better="lower",
                samples=[round(s, 4) for s, _ in ours],
                baseline_samples=[round(s, 4) for s, _ in base],
                notes=f"data loads not timed; {len(lat):,} markers in the baseline",
            )
        )
        copy = ws.fresh_copy(scenario.url, f"overview-writes-{scale.name}")
        with _env(BOSAI_DB_URL=copy, BOSAI_TILES="none", BOSAI_TILE_URL=""):
            after, full = refresh_after_write(ws, copy, ws.repeats)
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="wall picture (public) after a write to the posts",
                value=statistics.median(after),
                unit="s",
                baseline=statistics.median(full),
                baseline_name="the whole picture computed again (caches cleared)",
                better="lower",
                samples=[round(s, 4) for s in after],
                baseline_samples=[round(s, 4) for s in full],
                notes="dashboard.picture.load after a staff triage of one post (the posts' data "
                "version moves, as with every ingest batch): the damage part is computed again, "
                "the towns part (residents by town) is kept; interleaved with the baseline",
            )
        )
    return figures
