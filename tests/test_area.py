"""The area view's summary (geodata/area.py ``area_summary``) reads each layer once for all the
cities of the scope and splits the rows by municipality: the table equals the one computed city
by city through stores scoped to each city, small counts suppressed alike, on both backends."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geodata import area
from geodata.export.public import SMALL, WITHHELD
from geodata.incidents import link_stored
from geodata.schema import LAYERS, MUNICIPALITY
from geodata.store.core import OutOfScope
from tests.test_municipalities import CHOFU, KOGANEI, T0, _area_store, _replies, _roster

KOKUBUNJI, KODAIRA = "13214", "13211"  # 国分寺市: towns without names; 小平市: a roster only
CODES = [CHOFU, KOKUBUNJI, KOGANEI, KODAIRA]


def _more_cities(store) -> None:
    """国分寺市: 1 unnamed town, 1 closed shelter, 2 residents of whom 1 was reached by a
    follow-up; 小平市: 4 residents, 3 replied, nothing else."""
    towns = gpd.GeoDataFrame(
        {"town_code": ["13214001001"], "city_code": [KOKUBUNJI], "name": ["本町一丁目"],
         "city_name": [None], "population": [700], MUNICIPALITY: [KOKUBUNJI]},
        geometry=[shapely.box(139.44, 35.54, 139.45, 35.55)], crs=4326,
    )  # fmt: skip
    store.upsert("towns", towns)
    shelters = gpd.GeoDataFrame(
        {"shelter_id": ["B-S1"], "name": ["国分寺小学校"], "kind": ["shelter"], "capacity": [80],
         MUNICIPALITY: [KOKUBUNJI]},
        geometry=[shapely.Point(139.445, 35.545)], crs=4326,
    )  # fmt: skip
    store.upsert("shelters", shelters)
    store.scoped([KOKUBUNJI]).update_shelter_status(
        "B-S1", {"status": "閉鎖", "evacuees": 5}, base_version=0, actor="staff", reported_at=T0
    )
    store.upsert("roster", _roster(KOKUBUNJI, ["b1", "b2"]))
    follow = pd.DataFrame({"id": ["f1"], "resident_id": ["b1"], "action": ["phone"],
                           "outcome": ["reached_safe"], "by": ["staff"], "at": [T0],
                           MUNICIPALITY: [KOKUBUNJI]})  # fmt: skip
    store.upsert("follow_ups", follow)
    ids = [f"k{i}" for i in range(4)]
    store.upsert("roster", _roster(KODAIRA, ids))
    store.upsert("safety_replies", _replies(KODAIRA, ids[:3]))


def _city_by_city(store, at) -> tuple[pd.DataFrame, dict]:
    """The summary as it was computed before: each city through a store scoped to it."""
    at = pd.Timestamp(at).tz_convert("UTC")
    codes = area.municipalities_of(store)
    return area.table_of([{"municipality": c, **area._city(store.scoped([c]), at)} for c in codes])


def _layer_queries(store, call) -> tuple[object, int]:
    """(what ``call()`` returns, how many SELECTs of a layer's table it ran)."""
    found = []

    def seen(_conn, _cursor, statement, *_args):
        text = statement.lower()
        if text.lstrip().startswith("select") and any(
            f"from {name}" in text or f'from "{name}"' in text for name in LAYERS
        ):
            found.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        return call(), len(found)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)


def test_the_area_summary_equals_the_city_by_city_one_with_one_read_per_layer(store):
    _area_store(store)
    _more_cities(store)
    scoped = store.scoped(CODES)
    for at in (T0 - pd.Timedelta(hours=1), pd.Timestamp("2026-10-12T12:30:00+09:00")):
        (table, totals), queries = _layer_queries(
            store, lambda at=at: area.area_summary(scoped, at)
        )
        (expected, expected_totals), per_city = _layer_queries(
            store, lambda at=at: _city_by_city(scoped, at)
        )
        pd.testing.assert_frame_equal(table, expected)
        assert totals == expected_totals
        # one read per layer, not one per layer and city (the unnamed 国分寺市 and 小平市 look
        # their names up in the boundaries, as before)
        assert per_city >= 4 * 7 and queries <= per_city / 3, (queries, per_city)
    rows = table.set_index("municipality")
    assert list(rows.index) == CODES  # in the order of the scope
    assert (
        rows.loc[KOKUBUNJI, "city_name"] == "国分寺市"
        and rows.loc[KODAIRA, "city_name"] == "小平市"
    )
    assert (rows.loc[KOKUBUNJI, "shelters"], rows.loc[KOKUBUNJI, "shelters_open"]) == (1, 0)
    assert rows.loc[KOKUBUNJI, "evacuees"] == 0  # a closed shelter's last count is not counted
    assert rows.loc[KOGANEI, "evacuation_level"] == 4 and rows.loc[CHOFU, "warning_level"] == 3
    assert rows.loc[KODAIRA, "shelters"] == 0 and pd.isna(rows.loc[KODAIRA, "evacuation_level"])
    # persons: 国分寺市's 2 residents and 小平市's 1 non-responder are small counts; the cells that
    # would let them be worked out from the totals are withheld
    assert rows.loc[KOKUBUNJI, "residents"] == SMALL and rows.loc[KODAIRA, "unconfirmed"] == SMALL
    shown = [v for col in area.PERSON_COLUMNS for v in table[col]]
    assert WITHHELD in shown and rows.loc[KODAIRA, "residents"] == WITHHELD
    assert totals["residents"] == 10 + 5 + 2 + 4
    assert not [v for v in shown if isinstance(v, int) and v < 3]


