"""The reports feed's incremental post index (geodata/feed_index.py): after each write it reads
only the new write stamps, and always equals a full read of the window."""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata import feed
from geodata.feed_index import KEEP_BEFORE, RID, PostIndex
from geodata.schema import now_utc
from geodata.store.core import open_store
from tests.test_safety_page import T1, posts_frame

NOW = pd.Timestamp(now_utc()).floor("min")
SINCE = (NOW - pd.Timedelta(hours=24)).floor("h")


def full_index(store, since=SINCE, metric=None):
    """A full read of the window, with the per-row columns the index derives (x/y in
    ``metric``) worked out from scratch."""
    frame = feed.slim_index(store.read("posts", since=since, columns=feed.INDEX_COLUMNS))
    return feed.derive(frame, metric).drop(columns="geometry")  # the index keeps lon/lat


def plain(frame) -> pd.DataFrame:
    """``frame`` in a comparable form: rows by key, categoricals as objects, geometry as WKB
    (the index's row numbers left out)."""
    out = pd.DataFrame(frame.drop(columns=["geometry", RID], errors="ignore"))
    for col in feed.LOW_CARDINALITY:
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["categories"] = [tuple(c) for c in out["categories"]]
    if "geometry" in frame.columns:
        out["geometry"] = [None if g is None else g.wkb_hex for g in frame.geometry]
    out = out[sorted(out.columns)]
    return out.sort_values(["platform", "post_id"]).reset_index(drop=True)


def assert_same(index, store, since=SINCE):
    """``index`` (a frame of a :class:`PostIndex`) equals a full read, derived columns too."""
    xy = [c for c in index.columns if c.startswith("_x@")]
    metric = xy[0].removeprefix("_x@") if xy else None
    pd.testing.assert_frame_equal(plain(index), plain(full_index(store, since, metric)))


def new_posts(ids: list[str], minutes_ago: int = 1):
    posts = posts_frame(NOW).iloc[: len(ids)].copy()
    posts["post_id"] = ids
    posts["posted_at"] = NOW - pd.Timedelta(minutes=minutes_ago)
    posts["repost_of"] = None
    posts["triage"] = "new"
    return posts


def row(frame, post_id: str) -> dict:
    hit = frame[frame["post_id"] == post_id]
    assert len(hit) == 1, post_id
    return hit.iloc[0].to_dict()


def test_new_posts_triage_and_repost_are_read_by_stamp_and_equal_a_full_read(store):
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    frame = index.refresh(store, SINCE)
    assert sorted(frame["post_id"]) == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert_same(frame, store)

    store.upsert("posts", new_posts(["n1", "n2"]), source="test")
    frame = index.refresh(store, SINCE)
    assert sorted(frame["post_id"]) == ["n1", "n2", "p1", "p2", "p3", "p4", "p5", "p6"]
    assert index.rows_read == 2  # only the new batch was read
    assert_same(frame, store)

    # a staff triage of an old post (Store.update stamps the row)
    feed.triage(store, [("mastodon", "p6")], "dismiss", actor="sato")
    frame = index.refresh(store, SINCE)
    assert row(frame, "p6")["triage"] == "dismissed"
    assert index.rows_read == 3
    assert_same(frame, store)
    assert "mastodon:p6" not in [f"{p}:{i}" for p, i in feed.build_feed(frame, feed.Filters()).keys]

    # a post marked as a copy later (dedupe settling, or staff)
    store.update("posts", ("mastodon", "p3"), {"repost_of": "mastodon:p1"}, actor="sato")
    frame = index.refresh(store, SINCE)
    assert row(frame, "p3")["repost_of"] == "mastodon:p1"
    view = feed.build_feed(frame, feed.Filters(), now=NOW)
    assert ("mastodon", "p3") not in view.keys and view.copies["mastodon:p1"] == 2
    assert_same(frame, store)
    assert index.full_loads == 1


def test_unchanged_store_is_not_read_again(store):
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    first = index.refresh(store, SINCE)
    assert index.refresh(store, SINCE) is first
    assert (index.full_loads, index.rows_read) == (1, 0)


