"""安否確認 campaigns: the HQ asks every registered resident of some towns at once, and follows
up those who do not answer.

A campaign is written by the safety page (:func:`create_campaign`, status ``queued``) and sent by
``python -m ingest campaigns`` (ingest/outbound/campaigns.py): one LINE message with four quick
replies (:data:`ANSWERS`) to each roster resident of the towns with a LINE user id, in requests
of at most 500 recipients. The answers come back through the webhook as postbacks whose data is
``campaign=<id>&status=<n>`` (or as location / text messages) and become safety replies.

Terms (every count of the page, the CLI and the tests comes from :func:`counts`):

- *recipients*: residents of the campaign's towns with a LINE user id when it was created.
- *without LINE*: residents of the towns without one. They are put on the phone list
  (:func:`phone_list`: a ``listed`` delivery each, written with the campaign, so they are on it
  the moment the campaign starts) and get an SMS when a gateway is configured.
- *sent*: recipients with a delivery ``sent`` for the message (round 0); *errors*: recipients
  whose message delivery failed and was not sent since.
- *replied*: recipients with a matched safety reply at or after the campaign's creation (any
  channel: an answer by phone answers the campaign too); *not replied*: recipients − replied.
- *reminders*: round ``k`` (1..``reminders_max``) is due ``remind_after_min`` +
  (k−1)·``remind_every_min`` minutes after the start and goes to the recipients who were sent
  the message and have not replied (:func:`due_reminder`); each reminder sent is also a
  follow-up (action ``reminder``) on the resident's record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from geodata import chronology
from geodata.schema import now_utc, to_utc

QUEUED, SENDING, SENT, REFUSED, FAILED = "queued", "sending", "sent", "refused", "failed"
SAFETY_CHECK = "safety_check"
LINE, SMS, PHONE_LIST = "line", "sms", "phone_list"
MESSAGE, REMINDER = "message", "reminder"
NO_LINE_FLAG = "LINEなし：電話で確認"
DEFAULT_QUESTION = "【安否確認】{city}災害対策本部です。ご無事ですか。下のボタンでお答えください。"
REMINDER_PREFIX = "【再送】"
# The quick replies of a safety-check message: (postback status code, label, safety status).
# The codes are those of the webhook source's menu (ingest/sources/safety_common.py MENU).
ANSWERS = (("1", "無事", "無事"), ("2", "けが", "負傷"), ("3", "助けが必要", "要救助"))
LOCATION_LABEL = "位置を送る"
MAX_QUESTION = 1000


@dataclass(frozen=True)
class Counts:
    """The figures of one campaign (module docstring)."""

    recipients: int
    without_line: int
    sent: int
    errors: int
    replied: int
    not_replied: int
    reminders: int
    sms_sent: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def postback_data(campaign_id: str, code: str) -> str:
    """The postback data of an answer button: ``campaign=<id>&status=<code>``.

    Examples
    --------
    >>> postback_data("c-1", "3")
    'campaign=c-1&status=3'
    """
    return f"campaign={campaign_id}&status={code}"


def targets(roster: pd.DataFrame, town_codes: Iterable[str] | None) -> pd.DataFrame:
    """The roster residents of ``town_codes`` (None or empty: every town), by resident id."""
    people = pd.DataFrame(roster.drop(columns="geometry", errors="ignore"))
    codes = [c for c in (town_codes or []) if c]
    if codes:
        people = people[people["town_code"].isin(codes)]
    return people.sort_values("resident_id", kind="stable").reset_index(drop=True)


def has_line(people: pd.DataFrame) -> pd.Series:
    """Whether each resident has a LINE user id (a blank id is none)."""
    ids = people["chat_user_id"].astype(object)
    return ids.notna() & (ids.astype(str).str.strip() != "")


def create_campaign(
    store,
    *,
    towns: Iterable[str] | None,
    question: str,
    actor: str,
    remind_after_min: int | None = None,
    remind_every_min: int = 0,
    reminders_max: int = 1,
    campaign_id: str | None = None,
) -> str:
    """Queue a safety-check campaign and put the residents without LINE on the phone list.

    Parameters
    ----------
    store : the store.
    towns : town codes; None or empty for every town.
    question : the message text (the operator's; it must not name a person).
    actor : the account that started it (audit-logged).
    remind_after_min : minutes until the first reminder (None: no reminder).
    remind_every_min : minutes between reminders (0: one reminder only).
    reminders_max : how many reminders at most.

    Returns
    -------
    The campaign id. The sender (``python -m ingest campaigns``) picks it up.

    Raises
    ------
    ValueError : an empty or too long question, unknown towns, bad reminder settings, or no
        resident in the towns.
    """
    question = (question or "").strip()
    if not question:
        raise ValueError("the question is empty")
    if len(question) > MAX_QUESTION:
        raise ValueError(f"the question is longer than {MAX_QUESTION} characters")
    if remind_after_min is not None and remind_after_min < 1:
        raise ValueError("the first reminder must come at least 1 minute after the start")
    if remind_every_min < 0 or reminders_max < 0:
        raise ValueError("reminder interval and count must not be negative")
    codes = sorted({str(c) for c in (towns or []) if c})
    if codes:
        known = set(store.read("towns", columns=["town_code"])["town_code"])
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(f"unknown towns: {', '.join(unknown)}")
    people = targets(store.read("roster"), codes)
    if people.empty:
        raise ValueError("no registered resident lives in these towns")
    line = has_line(people)
    now = pd.Timestamp(now_utc())
    cid = campaign_id or f"c-{now.tz_convert('Asia/Tokyo'):%Y%m%d%H%M}-{uuid.uuid4().hex[:8]}"
    campaign = {
        "id": cid,
        "kind": SAFETY_CHECK,
        "question": question,
        "towns": codes,
        "status": QUEUED,
        "created_by": actor,
        "created_at": now,
        "remind_after_min": remind_after_min,
        "remind_every_min": remind_every_min if remind_after_min is not None else None,
        "reminders_max": reminders_max if remind_after_min is not None else 0,
        "recipients": int(line.sum()),
        "without_line": int((~line).sum()),
    }
    listed = [
        delivery_row(cid, rid, PHONE_LIST, MESSAGE, 0, status="listed", at=now)
        for rid in people.loc[~line, "resident_id"]
    ]
    with store.transaction():
        store.upsert("campaigns", pd.DataFrame([campaign]), source="dashboard:safety", actor=actor)
        if listed:
            store.upsert("deliveries", pd.DataFrame(listed), source="dashboard:safety")
        where = f"{len(codes)}町丁目" if codes else "全域"
        text = f"安否確認配信 開始（{where}、LINE {campaign['recipients']}人・電話 {campaign['without_line']}人）"
        links = {"campaign": [cid], "town": codes}
        chronology.record_event(store, "campaign_started", text, links, key=f"campaign:{cid}:started",
                                at=now)  # fmt: skip
    return cid


def delivery_row(
    campaign_id: str,
    resident_id: str,
    channel: str,
    kind: str,
    round_no: int,
    *,
    status: str,
    at=None,
    recipient: str | None = None,
    retry_key: str | None = None,
    request_id: str | None = None,
    http_status: int | None = None,
    error: str | None = None,
) -> dict:
    """One row of the delivery log (its id: ``campaign:channel:kind:round:resident``)."""
    return {
        "id": f"{campaign_id}:{channel}:{kind}:{round_no}:{resident_id}",
        "campaign_id": campaign_id,
        "resident_id": str(resident_id),
        "channel": channel,
        "kind": kind,
        "round": int(round_no),
        "recipient": recipient,
        "retry_key": retry_key,
        "request_id": request_id,
        "status": status,
        "http_status": http_status,
        "error": (error or None) and str(error)[:300],
        "at": pd.Timestamp(at if at is not None else now_utc()),
    }


def replied_residents(campaign: dict, replies: pd.DataFrame) -> set[str]:
    """Residents with a matched reply at or after the campaign was created."""
    start = to_utc(campaign["created_at"])
    if replies.empty:
        return set()
    when = pd.to_datetime(replies["replied_at"], utc=True)
    rows = replies[replies["resident_id"].notna() & (when >= start)]
    return set(rows["resident_id"].astype(str))


def _of(deliveries: pd.DataFrame, campaign_id: str, **where) -> pd.DataFrame:
    rows = deliveries[deliveries["campaign_id"] == campaign_id] if len(deliveries) else deliveries
    for col, value in where.items():
        rows = rows[rows[col] == value]
    return rows


def sent_residents(deliveries: pd.DataFrame, campaign_id: str) -> set[str]:
    """Residents whose LINE message (round 0) was sent."""
    rows = _of(deliveries, campaign_id, channel=LINE, kind=MESSAGE, status="sent")
    return set(rows["resident_id"].astype(str))


def counts(campaign: dict, deliveries: pd.DataFrame, replies: pd.DataFrame) -> Counts:
    """The campaign's figures (module docstring), from the delivery log and the replies."""
    cid = campaign["id"]
    line = _of(deliveries, cid, channel=LINE, kind=MESSAGE)
    sent = set(line.loc[line["status"] == "sent", "resident_id"].astype(str))
    failed = set(line.loc[line["status"] == "error", "resident_id"].astype(str)) - sent
    listed = _of(deliveries, cid, channel=PHONE_LIST)
    recipients = int(campaign.get("recipients") or 0)
    replied = replied_residents(campaign, replies) - set(listed["resident_id"].astype(str))
    reminders = _of(deliveries, cid, channel=LINE, kind=REMINDER, status="sent")
    sms = _of(deliveries, cid, channel=SMS, status="sent")
    n_replied = len(replied & sent) if sent else 0
    return Counts(
        recipients=recipients,
        without_line=int(campaign.get("without_line") or len(listed)),
        sent=len(sent),
        errors=len(failed),
        replied=n_replied,
        not_replied=max(recipients - n_replied, 0),
        reminders=len(reminders),
        sms_sent=len(sms),
    )


def reminder_due_at(campaign: dict, round_no: int) -> pd.Timestamp | None:
    """When reminder ``round_no`` (1..) is due; None when the campaign has no such reminder."""
    after, every = campaign.get("remind_after_min"), campaign.get("remind_every_min") or 0
    most = campaign.get("reminders_max") or 0
    start = to_utc(campaign.get("started_at"))
    if after is None or pd.isna(after) or start is None or round_no < 1 or round_no > most:
        return None
    if round_no > 1 and not every:
        return None
    return start + pd.Timedelta(minutes=int(after) + (round_no - 1) * int(every))


def due_reminder(
    campaign: dict, deliveries: pd.DataFrame, replies: pd.DataFrame, now=None
) -> tuple[int, list[str]] | None:
    """The reminder round due now and the residents it goes to, or None.

    The residents are the recipients who were sent the message, have not replied, and have no
    ``sent`` reminder of that round yet (so a round interrupted half-way is finished, never
    doubled).
    """
    if campaign.get("status") != SENT:
        return None
    now = to_utc(now if now is not None else now_utc())
    cid = campaign["id"]
    done = _of(deliveries, cid, channel=LINE, kind=REMINDER, status="sent")
    for round_no in range(1, int(campaign.get("reminders_max") or 0) + 1):
        due = reminder_due_at(campaign, round_no)
        if due is None or due > now:
            return None
        already = set(done.loc[done["round"] == round_no, "resident_id"].astype(str))
        pending = sorted(
            sent_residents(deliveries, cid) - replied_residents(campaign, replies) - already
        )
        if already and not pending:
            continue  # this round is complete
        if not already and not pending:
            return None  # everyone replied
        return round_no, pending
    return None


def phone_list(store, campaign_id: str) -> pd.DataFrame:
    """The residents of a campaign to call: no LINE user id, not replied since it started.

    Returns
    -------
    The visit list's rows (:func:`geodata.safety.visit_list`, personal) of those residents, in
    its order, with ``contact`` = :data:`NO_LINE_FLAG`; residents the visit list no longer has
    (a follow-up reached them) are left out.
    """
    from geodata import safety

    campaign = store.get("campaigns", campaign_id)
    if campaign is None:
        raise ValueError(f"unknown campaign {campaign_id!r}")
    listed = store.read("deliveries", where={"campaign_id": campaign_id, "channel": PHONE_LIST})
    replies = store.read("safety_replies")
    ids = set(listed["resident_id"].astype(str)) - replied_residents(campaign, replies)
    visits = safety.read_visit_list(store)
    rows = visits[visits["resident_id"].astype(str).isin(ids)].copy()
    rows["contact"] = NO_LINE_FLAG
    return rows.reset_index(drop=True)
