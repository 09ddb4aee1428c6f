"""安否確認: who replied, who was reached by a follow-up, and who has still not been heard from.

Pure functions over the roster (名簿), safety replies and follow-ups (no streamlit here, so they
are tested with plain pytest), and the three writes of the safety page: a follow-up, the match
of an unmatched reply to a resident, and the audit row of a view or export of the personal list.

A resident is *confirmed* when a safety reply is matched to them, or when a follow-up reached
them (outcome ``reached_safe`` / ``reached_needs_help``). The non-responder list (未確認者) is
every other resident: it shrinks as replies come in and as staff reach people.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from geodata.export.common import JST, audit_export, jst_label, municipality, stamp
from geodata.export.visits import render_visit_list
from geodata.geometry import utm_crs
from geodata.schema import SAFETY_STATUSES, now_utc

ACTIONS = ("phone", "visit", "reminder")
OUTCOMES = ("reached_safe", "reached_needs_help", "no_answer", "not_home", "moved")
REACHED = ("reached_safe", "reached_needs_help")
UNKNOWN_TOWN = "町丁目不明"
NO_PRIORITY = 99  # residents without a care priority come last
# The visit list's follow-up wording (the printed list is in Japanese whatever the UI language).
_ACTION_JA = {"phone": "電話", "visit": "訪問", "reminder": "再通知"}
_OUTCOME_JA = {
    "reached_safe": "無事確認",
    "reached_needs_help": "要支援",
    "no_answer": "不通",
    "not_home": "不在",
    "moved": "転居",
}
VISIT_CSV_COLUMNS = {
    "no": "No",
    "care_priority": "優先",
    "town": "町丁目",
    "name": "氏名",
    "kana": "氏名カナ",
    "address": "住所",
    "phone": "電話番号",
    "care_needs": "支援内容",
    "supporter": "避難支援者",
    "last_follow_up": "前回対応",
    "attempts": "対応回数",
    "resident_id": "整理番号",
}


def town_names(towns: pd.DataFrame) -> dict[str, str]:
    """town_code -> name."""
    return dict(zip(towns["town_code"], towns["name"], strict=False))


def latest_replies(replies: pd.DataFrame) -> pd.DataFrame:
    """The newest reply of each matched resident (unmatched replies are left out)."""
    matched = replies[replies["resident_id"].notna()]
    order = [c for c in ("replied_at", "source", "source_id") if c in matched.columns]
    return matched.sort_values(order, kind="stable").drop_duplicates("resident_id", keep="last")


def resident_states(
    roster: pd.DataFrame, replies: pd.DataFrame, follow_ups: pd.DataFrame
) -> pd.DataFrame:
    """One row per resident: town, newest reply status, follow-up outcome, confirmed or not.

    Returns
    -------
    DataFrame with resident_id, town_code, care_priority, status (newest reply, None when no
    reply), replied_at, first_replied_at, reached (a follow-up reached them), reached_at,
    attempts (follow-ups so far), last_action, last_outcome, last_at, confirmed.
    """
    people = pd.DataFrame(roster[["resident_id", "town_code", "care_priority"]]).copy()
    people = people.reset_index(drop=True)
    ids = people["resident_id"].tolist()
    last = latest_replies(replies)
    matched = replies[replies["resident_id"].notna()]
    first = matched.groupby("resident_id")["replied_at"].min().to_dict() if len(matched) else {}
    status = dict(zip(last["resident_id"], last["status"], strict=False))
    replied_at = dict(zip(last["resident_id"], last["replied_at"], strict=False))
    people["status"] = pd.Series([status.get(r) for r in ids], index=people.index, dtype=object)
    people["replied_at"] = _times([replied_at.get(r) for r in ids])
    people["first_replied_at"] = _times([first.get(r) for r in ids])

    follow = follow_ups.sort_values("at", kind="stable")
    reached = follow[follow["outcome"].isin(REACHED)].drop_duplicates("resident_id")
    reached_at = dict(zip(reached["resident_id"], reached["at"], strict=False))
    newest = {row["resident_id"]: row for row in follow.to_dict("records")}  # the last wins
    attempts = follow["resident_id"].value_counts().to_dict()
    people["reached"] = pd.Series([r in reached_at for r in ids], index=people.index, dtype=bool)
    people["reached_at"] = _times([reached_at.get(r) for r in ids])
    people["attempts"] = pd.Series(
        [int(attempts.get(r, 0)) for r in ids], index=people.index, dtype=int
    )
    for col in ("action", "outcome"):
        people[f"last_{col}"] = pd.Series(
            [newest[r][col] if r in newest else None for r in ids], index=people.index, dtype=object
        )
    people["last_at"] = _times([newest[r]["at"] if r in newest else None for r in ids])
    people["confirmed"] = people["status"].notna() | people["reached"]
    return people


def _times(values: list) -> pd.Series:
    """UTC timestamps (NaT for None), also for an empty list."""
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[ns, UTC]")


def totals(states: pd.DataFrame) -> dict[str, int]:
    """Roster-wide counts: registered, replied, each status, reached, unconfirmed."""
    out = {
        "registered": len(states),
        "replied": int(states["status"].notna().sum()),
        "reached": int((states["reached"] & states["status"].isna()).sum()),
        "unconfirmed": int((~states["confirmed"]).sum()),
    }
    for status in SAFETY_STATUSES:
        out[status] = int((states["status"] == status).sum())
    return out


def reply_rate(replied: int, registered: int) -> float:
    """Replied share of the roster in percent (0 for an empty roster).

    Examples
    --------
    >>> reply_rate(1, 3)
    33.3
    """
    return round(100.0 * replied / registered, 1) if registered else 0.0


def town_table(states: pd.DataFrame, towns: pd.DataFrame) -> pd.DataFrame:
    """Counts per town (町丁目): the table every role may see.

    Returns
    -------
    DataFrame with town_code, town, registered, replied, 無事, 負傷, 要救助, 不明, not_replied,
    reached (not replied but reached by a follow-up), unconfirmed, reply_rate (%). Towns with
    the most unconfirmed residents first.
    """
    frame = states.assign(
        town_code=states["town_code"].astype(object).where(states["town_code"].notna(), ""),
        replied=states["status"].notna(),
        reached_only=states["reached"] & states["status"].isna(),
        unconfirmed=~states["confirmed"],
    )
    grouped = frame.groupby("town_code")
    out = pd.DataFrame(
        {
            "registered": grouped.size(),
            "replied": grouped["replied"].sum(),
        }
    )
    by_status = frame.groupby(["town_code", "status"]).size().unstack(fill_value=0)
    for status in SAFETY_STATUSES:
        out[status] = (
            by_status[status].reindex(out.index, fill_value=0) if status in by_status else 0
        )
    out["not_replied"] = out["registered"] - out["replied"]
    out["reached"] = grouped["reached_only"].sum()
    out["unconfirmed"] = grouped["unconfirmed"].sum()
    out = out.astype(int).reset_index()
    out["reply_rate"] = [
        reply_rate(r, n) for r, n in zip(out["replied"], out["registered"], strict=True)
    ]
    names = town_names(towns)
    out.insert(
        1, "town", [names.get(c, UNKNOWN_TOWN) if c else UNKNOWN_TOWN for c in out["town_code"]]
    )
    out["town_code"] = out["town_code"].replace("", None)
    out = out.sort_values(["unconfirmed", "town_code"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True)


def reply_rate_by_hour(states: pd.DataFrame, now=None) -> pd.DataFrame:
    """Cumulative share of the roster heard from, hour by hour (JST), up to ``now``.

    Returns
    -------
    DataFrame with hour (naive JST, the end of each hour), replied, confirmed (replied or
    reached), replied_pct and confirmed_pct (% of the roster). Empty when nobody replied.
    """
    registered = len(states)
    first_reply = states["first_replied_at"].dropna()
    confirmed_at = pd.concat(
        [first_reply, states.loc[states["first_replied_at"].isna(), "reached_at"].dropna()]
    )
    if not registered or confirmed_at.empty:
        return pd.DataFrame(
            columns=["hour", "replied", "confirmed", "replied_pct", "confirmed_pct"]
        )
    now = pd.Timestamp(now if now is not None else now_utc())
    now = now.tz_localize("UTC") if now.tzinfo is None else now
    end = max(now, confirmed_at.max()).tz_convert(JST)
    start = confirmed_at.min().tz_convert(JST).floor("h")
    hours = pd.date_range(start + pd.Timedelta(hours=1), end, freq="h")
    if not len(hours) or hours[-1] < end:
        hours = hours.append(pd.DatetimeIndex([end]))  # the last point is "now"
    replied = _cumulative(first_reply, hours)
    confirmed = _cumulative(confirmed_at, hours)
    return pd.DataFrame(
        {
            "hour": hours.tz_localize(None),
            "replied": replied,
            "confirmed": confirmed,
            "replied_pct": [reply_rate(v, registered) for v in replied],
            "confirmed_pct": [reply_rate(v, registered) for v in confirmed],
        }
    )


def _cumulative(times: pd.Series, hours: pd.DatetimeIndex) -> list[int]:
    values = times.sort_values().to_numpy()
    edges = hours.tz_convert("UTC").to_numpy()
    return [int(v) for v in values.searchsorted(edges, side="right")]


def non_responders(
    roster: pd.DataFrame,
    states: pd.DataFrame,
    towns: pd.DataFrame,
    town_codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The residents not yet heard from, by care priority (1 first) then town, kana.

    Parameters
    ----------
    roster, states : the roster and :func:`resident_states` of it.
    towns : the towns layer (for names).
    town_codes : only these towns (None = all; ``""`` selects residents without a town).

    Returns
    -------
    The roster's columns (no geometry) plus town (name), attempts, last_follow_up (text),
    last_outcome; the columns :func:`geodata.export.visits.render_visit_list` draws.
    """
    open_ids = states.loc[~states["confirmed"], "resident_id"]
    people = pd.DataFrame(roster[roster["resident_id"].isin(open_ids)]).drop(
        columns="geometry", errors="ignore"
    )
    if town_codes is not None:
        wanted = set(town_codes)
        codes = people["town_code"].astype(object).where(people["town_code"].notna(), "")
        people = people[codes.isin(wanted)]
    info = states.set_index("resident_id")
    ids = people["resident_id"]
    names = town_names(towns)
    actions, outcomes, ats = (
        info[c].reindex(ids.to_numpy()).tolist() for c in ("last_action", "last_outcome", "last_at")
    )
    people = people.assign(
        town=[names.get(c, UNKNOWN_TOWN) if c else UNKNOWN_TOWN for c in people["town_code"]],
        attempts=ids.map(info["attempts"]).fillna(0).astype(int),
        last_outcome=pd.Series(outcomes, index=people.index, dtype=object),
        last_follow_up=[
            follow_up_text(a, o, at) if isinstance(a, str) else ""
            for a, o, at in zip(actions, outcomes, ats, strict=True)
        ],
        _prio=people["care_priority"].astype("Float64").fillna(NO_PRIORITY),
        _town=people["town_code"].astype(object).fillna("~"),
    )
    people = people.sort_values(["_prio", "_town", "kana", "resident_id"], kind="stable")
    return people.drop(columns=["_prio", "_town"]).reset_index(drop=True)


