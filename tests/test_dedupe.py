"""The dedupe's history kept between batches (ingest.dedupe.CopyHistory) against a full read."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.schema import validate
from geodata.text.fingerprints import fingerprint
from ingest.dedupe import CopyHistory, CopyIndex, mark_duplicates

T0 = pd.Timestamp("2026-10-12 00:00", tz="UTC")
BASES = [
    "多摩川の水位がかなり上がってきた、布田二丁目あたり危ないかも",
    "染地三丁目の都営住宅前の道路が冠水して車が立ち往生しています",
    "小島町一丁目の交差点で倒木があり通行止めになっています",
    "国領町で停電しています、信号も消えているので車は注意してください",
    "深大寺の坂で土砂が崩れて道がふさがっています、通れません",
]


def _text(rng: np.random.Generator, i: int) -> str:
    """A fresh text, an exact copy (RT, hashtag, URL) or a near copy of a base text."""
    base = BASES[int(rng.integers(len(BASES)))]
    kind = int(rng.integers(5))
    if kind == 0:
        return f"{base} 投稿{i}番目の独自の文章もここに付け足されていて長いです"
    if kind == 1:
        return f"RT @user{i}: {base} #調布 https://x.example/{i}"
    if kind == 2:
        return base + "です"
    if kind == 3:
        return f"助けて {i}"  # short: never a copy
    return base


def _posts(rng, ids, minutes) -> pd.DataFrame:
    frame = gpd.GeoDataFrame(
        {
            "platform": "mastodon",
            "post_id": [str(i) for i in ids],
            "text": [_text(rng, i) for i in ids],
            "posted_at": [T0 + pd.Timedelta(seconds=round(float(m) * 60)) for m in minutes],
            "categories": [["浸水・冠水"]] * len(ids),
            "urgency": 1,
            "triage": "new",
            "repost_of": None,
        },
        geometry=[None] * len(ids),
        crs=4326,
    )
    valid, rejected = validate(frame, "posts")
    assert rejected.empty
    return valid


def _batches(seed: int = 7):
    """30 h of posts in batches of 40, one source lagging by an hour, then a catch-up of 5 h."""
    rng = np.random.default_rng(seed)
    minutes = np.sort(rng.uniform(0, 30 * 60, 2400))
    ids = np.arange(len(minutes))
    chunks = [(ids[i : i + 40], minutes[i : i + 40]) for i in range(0, len(ids), 40)]
    order = list(range(len(chunks)))
    for i in range(0, len(order) - 1, 3):  # the lagging source
        order[i], order[i + 1] = order[i + 1], order[i]
    batches = [_posts(rng, *chunks[i]) for i in order]
    late = rng.uniform(20 * 60, 25 * 60, 60)  # posts of 5 h ago fetched at the end
    batches.append(_posts(rng, np.arange(10_000, 10_060), np.sort(late)))
    return batches


def test_history_kept_between_batches_marks_what_a_full_read_marks(store):
    copies = CopyHistory(store)
    compared = copied = per_batch_reads = 0
    for n, batch in enumerate(_batches()):
        start = batch["posted_at"].min()
        history = store.read("posts", since=start - pd.Timedelta(hours=24))
        expected = mark_duplicates(batch, history)["repost_of"].tolist()
        per_batch_reads += store.count("posts", since=start - pd.Timedelta(hours=2))
        marked = copies.mark(batch)
        got = marked["repost_of"].tolist()
        assert got == expected, f"batch {n}"
        compared += len(batch)
        copied += sum(isinstance(r, str) for r in got)
        store.upsert("posts", marked)
    assert compared == 2460 and copied > 1000  # a real share of copies was compared
    # The hours before each batch were read once, not per batch: only the catch-up's gap
    # (the first batch found an empty store), far below a read of two hours per batch.
    assert 0 < copies.reads["window"] < per_batch_reads / 10
    # Every stored batch was read back exactly once (the last one is never needed), although
    # they were all written within the re-check slack of each other.
    assert copies.reads["written"] == compared - len(batch)
    # Memory holds about four hours of posts, not the day.
    held = pd.to_datetime([w for w, _, _ in copies.index.info.values()], utc=True)
    assert held.min() >= T0 + pd.Timedelta(hours=19)  # catch-up reached back to T+20 h - 1 h


def test_a_staff_edit_made_between_batches_is_followed(store):
    rng = np.random.default_rng(2)
    copies = CopyHistory(store)
    first = _posts(rng, [1, 2], [0, 10])
    first["text"] = [BASES[1], BASES[1] + "です"]  # 2 is a near copy of 1
    store.upsert("posts", copies.mark(first))
    assert store.get("posts", ("mastodon", "2"))["repost_of"] == "mastodon:1"
    store.update("posts", ("mastodon", "2"), {"repost_of": None}, actor="admin")  # not a copy
    later = _posts(rng, [3], [20])
    later["text"] = "RT " + BASES[1] + "です"  # the exact text of 2
    assert copies.mark(later)["repost_of"].tolist() == ["mastodon:2"]


def test_a_post_that_never_reached_the_store_is_not_matched_later(tmp_path):
    from geodata.store.core import open_store

    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    rng = np.random.default_rng(1)
    copies = CopyHistory(store)
    first = _posts(rng, [1], [0])
    first["text"] = BASES[0]
    assert copies.mark(first)["repost_of"].tolist() == [None]
    # The batch was not written (its upsert failed): a copy of it is a first post itself.
    again = _posts(rng, [2], [5])
    again["text"] = "RT " + BASES[0]
    assert copies.mark(again)["repost_of"].tolist() == [None]
    store.upsert("posts", first)
    assert copies.mark(again)["repost_of"].tolist() == ["mastodon:1"]
    store.dispose()


def test_a_write_stamped_before_the_last_look_but_committed_after_it_is_read(store):
    """Another process's transaction, stamped before this ingest's last look, commits later:
    its posts are still found (the slack before the last look is re-checked by stamp)."""
    import sqlalchemy as sa

    rng = np.random.default_rng(3)
    copies = CopyHistory(store)
    store.upsert("posts", copies.mark(_posts(rng, [1], [0])))
    copies.mark(_posts(rng, [2], [1]))  # a look at the store
    looked = copies.written_since
    other = _posts(rng, [50], [2])
    other["text"] = BASES[2]
    store.upsert("posts", other)
    table = store.tables["posts"]
    stamp = looked - pd.Timedelta(seconds=30)
    with store.engine.begin() as conn:  # as if committed now with its earlier stamp
        conn.execute(
            sa.update(table)
            .where(table.c.post_id == "50")
            .values(stored_at=stamp if store.postgres else stamp.replace(tzinfo=None))
        )
    read_before = copies.reads["written"]
    copy = _posts(rng, [60], [3])
    copy["text"] = "RT " + BASES[2]
    assert copies.mark(copy)["repost_of"].tolist() == ["mastodon:50"]
    assert copies.reads["written"] - read_before == 1  # post 50 alone, not the slack again
    assert copies.mark(_posts(rng, [61], [4]))["repost_of"].tolist() == [None]
    assert copies.reads["written"] - read_before == 1  # nothing new: nothing read


def test_one_process_writing_for_two_cities_finds_copies_within_each_city(tmp_path):
    """A process whose sources belong to two municipalities keeps one dedupe history per city:
    the same text posted in 狛江市 after 調布市 is 狛江市's own report (its incident and its
    counts are 狛江市's), while a copy within 調布市 is still a copy."""
    import json

    from geodata.store.core import open_store
    from ingest.base import IngestContext
    from ingest.runner import run_source
    from ingest.sources.posts_file import PostsFileSource

    t0 = pd.Timestamp("2026-10-12T03:00Z")
    text = "多摩川の堤防から水があふれそう、国領町の住宅街に水が入ってきています"

    def source(name, city, ids, minutes):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(
            json.dumps({"id": i, "text": text, "created_at": (t0 + pd.Timedelta(minutes=m)).isoformat(),
                        "author": f"u{i}", "platform": "x"}, ensure_ascii=False) + "\n"
            for i, m in zip(ids, minutes, strict=True)), encoding="utf-8")  # fmt: skip
        src = PostsFileSource(name, path=str(path), platform="x")
        src.municipality = city
        return src

    store = open_store(f"sqlite:///{tmp_path / 'two.sqlite'}")
    context = IngestContext(store)
    for src in (source("chofu", "13208", ["c1", "c2"], [0, 5]),
                source("komae", "13219", ["k1"], [10])):  # fmt: skip
        assert run_source(store, src, context=context, from_start=True)["ok"]
    posts = store.read("posts", columns=["repost_of", "municipality"])
    got = dict(zip(posts["post_id"], posts["repost_of"].where(posts["repost_of"].notna(), None),
                   strict=True))  # fmt: skip
    assert got == {"c1": None, "c2": "x:c1", "k1": None}
    assert dict(zip(posts["post_id"], posts["municipality"], strict=True))["k1"] == "13219"
    store.dispose()


