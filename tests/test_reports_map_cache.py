"""The reports map rendered once per content (dashboard/reports/map_cache.py)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import streamlit_folium as sf

from dashboard.maps import elements
from dashboard.reports import map as reports_map
from dashboard.reports import map_cache
from geodata import geometry as reports_geo
from tests.test_safety_page import posts_frame, towns_frame

NOW = pd.Timestamp("2026-10-12T12:00:00Z")


def _parts(lang="ja", posts=None, page=("p3", "p6"), moving=None):
    posts = posts_frame(NOW) if posts is None else posts
    rows = posts[posts["post_id"].isin(page)].copy()
    numbers = {("mastodon", p): n + 1 for n, p in enumerate(page)}
    hexes = reports_geo.hexbin(posts)
    return towns_frame(), hexes, rows, numbers, lang, moving


def _build(towns, hexes, rows, numbers, lang, moving):
    return reports_map.reports_map(
        towns, hexes, rows, numbers, tiles="none", lang=lang, moving=moving
    )


def _key(towns, hexes, rows, numbers, lang, moving):
    return map_cache.fingerprint(hexes, rows, numbers, towns, (lang, moving))


@pytest.fixture
def recorded(monkeypatch):
    calls = []
    monkeypatch.setattr(sf, "_component_func", lambda **kw: calls.append(kw) or kw.get("default"))
    return calls


@pytest.mark.parametrize("returned", [[], ["last_clicked"]])
def test_the_cached_map_passes_the_component_what_st_folium_passes(recorded, returned):
    parts = _parts(moving=("mastodon", "p6") if returned else None)
    sf.st_folium(_build(*parts), key="reports_map", height=640, width="stretch",
                 returned_objects=returned)  # fmt: skip
    map_cache.show(map_cache.component_args(_build(*parts)), key="reports_map", height=640,
                   returned_objects=returned)  # fmt: skip
    theirs, ours = recorded
    theirs.pop("on_change"), ours.pop("on_change")
    assert ours == theirs
    assert len(ours["script"]) > 1000 and ours["key"] == theirs["key"]
    assert ours["default"] == ({"last_clicked": None} if returned else {})


def test_a_map_is_rendered_again_only_when_what_it_shows_changes(recorded):
    map_cache.cached_args.clear()
    built = []

    def args(parts):
        return map_cache.cached_args(_key(*parts), lambda: built.append(1) or _build(*parts))

    first = args(_parts())
    assert len(built) == 1
    # the same content in new objects (a new feed view of the same posts, a new minute): reused
    again = args(_parts())
    assert again is first and len(built) == 1
    # another language, another page, a post being moved, new posts in the hexagons: rendered
    english = args(_parts(lang="en"))
    assert len(built) == 2 and english["script"] != first["script"]
    assert "Posts on this page" in english["script"] and "Posts on this page" not in first["script"]
    args(_parts(page=("p6", "p3")))
    assert len(built) == 3
    args(_parts(moving=("mastodon", "p6")))
    assert len(built) == 4
    posts = posts_frame(NOW)
    more = pd.concat([posts, posts.iloc[[0]].assign(post_id="p99")], ignore_index=True)
    hexes_before = reports_geo.hexbin(posts)
    hexes_after = reports_geo.hexbin(more)
    assert int(hexes_after["count"].sum()) == int(hexes_before["count"].sum()) + 1
    args(_parts(posts=more))
    assert len(built) == 5
    # and back to the first: still cached
    assert args(_parts()) is first and len(built) == 5
    # what the cache serves is what a fresh render gives
    fresh = map_cache.component_args(_build(*_parts()))
    assert fresh == {k: v for k, v in first.items() if k != "hashes"}


def test_a_changed_text_on_the_page_changes_the_fingerprint():
    towns, hexes, rows, numbers, lang, moving = _parts()
    key = _key(towns, hexes, rows, numbers, lang, moving)
    masked = rows.assign(text="***")
    assert _key(towns, hexes, masked, numbers, lang, moving) != key
    assert _key(towns, hexes.copy(), rows.copy(), dict(numbers), lang, moving) == key
    assert map_cache.fingerprint(towns.iloc[:1]) != map_cache.fingerprint(towns)


def _layers_parts(lang="ja", posts=None, names=None):
    towns, hexes, rows, numbers, lang, moving = _parts(lang=lang, posts=posts)
    if names is not None:
        towns = towns.assign(name=names)
    boundaries = gpd.GeoDataFrame(
        {"city_code": ["13208"]}, geometry=[towns.union_all().envelope], crs=4326
    )
    centres = towns.geometry.representative_point()
    incidents = gpd.GeoDataFrame(
        {
            "incident_id": ["i1", "i2"],
            "category": ["火災", "停電"],
            "counts": [{"posts": 3, "rescue": 1}, {"posts": 1}],
            "town_code": towns["town_code"].iloc[:2].tolist(),
            "urgency": [3, 1],
        },
        geometry=centres.iloc[:2].tolist(),
        crs=4326,
    )
    return towns, boundaries, hexes, rows, numbers, incidents, lang


def _layers_map(towns, boundaries, hexes, rows, numbers, incidents, lang, keys=None):
    return reports_map.reports_map(
        towns, hexes, rows, numbers, incidents, boundaries=boundaries, tiles="none", lang=lang,
        layer_keys=keys,
    )  # fmt: skip


def test_shared_towns_boundaries_and_incidents_layers_render_as_built_anew(monkeypatch):
    """The towns', boundaries' and incidents' layers are built and rendered once per key and
    language and shared by later maps (a map whose hexagons changed builds none of them); what
    the component gets is what a map built without sharing gives."""
    monkeypatch.setattr(reports_map, "SHARED_LAYERS", reports_map.LayerPrototypes())
    builds = []
    for name in ("towns_layer", "boundary_layer", "incidents_layer"):
        real = getattr(reports_map, name)
        monkeypatch.setattr(
            reports_map, name, lambda *a, _real=real, _n=name, **k: builds.append(_n) or _real(*a, **k)
        )  # fmt: skip
    keys = {"towns": "v1", "boundaries": "v1", "incidents": "i1"}
    posts = posts_frame(NOW)
    more = pd.concat([posts, posts.iloc[[0]].assign(post_id="p99")], ignore_index=True)
    all_three = ["towns_layer", "boundary_layer", "incidents_layer"]
    steps = [("ja", posts, all_three), ("ja", more, []), ("ja", posts, []), ("en", more, all_three)]
    for lang, posts_now, built in steps:
        parts = _layers_parts(lang=lang, posts=posts_now)
        fresh = map_cache.component_args(_layers_map(*parts))
        builds.clear()
        shared = map_cache.component_args(_layers_map(*parts, keys=keys))
        assert builds == built, lang
        assert shared == fresh
        assert "geo_json_p" not in shared["script"]  # the placeholder id was replaced
    assert reports_map.SHARED_LAYERS.built == 6  # three layers, two languages
    # towns renamed (a new data version: new keys for the towns and the incidents, whose
    # tooltips name the towns) build those two again; the output is that of a fresh build
    parts = _layers_parts(names=["甲", "乙", "丙"])
    builds.clear()
    renamed = {**keys, "towns": "v2", "incidents": "i1-v2"}
    shared = map_cache.component_args(_layers_map(*parts, keys=renamed))
    assert builds == ["towns_layer", "incidents_layer"]
    assert shared == map_cache.component_args(_layers_map(*parts))
    assert "甲" in shared["script"]
    # a control: the incidents layer kept under its old key shows the old names
    stale = map_cache.component_args(_layers_map(*parts, keys={**renamed, "incidents": "i1"}))
    assert stale != shared


def test_a_layer_script_rendered_once_gives_what_rendering_each_time_gives(monkeypatch):
    """Every GeoJsonLayer renders its script macro once (the GeoJSON serialised once, not on
    each render of a streamlit-folium run): the component gets the same as when each render
    runs folium's macro."""
    parts = _layers_parts()
    frozen = map_cache.component_args(_layers_map(*parts))
    m = _layers_map(*parts)
    layers = [c for c in m._children.values() if isinstance(c, reports_map.GeoJsonLayer)]
    assert len(layers) == 4  # towns, boundaries, hexagons, incidents
    map_cache.component_args(m)
    assert all(isinstance(c._template, elements._RenderedScript) for c in layers)
    monkeypatch.setattr(elements.GeoJsonLayer, "_freeze_script", lambda self: False)
    each_time = map_cache.component_args(_layers_map(*parts))
    assert frozen == each_time
    # sf.st_folium of the same map, rendered each time, passes the component the same script
    assert "geo_json_" in each_time["script"] and "geo_json_p" not in frozen["script"]


@pytest.mark.parametrize("tiles", ["none", "gsi_pale"])
def test_one_render_passes_what_st_folium_passes_with_every_layer(recorded, tiles):
    """component_args renders the map once (st_folium renders the page and the map again):
    the same arguments, with towns, boundaries, hexagons, incidents, pins and tiles."""
    towns, boundaries, hexes, rows, numbers, incidents, lang = _layers_parts()

    def build():
        return reports_map.reports_map(towns, hexes, rows, numbers, incidents,
                                       boundaries=boundaries, tiles=tiles, lang=lang)  # fmt: skip

    sf.st_folium(build(), key="reports_map", height=640, width="stretch", returned_objects=[])
    map_cache.show(map_cache.component_args(build()), key="reports_map", height=640)
    theirs, ours = recorded
    theirs.pop("on_change"), ours.pop("on_change")
    assert ours == theirs
    assert "bosai-incident" in ours["script"] and "bosai-boundary" in ours["script"]