def test_the_unscoped_and_a_partial_scope_equal_the_city_by_city_summary(store):
    _area_store(store)
    _more_cities(store)
    at = pd.Timestamp("2026-10-12T12:30:00+09:00")
    for view in (store, store.scoped([KOKUBUNJI, KOGANEI]), store.scoped([KODAIRA])):
        table, totals = area.area_summary(view, at)
        expected, expected_totals = _city_by_city(view, at)
        pd.testing.assert_frame_equal(table, expected)
        assert totals == expected_totals
    assert area.area_summary(store.scoped([KOKUBUNJI, KOGANEI]), at)[0]["municipality"].tolist() == [
        KOKUBUNJI, KOGANEI]  # fmt: skip


def test_a_citys_reads_are_its_rows_with_the_columns_and_types_of_a_scoped_read(store):
    _area_store(store)
    _more_cities(store)
    reads = area.SharedReads(store.scoped(CODES))
    for code in CODES:
        city, scoped = reads.city(code), store.scoped([code])
        for layer, kwargs in (
            ("towns", {"columns": ["town_code", "city_name", "population"]}),
            ("roster", {}),
            ("follow_ups", {"until": T0 + pd.Timedelta(hours=1)}),
            ("shelters", {}),
        ):
            got, want = city.read(layer, **kwargs), scoped.read(layer, **kwargs)
            pd.testing.assert_frame_equal(got, want, check_like=False)
            assert type(got) is type(want), (code, layer)


def test_a_write_in_one_city_leaves_the_other_citys_data_version(store):
    """layer_versions counts each city's writes too: a cache keyed by a city's data version
    (dashboard/data.py, the area view) survives another city's write, and not its own."""
    _area_store(store)
    chofu, koganei, both = store.scoped([CHOFU]), store.scoped([KOGANEI]), store.scoped(CODES)

    def versions():
        return (store.data_version(), chofu.data_version(), koganei.data_version(),
                both.data_version(), koganei.data_version("roster"))  # fmt: skip

    v0 = versions()
    # an unscoped write (the ingest runner's) of 調布市's rows
    store.upsert("roster", _roster(CHOFU, ["x1"]))
    v1 = versions()
    assert v1[0] > v0[0] and v1[1] > v0[1] and v1[3] > v0[3]
    assert v1[2] == v0[2] and v1[4] == v0[4]
    store.upsert("roster", _roster(CHOFU, ["x1"]))  # unchanged: no write, no new version
    assert versions() == v1
    # a staff edit and a delete in 小金井市 through its own store
    koganei.update("roster", f"{KOGANEI}-0", {"care_priority": 2}, actor="staff")
    v2 = versions()
    assert v2[1] == v1[1] and v2[2] > v1[2] and v2[4] > v1[4] and v2[0] > v1[0]
    assert store.delete("roster", ["x1"]) == 1  # unscoped: the deleted row's city
    v3 = versions()
    assert v3[1] > v2[1] and v3[2] == v2[2]
    # a write the store cannot tell the city of (an unscoped shelter report) counts for all
    store.update_shelter_status("S1", {"status": "閉鎖"}, base_version=1, actor="staff")
    v4 = versions()
    assert all(b > a for a, b in zip(v3[:4], v4[:4], strict=True)) and v4[4] == v3[4]
    # an area store counts its cities' writes: 小金井市's shelter report is both's
    koganei.update_shelter_status("K-S1", {"status": "閉鎖"}, base_version=1, actor="staff")
    v5 = versions()
    assert v5[3] > v4[3] and v5[1] == v4[1] and v5[2] > v4[2]


