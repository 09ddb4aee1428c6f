"""安否確認 campaigns end to end against a loopback LINE platform (ingest/drill/line_platform.py):
exactly-once sending under retries, quota refusal, replies through the webhook, reminders,
the phone list of residents without LINE, and logs without tokens, user ids or texts."""

from __future__ import annotations

import logging
import threading

import pandas as pd
import pytest
import shapely

from geodata import campaigns as core
from geodata.http import make_session
from ingest.drill.line_platform import LinePlatform, deliver, postback_event
from ingest.line_webhook import WebhookServer
from ingest.outbound import campaigns as sender
from ingest.outbound.line import LineClient
from ingest.runner import run_source
from ingest.sources.line import LineSpoolSource

TOKEN = "tok-SECRET-channel-access-token-0123456789"
SECRET = "channel-secret-for-tests"
TOWNS = ("13208001001", "13208001002", "13208002001")
QUESTION = "【安否確認】調布市災害対策本部です。ご無事ですか。"


def _towns() -> pd.DataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"town_code": list(TOWNS), "name": ["国領町一丁目", "国領町二丁目", "布田一丁目"],
         "city_code": ["13208"] * 3, "city_name": ["調布市"] * 3},
        geometry=[shapely.box(139.54 + i / 100, 35.64, 139.55 + i / 100, 35.65) for i in range(3)],
        crs=4326,
    )  # fmt: skip


def roster(n: int, *, without_line_every: int = 0) -> pd.DataFrame:
    """``n`` residents over the three towns; every ``without_line_every``-th has no LINE id."""
    rows = []
    for i in range(n):
        no_line = without_line_every and i % without_line_every == 0
        rows.append(
            {
                "resident_id": f"R{i:05d}",
                "name": f"住民{i:05d}",
                "kana": f"ジュウミン{i:05d}",
                "phone": f"090-0000-{i:04d}",
                "chat_user_id": None if no_line else f"U{i:032x}",
                "town_code": TOWNS[i % 3],
                "care_priority": 1 + i % 3,
            }
        )
    import geopandas as gpd

    homes = [shapely.Point(139.545 + (i % 3) / 100, 35.645) for i in range(n)]
    return gpd.GeoDataFrame(rows, geometry=homes, crs=4326)


@pytest.fixture
def city(store):
    store.upsert("towns", _towns(), source="test")
    return store


def client_for(platform: LinePlatform, **kw) -> LineClient:
    return LineClient(
        make_session(retries=0), TOKEN, base_url=platform.url, sleep=lambda s: None, **kw
    )


def flaky(endpoint: str, n: int):
    """LINE misbehaving: the 1st and 4th multicasts are sent and then answered 500, the 2nd
    refused with 429 (the retry key must stop the first from going out twice)."""
    if endpoint != "multicast":
        return None
    return {1: "500-after", 2: "429", 4: "500-after"}.get(n)


