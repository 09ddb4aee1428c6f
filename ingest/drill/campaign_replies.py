"""The drill's residents answering a 安否確認 campaign, on a timeline, through the webhook.

A drill needs no LINE: the campaign is sent to the loopback platform
(:mod:`ingest.drill.line_platform`), and the residents it reached answer by tapping a quick
reply — a postback ``campaign=<id>&status=<code>`` — posted, signed with the channel secret, to
the real webhook receiver (:func:`ingest.drill.line_platform.deliver`), spooled, and read into
``safety_replies`` by the line_spool source like any answer from LINE.

Who answers when (:func:`reply_timeline`), deterministic for a seed and the campaign's
recipients (never the clock or the campaign id):

- :data:`WITHIN_HOUR_SHARE` answer within the hour (the Itami drill's pattern: the first
  minutes bring most replies; delays exponential with a mean of :data:`MEAN_MINUTES`, cut at
  59 minutes),
- :data:`LATE_SHARE` answer late, between one and six hours after the start,
- the rest never answer (they stay on the non-responders' list for a phone call or a visit).

Answers are mostly 無事; :data:`ANSWER_P` gives the shares of 無事 / けが / 助けが必要
(the codes of :data:`geodata.campaigns.ANSWERS`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata import campaigns as core
from ingest.drill.line_platform import deliver, postback_event

WITHIN_HOUR_SHARE = 0.6
LATE_SHARE = 0.2
MEAN_MINUTES = 15.0
ANSWER_P = (0.80, 0.12, 0.08)  # 無事, けが, 助けが必要
_STREAM = 17  # numpy stream of this timeline (ingest/drill/scenario.py uses 1..9)


@dataclass(frozen=True)
class Reply:
    """One resident's answer: who, after how long, which button (a code of ``ANSWERS``)."""

    resident_id: str
    user_id: str
    after: pd.Timedelta
    code: str


def recipients(roster: pd.DataFrame, campaign: dict) -> pd.DataFrame:
    """The campaign's LINE recipients (residents of its towns with a LINE user id), by id."""
    people = core.targets(roster, campaign.get("towns") or [])
    return people[core.has_line(people)].reset_index(drop=True)


def reply_timeline(roster: pd.DataFrame, campaign: dict, *, seed: int = 0) -> list[Reply]:
    """Who of the campaign's recipients answers, after how long and how (module docstring).

    Parameters
    ----------
    roster : the roster (resident_id, town_code, chat_user_id).
    campaign : the campaign row (its ``towns``).
    seed : the drill's seed.

    Returns
    -------
    The replies, earliest first (ties by resident id); the recipients missing from it never
    answer.

    Examples
    --------
    >>> roster = pd.DataFrame({"resident_id": [f"R{i}" for i in range(100)],
    ...     "town_code": ["1"] * 100, "chat_user_id": [f"U{i}" for i in range(100)]})
    >>> timeline = reply_timeline(roster, {"towns": []}, seed=0)
    >>> within = sum(r.after <= pd.Timedelta(hours=1) for r in timeline)
    >>> 45 <= within <= 75 and len(timeline) < 100
    True
    """
    people = recipients(roster, campaign)
    rng = np.random.default_rng([seed, _STREAM])
    n = len(people)
    u = rng.random(n)
    soon = np.minimum(rng.exponential(MEAN_MINUTES, n), 59.0)
    late = rng.uniform(61.0, 360.0, n)
    answer = rng.choice(len(ANSWER_P), size=n, p=np.array(ANSWER_P))
    out = []
    for i, row in enumerate(people.to_dict("records")):
        if u[i] < WITHIN_HOUR_SHARE:
            minutes = soon[i]
        elif u[i] < WITHIN_HOUR_SHARE + LATE_SHARE:
            minutes = late[i]
        else:
            continue
        out.append(
            Reply(
                str(row["resident_id"]),
                str(row["chat_user_id"]),
                pd.Timedelta(seconds=round(float(minutes) * 60)),
                core.ANSWERS[int(answer[i])][0],
            )
        )
    return sorted(out, key=lambda r: (r.after, r.resident_id))


