"""安否確認 page: the counts, the non-responder list and its writes (pure functions and AppTest).

A small hand-made world (three towns, six residents, five replies, one from an unknown sender)
so every number can be written out; :func:`make_world` is shared with the reports and export
page tests.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from geodata import follow_ups, safety
from geodata.export import visits
from geodata.export.common import jst_label
from geodata.schema import now_utc
from geodata.store.core import open_store
from tests.accounts import ensure_accounts, login_apptest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
T1, T2, T3 = "13208001001", "13208001002", "13208002001"
TOWN_NAMES = {T1: "飛田給一丁目", T2: "飛田給二丁目", T3: "上石原一丁目"}
# town -> (minx, miny): 0.01° squares side by side
TOWN_BOXES = {T1: (139.52, 35.65), T2: (139.53, 35.65), T3: (139.54, 35.65)}


def _centre(town: str, dx: float = 0.0, dy: float = 0.0) -> shapely.Point:
    x, y = TOWN_BOXES[town]
    return shapely.Point(x + 0.005 + dx, y + 0.005 + dy)


def towns_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "town_code": list(TOWN_BOXES),
            "name": [TOWN_NAMES[c] for c in TOWN_BOXES],
            "city_code": ["13208"] * 3,
            "city_name": ["調布市"] * 3,
            "population": [1000, 2000, 3000],
            "households": [500, 900, 1400],
        },
        geometry=[shapely.box(x, y, x + 0.01, y + 0.01) for x, y in TOWN_BOXES.values()],
        crs=4326,
    )


def roster_frame() -> gpd.GeoDataFrame:
    rows = [
        ("R1", "山田　花子", "ヤマダ　ハナコ", T1, 1, "090-1111-0001"),
        ("R2", "佐藤　次郎", "サトウ　ジロウ", T1, 2, "090-1111-0002"),
        ("R3", "鈴木　三郎", "スズキ　サブロウ", T2, 1, "090-1111-0003"),
        ("R4", "高橋　四郎", "タカハシ　シロウ", T2, 3, "090-1111-0004"),
        ("R5", "田中　五月", "タナカ　サツキ", T3, None, None),
        ("R6", "伊藤　六郎", "イトウ　ロクロウ", T3, 2, "090-1111-0006"),
    ]
    return gpd.GeoDataFrame(
        {
            "resident_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "kana": [r[2] for r in rows],
            "address": [f"調布市{TOWN_NAMES[r[3]]}{i + 1}-1" for i, r in enumerate(rows)],
            "phone": [r[5] for r in rows],
            "town_code": [r[3] for r in rows],
            "care_priority": [r[4] for r in rows],
            "care_needs": ["車いす", "要介護3", "視覚障害", "独居", "人工透析", "要介護1"],
            "supporter": ["民生委員 木村"] * 6,
        },
        geometry=[_centre(r[3], dx=0.001 * i) for i, r in enumerate(rows)],
        crs=4326,
    )


def replies_frame(now: pd.Timestamp) -> gpd.GeoDataFrame:
    hours = pd.Timedelta(hours=1)
    rows = [
        # source_id, resident, status, replied_at, point
        ("m1", "R1", "無事", now - 2.83 * hours, _centre(T1)),
        ("m2", "R4", "要救助", now - 1.5 * hours, _centre(T2)),
        ("m3", "R6", "不明", now - 1.33 * hours, None),
        ("m4", "R6", "負傷", now - 0.67 * hours, _centre(T3)),
        ("m5", None, "無事", now - 0.5 * hours, _centre(T3, dx=0.004)),
    ]
    return gpd.GeoDataFrame(
        {
            "source": ["line"] * len(rows),
            "source_id": [r[0] for r in rows],
            "resident_id": [r[1] for r in rows],
            "channel": ["line"] * len(rows),
            "status": [r[2] for r in rows],
            "needs_text": ["大丈夫です", "助けて", "1", "けがをしています", "無事です"],
            "sender_id": ["U" + "0" * 31 + str(i) for i in range(len(rows))],
            "located_by": ["roster_home"] * len(rows),
            "replied_at": [r[3] for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs=4326,
    )


URGENT = ["高橋　四郎", "伊藤　六郎"]  # R4 replied 要救助, R6's newest reply is 負傷
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(1)</script>"


def posts_frame(now: pd.Timestamp) -> gpd.GeoDataFrame:
    """Six posts: two life-threatening (one older than 6 h), a copy, a dismissed one, XSS texts."""
    minutes = pd.Timedelta(minutes=1)
    rows = [
        # post_id, text, minutes ago, urgency, categories, town, triage, point, repost_of
        ("p1", "屋根の上に取り残されています", 30, 3, ["救助要請"], T1, "new", _centre(T1), None),
        ("p2", "停電しています", 90, 1, ["停電"], T2, "verified", _centre(T2), None),
        ("p3", XSS_IMG, 45, 2, ["浸水・冠水"], T3, "new", _centre(T3), None),
        ("p4", "雨が強い", 20, 0, ["その他"], T1, "dismissed", _centre(T1, dy=0.002), None),
        ("p5", "屋根の上に取り残されています", 25, 3, ["救助要請"], T1, "new", None, "mastodon:p1"),
        ("p6", XSS_SCRIPT + " 火事です", 600, 3, ["火災"], T2, "new", _centre(T2, dy=0.002), None),
    ]
    return gpd.GeoDataFrame(
        {
            "platform": ["mastodon"] * len(rows),
            "post_id": [r[0] for r in rows],
            "author": [f"user{i}@mstdn.example" for i in range(len(rows))],
            "text": [r[1] for r in rows],
            "url": [f"https://mstdn.example/@u/{r[0]}" for r in rows],
            "posted_at": [now - r[2] * minutes for r in rows],
            "lang": ["ja"] * len(rows),
            "geo_source": ["gazetteer" if r[7] is not None else "none" for r in rows],
            "geo_confidence": [0.9 if r[7] is not None else None for r in rows],
            "matched_place": [TOWN_NAMES[r[5]] for r in rows],
            "town_code": [r[5] for r in rows],
            "categories": [r[4] for r in rows],
            "urgency": [r[3] for r in rows],
            "triage": [r[6] for r in rows],
            "repost_of": [r[8] for r in rows],
        },
        geometry=[r[7] for r in rows],
        crs=4326,
    )


def make_world(url: str, now: pd.Timestamp | None = None) -> dict:
    """Fill the store at ``url``; returns passwords of the test accounts and the time used."""
    now = now if now is not None else pd.Timestamp(now_utc())
    store = open_store(url)
    try:
        store.upsert("towns", towns_frame(), source="test")
        store.upsert("roster", roster_frame(), source="test")
        store.upsert("safety_replies", replies_frame(now), source="test")
        store.upsert("posts", posts_frame(now), source="test")
    finally:
        store.dispose()
    return {"passwords": ensure_accounts(url), "now": now}


@pytest.fixture
def world(tmp_path) -> dict:
    url = f"sqlite:///{tmp_path / 'world.sqlite'}"
    return {"url": url, **make_world(url)}


def run_page(monkeypatch, url: str, page: str, user: str | None = "operator") -> AppTest:
    """Run the app logged in as ``user`` and switch to ``app_pages/<page>.py``."""
    monkeypatch.setenv("BOSAI_DB_URL", url)
    monkeypatch.setenv("BOSAI_TILES", "none")
    monkeypatch.setenv("BOSAI_LANG", "ja")
    monkeypatch.setenv("BOSAI_MUNICIPALITY", "132080")
    at = AppTest.from_file(APP, default_timeout=120)
    if user:
        login_apptest(at, user)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


# -- pure functions ----------------------------------------------------------------------------

NOW = pd.Timestamp("2026-10-12T12:00:00Z")


@pytest.fixture
def frames():
    roster = roster_frame()
    replies = replies_frame(NOW)
    follow = follow_ups.follow_up_frame("R2", "phone", "no_answer", None, by="sato", at=NOW)
    return roster, replies, follow.iloc[0:0], towns_frame()


def test_resident_states_take_the_newest_reply(frames):
    roster, replies, follow, _ = frames
    states = safety.resident_states(roster, replies, follow).set_index("resident_id")
    assert states["status"].to_dict() == {
        "R1": "無事", "R2": None, "R3": None, "R4": "要救助", "R5": None, "R6": "負傷"
    }  # fmt: skip
    assert states.loc["R6", "first_replied_at"] == NOW - pd.Timedelta(hours=1.33)
    assert safety.totals(states.reset_index()) == {
        "registered": 6, "replied": 3, "reached": 0, "unconfirmed": 3, "urgent": 2,
        "無事": 1, "負傷": 1, "要救助": 1, "不明": 0,
    }  # fmt: skip
    # R4 asked for rescue, R6's newest reply is 負傷: nobody has reached them yet
    assert states["urgent"][states["urgent"]].index.tolist() == ["R4", "R6"]


def test_town_table_counts(frames):
    roster, replies, follow, towns = frames
    table = safety.town_table(safety.resident_states(roster, replies, follow), towns)
    rows = table.set_index("town").drop(columns="town_code").to_dict("index")
    assert rows["飛田給一丁目"] == {
        "registered": 2, "replied": 1, "無事": 1, "負傷": 0, "要救助": 0, "不明": 0,
        "not_replied": 1, "reached": 0, "unconfirmed": 1, "reply_rate": 50.0,
    }  # fmt: skip
    assert rows["飛田給二丁目"]["要救助"] == 1
    assert rows["上石原一丁目"]["負傷"] == 1 and rows["上石原一丁目"]["不明"] == 0


def test_reply_rate_by_hour_is_cumulative_in_jst(frames):
    roster, replies, follow, _ = frames
    states = safety.resident_states(roster, replies, follow)
    hourly = safety.reply_rate_by_hour(states, now=NOW)
    # first replies at 18:10, 19:30 and 19:40 JST; now is 21:00 JST
    assert [h.strftime("%H:%M") for h in hourly["hour"]] == ["19:00", "20:00", "21:00"]
    assert hourly["replied"].tolist() == [1, 3, 3]
    assert hourly["replied_pct"].tolist() == [16.7, 50.0, 50.0]


def _unconfirmed(people: pd.DataFrame) -> pd.DataFrame:
    """The town sections of a visit list (the residents not heard from)."""
    return people[people["section"] != safety.URGENT].reset_index(drop=True)


def test_non_responders_by_priority_then_town_and_a_reached_follow_up_removes_one(frames):
    roster, replies, follow, towns = frames
    states = safety.resident_states(roster, replies, follow)
    people = safety.visit_list(roster, states, towns)
    # first the urgent section: R4 (要救助), R6 (負傷); then the towns
    assert people["resident_id"].tolist() == ["R4", "R6", "R3", "R2", "R5"]
    assert people["no"].tolist() == [1, 2, 3, 4, 5]
    assert _unconfirmed(people)["resident_id"].tolist() == ["R3", "R2", "R5"]
    assert _unconfirmed(people)["town"].tolist() == ["飛田給二丁目", "飛田給一丁目", "上石原一丁目"]
    assert people["reply"].tolist()[:2] == ["要救助 19:30", "負傷 20:19"]

    tried = follow_ups.follow_up_frame("R3", "phone", "no_answer", "留守電", by="sato", at=NOW)
    reached = follow_ups.follow_up_frame(
        "R2", "visit", "reached_safe", None, by="sato", at=NOW + pd.Timedelta(minutes=5)
    )
    follow = pd.concat([tried, reached], ignore_index=True)
    states = safety.resident_states(roster, replies, follow)
    people = _unconfirmed(safety.visit_list(roster, states, towns))
    assert people["resident_id"].tolist() == ["R3", "R5"]
    assert people.loc[0, "last_follow_up"] == "電話 不通 21:00"
    assert people.loc[0, "attempts"] == 1
    assert safety.totals(states)["reached"] == 1
    only_t3 = safety.visit_list(roster, states, towns, town_codes=[T3])
    assert _unconfirmed(only_t3)["resident_id"].tolist() == ["R5"]
    assert only_t3["resident_id"].tolist() == ["R6", "R5"]  # R6 (負傷) lives in T3
    assert only_t3["no"].tolist() == [2, 4]  # the numbers of the whole list


def test_a_follow_up_that_reaches_an_urgent_resident_after_the_reply_takes_them_off(frames):
    roster, replies, _, towns = frames
    earlier = follow_ups.follow_up_frame(
        "R4", "phone", "reached_safe", None, by="sato", at=NOW - pd.Timedelta(hours=2)
    )  # before R4's rescue reply (1.5 h ago): R4 still needs a team
    tried = follow_ups.follow_up_frame("R6", "visit", "not_home", None, by="sato", at=NOW)
    states = safety.resident_states(roster, replies, pd.concat([earlier, tried]))
    people = safety.visit_list(roster, states, towns)
    assert people["resident_id"].tolist()[:2] == ["R4", "R6"]
    assert people.set_index("resident_id").loc["R6", "last_follow_up"] == "訪問 不在 21:00"
    reached = follow_ups.follow_up_frame(
        "R4", "visit", "reached_needs_help", None, by="sato", at=NOW
    )
    states = safety.resident_states(roster, replies, pd.concat([earlier, tried, reached]))
    people = safety.visit_list(roster, states, towns)
    assert people["resident_id"].tolist() == ["R6", "R3", "R2", "R5"]
    assert safety.totals(states)["urgent"] == 1 and safety.totals(states)["要救助"] == 1


def test_as_of_ignores_later_replies_and_follow_ups(frames):
    roster, replies, _, towns = frames
    reached = follow_ups.follow_up_frame("R3", "phone", "reached_safe", None, by="x", at=NOW)
    states = safety.resident_states(roster, replies, reached, as_of=NOW - pd.Timedelta(hours=1))
    # at 20:00 JST: R6 had replied 不明 only (負傷 came at 20:19), R3 was not reached yet
    assert states.set_index("resident_id")["status"].to_dict()["R6"] == "不明"
    assert safety.visit_list(roster, states, towns)["resident_id"].tolist() == [
        "R4", "R3", "R2", "R5"
    ]  # fmt: skip


def test_follow_up_rejects_unknown_values():
    with pytest.raises(ValueError, match="action"):
        follow_ups.follow_up_frame("R1", "email", "reached_safe", None, by="x")
    with pytest.raises(ValueError, match="outcome"):
        follow_ups.follow_up_frame("R1", "phone", "maybe", None, by="x")


def test_match_candidates_nearest_home_first(frames):
    roster, replies, _, _ = frames
    loose = follow_ups.unmatched_replies(replies).iloc[0]
    assert loose["source_id"] == "m5"
    ids = follow_ups.match_candidates(loose.to_dict(), roster)
    # the reply lies at R5's home (T3 centre + 0.004°); R6 lives 0.001° further east
    assert ids[:2] == ["R5", "R6"]
    assert sorted(ids) == sorted(roster["resident_id"])


def test_visit_list_csv_and_pdf_are_audit_logged(world):
    store = open_store(world["url"])
    roster = store.read("roster")
    states = safety.resident_states(roster, store.read("safety_replies"), store.read("follow_ups"))
    people = safety.visit_list(roster, states, store.read("towns"))
    data = visits.visit_list_csv(store, people=people, who="operator").data
    assert data.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert table.columns[:4].tolist() == ["No", "優先", "町丁目", "氏名"]
    assert table["氏名"].tolist()[:2] == ["高橋　四郎", "伊藤　六郎"]  # 要救助, 負傷
    assert table["氏名"].tolist()[2:] == ["鈴木　三郎", "佐藤　次郎", "田中　五月"]
    pdf = visits.visit_list_pdf(store, people=people, who="operator", town_codes=[T1, T2, T3])
    pdf = pdf.data
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "安否未確認者 訪問リスト" in text and "鈴木" in text and "田中" in text
    audit = store.read_audit(limit=10)
    assert audit["action"].tolist()[:2] == ["export:visit-list", "export:visit-list-csv"]
    assert set(audit["who"].head(2)) == {"operator"}
    store.dispose()


# -- the page (AppTest) ------------------------------------------------------------------------


def _list_frame(at: AppTest) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if "kana" in d.value.columns]
    assert len(frames) == 1
    return frames[0]


def _map_script(at: AppTest) -> str:
    """The script st_folium sends for the page's map."""
    (component,) = at.main.get("component_instance")
    return json.loads(component.proto.json_args)["script"]


