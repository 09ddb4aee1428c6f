"""Sending campaigns: the queued ones, then the reminders that are due
(``python -m ingest campaigns [--loop]``).

For a queued campaign (:mod:`geodata.campaigns`):

1. the LINE quota is checked: when this month's remaining messages are fewer than the
   recipients, the campaign is ``refused`` with the numbers in ``reason`` (nothing is sent);
2. the recipients not yet ``sent`` (residents of the towns with a LINE user id, in resident-id
   order) are cut into multicast requests of at most 500; each carries the retry key
   ``stable_retry_key(campaign, kind, round, digest of its resident ids)``, so a sender killed
   after LINE accepted a batch but before the delivery log was written plans the same batch
   again, with the same key, and LINE answers 409 (already accepted): nobody gets the message
   twice. (A batch whose residents changed in between — the roster was reloaded — is a new
   request; for a reminder round, someone who replied in between leaves the batch the same way.)
3. every resident of a batch gets a delivery row (status, request id, error) in one
   transaction per batch; a rerun sends only to residents without a ``sent`` row;
4. residents without LINE get an SMS when a gateway is configured (ingest/outbound/sms.py);
   they are on the phone list already (written with the campaign).

Reminders (:func:`geodata.campaigns.due_reminder`) go the same way, to the non-responders
only, and each one sent is a follow-up (action ``reminder``, outcome ``no_answer``) on the
resident's record.

Logs name campaigns, batches, counts and request ids; never a user id, phone or message text.
"""

from __future__ import annotations

import hashlib
import logging

import pandas as pd

from geodata import campaigns as core
from geodata.follow_ups import follow_up_frame
from geodata.notices import EVACUATION_BROADCAST, EVACUATION_NOTICE
from geodata.schema import now_utc
from ingest.outbound.line import (
    MULTICAST_MAX,
    RETRY_STATUSES,
    LineClient,
    LineError,
    safety_check_message,
    stable_retry_key,
)

log = logging.getLogger(__name__)
ACTOR = "ingest:campaigns"
SMS_MAX = 670  # characters of a notice by SMS (ten segments of Japanese text)


def _campaign_rows(store, status: str) -> list[dict]:
    frame = store.read("campaigns", where={"status": status}, order="created_at")
    return frame.to_dict("records")


def _set(store, campaign_id: str, **changes) -> None:
    row = store.get("campaigns", campaign_id)
    row.update(changes)
    store.upsert("campaigns", pd.DataFrame([row]), source=ACTOR)


def run_once(store, client: LineClient, *, sms=None, now=None, city: str = "") -> dict:
    """Send every queued campaign, then every reminder due; returns counts for the summary."""
    out = {"campaigns": 0, "refused": 0, "sent": 0, "errors": 0, "reminders": 0, "sms": 0}
    for campaign in _campaign_rows(store, core.QUEUED) + _campaign_rows(store, core.SENDING):
        result = send_campaign(_city_of(store, campaign), client, campaign["id"], sms=sms)
        out["campaigns"] += 1
        for key in ("sent", "errors", "sms"):
            out[key] += result.get(key, 0)
        out["refused"] += int(result.get("status") == core.REFUSED)
    for campaign in _campaign_rows(store, core.SENT):
        city = _city_of(store, campaign)
        out["reminders"] += send_reminders(city, client, campaign["id"], now=now)
    return out


def _city_of(store, campaign: dict):
    """The store as one campaign's sending sees it: its municipality's roster, replies and
    deliveries only (a campaign for "every town" is every town of its own city)."""
    code = campaign.get("municipality")
    if store.municipalities is None and isinstance(code, str) and code:
        return store.scoped([code])
    return store


