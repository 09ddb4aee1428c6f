"""The store on both backends (SQLite and PostGIS): every test runs on each (fixture ``store``)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from datetime import timedelta

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geodata.schema import now_utc
from geodata.store.core import StaleVersion, UnknownRecord, open_store
from geodata.store.migrations import SCHEMA_VERSION, table_columns
from geodata.text.fingerprints import text_digest

T0 = pd.Timestamp("2026-10-12T03:00:00Z")


def _posts(n: int, start: int = 0, text: str = "多摩川が氾濫しそう") -> gpd.GeoDataFrame:
    ids = range(start, start + n)
    return gpd.GeoDataFrame(
        {
            "platform": ["mastodon"] * n,
            "post_id": [str(i) for i in ids],
            "author": [f"user{i % 7}" for i in ids],
            "text": [f"{text} {i}" for i in ids],
            "posted_at": [T0 + timedelta(minutes=i) for i in ids],
            "categories": [["浸水・冠水"]] * n,
            "urgency": [i % 4 for i in ids],
            "triage": ["new"] * n,
        },
        geometry=[shapely.Point(139.50 + (i % 100) * 0.001, 35.63 + (i % 50) * 0.001) for i in ids],
        crs="EPSG:4326",
    )


def _shelter(store, shelter_id="S1", capacity=100):
    gdf = gpd.GeoDataFrame(
        {
            "shelter_id": [shelter_id],
            "name": ["第二小学校"],
            "kind": ["shelter"],
            "capacity": [capacity],
            "capacity_estimated": [True],
            "hazards": [["flood"]],
        },
        geometry=[shapely.Point(139.55, 35.65)],
        crs=4326,
    )
    store.upsert("shelters", gdf)


def test_second_upsert_changes_nothing(store):
    posts = _posts(50)
    first = store.upsert("posts", posts)
    assert (first.inserted, first.updated, first.unchanged) == (50, 0, 0)
    version = store.data_version("posts")
    second = store.upsert("posts", posts)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 50)
    assert store.data_version("posts") == version  # nothing written, caches stay valid
    assert store.count("posts") == 50


def test_upsert_updates_changed_rows_only(store):
    store.upsert("posts", _posts(10))
    changed = _posts(10)
    changed.loc[3, "text"] = "訂正: 冠水は解消"
    changed.loc[7, "geometry"] = shapely.Point(139.6, 35.7)
    result = store.upsert("posts", changed)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 8)
    row = store.get("posts", ("mastodon", "3"))
    assert row["text"] == "訂正: 冠水は解消"
    assert row["categories"] == ["浸水・冠水"]
    assert store.get("posts", ("mastodon", "7"))["geometry"].equals(shapely.Point(139.6, 35.7))


def test_values_round_trip_with_types(store):
    store.upsert("posts", _posts(3))
    back = store.read("posts", order="post_id")
    assert isinstance(back, gpd.GeoDataFrame) and back.crs.to_epsg() == 4326
    assert list(back["post_id"]) == ["0", "1", "2"]
    assert back["posted_at"].iloc[1] == T0 + timedelta(minutes=1)
    assert str(back["posted_at"].dt.tz) == "UTC"
    assert list(back["urgency"]) == [0, 1, 2]
    assert back["categories"].iloc[0] == ["浸水・冠水"]
    assert back.geometry.iloc[2].equals_exact(shapely.Point(139.502, 35.632), 1e-9)


def test_one_record_by_key_is_what_a_read_of_it_gives(store):
    """Store.get decodes one row without a frame: each value as a read gives it, missing ones
    (empty geometry, urgency, lists, times) as None, times aware UTC, on both backends."""
    from geodata.store.codec import plain

    posts = _posts(3)
    posts.loc[1, "urgency"] = None
    posts.loc[1, "categories"] = None
    posts.loc[2, "posted_at"] = pd.Timestamp("2026-10-12T12:34:56.789012+09:00")
    posts.loc[2, "text"] = None
    posts = posts.set_geometry([posts.geometry.iloc[0], None, posts.geometry.iloc[2]])
    store.upsert("posts", posts)
    _shelter(store)
    store.record_health("mastodon", ok=False, error="HTTP 503", kind="sns")
    for layer, keys in [
        ("posts", [("mastodon", "0"), ("mastodon", "1"), ("mastodon", "2")]),
        ("shelters", ["S1"]),
        ("source_health", ["mastodon"]),
    ]:
        read = store.read(layer)
        key_cols = list(read.columns[: len(keys[0]) if isinstance(keys[0], tuple) else 1])
        for key in keys:
            want = plain(read.set_index(key_cols).loc[key].to_dict()) | dict(
                zip(key_cols, key if isinstance(key, tuple) else (key,), strict=True)
            )
            got = store.get(layer, key)
            assert set(got) == set(want)
            for name, value in want.items():
                if hasattr(value, "equals"):
                    assert value.equals(got[name]), (layer, key, name)
                else:
                    assert got[name] == value and type(got[name]) is type(value), (layer, key, name)
    row = store.get("posts", ("mastodon", "1"))
    assert row["urgency"] is None and row["categories"] is None and row["geometry"] is None
    when = store.get("posts", ("mastodon", "2"))["posted_at"]
    assert when == pd.Timestamp("2026-10-12T03:34:56.789012Z") and when.tzinfo is not None
    assert store.get("source_health", "mastodon")["state"] == "failing"
    assert store.get("posts", ("mastodon", "9")) is None


def test_bad_rows_are_rejected_with_reason_and_the_rest_is_written(store):
    posts = _posts(5)
    posts["posted_at"] = posts["posted_at"].astype(object)
    posts.loc[1, "posted_at"] = "not a time"
    posts.loc[2, "triage"] = "maybe"
    posts.loc[3, "geometry"] = shapely.Point(500, 35)
    result = store.upsert("posts", posts, source="mastodon:test")
    assert (result.inserted, result.rejected) == (2, 3)
    rej = store.read_rejections()
    assert len(rej) == 3
    assert set(rej["source"]) == {"mastodon:test"}
    reasons = " | ".join(rej["reason"])
    assert "posted_at" in reasons and "triage" in reasons and "lon/lat" in reasons


def test_reads_filter_time_window_and_bbox_in_the_database(store):
    store.upsert("posts", _posts(120))
    window = store.read("posts", since=T0 + timedelta(minutes=30), until=T0 + timedelta(minutes=40))
    assert sorted(int(x) for x in window["post_id"]) == list(range(30, 40))
    # Points are at lon 139.50 + (i % 100) * 0.001: a box around 139.5095..139.5115 holds i%100 in 10,11
    box = store.read("posts", bbox=(139.5095, 35.0, 139.5115, 36.0))
    assert sorted(int(x) for x in box["post_id"]) == [10, 11, 110, 111]
    assert store.count("posts", where={"urgency": [3]}) == 30
    limited = store.read("posts", order="posted_at DESC", limit=5, columns=["text"])
    assert list(limited.columns[:3]) == ["platform", "post_id", "text"]
    assert list(limited["post_id"]) == ["119", "118", "117", "116", "115"]


def test_rows_are_read_by_their_keys(store):
    """``read_keys``: the rows of the keys given, on every leading key value (two platforms),
    over more keys than one statement binds, with a subset of columns; unknown keys are
    simply not found, and no key reads nothing."""
    from geodata.store.core import CHUNK

    n = CHUNK + 300
    posts = _posts(n)
    posts.loc[posts.index[::3], "platform"] = "bluesky"
    store.upsert("posts", posts)
    wanted = [(p, i) for p, i in zip(posts["platform"], posts["post_id"], strict=True)][::2]
    got = store.read_keys("posts", [*wanted, ("mastodon", "nope"), ("x", "1")])
    assert sorted(zip(got["platform"], got["post_id"], strict=True)) == sorted(wanted)
    assert len(got) == len(wanted) > CHUNK // 2
    row = got.set_index(["platform", "post_id"]).loc[("bluesky", "6")]
    assert row["text"] == "多摩川が氾濫しそう 6" and row["author"] == "user6"
    assert row["geometry"].equals(shapely.Point(139.506, 35.636))
    some = store.read_keys("posts", wanted[:5], columns=["urgency"])
    assert list(some.columns) == ["platform", "post_id", "urgency"]
    assert sorted(some["urgency"].tolist()) == sorted(int(i) % 4 for _, i in wanted[:5])
    assert store.read_keys("posts", []).empty
    # a group whose only stored key comes after CHUNK unknown ones; a read finding nothing
    late = [("mastodon", f"none{i}") for i in range(CHUNK + 5)] + [wanted[1]]
    found = store.read_keys("posts", late, columns=["urgency"])
    assert list(zip(found["platform"], found["post_id"], strict=True)) == [wanted[1]]
    none = store.read_keys("posts", late[:-1], columns=["urgency", "geometry"])
    assert none.empty and list(none.columns) == ["platform", "post_id", "urgency", "geometry"]
    assert none.columns.equals(store.read("posts", columns=["urgency", "geometry"]).columns)


def test_staff_upsert_and_update_write_audit_rows(store):
    store.upsert("posts", _posts(3))
    assert store.read_audit().empty  # machine writes are not staff edits
    new = store.update("posts", ("mastodon", "1"), {"triage": "verified"}, actor="sato")
    assert new["triage"] == "verified"
    audit = store.read_audit()
    assert len(audit) == 1
    row = audit.iloc[0]
    assert (row["who"], row["layer"], row["record_key"]) == ("sato", "posts", "mastodon|1")
    assert '"triage": "new"' in row["old"] and '"triage": "verified"' in row["new"]
    with pytest.raises(ValueError):
        store.update("posts", ("mastodon", "1"), {"triage": "bogus"}, actor="sato")
    with pytest.raises(UnknownRecord):
        store.update("posts", ("mastodon", "999"), {"triage": "handled"}, actor="sato")
    assert store.get("posts", ("mastodon", "1"))["triage"] == "verified"
    assert len(store.read_audit()) == 1


def test_stale_shelter_update_is_refused_with_the_current_record(store):
    _shelter(store)
    first = store.update_shelter_status(
        "S1", {"status": "開設", "evacuees": 10}, base_version=0, actor="a"
    )
    assert first["version"] == 1
    second = store.update_shelter_status("S1", {"evacuees": 25}, base_version=1, actor="b")
    assert (second["version"], second["status"], second["evacuees"]) == (2, "開設", 25)
    with pytest.raises(StaleVersion) as err:
        store.update_shelter_status("S1", {"evacuees": 12}, base_version=1, actor="a")
    assert err.value.current["version"] == 2
    assert err.value.current["evacuees"] == 25
    current = store.current_shelter_status()
    assert list(current["evacuees"]) == [25]
    assert len(store.shelter_status_history("S1")) == 2
    with pytest.raises(ValueError, match="negative"):
        store.update_shelter_status("S1", {"evacuees": -3}, base_version=2, actor="a")
    with pytest.raises(UnknownRecord):
        store.update_shelter_status("NOPE", {"evacuees": 3}, base_version=0, actor="a")
    audit = store.read_audit(layer="shelter_status")
    assert list(audit["who"]) == ["b", "a"]


def test_shelter_status_from_other_systems_is_idempotent(store):
    _shelter(store)
    rows = pd.DataFrame(
        {
            "shelter_id": ["S1", "S1", "GHOST"],
            "source_id": ["r1", "r2", "r3"],
            "reported_at": ["2026-10-12 18:00", "2026-10-12 19:00", "2026-10-12 19:00"],
            "status": ["開設", "満員", "開設"],
            "evacuees": [40, 130, 5],
        }
    )
    first = store.append_shelter_status(rows, source="csv:city")
    assert (first.inserted, first.rejected) == (2, 1)
    assert "unknown shelter GHOST" in store.read_rejections()["reason"].iloc[0]
    again = store.append_shelter_status(rows.iloc[:2], source="csv:city")
    assert (again.inserted, again.unchanged) == (0, 2)
    current = store.current_shelter_status().iloc[0]
    assert (current["version"], current["status"], current["evacuees"]) == (2, "満員", 130)
    # naive times are JST: 19:00 JST is 10:00 UTC
    assert current["reported_at"] == pd.Timestamp("2026-10-12T10:00:00Z")


def _count_writer(url: str, n: int, who: str) -> int:
    """Apply n +1 updates to shelter S1, retrying on stale versions; returns the retries."""
    store = open_store(url, migrate=False)
    retries = 0
    done = 0
    while done < n:
        cur = store.current_shelter_status()
        cur = cur[cur["shelter_id"] == "S1"]
        version = int(cur["version"].iloc[0]) if len(cur) else 0
        evacuees = int(cur["evacuees"].iloc[0]) if len(cur) else 0
        try:
            store.update_shelter_status(
                "S1", {"evacuees": evacuees + 1, "status": "開設"}, base_version=version, actor=who
            )
            done += 1
        except StaleVersion:
            retries += 1
    store.dispose()
    return retries


def test_four_processes_updating_one_shelter_lose_nothing(store, store_url):
    _shelter(store)
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        # A Pool replaces a worker that dies and waits for its task forever: bound the wait.
        pending = pool.starmap_async(
            _count_writer, [(store_url, 200, f"staff{i}") for i in range(4)]
        )
        retries = pending.get(timeout=240)
    history = store.shelter_status_history("S1")
    assert len(history) == 800
    assert list(history["version"]) == list(range(1, 801))
    current = store.current_shelter_status().iloc[0]
    assert current["evacuees"] == 800  # every +1 landed: no lost update
    audit = store.read_audit(limit=10_000, layer="shelter_status")
    assert len(audit) == 800
    assert audit["who"].value_counts().to_dict() == {f"staff{i}": 200 for i in range(4)}
    assert current["reported_by"] == audit.iloc[0]["who"]  # final state = last accepted write
    assert sum(retries) >= 0


def _bulk_writer(url: str, n: int, flag_path: str) -> None:
    store = open_store(url, migrate=False)

    def progress(done: int) -> None:
        with open(flag_path, "a") as fh:
            fh.write(f"{done}\n")
        time.sleep(0.05)  # keep the transaction open long enough to be killed inside it

    store.upsert("posts", _posts(n), progress=progress)


def test_sigkill_in_the_middle_of_a_bulk_write_leaves_no_partial_batch(store, store_url, tmp_path):
    store.upsert("posts", _posts(5, start=1_000_000))
    flag = tmp_path / "progress"
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_bulk_writer, args=(store_url, 20_000, str(flag)))
    proc.start()
    deadline = time.time() + 120
    while time.time() < deadline:
        if flag.exists() and len(flag.read_text().split()) >= 2:
            break
        time.sleep(0.02)
    assert flag.exists(), "the writer never started writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    written = int(flag.read_text().split()[-1])
    assert 0 < written < 20_000  # killed mid-batch
    fresh = open_store(store_url)
    assert fresh.count("posts") == 5  # only what was there before
    assert fresh.upsert("posts", _posts(3)).inserted == 3  # and the store is usable
    fresh.dispose()


def test_a_newer_app_opens_a_database_made_by_an_older_one(store_url):
    store = open_store(store_url)
    store.upsert("posts", _posts(4))
    # Make it look like a database of schema version 1 (before posts.assigned_to existed).
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_posts_town")
        conn.exec_driver_sql("ALTER TABLE posts DROP COLUMN assigned_to")
        conn.exec_driver_sql("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store.dispose()
    upgraded = open_store(store_url)
    assert upgraded.schema_version() == SCHEMA_VERSION
    with upgraded.engine.connect() as conn:
        conn.exec_driver_sql("SELECT assigned_to FROM posts").all()  # the column exists again
    assert upgraded.count("posts") == 4
    upgraded.update("posts", ("mastodon", "2"), {"assigned_to": "suzuki"}, actor="admin")
    assert upgraded.get("posts", ("mastodon", "2"))["assigned_to"] == "suzuki"
    assert open_store(store_url).migrate() == 0  # idempotent
    upgraded.dispose()


def test_first_posts_per_fingerprint_and_posts_by_write_stamp(store_url):
    long = "多摩川の水位が上がって布田二丁目の河川敷が水につかっています"
    store = open_store(store_url)
    old = _posts(3, start=0, text=long)  # T0 + 0..2 min
    old["text"] = [long, "RT " + long + " #調布", "国領町で停電しています、信号も消えています"]
    recent = _posts(2, start=600, text="染地の都営住宅の前が冠水")  # T0 + 10 h
    store.upsert("posts", pd.concat([old, recent]))
    # A database from before posts.text_fp and ix_posts_stored: the migrations add them.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_posts_fp")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_posts_stored")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_posts_stored_city")
        conn.exec_driver_sql("ALTER TABLE posts DROP COLUMN text_fp")
        conn.exec_driver_sql("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    store.dispose()
    store = open_store(store_url)
    indexes = {ix["name"] for ix in sa.inspect(store.engine).get_indexes("posts")}
    assert {"ix_posts_fp", "ix_posts_stored_city"} <= indexes  # v6's stamp index, per city (v15)
    assert "ix_posts_stored" not in indexes
    if store.engine.dialect.name == "sqlite":  # a city's stamps counted from the index alone
        with store.engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT stored_at, count(*) FROM posts WHERE stored_at >= '2026' "
                "AND municipality IN ('13208') GROUP BY stored_at"))  # fmt: skip
        assert "COVERING INDEX ix_posts_stored_city" in plan, plan
    with store.engine.connect() as conn:
        fps = dict(conn.exec_driver_sql("SELECT post_id, text_fp FROM posts").all())
    assert fps["0"] == fps["1"] == text_digest(long)  # RT and hashtag removed: one fingerprint
    assert fps["2"] != fps["0"]
    assert fps["600"] is None  # too short to be called a copy: no fingerprint
    now = T0 + timedelta(hours=11)
    first = store.first_posts(
        [text_digest("RT " + long), text_digest("別の投稿で、まだ誰も書いていない長めの文章です")],
        since=now - timedelta(hours=24),
        until=now - timedelta(hours=2),
        columns=["text", "posted_at", "repost_of"],
    )
    # the first post of the fingerprint; not its later copy, nor the unrelated post
    assert first["post_id"].tolist() == ["0"]
    assert list(first.columns[:3]) == ["platform", "post_id", "text"]
    assert store.first_posts([fps["0"]], since=T0 + timedelta(minutes=1), until=now)[
        "post_id"
    ].tolist() == ["1"]  # the window bounds the search
    # What was written since a moment, by write stamp: a staff edit and a new post, not the
    # untouched posts.
    mark = now_utc()
    store.update("posts", ("mastodon", "2"), {"assigned_to": "suzuki"}, actor="admin")
    store.upsert("posts", recent)  # unchanged rows are not written again
    store.upsert("posts", _posts(2, start=700, text="入間町で道路が陥没"))
    stamps = store.post_write_stamps(mark)
    assert sorted(stamps.values()) == [1, 2]  # one stamp per write, with its row count
    assert all(t >= pd.Timestamp(mark) for t in stamps)
    written = store.posts_written_at(stamps, columns=["text", "posted_at", "repost_of"])
    assert sorted(written["post_id"]) == ["2", "700", "701"]
    assert (
        written.set_index("post_id").loc["2", "text"]
        == "国領町で停電しています、信号も消えています"
    )
    assert written.groupby("stored_at").size().sort_values().tolist() == [1, 2]
    assert store.post_write_stamps(now_utc()) == {}
    store.dispose()


def test_source_health_keeps_last_cursor_on_failure(store):
    store.record_health("mastodon", ok=True, kind="mastodon", cursor="110", rows=40)
    store.record_health("mastodon", ok=False, error="HTTP 500 from https://example")
    health = store.get("source_health", "mastodon")
    assert health["cursor"] == "110"
    assert health["rows_last_run"] == 40
    assert "HTTP 500" in health["last_error"]
    assert health["last_error_at"] >= health["last_success_at"]
    assert store.get_cursor("mastodon") == "110"
    assert store.get_cursor("bluesky") is None


def test_health_of_several_sources_is_recorded_in_one_write(store):
    """record_healths: a source seen before keeps what the run does not change, a new one starts
    empty, a source listed twice ends as its second run left it; one write for all of them."""
    store.record_health("mastodon", ok=False, error="HTTP 503", kind="sns")
    store.record_health("bluesky", ok=True, kind="sns", cursor="c1", rows=3)
    before = store.data_version("source_health")
    when = pd.Timestamp("2026-10-12T03:00:00Z")
    store.record_healths([
        ("mastodon", {"ok": True, "cursor": "m9", "rows": 12, "rejected": 1,
                      "newest_record_at": when, "stale_after_seconds": 600}),
        ("posts-file", {"ok": True, "kind": "file", "rows": 5}),
        ("bluesky", {"ok": False, "error": "HTTP 429", "backoff_until": when}),
        ("bluesky", {"ok": False, "error": "HTTP 500"}),
    ])  # fmt: skip
    assert store.data_version("source_health") == before + 1
    m = store.get("source_health", "mastodon")
    assert (m["state"], m["cursor"], m["rows_last_run"], m["rejected_last_run"]) == (
        "ok",
        "m9",
        12,
        1,
    )
    assert m["kind"] == "sns" and m["last_error"] == "HTTP 503"  # kept from before
    assert m["newest_record_at"] == when and m["stale_after_seconds"] == 600.0
    f = store.get("source_health", "posts-file")
    assert (f["state"], f["kind"], f["rows_last_run"], f["cursor"], f["last_error"]) == (
        "ok",
        "file",
        5,
        None,
        None,
    )
    b = store.get("source_health", "bluesky")
    assert (b["state"], b["last_error"], b["backoff_until"], b["cursor"]) == (
        "failing",
        "HTTP 500",
        None,
        "c1",
    )
    assert store.read_rejections(source="store").empty  # no row rejected (none twice)


def test_geometry_stored_in_postgis_is_a_real_geometry(pg_url):
    store = open_store(pg_url)
    store.upsert("posts", _posts(2))
    with store.engine.connect() as conn:
        srid, gtype = conn.exec_driver_sql(
            "SELECT ST_SRID(geometry), GeometryType(geometry) FROM posts LIMIT 1"
        ).one()
        idx = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_posts_geom'"
        ).scalar()
    assert (srid, gtype) == (4326, "POINT")
    assert "gist" in idx.lower()
    store.dispose()


test_geometry_stored_in_postgis_is_a_real_geometry = pytest.mark.postgis(
    test_geometry_stored_in_postgis_is_a_real_geometry
)


def test_data_version_grows_with_each_write(store):
    v0 = store.data_version()
    store.upsert("posts", _posts(1))
    v1 = store.data_version()
    _shelter(store)
    store.update_shelter_status("S1", {"status": "開設"}, base_version=0, actor="x")
    assert v0 < v1 < store.data_version()
    assert store.data_version("posts") == 1
    assert now_utc().tzinfo is not None


def test_missing_text_reads_back_as_none_not_nan(store):
    # pandas 3 infers a string dtype for text columns, which turns None into NaN; pages and
    # exports test `is None`, so the store must keep None.
    _shelter(store)
    back = store.read("shelters")
    assert back["note"].tolist() == [None]
    assert back["name"].tolist() == ["第二小学校"]
    assert back["note"].dtype == object


def _resident(resident_id: str, municipality: str | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"resident_id": [resident_id], "name": ["調布 花子"], "municipality": [municipality]},
        geometry=[shapely.Point(139.55, 35.65)],
        crs=4326,
    )


def test_a_database_of_one_municipality_gets_every_row_tagged_with_it(store_url, monkeypatch):
    """v12: a database made before municipalities (v11) — every row of a municipal layer
    belongs to BOSAI_MUNICIPALITY, or to the city its own city code names."""
    from geodata.schema import LAYERS, MUNICIPALITY

    monkeypatch.setenv("BOSAI_MUNICIPALITY", "132080")  # with its check digit, as configured
    store = open_store(store_url)
    store.upsert("posts", _posts(3))
    _shelter(store)
    store.upsert("roster", _resident("R1"))
    towns = gpd.GeoDataFrame(
        {"town_code": ["13210001001", "13208001001"], "city_code": ["13210", None],
         "name": ["小金井の町", "飛田給一丁目"]},
        geometry=[shapely.box(139.5, 35.7, 139.51, 35.71), shapely.box(139.52, 35.65, 139.53, 35.66)],
        crs=4326,
    )  # fmt: skip
    store.upsert("towns", towns)
    # Make it a database of schema version 11: no municipality column anywhere (nor the v14 and
    # v15 indexes that hold one).
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_incident_members_summary")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_posts_stored_city")  # v15
        conn.exec_driver_sql("CREATE INDEX ix_posts_stored ON posts (stored_at)")  # v6
        for layer in LAYERS.values():
            if layer.row_security and store.postgres:
                conn.exec_driver_sql(f'DROP POLICY bosai_municipality ON "{layer.name}"')
                conn.exec_driver_sql(f'ALTER TABLE "{layer.name}" DISABLE ROW LEVEL SECURITY')
            if layer.municipal:
                conn.exec_driver_sql(f'ALTER TABLE "{layer.name}" DROP COLUMN "{MUNICIPALITY}"')
        conn.exec_driver_sql("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    store.dispose()
    monkeypatch.setenv("BOSAI_MUNICIPALITY", "13215")  # the app is now configured for 羽村市
    upgraded = open_store(store_url)
    assert upgraded.schema_version() == SCHEMA_VERSION
    assert upgraded.read("posts")[MUNICIPALITY].tolist() == ["13215"] * 3
    assert upgraded.get("roster", "R1")[MUNICIPALITY] == "13215"
    assert upgraded.get("shelters", "S1")[MUNICIPALITY] == "13215"
    by_town = upgraded.read("towns").set_index("town_code")[MUNICIPALITY].to_dict()
    assert by_town == {"13210001001": "13210", "13208001001": "13215"}  # its own city first
    # every municipal table has the column, none is left empty
    with upgraded.engine.connect() as conn:
        for layer in LAYERS.values():
            if layer.municipal:
                empty = conn.exec_driver_sql(
                    f'SELECT count(*) FROM "{layer.name}" WHERE "{MUNICIPALITY}" IS NULL'
                ).scalar()
                assert empty == 0, layer.name
    assert upgraded.migrate() == 0
    # a new row written without a municipality belongs to the configured one
    upgraded.upsert("posts", _posts(1, start=10))
    assert upgraded.get("posts", ("mastodon", "10"))[MUNICIPALITY] == "13215"
    upgraded.dispose()


def test_incident_member_lists_become_member_rows(store_url):
    """v13: a database of v12 keeps each incident's pieces as a JSON ``members`` list; they
    become ``incident_members`` rows with the pieces' facts read from their rows (a piece whose
    row is gone keeps its membership at the incident's first time), and the column goes."""
    import json

    from geodata.incidents import link_stored, with_members

    store = open_store(store_url)
    posts = _posts(6)
    posts.loc[5, "categories"] = ["火災"]  # another incident
    posts["town_code"] = ["13208001001"] * 6
    posts = posts.set_geometry([shapely.Point(139.55, 35.65)] * 6, crs=4326)  # one place
    link_stored(store, "posts", posts)
    made = with_members(store, store.read("incidents"))
    columns = ["layer", "member", "incident_id", "seen_at", "urgency", "located", "town_code"]
    rows = store.read("incident_members")[columns].sort_values("member").reset_index(drop=True)
    assert len(made) == 2 and len(rows) == 6
    assert rows["located"].tolist() == [True] * 6
    # Make it a database of schema version 12: member lists in the incidents' rows, one naming
    # a post that retention has deleted since.
    flood = made.loc[made["category"] == "浸水・冠水", "incident_id"].iloc[0]
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE incident_members")
        conn.exec_driver_sql("ALTER TABLE incidents ADD COLUMN members TEXT")
        for incident_id, members in zip(made["incident_id"], made["members"], strict=True):
            if incident_id == flood:
                members = [*members, ["posts", "mastodon:gone"]]
            conn.execute(
                sa.text("UPDATE incidents SET members = :m WHERE incident_id = :i"),
                {"m": json.dumps(members), "i": incident_id},
            )
        conn.exec_driver_sql("UPDATE meta SET value = '12' WHERE key = 'schema_version'")
    store.dispose()
    upgraded = open_store(store_url)
    assert upgraded.schema_version() == SCHEMA_VERSION
    back = upgraded.read("incident_members")[columns].sort_values("member").reset_index(drop=True)
    gone = back[back["member"] == "mastodon:gone"]
    assert gone["incident_id"].tolist() == [flood]
    assert gone["seen_at"].tolist() == [T0]  # the incident's first time
    assert gone["located"].tolist() == [False]
    pd.testing.assert_frame_equal(
        back[back["member"] != "mastodon:gone"].reset_index(drop=True), rows, check_dtype=False
    )
    with upgraded.engine.connect() as conn:
        assert "members" not in table_columns(conn, "incidents")
    upgraded.dispose()


