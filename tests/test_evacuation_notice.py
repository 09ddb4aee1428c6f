"""避難情報 to residents over LINE (geodata/notices.py, ingest/outbound/campaigns.py) against the
loopback LINE platform: the text (level, towns, the shelters open for the hazard), exactly one
notice per resident of the towns under retries, one broadcast, the phone list of residents
without LINE, one notice per record, the role check, and logs without personal data."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import campaigns as core
from geodata import evacuation, notices
from geodata.access.roles import Forbidden, User
from ingest.drill.line_platform import LinePlatform
from ingest.outbound import campaigns as sender
from tests.test_campaigns import (
    QUESTION,
    TOKEN,
    TOWNS,
    _assert_clean_logs,
    _towns,
    client_for,
    roster,
)

BOSS = User("honbucho", "commander")
FOLLOWERS = [f"Ufollower{i:024d}" for i in range(7)]  # friends of the account, not in the roster


def _shelters() -> gpd.GeoDataFrame:
    rows = [  # (id, name, kind, hazards, capacity)
        ("S1", "第一小学校", "shelter", [], 400),  # a 指定避難所: no hazard listed, suits any
        ("S2", "多摩川河川敷", "emergency_site", ["earthquake", "large_fire"], 5000),
        ("S3", "国領高台公園", "emergency_site", ["flood"], 800),
        ("S4", "第二中学校", "shelter", [], 300),  # closed
        ("S5", "布田公民館", "shelter", [], 100),  # full
    ]
    return gpd.GeoDataFrame(
        [{"shelter_id": i, "name": n, "kind": k, "hazards": h, "capacity": c, "city_code": "13208"}
         for i, n, k, h, c in rows],
        geometry=[shapely.Point(139.55 + i / 200, 35.645) for i in range(len(rows))], crs=4326,
    )  # fmt: skip


@pytest.fixture
def city(store):
    store.upsert("towns", _towns(), source="test")
    store.upsert("shelters", _shelters(), source="test")
    now = pd.Timestamp.now(tz="UTC")
    reports = [("S1", "開設", 40), ("S2", "開設", 10), ("S3", "開設", 700), ("S4", "閉鎖", 0),
               ("S5", "満員", 100)]  # fmt: skip
    store.append_shelter_status(
        pd.DataFrame(
            [{"shelter_id": s, "status": st, "evacuees": e, "reported_at": now,
              "source_id": f"t-{s}"} for s, st, e in reports]
        ),
        source="test",
    )  # fmt: skip
    return store


def _issue(store, towns=TOWNS[:2], level=4):
    return evacuation.issue(store, level=level, hazard="flood", towns=list(towns),
                            reason="多摩川（石原）が氾濫危険水位に到達", user=BOSS)  # fmt: skip


def test_the_text_names_level_towns_and_the_shelters_open_for_the_hazard(city):
    record = _issue(city)
    text = notices.notice_text(city, record, city="調布市")
    assert text.startswith("【警戒レベル4】避難指示（洪水）\n調布市災害対策本部です。")
    assert "対象地域：国領町一丁目、国領町二丁目（2町丁目）" in text
    assert "布田一丁目" not in text  # the third town is not under the order
    assert "危険な場所から全員避難してください。" in text
    assert "理由：多摩川（石原）が氾濫危険水位に到達" in text
    # open and suited to a flood, most room first: S1 (no hazard listed, 10 %), S3 (flood,
    # 88 %), S5 (full, marked); not the riverbank (earthquake and fire only), not the closed one
    assert "・第一小学校（空きあり）\n・国領高台公園（ほぼ満員）\n・布田公民館（満員）" in text
    assert "多摩川河川敷" not in text and "第二中学校" not in text
    lift = evacuation.lift(city, record["order_id"], user=BOSS)
    lifted = notices.notice_text(city, lift, city="調布市")
    assert lifted.startswith("【解除】【警戒レベル4】避難指示（洪水）")
    assert "次の地域の避難指示を解除しました。" in lifted and "全員避難" not in lifted


def test_a_notice_reaches_each_resident_once_under_retries_and_broadcasts_once(city, caplog):
    caplog.set_level(logging.DEBUG)
    people = roster(1200, without_line_every=10)
    city.upsert("roster", people, source="test")
    record = _issue(city)
    assert [r["order_id"] for r in notices.pending(city)] == [record["order_id"]]
    found = notices.preview(city, record, city="調布市")
    in_towns = people[people["town_code"].isin(TOWNS[:2])]
    with_line = in_towns[in_towns["chat_user_id"].notna()]
    assert (found.recipients, found.without_line) == (
        len(with_line),
        len(in_towns) - len(with_line),
    )
    assert found.shelters == 3

    ids = notices.create_notice(city, record, user=BOSS, city="調布市", broadcast=True)
    assert ids == [f"n-{record['order_id']}-1", f"b-{record['order_id']}-1"]
    assert notices.pending(city) == []
    # residents without LINE are on the phone list at once
    calls = core.phone_list(city, ids[0])
    assert sorted(calls["resident_id"]) == sorted(
        in_towns.loc[in_towns["chat_user_id"].isna(), "resident_id"]
    )
    with pytest.raises(notices.NoticeError, match="sent already"):
        notices.create_notice(city, record, user=BOSS, city="調布市")

    def faults(endpoint, n):  # accepted then 500, refused 429, accepted then 500 again
        if endpoint == "multicast":
            return {1: "500-after", 2: "429"}.get(n)
        if endpoint == "broadcast":
            return {1: "500-after", 2: "429"}.get(n)
        return None

    followers = [*FOLLOWERS, *people["chat_user_id"].dropna()]
    with LinePlatform(TOKEN, faults=faults, quota=100_000, followers=followers) as line:
        result = sender.run_once(city, client_for(line))
        assert result["sent"] == len(with_line) + 1 and result["errors"] == 0
        assert line.executed == {"multicast": 2, "broadcast": 1}  # 843 residents: 2 requests
        assert line.max_multicast == 500
        again = sender.run_once(city, client_for(line))
        assert again["sent"] == 0 and line.executed["broadcast"] == 1
    # every resident of the towns with LINE: the notice once, and the broadcast once
    for user in with_line["chat_user_id"]:
        texts = [m["text"] for m in line.inbox[user]]
        assert texts == [found.text, found.text]
        assert "quickReply" not in line.inbox[user][0]  # information, no answer buttons
    for user in [
        *FOLLOWERS,
        *people.loc[~people["town_code"].isin(TOWNS[:2]), "chat_user_id"].dropna(),
    ]:
        assert len(line.inbox[user]) == 1  # the broadcast only
    log = city.read("deliveries", where={"campaign_id": ids[0], "channel": "line"})
    assert len(log) == len(with_line) and set(log["status"]) == {"sent"}
    assert log["retry_key"].nunique() == 2
    (cast,) = city.read("deliveries", where={"campaign_id": ids[1]}).to_dict("records")
    assert (cast["status"], cast["resident_id"], cast["recipient"]) == ("sent", "*", None)
    assert cast["request_id"] and cast["kind"] == "broadcast"
    assert {city.get("campaigns", i)["status"] for i in ids} == {"sent"}
    notice = city.get("campaigns", ids[0])
    figures = core.counts(notice, city.read("deliveries"), city.read("safety_replies"))
    assert (figures.sent, figures.errors, figures.without_line) == (len(with_line), 0, len(calls))

    # a safety check in the same run of the logs: no token, user id, phone, name or text
    core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    with LinePlatform(TOKEN, quota=100_000) as line:
        assert (
            sender.run_once(city, client_for(line))["sent"] == people["chat_user_id"].notna().sum()
        )
    _assert_clean_logs(caplog.text, people)
    assert found.text not in caplog.text
    assert not any(value in caplog.text for value in FOLLOWERS)


def test_the_lift_is_offered_and_sent_without_a_broadcast(city):
    people = roster(30, without_line_every=5)
    city.upsert("roster", people, source="test")
    record = _issue(city, towns=TOWNS[2:])
    notices.create_notice(city, record, user=BOSS, city="調布市", broadcast=False)
    lift = evacuation.lift(city, record["order_id"], user=BOSS)
    (offered,) = notices.pending(city)
    assert (offered["action"], offered["version"]) == ("lift", 2)
    ids = notices.create_notice(city, offered, user=BOSS, city="調布市", broadcast=False)
    assert ids == [f"n-{lift['order_id']}-2"]
    with LinePlatform(TOKEN, followers=FOLLOWERS) as line:
        sender.run_once(city, client_for(line))
        assert line.executed == {"multicast": 2}  # the issue and the lift, no broadcast
    users = people.loc[
        people["town_code"].eq(TOWNS[2]) & people["chat_user_id"].notna(), "chat_user_id"
    ]
    for user in users:
        assert [m["text"].split("\n")[0] for m in line.inbox[user]] == [
            "【警戒レベル4】避難指示（洪水）", "【解除】【警戒レベル4】避難指示（洪水）",
        ]  # fmt: skip
    assert not any(line.inbox[f] for f in FOLLOWERS)


def test_only_those_who_issue_evacuation_information_may_send_it(city):
    city.upsert("roster", roster(6), source="test")
    record = _issue(city)
    for user in (User("sato", "operator"), None):
        with pytest.raises(Forbidden):
            notices.create_notice(city, record, user=user, city="調布市")
    assert city.read("campaigns").empty


def test_the_notice_sent_to_residents_names_no_person(city):
    """The notice leaves the HQ (LINE multicast and broadcast): no resident, no staff account."""
    people = roster(30)
    city.upsert("roster", people, source="test")
    record = _issue(city)
    for rec in (record, evacuation.lift(city, record["order_id"], user=BOSS)):
        text = notices.notice_text(city, rec, city="調布市")
        assert BOSS.username not in text and rec["issued_by"] not in text
        for column in ("resident_id", "name", "kana", "phone", "chat_user_id"):
            assert not [v for v in people[column].dropna() if str(v) in text], column