def test_a_deleted_post_disappears_through_a_full_read(store):
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    index.refresh(store, SINCE)
    assert store.delete("posts", [("mastodon", "p2")]) == 1
    frame = index.refresh(store, SINCE)
    assert "p2" not in set(frame["post_id"])
    assert index.full_loads == 2  # the count disagreed: read again
    assert_same(frame, store)


def test_a_retention_scrub_keeps_the_index_equal(sqlite_url):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    index.refresh(store, SINCE)
    # what the purge writes: the row changed in place under a new stamp (retention._write_plan)
    import sqlalchemy as sa

    from geodata.store.codec import db_time

    table = store.tables["posts"]
    with store._write() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.post_id == "p1")
            .values(triage="handled", stored_at=db_time(now_utc(), False))
        )
        store._bump(conn, "posts")
    frame = index.refresh(store, SINCE)
    assert row(frame, "p1")["triage"] == "handled"
    assert index.full_loads == 1
    assert_same(frame, store)
    store.dispose()


def test_a_late_commit_stamped_long_before_is_caught_by_the_count(sqlite_url, monkeypatch):
    from geodata.store import core
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    index.refresh(store, SINCE)
    # a transaction that stamped its rows ten minutes ago and committed only now
    monkeypatch.setattr(core, "now_utc", lambda: NOW.to_pydatetime() - pd.Timedelta(minutes=10))
    store.upsert("posts", new_posts(["late"]), source="test")
    monkeypatch.undo()
    frame = index.refresh(store, SINCE)
    assert "late" in set(frame["post_id"])
    assert index.full_loads == 2
    assert_same(frame, store)
    store.dispose()


def test_the_window_moves_on_without_a_full_read(sqlite_url):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    store.upsert("posts", posts_frame(NOW), source="test")  # p6 ten hours old, p2 90 minutes
    index = PostIndex()
    index.refresh(store, SINCE)
    # the window moved on: posts more than KEEP_BEFORE (an hour) before it are dropped
    later = (NOW - pd.Timedelta(hours=2)).floor("h")
    frame = index.refresh(store, later + KEEP_BEFORE)
    assert "p6" not in set(frame["post_id"]) and len(frame) == 5
    assert index.full_loads == 1
    assert_same(frame, store, later)
    # a session still on an hour earlier is served without a full read
    assert index.refresh(store, later) is frame and index.full_loads == 1
    # a post moved before what the index holds by an edit leaves it
    store.update(
        "posts", ("mastodon", "p2"), {"posted_at": later - pd.Timedelta(hours=1)}, actor="sato"
    )
    frame = index.refresh(store, later + KEEP_BEFORE)
    assert "p2" not in set(frame["post_id"]) and index.full_loads == 1
    assert_same(frame, store, later)
    # an earlier window than the index holds: read in full
    frame = index.refresh(store, SINCE)
    assert index.full_loads == 2 and {"p2", "p6"} <= set(frame["post_id"])
    assert_same(frame, store)
    store.dispose()


def test_new_town_and_platform_stay_categorical(sqlite_url):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    index.refresh(store, SINCE)
    posts = new_posts(["b1"])
    posts["platform"] = "bluesky"
    posts["town_code"] = "13208999999"
    store.upsert("posts", posts, source="test")
    frame = index.refresh(store, SINCE)
    for col in feed.LOW_CARDINALITY:
        assert isinstance(frame[col].dtype, pd.CategoricalDtype), col
    assert row(frame, "b1")["platform"] == "bluesky"
    assert row(frame, "b1")["town_code"] == "13208999999"
    assert feed.filter_posts(frame, feed.Filters(towns=("13208999999",)))["post_id"].tolist() == [
        "b1"
    ]
    assert sorted(feed.filter_posts(frame, feed.Filters(towns=(T1,)))["post_id"]) == ["p1", "p5"]
    assert_same(frame, store)
    store.dispose()


