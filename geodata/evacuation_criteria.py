"""避難情報の発令基準: the city's criteria, and what they propose at a time.

The criteria are declared per hazard in a TOML file (``BOSAI_EVACUATION_CRITERIA``; the 調布市
example ``evacuation_criteria.example.toml`` documents the format): the towns a hazard concerns
(those intersecting its hazard areas — 浸水想定区域, 土砂災害警戒区域 — or the whole city) and
rules, each a level and its conditions (a river station at or above a stage; a warning of the
hazard at or above a level in force). :func:`proposals` answers the HQ's question "what should we
issue now, and what is at stake there": per hazard the highest level whose rule holds, the
towns with households and population, the roster residents there and how many are 未確認
(:mod:`geodata.safety`), the level already in force in each town (:mod:`geodata.evacuation`) and
the shelters designated for the hazard, open or not (:mod:`geodata.shelters`).

A criterion whose towns are none (調布市 has no 土砂災害警戒区域 in the reference data) still
reports its triggers, with no towns and a note saying why: the HQ sees that 土砂災害警戒情報 is in
force and that the data names no town for it, rather than nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely

from geodata import evacuation, rivers, safety, settings, shelters, vocab, warnings
from geodata.schema import now_utc, to_utc

STAGE_RANK = {s: i for i, s in enumerate(("normal", *rivers.STAGES))}
CITY = "city"


class CriteriaError(ValueError):
    """A criteria file that cannot be used (the message names the file and the entry)."""


@dataclass(frozen=True)
class Rule:
    """One level of a hazard's criteria and when it holds (either condition suffices)."""

    level: int
    river_stage: str | None = None
    warning_level: int | None = None


@dataclass(frozen=True)
class Criterion:
    """The criteria of one hazard (see the module docstring and the example file)."""

    hazard: str
    area_kind: str
    rules: tuple[Rule, ...]
    river: str | None = None
    stations: tuple[str, ...] = ()
    warning_hazards: tuple[str, ...] = ()


