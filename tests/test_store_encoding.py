"""The fast paths of the store's encoding, validation and the sources' normalizing give what the
per-value paths give (ugly values included): the stored rows, hashes and rejections do not
depend on which path a column took."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.schema import BOOL, INT, LAYERS, STR, TIME, to_utc
from geodata.store.codec import encode_column, row_hashes
from geodata.validation import validate_frame
from ingest.base import rows_to_frame, text_or_none
from ingest.sources.common import html_to_text

JST = timezone(timedelta(hours=9))


def _pandas_row_hash(columns: list[list]) -> list[int]:
    """The row hash as the store first computed it: pandas' hash of the astype(str) frame."""
    frame = pd.DataFrame({i: pd.Series(v, dtype=object).astype(str) for i, v in enumerate(columns)})
    return pd.util.hash_pandas_object(frame, index=False).tolist()


UGLY_COLUMNS = [
    ["a", None, "", " ", "\u3000", "国領町", "None", "nan"],  # text and None
    [1, None, 0, -5, 2**70, True, False, 7],  # whole numbers and flags
    [1.0, None, 0.1, 1e-7, 1e22, -0.0, float("nan"), float("inf")],  # floats
    [b"x", None, datetime(2026, 1, 1, tzinfo=UTC), [1], {"a": 1}, pd.NA, 3, "t"],  # anything
    ["0101000000000000000000F03F", "None", "", "x", "y", "z", "w", "v"],  # WKB hex texts
]


@pytest.mark.parametrize("pick", [[0], [1], [2], [3], [0, 1, 2, 3, 4], [4, 0]])
def test_row_hash_is_pandas_hash_of_the_encoded_text(pick):
    columns = [UGLY_COLUMNS[i] for i in pick]
    assert row_hashes(columns, 8).tolist() == _pandas_row_hash(columns)


def _per_value(series: pd.Series, kind: str) -> list:
    """encode_column's per-value rule (what every value went through before the fast paths)."""
    if kind == INT:
        return [None if v is pd.NA or v is None else int(v) for v in series.astype(object)]
    if kind == BOOL:
        return [None if v is pd.NA or v is None else bool(v) for v in series.astype(object)]
    if kind == TIME:
        text = pd.to_datetime(series, utc=True).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        return [None if pd.isna(v) else v for v in text]
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        for v in series.to_numpy(dtype=object)
    ]


@pytest.mark.parametrize(
    "series, kind",
    [
        (pd.Series(["a", None, float("nan"), np.float64("nan"), "", " x "], dtype=object), STR),
        (pd.Series(["a", pd.NA, pd.NaT, None], dtype=object), STR),
        (pd.Series(["a", None, "b"], dtype="str"), STR),
        (pd.Series(pd.array([1, None, 2**62, -3], dtype="Int64")), INT),
        (pd.Series(np.array([1, 2, 3], dtype="int64")), INT),
        (pd.Series(np.array([2**63 + 5], dtype="uint64")), INT),
        (pd.Series(pd.array([True, None, False], dtype="boolean")), BOOL),
        (pd.Series(np.array([True, False])), BOOL),
        (pd.Series(["2026-10-11T12:00:00.291+00:00", None, "2026-10-11T21:00:00.000+09:00"]), TIME),
        (pd.Series([datetime(2026, 10, 11, 21, 0, tzinfo=JST), None, pd.NaT], dtype=object), TIME),
        (pd.Series(pd.to_datetime(["2026-10-11 12:00:00.123456", None])), TIME),  # naive = UTC
        (pd.Series(pd.to_datetime(["2026-10-11T12:00:00.123456789Z"], utc=True)), TIME),  # ns
        (pd.Series([pd.Timestamp("0999-05-01T00:00:00", tz="UTC")], dtype=object), TIME),
        (pd.Series([], dtype="datetime64[us, UTC]"), TIME),
    ],
)
def test_encode_column_fast_paths_give_the_per_value_result(series, kind):
    out = encode_column(series, kind, postgres=False)
    expected = _per_value(series, kind)
    assert out == expected
    assert [type(v) for v in out] == [type(v) for v in expected]