def test_a_read_by_more_keys_than_a_statement_takes_is_read_in_parts(store):
    """SQLite takes at most 32,766 bound values a statement: a read by 40,000 ids (the public
    export reads the member rows of every incident by id) is made of several statements."""
    store.upsert("posts", _posts(3))
    ids = [str(i) for i in range(40_000)]
    back = store.read("posts", where={"platform": "mastodon", "post_id": ids}, columns=["text"])
    assert sorted(back["post_id"]) == ["0", "1", "2"]
    with pytest.raises(ValueError, match="order or limit"):
        store.read("posts", where={"post_id": ids}, order="posted_at")


def test_aggregate_sums_up_groups_in_the_database(store):
    """``Store.aggregate``: counts, first/last times, the highest urgency and whether any row is
    located or has a town, per group, as ``read`` filters them (time window, IN list, scope)."""
    t = pd.Timestamp("2026-10-12T03:00Z")
    rows = pd.DataFrame(
        [  # incident, layer, member, minutes, urgency, located, town
            ("a", "posts", "m:1", 0, 2, False, None),
            ("a", "posts", "m:2", 5, None, True, ""),
            ("a", "field_reports", "f:1", 9, 3, False, "13208001001"),
            ("b", "posts", "m:3", 1, None, False, ""),
            ("b", "posts", "m:4", 30, 5, True, "13208001002"),  # after the cut
            ("c", "posts", "m:5", 2, 1, True, None),  # not asked for
        ],
        columns=["incident_id", "layer", "member", "minutes", "urgency", "located", "town_code"],
    )
    rows["seen_at"] = [t + pd.Timedelta(minutes=m) for m in rows.pop("minutes")]
    rows["urgency"] = rows["urgency"].astype("Int64")
    rows["municipality"] = "13208"
    store.upsert("incident_members", rows)
    from geodata.incident_relink import MEMBER_SUMMARY

    got = store.aggregate(
        "incident_members",
        by=["incident_id", "layer"],
        aggs=MEMBER_SUMMARY,
        until=t + pd.Timedelta(minutes=20),
        where={"incident_id": ["a", "b"]},
    ).sort_values(["incident_id", "layer"], ignore_index=True)
    assert got[["incident_id", "layer"]].values.tolist() == [
        ["a", "field_reports"], ["a", "posts"], ["b", "posts"]]  # fmt: skip
    assert got["n"].tolist() == [1, 2, 1]
    assert got["first"].tolist() == [t + pd.Timedelta(minutes=m) for m in (9, 0, 1)]
    assert got["last"].tolist() == [t + pd.Timedelta(minutes=m) for m in (9, 5, 1)]
    assert got["urgency"].tolist() == [3, 2, pd.NA]
    assert got["located"].tolist() == [False, True, False]
    assert got["town"].tolist() == [True, False, False]  # an empty town is none
    # a list longer than a statement takes, on a group column: read in parts, same answer
    many = ["a", "b", *[f"x{i}" for i in range(40_000)]]
    again = store.aggregate("incident_members", by=["incident_id"], aggs={"n": ("count", None)},
                            where={"incident_id": many})  # fmt: skip
    assert dict(zip(again["incident_id"], again["n"], strict=True)) == {"a": 3, "b": 2}
    with pytest.raises(ValueError, match="group column"):
        store.aggregate("incident_members", by=["layer"], aggs={"n": ("count", None)},
                        where={"incident_id": many})  # fmt: skip
    # a store scoped to another municipality sees no group
    other = store.scoped(["13209"])
    assert other.aggregate("incident_members", by=["layer"], aggs={"n": ("count", None)}).empty