def test_the_area_summary_changes_by_itself_only_at_its_change_times(store):
    """Rows dated later than now (a drill's, a clock ahead) and a 記録的短時間大雨情報's hour
    change the area view without a write: ``change_times`` lists exactly those moments, and
    between two of them the summary stays the same — so the view is cached per data version
    and next change time instead of per minute."""
    from geodata import evacuation
    from geodata.access.roles import User
    from tests.test_municipalities import _follow_ups
    from tests.test_warnings import load

    _area_store(store)  # everything of it at T0 (12:00 JST) or before
    load(store, ["vpoa50.xml"])  # 記録的短時間大雨情報 for 調布市 at 16:30:22 JST, for an hour
    jst = lambda hm: pd.Timestamp(f"2026-10-12T{hm}+09:00").tz_convert("UTC")  # noqa: E731
    chofu = store.scoped([CHOFU])
    follow = _follow_ups(CHOFU, [f"{CHOFU}-7"]).assign(outcome="reached_safe", at=jst("13:30"))
    store.upsert("follow_ups", follow)
    evacuation.issue(chofu, level=3, hazard="flood", towns=["13208008001"], reason="野川",
                     user=User("chofu-chief", "admin"), at=jst("14:00"))  # fmt: skip
    reply = _replies(CHOFU, [f"{CHOFU}-8"]).assign(status="無事", replied_at=jst("15:00"))
    store.upsert("safety_replies", reply)
    store.scoped([KOGANEI]).update_shelter_status(
        "K-S1", {"status": "閉鎖", "evacuees": 0}, base_version=1, actor="staff",
        reported_at=jst("18:00"),
    )  # fmt: skip
    scoped = store.scoped([CHOFU, KOGANEI])
    start = T0
    times = area.change_times(scoped, start)
    assert times == [jst(t) for t in ("13:30", "14:00", "15:00", "16:30:22", "17:30:22", "18:00")]
    assert area.next_change(scoped, jst("16:31")) == jst("17:30:22")
    assert area.next_change(scoped, jst("18:00")) is None
    bounds = [start, *times, jst("20:00")]
    seen = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        inside = [a, a + (b - a) / 2, b - pd.Timedelta(microseconds=1)]
        tables = [area.area_summary(scoped, t) for t in inside]
        for table, totals in tables[1:]:
            pd.testing.assert_frame_equal(table, tables[0][0])
            assert totals == tables[0][1]
        seen.append(tables[0][0].set_index("municipality"))
    # the moments do change what is shown: the record rain comes and goes, 小金井市's shelter
    # closes, 調布市's evacuation information appears
    warnings_of = [t.loc[CHOFU, "warnings"] for t in seen]
    assert warnings_of[4] == warnings_of[3] + 1 and warnings_of[5] == warnings_of[3]
    assert (seen[5].loc[KOGANEI, "shelters_open"], seen[6].loc[KOGANEI, "shelters_open"]) == (1, 0)
    assert (
        pd.isna(seen[1].loc[CHOFU, "evacuation_level"])
        and seen[2].loc[CHOFU, "evacuation_level"] == 3
    )


def test_the_area_view_is_computed_again_at_its_next_change_not_every_minute(sqlite_url):
    """The overview's area view keeps its rows while nothing is written and nothing comes due:
    minutes pass without a new computation; the end of 調布市's record rain's hour brings one,
    of 調布市 alone."""
    from dashboard import area as view
    from geodata.store.core import open_store, scoped_url
    from tests.test_warnings import load

    store = open_store(sqlite_url)
    _area_store(store)
    load(store, ["vpoa50.xml"])  # 記録的短時間大雨情報 at 16:30:22 JST, for an hour
    view.cache.clear()
    cached = view.cache(sqlite_url)
    assert view.cache(sqlite_url) is cached  # one for every session and user of the store
    user = store.scoped([CHOFU, KOGANEI])  # what an area user's store is
    assert scoped_url(sqlite_url, [CHOFU, KOGANEI]).startswith(sqlite_url)
    shown = {}
    for hm in ("16:00", "16:10", "16:29", "16:31", "17:00", "17:29", "17:31", "19:00"):
        now = pd.Timestamp(f"2026-10-12T{hm}+09:00").tz_convert("UTC")
        summary, _totals = cached.summary(user, now)
        shown[hm] = (
            cached.last,
            summary.set_index("municipality").loc[CHOFU, "warnings"],
        )
        pd.testing.assert_frame_equal(summary, area.area_summary(user, now)[0])
    assert shown["16:00"] == ([CHOFU, KOGANEI], 1)
    assert shown["16:10"] == shown["16:29"] == ([], 1)
    assert shown["16:31"] == ([CHOFU], 2)  # the record rain in force
    assert shown["17:00"] == shown["17:29"] == ([], 2)
    assert shown["17:31"] == ([CHOFU], 1)  # its hour ended
    assert shown["19:00"] == ([], 1)
    store.dispose()