def due(timeline: list[Reply], since: pd.Timedelta | None, until: pd.Timedelta) -> list[Reply]:
    """The replies that come after ``since`` (exclusive; None: from the start) up to ``until``."""
    return [r for r in timeline if (since is None or r.after > since) and r.after <= until]


def play(
    timeline: list[Reply],
    campaign_id: str,
    webhook_url: str,
    secret: str,
    *,
    started_at,
    since: pd.Timedelta | None = None,
    until: pd.Timedelta,
    batch: int = 5,
    session=None,
    now_ms: int | None = None,
) -> int:
    """Post the replies due in (``since``, ``until``] to the webhook, as LINE would.

    Each event's ``timestamp`` is ``started_at`` + its delay, so the safety replies carry the
    drill's times (``now_ms``: every event stamped then instead — a drill played live and
    faster than real time); up to ``batch`` events share one signed body (LINE groups events
    too).

    Returns
    -------
    How many events were delivered (a webhook answer other than 200 raises ``RuntimeError``).
    """
    start = pd.Timestamp(started_at)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    events = []
    for r in due(timeline, since, until):
        event = postback_event(
            r.user_id,
            core.postback_data(campaign_id, r.code),
            at_ms=now_ms if now_ms is not None else int((start + r.after).value // 1_000_000),
        )
        # the same answer played again is the same event (LINE's redelivery), never a second one
        event["webhookEventId"] = _event_id(campaign_id, r.resident_id)
        events.append(event)
    for i in range(0, len(events), batch):
        status = deliver(webhook_url, secret, events[i : i + batch], session=session)
        if status != 200:
            raise RuntimeError(f"the webhook answered HTTP {status}")
    return len(events)


def _event_id(campaign_id: str, resident_id: str) -> str:
    """A webhookEventId (26 characters, as LINE's ULIDs) fixed by campaign and resident."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"bosai-drill:{campaign_id}:{resident_id}").hex.upper()[
        :26
    ]


def play_live(
    store,
    send: Callable[[], object],
    webhook_url: str,
    secret: str,
    *,
    seed: int = 0,
    speed: float = 60.0,
    hours: float = 6.0,
    interval: float = 1.0,
    stop: threading.Event,
    clock: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
) -> dict:
    """Play the drill live: send what is queued (``send``: the campaign sender against the
    loopback platform), and let the residents of every safety check started from now on answer
    on their timeline, ``speed`` times faster than real time, up to ``hours`` of drill time.

    Runs until ``stop`` is set; returns ``{"campaigns": n, "replies": n}``.
    """
    begin = clock()
    timelines: dict[str, list[Reply]] = {}
    played: dict[str, pd.Timedelta | None] = {}
    out = {"campaigns": 0, "replies": 0}
    limit = pd.Timedelta(hours=hours)
    while True:
        send()
        sent = store.read("campaigns", where={"kind": core.SAFETY_CHECK, "status": core.SENT})
        for campaign in sent.to_dict("records"):
            started = campaign.get("started_at")
            if started is None or pd.isna(started) or pd.Timestamp(started) < begin:
                continue
            cid = campaign["id"]
            if cid not in timelines:
                timelines[cid] = reply_timeline(store.read("roster"), campaign, seed=seed)
                played[cid] = None
                out["campaigns"] += 1
            now = clock()
            until = min((now - pd.Timestamp(started)) * speed, limit)
            if played[cid] is not None and until <= played[cid]:
                continue
            out["replies"] += play(timelines[cid], cid, webhook_url, secret, started_at=started,
                                   since=played[cid], until=until,
                                   now_ms=int(now.value // 1_000_000))  # fmt: skip
            played[cid] = until
        if stop.wait(interval):
            return out