def _home_names(at: AppTest) -> list[str]:
    from tests.test_safety_map import layer_data

    homes = [d for d in layer_data(_map_script(at)) if d["styles"][0]["className"] == "bosai-home"]
    return [p[3] for p in homes[0]["points"]] if homes else []


def test_operator_sees_counts_list_and_reached_follow_up_shrinks_it(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "safety")
    assert at.subheader[0].value == "安否確認 — 調布市"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "名簿登録者": "6",
        "回答あり": "3（50.0%）",
        "要救助": "1",
        "負傷": "1",
        "フォローで確認": "0",
        "未確認（要フォロー）": "3",
    }
    # R4 asked for rescue and R6 is injured (nobody reached them yet): the first section
    assert _list_frame(at)["name"].tolist() == [*URGENT, "鈴木　三郎", "佐藤　次郎", "田中　五月"]
    replied = [jst_label(world["now"] - pd.Timedelta(hours=h))[-5:] for h in (1.5, 0.67)]
    assert _list_frame(at)["reply"].tolist()[:3] == [
        f"要救助 {replied[0]}",
        f"負傷 {replied[1]}",
        "",
    ]
    assert _home_names(at) == [*URGENT, "鈴木　三郎", "佐藤　次郎", "田中　五月"]
    store = open_store(world["url"])
    views = store.read_audit(limit=5)
    assert views.iloc[0]["action"] == "view:non-responders" and views.iloc[0]["who"] == "operator"

    # a call that does not reach anyone keeps the resident on the list
    assert at.button(key="safety_fu_save").disabled  # no outcome chosen yet
    at.selectbox(key="safety_fu_resident").select("R3")
    at.radio(key="safety_fu_outcome").set_value("no_answer")
    at.text_area(key="safety_fu_note").input("留守番電話").run()
    at.button(key="safety_fu_save").click().run()
    assert not at.exception
    assert _list_frame(at)["name"].tolist()[2] == "鈴木　三郎"
    assert _list_frame(at)["last_follow_up"].iloc[2].startswith("電話 不通")

    # a visit that reaches the resident takes them off the list
    at.selectbox(key="safety_fu_resident").select("R3")
    at.segmented_control(key="safety_fu_action").set_value("visit")
    at.radio(key="safety_fu_outcome").set_value("reached_safe").run()
    at.button(key="safety_fu_save").click().run()
    assert not at.exception
    assert _list_frame(at)["name"].tolist() == [*URGENT, "佐藤　次郎", "田中　五月"]
    assert _home_names(at) == [*URGENT, "佐藤　次郎", "田中　五月"]  # the cached map follows
    assert {m.label: m.value for m in at.metric}["フォローで確認"] == "1"
    assert at.success[0].value.startswith("対応を記録しました。連絡がついた")

    follow = store.read("follow_ups").sort_values("at")
    assert follow[["resident_id", "action", "outcome", "by"]].values.tolist() == [
        ["R3", "phone", "no_answer", "operator"],
        ["R3", "visit", "reached_safe", "operator"],
    ]
    assert follow["note"].tolist() == ["留守番電話", None]
    audit = store.read_audit(layer="follow_ups")
    assert len(audit) == 2 and set(audit["who"]) == {"operator"}
    store.dispose()


