"""避難情報 to the residents: when the HQ issues, changes or lifts evacuation information, it
can send it through the city's LINE account — after a preview and a confirmation.

One record of evacuation information (:mod:`geodata.evacuation`: an issue, an update or a lift,
identified by ``order_id`` and ``version``) becomes at most two campaigns (kinds in
:data:`geodata.vocab.CAMPAIGN_KINDS`), sent by ``python -m ingest campaigns`` like a safety
check (ingest/outbound/campaigns.py):

- ``evacuation_notice`` (id ``n-<order>-<version>``): the text, multicast to every roster
  resident of the towns with a LINE user id (the same client, retry keys and delivery log as a
  safety check, so each gets it exactly once); residents of the towns without LINE are put on
  the phone list at once, as for a safety check, and get an SMS when a gateway is configured;
- ``evacuation_broadcast`` (id ``b-<order>-<version>``, when chosen): the same text, broadcast
  once to every friend of the account (``POST /v2/bot/message/broadcast``, one retry key).
  Roster residents who are friends get both: the multicast is the per-resident record.

The ids make a record's notice exactly once: a second :func:`create_notice` for the same record
is refused (two commanders clicking at once write the same rows).

The text (:func:`notice_text`) names the level, the hazard, the towns and the shelters open now
that suit the hazard (:func:`open_shelters`: open as :mod:`geodata.shelters` says, suited as
:func:`geodata.guidance.suits` says), with how full each is — never a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geodata import campaigns, chronology, evacuation, shelters, vocab
from geodata.access.roles import User, check
from geodata.guidance import fullness, suits
from geodata.schema import now_utc, to_utc

EVACUATION_NOTICE, EVACUATION_BROADCAST = "evacuation_notice", "evacuation_broadcast"
TEXT_MAX = 5000  # characters of a LINE text message
TOWNS_MAX = 30  # towns named in the text; more are counted
SHELTERS_MAX = 10  # shelters named in the text; more are counted
PENDING_HOURS = 24  # records this recent are offered for sending
# What each level asks of the residents (内閣府「避難情報に関するガイドライン」2021).
CALLS = {
    3: "危険な場所から高齢者等は避難してください。",
    4: "危険な場所から全員避難してください。",
    5: "命の危険があります。直ちに身の安全を確保してください。",
}
_JST = "Asia/Tokyo"


class NoticeError(ValueError):
    """A notice that cannot be sent (already sent, nobody to send it to …)."""


@dataclass(frozen=True)
class Preview:
    """What the page shows before the confirmation."""

    text: str
    recipients: int  # roster residents of the towns with LINE (multicast)
    without_line: int  # roster residents of the towns without LINE (phone list)
    towns: int
    shelters: int  # open shelters named (or counted) in the text


def notice_ids(record: dict) -> tuple[str, str]:
    """The campaign ids of a record's notice and broadcast.

    Examples
    --------
    >>> notice_ids({"order_id": "evac-flood-1", "version": 2})
    ('n-evac-flood-1-2', 'b-evac-flood-1-2')
    """
    tail = f"{record['order_id']}-{int(record['version'])}"
    return f"n-{tail}", f"b-{tail}"


def open_shelters(store, hazard: str | None) -> pd.DataFrame:
    """The shelters open now that suit ``hazard``: shelter_id, name, status, fullness (words
    of :func:`geodata.guidance.fullness`); those with most room first, full ones last."""
    status = shelters.status_at(store)
    if status.empty:
        return pd.DataFrame(columns=["shelter_id", "name", "status", "fullness"])
    mask = status["status"].map(shelters.is_open).astype(bool)
    mask &= pd.Series([suits(h, hazard) for h in status["hazards"]], index=status.index)
    rows = pd.DataFrame(status[mask]).drop(columns="geometry", errors="ignore")
    rows["occupancy_class"] = [
        shelters.occupancy_class(shelters.occupancy_rate(e, c))
        for e, c in zip(rows["evacuees"], rows["capacity"], strict=True)
    ]
    rows["fullness"] = [fullness(r) for r in rows.to_dict("records")]
    # room first: by occupancy class (unknown after the known ones), full ones last
    rows["_full"] = rows["status"] == shelters.FULL
    rows["_class"] = pd.to_numeric(rows["occupancy_class"], errors="coerce").fillna(4)
    rows = rows.sort_values(["_full", "_class", "name", "shelter_id"], kind="stable")
    return rows[["shelter_id", "name", "status", "fullness"]].reset_index(drop=True)


def _town_codes(record: dict) -> list[str]:
    """The record's towns for the roster ([] = every town, for the whole city)."""
    return [] if record.get("whole_city") else sorted(record.get("towns") or [])


def _listed(names: list[str], most: int, unit: str) -> str:
    shown = "、".join(names[:most])
    return shown + (f" ほか{len(names) - most}{unit}" if len(names) > most else "")


