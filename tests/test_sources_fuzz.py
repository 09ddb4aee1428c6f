"""Fuzzed payloads never stop a run: each bad record is a rejection with its reason, the good
ones are stored."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import copy
import json
import math
import uuid
from datetime import datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.base import IngestContext, clean_text
from ingest.runner import run_source
from ingest.sources.bluesky import BlueskySource
from ingest.sources.line import LineSpoolSource
from ingest.sources.mastodon import MastodonSource
from ingest.sources.misskey import MisskeySource
from ingest.sources.posts_file import PostsFileSource
from ingest.sources.shelter_status import ShelterStatusSource
from tests.test_sources_support import payload, ref_store  # noqa: F401

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.text(min_size=1, max_size=8).map(lambda s: s * 3000),  # huge strings
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _mutations(template: dict):
    """A template record with some fields removed or replaced by values of any type."""
    keys = sorted(template)
    return st.lists(
        st.tuples(st.sampled_from(keys), st.one_of(st.just("<drop>"), JSON_VALUES)), max_size=5
    ).map(lambda changes: _apply(template, changes))


def _apply(template: dict, changes) -> dict:
    out = copy.deepcopy(template)
    for key, value in changes:
        if value == "<drop>":
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _check(source, records):
    frame, rejected = source.normalize(records)
    assert all(
        isinstance(raw, str) and isinstance(reason, str) and reason for raw, reason in rejected
    )
    return frame, rejected


MASTODON = payload("mastodon/statuses.json")
BLUESKY = payload("bluesky/posts.json")
MISSKEY = payload("misskey/notes.json")
LINE = payload("line/webhook_replies.json")["events"]


@SETTINGS
@given(
    st.lists(st.one_of(_mutations(MASTODON[0]), _mutations(MASTODON[2]), JSON_VALUES), max_size=6)
)
def test_mastodon_normalize_never_raises(records):
    _check(MastodonSource("m", base_url="http://127.0.0.1:9", hashtags=["x"]), records)


@SETTINGS
@given(st.lists(st.one_of(_mutations(BLUESKY[1]), JSON_VALUES), max_size=6))
def test_bluesky_normalize_never_raises(records):
    _check(BlueskySource("b", base_url="http://127.0.0.1:9", query="x"), records)


@SETTINGS
@given(st.lists(st.one_of(_mutations(MISSKEY[1]), JSON_VALUES), max_size=6))
def test_misskey_normalize_never_raises(records):
    _check(MisskeySource("k", base_url="http://127.0.0.1:9", query="x"), records)


@SETTINGS
@given(st.lists(st.one_of(_mutations(LINE[0]), _mutations(LINE[2]), JSON_VALUES), max_size=6))
def test_line_normalize_never_raises(records):
    source = LineSpoolSource("l", spool_dir="/nonexistent")
    source.bind(context=IngestContext())
    _check(source, [{"file": "0001.json", "event": r} for r in records])


# -- through the store --------------------------------------------------------------------------

TEXTS = st.one_of(
    st.text(min_size=1, max_size=300),
    st.text(min_size=1, max_size=8).map(lambda s: s * 2000),  # huge: truncated, still stored
).filter(lambda t: clean_text(t).strip())
POSITIONS = st.one_of(
    st.none(),
    st.tuples(st.floats(min_value=20, max_value=46), st.floats(min_value=122, max_value=154)),
)
GOOD = st.builds(
    lambda text, when, author, pos: {
        "text": text,
        "created_at": when.isoformat() + "+09:00",
        "author": author,
        "lat": pos[0] if pos else None,
        "lon": pos[1] if pos else None,
    },
    TEXTS,
    # A time ahead of the clock is a defect ("dated years ahead" below), not a good record.
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2025, 12, 31)),
    st.one_of(st.none(), st.text(max_size=30)),
    POSITIONS,
)
DEFECTS = {
    "no text": lambda r: {**r, "text": None},
    "blank text": lambda r: {**r, "text": " \u3000\x00 "},
    "text is an object": lambda r: {**r, "text": {"html": "<p>x</p>"}},
    "bad time": lambda r: {**r, "created_at": "昨日の夜"},
    "time is a list": lambda r: {**r, "created_at": [2024, 1, 9]},
    "dated years ahead": lambda r: {**r, "created_at": "2099-01-09T10:00:00+09:00"},
    "latitude out of range": lambda r: {**r, "lat": 95.5, "lon": 139.5},
    "longitude out of range": lambda r: {**r, "lat": 35.6, "lon": 1e308},
    "coordinates not numbers": lambda r: {**r, "lat": "北緯35度", "lon": "東経139度"},
    "infinite coordinates": lambda r: {**r, "lat": math.inf, "lon": 139.5},
    "NaN coordinates": lambda r: {**r, "lat": math.nan, "lon": math.nan},
    "no id": lambda r: {k: v for k, v in r.items() if k != "id"},
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    good=st.lists(GOOD, max_size=8),
    bad=st.lists(st.tuples(GOOD, st.sampled_from(sorted(DEFECTS))), max_size=8),
    order=st.randoms(),
)
def test_fuzzed_posts_file_run_stores_the_good_and_rejects_the_bad(
    tmp_path_factory, store, good, bad, order
):
    platform = f"fuzz{uuid.uuid4().hex[:8]}"
    records = [{**r, "id": f"g{i}"} for i, r in enumerate(good)]
    # Each bad record carries a marker in a field no defect touches, to find its rejection.
    bad_records = [
        DEFECTS[d](
            {"author": f"BAD{i}X", **{k: v for k, v in r.items() if k != "author"}, "id": f"b{i}"}
        )
        for i, (r, d) in enumerate(bad)
    ]
    mixed = records + bad_records
    order.shuffle(mixed)
    path = tmp_path_factory.mktemp("fuzz") / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in mixed), "utf-8")
    result = run_source(store, PostsFileSource(platform, path=str(path), platform=platform))
    assert result["ok"], result["error"]
    stored = store.read("posts", where={"platform": platform})
    assert sorted(stored["post_id"]) == sorted(r["id"] for r in records)
    rejections = store.read_rejections(source=platform)
    assert result["rejected"] == len(bad_records), rejections[["raw", "reason"]].to_dict("records")
    rejections = store.read_rejections(source=platform)
    for i in range(len(bad_records)):
        mine = rejections[rejections["raw"].str.contains(f"BAD{i}X", regex=False)]
        assert len(mine) == 1 and mine["reason"].iloc[0], rejections.to_dict("records")
    for rec in records:
        row = stored[stored["post_id"] == rec["id"]].iloc[0]
        assert len(row["text"]) <= 5000
        if rec["lat"] is None:
            assert row["geo_source"] == "none"
        else:
            assert row["geo_source"] == "geotag"
            assert row.geometry.y == pytest.approx(rec["lat"])


# -- damaged CSV files ----------------------------------------------------------------------------

STATUS_IDS = ("S13208-12", "E1320800002", "E1320800003")
DAMAGE = st.sampled_from(
    [b'"', b'""', b"\r", b"\n", b"\x00", b"\x81", b"\x96 ", b"\xff\xfe", b"\t", b"\xe3\x81"]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    damages=st.lists(
        st.tuples(st.integers(0, 19), st.integers(0, 60), DAMAGE), min_size=1, max_size=3
    ),
    encoding=st.sampled_from(["utf-8", "cp932"]),
)
def test_damaged_csv_keeps_every_untouched_row(tmp_path_factory, ref_store, damages, encoding):
    """Bytes inserted into a few rows of a status CSV: the run goes on, every row on an
    untouched line is stored, every rejection says on which line."""
    name = f"fuzz{uuid.uuid4().hex[:8]}"
    lines = [
        f"{STATUS_IDS[i % 3]},開設,{i},2024/01/09 {i // 6:02d}:{i % 6 * 10:02d},毛布が不足\n".encode(
            encoding
        )
        for i in range(20)
    ]
    for row, at, damage in damages:
        line = lines[row]
        cut = min(at, len(line) - 1)
        lines[row] = line[:cut] + damage + line[cut:]
    path = tmp_path_factory.mktemp("csv") / "status.csv"
    path.write_bytes(
        "避難所ID,開設状況,避難者数,更新日時,備考\n".encode(encoding) + b"".join(lines)
    )
    result = run_source(ref_store, ShelterStatusSource(name, path=str(path)))
    assert result["ok"], result["error"]
    stored = ref_store.read("shelter_status", where={"source": name})
    damaged = {row for row, _, _ in damages}
    untouched = {i for i in range(20) if i not in damaged}
    times = {
        pd.Timestamp(f"2024-01-09 {i // 6:02d}:{i % 6 * 10:02d}", tz="Asia/Tokyo")
        for i in untouched
    }
    stored_times = set(stored["reported_at"].dt.tz_convert("Asia/Tokyo"))
    assert times <= stored_times, sorted(times - stored_times)
    for reason in ref_store.read_rejections(source=name)["reason"]:
        assert "行目" in reason and "Error" not in reason, reason
