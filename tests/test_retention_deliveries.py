"""The personal-data purge clears the campaigns' delivery log: the LINE user ids and phone numbers
messages went to are nulled, resident ids (also inside each row's id) pseudonymized, the dry run
counts them, and every campaign's figures stay the same."""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from geodata import campaigns as core
from geodata.access import retention
from tests.test_privacy import PEOPLE
from tests.test_retention import _fill

START = pd.Timestamp("2026-10-12 02:00", tz="UTC")


def _campaign(store) -> str:
    """A campaign to R1..R5 sent at START: LINE to R1, R2, R4, SMS to R3 and R5; a broadcast."""
    cid = core.create_campaign(store, towns=None, question="ご無事ですか", actor="op")
    campaign = store.get("campaigns", cid)
    campaign.update(created_at=START, started_at=START, status=core.SENT)
    store.upsert("campaigns", pd.DataFrame([campaign]), source="test")
    rows = []
    for rid, _, _, _, phone, chat, *_ in PEOPLE:
        channel, recipient = (core.LINE, chat) if chat else (core.SMS, phone)
        rows.append(core.delivery_row(cid, rid, channel, core.MESSAGE, 0, status="sent",
                                      recipient=recipient, request_id=f"req-{rid}", at=START))  # fmt: skip
    rows.append(core.delivery_row(cid, core.EVERYONE, core.LINE, core.BROADCAST, 0,
                                  status="sent", request_id="req-b", at=START))  # fmt: skip
    store.upsert("deliveries", pd.DataFrame(rows), source="test")
    return cid


def _delivery_dump(store) -> str:
    t = store.tables["deliveries"]
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t)).all()
    return json.dumps([list(map(str, r)) for r in rows], ensure_ascii=False)


def test_the_purge_clears_the_delivery_log_and_keeps_the_campaign_figures(store):
    _fill(store)
    cid = _campaign(store)
    listed = store.read("deliveries", where={"campaign_id": cid, "channel": core.PHONE_LIST})
    assert sorted(listed["resident_id"]) == ["R3", "R5"]  # no LINE: on the phone list
    before = core.counts(store.get("campaigns", cid), store.read("deliveries"),
                         store.read("safety_replies"))  # fmt: skip
    assert (before.sent, before.replied, before.not_replied) == (3, 3, 0)  # R1, R2, R4 replied

    dry = retention.purge_personal(store, dry_run=True, actor="admin")
    assert dry.nulled["deliveries"] == {"recipient": 5}  # 3 LINE ids + 2 phones
    assert dry.summary()["nulled"]["deliveries"] == {"recipient": 5}
    assert dry.aggregates["campaign_figures"][cid] == before.as_dict()
    dump = _delivery_dump(store)
    assert PEOPLE[0][5] in dump and PEOPLE[2][4] in dump  # the dry run changed nothing

    report = retention.purge_personal(store, actor="admin")
    assert report.verified and report.nulled["deliveries"] == {"recipient": 5}
    log = store.read("deliveries")
    assert log["recipient"].isna().all() and len(log) == 8
    assert (log["resident_id"] == core.EVERYONE).sum() == 1
    people = log[log["resident_id"] != core.EVERYONE]
    assert people["resident_id"].str.startswith(retention.PSEUDONYM_PREFIX).all()
    assert all(i.endswith(r) for i, r in zip(people["id"], people["resident_id"], strict=True))
    dump = _delivery_dump(store)
    for rid, _, _, _, phone, chat, *_ in PEOPLE:
        assert phone not in dump and (chat is None or chat not in dump)
        assert f":{rid}" not in dump  # not in the rows' ids either
    after = core.counts(store.get("campaigns", cid), log, store.read("safety_replies"))
    assert after == before
    # the roster's and the log's pseudonyms agree: the phone list still joins
    roster = set(store.read("roster")["resident_id"])
    assert set(people["resident_id"]) <= roster
    again = retention.purge_personal(store, dry_run=True, actor="admin")
    assert again.nulled["deliveries"] == {"recipient": 0} and not again.changed