def follow_up_text(action, outcome, at) -> str:
    """The last follow-up as the visit list prints it: ``電話 不通 20:40``.

    Examples
    --------
    >>> follow_up_text("phone", "no_answer", "2026-10-12T11:40:00Z")
    '電話 不通 20:40'
    >>> follow_up_text(None, None, None)
    ''
    """
    if not isinstance(action, str):
        return ""
    label = jst_label(at)[-5:] if at is not None and not pd.isna(at) else ""
    parts = [_ACTION_JA.get(action, action), _OUTCOME_JA.get(outcome, outcome or ""), label]
    return " ".join(p for p in parts if p)


def unmatched_replies(replies: pd.DataFrame) -> pd.DataFrame:
    """Replies not matched to a resident (resident_id null), newest first."""
    rows = replies[replies["resident_id"].isna()]
    return rows.sort_values("replied_at", ascending=False, kind="stable").reset_index(drop=True)


def match_candidates(reply: dict, roster: gpd.GeoDataFrame, limit: int | None = None) -> list[str]:
    """Resident ids to offer for an unmatched reply: nearest homes first when it has a point.

    A reply located by its message (a LINE location) is most likely from someone living near
    that point; without a point the roster comes in kana order.
    """
    point = reply.get("geometry")
    ordered = roster.sort_values(["kana", "resident_id"], kind="stable")
    if point is not None and not getattr(point, "is_empty", True) and len(ordered):
        metric = utm_crs(point.x, point.y)
        homes = gpd.GeoSeries(ordered.geometry.values, crs="EPSG:4326").to_crs(metric)
        here = gpd.GeoSeries([point], crs="EPSG:4326").to_crs(metric).iloc[0]
        dist = homes.distance(here).fillna(float("inf"))
        ordered = ordered.assign(_d=dist.values).sort_values(["_d", "kana"], kind="stable")
    ids = ordered["resident_id"].tolist()
    return ids[:limit] if limit else ids


