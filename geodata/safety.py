"""安否確認: who replied, who was reached by a follow-up, who must still be visited.

Pure functions over the roster (名簿), safety replies and follow-ups (no streamlit: tested with
plain pytest; the writes of staff are in :mod:`geodata.follow_ups`). The safety page, the visit
list (page download, ``python -m ingest export visit-list``) and the situation map all count and
list with these functions, so each term below means one thing everywhere:

- *replied* (回答あり): a safety reply is matched to the resident.
- *reached* (フォローで確認): a follow-up reached them (outcome ``reached_safe`` or
  ``reached_needs_help``); counted apart from replied only for residents who did not reply.
- *confirmed*: replied or reached. Everyone else is *未確認* (unconfirmed): the one number the
  page's KPI and town table, the situation map's shading and its KPI table all show.
- *urgent* (要救助・負傷 未対応): the newest reply says 要救助 or 負傷 and no follow-up has
  reached the resident since that reply. They replied, so they are confirmed, but a team must
  still go: the residents the internal situation map names are exactly these.

The visit list (訪問リスト, :func:`visit_list`) is the urgent residents, then the unconfirmed
ones, in the order a printed list is handed out: one section of the urgent residents (要救助
before 負傷, then care priority, then the longest waiting), then one section per town; towns
under evacuation information first (highest level first, :func:`evacuation_levels`), then in
order of their most urgent resident (care priority 1 first), then larger sections first, then
town code (residents without a town last); within a town by care priority, then kana. ``no``
numbers the whole list: the numbers on the situation map are the visit list's. A resident whom
a follow-up reaches leaves the list.

``as_of`` (:func:`resident_states`): replies and follow-ups after it are ignored, so the CLI
prints the list as it stood at a meeting's time; None takes everything stored.

Over ~400 lines on purpose: the terms above, the counts and the visit list's order are one
definition each, read together; splitting them would split the terms from their rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import pandas as pd

from geodata import evacuation
from geodata.export.common import JST, jst_label
from geodata.schema import SAFETY_STATUSES, now_utc, to_utc
from geodata.vocab import FOLLOW_UP_ACTIONS, FOLLOW_UP_OUTCOMES
from geodata.vocab import SAFETY_STATUSES as STATUS_LABELS

ACTIONS = FOLLOW_UP_ACTIONS.codes
OUTCOMES = FOLLOW_UP_OUTCOMES.codes
REACHED = ("reached_safe", "reached_needs_help")
NEEDS_HELP = ("要救助", "負傷")  # in order of urgency
UNKNOWN_TOWN = "町丁目不明"
NO_PRIORITY = 99  # residents without a care priority come last
URGENT = "urgent"  # the section of the urgent residents (town sections are keyed by town code)
URGENT_TITLE = "要救助・負傷（回答あり・未対応）"


def town_names(towns: pd.DataFrame) -> dict[str, str]:
    """town_code -> name."""
    return dict(zip(towns["town_code"], towns["name"], strict=False))


def _until(frame: pd.DataFrame, column: str, as_of) -> pd.DataFrame:
    """The rows of ``frame`` at or before ``as_of`` (all of them for None)."""
    ts = to_utc(as_of)
    if ts is None or frame.empty:
        return frame
    return frame[pd.to_datetime(frame[column], utc=True) <= ts]


def latest_replies(replies: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """The newest reply of each matched resident up to ``as_of`` (unmatched ones left out)."""
    matched = _until(replies[replies["resident_id"].notna()], "replied_at", as_of)
    order = [c for c in ("replied_at", "source", "source_id") if c in matched.columns]
    return matched.sort_values(order, kind="stable").drop_duplicates("resident_id", keep="last")


def resident_states(
    roster: pd.DataFrame, replies: pd.DataFrame, follow_ups: pd.DataFrame, as_of=None
) -> pd.DataFrame:
    """One row per resident: town, newest reply, follow-ups, confirmed, urgent (see the terms).

    Parameters
    ----------
    roster, replies, follow_ups : the stored layers (or frames with their columns).
    as_of : replies and follow-ups after this time are ignored (None: every row).

    Returns
    -------
    DataFrame with resident_id, town_code, care_priority, status (newest reply, None when no
    reply), replied_at, first_replied_at, reached (a follow-up reached them), reached_at (the
    first time), attempts (follow-ups so far), last_action, last_outcome, last_at, confirmed,
    urgent (newest reply 要救助/負傷, not reached since), to_visit (urgent or not confirmed).
    """
    people = pd.DataFrame(roster[["resident_id", "town_code", "care_priority"]]).copy()
    people = people.reset_index(drop=True)
    ids = people["resident_id"]
    # Column by column: each fact is a Series indexed by resident id, taken for the roster's
    # ids at once (a loop over a 20,000-resident roster took ~0.3 s per city).
    matched = _until(replies[replies["resident_id"].notna()], "replied_at", as_of)
    last = latest_replies(matched).set_index("resident_id")
    of_last = _taker(last.index, ids)
    people["status"] = _objects(of_last(last["status"]))
    people["replied_at"] = _times(of_last(last["replied_at"]))
    first = matched.groupby("resident_id")["replied_at"].min()
    people["first_replied_at"] = _times(_taker(first.index, ids)(first))

    follow = _until(follow_ups, "at", as_of).sort_values("at", kind="stable")
    follow = follow[follow["resident_id"].notna()]
    reaching = follow[follow["outcome"].isin(REACHED)]
    reached_at = reaching.drop_duplicates("resident_id", keep="last").set_index("resident_id")
    first_reach = reaching.drop_duplicates("resident_id").set_index("resident_id")  # the chart
    newest = follow.drop_duplicates("resident_id", keep="last").set_index("resident_id")
    of_newest = _taker(newest.index, ids)  # the same residents as the attempts' counts
    attempts = follow["resident_id"].value_counts().reindex(newest.index).astype("Int64")
    people["reached"] = ids.isin(reached_at.index).astype(bool)
    people["reached_at"] = _times(_taker(first_reach.index, ids)(first_reach["at"]))
    people["attempts"] = of_newest(attempts).fillna(0).astype(int)
    for col in ("action", "outcome"):
        people[f"last_{col}"] = _objects(of_newest(newest[col]))
    people["last_at"] = _times(of_newest(newest["at"]))
    people["confirmed"] = people["status"].notna() | people["reached"]
    reached_since = _times(_taker(reached_at.index, ids)(reached_at["at"])) >= people["replied_at"]
    people["urgent"] = people["status"].isin(NEEDS_HELP) & ~reached_since
    people["to_visit"] = people["urgent"] | ~people["confirmed"]
    return people


def _taker(index: pd.Index, ids: pd.Series):
    """A function giving a Series indexed by ``index`` (resident ids, each once) for each of
    ``ids`` (missing: NA of its type), indexed as ``ids``: the positions are found once."""
    at = index.get_indexer(ids)

    def take(values: pd.Series) -> pd.Series:
        return pd.Series(values.array.take(at, allow_fill=True), index=ids.index)

    return take


def _objects(values: pd.Series) -> pd.Series:
    """``values`` as objects, None for a missing one."""
    values = values.astype(object)
    return values.where(values.notna(), None)


def _times(values) -> pd.Series:
    """UTC timestamps (NaT for None), also for an empty list; a Series keeps its index."""
    index = values.index if isinstance(values, pd.Series) else None
    times = pd.to_datetime(values, utc=True)
    return pd.Series(times, index=index, dtype="datetime64[ns, UTC]")


def totals(states: pd.DataFrame) -> dict[str, int]:
    """Roster-wide counts: registered, replied, each status, reached, unconfirmed, urgent.

    ``replied + reached + unconfirmed == registered``.
    """
    out = {
        "registered": len(states),
        "replied": int(states["status"].notna().sum()),
        "reached": int((states["reached"] & states["status"].isna()).sum()),
        "unconfirmed": int((~states["confirmed"]).sum()),
        "urgent": int(states["urgent"].sum()),
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


def visit_list(
    roster: pd.DataFrame,
    states: pd.DataFrame,
    towns: pd.DataFrame,
    town_codes: Iterable[str] | None = None,
    first_towns: Mapping[str, int] | None = None,
    lang: str = "ja",
) -> pd.DataFrame:
    """The visit list (訪問リスト): urgent residents, then the unconfirmed ones town by town.

    The one list the safety page shows, the CSV and PDF print and the situation map numbers;
    the order and the sections are described in the module docstring.

    Parameters
    ----------
    roster, states : the roster and :func:`resident_states` of it (at the time wanted).
    towns : the towns layer (for names).
    town_codes : only residents living in these towns (None = all; ``""`` selects residents
        without a town). The numbers stay those of the whole list.
    first_towns : town code -> level of the evacuation information in force there
        (:func:`evacuation_levels`): those towns' sections come first, the highest level first —
        the roll-call starts where the HQ has told people to evacuate.
    lang : the language of the ``reply`` and ``last_follow_up`` texts (the page's; printed lists
        are in Japanese, the default).

    Returns
    -------
    The roster's columns (no geometry) plus no (1.. over the whole list), section (``URGENT`` or
    the town code, ``""`` without one), section_title (what the printed section is headed),
    town (name), status and replied_at (the newest reply), reply (``要救助 19:40`` for the urgent),
    attempts, last_outcome, last_follow_up (``電話 不通 20:40``).
    """
    info = states.set_index("resident_id")
    todo = info[info["to_visit"].to_numpy(dtype=bool)]
    people = pd.DataFrame(roster[roster["resident_id"].isin(todo.index)])
    people = people.drop(columns="geometry", errors="ignore")
    row = todo.reindex(people["resident_id"].to_numpy()).set_axis(people.index)
    urgent = row["urgent"].to_numpy(dtype=bool)
    status = row["status"].astype(object).where(urgent, None)
    codes = people["town_code"].astype(object).where(people["town_code"].notna(), "").tolist()
    names = town_names(towns)
    town = [names.get(c, UNKNOWN_TOWN) if c else UNKNOWN_TOWN for c in codes]
    people = people.assign(
        section=[URGENT if u else c for u, c in zip(urgent, codes, strict=True)],
        section_title=[URGENT_TITLE if u else t for u, t in zip(urgent, town, strict=True)],
        town=town,
        status=status,
        replied_at=row["replied_at"],
        reply=[reply_text(s, r, lang) for s, r in zip(status, row["replied_at"], strict=True)],
        attempts=row["attempts"].fillna(0).astype(int),
        last_outcome=row["last_outcome"],
        last_follow_up=[
            follow_up_text(a, o, t, lang)
            for a, o, t in zip(row["last_action"], row["last_outcome"], row["last_at"], strict=True)
        ],
    )
    people = pd.concat(
        [_urgent_order(people[urgent]), _town_order(people[~urgent], first_towns or {})]
    )
    people.insert(0, "no", range(1, len(people) + 1))
    if town_codes is not None:
        people = people[people["town_code"].astype(object).fillna("").isin(set(town_codes))]
    return people.reset_index(drop=True)


def _urgent_order(people: pd.DataFrame) -> pd.DataFrame:
    """要救助 before 負傷, then care priority, then the longest waiting (oldest reply) first."""
    keys = people.assign(
        _rank=people["status"].map({s: i for i, s in enumerate(NEEDS_HELP)}),
        _prio=people["care_priority"].astype("Float64").fillna(NO_PRIORITY),
    )
    order = ["_rank", "_prio", "replied_at", "kana", "resident_id"]
    return keys.sort_values(order, kind="stable").drop(columns=["_rank", "_prio"])


def _town_order(people: pd.DataFrame, first_towns: Mapping[str, int]) -> pd.DataFrame:
    """Towns under evacuation information first (highest level first), then by their most
    urgent resident, then larger first, then code; priority within."""
    prio = people["care_priority"].astype("Float64").fillna(NO_PRIORITY)
    town = people["section"].replace("", "~")  # residents without a town last
    keys = people.assign(
        _evac=[-int(first_towns.get(c, 0) or 0) for c in people["section"]],
        _prio=prio,
        _first=prio.groupby(town).transform("min"),
        _size=-town.groupby(town).transform("size"),
        _town=town,
    )
    order = ["_evac", "_first", "_size", "_town", "_prio", "kana", "resident_id"]
    return keys.sort_values(order, kind="stable").drop(
        columns=["_evac", "_prio", "_first", "_size", "_town"]
    )


def evacuation_levels(store, as_of=None) -> dict[str, int]:
    """town code -> the level of evacuation information in force at ``as_of`` (None: now)."""
    found = evacuation.in_force(store, as_of)
    return {str(c): int(lvl) for c, lvl in zip(found["town_code"], found["level"], strict=True)}


def sections(people: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The sections of a :func:`visit_list` in order: (title, rows) for each run of one section."""
    if people.empty:
        return []
    run = (people["section"] != people["section"].shift()).cumsum()
    return [(rows["section_title"].iloc[0], rows) for _, rows in people.groupby(run, sort=False)]