def _ugly_batches(seed: int = 11) -> list[pd.DataFrame]:
    """The batches of :func:`_batches` (a lagging source, a catch-up of 5 h ago), and
    batches that re-send stored posts: unchanged, with an edited text (another fingerprint),
    and moved back in time before the posts they were copies of."""
    rng = np.random.default_rng(seed)
    batches = _batches(seed)
    out = []
    for n, batch in enumerate(batches):
        out.append(batch)
        if n % 7 == 3 and n > 3:
            old = pd.concat(out[n - 3 : n], ignore_index=True)
            again = old.sample(12, random_state=int(rng.integers(1 << 30)))
            again = again.reset_index(drop=True)
            again["repost_of"] = None
            again.loc[0:3, "text"] = [BASES[int(rng.integers(len(BASES)))] + "と書き直し"] * 4
            again.loc[4:7, "posted_at"] = again.loc[4:7, "posted_at"] - pd.Timedelta(minutes=50)
            out.append(validate(again, "posts")[0])
    return out


def _plain_values(values) -> list:
    return [v if isinstance(v, str) and v else None for v in values]


def test_settling_with_the_kept_history_settles_what_a_fresh_index_settles(store):
    """ingest/settle.py with the process's CopyHistory (kept between batches, brought up to
    date by write stamp, similarity scores remembered) against an index built from the store
    for each batch: the same ``repost_of`` for the batch and the same stored posts changed,
    over re-sent, edited and back-dated posts, staff edits and settled posts re-written
    (both leave a stamp with fewer rows, which is not read again)."""
    from ingest.settle import settle_copies

    copies = CopyHistory(store)
    settled = changed = 0
    rewritten: list[pd.Timestamp] = []
    for n, batch in enumerate(_ugly_batches()):
        with store.transaction():
            fresh, fresh_moved, _ = settle_copies(store, batch)
            kept, kept_moved, _ = settle_copies(store, batch, copies)
            got = _plain_values(kept["repost_of"])
            assert got == _plain_values(fresh["repost_of"]), f"batch {n}"
            assert sorted(kept_moved.get("posts", batch.iloc[:0])["post_id"]) == sorted(
                fresh_moved.get("posts", batch.iloc[:0])["post_id"]
            ), f"batch {n}"
            if "posts" in kept_moved:
                moved = kept_moved["posts"]
                assert _plain_values(moved["repost_of"]) == _plain_values(
                    fresh_moved["posts"].set_index("post_id").loc[moved["post_id"], "repost_of"]
                )
                changed += len(moved)
                store.upsert("posts", moved)  # re-stamped: their batch's stamp loses them
            store.upsert("posts", kept)
        settled += len(batch)
        if n % 9 == 5:  # a staff edit: one post is not a copy after all (a new stamp)
            copy = kept[[isinstance(r, str) for r in kept["repost_of"]]].iloc[0]
            store.update("posts", ("mastodon", copy["post_id"]), {"repost_of": None}, actor="t")
            rewritten.append(copy["post_id"])
    assert settled > 2500 and changed > 0 and len(rewritten) > 5
    stamps = store.post_write_stamps(pd.Timestamp("2000-01-01", tz="UTC"))
    # Every stamp was read once, with the rows it had then; none was read again when it lost
    # rows to a later write.
    assert copies.reads["written"] <= settled + changed + len(rewritten)
    assert sum(stamps.values()) == store.count("posts")