@pytest.mark.parametrize("sessions", [4])
def test_sessions_refreshing_at_once_share_one_read(sqlite_url, sessions):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    store.upsert("posts", posts_frame(NOW), source="test")
    index = PostIndex()
    index.refresh(store, SINCE)
    store.upsert("posts", new_posts([f"n{i}" for i in range(3)]), source="test")
    frames, start = [], threading.Barrier(sessions)

    def session():
        start.wait()
        frames.append(index.refresh(store, SINCE))

    threads = [threading.Thread(target=session) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(frames) == sessions and all(f is frames[0] for f in frames)
    assert (index.full_loads, index.rows_read) == (1, 3)
    assert_same(frames[0], store)
    store.dispose()


# -- the feed built from the index's kept state equals a build from scratch ------------------

BOUNDS = (139.4, 35.6, 139.7, 35.8)
FILTER_SETS = [
    feed.Filters(),  # the page's default: 24 h, new and verified, copies hidden, most urgent first
    feed.Filters(order="newest"),
    feed.Filters(window="6h"),
    feed.Filters(triage=(), hide_copies=False),
    feed.Filters(categories=("火災", "その他"), urgencies=(2, 3)),
]


def random_posts(rng, ids, now, named=(), hours=26.0):
    """Posts ``ids`` ((platform, post_id)) over the last ``hours``; a third of them copies of
    ``named`` (by ``platform:post_id`` or by bare id), some unlocated or without categories."""
    n = len(ids)
    cats = list(feed.CATEGORIES) + ["未知"]
    lists = [
        [] if rng.random() < 0.15 else list(rng.choice(cats, size=rng.integers(1, 3)))
        for _ in range(n)
    ]
    points = [
        None
        if rng.random() < 0.2
        else shapely.Point(139.45 + rng.random() * 0.2, 35.62 + rng.random() * 0.12)
        for _ in range(n)
    ]
    named = list(named)
    repost = []
    for _ in range(n):
        if named and rng.random() < 0.35:
            p, i = named[rng.integers(len(named))]
            repost.append(f"{p}:{i}" if rng.random() < 0.7 else i)
        else:
            repost.append(None)
    frame = posts_frame(now).iloc[[0] * n].reset_index(drop=True)
    frame["platform"] = [p for p, _ in ids]
    frame["post_id"] = [i for _, i in ids]
    frame["posted_at"] = [now - pd.Timedelta(minutes=float(m)) for m in rng.random(n) * hours * 60]
    frame["urgency"] = [None if u < 0 else int(u) for u in rng.integers(-1, 4, n)]
    frame["categories"] = lists
    frame["triage"] = rng.choice(["new", "verified", "dismissed", "handled"], n).tolist()
    frame["town_code"] = rng.choice([T1, None, "131999"], n).tolist()
    frame["repost_of"] = repost
    return frame.set_geometry(gpd.GeoSeries(points, crs=4326))


def assert_feed_equal(indexes: dict[str, PostIndex], store, now):
    """Every filter set: the feed of its window's index (one per window, as the page keeps
    them) equals build_feed of a full read, values compared. Returns the default feed."""
    for filters in reversed(FILTER_SETS):
        since = filters.since(now).floor("h")
        index = indexes.setdefault(filters.window, PostIndex())
        got = index.feed(store, since, filters, now=now, bounds=BOUNDS)
        full = feed.slim_index(store.read("posts", since=since, columns=feed.INDEX_COLUMNS))
        want = feed.build_feed(full, filters, now=now, bounds=BOUNDS)
        assert list(got.keys) == list(want.keys), filters
        assert got.kpis == want.kpis, filters
        for number in (0, 1, got.pages() - 1):  # a page's copies (before the dict is made)
            texts = [feed.key_text(*k) for k in want.page(number)]
            wanted = {k: want.copies[k] for k in texts if k in want.copies}
            assert got.page(number) == want.page(number)
            assert got.page_copies(number) == wanted, filters
        assert got.copies == want.copies, filters
        pd.testing.assert_frame_equal(got.hexes, want.hexes)
    return got


def test_the_index_feed_equals_a_build_from_scratch_through_writes_and_boundaries(sqlite_url):
    rng = np.random.default_rng(20)
    store = open_store(sqlite_url)
    now = pd.Timestamp(now_utc()).floor("h") + pd.Timedelta(minutes=58)
    first = [("mastodon", f"p{i}") for i in range(150)] + [("bluesky", f"p{i}") for i in range(40)]
    store.upsert("posts", random_posts(rng, first, now, named=first[:60]), source="test")
    indexes = {}
    assert_feed_equal(indexes, store, now)
    index = indexes["24h"]
    held = first
    seen_copies = []
    for step in range(6):
        # a batch of new posts, copies of held and of new posts among them
        batch = [("mastodon", f"n{step}-{i}") for i in range(30)]
        if step == 2:  # a post id held on another platform, and a post named before it arrives
            batch += [("bluesky", "p100"), ("mastodon", "late")]
        store.upsert(
            "posts",
            random_posts(
                rng, batch, now, named=[*held[:80], *batch[:5], ("mastodon", "late")], hours=2
            ),
            source="test",
        )
        held = held + batch
        # edits of held posts: copies made and unmade, triage changed
        for platform, post_id in [held[rng.integers(len(held))] for _ in range(4)]:
            store.update(
                "posts",
                (platform, post_id),
                {"repost_of": f"mastodon:p{rng.integers(60)}"},
                actor="t",
            )
        for platform, post_id in [held[rng.integers(len(held))] for _ in range(3)]:
            store.update("posts", (platform, post_id), {"repost_of": None}, actor="t")
        feed.triage(store, [held[rng.integers(len(held))] for _ in range(3)], "dismiss", actor="t")
        feed.triage(store, [held[rng.integers(len(held))] for _ in range(3)], "reopen", actor="t")
        # the clock: minutes, then past an hour, then far enough for the window to drop posts
        now = now + pd.Timedelta(minutes=[1, 3, 1, 62, 1, 125][step])
        view = assert_feed_equal(indexes, store, now)
        seen_copies.append(sum(view.copies.values()))
    assert [i.full_loads for i in indexes.values()] == [1, 1]  # every step was incremental
    assert index.rows_read > 200 and index.builds == 4 * 7
    assert index.counts_skipped > 0  # refreshes that accounted for every write by its stamp
    assert len(set(seen_copies)) > 1 and min(seen_copies) > 0  # copies counted, and changing

    # a delete: the index reads in full, and still agrees
    store.delete("posts", held[:5])
    assert_feed_equal(indexes, store, now)
    assert index.full_loads == 2


def test_a_stale_copy_count_is_caught_by_the_comparison(sqlite_url, monkeypatch):
    """The comparison above fails when the kept copy counts are not updated (a control)."""
    from geodata import feed_index

    rng = np.random.default_rng(3)
    store = open_store(sqlite_url)
    now = pd.Timestamp(now_utc()).floor("min")
    first = [("mastodon", f"p{i}") for i in range(50)]
    frame = random_posts(rng, first, now, named=first[:10])
    frame.loc[1, ["triage", "repost_of", "posted_at"]] = ["new", None, now]  # p1 is shown
    store.upsert("posts", frame, source="test")
    indexes = {}
    assert_feed_equal(indexes, store, now)
    # the copies arriving are not added to the rows they name
    empty = np.zeros(0, dtype=np.int64)
    monkeypatch.setattr(feed_index.PostIndex, "_resolve", lambda self, texts: (empty, empty))
    batch = [("mastodon", f"n{i}") for i in range(20)]
    frame = random_posts(rng, batch, now, named=first[:10], hours=1)
    frame["repost_of"] = "mastodon:p1"
    store.upsert("posts", frame, source="test")
    with pytest.raises(AssertionError):
        assert_feed_equal(indexes, store, now)


def test_new_posts_are_written_into_spare_room_and_the_feed_stays_equal(sqlite_url, monkeypatch):
    """Batches of only new posts go into the columns' spare room (no copy of the rows held;
    a frame handed out before keeps its rows), the room grows when it runs out, and a triage,
    a new town and platform, a window move and a delete (copies) keep the feed equal."""
    from geodata import feed_index

    monkeypatch.setattr(feed_index.Columns, "MIN_SPARE", 7)  # grows every few batches
    rng = np.random.default_rng(7)
    store = open_store(sqlite_url)
    now = pd.Timestamp(now_utc()).floor("h") + pd.Timedelta(minutes=50)
    first = [("mastodon", f"p{i}") for i in range(40)]
    store.upsert("posts", random_posts(rng, first, now, named=first[:20]), source="test")
    indexes = {}
    assert_feed_equal(indexes, store, now)
    index = indexes["24h"]
    held, grown, appended = first, 0, 0
    for step in range(24):
        before, since = index.frame, index.since
        keep = before.copy()
        capacity = len(index._columns.data["post_id"])
        batch = [("mastodon", f"n{step}-{i}") for i in range(int(rng.integers(1, 6)))]
        if step == 9:  # a platform and a town the index has not seen
            batch.append(("misskey", f"m{step}"))
        posts = random_posts(rng, batch, now, named=[*held[:30], *batch[:2]], hours=0.5)
        if step == 9:
            posts.loc[len(posts) - 1, "town_code"] = "139999"
        store.upsert("posts", posts, source="test")
        held = held + batch
        if step == 15:
            feed.triage(store, [held[3], held[50]], "dismiss", actor="t")
        now = now + pd.Timedelta(minutes=[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 70][step % 13])
        assert_feed_equal(indexes, store, now)
        assert_same(index.frame, store, since=index.since)
        after = index.frame
        pd.testing.assert_frame_equal(before, keep)  # the frame handed out before: unchanged
        if step != 15 and index.since == since and len(after) > len(before):
            if len(index._columns.data["post_id"]) == capacity:  # appended in place
                appended += 1
                assert np.shares_memory(after["post_id"].to_numpy(), before["post_id"].to_numpy())
                assert np.shares_memory(after["_lon"].to_numpy(), before["_lon"].to_numpy())
            else:
                grown += 1
    assert appended >= 10 and grown >= 2, (appended, grown)
    assert "misskey" in list(index.frame["platform"].cat.categories)
    assert "139999" in list(index.frame["town_code"].cat.categories)
    assert [i.full_loads for i in indexes.values()] == [1, 1]
    store.delete("posts", held[:3])
    assert_feed_equal(indexes, store, now)
    assert index.full_loads == 2


def test_the_window_moves_on_by_an_offset_and_the_feed_stays_equal(sqlite_url):
    """The index is read oldest first, so a window moving on drops its first rows: the columns
    start later (no copy: the new frame shares memory with the old; frames handed out before
    keep their rows). A post re-appended by a triage that falls out of the window among rows
    kept copies instead; the columns are copied once the rows dropped outnumber half those
    held. The feed equals a build from a full read at every step."""
    rng = np.random.default_rng(11)
    store = open_store(sqlite_url)
    now = pd.Timestamp(now_utc()).floor("h") + pd.Timedelta(minutes=30)
    first = [("mastodon", f"p{i}") for i in range(300)]
    posts = random_posts(rng, first, now, named=first[:40], hours=30)
    assert not posts["posted_at"].is_monotonic_increasing  # the store does not hold them in order
    store.upsert("posts", posts, source="test")
    indexes = {}
    assert_feed_equal(indexes, store, now)
    index = indexes["24h"]
    assert index.frame["posted_at"].is_monotonic_increasing  # read oldest first
    # a post 3.5 hours into the window, triaged: re-read, it goes to the end of the rows held;
    # the window passes it at step 4 (it then leaves from among rows kept)
    old = index.frame[index.frame["posted_at"] >= index.since + pd.Timedelta(hours=3.5)]
    old_key = (str(old["platform"].iloc[0]), old["post_id"].iloc[0])
    feed.triage(store, [old_key], "dismiss", actor="t")
    assert_feed_equal(indexes, store, now)
    assert index.frame["post_id"].iloc[-1] == old_key[1]
    held, kinds = first, []
    for step, hours in enumerate([1, 1, 1, 1, 1, 1, 1, 14]):
        before, trims = index.frame, index.trims_in_place
        keep = before.copy()
        start = index._columns.start
        batch = [("mastodon", f"n{step}-{i}") for i in range(5)]
        store.upsert(
            "posts", random_posts(rng, batch, now, named=held[:30], hours=0.2), source="test"
        )
        held = held + batch
        now = now + pd.Timedelta(hours=hours)
        assert_feed_equal(indexes, store, now)
        assert_same(index.frame, store, since=index.since)
        pd.testing.assert_frame_equal(before, keep)  # the frame handed out before: unchanged
        after = index.frame
        shared = np.shares_memory(after["_lon"].to_numpy(), before["_lon"].to_numpy())
        dropped = len(before) + len(batch) - len(after)
        if not dropped:  # the index keeps an hour before the window: nothing to drop yet
            kinds.append("none")
        elif index.trims_in_place == trims:
            kinds.append("copied")
            assert not shared and index._columns.start == 0
        elif index._columns.start == start + dropped:  # the columns start later: no copy
            kinds.append("offset")
            assert shared
        else:  # the rows dropped outnumbered half those held: copied without them
            kinds.append("compacted")
            assert not shared and index._columns.start == 0 and dropped > len(after) / 2
    assert kinds == ["none", "offset", "offset", "offset", "copied", "offset", "offset",
                     "compacted"], kinds  # fmt: skip
    assert [i.full_loads for i in indexes.values()] == [1, 1]
    store.dispose()


def test_the_index_holds_categories_the_garbage_collector_does_not_walk(sqlite_url):
    """The index's category lists are tuples (read in full and by stamp): a full garbage
    collection then leaves them out (a million lists took ~0.2 s of a rerun); the feed's
    category filters still equal a build from a full read (FILTER_SETS)."""
    import gc

    rng = np.random.default_rng(4)
    store = open_store(sqlite_url)
    now = pd.Timestamp(now_utc()).floor("min")
    first = [("mastodon", f"p{i}") for i in range(60)]
    store.upsert("posts", random_posts(rng, first, now), source="test")
    indexes = {}
    assert_feed_equal(indexes, store, now)
    batch = [("mastodon", f"n{i}") for i in range(10)]
    store.upsert("posts", random_posts(rng, batch, now, hours=0.5), source="test")
    assert_feed_equal(indexes, store, now)
    gc.collect()
    categories = indexes["24h"].frame["categories"].tolist()
    assert len(categories) >= 60 and any(len(c) for c in categories)
    assert all(isinstance(c, tuple) for c in categories)
    assert not any(gc.is_tracked(c) for c in categories)
    store.dispose()


def test_posts_written_again_unchanged_for_the_feed_are_not_replaced(sqlite_url):
    """Ingest writes stored posts again when re-linking moves them to another incident (a
    column the feed does not hold): the index keeps their rows as they are — no copy of its
    columns, the frame handed out and the new one share memory — while a post written again
    with a new copy target or triage in the same batch is replaced. The feed equals a build
    from a full read after each."""
    rng = np.random.default_rng(3)
    store = open_store(sqlite_url)
    now = pd.Timestamp(now_utc()).floor("h") + pd.Timedelta(minutes=40)
    ids = [("mastodon", f"p{i}") for i in range(60)]
    posts = random_posts(rng, ids, now, named=ids[:10], hours=20)
    store.upsert("posts", posts, source="test")
    indexes = {}
    assert_feed_equal(indexes, store, now)
    index = indexes["24h"]
    before = index.frame
    again = store.read("posts", where={"platform": "mastodon", "post_id": ["p3", "p17", "p40"]})
    again["incident_id"] = "inc-moved"  # what re-linking changes
    store.upsert("posts", again, source="incidents")
    assert_feed_equal(indexes, store, now)
    assert index.unchanged_skipped == 3
    assert np.shares_memory(index.frame["post_id"].to_numpy(), before["post_id"].to_numpy())
    assert list(index.frame["post_id"]) == list(before["post_id"])
    mixed = store.read("posts", where={"platform": "mastodon", "post_id": ["p5", "p6"]})
    mixed["incident_id"] = "inc-other"
    mixed.loc[mixed["post_id"] == "p6", "repost_of"] = "mastodon:p1"  # a new copy target
    mixed.loc[mixed["post_id"] == "p6", "triage"] = "handled"
    store.upsert("posts", mixed, source="incidents")
    assert_feed_equal(indexes, store, now)
    assert index.unchanged_skipped == 4  # p5 only: p6 is replaced
    assert list(index.frame["post_id"])[-1] == "p6"
    store.dispose()
