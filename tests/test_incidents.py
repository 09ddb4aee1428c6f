"""Dedupe of copied posts and merging of posts, replies and field reports into incidents."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.incidents import link_incidents, with_members
from geodata.schema import validate
from geodata.text.fingerprints import fingerprint
from ingest.dedupe import mark_duplicates
from ingest.line_webhook import spool_write
from ingest.runner import run_all
from ingest.sources.field_reports import FieldReportSource
from ingest.sources.line import LineSpoolSource
from ingest.sources.mastodon import MastodonSource
from ingest.sources.roster import RosterCsvSource
from tests.test_sources_support import PAYLOADS, ref_store, serve_mastodon  # noqa: F401

T0 = pd.Timestamp("2024-01-09 09:00", tz="UTC")
KOKURYO = (139.5530, 35.6475)
M = 1 / 111_320  # degrees of latitude per metre


def _posts(rows) -> gpd.GeoDataFrame:
    """Validated posts from (post_id, text, minutes after T0, point or None, categories)."""
    frame = gpd.GeoDataFrame(
        {
            "platform": "mastodon",
            "post_id": [r[0] for r in rows],
            "text": [r[1] for r in rows],
            "posted_at": [T0 + pd.Timedelta(minutes=r[2]) for r in rows],
            "categories": [r[4] if len(r) > 4 else ["浸水・冠水"] for r in rows],
            "urgency": 1,
            "triage": "new",
            "repost_of": None,
            "town_code": [r[5] if len(r) > 5 else None for r in rows],
        },
        geometry=[shapely.Point(*r[3]) if r[3] else None for r in rows],
        crs=4326,
    )
    valid, rejected = validate(frame, "posts")
    assert rejected.empty, rejected
    return valid


def test_fingerprint_ignores_urls_mentions_hashtags_punctuation_and_width():
    a = "RT @tama: 国領町３丁目、冠水！！ #調布 #大雨 https://x.example/1"
    b = "国領町3丁目 冠水 https://other.example/2"
    assert fingerprint(a) == fingerprint(b) == "国領町3丁目冠水"


def test_copies_collapse_onto_the_first_post():
    text = "国領町三丁目の交差点が冠水して車が通れません"
    posts = _posts([
        ("1", text + " #調布", 0, None),
        ("2", "RT " + text + " https://x.example/a", 5, None),
        ("3", text + "拡散希望", 10, None),  # near-identical: shingle similarity
        ("4", "布田二丁目で煙が見えます、消防車が来ています", 12, None),
        ("5", "助けて", 13, None),
        ("6", "助けて", 14, None),  # too short to call a copy: two people asking for help
        ("7", text, 60 * 30, None),  # a copy, but a day later: a new post
    ])  # fmt: skip
    out = mark_duplicates(posts).set_index("post_id")["repost_of"]
    assert out.to_dict() == {
        "1": None, "2": "mastodon:1", "3": "mastodon:1", "4": None, "5": None, "6": None,
        "7": None,
    }  # fmt: skip


def test_copies_of_stored_posts_and_chains_resolve_to_the_root():
    text = "多摩川の水位がかなり上がってきた、布田二丁目あたり危ないかも"
    history = _posts([("10", text, 0, None), ("11", text, 1, None)])
    history.loc[history["post_id"] == "11", "repost_of"] = "mastodon:10"
    new = _posts([("12", "RT " + text, 20, None)])
    assert mark_duplicates(new, history)["repost_of"].tolist() == ["mastodon:10"]


def test_stored_posts_match_by_fingerprint_for_24_h_and_by_similarity_for_2_h():
    text = "多摩川の水位がかなり上がってきた、布田二丁目あたり危ないかも"
    near = text + "です"  # similar (3-gram Jaccard >= 0.8), not the same fingerprint
    history = _posts([
        ("20", text, 0, None),  # 10 h before: an exact copy still matches it
        ("21", "染地三丁目の都営住宅前の道路が冠水して車が立ち往生しています", 0, None),
        ("22", "小島町一丁目の交差点で倒木があり通行止めになっています", 60 * 9, None),
    ])  # fmt: skip
    new = _posts([
        ("30", "RT " + text, 60 * 10, None),
        ("31", "染地三丁目の都営住宅前の道路が冠水して車が立ち往生しています!!", 60 * 10, None),
        ("32", near.replace(text, "小島町一丁目の交差点で倒木があり通行止めになっています"), 60 * 10, None),
        ("33", near, 60 * 10 + 1, None),
    ])  # fmt: skip
    out = mark_duplicates(new, history).set_index("post_id")["repost_of"].to_dict()
    assert out["30"] == "mastodon:20"  # exact fingerprint, 10 h later
    assert out["31"] == "mastodon:21"  # punctuation only: same fingerprint
    assert out["32"] == "mastodon:22"  # similar, 1 h later
    assert out["33"] == "mastodon:20"  # similar to the new copy 30, which roots at 20


def test_pieces_close_in_place_and_time_merge_into_one_incident():
    near = (KOKURYO[0], KOKURYO[1] + 250 * M)  # 250 m north
    far = (KOKURYO[0], KOKURYO[1] + 900 * M)
    posts = _posts([
        ("1", "a", 0, KOKURYO),
        ("2", "b", 30, near),
        ("3", "c", 40, far),  # too far: its own incident
        ("4", "d", 60 * 5, KOKURYO),  # same place, 5 h later: a new incident
        ("5", "e", 50, KOKURYO, ["火災"]),  # another category
        ("6", "f", 55, None, ["浸水・冠水"], "13208008003"),  # town only, no incident has it yet
    ])  # fmt: skip
    linked, incidents = link_incidents("posts", posts, None)
    ids = linked.set_index("post_id")["incident_id"]
    assert ids["1"] == ids["2"]
    assert len({ids["1"], ids["3"], ids["4"], ids["5"], ids["6"]}) == 5
    inc = incidents.set_index("incident_id").loc[ids["1"]]
    assert inc["counts"] == {"posts": 2}
    assert inc["members"] == [["posts", "mastodon:1"], ["posts", "mastodon:2"]]
    assert (inc["first_seen"], inc["last_seen"]) == (T0, T0 + pd.Timedelta(minutes=30))
    assert inc.geometry.equals(shapely.Point(*KOKURYO))  # anchored at the first piece


def test_incidents_grow_across_batches_and_a_rerun_changes_nothing():
    first, incidents = link_incidents("posts", _posts([("1", "a", 0, KOKURYO)]), None)
    stored = validate(incidents, "incidents")[0].assign(members=incidents["members"].to_list())
    later = _posts([("2", "b", 90, (KOKURYO[0] + 100 * M, KOKURYO[1]))])
    linked, changed = link_incidents("posts", later, stored)
    assert linked["incident_id"].iloc[0] == first["incident_id"].iloc[0]
    assert changed["counts"].iloc[0] == {"posts": 2}
    assert changed["last_seen"].iloc[0] == T0 + pd.Timedelta(minutes=90)
    stored2 = validate(changed, "incidents")[0].assign(members=changed["members"].to_list())
    again = later.assign(incident_id=None)
    relinked, rechanged = link_incidents("posts", again, stored2)
    assert relinked["incident_id"].iloc[0] == first["incident_id"].iloc[0]
    assert rechanged.empty  # already a member: nothing to write, nothing counted twice


def test_incident_linking_scales_without_pairwise_comparison():
    rng = np.random.default_rng(0)
    n = 20_000
    xs = 139.50 + rng.random(n) * 0.1
    ys = 35.62 + rng.random(n) * 0.06
    minutes = np.sort(rng.random(n) * 24 * 60)
    frame = gpd.GeoDataFrame(
        {"platform": "p", "post_id": [str(i) for i in range(n)], "text": "x",
         "posted_at": T0 + pd.to_timedelta(minutes, unit="min"), "categories": [["浸水・冠水"]] * n,
         "urgency": 1, "repost_of": None, "incident_id": None, "town_code": None},
        geometry=gpd.points_from_xy(xs, ys), crs=4326,
    )  # fmt: skip
    started = time.perf_counter()
    linked, incidents = link_incidents("posts", frame, None)
    assert time.perf_counter() - started < 20
    assert linked["incident_id"].notna().all()
    assert sum(c["posts"] for c in incidents["counts"]) == n


def test_runner_links_posts_replies_and_field_reports(httpserver, tmp_path, ref_store):
    """A flooded crossing: a post, a field report and a LINE rescue request become one incident."""
    roster = tmp_path / "roster.csv"
    roster.write_text((PAYLOADS / "roster/roster.csv").read_text("utf-8"), "utf-8")
    spool = tmp_path / "spool"
    spool_write(spool, (PAYLOADS / "line/webhook_replies.json").read_bytes())
    sources = [
        MastodonSource("mastodon", base_url=serve_mastodon(httpserver), hashtags=["chofu"]),
        FieldReportSource("survey", path=str(PAYLOADS / "field_reports/survey.geojson")),
        RosterCsvSource("roster", path=str(roster)),
        LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0),
    ]
    from geodata.http import make_session

    for s in sources:
        s.session = make_session(retries=0)
    results = run_all(ref_store, sources)
    assert all(r["ok"] for r in results), results
    post = ref_store.get("posts", ("mastodon", "111726900000000001"))  # 国領町三丁目 冠水
    report = ref_store.get("field_reports", ("survey", "{6F1A2B3C-0001-4D5E-8F90-ABCDEF000001}"))
    assert post["categories"][0] == "浸水・冠水"
    assert post["incident_id"] and post["incident_id"] == report["incident_id"]
    incident = ref_store.get("incidents", post["incident_id"])
    assert incident["counts"] == {"field_reports": 1, "posts": 1}
    members = with_members(
        ref_store, ref_store.read("incidents", where={"incident_id": [post["incident_id"]]})
    )
    assert ["posts", "mastodon:111726900000000001"] in members["members"].iloc[0]
    # The boost is a copy: it joins no incident by itself.
    boost = ref_store.get("posts", ("mastodon", "111726920000000003"))
    assert boost["incident_id"] is None and boost["repost_of"] == "mastodon:111726900000000001"
    # The rescue request (menu 3 + location, 国領町三丁目) is a 救助要請 incident of its own.
    rescue = with_members(ref_store, ref_store.read("incidents", where={"category": "救助要請"}))
    members = sorted(map(sorted, rescue["members"]))
    assert members == [
        [["safety_replies", "line:01HKQ8A3B7HX2P9G5W1M8R4T6E"]],  # 負傷 at R0003's home (布田)
        [["safety_replies", "line:498012344000000002"],  # 要救助 ...
         ["safety_replies", "line:498012344000000003"]],  # ... and its location message
    ]  # fmt: skip
    before = ref_store.data_version("incidents")
    again = run_all(ref_store, sources)
    assert all(r["ok"] for r in again)
    assert ref_store.data_version("incidents") == before


def test_relinking_replies_cuts_back_rescue_incidents(httpserver, tmp_path, ref_store):
    """Re-linking from a reply's time cuts back the rescue incident it belongs to: a layer
    without an ``incident_id`` column (safety replies) is re-linked through its member rows (it
    raised KeyError when a batch of the drill landed before a stored rescue request)."""
    from geodata.incidents import link_and_store

    spool = tmp_path / "spool"
    spool_write(spool, (PAYLOADS / "line/webhook_replies.json").read_bytes())
    roster = tmp_path / "roster.csv"
    roster.write_text((PAYLOADS / "roster/roster.csv").read_text("utf-8"), "utf-8")
    sources = [RosterCsvSource("roster", path=str(roster)),
               LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0)]  # fmt: skip
    assert all(r["ok"] for r in run_all(ref_store, sources))
    before = with_members(ref_store, ref_store.read("incidents", where={"category": "救助要請"}))
    assert len(before) == 2
    # the location message of the 要救助 (the later of that incident's two replies) again: the
    # incident is cut back to the 要救助 before it, whose facts its member row keeps
    replies = ref_store.read("safety_replies")
    later = replies[replies["source_id"] == "498012344000000003"]
    assert len(later) == 1
    with ref_store.transaction():
        linked, rejected = link_and_store(ref_store, "safety_replies", later)
    assert rejected.empty and len(linked) == 1
    after = with_members(ref_store, ref_store.read("incidents", where={"category": "救助要請"}))
    assert sorted(map(sorted, after["members"])) == sorted(map(sorted, before["members"]))


def _incident_state(store) -> tuple[set, set]:
    """The stored incidents and member rows, as sets (what a single pass must equal)."""
    incidents = store.read("incidents")
    found = {
        (i, c, f.value, la.value, None if u != u else int(u), t,
         tuple(sorted(n.items())), None if g is None else (round(g.x, 9), round(g.y, 9)))
        for i, c, f, la, u, t, n, g in zip(
            incidents["incident_id"], incidents["category"], incidents["first_seen"],
            incidents["last_seen"], incidents["urgency"], incidents["town_code"],
            incidents["counts"], incidents.geometry, strict=True,
        )
    }  # fmt: skip
    members = store.read("incident_members")
    rows = {
        (lr, m, i, s.value, None if u != u else int(u), bool(lo), t)
        for lr, m, i, s, u, lo, t in zip(
            members["layer"], members["member"], members["incident_id"], members["seen_at"],
            members["urgency"], members["located"], members["town_code"], strict=True,
        )
    }  # fmt: skip
    return found, rows


def test_batches_in_any_order_make_the_incidents_of_one_pass(tmp_path):
    """Batches arriving out of time order cut incidents back to their pieces before the batch
    (state made from the member rows: last time, urgency, counts, anchor, town) and link again:
    the incidents and member rows equal those of one batch in time order, and a posts row
    names the incident whose member rows hold it."""
    from geodata.incidents import link_stored
    from geodata.store.core import open_store

    rng = np.random.default_rng(7)
    n = 90
    rows = []
    for i in range(n):
        located = rng.random() > 0.25
        point = (KOKURYO[0] + rng.normal(0, 250) * M, KOKURYO[1] + rng.normal(0, 250) * M)
        category = ["浸水・冠水"] if rng.random() < 0.7 else ["火災"]
        town = "13208008003" if rng.random() < 0.6 else None
        if not located and town is None:
            town = "13208008001"
        rows.append((str(i), f"t{i}", int(rng.random() * 300 * 60) / 60, point if located else None,
                     category, town))  # fmt: skip
    posts = _posts(rows)
    posts["urgency"] = rng.integers(0, 4, n)
    one = open_store(f"sqlite:///{tmp_path / 'one.sqlite'}")
    link_stored(one, "posts", posts)
    expected = _incident_state(one)
    assert 5 <= len(expected[0]) < n and len(expected[1]) == n  # incidents of several pieces
    many = open_store(f"sqlite:///{tmp_path / 'many.sqlite'}")
    order = posts.sort_values("posted_at", ascending=False).index.to_numpy()
    for batch in (order[:20], order[60:], order[20:40], order[40:60], order[30:50]):
        link_stored(many, "posts", posts.loc[sorted(batch)])
    assert _incident_state(many) == expected
    stored = many.read("posts")
    members = many.read("incident_members")
    member_of = dict(zip(members["member"], members["incident_id"], strict=True))
    assert {f"mastodon:{p}": i for p, i in zip(stored["post_id"], stored["incident_id"],
                                                strict=True)} == member_of  # fmt: skip
    one.dispose()
    many.dispose()


def test_re_linking_writes_only_the_incidents_that_changed(tmp_path):
    """Every batch re-links what is stored from its earliest row on: the incidents that come
    out as they are stored are not written again (a rewrite per batch of every incident the
    stretch touches was a quarter of re-linking's time at 100k posts); the ones that change
    are."""
    from geodata.incidents import link_stored
    from geodata.store.core import open_store

    rows = [(str(i), f"t{i}", i * 3.0, (KOKURYO[0] + i * 40 * M, KOKURYO[1]), ["浸水・冠水"],
             "13208008003") for i in range(6)]  # fmt: skip
    posts = _posts(rows)
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    link_stored(store, "posts", posts)
    state = _incident_state(store)
    written = []
    upsert = store.upsert

    def spy(layer, frame, **kwargs):
        written.append((layer, len(frame)))
        return upsert(layer, frame, **kwargs)

    store.upsert = spy
    link_stored(store, "posts", posts.iloc[2:4])  # the same pieces again: nothing changes
    link_stored(store, "posts", posts.iloc[0:2])  # from its first piece: cut away, made again
    assert [w for w in written if w[0] == "incidents"] == []
    assert _incident_state(store) == state
    later = _posts([("9", "t9", 30.0, (KOKURYO[0], KOKURYO[1]), ["浸水・冠水"], "13208008003")])
    link_stored(store, "posts", later)  # a new piece: its incident is written
    assert [w for w in written if w[0] == "incidents"] == [("incidents", 1)]
    incidents = store.read("incidents")
    assert len(incidents) == 1 and incidents["counts"].iloc[0] == {"posts": 7}
    store.dispose()


def test_pieces_whose_time_moved_later_are_linked_as_one_pass_would(tmp_path):
    """A batch that brings stored posts again with a later time (an edited post) cuts their
    incidents back without their old member rows, which lie before the batch: the incidents
    and member rows equal one pass over the posts with their new times. (Incidents cut back
    are summed up by the store, except those holding such a moved piece: read row by row.)"""
    from geodata.incidents import link_stored
    from geodata.store.core import open_store

    rng = np.random.default_rng(11)
    n = 60
    rows = [
        (str(i), f"t{i}", i * 3.0,
         (KOKURYO[0] + rng.normal(0, 150) * M, KOKURYO[1] + rng.normal(0, 150) * M))
        for i in range(n)
    ]  # fmt: skip
    posts = _posts(rows)
    posts["urgency"] = rng.integers(0, 4, n)
    moved = posts.loc[[5, 12, 40]].copy()
    moved["posted_at"] = moved["posted_at"] + pd.Timedelta(minutes=140)
    moved["urgency"] = [3, 0, 2]
    after = pd.concat([posts.drop(index=moved.index), moved]).sort_values("posted_at")
    one = open_store(f"sqlite:///{tmp_path / 'one.sqlite'}")
    link_stored(one, "posts", after)
    expected = _incident_state(one)
    many = open_store(f"sqlite:///{tmp_path / 'many.sqlite'}")
    link_stored(many, "posts", posts)
    before = _incident_state(many)
    later = posts[posts["posted_at"] >= moved["posted_at"].min()]
    link_stored(many, "posts", pd.concat([later, moved]))
    got = _incident_state(many)
    assert got != before  # the move changed the incidents
    assert got == expected
    one.dispose()
    many.dispose()


def test_a_piece_is_placed_at_its_point_or_inside_its_shape_or_by_its_town():
    """A piece's place: its point; a shape's representative point (inside it, e.g. a flooded
    block drawn as a polygon); an empty or missing geometry places it by its town alone, and a
    piece with neither is no piece (a missing town read as NaN from a string column too)."""
    from geodata.incidents import pieces

    block = shapely.box(139.550, 35.645, 139.552, 35.647)
    posts = _posts([("p", "点", 0, KOKURYO), ("s", "面", 1, None), ("e", "空", 2, None),
                    ("m", "無", 3, None), ("n", "町なし", 4, None)])  # fmt: skip
    posts = posts.set_geometry([shapely.Point(*KOKURYO), block, shapely.Point(), None, None])
    posts["town_code"] = ["13208008003", None, "13208008001", "13208008002", None]
    got = {key: (point, town) for _, key, _, _, _, point, town in pieces("posts", posts)}
    assert set(got) == {"mastodon:p", "mastodon:s", "mastodon:e", "mastodon:m"}
    assert got["mastodon:p"][0].equals(shapely.Point(*KOKURYO))
    assert got["mastodon:s"][0].equals(block.representative_point())
    assert block.contains(got["mastodon:s"][0])
    assert got["mastodon:e"] == (None, "13208008001")
    assert got["mastodon:m"] == (None, "13208008002")


def test_which_rows_are_pieces_and_of_what():
    """Copies, rows of その他 alone or of no category, and rows without a place are no pieces;
    a piece's category is its first other than その他; the positions are the frame's rows (the
    rows that may be pieces are found on whole columns first). Safety replies are pieces only
    when they say 要救助 or 負傷."""
    from geodata.incidents import may_be_piece, pieces

    posts = _posts([("a", "", 0, KOKURYO, ["その他", "火災"]), ("b", "", 1, KOKURYO, ["その他"]),
                    ("c", "", 2, KOKURYO, []), ("d", "", 3, None, ["浸水・冠水"]),
                    ("e", "", 4, KOKURYO, ["浸水・冠水"]), ("f", "", 5, None, ["火災"], "13208008001"),
                    ("g", "", 6, KOKURYO, ["火災"])])  # fmt: skip
    posts["repost_of"] = [None, None, None, None, "mastodon:a", None, ""]
    got = [(pos, key, category) for pos, key, category, *_ in pieces("posts", posts)]
    assert got == [(0, "mastodon:a", "火災"), (5, "mastodon:f", "火災"),
                   (6, "mastodon:g", "火災")]  # fmt: skip
    assert may_be_piece("posts", posts).tolist() == [True, False, False, False, False, True, True]
    replies = pd.DataFrame({"source": "line", "source_id": ["1", "2", "3", "4"],
                            "status": ["要救助", "無事", None, "負傷"],
                            "replied_at": [T0] * 4, "town_code": None})  # fmt: skip
    replies = gpd.GeoDataFrame(replies, geometry=[shapely.Point(*KOKURYO)] * 3 + [None], crs=4326)
    assert may_be_piece("safety_replies", replies).tolist() == [True, False, False, False]
    got = [(pos, key, category, urgency) for pos, key, category, _, urgency, *_ in
           pieces("safety_replies", replies)]  # fmt: skip
    assert got == [(0, "line:1", "救助要請", 3)]


def test_a_stored_row_that_joins_another_incident_is_written_whole(tmp_path):
    """Re-linking reads stored rows in part (what makes a piece) and writes the ones whose
    incident or copy changed: each is read whole first, so nothing else of it (author, text,
    url, staff's triage and assignee, the place it was matched by) is lost."""
    from geodata.incidents import link_stored
    from geodata.store.core import open_store

    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    later = _posts([("2", "国領町で道路が冠水", 20.0, KOKURYO, ["浸水・冠水"], "13208008003"),
                    ("3", "別の話", 21.0, None, ["その他"])])  # fmt: skip
    later["author"] = ["@resident2", "@resident3"]
    later["url"] = ["https://mstdn.example/@r/2", "https://mstdn.example/@r/3"]
    later["matched_place"] = ["国領町"] * 2
    later["geo_source"], later["geo_confidence"] = "gazetteer", 0.8
    later["matched_terms"] = [["冠水"], []]
    later["triage"] = ["verified", "new"]
    later["assigned_to"] = ["kato", None]
    link_stored(store, "posts", later)
    before = store.read("posts").set_index("post_id")
    first = before.loc["2", "incident_id"]
    assert isinstance(first, str) and first
    # an earlier piece at the same place: the incident starts with it, and post 2 joins it
    earlier = _posts([("1", "国領駅前が冠水", 5.0, (KOKURYO[0] + 30 * M, KOKURYO[1]), ["浸水・冠水"],
                       "13208008003")])  # fmt: skip
    link_stored(store, "posts", earlier)
    after = store.read("posts").set_index("post_id")
    assert after.loc["2", "incident_id"] == after.loc["1", "incident_id"] != first
    kept = [c for c in before.columns if c not in ("incident_id", "geometry")]
    assert after.loc["2", kept].to_dict() == before.loc["2", kept].to_dict()
    assert after.loc["2", "geometry"].equals(before.loc["2", "geometry"])
    assert after.loc["3"].drop("geometry").to_dict() == before.loc["3"].drop("geometry").to_dict()
    store.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_what_member_rows_before_a_cut_say_equals_their_aggregate(backend, request, tmp_path):
    """``Store.members_before`` (index seeks) gives what the aggregate of the member rows
    before the cut gives — newest time, highest urgency, located, town — at every member's
    time as the cut, on both backends: also for an incident whose highest urgency comes only
    after the cut, one without urgency and one with no row before the cut."""
    from geodata.incident_relink import MEMBER_SUMMARY
    from geodata.incidents import link_stored
    from geodata.store.core import open_store

    url = (
        f"sqlite:///{tmp_path / 's.sqlite'}" if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )  # fmt: skip
    rng = np.random.default_rng(5)
    n = 70
    rows = []
    for i in range(n):
        located = rng.random() > 0.4
        point = (KOKURYO[0] + rng.normal(0, 200) * M, KOKURYO[1] + rng.normal(0, 200) * M)
        town = "13208008003" if rng.random() < 0.3 or not located else None
        rows.append((str(i), f"t{i}", i * 2.5, point if located else None, ["浸水・冠水"], town))
    posts = _posts(rows)
    posts["urgency"] = [None if i % 9 == 0 else int(u) for i, u in enumerate(rng.integers(0, 3, n))]
    posts.loc[posts.index[-3:], "urgency"] = 3  # the highest urgency comes last
    store = open_store(url)
    link_stored(store, "posts", posts)
    members = store.read("incident_members")
    ids = sorted(set(members["incident_id"]))
    assert len(ids) >= 3 and members.groupby("incident_id").size().max() >= 10
    checked = set()
    for cut in sorted(set(members["seen_at"])):
        got = store.members_before(ids, cut).set_index("incident_id")
        groups = store.aggregate("incident_members", by=["incident_id", "layer"],
                                 aggs=MEMBER_SUMMARY, until=cut, where={"incident_id": ids})  # fmt: skip
        want = groups.groupby("incident_id").agg(
            last=("last", "max"), urgency=("urgency", "max"), located=("located", "any"),
            town=("town", "any"),
        )  # fmt: skip
        for incident_id in ids:
            row = got.loc[incident_id]
            if incident_id not in want.index:
                assert pd.isna(row["last"]) and not row["located"] and not row["town"]
                checked.add("none before")
                continue
            w = want.loc[incident_id]
            assert row["last"] == w["last"]
            assert (pd.isna(row["urgency"]) and pd.isna(w["urgency"])) or row["urgency"] == w[
                "urgency"]  # fmt: skip
            assert (bool(row["located"]), bool(row["town"])) == (
                bool(w["located"]),
                bool(w["town"]),
            )
            if not pd.isna(w["urgency"]) and w["urgency"] < 3 and cut <= posts["posted_at"].max():
                checked.add("highest after the cut")
    assert checked == {"none before", "highest after the cut"}
    store.dispose()


def test_an_incident_whose_counts_do_not_add_up_is_summed_from_its_rows(tmp_path):
    """Re-linking takes an incident's counts before the cut from its row less its rows after
    the cut; an incident row whose counts disagree with its member rows (written some other
    way) is summed up from the rows instead, and comes out as one pass makes it."""
    import sqlite3

    from geodata.incidents import link_stored
    from geodata.store.core import open_store

    rows = [(str(i), f"t{i}", i * 3.0, (KOKURYO[0] + i * 20 * M, KOKURYO[1]), ["浸水・冠水"],
             "13208008003") for i in range(8)]  # fmt: skip
    posts = _posts(rows)
    db = tmp_path / "s.sqlite"
    store = open_store(f"sqlite:///{db}")
    link_stored(store, "posts", posts)
    state = _incident_state(store)
    con = sqlite3.connect(db)
    # not its 8 member rows (and a hash of its own: as if written some other way)
    con.execute("""UPDATE incidents SET counts = '{"posts": 2}', row_hash = 'x'""")
    con.commit()
    con.close()
    link_stored(store, "posts", posts.iloc[5:])  # cut at post 5: 5 rows before it
    assert _incident_state(store) == state
    assert store.read("incidents")["counts"].tolist() == [{"posts": 8}]
    store.dispose()