def load_criteria(path: str | Path | None = None) -> list[Criterion]:
    """The criteria in ``path`` (default: the ``BOSAI_EVACUATION_CRITERIA`` setting).

    Raises
    ------
    CriteriaError : a missing or unreadable file, or an entry that names an unknown hazard,
        level, stage or warning hazard.
    """
    path = Path(path or settings.get("BOSAI_EVACUATION_CRITERIA"))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CriteriaError(
            f"{path}: criteria file not found (BOSAI_EVACUATION_CRITERIA)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CriteriaError(f"{path}: not valid TOML: {exc}") from None
    out = []
    for n, entry in enumerate(data.get("hazard") or [], start=1):
        where = f"{path}: hazard #{n}"
        code = entry.get("code")
        if code not in vocab.HAZARDS:
            raise CriteriaError(f"{where}: unknown hazard {code!r} (one of "
                                f"{', '.join(vocab.HAZARDS.codes)})")  # fmt: skip
        area = entry.get("area_kind", code)
        if area != CITY and area not in vocab.HAZARD_AREA_KINDS:
            raise CriteriaError(f"{where}: unknown area_kind {area!r}")
        kinds = tuple(entry.get("warning_hazards") or ())
        bad = [k for k in kinds if k not in vocab.WARNING_HAZARDS]
        if bad:
            raise CriteriaError(f"{where}: unknown warning_hazards {bad}")
        rules = []
        for rule in entry.get("rule") or []:
            level, stage, wlevel = (
                rule.get("level"),
                rule.get("river_stage"),
                rule.get("warning_level"),
            )
            if level not in evacuation.LEVELS:
                raise CriteriaError(f"{where}: rule level must be 3, 4 or 5, got {level!r}")
            if stage is not None and stage not in rivers.STAGES:
                raise CriteriaError(f"{where}: unknown river_stage {stage!r}")
            if stage is None and wlevel is None:
                raise CriteriaError(f"{where}: the level {level} rule has no condition")
            rules.append(Rule(int(level), stage, None if wlevel is None else int(wlevel)))
        out.append(Criterion(
            hazard=code, area_kind=area, rules=tuple(sorted(rules, key=lambda r: r.level)),
            river=entry.get("river"), stations=tuple(str(s) for s in entry.get("stations") or ()),
            warning_hazards=kinds,
        ))  # fmt: skip
    return out


@dataclass
class Proposal:
    """What a hazard's criteria propose at a time (see :func:`proposals`)."""

    hazard: str
    level: int | None  # the proposed level; None: no rule holds
    triggers: list[dict] = field(default_factory=list)
    towns: pd.DataFrame = field(default_factory=pd.DataFrame)
    shelters: pd.DataFrame = field(default_factory=pd.DataFrame)
    warning_ids: list[str] = field(default_factory=list)
    note: str | None = None

    def total(self, column: str) -> int:
        """The sum of a count column of :attr:`towns` (households, population, residents …)."""
        if self.towns.empty:
            return 0
        return int(pd.to_numeric(self.towns[column], errors="coerce").fillna(0).sum())

    @property
    def to_issue(self) -> list[str]:
        """The proposed towns not yet at the proposed level (what one action would issue)."""
        if self.level is None or self.towns.empty:
            return []
        below = self.towns["in_force"].fillna(0).astype(int) < self.level
        return sorted(self.towns.loc[below, "town_code"])

    @property
    def reason(self) -> str:
        """A reason to publish, from the triggers: 「多摩川 石原 氾濫危険水位到達」."""
        return "、".join(t["label"] for t in self.triggers if t["level"] == self.level)


def hazard_towns(store, criterion: Criterion, towns: pd.DataFrame | None = None) -> list[str]:
    """The towns a criterion concerns: intersecting its hazard areas (by area), or all."""
    towns = store.read("towns", columns=["town_code", "geometry"]) if towns is None else towns
    if criterion.area_kind == CITY:
        return sorted(set(towns["town_code"].astype(str)))
    areas = store.read("hazard_areas", where={"kind": criterion.area_kind})
    if criterion.river and "river" in areas and areas["river"].notna().any():
        areas = areas[areas["river"] == criterion.river]
    if areas.empty or towns.empty:
        return []
    union = shapely.union_all(areas.geometry.values)
    inside = shapely.area(shapely.intersection(towns.geometry.values, union)) > 0
    return sorted(set(towns.loc[inside, "town_code"].astype(str)))


def _river_triggers(status: pd.DataFrame, criterion: Criterion) -> list[dict]:
    if status.empty or not criterion.river:
        return []
    mine = status[status["river"] == criterion.river]
    if criterion.stations:
        wanted = set(criterion.stations)
        mine = mine[mine["station_id"].isin(wanted) | mine["station_name"].isin(wanted)]
    out = []
    for rule in criterion.rules:
        if rule.river_stage is None:
            continue
        for st in mine.to_dict("records"):
            if STAGE_RANK[st["stage"]] >= STAGE_RANK[rule.river_stage]:
                stage = vocab.RIVER_STAGES.label(rule.river_stage)
                out.append({
                    "level": rule.level, "kind": "river", "at": st["observed_at"],
                    "label": f"{criterion.river}（{st['station_name']}）{stage}到達",
                    "detail": f"{st['level_m']:.2f} m", "warning_ids": [],
                })  # fmt: skip
    return out


def _warning_triggers(found: pd.DataFrame, criterion: Criterion) -> list[dict]:
    if found.empty or not criterion.warning_hazards:
        return []
    mine = found[found["hazard"].isin(criterion.warning_hazards) & found["level"].notna()]
    out = []
    for rule in criterion.rules:
        if rule.warning_level is None:
            continue
        for w in mine[mine["level"].astype(int) >= rule.warning_level].to_dict("records"):
            out.append({
                "level": rule.level, "kind": "warning", "at": w["issued_at"],
                "label": w["label"], "detail": w.get("area_name") or w.get("river") or "",
                "warning_ids": list(w["message_ids"]),
            })  # fmt: skip
    return out


def _town_table(store, codes, at, in_force, states) -> pd.DataFrame:
    towns = store.read("towns", columns=["town_code", "name", "households", "population"])
    towns = pd.DataFrame(towns).drop_duplicates("town_code")
    towns = towns[towns["town_code"].isin(codes)].sort_values("town_code")
    per_town = states.groupby("town_code").agg(
        residents=("resident_id", "size"), unconfirmed=("confirmed", lambda c: int((~c).sum()))
    )
    levels = dict(zip(in_force["town_code"], in_force["level"], strict=False))
    return pd.DataFrame({
        "town_code": towns["town_code"].to_numpy(),
        "name": towns["name"].to_numpy(),
        "households": pd.to_numeric(towns["households"], errors="coerce").astype("Int64").to_numpy(),
        "population": pd.to_numeric(towns["population"], errors="coerce").astype("Int64").to_numpy(),
        "residents": [int(per_town["residents"].get(c, 0)) for c in towns["town_code"]],
        "unconfirmed": [int(per_town["unconfirmed"].get(c, 0)) for c in towns["town_code"]],
        "in_force": pd.array([levels.get(c) for c in towns["town_code"]], dtype="Int64"),
    })  # fmt: skip


def _shelters_for(status: pd.DataFrame, hazard: str) -> pd.DataFrame:
    cols = ["shelter_id", "name", "kind", "capacity", "status", "open", "evacuees"]
    if status.empty:
        return pd.DataFrame(columns=cols)
    hazards = status["hazards"].map(lambda h: hazard in h if isinstance(h, list) else False)
    mine = pd.DataFrame(status[hazards]).drop(columns="geometry", errors="ignore")
    mine = mine.assign(open=mine["status"].map(shelters.is_open).astype(bool))
    return mine.sort_values(["open", "name"], ascending=[False, True])[cols].reset_index(drop=True)


def proposals(store, at=None, *, criteria: list[Criterion] | None = None) -> list[Proposal]:
    """Per hazard of the criteria, the level they propose at ``at`` and what is at stake.

    Parameters
    ----------
    store : the store.
    at : a time (naive = JST); None: now.
    criteria : the criteria (default :func:`load_criteria` of the setting).

    Returns
    -------
    One :class:`Proposal` per criterion, in the file's order: ``level`` (the highest level whose
    rule holds, None when none does), ``triggers`` (each condition that holds: level, kind
    ``river`` / ``warning``, label, detail, at, warning_ids), ``towns`` (town_code, name,
    households, population, residents — roster residents living there —, unconfirmed — of them
    未確認 —, in_force — the level of evacuation information in force there), ``shelters`` (the
    shelters designated for the hazard: shelter_id, name, kind, capacity, status, open,
    evacuees; open first) and ``note`` (why there are no towns or no designated shelters, when
    there are none: 調布市's reference data designates none of its sites for floods).
    """
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    criteria = load_criteria() if criteria is None else criteria
    found = warnings.in_force(store, at)
    levels = rivers.river_status(store, at)
    roster = store.read("roster", columns=["resident_id", "town_code", "care_priority"])
    states = safety.resident_states(
        roster, store.read("safety_replies"), store.read("follow_ups"), as_of=at
    )
    current = evacuation.in_force(store, at)
    shelter_status = shelters.status_at(store, at)
    towns_geo = store.read("towns", columns=["town_code", "geometry"])
    out = []
    for criterion in criteria:
        triggers = _river_triggers(levels, criterion) + _warning_triggers(found, criterion)
        level = max((t["level"] for t in triggers), default=None)
        codes = hazard_towns(store, criterion, towns_geo)
        note = None
        if not codes:
            area = vocab.HAZARD_AREA_KINDS.label(criterion.area_kind)
            note = (
                f"参照データに{area}と重なる町丁目がありません（{area}のデータを確認してください）"
            )
        designated = _shelters_for(shelter_status, criterion.hazard)
        if designated.empty:
            what = vocab.HAZARDS.label(criterion.hazard)
            gap = f"参照データに{what}の指定緊急避難場所がありません"
            note = f"{note}。{gap}" if note else gap
        ids = sorted({i for t in triggers if t["level"] == level for i in t["warning_ids"]})
        out.append(Proposal(
            hazard=criterion.hazard, level=level,
            triggers=sorted(triggers, key=lambda t: (-t["level"], t["at"])),
            towns=_town_table(store, codes, at, current, states),
            shelters=designated,
            warning_ids=ids, note=note,
        ))  # fmt: skip
    return out