def reply_points(roster: pd.DataFrame, replies: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """What the map shows of the replies: each resident's newest reply, and unmatched replies.

    Columns: source, source_id, resident_id, status, replied_at, channel, name (the resident's,
    personal), unmatched (bool), geometry (the reply's point: message location or home).
    """
    newest = latest_replies(replies)
    loose = replies[replies["resident_id"].isna()]
    rows = pd.concat([newest, loose]) if len(loose) else newest
    names = dict(zip(roster["resident_id"], roster["name"], strict=False))
    cols = ["source", "source_id", "resident_id", "status", "replied_at", "channel"]
    out = gpd.GeoDataFrame(rows[cols + ["geometry"]].copy(), geometry="geometry", crs="EPSG:4326")
    out["name"] = pd.Series(
        [names.get(r) for r in out["resident_id"]], index=out.index, dtype=object
    )
    out["unmatched"] = out["resident_id"].isna().to_numpy()
    return out.reset_index(drop=True)


def towns_with_counts(towns: gpd.GeoDataFrame, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """The town polygons with the counts of :func:`town_table` (0 where nobody is registered)."""
    cols = ["registered", "replied", "unconfirmed"]
    counts = table.dropna(subset=["town_code"]).set_index("town_code")[cols]
    out = towns[["town_code", "name", "geometry"]].merge(
        counts, left_on="town_code", right_index=True, how="left"
    )
    out[cols] = out[cols].fillna(0).astype(int)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=towns.crs)


def homes(roster: gpd.GeoDataFrame, people: pd.DataFrame) -> gpd.GeoDataFrame:
    """The home points of ``people`` (non-responders) with what a map tooltip shows."""
    home = dict(zip(roster["resident_id"], roster.geometry, strict=False))
    cols = ["resident_id", "name", "address", "care_needs", "care_priority", "last_follow_up"]
    return gpd.GeoDataFrame(
        people[cols].copy(),
        geometry=gpd.GeoSeries(
            [home.get(r) for r in people["resident_id"]], crs="EPSG:4326"
        ).values,
        crs="EPSG:4326",
    )


# -- writes ------------------------------------------------------------------------------------


def follow_up_frame(
    resident_id: str, action: str, outcome: str, note: str | None, by: str, at=None
) -> pd.DataFrame:
    """One follow-up record ready for ``store.upsert("follow_ups", ...)``."""
    if action not in ACTIONS:
        raise ValueError(f"unknown follow-up action {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown follow-up outcome {outcome!r}")
    return pd.DataFrame(
        [
            {
                "id": f"fu-{uuid.uuid4().hex}",
                "resident_id": str(resident_id),
                "action": action,
                "outcome": outcome,
                "note": (note or "").strip() or None,
                "by": by,
                "at": pd.Timestamp(at if at is not None else now_utc()),
            }
        ]
    )


def record_follow_up(
    store, resident_id: str, action: str, outcome: str, note: str | None, *, actor: str
) -> str:
    """Write a follow-up (audit-logged under ``actor``); returns its id."""
    if store.get("roster", str(resident_id)) is None:
        raise ValueError(f"unknown resident {resident_id!r}")
    frame = follow_up_frame(resident_id, action, outcome, note, by=actor)
    result = store.upsert("follow_ups", frame, source="dashboard:safety", actor=actor)
    if result.rejected:
        raise ValueError("the follow-up was rejected (see the rejections)")
    return str(frame.iloc[0]["id"])


def match_reply(store, key: tuple[str, str], resident_id: str, *, actor: str) -> dict:
    """Attach an unmatched reply to a resident (an audit-logged staff edit)."""
    if store.get("roster", str(resident_id)) is None:
        raise ValueError(f"unknown resident {resident_id!r}")
    return store.update(
        "safety_replies", tuple(key), {"resident_id": str(resident_id)}, actor=actor
    )


def log_list_view(store, who: str, people: pd.DataFrame, town_codes) -> None:
    """Audit that ``who`` looked at the personal non-responder list (which towns, how many)."""
    store.log_action(
        who,
        "view:non-responders",
        "roster",
        {"residents": len(people), "towns": sorted(town_codes) if town_codes else "all"},
    )


# -- the visit list: CSV and PDF ---------------------------------------------------------------


def visit_list_csv(store, people: pd.DataFrame, *, who: str, town_codes=None) -> bytes:
    """The non-responder list as CSV for Excel (UTF-8 with BOM, CRLF, Japanese headers), audited."""
    table = people.reindex(columns=list(VISIT_CSV_COLUMNS)).copy()
    table["no"] = range(1, len(table) + 1)
    table = table.rename(columns=VISIT_CSV_COLUMNS)
    data = table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    audit_export(
        store,
        who,
        "visit-list-csv",
        "roster",
        {"residents": len(people), "towns": sorted(town_codes) if town_codes else "all"},
    )
    return data


def visit_list_pdf(store, people: pd.DataFrame, *, who: str, town_codes=None) -> bytes:
    """The printable visit list (A4, one section per town) of exactly ``people``, audited.

    The same drawing as :func:`geodata.export.visits.visit_list_pdf`, but of the list on the
    screen: residents already reached by a follow-up are left out, and the town filter holds.
    """
    as_of = pd.Timestamp(now_utc())
    _, _, city = municipality(store)
    data, pages = render_visit_list(people, as_of=as_of, city_name=city)
    audit_export(
        store,
        who,
        "visit-list",
        "roster",
        {
            "residents": len(people),
            "towns": sorted(town_codes) if town_codes else "all",
            "pages": pages,
            "as_of": as_of.isoformat(),
        },
    )
    return data


def visit_list_filename(ext: str, now=None) -> str:
    """``visit-list-20261012-2100.pdf``."""
    return f"visit-list-{stamp(now)}.{ext}"