def notice_text(store, record: dict, *, city: str) -> str:
    """The message: level, hazard, towns, what to do, and the shelters open for the hazard.

    Parameters
    ----------
    store : the store.
    record : a record of :mod:`geodata.evacuation` (issue, update or lift).
    city : the municipality's name (調布市).
    """
    level = int(record["level"])
    hazard = vocab.HAZARDS.label(record["hazard"])
    title = evacuation.level_title(level)
    when = to_utc(record["at"]).tz_convert(_JST)
    stamp = f"{when.month}月{when.day}日 {when:%H:%M}"
    towns = store.read("towns", columns=["town_code", "name"])
    names = dict(zip(towns["town_code"], towns["name"], strict=False))
    if record.get("whole_city"):
        area = f"{city}全域"
    else:
        codes = sorted(record.get("towns") or [])
        area = _listed([names.get(c, c) for c in codes], TOWNS_MAX, "町丁目")
        area += f"（{len(codes)}町丁目）"
    lifted = record.get("action") == "lift"
    if lifted:
        head = f"【解除】{title}（{hazard}）"
        body = f"{city}災害対策本部です。{stamp}、次の地域の{evacuation.level_label(level)}を解除しました。"
    else:
        head = f"{title}（{hazard}）"
        verb = "に変更しました" if record.get("action") == "update" else "を発令しました"
        body = f"{city}災害対策本部です。{stamp}、次の地域に{evacuation.level_label(level)}{verb}。"
    lines = [head, body, f"対象地域：{area}"]
    if record.get("reason"):
        lines.append(f"理由：{record['reason']}")
    if not lifted:
        lines.append(CALLS[level])
    open_now = open_shelters(store, record["hazard"])
    if len(open_now):
        lines.append(f"開設中の避難所（{hazard}に対応）：")
        lines += [f"・{r['name']}（{r['fullness']}）" for r in open_now.head(SHELTERS_MAX).to_dict("records")]  # fmt: skip
        if len(open_now) > SHELTERS_MAX:
            lines.append(f"ほか{len(open_now) - SHELTERS_MAX}か所")
        lines.append("「避難所」と送ると、近くの開設中の避難所をお知らせします。")
    elif not lifted:
        lines.append("開設中の避難所はまだありません。近くの安全な場所へ移動してください。")
    return "\n".join(lines)[:TEXT_MAX]


def preview(store, record: dict, *, city: str) -> Preview:
    """The text and the numbers of a notice before it is confirmed."""
    people = campaigns.targets(store.read("roster"), _town_codes(record))
    line = int(campaigns.has_line(people).sum()) if len(people) else 0
    text = notice_text(store, record, city=city)
    return Preview(
        text=text,
        recipients=line,
        without_line=len(people) - line,
        towns=len(record.get("towns") or []),
        shelters=len(open_shelters(store, record["hazard"])),
    )


def create_notice(
    store, record: dict, *, user: User | None, city: str, broadcast: bool = True
) -> list[str]:
    """Queue the notice of one record (and its broadcast); returns the campaign ids.

    Parameters
    ----------
    store : the store.
    record : a record of :mod:`geodata.evacuation` (from :func:`pending`).
    user : who confirmed it (audit-logged as the campaigns' creator).
    city : the municipality's name, for the text.
    broadcast : also broadcast it to every friend of the account.

    The text is made again here, from the shelters' status at the confirmation.

    Raises
    ------
    Forbidden : the user may not issue evacuation information (commander, admin).
    NoticeError : this record's notice was queued already, or nobody would get it.
    """
    check(user, "overview", "issue_evacuation")
    notice_id, broadcast_id = notice_ids(record)
    if any(store.get("campaigns", i) is not None for i in (notice_id, broadcast_id)):
        raise NoticeError(
            f"the notice of {record['order_id']} #{record['version']} was sent already"
        )
    text = notice_text(store, record, city=city)
    ids = []
    people = campaigns.targets(store.read("roster"), _town_codes(record))
    if len(people):
        ids.append(
            campaigns.create_campaign(
                store, towns=_town_codes(record), question=text, actor=user.username,
                campaign_id=notice_id, kind=EVACUATION_NOTICE,
            )
        )  # fmt: skip
    elif not broadcast:
        raise NoticeError("no registered resident lives in these towns and no broadcast chosen")
    if broadcast:
        row = {
            "id": broadcast_id,
            "kind": EVACUATION_BROADCAST,
            "question": text,
            "towns": _town_codes(record),
            "status": campaigns.QUEUED,
            "created_by": user.username,
            "created_at": pd.Timestamp(now_utc()),
            "reminders_max": 0,
            "recipients": 0,
            "without_line": 0,
        }
        with store.transaction():
            store.upsert("campaigns", pd.DataFrame([row]), source="dashboard:evacuation",
                         actor=user.username)  # fmt: skip
            chronology.record_event(
                store, "campaign_started", f"{vocab.CAMPAIGN_KINDS.label(EVACUATION_BROADCAST)} 開始",
                {"campaign": [broadcast_id]}, key=f"campaign:{broadcast_id}:started",
                at=row["created_at"],
            )  # fmt: skip
        ids.append(broadcast_id)
    return ids


def pending(store, now=None) -> list[dict]:
    """The records of the last :data:`PENDING_HOURS` hours that have no notice yet, newest
    first: the newest record of each order (an issue already changed is not offered)."""
    now = to_utc(now) if now is not None else pd.Timestamp(now_utc())
    frame = store.read("evacuations")
    if frame.empty:
        return []
    newest = frame.sort_values(["order_id", "version"]).groupby("order_id").tail(1)
    recent = newest[newest["at"] >= now - pd.Timedelta(hours=PENDING_HOURS)]
    sent = set(store.read("campaigns", columns=["id"])["id"])
    out = [r for r in recent.to_dict("records") if notice_ids(r)[0] not in sent
           and notice_ids(r)[1] not in sent]  # fmt: skip
    return sorted(out, key=lambda r: r["at"], reverse=True)