def test_an_incidents_member_rows_are_summed_up_from_one_index(store_url):
    """Re-linking sums up the member rows of the incidents it cuts back, every batch: a store of
    schema version 13 (an index on the incident alone) gets the index that holds every fact
    summed up (v14), and SQLite answers the sum from it without reading the rows."""
    from geodata.incident_relink import MEMBER_SUMMARY
    from geodata.store.tables import MEMBER_SUMMARY_COLUMNS

    store = open_store(store_url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_incident_members_summary")
        conn.exec_driver_sql("CREATE INDEX ix_incident_members_incident ON incident_members "
                             "(incident_id)")  # fmt: skip
        conn.exec_driver_sql("UPDATE meta SET value = '13' WHERE key = 'schema_version'")
    store.dispose()
    upgraded = open_store(store_url)
    assert upgraded.schema_version() == SCHEMA_VERSION
    indexes = {i["name"]: i["column_names"]
               for i in sa.inspect(upgraded.engine).get_indexes("incident_members")}  # fmt: skip
    assert "ix_incident_members_incident" not in indexes
    assert tuple(indexes["ix_incident_members_summary"]) == MEMBER_SUMMARY_COLUMNS
    used = {c for op, c in MEMBER_SUMMARY.values() if c} | {"incident_id", "layer", "municipality"}
    assert used <= set(MEMBER_SUMMARY_COLUMNS)  # nothing the sum reads is missing from it
    if upgraded.engine.dialect.name == "sqlite":
        with upgraded.engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT incident_id, layer, count(*), min(seen_at), "
                "max(seen_at), max(urgency), max(located), max(town_code IS NOT NULL) "
                "FROM incident_members WHERE incident_id IN ('a', 'b') AND seen_at < '2026' "
                "AND municipality IN ('13208') GROUP BY incident_id, layer"))  # fmt: skip
        assert "COVERING INDEX ix_incident_members_summary" in plan, plan
    upgraded.dispose()