def read_visit_list(store, *, as_of=None, town_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`visit_list` of the stored roster, replies and follow-ups as they were at ``as_of``."""
    roster = store.read("roster")
    states = resident_states(
        roster, store.read("safety_replies"), store.read("follow_ups"), as_of=as_of
    )
    towns = store.read("towns", columns=["town_code", "name"])
    return visit_list(
        roster, states, towns, town_codes, first_towns=evacuation_levels(store, as_of)
    )


def follow_up_text(action, outcome, at, lang: str = "ja") -> str:
    """The last follow-up as the lists print it (wording of :mod:`geodata.vocab`, in ``lang``).

    Examples
    --------
    >>> follow_up_text("phone", "no_answer", "2026-10-12T11:40:00Z")
    '電話 不通 20:40'
    >>> follow_up_text("visit", "moved", "2026-10-12T11:40:00Z")
    '訪問 転居 20:40'
    >>> follow_up_text("visit", "not_home", "2026-10-12T11:40:00Z", lang="en")
    'Visit Not home 20:40'
    >>> follow_up_text(None, None, None)
    ''
    """
    if not isinstance(action, str):
        return ""
    label = jst_label(at)[-5:] if at is not None and not pd.isna(at) else ""
    parts = [
        FOLLOW_UP_ACTIONS.label(action, lang),
        FOLLOW_UP_OUTCOMES.label(outcome, lang),
        label,
    ]
    return " ".join(p for p in parts if p)


def reply_text(status, replied_at, lang: str = "ja") -> str:
    """A reply as the lists print it: ``要救助 19:40`` (the status in ``lang``).

    Examples
    --------
    >>> reply_text("負傷", "2026-10-12T11:10:00Z")
    '負傷 20:10'
    >>> reply_text("要救助", "2026-10-12T11:10:00Z", lang="en")
    'Needs rescue 20:10'
    """
    if not isinstance(status, str):
        return ""
    label = jst_label(replied_at)[-5:] if replied_at is not None and not pd.isna(replied_at) else ""
    return " ".join(p for p in (STATUS_LABELS.label(status, lang), label) if p)


def located(
    people: pd.DataFrame, roster: gpd.GeoDataFrame, replies: gpd.GeoDataFrame, as_of=None
) -> gpd.GeoDataFrame:
    """``people`` with a point: where their newest reply (up to ``as_of``) was sent from, else
    their home — where a team would look for someone who asked for help."""
    sent = latest_replies(replies, as_of)
    sent = sent[sent.geometry.notna() & ~sent.geometry.is_empty]
    where = dict(zip(sent["resident_id"], sent.geometry, strict=False))
    home = dict(zip(roster["resident_id"], roster.geometry, strict=False))
    points = [where.get(r, home.get(r)) for r in people["resident_id"]]
    return gpd.GeoDataFrame(
        people.drop(columns="geometry", errors="ignore").reset_index(drop=True),
        geometry=gpd.GeoSeries(points, crs="EPSG:4326"),
        crs="EPSG:4326",
    )


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