def test_a_stamp_that_gains_rows_is_read_again_one_that_loses_rows_is_not(store):
    """Two transactions with one stamp: the rows of the later are read although the stamp was
    read before. A stamp that lost rows (re-written under a later stamp) is not read again."""
    import sqlalchemy as sa

    rng = np.random.default_rng(5)
    copies = CopyHistory(store)
    first = _posts(rng, [1, 2, 3], [0, 1, 2])
    first["text"] = [BASES[0], BASES[1], BASES[3]]
    store.upsert("posts", copies.mark(first))
    copies.mark(_posts(rng, [4], [3]))  # a look: the three posts read under their stamp
    assert copies.reads["written"] == 3
    stamp = next(iter(copies.stamps))
    table = store.tables["posts"]
    same = _posts(rng, [50], [4])
    same["text"] = BASES[2]
    store.upsert("posts", same)
    with store.engine.begin() as conn:  # as if a second transaction had the first one's stamp
        conn.execute(
            sa.update(table)
            .where(table.c.post_id == "50")
            .values(stored_at=stamp if store.postgres else stamp.replace(tzinfo=None))
        )
    copy = _posts(rng, [60], [5])
    copy["text"] = "RT " + BASES[2]
    assert copies.mark(copy)["repost_of"].tolist() == ["mastodon:50"]
    assert copies.reads["written"] == 3 + 4  # the grown stamp in full: 1, 2, 3 and 50
    store.update("posts", ("mastodon", "2"), {"triage": "verified"}, actor="t")  # leaves it
    copy2 = _posts(rng, [61], [6])
    copy2["text"] = BASES[1] + "です"
    assert copies.mark(copy2)["repost_of"].tolist() == ["mastodon:2"]
    assert copies.reads["written"] == 3 + 4 + 1  # post 2 alone: its old stamp not again
    store.update("posts", ("mastodon", "3"), {"triage": "verified"}, actor="t")
    store.update("posts", ("mastodon", "1"), {"repost_of": "mastodon:2"}, actor="t")
    copy3 = _posts(rng, [62], [7])
    copy3["text"] = "RT " + BASES[0]  # the text of 1, now marked a copy of 2 by staff
    assert copies.mark(copy3)["repost_of"].tolist() == ["mastodon:2"]
    assert copies.reads["written"] == 3 + 4 + 1 + 2