def test_town_filter_narrows_the_list_and_is_logged(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "safety")
    at.multiselect(key="safety_towns_filter").set_value([T3]).run()
    assert _list_frame(at)["name"].tolist() == ["伊藤　六郎", "田中　五月"]  # R6: 負傷, in T3
    assert _home_names(at) == ["伊藤　六郎", "田中　五月"]
    store = open_store(world["url"])
    views = store.read_audit(limit=10)
    views = views[views["action"] == "view:non-responders"]
    assert views.iloc[0]["new"] == '{"residents": 2, "towns": ["13208002001"]}'
    store.dispose()


def test_unmatched_reply_is_matched_to_a_resident(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "safety")
    assert any("名簿と未照合の回答（1件）" in m.value for m in at.markdown)
    assert at.selectbox(key="safety_match_resident").options[0].startswith("田中　五月")
    assert at.button(key="safety_match_save").disabled  # no resident chosen yet
    at.selectbox(key="safety_match_resident").select("R5").run()
    at.button(key="safety_match_save").click().run()
    assert not at.exception
    store = open_store(world["url"])
    reply = store.get("safety_replies", ("line", "m5"))
    assert reply["resident_id"] == "R5"
    audit = store.read_audit(layer="safety_replies")
    assert audit.iloc[0]["who"] == "operator" and audit.iloc[0]["record_key"] == "line|m5"
    # R5 replied now: off the list, and no unmatched reply is left
    assert _list_frame(at)["name"].tolist() == [*URGENT, "鈴木　三郎", "佐藤　次郎"]
    assert any("名簿と未照合の回答（0件）" in m.value for m in at.markdown)
    store.dispose()