def send_campaign(store, client: LineClient, campaign_id: str, *, sms=None) -> dict:
    """Send one campaign's message (quota checked first); returns its counts."""
    campaign = store.get("campaigns", campaign_id)
    if campaign is None:
        raise ValueError(f"unknown campaign {campaign_id!r}")
    if campaign.get("kind") == EVACUATION_BROADCAST:
        return send_broadcast(store, client, campaign)
    people = core.targets(store.read("roster"), campaign.get("towns") or [])
    line = people[core.has_line(people)]
    if campaign["status"] == core.QUEUED:
        try:
            remaining = client.remaining()
        except LineError as exc:
            _set(store, campaign_id, status=core.FAILED, reason=f"quota check failed: {exc}")
            log.error("campaign %s: quota check failed", campaign_id)
            return {"status": core.FAILED}
        if remaining is not None and remaining < len(line):
            reason = (
                f"今月の残り送信可能数 {remaining} 通が対象 {len(line)} 人に足りません"
                f" (LINE quota: {remaining} left, {len(line)} needed)"
            )
            _set(store, campaign_id, status=core.REFUSED, reason=reason, quota_remaining=remaining)
            log.warning("campaign %s refused: quota %s < %d", campaign_id, remaining, len(line))
            return {"status": core.REFUSED}
        _set(
            store,
            campaign_id,
            status=core.SENDING,
            started_at=pd.Timestamp(now_utc()),
            quota_remaining=remaining,
        )
    campaign = store.get("campaigns", campaign_id)
    if campaign.get("kind") == EVACUATION_NOTICE:  # information: no answer buttons
        message = {"type": "text", "text": campaign["question"]}
    else:
        message = safety_check_message(
            campaign["question"], campaign_id, core.ANSWERS, core.LOCATION_LABEL
        )
    sent, errors, retry = _multicast(store, client, campaign_id, line, core.MESSAGE, 0, message)
    sms_sent = _sms(store, sms, campaign, people) if sms is not None else 0
    if retry:  # LINE was busy or down: the next run sends the failed batches (same keys)
        log.warning("campaign %s: %d not sent yet, retried next run", campaign_id, errors)
        return {"status": core.SENDING, "sent": sent, "errors": errors, "sms": sms_sent}
    _set(store, campaign_id, status=core.SENT, finished_at=pd.Timestamp(now_utc()))
    log.info("campaign %s: %d sent, %d errors, %d SMS", campaign_id, sent, errors, sms_sent)
    return {"status": core.SENT, "sent": sent, "errors": errors, "sms": sms_sent}


def _multicast(store, client, campaign_id, line, kind, round_no, message):
    """Send ``message`` to ``line`` residents in batches; the delivery log per batch.

    Returns (sent, errors, retry): ``retry`` when a batch failed for a reason that may pass
    (429, 5xx, no answer), so the campaign stays ``sending``.
    """
    done = store.read(
        "deliveries",
        where={"campaign_id": campaign_id, "channel": core.LINE, "kind": kind, "status": "sent"},
    )
    done = done[done["round"] == round_no] if len(done) else done
    already = set(done["resident_id"].astype(str))
    sent = errors = 0
    retry = False
    ids = [r for r in line["resident_id"].astype(str) if r not in already]
    users = dict(
        zip(line["resident_id"].astype(str), line["chat_user_id"].astype(str), strict=True)
    )
    for n, start in enumerate(range(0, len(ids), MULTICAST_MAX)):
        batch = ids[start : start + MULTICAST_MAX]
        digest = hashlib.sha256("\n".join(batch).encode()).hexdigest()[:16]
        key = stable_retry_key(campaign_id, kind, str(round_no), digest)
        result = client.multicast([users[r] for r in batch], [message], retry_key=key)
        rows = [
            core.delivery_row(
                campaign_id,
                r,
                core.LINE,
                kind,
                round_no,
                status=result.status,
                recipient=users[r],
                retry_key=key,
                request_id=result.request_id,
                http_status=result.http_status,
                error=result.error,
            )
            for r in batch
        ]
        with store.transaction():
            store.upsert("deliveries", pd.DataFrame(rows), source=ACTOR)
            if kind == core.REMINDER and result.ok:
                notes = pd.concat(
                    [
                        follow_up_frame(
                            r["resident_id"], "reminder", "no_answer",
                            f"LINE再通知 {campaign_id} #{round_no}", by=ACTOR,
                        )
                        for r in rows
                    ]
                )  # fmt: skip
                store.upsert("follow_ups", notes, source=ACTOR, actor=ACTOR)
        if result.ok:
            sent += len(rows)
        else:
            errors += len(rows)
            retry = retry or result.http_status is None or result.http_status in RETRY_STATUSES
        log.info("campaign %s %s#%d batch %d: %s (%d) request %s", campaign_id, kind, round_no,
                 n, result.status, len(rows), result.request_id)  # fmt: skip
    return sent, errors, retry