def _find_by_scoring_every_band(index: CopyIndex, fp: str, when: int, key: str):
    """CopyIndex.find as it was before the similar fingerprints were kept (every
    fingerprint of the query's bands scored at every lookup): the reference. The exact match
    and the choice among the similar fingerprints are the index's own."""
    from ingest.dedupe import MIN_SIMILAR, SIMILARITY, _sketch

    exact = index.exact_copy_of(fp, when, key)
    if exact is not None or len(fp) < MIN_SIMILAR:
        return exact
    sh, bands = _sketch(fp)[:2]
    n = len(sh)
    scores: dict[str, float] = {}
    for band in bands:
        for row in index.buckets.get(band, ()):
            other_fp = index.masks.fps[row]
            if other_fp in scores:
                continue
            other_sh = _sketch(other_fp)[0]
            inter = len(sh & other_sh)
            scores[other_fp] = inter / (n + len(other_sh) - inter)
    similar = [(other, score) for other, score in scores.items() if score >= SIMILARITY]
    return index.earliest_of(similar, when, key)


def test_kept_similar_fingerprints_find_what_scoring_every_band_finds():
    """CopyIndex.find with the similar fingerprints kept as posts come, are edited, re-sent,
    forgotten and put back (mark's undo) against scoring every fingerprint of the bands."""
    rng = np.random.default_rng(9)
    words = ["水位", "冠水", "倒木", "停電", "土砂", "避難", "通行止め", "危ない", "です"]

    def text() -> str:
        base = BASES[int(rng.integers(len(BASES)))]
        cut = int(rng.integers(0, 6))
        return base[cut:] + "".join(rng.choice(words, int(rng.integers(0, 3))))

    index = CopyIndex(similar_from=None)
    found = similar = 0
    keys: list[tuple[str, int]] = []
    clock = T0.value
    for i in range(900):
        clock += int(rng.integers(0, 40)) * 1_000_000_000
        if keys and i % 5 == 0:  # a stored post again: edited, or as it was
            key, when = keys[int(rng.integers(len(keys)))]
            fp = fingerprint(text()) if i % 10 == 0 else index.info[key][1]
        else:
            key, when = f"mastodon:{i}", clock - int(rng.integers(0, 1800)) * 1_000_000_000
            fp = fingerprint(text())
            keys.append((key, when))
        expected = _find_by_scoring_every_band(index, fp, when, key)
        got = index.find(fp, when, key)
        assert got == expected, i
        found += got is not None
        similar += got is not None and index.exact.get(fp, (0, key))[1] != got
        index.put(key, when, fp, got)
        if i % 200 == 199:
            index.forget_before(clock - int(pd.Timedelta(hours=1).value))
            keys = [(k, w) for k, w in keys if k in index.info]
        if i % 150 == 75:  # a batch marked and forgotten again (a post that never got stored)
            batch = _posts(rng, range(5000 + i, 5010 + i), np.full(10, (i / 900) * 30))
            index.mark(batch, keep=False)
    assert found > 300 and similar > 50
    # what the index keeps of similar fingerprints is what it holds
    held = {index.masks.fps[row] for rows in index.buckets.values() for row in rows}
    assert set(index.near) == held == set(index.posts_of) == set(index.masks.row)
    assert all(index.posts_of.values()) and None not in held
    # a row let go of is free for the next fingerprint, and no other row is
    free = {i for i, fp in enumerate(index.masks.fps) if fp is None}
    assert free == set(index.masks.free) and len(free) + len(held) == len(index.masks.fps)