def test_viewer_sees_town_counts_only(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "safety", user="viewer")
    assert at.subheader[0].value == "安否確認 — 調布市"
    assert {m.label: m.value for m in at.metric}["未確認（要フォロー）"] == "3"
    assert [d.value.columns[0] for d in at.dataframe] == ["town"]
    texts = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info])
    script = _map_script(at)
    for name in roster_frame()["name"]:
        assert name not in texts and name not in script
    assert _home_names(at) == [] and "bosai-reply" in script
    assert len(at.get("download_button")) == 0
    assert not at.main.button  # no follow-up or match button
    store = open_store(world["url"])
    assert "view:non-responders" not in store.read_audit(limit=20)["action"].tolist()
    store.dispose()


def test_functions_accept_an_empty_store():
    from dashboard.safety import map as safety_map
    from geodata.schema import empty_frame

    roster, replies = empty_frame("roster"), empty_frame("safety_replies")
    towns = towns_frame()
    states = safety.resident_states(roster, replies, empty_frame("follow_ups"))
    assert states.empty and states["confirmed"].dtype == bool
    assert safety.totals(states)["registered"] == 0
    assert safety.town_table(states, towns).empty
    assert safety.reply_rate_by_hour(states).empty
    assert safety.visit_list(roster, states, towns).empty
    assert safety.reply_points(roster, replies).empty
    assert (
        safety_map.towns_with_counts(towns, safety.town_table(states, towns))["unconfirmed"].sum()
        == 0
    )


