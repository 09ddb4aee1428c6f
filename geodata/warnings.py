"""Official warnings (気象庁防災情報XML): what is in force, for which towns, and when it changed.

Every HQ question about warnings is answered here from the ``warnings`` layer (one row per
message received, ``items`` = what it states for the municipality's areas and rivers; written
by ingest/sources/jma.py). The rules, as JMA's messages work:

* A message belongs to a **stream** (its ``stream``: message type, office, EventID). Each message
  states the whole situation of its areas, so the newest message of a stream replaces the
  earlier ones: a kind it no longer lists for an area is no longer in force.
* A 取消 (``info_type``) withdraws its stream's last message: the one before applies again. A
  訂正 replaces like a new message.
* Messages count in the order of their report time (``Head/ReportDateTime``); with
  ``basis="received"`` in the order they were received — what the HQ knew at a time (audit).
* Only ``Control/Status`` 通常 counts: 訓練 / 試験 messages are kept, never in force.
* An item is in force when its status is issued or continued. 記録的短時間大雨情報 is never
  lifted: it counts for :data:`RECORD_RAIN_MINUTES` after its report.
* One kind for one area from two streams (VPWW54's 大雨警報 and VPWW55's レベル３大雨警報 during
  the transition to the 2026 messages) is one warning, in force while any stream says so.

Towns: a warning for an area (二次細分区域, 市町村等, 一次細分区域) concerns every town of its
municipality; a designated-river flood forecast concerns the municipality's towns that intersect
the flood-hazard areas of that river (every flood-hazard area when none names a river, as in
国土数値情報 A31, whose polygons carry no river name).

Examples
--------
>>> in_force(store)                          # doctest: +SKIP
>>> towns_in_force(store, hazard="river_flood", min_level=4)["town_code"].tolist()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import vocab
from geodata.schema import now_utc, to_utc

ACTIVE = ("issued", "continued")
RECORD_RAIN_MINUTES = 60
STALE_MINUTES = 10  # a feed not read successfully for this long is shown as stale
# Messages sent until 2028 beside the 2026 ones (VPWW54): their names are the old ones, so a
# warning both state is labelled by the new message.
TRANSITIONAL = "気象警報・注意報（Ｈ２７）"
MESSAGE_COLUMNS = [
    "received_at", "report_at", "stream", "info_type", "control_status", "items", "error",
    "title", "type_code",
]  # fmt: skip
IN_FORCE_COLUMNS = [
    "kind", "hazard", "level", "label", "status", "area_code", "area_name", "river",
    "city_code", "issued_at", "updated_at", "message_ids", "towns",
]  # fmt: skip
TIMELINE_COLUMNS = [
    "at", "event", "kind", "hazard", "level", "label", "area_code", "area_name", "river",
    "city_code", "message_id",
]  # fmt: skip


@dataclass
class _Message:
    message_id: str
    at: pd.Timestamp
    received_at: pd.Timestamp
    stream: str
    withdraws: bool
    items: list[dict] = field(default_factory=list)


def _messages(frame: pd.DataFrame, basis: str, exercises: bool) -> list[_Message]:
    if basis not in ("report", "received"):
        raise ValueError(f"basis must be 'report' or 'received', got {basis!r}")
    out = []
    for row in frame.itertuples(index=False):
        if isinstance(row.error, str) or pd.isna(row.report_at) or pd.isna(row.received_at):
            continue
        if row.control_status != "通常" and not exercises:
            continue
        at = row.report_at if basis == "report" else row.received_at
        items = row.items if isinstance(row.items, list) else []
        out.append(
            _Message(
                message_id=row.message_id,
                at=pd.Timestamp(at),
                received_at=pd.Timestamp(row.received_at),
                stream=row.stream or row.message_id,
                withdraws=row.info_type == "取消",
                items=[i for i in items if isinstance(i, dict)],
            )
        )
    out.sort(key=lambda m: (m.at, m.received_at, m.message_id))
    return out


def _key(item: dict) -> tuple:
    return (item["kind"], item.get("area_code") or "", item.get("river") or "")


def _replay(messages: list[_Message], until: pd.Timestamp | None):
    """(time, applied messages, {key: [(message, item), ...]}) after each change in time order."""
    rain = pd.Timedelta(minutes=RECORD_RAIN_MINUTES)
    times = _change_times(messages)
    stacks: dict[str, list[_Message]] = {}
    pending = list(messages)
    pos = 0
    for t in sorted(times):
        if until is not None and t > until:
            break
        applied = []
        while pos < len(pending) and pending[pos].at <= t:
            msg = pending[pos]
            stack = stacks.setdefault(msg.stream, [])
            if msg.withdraws:
                if stack:
                    stack.pop()
            else:
                stack.append(msg)
            applied.append(msg)
            pos += 1
        state: dict[tuple, list] = {}
        for stack in stacks.values():
            if not stack:
                continue
            msg = stack[-1]
            for item in msg.items:
                if item.get("status") not in ACTIVE or not item.get("kind"):
                    continue
                if item["kind"] == "record_rain" and t >= msg.at + rain:
                    continue
                state.setdefault(_key(item), []).append((msg, item))
        yield t, applied, state


def _change_times(messages: list[_Message]) -> set[pd.Timestamp]:
    """The times at which what is in force can change: each message's time, and the end of
    the hour of a 記録的短時間大雨情報."""
    rain = pd.Timedelta(minutes=RECORD_RAIN_MINUTES)
    times = {m.at for m in messages}
    times |= {m.at + rain for m in messages if any(i.get("kind") == "record_rain" for i in m.items)}
    return times


def changes_after(store, at, *, basis: str = "report", exercises: bool = False) -> list:
    """The times after ``at`` at which :func:`in_force` (same ``basis`` and ``exercises``)
    can give another answer without a write: a message dated later (a drill's, a clock
    ahead) or a 記録的短時間大雨情報 ending its hour. Sorted; empty when nothing is due."""
    at = to_utc(at)
    messages = _messages(_read(store), basis, exercises)
    return sorted(t for t in _change_times(messages) if t > at)


def _read(store, columns=MESSAGE_COLUMNS) -> pd.DataFrame:
    return store.read("warnings", columns=columns)


def _newest(backing) -> tuple:
    """The backing (message, item) to show: the newest; at a tie, not the transitional one."""
    return max(
        backing,
        key=lambda b: (b[0].at, not b[0].stream.startswith(TRANSITIONAL), b[0].received_at),
    )


def _entry(key, backing, since) -> dict:
    msg, item = _newest(backing)
    kind = key[0]
    return {
        "kind": kind,
        "hazard": vocab.WARNING_KIND_HAZARD.get(kind, "other"),
        "level": vocab.WARNING_KIND_LEVEL.get(kind),
        "label": item.get("jma_name") or vocab.WARNING_KINDS.label(kind),
        "status": item.get("status"),
        "area_code": item.get("area_code"),
        "area_name": item.get("area_name"),
        "river": item.get("river"),
        "city_code": item.get("city_code"),
        "issued_at": since,
        "updated_at": msg.at,
        "message_ids": sorted({b[0].message_id for b in backing}),
    }


def in_force(
    store,
    at=None,
    *,
    basis: str = "report",
    exercises: bool = False,
    towns: pd.DataFrame | None = None,
    hazard_areas: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The warnings in force at ``at`` (default now), with the towns they concern.

    Parameters
    ----------
    store : the store.
    at : a time (naive = JST); None: now.
    basis : ``"report"`` (the messages' report times) or ``"received"`` (when they arrived).
    exercises : count 訓練 / 試験 messages too.
    towns, hazard_areas : the layers to map areas to towns (read from ``store`` when None).

    Returns
    -------
    DataFrame, one row per warning (kind, area or river), highest level first, with
    :data:`IN_FORCE_COLUMNS`: ``hazard`` and ``level`` (警戒レベル相当, None for kinds without
    one), ``label`` (the name JMA gave it), ``issued_at`` (since when it has been in force without
    a break), ``updated_at`` (the newest message saying so), ``message_ids`` and ``towns`` (town
    codes, sorted).
    """
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    messages = _messages(_read(store), basis, exercises)
    since: dict[tuple, pd.Timestamp] = {}
    state: dict[tuple, list] = {}
    for t, _applied, state in _replay(messages, at):
        since = {k: since.get(k, t) for k in state}
    rows = [_entry(k, backing, since[k]) for k, backing in state.items()]
    frame = pd.DataFrame(rows, columns=IN_FORCE_COLUMNS[:-1])
    frame["level"] = frame["level"].astype("Int64")
    frame["towns"] = _towns_of(store, frame, towns, hazard_areas)
    order = frame["level"].fillna(0).astype(int)
    return (
        frame.assign(_o=-order)
        .sort_values(["_o", "issued_at", "kind", "area_code"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def timeline(
    store, *, since=None, until=None, basis: str = "report", exercises: bool = False
) -> pd.DataFrame:
    """Every change of what is in force: a warning issued, lifted, or expired.

    Parameters
    ----------
    store : the store.
    since, until : the window of the changes (naive = JST); None: from the first message, to
        now.
    basis, exercises : as in :func:`in_force`.

    Returns
    -------
    DataFrame with :data:`TIMELINE_COLUMNS`, in time order: ``event`` is ``issued`` (the kind
    comes into force for the area: an upgrade is the new kind issued and the old one lifted),
    ``lifted`` or ``expired`` (記録的短時間大雨情報 after its hour); ``message_id`` is the message
    that made the change.
    """
    until = to_utc(until) if until is not None else pd.Timestamp(now_utc())
    since = to_utc(since) if since is not None else None
    messages = _messages(_read(store), basis, exercises)
    rows = []
    before: dict[tuple, list] = {}
    for t, applied, state in _replay(messages, until):
        for key in state.keys() - before.keys():
            rows.append(_event(t, "issued", key, state[key], None))
        for key in before.keys() - state.keys():
            streams = {m.stream for m, _ in before[key]}
            cause = next((m for m in applied if m.stream in streams), None)
            rows.append(_event(t, "lifted" if cause else "expired", key, before[key], cause))
        before = state
    frame = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    frame["level"] = frame["level"].astype("Int64")
    if since is not None:
        frame = frame[frame["at"] >= since]
    levels = frame["level"].fillna(0).astype(int)
    rank = frame["event"].map({"issued": 0, "lifted": 1, "expired": 1})
    return (
        frame.assign(_r=rank, _l=-levels)
        .sort_values(["at", "_r", "_l", "kind", "area_code"], kind="stable")
        .drop(columns=["_r", "_l"])
        .reset_index(drop=True)
    )


def _event(t, event, key, backing, cause) -> dict:
    entry = _entry(key, backing, t)
    msg = cause or _newest(backing)[0]
    return {
        "at": t,
        "event": event,
        **{c: entry[c] for c in TIMELINE_COLUMNS if c in entry and c not in ("at", "event")},
        "message_id": msg.message_id,
    }


def towns_in_force(
    store, at=None, *, hazard: str | None = None, min_level: int | None = None, **kwargs
) -> pd.DataFrame:
    """Per town and hazard, the highest warning in force at ``at``.

    Parameters
    ----------
    store, at : as in :func:`in_force` (``kwargs`` are passed to it).
    hazard : only this hazard (a code of :data:`geodata.vocab.WARNING_HAZARDS`).
    min_level : only warnings of at least this 警戒レベル相当 (kinds without a level are left out).

    Returns
    -------
    DataFrame with town_code, hazard, level, kind, label, issued_at; one row per (town, hazard).
    """
    found = in_force(store, at, **kwargs)
    if hazard is not None:
        found = found[found["hazard"] == hazard]
    if min_level is not None:
        found = found[found["level"].notna() & (found["level"].fillna(0) >= min_level)]
    columns = ["town_code", "hazard", "level", "kind", "label", "issued_at"]
    if found.empty:
        return pd.DataFrame(columns=columns)
    rows = found.explode("towns").dropna(subset=["towns"]).rename(columns={"towns": "town_code"})
    rows = rows.assign(_l=rows["level"].fillna(0)).sort_values(["_l", "issued_at"],
                                                              ascending=[False, True])  # fmt: skip
    best = rows.drop_duplicates(["town_code", "hazard"])[columns]
    return best.sort_values(["town_code", "hazard"]).reset_index(drop=True)


def _towns_of(store, frame, towns, hazard_areas) -> list[list[str]]:
    """The town codes each warning of ``frame`` concerns (see the module docstring)."""
    if frame.empty:
        return []
    if towns is None:
        towns = store.read("towns", columns=["town_code", "city_code", "geometry"])
    codes = towns["town_code"].astype(str)
    flood = None
    out = []
    for row in frame.itertuples(index=False):
        city = str(row.city_code or "")
        mine = towns[codes.str.startswith(city)] if city else towns.iloc[0:0]
        if row.hazard == "river_flood" and len(mine):
            if flood is None:
                if hazard_areas is None:
                    hazard_areas = store.read("hazard_areas", where={"kind": "flood"})
                flood = hazard_areas[hazard_areas["kind"] == "flood"]
            mine = mine[_inside(mine, _river_areas(flood, row.river))]
        out.append(sorted(set(mine["town_code"].astype(str))))
    return out


def _river_areas(flood: pd.DataFrame, river: str | None):
    named = flood["river"].notna() if "river" in flood else pd.Series(False, index=flood.index)
    if river and named.any():
        return flood[flood["river"] == river]
    return flood


def _inside(towns: gpd.GeoDataFrame, areas) -> np.ndarray:
    """Whether each town shares some area with ``areas`` (a common edge is not enough)."""
    if not len(areas):
        return np.zeros(len(towns), dtype=bool)
    union = shapely.union_all(areas.geometry.values)
    return shapely.area(shapely.intersection(towns.geometry.values, union)) > 0


def feed_status(store, now=None, *, kind: str = "warnings") -> list[dict]:
    """How fresh the official warnings are, per source: the HQ must see when the feed is down.

    Parameters
    ----------
    store : the store.
    now : the time to measure age against (default now).
    kind : the sources' kind in source_health (``warnings``; ``river_level`` for water levels).

    Returns
    -------
    One dict per source: source, ok (the last run succeeded), last_success_at, last_error,
    last_error_at, newest_record_at (the newest message / observation stored), age (time since
    the last successful read, a Timedelta or None) and stale (not ok, never read, or older than
    :data:`STALE_MINUTES`). Stored warnings stay in force while a feed is down: their age says
    how old what the HQ sees is.
    """
    now = to_utc(now) if now is not None else pd.Timestamp(now_utc())
    health = store.health()
    if health.empty:
        return []
    health = health[health["kind"] == kind]
    out = []
    for row in health.to_dict("records"):
        ok_at, err_at = _ts(row.get("last_success_at")), _ts(row.get("last_error_at"))
        ok = ok_at is not None and (err_at is None or ok_at >= err_at)
        age = now - ok_at if ok_at is not None else None
        out.append(
            {
                "source": row["source"],
                "ok": ok,
                "last_success_at": ok_at,
                "last_error": row.get("last_error") if not ok else None,
                "last_error_at": err_at,
                "newest_record_at": _ts(row.get("newest_record_at")),
                "age": age,
                "stale": not ok or age is None or age > pd.Timedelta(minutes=STALE_MINUTES),
            }
        )
    return out


def _ts(value) -> pd.Timestamp | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return to_utc(value)


def messages(store, ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The stored messages (with their raw XML), newest first: what the HQ received and when."""
    where = {"message_id": list(ids)} if ids is not None else None
    frame = store.read("warnings", where=where)
    return frame.sort_values(["received_at", "message_id"], ascending=False).reset_index(drop=True)
