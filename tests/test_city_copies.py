"""Synthetic city copies for the area benchmark (benchmarks/city_copies.py): the tiny drill of
調布市 (the real reference layers, posts through the ingest runner) copied into PostGIS and made
into three synthetic municipalities in the database; each copy is the source's rows with its own
code, shifted geometry and keys, and a user of one city sees exactly that city."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from benchmarks.city_copies import copy_store, make_cities, offset, synthetic_codes
from benchmarks.common import TINY, Workspace
from geodata.area import area_summary
from geodata.schema import MUNICIPALITY
from geodata.store.core import open_store

pytestmark = [pytest.mark.postgis, pytest.mark.filterwarnings("ignore")]
SOURCE = "13208"
LAYERS = ("towns", "boundaries", "hazard_areas", "shelters", "shelter_status", "roster",
          "safety_replies", "posts", "field_reports", "incidents", "incident_members",
          "chronology")  # fmt: skip
KEY = {"towns": "town_code", "shelters": "shelter_id", "posts": "post_id",
       "incidents": "incident_id", "roster": "resident_id", "hazard_areas": "id"}  # fmt: skip


@pytest.fixture(scope="module")
def copies(tmp_path_factory, reference_dir, pg_cluster):
    """(url, codes, source): the tiny scenario in a PostGIS database of a role without superuser
    (row-level security holds), its source rows kept aside, then made into three cities."""
    ws = Workspace(tmp_path_factory.mktemp("cities"), repeats=1, quick=True)
    scenario = ws.scenario(TINY, "sqlite")
    url = pg_cluster.database_of_ordinary_role(postgis=True)
    open_store(url).dispose()
    copied = copy_store(scenario.url, url, log=lambda _msg: None)
    store = open_store(url)
    src = store.scoped([SOURCE])
    source = {layer: src.read(layer) for layer in LAYERS}
    summary, _ = area_summary(src, at=scenario.anchor)
    store.dispose()
    codes = synthetic_codes(3)
    made = make_cities(url, SOURCE, codes, log=lambda _msg: None)
    yield {"url": url, "codes": codes, "source": source, "copied": copied, "made": made,
           "summary": summary, "anchor": scenario.anchor, "scenario": scenario}  # fmt: skip
    ws.close()


def test_codes_are_synthetic_and_the_cells_do_not_overlap():
    codes = synthetic_codes(30)
    assert codes[0] == "13901" and codes[-1] == "13930" and len(set(codes)) == 30
    cells = {offset(i) for i in range(30)}
    assert len(cells) == 30 and offset(0) == (0.0, 0.0)
    # 調布市 spans 0.076° × 0.056°: the copies' cells are wider
    assert min(dx for dx, _ in cells if dx) >= 0.1 and min(dy for _, dy in cells if dy) >= 0.08
    with pytest.raises(ValueError):
        synthetic_codes(100)


def test_the_scenario_is_copied_as_stored(copies):
    counts = copies["scenario"].counts
    for layer in ("posts", "incidents", "roster", "shelters", "safety_replies", "shelter_status",
                  "field_reports"):  # fmt: skip
        assert copies["copied"][layer] == counts[layer] > 0, layer
    assert copies["made"]["rows"] == {layer: copies["copied"][layer] for layer in LAYERS}


def test_each_city_holds_the_sources_rows_under_its_code_shifted(copies):
    store = open_store(copies["url"])
    try:
        assert store.count("posts") == 3 * len(copies["source"]["posts"])  # the source is gone
        assert store.scoped([SOURCE]).count("towns") == 0
        for i, code in enumerate(copies["codes"]):
            city = store.scoped([code])
            dx, dy = offset(i)
            for layer in LAYERS:
                src, got = copies["source"][layer], city.read(layer)
                assert len(got) == len(src) > 0, (code, layer)
                assert set(got[MUNICIPALITY]) == {code}, (code, layer)
                if layer in KEY:
                    key = KEY[layer]
                    want = {f"{code}-{k}" for k in src[key]}
                    if key == "town_code":
                        want = {code + k[5:] for k in src[key]}
                    assert set(got[key]) == want, (code, layer)
            # geometry shifted by the city's cell, row by row
            src = copies["source"]["posts"].set_index("post_id")
            got = city.read("posts").set_index("post_id")
            got.index = got.index.str.removeprefix(f"{code}-")
            got = got.loc[src.index]
            located = ~src.geometry.is_empty & src.geometry.notna()
            assert located.sum() > 100
            a = shapely.get_coordinates(src.geometry[located].values)
            b = shapely.get_coordinates(got.geometry[located].values)
            assert np.allclose(b - a, [dx, dy])
            towns = city.read("towns").set_index("town_code")
            src_towns = copies["source"]["towns"].set_index("town_code")
            for town_code, town in src_towns.iterrows():
                moved = shapely.affinity.translate(town.geometry, dx, dy)
                copy = towns.loc[code + town_code[5:]]
                assert copy.geometry.equals_exact(moved, 1e-9)
                assert copy["city_code"] == code and copy["city_name"] == f"合成{i + 1:02d}市"
            # the copies do not overlap
            if i:
                other = store.scoped([copies["codes"][i - 1]]).read("boundaries").geometry.iloc[0]
                assert not city.read("boundaries").geometry.iloc[0].intersects(other)
    finally:
        store.dispose()


def test_references_stay_inside_each_copy(copies):
    store = open_store(copies["url"])
    try:
        for code in copies["codes"]:
            city = store.scoped([code])
            posts = city.read("posts")
            keys = set("mastodon:" + posts["post_id"]) | set("bluesky:" + posts["post_id"])
            keys |= {f"{p}:{k}" for p, k in zip(posts["platform"], posts["post_id"], strict=True)}
            reposts = posts["repost_of"].dropna()
            assert len(reposts) > 0 and set(reposts) <= keys
            incidents = set(city.read("incidents")["incident_id"])
            assert set(posts["incident_id"].dropna()) <= incidents
            members = city.read("incident_members")
            assert set(members["incident_id"]) <= incidents
            post_members = set(members.loc[members["layer"] == "posts", "member"])
            assert post_members and post_members <= keys
            reports = city.read("field_reports")
            report_keys = set(reports["source"] + ":" + reports["source_id"])
            assert set(members.loc[members["layer"] == "field_reports", "member"]) <= report_keys
            status = city.read("shelter_status")
            assert set(status["shelter_id"]) <= set(city.read("shelters")["shelter_id"])
            replies = city.read("safety_replies")["resident_id"].dropna()
            assert set(replies) <= set(city.read("roster")["resident_id"])
    finally:
        store.dispose()


def test_a_user_of_one_city_sees_exactly_that_city(copies):
    """Through the store's scope and, on the personal layers, the database's row security."""
    url, codes = copies["url"], copies["codes"]
    n_roster = len(copies["source"]["roster"])
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = "
                                        "current_user").scalar() is False  # fmt: skip
            conn.exec_driver_sql("SELECT set_config('bosai.municipalities', %s, true)", (codes[1],))
            rows = conn.exec_driver_sql(f'SELECT DISTINCT "{MUNICIPALITY}", count(*) FROM roster '
                                        f'GROUP BY 1').all()  # fmt: skip
            assert rows == [(codes[1], n_roster)]
    finally:
        engine.dispose()
    store = open_store(url)
    try:
        second = store.scoped([codes[1]])
        posts = second.read("posts")
        assert len(posts) == len(copies["source"]["posts"])
        assert posts["post_id"].str.startswith(f"{codes[1]}-").all()
        assert second.get("posts", ("mastodon", f"{codes[0]}-nope")) is None
        first_post = store.scoped([codes[0]]).read("posts").iloc[0]
        assert second.get("posts", (first_post["platform"], first_post["post_id"])) is None
    finally:
        store.dispose()


def test_the_area_view_shows_each_copy_as_the_source(copies):
    store = open_store(copies["url"])
    try:
        table, _ = area_summary(store.scoped(copies["codes"]), at=copies["anchor"])
    finally:
        store.dispose()
    source = copies["summary"].iloc[0]
    assert table["municipality"].tolist() == copies["codes"]
    assert table["city_name"].tolist() == ["合成01市", "合成02市", "合成03市"]
    for col in ("shelters", "shelters_open", "evacuees", "warnings", "residents", "replied"):
        assert table[col].tolist() == [source[col]] * 3, col
    assert source["shelters"] == TINY.shelters and source["shelters_open"] > 0