def test_page_without_a_roster(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'towns-only.sqlite'}"
    store = open_store(url)
    store.upsert("towns", towns_frame(), source="test")
    store.dispose()
    ensure_accounts(url)
    at = run_page(monkeypatch, url, "safety")
    assert {m.label: m.value for m in at.metric}["名簿登録者"] == "0"
    assert at.info[0].value == "まだ回答がありません。"
    assert "未確認の要支援者はいません。" in [i.value for i in at.info]


def test_the_list_can_be_narrowed_to_the_towns_under_evacuation_information(monkeypatch, world):
    from geodata import evacuation
    from geodata.access.roles import User

    store = open_store(world["url"])
    evacuation.issue(store, level=4, hazard="flood", towns=[T3], user=User("boss", "commander"))
    store.dispose()
    at = run_page(monkeypatch, world["url"], "safety")
    # T3 first among the towns: the urgent section, then T3's unconfirmed resident
    assert _list_frame(at)["name"].tolist() == [*URGENT, "田中　五月", "鈴木　三郎", "佐藤　次郎"]
    toggle = at.toggle(key="safety_evacuation_only")
    assert toggle.label == "避難情報の発令中の町丁目のみ（1町丁目）"
    toggle.set_value(True).run()
    assert not at.exception
    assert _list_frame(at)["name"].tolist() == ["伊藤　六郎", "田中　五月"]
    # the map draws T3 in the 避難指示 purple
    assert "bosai-evac-4" in _map_script(at)
