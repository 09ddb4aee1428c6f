"""避難情報 (evacuation information): what the HQ has issued, for which towns, since when.

The municipality issues evacuation information per town (町丁目) or for the whole city, by
警戒レベル (内閣府「避難情報に関するガイドライン」, 2021): 3 高齢者等避難, 4 避難指示, 5 緊急安全確保
(labels: :data:`geodata.vocab.EVACUATION_LEVELS`). It is stored in the ``evacuations`` layer as
an append-only history (geodata/schema.py): an *order* (発令) is a chain of records sharing
``order_id`` — the issue (version 1), its updates (a higher level, other towns, a new reason)
and its lift — each record referencing the one it changes. Nothing is overwritten, every write
leaves an audit row, and a write based on a record that is no longer the newest of its order is
refused (:class:`geodata.store.errors.StaleVersion`): two commanders cannot lift one order twice.

Writes are staff decisions: :func:`issue`, :func:`update` and :func:`lift` check the user's
role here, in the core (``issue_evacuation`` on the overview: ``commander`` and ``admin``,
:mod:`geodata.access.roles`), whatever page or command calls them. They need nothing beyond the
store: the HQ can issue with the internet down.

What is in force at a time is the newest record of each order, unless it is a lift; per town
the highest level of the orders covering it (:func:`in_force`). The maps draw those towns in
the official 警戒レベル colours (:data:`LEVEL_COLOURS`).

The criteria that propose evacuation information from warnings and river levels are in
:mod:`geodata.evacuation_criteria`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from geodata import chronology, vocab
from geodata.access.roles import User, check
from geodata.schema import now_utc, to_utc

LEVELS = (3, 4, 5)
ORDER_LEVEL = 4  # 避難指示: the KPI counts towns at this level or above
# 内閣府 (防災担当)「警戒レベルの一覧表の配色」(2020-05-29, http://www.bousai.go.jp/pdf/200529_haishoku.pdf;
# carried into 避難情報に関するガイドライン 2021): screen colours (RGB) chosen with the Color
# Universal Design Organization so that every type of colour vision tells them apart; 気象庁's
# 警戒レベル相当 information uses the same. Level 5 black R12 G0 B12, 4 purple R170 G0 B170,
# 3 red R255 G40 B0 (2 yellow R242 G231 B0, 1 white).
LEVEL_COLOURS = {5: "#0C000C", 4: "#AA00AA", 3: "#FF2800", 2: "#F2E700", 1: "#FFFFFF"}
LEVEL_TEXT_COLOURS = {5: "#FFFFFF", 4: "#FFFFFF", 3: "#FFFFFF", 2: "#000000", 1: "#000000"}
SOURCES = ("staff", "drill")
IN_FORCE_COLUMNS = [
    "town_code", "level", "hazard", "order_id", "version", "since", "issued_at", "reason",
    "orders",
]  # fmt: skip
ORDER_COLUMNS = [
    "order_id", "version", "level", "hazard", "towns", "whole_city", "reason", "warning_ids",
    "issued_at", "at", "issued_by", "source",
]  # fmt: skip


class EvacuationError(ValueError):
    """Evacuation information that cannot be written (an unknown town, a lifted order …)."""


def level_label(level, lang: str = "ja") -> str:
    """``避難指示`` for 4 (``Evacuation order`` in English); with the 警戒レベル in Japanese."""
    if level is None or pd.isna(level):
        return ""
    return vocab.EVACUATION_LEVELS.label(str(int(level)), lang)


def level_title(level, lang: str = "ja") -> str:
    """``【警戒レベル4】避難指示`` — how the level is announced."""
    if level is None or pd.isna(level):
        return ""
    if lang == "en":
        return f"[Alert level {int(level)}] {level_label(level, 'en')}"
    return f"【警戒レベル{int(level)}】{level_label(level)}"


def history(store, order_id: str | None = None) -> pd.DataFrame:
    """Every record (of one order), in the order they took effect."""
    where = {"order_id": order_id} if order_id else None
    frame = store.read("evacuations", where=where)
    return frame.sort_values(["at", "order_id", "version"], kind="stable").reset_index(drop=True)


def orders_in_force(store, at=None, *, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """The orders in force at ``at`` (default now): each order's newest record, unless a lift.

    Returns
    -------
    DataFrame with :data:`ORDER_COLUMNS` (``at`` = when the newest record took effect),
    highest level first, then oldest issue first.
    """
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    frame = store.read("evacuations") if frame is None else frame
    frame = frame[frame["at"] <= at]
    if frame.empty:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    newest = frame.sort_values(["order_id", "version"]).groupby("order_id").tail(1)
    live = newest[newest["action"] != "lift"]
    live = live.assign(_l=-live["level"].astype(int))
    live = live.sort_values(["_l", "issued_at", "order_id"], kind="stable")
    return live[ORDER_COLUMNS].reset_index(drop=True)


def in_force(store, at=None, *, hazard: str | None = None) -> pd.DataFrame:
    """Per town, the highest level of evacuation information in force at ``at`` and since when.

    Parameters
    ----------
    store : the store.
    at : a time (naive = JST); None: now.
    hazard : only orders for this hazard (a code of :data:`geodata.vocab.HAZARDS`).

    Returns
    -------
    DataFrame with :data:`IN_FORCE_COLUMNS`, one row per town under evacuation information
    (sorted by town code): ``level`` (the highest), ``hazard``, ``order_id`` and ``version`` of
    the record that gives it, ``since`` (since when the town has been at this level or higher
    without a break), ``issued_at`` (when that order was first issued), ``reason`` and
    ``orders`` (every order in force covering the town).
    """
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    frame = store.read("evacuations")
    if hazard is not None:
        frame = frame[frame["hazard"] == hazard]
    frame = frame[frame["at"] <= at].sort_values(["at", "order_id", "version"], kind="stable")
    state: dict[str, dict] = {}  # order_id -> newest record
    steps: dict[str, list[tuple[pd.Timestamp, int]]] = {}  # town -> (time, level) changes
    for when, group in frame.groupby("at", sort=True):
        for rec in group.to_dict("records"):
            state[rec["order_id"]] = rec
        levels = _town_levels(state)
        for town in set(levels) | set(steps):
            steps.setdefault(town, []).append((when, levels[town][0] if town in levels else 0))
    levels = _town_levels(state)
    since = {town: _since(steps[town], lvl) for town, (lvl, _rec) in levels.items()}
    rows = []
    for town, (lvl, rec) in sorted(levels.items()):
        covering = sorted(
            oid for oid, r in state.items() if r["action"] != "lift" and town in _towns(r)
        )
        rows.append({
            "town_code": town, "level": lvl, "hazard": rec["hazard"],
            "order_id": rec["order_id"], "version": int(rec["version"]),
            "since": since[town], "issued_at": rec["issued_at"], "reason": rec["reason"],
            "orders": covering,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=IN_FORCE_COLUMNS)
    out["level"] = out["level"].astype("Int64")
    return out


def _since(steps: list[tuple[pd.Timestamp, int]], level: int) -> pd.Timestamp:
    """The start of the last unbroken run of ``steps`` at ``level`` or higher."""
    start = steps[-1][0]
    for when, lvl in reversed(steps):
        if lvl < level:
            break
        start = when
    return start


def _towns(record: dict) -> list[str]:
    towns = record.get("towns")
    return [str(t) for t in towns] if isinstance(towns, list) else []


def _town_levels(state: dict[str, dict]) -> dict[str, tuple[int, dict]]:
    """town -> (highest level, the record giving it) over the orders not lifted."""
    out: dict[str, tuple[int, dict]] = {}
    for rec in sorted(state.values(), key=lambda r: (r["issued_at"], r["order_id"])):
        if rec["action"] == "lift":
            continue
        for town in _towns(rec):
            if town not in out or int(rec["level"]) > out[town][0]:
                out[town] = (int(rec["level"]), rec)
    return out


def kpi(store, at=None, *, towns: pd.DataFrame | None = None) -> dict:
    """The KPI tile 「避難指示 N町丁目 / 対象人口 M」 and the counts per level.

    Returns
    -------
    dict: ``towns`` and ``population`` / ``households`` under 避難指示 or higher (level ≥ 4),
    ``by_level`` {3: towns, 4: towns, 5: towns}, ``highest`` (the highest level in force or
    None), ``issued_at`` (the newest issue or update in force, None when nothing is).
    """
    found = in_force(store, at)
    towns = store.read("towns", columns=["town_code", "population", "households"]) if (
        towns is None) else towns  # fmt: skip
    towns = pd.DataFrame(towns).drop_duplicates("town_code")
    ordered = found[found["level"].fillna(0) >= ORDER_LEVEL]
    sub = towns[towns["town_code"].isin(set(ordered["town_code"]))]
    live = orders_in_force(store, at)
    return {
        "towns": int(len(ordered)),
        "population": int(pd.to_numeric(sub["population"], errors="coerce").fillna(0).sum()),
        "households": int(pd.to_numeric(sub["households"], errors="coerce").fillna(0).sum()),
        "by_level": {lvl: int((found["level"] == lvl).sum()) for lvl in LEVELS},
        "highest": int(found["level"].max()) if len(found) else None,
        "issued_at": live["at"].max() if len(live) else None,
    }


# -- writes (staff decisions) -----------------------------------------------------------------


def _check_user(user: User | None) -> User:
    check(user, "overview", "issue_evacuation")
    return user


def _check_level(level) -> int:
    try:
        value = int(level)
    except (TypeError, ValueError):
        raise EvacuationError(f"level must be one of {LEVELS}, got {level!r}") from None
    if value not in LEVELS:
        raise EvacuationError(f"level must be one of {LEVELS} (3 高齢者等避難, 4 避難指示, "
                              f"5 緊急安全確保), got {level!r}")  # fmt: skip
    return value


def _check_towns(store, towns: Iterable[str] | None, whole_city: bool) -> list[str]:
    known = store.read("towns", columns=["town_code"])["town_code"].astype(str)
    if whole_city:
        codes = sorted(set(known))
        if not codes:
            raise EvacuationError("the store has no towns: load the reference layers first")
        return codes
    codes = sorted({str(t).strip() for t in (towns or []) if str(t).strip()})
    if not codes:
        raise EvacuationError("name at least one town (町丁目), or the whole city")
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise EvacuationError(f"unknown town codes: {', '.join(unknown[:10])}")
    return codes


def _when(at) -> pd.Timestamp:
    return to_utc(at) if at is not None else pd.Timestamp(now_utc())


def issue(
    store,
    *,
    level: int,
    hazard: str,
    towns: Iterable[str] | None = None,
    whole_city: bool = False,
    reason: str = "",
    warning_ids: Iterable[str] = (),
    user: User | None,
    at=None,
    source: str = "staff",
    order_id: str | None = None,
) -> dict:
    """Issue evacuation information (a new order) for towns or the whole city.

    Parameters
    ----------
    store : the store.
    level : 3, 4 or 5.
    hazard : what it is for (a code of :data:`geodata.vocab.HAZARDS`: flood, landslide …).
    towns : town codes; ignored when ``whole_city`` (every town of the city).
    reason : why, as it will be published (e.g. 「多摩川（石原）が氾濫危険水位に到達」).
    warning_ids : the warning messages that triggered it (geodata/warnings.py ``message_ids``).
    user : who issues; must have ``issue_evacuation`` (commander, admin), else
        :class:`geodata.access.roles.Forbidden`.
    at : when it takes effect (default now).
    source : ``staff`` or ``drill``.
    order_id : the order's id (default: made from hazard and time; the drill gives its own).

    Returns
    -------
    The record written (version 1, action ``issue``).
    """
    user = _check_user(user)
    if hazard not in vocab.HAZARDS:
        raise EvacuationError(f"unknown hazard {hazard!r}; hazards are "
                              f"{', '.join(vocab.HAZARDS.codes)}")  # fmt: skip
    if source not in SOURCES:
        raise EvacuationError(f"source must be one of {SOURCES}")
    when = _when(at)
    record = {
        "order_id": order_id or _new_order_id(store, hazard, when),
        "action": "issue",
        "refers_to": None,
        "level": _check_level(level),
        "hazard": hazard,
        "towns": _check_towns(store, towns, whole_city),
        "whole_city": bool(whole_city),
        "reason": (reason or "").strip() or None,
        "warning_ids": sorted({str(w) for w in warning_ids}),
        "issued_at": when,
        "at": when,
        "lifted_at": None,
        "issued_by": user.username,
        "source": source,
    }
    return _append(store, record, user, base_version=0)


def _append(store, record: dict, user: User, *, base_version: int) -> dict:
    """Write one record and its chronology entry (避難情報発令 / 解除) in one transaction.

    The entry's key is the record's identity (order and version), so a retried write is
    recorded once; the text names level, hazard and how many towns (the towns are its links):
    no personal data, the wall screen shows it.
    """
    with store.transaction():
        written = store.append_version("evacuations", record, actor=user.username,
                                       base_version=base_version)  # fmt: skip
        action = written["action"]
        event = "evacuation_lifted" if action == "lift" else "evacuation_issued"
        verb = {"issue": "発令", "update": "変更", "lift": "解除"}[action]
        where = "全域" if written["whole_city"] else f"{len(written['towns'] or [])}町丁目"
        text = (f"{level_title(written['level'])}（{vocab.HAZARDS.label(written['hazard'])}）"
                f"{verb}：{where}")  # fmt: skip
        if written.get("reason"):
            text += f"　{written['reason']}"
        links = {"evacuation": [written["order_id"]], "town": list(written["towns"] or [])}
        key = f"evacuation:{written['order_id']}:{written['version']}"
        chronology.record_event(store, event, text, links, key=key, at=written["at"])
    return written


def _new_order_id(store, hazard: str, when: pd.Timestamp) -> str:
    stem = f"evac-{hazard}-{when.tz_convert('Asia/Tokyo'):%Y%m%dT%H%M%S}"
    taken = set(store.read("evacuations", columns=["order_id"])["order_id"])
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def _current(store, order_id: str, base_version: int | None) -> dict:
    records = history(store, order_id)
    if records.empty:
        raise EvacuationError(f"no evacuation information {order_id!r}")
    current = records.sort_values("version").iloc[-1].to_dict()
    if current["action"] == "lift":
        raise EvacuationError(f"{order_id} was lifted at {current['lifted_at']}")
    if base_version is None:
        base_version = int(current["version"])
    return {**current, "_base": int(base_version)}


def update(
    store,
    order_id: str,
    *,
    level: int | None = None,
    towns: Iterable[str] | None = None,
    whole_city: bool | None = None,
    reason: str | None = None,
    warning_ids: Iterable[str] | None = None,
    user: User | None,
    at=None,
    base_version: int | None = None,
    source: str | None = None,
) -> dict:
    """Change an order in force: a new record (action ``update``) referencing its newest one.

    Unchanged fields carry over. ``base_version``: the version the user saw; when another
    record has been written since, :class:`geodata.store.errors.StaleVersion` is raised with the
    newest one (None: take the newest, for scripts and the drill).
    """
    user = _check_user(user)
    current = _current(store, order_id, base_version)
    whole = current["whole_city"] if whole_city is None else whole_city
    codes = current["towns"] if towns is None and not whole_city else towns
    when = _when(at)
    record = {
        **{k: current[k] for k in ("order_id", "hazard", "issued_at")},
        "action": "update",
        "refers_to": f"{order_id}|{current['version']}",
        "level": _check_level(current["level"] if level is None else level),
        "towns": _check_towns(store, codes, bool(whole)),
        "whole_city": bool(whole),
        "reason": current["reason"] if reason is None else (reason.strip() or None),
        "warning_ids": current["warning_ids"] if warning_ids is None else sorted(set(warning_ids)),
        "at": when,
        "lifted_at": None,
        "issued_by": user.username,
        "source": source or current["source"],
    }
    return _append(store, record, user, base_version=current["_base"])


def lift(
    store,
    order_id: str,
    *,
    reason: str | None = None,
    user: User | None,
    at=None,
    base_version: int | None = None,
) -> dict:
    """Lift (解除) an order: a last record (action ``lift``) with ``lifted_at``.

    The lift keeps the order's level and towns, so the published lift (CAP ``Cancel``, the
    open data) names what is lifted. Lifting a lifted order is an :class:`EvacuationError`.
    """
    user = _check_user(user)
    current = _current(store, order_id, base_version)
    when = _when(at)
    record = {
        **{k: current[k] for k in ("order_id", "hazard", "issued_at", "level", "towns",
                                   "whole_city", "warning_ids", "source")},
        "action": "lift",
        "refers_to": f"{order_id}|{current['version']}",
        "reason": (reason or "").strip() or current["reason"],
        "at": when,
        "lifted_at": when,
        "issued_by": user.username,
    }  # fmt: skip
    return _append(store, record, user, base_version=current["_base"])