def test_the_shingle_mask_never_bounds_a_similarity_below_the_true_one():
    """_near skips a fingerprint when popcount(mask & other) + slack says too few shingles are
    shared: that bound must never fall below the shingles really shared, also for long texts
    whose shingles collide on a bit, texts that repeat themselves, and one-shingle ones."""
    from ingest.dedupe import _SPOTS, _sketch

    rng = np.random.default_rng(4)
    alphabet = list("国領町調布駅前で冠水が発生し道路通行止めですabcdefghij0123456789ー・")
    texts = [BASES[i % len(BASES)] for i in range(len(BASES))]
    texts += ["".join(rng.choice(alphabet, int(rng.integers(3, 600)))) for _ in range(160)]
    texts += ["あいう" * 40, "あいうあいうえ" * 20, "abc", "水"]
    lowest = _SPOTS
    collided = 0
    for a in texts:
        sh_a, _, slack_a, words_a = _sketch(fingerprint(a) or a)
        collided += slack_a > 0
        for b in texts:
            sh_b, _, slack_b, words_b = _sketch(fingerprint(b) or b)
            bound = int(np.bitwise_count(words_a & words_b).sum()) + min(slack_a, slack_b)
            shared = len(sh_a & sh_b)
            assert bound >= shared, (a[:20], b[:20])
            lowest = min(lowest, bound - shared)
    assert collided > 10  # long texts did collide on bits: the slack was needed
    assert lowest == 0  # and the bound is tight where nothing collides
