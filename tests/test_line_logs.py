"""No channel access token, LINE user id, phone number, name or message text in any log record,
over the whole of a campaign and an evacuation notice: queued, sent (with retries), answered
through the webhook (postbacks and personal texts), read from the spool, reminded, sent by SMS,
broadcast, and the disaster-mode switch."""

from __future__ import annotations

import logging

import pandas as pd

from geodata import campaigns as core
from geodata import evacuation, notices
from geodata.access.roles import User
from geodata.http import make_session
from ingest.commands.campaigns import disaster_mode
from ingest.drill.line_platform import LinePlatform, deliver, postback_event, text_event
from ingest.outbound import campaigns as sender
from ingest.outbound.sms import SmsGateway
from ingest.runner import run_source
from ingest.sources.line import LineSpoolSource
from tests.sms_server import SmsServer
from tests.test_campaigns import QUESTION, SECRET, TOKEN, TOWNS, client_for, roster, webhook  # noqa: F401
from tests.test_evacuation_notice import city  # noqa: F401

SMS_TOKEN = "sms-SECRET-auth-token-98765"


def _flaky(endpoint: str, n: int):
    return {1: "500-after", 2: "429"}.get(n) if endpoint in ("multicast", "broadcast") else None


def test_no_token_user_id_phone_name_or_text_in_any_log(city, webhook, caplog, monkeypatch):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    _, url, spool = webhook
    people = roster(120, without_line_every=6)
    city.upsert("roster", people, source="test")
    personal_text = f"{people['name'][1]}です。足をけがしました {people['phone'][1]}"
    cid = core.create_campaign(city, towns=None, question=QUESTION, actor="op",
                               remind_after_min=30)  # fmt: skip
    record = evacuation.issue(city, level=5, hazard="flood", towns=list(TOWNS[:2]),
                              user=User("honbucho", "commander"))  # fmt: skip
    notice_ids = notices.create_notice(city, record, user=User("honbucho", "commander"),
                                       city="調布市", broadcast=True)  # fmt: skip
    notice_text = city.get("campaigns", notice_ids[0])["question"]
    followers = list(people["chat_user_id"].dropna())
    with (
        LinePlatform(TOKEN, faults=_flaky, quota=100_000, followers=followers) as line,
        SmsServer("AC123", SMS_TOKEN) as gateway,
    ):
        sms = SmsGateway(make_session(retries=0), gateway.url, "AC123", SMS_TOKEN, "+815000000000")
        client = client_for(line)
        first = sender.run_once(city, client, sms=sms)
        assert first["campaigns"] == 3 and first["sms"] > 0 and line.executed["broadcast"] == 1
        users = list(people["chat_user_id"].dropna())
        events = [postback_event(u, core.postback_data(cid, "1")) for u in users[:10]]
        events.append(text_event(users[10], personal_text))
        assert deliver(url, SECRET, events[:5]) == 200 and deliver(url, SECRET, events[5:]) == 200
        assert run_source(city, LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0))["ok"]
        started = pd.Timestamp(city.get("campaigns", cid)["started_at"])
        later = sender.run_once(city, client, sms=sms, now=started + pd.Timedelta(minutes=31))
        assert later["reminders"] == len(users) - 11
        assert line.requests["multicast"] >= 4  # retries happened and were logged
        monkeypatch.setenv("BOSAI_LINE_DISASTER_RICHMENU", "richmenu-disaster")
        assert disaster_mode(client, True)["changed"] and disaster_mode(client, False)["changed"]
    assert "LINE multicast: HTTP 500" in caplog.text  # the log does say what happened
    text = caplog.text
    assert TOKEN not in text and SMS_TOKEN not in text and "Bearer" not in text
    assert SECRET not in text
    for value in [*people["chat_user_id"].dropna(), *people["phone"], *people["name"]]:
        assert value not in text, value
    for value in (QUESTION, notice_text, personal_text, notice_text.split("\n")[0]):
        assert value not in text
    # the record arguments too (a handler that formats differently would print them)
    for rec in caplog.records:
        args = " ".join(map(str, rec.args if isinstance(rec.args, tuple) else [rec.args or ""]))
        assert TOKEN not in args and not any(u in args for u in users)