def test_a_campaign_to_2000_residents_sends_each_exactly_once_under_retries(city, caplog):
    caplog.set_level(logging.DEBUG)
    people = roster(2000)
    city.upsert("roster", people, source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    with LinePlatform(TOKEN, faults=flaky, quota=10_000) as line:
        result = sender.run_once(city, client_for(line))
        assert result == {"campaigns": 1, "refused": 0, "sent": 2000, "errors": 0,
                          "reminders": 0, "sms": 0}  # fmt: skip
        assert line.max_multicast == 500  # 4 requests, never more than 500 recipients
        assert line.conflicts == 2  # the two accepted-then-500 batches came back as 409
        assert sorted(line.inbox) == sorted(people["chat_user_id"])
        assert {len(m) for m in line.inbox.values()} == {1}  # each exactly once
        message = next(iter(line.inbox.values()))[0]
        items = [i["action"] for i in message["quickReply"]["items"]]
        assert [a.get("label") for a in items] == ["無事", "けが", "助けが必要", "位置を送る"]
        assert items[0]["data"] == f"campaign={cid}&status=1" and items[3]["type"] == "location"
        again = sender.run_once(city, client_for(line))  # nothing is sent twice
        assert again["sent"] == 0 and sum(len(m) for m in line.inbox.values()) == 2000
    log = city.read("deliveries", where={"campaign_id": cid})
    assert len(log) == 2000 and set(log["status"]) == {"sent"}
    assert log["request_id"].notna().all() and log["retry_key"].nunique() == 4
    campaign = city.get("campaigns", cid)
    assert campaign["status"] == "sent" and campaign["quota_remaining"] == 10_000
    counts = core.counts(campaign, log, city.read("safety_replies"))
    assert counts.sent == (log["status"] == "sent").sum() == 2000
    assert (counts.errors, counts.replied, counts.not_replied) == (0, 0, 2000)
    _assert_clean_logs(caplog.text, people)


def _assert_clean_logs(text: str, people: pd.DataFrame) -> None:
    assert TOKEN not in text and "Bearer" not in text
    assert QUESTION not in text
    for value in [*people["chat_user_id"].dropna(), *people["phone"], *people["name"]][:300]:
        assert value not in text


def test_quota_too_small_refuses_the_campaign_and_sends_nothing(city):
    city.upsert("roster", roster(300), source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    with LinePlatform(TOKEN, quota=100) as line:
        line.used = 40
        result = sender.run_once(city, client_for(line))
        assert result["refused"] == 1 and result["sent"] == 0
        assert line.requests["multicast"] == 0 and not line.inbox
    campaign = city.get("campaigns", cid)
    assert campaign["status"] == "refused" and campaign["quota_remaining"] == 60
    assert "60" in campaign["reason"] and "300" in campaign["reason"]


def test_a_refused_request_is_logged_per_resident_and_counted(city):
    city.upsert("roster", roster(30), source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    with LinePlatform(TOKEN, faults=lambda e, n: "400" if e == "multicast" else None) as line:
        sender.run_once(city, client_for(line))
        assert line.requests["multicast"] == 1  # a 400 is not retried
    log = city.read("deliveries", where={"campaign_id": cid})
    assert set(log["status"]) == {"error"} and set(log["http_status"]) == {400}
    assert set(log["error"]) == {"The request body has 1 error(s) (messages[0].text)"}
    campaign = city.get("campaigns", cid)
    counts = core.counts(campaign, log, city.read("safety_replies"))
    assert (counts.sent, counts.errors, campaign["status"]) == (0, 30, "sent")


def test_lines_down_keeps_the_campaign_sending_and_the_next_run_finishes_it(city):
    people = roster(700)
    city.upsert("roster", people, source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    down = {"on": True}
    with LinePlatform(TOKEN, faults=lambda e, n: "500-after" if down["on"] else None) as line:
        first = sender.run_once(city, client_for(line, max_attempts=1))
        assert first["errors"] == 700 and city.get("campaigns", cid)["status"] == "sending"
        assert sum(len(m) for m in line.inbox.values()) == 700  # LINE took them all the same
        down["on"] = False
        second = sender.run_once(city, client_for(line))
        assert second["sent"] == 700 and line.conflicts >= 2  # answered 409: already sent
        assert {len(m) for m in line.inbox.values()} == {1}
    campaign = city.get("campaigns", cid)
    log = city.read("deliveries", where={"campaign_id": cid})
    assert campaign["status"] == "sent" and set(log["status"]) == {"sent"}


def test_a_wrong_token_fails_the_campaign_at_the_quota_check(city):
    city.upsert("roster", roster(3), source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    with LinePlatform("another-token") as line:
        assert sender.run_once(city, client_for(line))["sent"] == 0
        assert not line.inbox
    campaign = city.get("campaigns", cid)
    assert campaign["status"] == "failed" and "401" in campaign["reason"]
    assert TOKEN not in campaign["reason"]


def test_residents_without_line_are_on_the_phone_list_the_moment_the_campaign_starts(city):
    people = roster(30, without_line_every=5)  # R00000, R00005, ... have no LINE id
    city.upsert("roster", people, source="test")
    cid = core.create_campaign(city, towns=[TOWNS[0], TOWNS[1]], question=QUESTION, actor="op")
    calls = core.phone_list(city, cid)  # nothing was sent yet
    expected = people[people["chat_user_id"].isna() & people["town_code"].isin(TOWNS[:2])]
    assert sorted(calls["resident_id"]) == sorted(expected["resident_id"])
    assert set(calls["contact"]) == {core.NO_LINE_FLAG}
    campaign = city.get("campaigns", cid)
    assert campaign["status"] == "queued"
    assert (campaign["recipients"], campaign["without_line"]) == (16, 4)
    assert campaign["towns"] == sorted(TOWNS[:2])


def test_create_campaign_refuses_bad_input(city):
    city.upsert("roster", roster(3), source="test")
    with pytest.raises(ValueError, match="empty"):
        core.create_campaign(city, towns=None, question="  ", actor="op")
    with pytest.raises(ValueError, match="unknown towns: 99999"):
        core.create_campaign(city, towns=["99999"], question=QUESTION, actor="op")
    with pytest.raises(ValueError, match="at least 1 minute"):
        core.create_campaign(city, towns=None, question=QUESTION, actor="op", remind_after_min=0)


@pytest.fixture
def webhook(tmp_path):
    server = WebhookServer(("127.0.0.1", 0), SECRET, tmp_path / "spool")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/callback", tmp_path / "spool"
    server.shutdown()
    thread.join()
    server.server_close()


def test_postback_replies_through_the_webhook_mark_residents_replied_and_reminders_skip_them(
    city, webhook
):
    _, url, spool = webhook
    people = roster(60)
    city.upsert("roster", people, source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op",
                               remind_after_min=30, remind_every_min=30, reminders_max=2)  # fmt: skip
    with LinePlatform(TOKEN) as line:
        client = client_for(line)
        sender.run_once(city, client)
        started = pd.Timestamp(city.get("campaigns", cid)["started_at"])
        answering = people.iloc[:25]
        events = [
            postback_event(u, f"campaign={cid}&status={1 + i % 3}")
            for i, u in enumerate(answering["chat_user_id"])
        ]
        assert deliver(url, SECRET, events[:10]) == 200
        assert deliver(url, SECRET, events[10:]) == 200
        assert run_source(city, LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0))["ok"]
        replies = city.read("safety_replies")
        assert sorted(replies["resident_id"]) == sorted(answering["resident_id"])
        assert replies.set_index("resident_id").loc["R00002", "status"] == "要救助"

        campaign = city.get("campaigns", cid)
        deliveries = city.read("deliveries", where={"campaign_id": cid})
        counts = core.counts(campaign, deliveries, replies)
        assert (counts.sent, counts.replied, counts.not_replied) == (60, 25, 35)

        early = sender.run_once(city, client, now=started + pd.Timedelta(minutes=29))
        assert early["reminders"] == 0
        first = sender.run_once(city, client, now=started + pd.Timedelta(minutes=31))
        assert first["reminders"] == 35
        assert (
            sender.run_once(city, client, now=started + pd.Timedelta(minutes=40))["reminders"] == 0
        )
        silent = set(people["chat_user_id"]) - set(answering["chat_user_id"])
        assert {u for u, m in line.inbox.items() if len(m) == 2} == silent
        assert all(len(line.inbox[u]) == 1 for u in answering["chat_user_id"])
        assert line.inbox[next(iter(silent))][1]["text"].startswith(core.REMINDER_PREFIX)

        late = postback_event(people.iloc[59]["chat_user_id"], f"campaign={cid}&status=1")
        assert deliver(url, SECRET, [late]) == 200
        assert run_source(city, LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0))["ok"]
        second = sender.run_once(city, client, now=started + pd.Timedelta(minutes=61))
        assert second["reminders"] == 34  # the one who answered late is not reminded again
        assert len(line.inbox[people.iloc[59]["chat_user_id"]]) == 2
        third = sender.run_once(city, client, now=started + pd.Timedelta(minutes=300))
        assert third["reminders"] == 0  # reminders_max = 2
    follow = city.read("follow_ups")
    assert set(follow["action"]) == {"reminder"} and len(follow) == 35 + 34
    assert set(follow["resident_id"]) == set(people.iloc[25:]["resident_id"])
    counts = core.counts(
        city.get("campaigns", cid), city.read("deliveries"), city.read("safety_replies")
    )
    assert (counts.replied, counts.not_replied, counts.reminders) == (26, 34, 69)


def test_sms_goes_to_residents_without_line_and_is_logged(city):
    from ingest.outbound.sms import SmsGateway
    from tests.sms_server import SmsServer

    people = roster(20, without_line_every=4)
    city.upsert("roster", people, source="test")
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op")
    with LinePlatform(TOKEN) as line, SmsServer("AC123", "sms-token") as gateway:
        sms = SmsGateway(
            make_session(retries=0), gateway.url, "AC123", "sms-token", "+815000000000"
        )
        result = sender.run_once(city, client_for(line), sms=sms)
        assert result["sms"] == 5 and len(gateway.messages) == 5
        assert {m["To"] for m in gateway.messages} == {
            "+8190" + p[4:].replace("-", "") for p in people["phone"][people["chat_user_id"].isna()]
        }
        sender.run_once(city, client_for(line), sms=sms)
        assert len(gateway.messages) == 5  # once per campaign
    log = city.read("deliveries", where={"campaign_id": cid, "channel": "sms"})
    assert (
        len(log) == 5
        and set(log["status"]) == {"sent"}
        and log["request_id"].str.startswith("SM").all()
    )
