"""The 調布市 typhoon drill: determinism, payload shapes, the scenario's geography, loading."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.schema import CATEGORIES
from ingest.drill import scenario as drill
from ingest.drill.load import load_into_store, reply_status
from ingest.drill.scenario import (
    FIXED_ANCHOR,
    default_anchor,
    generate,
    parse_anchor,
    write_payloads,
)
from ingest.drill.world import FLOOD_TOWN_SHARE, load_world
from ingest.drill.world import split_town_name as split

REF = str(__import__("geodata.settings", fromlist=["x"]).reference_dir())


@pytest.fixture(scope="module")
def world():
    return load_world(REF)


@pytest.fixture(scope="module")
def d():
    return generate(seed=3, posts=4000, roster=400, anchor=FIXED_ANCHOR, reference_dir=REF)


def _payload_json(x: drill.Drill) -> str:
    return json.dumps(
        {
            "mastodon": x.mastodon,
            "bluesky": x.bluesky,
            "file": x.posts_file,
            "line": x.line_bodies,
            "roster": x.roster_csv.to_dict("records"),
            "shelters": {k: v.to_dict("records") for k, v in x.shelter_files.items()},
            "field": x.field_reports.to_dict("records"),
        },
        ensure_ascii=False,
        default=str,
    )


# --- determinism and anchoring ------------------------------------------------------------


def test_same_seed_and_anchor_give_identical_payloads():
    a = generate(seed=5, posts=600, roster=80, anchor=FIXED_ANCHOR, reference_dir=REF)
    b = generate(seed=5, posts=600, roster=80, anchor=FIXED_ANCHOR, reference_dir=REF)
    assert _payload_json(a) == _payload_json(b)


def test_another_seed_gives_other_payloads_and_ids():
    a = generate(seed=5, posts=300, roster=50, anchor=FIXED_ANCHOR, reference_dir=REF)
    b = generate(seed=6, posts=300, roster=50, anchor=FIXED_ANCHOR, reference_dir=REF)
    assert _payload_json(a) != _payload_json(b)
    assert not {s["id"] for s in a.mastodon} & {s["id"] for s in b.mastodon}
    assert not set(a.roster["resident_id"]) & set(b.roster["resident_id"])


def test_another_anchor_moves_times_but_keeps_ids():
    a = generate(seed=5, posts=300, roster=50, anchor=FIXED_ANCHOR, reference_dir=REF)
    later = FIXED_ANCHOR + pd.Timedelta(hours=1)
    b = generate(seed=5, posts=300, roster=50, anchor=later, reference_dir=REF)
    assert [s["id"] for s in a.mastodon] == [s["id"] for s in b.mastodon]
    assert [v["uri"] for v in a.bluesky] == [v["uri"] for v in b.bluesky]
    shift = pd.Timestamp(b.mastodon[0]["created_at"]) - pd.Timestamp(a.mastodon[0]["created_at"])
    assert shift == pd.Timedelta(hours=1)
    ids = [[e["message"]["id"] for e in body["events"]] for body in a.line_bodies]
    assert ids == [[e["message"]["id"] for e in body["events"]] for body in b.line_bodies]


def test_default_anchor_is_now_floored_to_ten_minutes():
    assert default_anchor(pd.Timestamp("2026-10-13T03:19:59Z")) == pd.Timestamp("2026-10-13T03:10Z")
    assert parse_anchor("2026-10-13T12:00") == FIXED_ANCHOR  # naive = JST
    now = pd.Timestamp.now(tz="UTC")
    assert now - pd.Timedelta(minutes=10) <= parse_anchor(None) <= now


def test_timeline_ends_at_the_anchor_with_data_in_every_window(d):
    times = pd.to_datetime([s["created_at"] for s in d.mastodon], utc=True)
    assert times.min() >= d.t0 and times.max() <= d.anchor
    assert d.t0 == pd.Timestamp("2026-10-12T12:00+09:00")
    for hours in (1, 6, 24):
        assert (times > d.anchor - pd.Timedelta(hours=hours)).sum() >= 10
    assert [e["hour"] for e in d.timeline][-1] == 24.0


# --- Mastodon ------------------------------------------------------------------------------


def test_mastodon_statuses_have_the_api_shape(d):
    keys = {"id", "created_at", "content", "url", "uri", "account", "language", "reblog", "tags",
            "media_attachments", "visibility", "sensitive", "spoiler_text", "mentions", "emojis"}  # fmt: skip
    for s in d.mastodon:
        assert keys <= set(s)
        assert isinstance(s["id"], str) and s["id"].isdigit()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s["created_at"])
        assert s["visibility"] == "public"
        acc = s["account"]
        assert {"id", "username", "acct", "display_name", "url"} <= set(acc)
        assert acc["acct"].split("@")[0] == acc["username"]
        if s["reblog"] is None:
            assert s["content"].startswith("<p>") and s["content"].endswith("</p>")
            for tag in s["tags"]:
                assert f"#<span>{tag['name']}</span>" in s["content"]
        else:
            assert s["content"] == "" and s["reblog"]["reblog"] is None
            assert s["reblog"]["created_at"] < s["created_at"]
    ids = [int(s["id"]) for s in d.mastodon]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # oldest first, time-ordered ids


def test_mastodon_has_boosts_and_pages_of_40_newest_first(d):
    boosts = [s for s in d.mastodon if s["reblog"]]
    assert 0.04 < len(boosts) / len(d.mastodon) < 0.12
    pages = drill.pay.mastodon_pages(d.mastodon)
    assert all(len(p) == 40 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 40
    assert pages[0][0]["id"] == d.mastodon[-1]["id"]


# --- Bluesky and the posts file ------------------------------------------------------------


def test_bluesky_postviews_have_the_search_shape(d):
    for v in d.bluesky:
        assert re.fullmatch(
            r"at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.post/[2-7a-z]{13}", v["uri"]
        )
        assert v["cid"].startswith("bafyrei") and len(v["cid"]) == 59
        assert v["uri"].split("/")[2] == v["author"]["did"]
        assert {"handle", "displayName"} <= set(v["author"])
        rec = v["record"]
        assert rec["$type"] == "app.bsky.feed.post" and rec["langs"][0] in ("ja", "en")
        raw = rec["text"].encode()
        for facet in rec.get("facets", []):
            piece = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
            feature = facet["features"][0]
            expected = "#" + feature["tag"] if "tag" in feature else feature["uri"]
            assert piece == expected
    pages = drill.sky.bluesky_pages(d.bluesky)
    assert all("cursor" in p for p in pages[:-1]) and "cursor" not in pages[-1]
    assert all(len(p["posts"]) <= 100 for p in pages)


def test_posts_file_carries_the_geotags(d, world):
    records = d.posts_file
    assert 0.03 < len(records) / len(d.posts) < 0.07
    assert {"id", "text", "created_at", "lat", "lon", "author", "url", "platform"} == set(
        records[0]
    )
    with_point = [r for r in records if r["lat"] is not None]
    assert 0.8 < len(with_point) / len(records) <= 1
    truth = d.post_truth().set_index(["platform", "post_id"])
    towns = world.towns.set_index("town_code").geometry
    for r in with_point:
        code = truth.loc[(r["platform"], r["id"]), "town_code"]
        assert towns[code].contains(shapely.Point(r["lon"], r["lat"]))


# --- texts and truth -------------------------------------------------------------------------


def test_posts_name_places_that_exist(d, world):
    p = d.posts[d.posts["repost_of"] < 0]
    towns = set(world.towns["name"])
    others = set(world.landmarks["name"]) | set(world.shelters["name"])
    assert 0.05 < (p["lang"] == "en").mean() < 0.15
    for row in p.itertuples():
        if row.place_level in ("chome", "town") and row.rumour < 0:
            assert row.place_name in towns
        elif row.place_level in ("landmark", "shelter"):
            assert row.place_name in others
        assert row.place in row.body
        assert set(row.categories) <= set(CATEGORIES)
    spelled = p.loc[p["place_level"] == "chome", "place"]
    assert spelled.str.contains("[０-９]").any() and spelled.str.contains("[一-九]丁目").any()
    assert spelled.str.contains(r"\d丁目").any()
    assert p["body"].str.contains("らしい|って聞いた").any()  # hearsay
    assert p["negated"].any() and p["hearsay"].any() and (p["copy_of"] >= 0).any()


def test_truth_marks_unlocatable_posts(d):
    t = d.post_truth()
    assert len(t) == len(d.posts) and t["post_id"].is_unique
    none = t["place_level"] == "none"
    assert t.loc[none & ~t["geotagged"], "town_code"].isna().all()
    assert t.loc[~none, "town_code"].notna().all()
    boosts = t[t["repost_of"].notna()]
    assert boosts["repost_of"].isin(t["post_id"]).all()


def test_flood_posts_concentrate_in_flood_areas_during_the_overflow(d, world):
    flood_towns = set(world.towns.loc[world.towns["flood_share"] >= FLOOD_TOWN_SHARE, "town_code"])
    p = d.posts
    flood = p["categories"].map(lambda c: "浸水・冠水" in c)
    overflow = p["phase"].isin([2, 3])  # T+9 h .. T+16 h
    share = p.loc[flood & overflow, "event_town"].isin(flood_towns).mean()
    other = p.loc[~flood, "event_town"].isin(flood_towns).mean()
    assert share > 0.75 and other < 0.4
    assert (flood & overflow).sum() > 3 * (flood & (p["phase"] == 0)).sum()
    tagged = p[flood & overflow & p["lat"].notna()]
    inside = shapely.contains_xy(world.flood.buffer(1e-6), tagged["lon"], tagged["lat"])
    in_flood_town = tagged["event_town"].isin(flood_towns).to_numpy()
    assert len(tagged) >= 5 and inside.mean() > 0.75
    assert inside[in_flood_town].all()  # geotags of riverside flood posts lie in the flood area


# --- roster and LINE -------------------------------------------------------------------------


def test_roster_spreads_over_towns_by_population(world):
    big = generate(seed=1, posts=0, roster=4000, anchor=FIXED_ANCHOR, reference_dir=REF)
    towns = world.towns.set_index("town_code")
    expected = towns["population"] / towns["population"].sum() * len(big.roster)
    observed = big.roster["town_code"].value_counts().reindex(towns.index, fill_value=0)
    nonzero = expected > 0
    chi2 = (((observed - expected) ** 2)[nonzero] / expected[nonzero]).sum()
    assert chi2 < 180  # ~102 degrees of freedom
    assert observed[~nonzero].sum() == 0
    top = set(expected.nlargest(5).index)
    assert len(top & set(observed.nlargest(10).index)) >= 4


def test_roster_csv_is_a_municipal_export(d, world):
    csv = d.roster_csv
    assert list(csv.columns[:6]) == ["整理番号", "氏名", "氏名カナ", "性別", "生年月日", "住所"]
    assert {
        "LINEユーザーID",
        "町丁目コード",
        "要配慮事項",
        "避難支援等関係者",
        "緯度",
        "経度",
    } <= set(csv.columns)
    for text in csv.astype(str).to_numpy().ravel():
        text.encode("cp932")  # a municipal system could export it in Shift_JIS
    r = d.roster
    assert r["resident_id"].is_unique
    assert 0.78 < r["chat_user_id"].notna().mean() < 0.92
    assert r["chat_user_id"].dropna().str.fullmatch("U[0-9a-f]{32}").all()
    bases = r["town_name"].map(lambda n: split(n)[0])
    assert all(b in a for a, b in zip(r["address"], bases, strict=True))
    assert r["address"].str.match("(東京都)?調布市").all()
    towns = world.towns.set_index("town_code").geometry
    inside = [
        towns[c].contains(shapely.Point(x, y))
        for c, x, y in zip(r["town_code"], r["lon"], r["lat"], strict=True)
    ]
    assert all(inside)


def test_about_a_third_never_reply(d):
    share = len(d.non_responders) / len(d.roster)
    assert 0.33 <= share <= 0.37
    known = d.replies.dropna(subset=["resident_id"])
    per_resident = known.groupby("resident_id").size()
    assert (per_resident >= 2).mean() > 0.15
    assert d.replies["resident_id"].isna().sum() >= 1  # senders not in the roster
    assert set(d.replies["status"]) == {"無事", "負傷", "要救助", "不明"}


def test_line_bodies_are_webhook_requests(d):
    t0_ms = d.t0.value // 1_000_000
    anchor_ms = d.anchor.value // 1_000_000
    n_events = 0
    for body in d.line_bodies:
        assert set(body) == {"destination", "events"}
        assert re.fullmatch("U[0-9a-f]{32}", body["destination"])
        for ev in body["events"]:
            n_events += 1
            assert ev["type"] == "message" and ev["mode"] == "active"
            assert ev["deliveryContext"] == {"isRedelivery": False}
            assert re.fullmatch("[0-9A-HJKMNP-TV-Z]{26}", ev["webhookEventId"])
            assert re.fullmatch("[0-9a-f]{32}", ev["replyToken"])
            assert t0_ms <= ev["timestamp"] <= anchor_ms
            assert ev["source"]["type"] == "user" and ev["source"]["userId"].startswith("U")
            msg = ev["message"]
            assert msg["id"].isdigit() and len(msg["id"]) == 18
            if msg["type"] == "text":
                assert msg["text"] and msg["quoteToken"]
            elif msg["type"] == "location":
                assert 35.6 < msg["latitude"] < 35.7 and 139.5 < msg["longitude"] < 139.6
                assert msg["address"].startswith("日本、")
            else:
                assert msg["type"] == "sticker" and msg["packageId"]
    assert n_events == len(d.replies)


def test_reply_texts_map_to_their_truth_status(d):
    texts = d.replies[d.replies["kind"] == "text"]
    got = texts["text"].map(reply_status)
    assert (got == texts["status"]).mean() > 0.97


# --- shelters and field reports ------------------------------------------------------------


def test_shelters_open_progressively_and_some_overflow(d, world):
    files = d.shelter_files
    status_files = sorted(k for k in files if k.startswith("status-"))
    assert len(status_files) == 10
    first = files[status_files[0]]
    riverside = dict(zip(world.shelters["name"], world.shelters["riverside"], strict=True))
    opened = first.loc[first["開設状況"] != "未開設", "施設名"]
    assert len(opened) and all(riverside[n] for n in opened)
    allowed = {"開設", "未開設", "満員", "閉鎖"}
    cap = dict(zip(world.shelters["name"], world.shelters["capacity"], strict=True))
    over = 0
    for name in status_files:
        f = files[name]
        assert list(f.columns) == [
            "共通ID",
            "施設名",
            "開設状況",
            "避難者数",
            "世帯数",
            "必要物資",
            "報告日時",
        ]
        assert set(f["開設状況"]) <= allowed
        counts = pd.to_numeric(f["避難者数"], errors="coerce")
        over += int((counts > f["施設名"].map(cap)).sum())
    assert over >= 1
    assert "閉鎖" in set(files[status_files[-1]]["開設状況"])
    opendata = [k for k in files if k.startswith("opendata-")]
    assert opendata == ["opendata-202610121800.csv"]
    assert "人数_令和8年10月12日午後6時時点" in files[opendata[0]].columns


def test_field_reports_export(d, world):
    f = d.field_reports
    assert list(f.columns[:9]) == [
        "報告ID",
        "報告日時",
        "緯度",
        "経度",
        "種別",
        "深刻度",
        "内容",
        "写真URL",
        "報告者",
    ]
    assert f["報告ID"].is_unique and set(f["種別"]) <= set(CATEGORIES)
    assert set(f["深刻度"]) <= {"高", "中", "低"}
    towns = world.towns.set_index("town_code").geometry
    for code, lon, lat in zip(f["_town_code"], f["経度"], f["緯度"], strict=True):
        assert towns[code].buffer(1e-6).contains(shapely.Point(lon, lat))


# --- files and store -------------------------------------------------------------------------


def test_write_payloads_layout(tmp_path):
    x = generate(seed=2, posts=500, roster=60, anchor=FIXED_ANCHOR, reference_dir=REF)
    counts = write_payloads(x, tmp_path)
    pages = sorted((tmp_path / "mastodon").glob("page-*.json"))
    assert len(pages) == counts["mastodon_pages"]
    first = json.loads(pages[0].read_text(encoding="utf-8"))
    assert isinstance(first, list) and first[0]["id"] == x.mastodon[-1]["id"]
    sky = json.loads((tmp_path / "bluesky" / "page-00001.json").read_text(encoding="utf-8"))
    assert set(sky) <= {"posts", "cursor"}
    assert len((tmp_path / "posts.jsonl").read_text(encoding="utf-8").splitlines()) == len(
        x.posts_file
    )
    spool = sorted((tmp_path / "line").glob("*.json"))
    assert len(spool) == len(x.line_bodies)
    assert re.fullmatch(r"\d{20}-[0-9a-f]{32}\.json", spool[0].name)
    assert json.loads(spool[0].read_text(encoding="utf-8")) == x.line_bodies[0]
    assert (tmp_path / "roster.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    opendata = next((tmp_path / "shelters").glob("opendata-*.csv"))
    assert "人数_令和8年10月12日午後6時時点" in opendata.read_bytes().decode("cp932")
    truth = pd.read_json(tmp_path / "truth" / "posts.jsonl", lines=True, dtype={"post_id": str})
    assert len(truth) == len(x.posts)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 2 and manifest["counts"] == counts
    write_payloads(
        generate(seed=2, posts=100, roster=10, anchor=FIXED_ANCHOR, reference_dir=REF), tmp_path
    )
    assert len(list((tmp_path / "mastodon").glob("*.json"))) < len(pages)  # old pages removed


@pytest.fixture
def store(tmp_path):
    from geodata.reference.files import load_reference
    from geodata.store.core import open_store

    s = open_store(f"sqlite:///{tmp_path}/s.sqlite")
    for layer, frame in load_reference("13208", REF).frames.items():
        s.upsert(layer, frame, source="reference")
    yield s
    s.dispose()


def test_a_second_load_inserts_nothing(store):
    x = generate(seed=4, posts=800, roster=120, anchor=FIXED_ANCHOR, reference_dir=REF)
    first = load_into_store(x, store)
    assert first["posts"]["inserted"] == 800 and first["roster"]["inserted"] == 120
    assert first["safety_replies"]["inserted"] == len(x.replies)
    assert first["shelter_status"]["inserted"] > 0 and first["field_reports"]["inserted"] == 20
    assert all(r["rejected"] == 0 for r in first.values())
    again = load_into_store(
        generate(seed=4, posts=800, roster=120, anchor=FIXED_ANCHOR, reference_dir=REF), store
    )
    for layer, res in again.items():
        assert res["inserted"] == 0 and res["updated"] == 0, layer
        assert res["unchanged"] == first[layer]["inserted"], layer
    current = store.current_shelter_status()
    latest = pd.Timestamp("2026-10-13T11:30+09:00")
    assert (current["reported_at"] > latest - pd.Timedelta(minutes=30)).mean() > 0.9
    replies = store.read("safety_replies")
    assert replies["resident_id"].notna().mean() > 0.9
    assert (replies["located_by"] == "message_location").any()


def test_a_later_anchor_updates_posts_instead_of_adding(store):
    load_into_store(
        generate(seed=4, posts=300, roster=40, anchor=FIXED_ANCHOR, reference_dir=REF), store
    )
    later = generate(
        seed=4, posts=300, roster=40, anchor=FIXED_ANCHOR + pd.Timedelta(hours=2), reference_dir=REF
    )
    history = store.count("shelter_status")
    res = load_into_store(later, store)
    assert res["posts"]["inserted"] == 0 and res["posts"]["updated"] == 300
    assert res["safety_replies"]["inserted"] == 0
    assert store.count("posts") == 300
    # shelter status is append-only history: not appended again (issue 14)
    assert res["shelter_status"] == {
        "inserted": 0,
        "updated": 0,
        "unchanged": history,
        "rejected": 0,
    }
    assert store.count("shelter_status") == history


def test_demo_command_loads_reference_then_drill(tmp_path, capsys):
    from ingest.cli import main

    url = f"sqlite:///{tmp_path}/demo.sqlite"
    argv = [
        "demo",
        "--db",
        url,
        "--posts",
        "200",
        "--roster",
        "30",
        "--anchor",
        "2026-10-13T12:00",
        "--json",
    ]
    assert main(argv + ["--out", str(tmp_path / "out")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reference"]
    from geodata.store.core import open_store

    store = open_store(url)
    assert store.count("towns") == 103 and store.count("shelters") > 60
    store.dispose()
    assert summary["layers"]["posts"]["inserted"] == 200
    assert summary["files"]["roster"] == 30 and (tmp_path / "out" / "roster.csv").exists()
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert "reference" not in again
    assert all(v["inserted"] == 0 for v in again["layers"].values())
    assert main(["demo", "--db", url, "--anchor", "not a time"]) == 2


def test_generation_speed_at_100k_posts():
    load_world(REF)
    started = time.perf_counter()
    x = generate(seed=0, posts=100_000, roster=300, anchor=FIXED_ANCHOR, reference_dir=REF)
    columnar = time.perf_counter() - started
    n = len(x.mastodon) + len(x.bluesky) + len(x.posts_file)
    total = time.perf_counter() - started
    print(f"\n100k posts: columnar {columnar:.2f} s, with payload dicts {total:.2f} s")
    assert n == 100_000 and np.isfinite(total)