def test_a_citys_row_is_computed_again_only_after_a_write_to_what_it_reads(store):
    """Posts and incidents (what ingest writes every few seconds) leave the area view's rows;
    a reply, a shelter report, a roster edit or an evacuation record computes that city's row
    again, and only it; the table always equals the summary computed anew."""
    from geodata import evacuation
    from geodata.access.roles import User

    _area_store(store)
    _more_cities(store)
    user = store.scoped(CODES)
    cached = area.AreaCache()
    at = pd.Timestamp("2026-10-12T12:30:00+09:00").tz_convert("UTC")

    def look(minutes: int) -> list[str]:
        when = at + pd.Timedelta(minutes=minutes)
        table, totals = cached.summary(user, when)
        expected, expected_totals = area.area_summary(user, when)
        pd.testing.assert_frame_equal(table, expected)
        assert totals == expected_totals
        return cached.last

    assert look(0) == CODES
    posts = gpd.GeoDataFrame(
        {"platform": "mastodon", "post_id": ["p1", "p2"], "text": ["布田で冠水", "布田 冠水です"],
         "posted_at": [at, at], "categories": [["浸水・冠水"]] * 2, "urgency": 2,
         MUNICIPALITY: CHOFU},
        geometry=[shapely.Point(139.542, 35.642)] * 2, crs=4326,
    )  # fmt: skip
    chofu_version = store.scoped([CHOFU]).data_version()
    link_stored(store, "posts", posts)  # what ingest writes: posts and their incident
    assert len(store.read("incidents")) == 1
    assert store.scoped([CHOFU]).data_version() > chofu_version
    assert look(1) == []  # posts and incidents are not read by the area view
    store.upsert("safety_replies", _replies(KODAIRA, ["k3"]).assign(status="無事"))
    assert look(2) == [KODAIRA]
    store.scoped([KOKUBUNJI]).update_shelter_status(
        "B-S1", {"status": "開設", "evacuees": 30}, base_version=1, actor="staff", reported_at=at
    )  # fmt: skip
    assert look(3) == [KOKUBUNJI]
    store.scoped([KOGANEI]).update("roster", f"{KOGANEI}-0", {"care_priority": 2}, actor="staff")
    evacuation.issue(store.scoped([CHOFU]), level=3, hazard="flood", towns=["13208008001"],
                     reason="野川", user=User("chofu-chief", "admin"), at=at)  # fmt: skip
    assert look(4) == [CHOFU, KOGANEI]  # in the order of the scope
    # an unscoped write the store cannot tell the city of counts for every city
    store.update_shelter_status("S1", {"status": "閉鎖"}, base_version=1, actor="staff")
    assert look(5) == CODES
    assert look(6) == []


def test_the_area_view_reads_only_the_layers_its_rows_are_kept_by(store):
    """A layer the area summary or its change times read must be in ``area.READS``: a write
    to it would otherwise leave a stale row in the cache."""
    import re

    from geodata import evacuation
    from geodata.access.roles import User

    _area_store(store)
    _more_cities(store)
    evacuation.issue(store.scoped([CHOFU]), level=3, hazard="flood", towns=["13208008001"],
                     reason="野川", user=User("chofu-chief", "admin"),
                     at=T0 + pd.Timedelta(minutes=5))  # fmt: skip
    found: set[str] = set()

    def seen(_conn, _cursor, statement, *_args):
        for name in re.findall(r'\bfrom\s+"?(\w+)"?', statement, flags=re.IGNORECASE):
            if name in LAYERS:
                found.add(name)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        for view in (store, store.scoped(CODES)):
            area.area_summary(view, T0)
            area.change_times(view, T0 - pd.Timedelta(hours=1))
            area.AreaCache().summary(view, T0)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert {"towns", "shelters", "shelter_status", "roster", "safety_replies"} <= found
    assert found <= set(area.READS), found - set(area.READS)


def test_a_scoped_store_gives_the_data_versions_of_its_own_cities_only(store):
    _area_store(store)
    chofu = store.scoped([CHOFU])
    mine = chofu.data_versions(area.READS)
    assert list(mine) == [CHOFU] and mine[CHOFU] > 0
    assert store.data_versions(area.READS, [CHOFU, KOGANEI])[CHOFU] == mine[CHOFU]
    with pytest.raises(OutOfScope):
        chofu.data_versions(area.READS, [CHOFU, KOGANEI])
    with pytest.raises(ValueError):
        store.data_versions(area.READS)  # unscoped: the cities must be named