def send_broadcast(store, client: LineClient, campaign: dict) -> dict:
    """Broadcast an evacuation notice to every friend of the account, once.

    One request with the retry key ``stable_retry_key(campaign, "broadcast")``: a broadcast
    LINE accepted before an error (or before the delivery log was written) is answered 409 when
    sent again, and counts as sent. Its delivery row has resident ``*`` and no recipient. The
    quota is not checked first: the number of friends it reaches is LINE's to know (LINE
    refuses a broadcast over the month's limit, and the campaign records the refusal).
    """
    cid = campaign["id"]
    done = store.read(
        "deliveries", where={"campaign_id": cid, "kind": core.BROADCAST, "status": "sent"}
    )
    if len(done):
        _set(store, cid, status=core.SENT)
        return {"status": core.SENT}
    if campaign["status"] == core.QUEUED:
        _set(store, cid, status=core.SENDING, started_at=pd.Timestamp(now_utc()))
    key = stable_retry_key(cid, core.BROADCAST)
    result = client.broadcast([{"type": "text", "text": campaign["question"]}], retry_key=key)
    row = core.delivery_row(
        cid, core.EVERYONE, core.LINE, core.BROADCAST, 0, status=result.status, retry_key=key,
        request_id=result.request_id, http_status=result.http_status, error=result.error,
    )  # fmt: skip
    store.upsert("deliveries", pd.DataFrame([row]), source=ACTOR)
    log.info("campaign %s broadcast: %s request %s", cid, result.status, result.request_id)
    if result.ok:
        _set(store, cid, status=core.SENT, finished_at=pd.Timestamp(now_utc()))
        return {"status": core.SENT, "sent": 1}
    if result.http_status is None or result.http_status in RETRY_STATUSES:
        return {"status": core.SENDING, "errors": 1}  # the next run, same key
    _set(store, cid, status=core.FAILED, reason=f"LINE: HTTP {result.http_status} {result.error}")
    return {"status": core.FAILED, "errors": 1}


def send_reminders(store, client: LineClient, campaign_id: str, *, now=None) -> int:
    """Send the reminder round due now, if any; returns how many residents it reached."""
    campaign = store.get("campaigns", campaign_id)
    deliveries = store.read("deliveries", where={"campaign_id": campaign_id})
    due = core.due_reminder(campaign, deliveries, store.read("safety_replies"), now=now)
    if due is None:
        return 0
    round_no, residents = due
    roster = store.read("roster")
    line = roster[roster["resident_id"].astype(str).isin(residents) & core.has_line(roster)]
    line = line.sort_values("resident_id", kind="stable")
    text = core.REMINDER_PREFIX + campaign["question"]
    message = safety_check_message(text, campaign_id, core.ANSWERS, core.LOCATION_LABEL)
    sent, _, _ = _multicast(store, client, campaign_id, line, core.REMINDER, round_no, message)
    log.info("campaign %s: reminder %d to %d residents", campaign_id, round_no, sent)
    return sent


def _sms(store, sms, campaign, people) -> int:
    """An SMS to each resident without LINE who has a phone number (once per campaign)."""
    no_line = people[~core.has_line(people) & people["phone"].notna()]
    done = store.read(
        "deliveries", where={"campaign_id": campaign["id"], "channel": core.SMS, "status": "sent"}
    )
    already = set(done["resident_id"].astype(str))
    text = campaign["question"]
    if campaign.get("kind") == EVACUATION_NOTICE:  # Twilio takes 1,600 characters at most
        text = text if len(text) <= SMS_MAX else text[: SMS_MAX - 1] + "…"
    else:
        text += "\n" + sms.reply_hint
    count = 0
    for row in no_line.to_dict("records"):
        rid = str(row["resident_id"])
        if rid in already:
            continue
        result = sms.send(str(row["phone"]), text)
        store.upsert(
            "deliveries",
            pd.DataFrame(
                [
                    core.delivery_row(
                        campaign["id"], rid, core.SMS, core.MESSAGE, 0,
                        status=result.status, recipient=str(row["phone"]),
                        request_id=result.request_id, http_status=result.http_status,
                        error=result.error,
                    )
                ]
            ),
            source=ACTOR,
        )  # fmt: skip
        count += int(result.ok)
    return count
