"""The dedupe's history kept between batches (ingest.dedupe.CopyHistory) against a full read."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.schema import validate
from ingest.dedupe import CopyHistory, mark_duplicates

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