def _encoded_row_hashes(store, layer: str, frame) -> tuple[list[str], list[str]]:
    """(row hashes the store computes, row hashes by pandas' hash of its encoded columns)."""
    spec = LAYERS[layer]
    names, rows = store._encode(spec, frame)
    cols = dict(zip(names, zip(*rows, strict=True), strict=True))
    hashed = [list(cols[c]) for c in spec.columns]
    if spec.geometry:
        geoms = np.asarray(frame.geometry.values, dtype=object)
        hashed.append(list(shapely.to_wkb(geoms, hex=True).astype(str)))
    expected = [f"{h:016x}" for h in _pandas_row_hash(hashed)]
    return list(cols["row_hash"]), expected


def test_stored_row_hashes_are_pandas_hashes_of_the_stored_values(store):
    posts = gpd.GeoDataFrame(
        {
            "platform": ["mastodon", "x", "bluesky"],
            "post_id": ["1", "２", " 3 "],
            "author": ["a", None, "\u3000"],
            "text": ["川が\u3000あふれた ", "  ", None],
            "posted_at": [
                "2026-10-11T12:00:00.291Z",
                datetime(2026, 10, 11, 21, 0),  # naive: JST
                pd.Timestamp("2026-10-11T12:00:00.123456789", tz="Asia/Tokyo"),
            ],
            "geo_confidence": [0.9, None, float("nan")],
            "categories": [["浸水・冠水"], [], None],
            "urgency": [3, None, "2"],
            "triage": ["new", None, "verified"],
        },
        geometry=[shapely.Point(139.55, 35.65), None, shapely.Point()],
        crs="EPSG:4326",
    )
    valid, rejected = validate_frame(posts, LAYERS["posts"])
    assert len(valid) == 3 and rejected.empty
    got, expected = _encoded_row_hashes(store, "posts", valid)
    assert got == expected
    incidents = store.read("incidents")
    assert incidents.empty
    first = store.upsert("posts", posts)
    again = store.upsert("posts", posts)
    assert (first.inserted, again.unchanged, again.updated) == (3, 3, 0)
    stored = store.read("posts", order="post_id").set_index("post_id")
    assert stored.loc["２", "posted_at"] == pd.Timestamp("2026-10-11T12:00:00Z")
    assert stored.loc["1", "posted_at"] == pd.Timestamp("2026-10-11T12:00:00.291Z")
    # sub-microseconds go (the store keeps microseconds), the offset is applied
    assert stored.loc["3", "posted_at"] == pd.Timestamp("2026-10-11T03:00:00.123456Z")
    assert stored.loc["1", "text"] == "川が\u3000あふれた"
    assert stored.loc["２", "text"] is None and stored.loc["２", "author"] is None


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-11T12:00:00.291Z",
        "2026-10-11 12:00:00Z",
        "2026-10-11T12:00:00.2+09:00",
        "2026-10-11T12:00:00.123456-05:30",
        "2026-10-11T12:00:00.1234567Z",  # nanoseconds: pandas' own parse
        "2026-10-11T12:00:00-00:00",
        "1969-12-31T23:59:59.999999Z",
        np.str_("2026-10-11T12:00:00.291Z"),
    ],
)
def test_to_utc_of_iso_text_is_pandas_parse(text):
    expected = pd.Timestamp(text).tz_convert("UTC")
    got = to_utc(text)
    assert got == expected
    assert (got.unit, got.tz) == (expected.unit, expected.tz)


@pytest.mark.parametrize(
    "text", ["2026-02-30T12:00:00Z", "2026-10-11T24:00:00Z", "2026-10-11T23:59:60Z", "x"]
)
def test_to_utc_refuses_what_pandas_refuses(text):
    with pytest.raises(ValueError):
        pd.Timestamp(text)
    with pytest.raises(ValueError):
        to_utc(text)


def test_to_utc_reads_a_naive_time_as_japan_time():
    assert to_utc("2026-10-11T21:00:00") == pd.Timestamp("2026-10-11T12:00:00Z")


@pytest.mark.parametrize(
    "value, limit, expected",
    [
        ("  abc ", None, "abc"),
        ("\u3000国領町\u3000", None, "国領町"),
        ("\x00 abc", None, "abc"),
        ("a\x00b", None, "ab"),
        ("\ud800x", None, "?x"),
        ("   ", None, None),
        ("", None, None),
        ("abcdef", 3, "abc"),
        (np.str_(" abc "), None, "abc"),
        (12, None, "12"),
        (float("nan"), None, None),
        (None, None, None),
    ],
)
def test_text_or_none(value, limit, expected):
    got = text_or_none(value, limit)
    assert got == expected and (got is None or type(got) is str)


def test_text_or_none_refuses_containers():
    with pytest.raises(TypeError):
        text_or_none(["a"])


def test_html_to_text_of_numpy_text_is_the_text_of_plain_text():
    markup = '<p>川が&amp;あふれた<br />#<a href="https://x.example/tags/調布">調布</a></p><P>2</P>'
    assert html_to_text(np.str_(markup)) == html_to_text(markup) == "川が&あふれた\n#調布\n\n2"
    assert type(html_to_text(np.str_(markup))) is str


def test_rows_to_frame_keeps_lists_missing_columns_and_geometry():
    rows = [
        {"platform": "x", "post_id": "1", "categories": [], "urgency": 2, "geometry": None},
        {"platform": "x", "post_id": "2", "categories": ["a"], "extra": 1},
        {"platform": "x", "post_id": "3", "categories": ["b", "c"],
         "geometry": shapely.Point(139.5, 35.6)},
    ]  # fmt: skip
    frame = rows_to_frame(rows, "posts")
    assert list(frame.columns) == [*LAYERS["posts"].columns, "geometry"]
    assert all(frame[c].dtype == object for c in LAYERS["posts"].columns)
    assert frame["categories"].tolist() == [[], ["a"], ["b", "c"]]
    assert frame["urgency"].tolist() == [2, None, None]
    assert frame["text"].tolist() == [None, None, None]
    assert frame.geometry.iloc[2] == shapely.Point(139.5, 35.6)
    assert frame.geometry.iloc[0] is None and frame.crs == "EPSG:4326"


def _validated(columns: dict, layer: str = "posts"):
    n = len(next(iter(columns.values())))
    frame = gpd.GeoDataFrame(
        {"platform": ["x"] * n, "post_id": [str(i) for i in range(n)], **columns},
        geometry=[None] * n,
        crs="EPSG:4326",
    )
    return validate_frame(frame, LAYERS[layer])


@pytest.mark.parametrize(
    "column, values, odd, filler",
    [
        # text and None (fast) vs the same with a number the slow path turns into text
        ("author", ["  a ", None, "\u3000", "", "b\u3000c"], 5, None),
        ("author", ["  a ", None, "\u3000", "", "b\u3000c"], float("nan"), None),
        # lists and dicts (fast) vs the same with JSON text to parse
        ("categories", [[], ["a"], {"k": 1}, ["b", "c"], []], '["z"]', []),
        # Timestamps (fast) vs the same with text to parse
        ("posted_at", [pd.Timestamp("2026-10-11T12:00:00.5Z"),
                       datetime(2026, 10, 11, 21, 0, tzinfo=JST),
                       pd.Timestamp("2026-10-11 12:00:00.123456789", tz="UTC"),
                       datetime(2026, 10, 11, 21, 0),
                       pd.Timestamp("2026-10-11T12:00:00Z")], "2026-10-11 21:00",
         pd.Timestamp("2026-10-11T12:00:00Z")),
    ],
)  # fmt: skip
def test_validation_fast_paths_give_what_the_slow_paths_give(column, values, odd, filler):
    base = {"posted_at": [pd.Timestamp("2026-10-11T12:00:00Z")] * (len(values) + 1)}
    fast_valid, fast_rejected = _validated({**base, column: [*values, filler]})
    slow_valid, slow_rejected = _validated({**base, column: [*values, odd]})
    assert fast_rejected["reason"].tolist() == slow_rejected["reason"].tolist()
    n = len(values)
    pd.testing.assert_frame_equal(
        fast_valid.iloc[:n].drop(columns="geometry"),
        slow_valid.iloc[:n].drop(columns="geometry"),
        check_exact=True,
    )
    assert fast_valid[column].dtype == slow_valid[column].dtype


def test_validation_keeps_the_index_of_an_unnumbered_frame_out():
    frame = gpd.GeoDataFrame(
        {"platform": ["x", "x"], "post_id": ["1", "1"], "posted_at": ["2026-10-11 21:00"] * 2,
         "text": ["a", "b"]},
        geometry=[None, None], crs="EPSG:4326", index=[7, 3],
    )  # fmt: skip
    valid, rejected = validate_frame(frame, LAYERS["posts"])
    assert valid.index.tolist() == [0]
    assert valid["text"].tolist() == ["b"]  # the last of a key wins
    assert rejected["reason"].tolist() == ["duplicate key in batch"]
    assert valid["posted_at"].tolist() == [pd.Timestamp("2026-10-11T12:00:00Z")]
    assert str(valid["posted_at"].dtype).endswith(", UTC]")
