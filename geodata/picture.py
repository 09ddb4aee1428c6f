"""The HQ's common picture (the overview and its wall screen), answered once.

What the HQ looks at first: open shelters and evacuees, damage reports by category, the
life-threatening ones, residents not yet confirmed safe by town, and the towns under evacuation
information — each with a threshold that says when to look. It is the situation of the printed
situation map (:func:`geodata.export.situation.collect_situation`) plus the live KPIs, so the
first screen and the print count the same things.

``public=True`` (a viewer, and every wall screen: visitors and press pass by it) reads through
the public-output policy (:class:`geodata.export.public.PublicView`): only confirmed damage
reports, none near a resident's home, per-town counts of residents with small counts
suppressed (3人未満 / 秘匿), no list of residents and no point of a rescue request — those are
resident-derived and shown only as counts per town.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geodata import evacuation, feed
from geodata.export.common import municipality
from geodata.export.public import PublicView
from geodata.export.situation import (
    Situation,
    collect_situation,
    damage_reports,
    incident_points,
    municipal_towns,
    safety_by_town,
)
from geodata.geometry import hexbin
from geodata.schema import now_utc

WINDOW = pd.Timedelta(hours=24)  # damage reports counted: seen in the last 24 hours
LIFE_THREATENING = 3  # incident urgency (geodata.feed.URGENCIES): 命に関わる
# KPI thresholds: (warn, alert). Shares are of the roster / of the open shelters' capacity.
THRESHOLDS = {
    "shelters_full": (1, 3),  # full shelters
    "occupancy": (0.6, 0.8),  # evacuees / capacity of open shelters
    "unconfirmed_share": (0.1, 0.3),  # residents not confirmed / roster
    "life_threatening": (1, 1),  # any open life-threatening report is an alert
    "evacuation_level": (3, 5),  # highest 警戒レベル in force: 3 warn, 5 (緊急安全確保) alert
}
KPI_KEYS = ("shelters", "evacuees", "unconfirmed", "life_threatening", "evacuation")
# The two costly parts of the picture and the layers each is computed from. A screen keeps each
# part until one of its layers is written (the data versions of these layers are its cache key):
# a new post or incident computes the damage part again, not the 20,000 residents' states, and
# a safety reply the counts by town, not the day's damage reports. Public damage reports are also
# read against residents' homes and reply locations (no report near a person).
PART_LAYERS = {
    "towns": ("towns", "roster", "safety_replies", "follow_ups"),
    "damage": ("towns", "incidents", "posts", "field_reports", "roster", "safety_replies"),
}


@dataclass
class Damage:
    """The damage part of the picture: ``reports`` (points with category and kind, as the
    situation map draws them), their ``hexes`` and the ``life_threatening`` ones."""

    reports: gpd.GeoDataFrame
    hexes: gpd.GeoDataFrame
    life_threatening: gpd.GeoDataFrame


@dataclass
class Picture:
    """The common picture at ``situation.as_of``.

    Attributes
    ----------
    situation : the situation (towns with residents / replied / needs_help / reached /
        unconfirmed — marks instead of small counts when public — shelters with status, damage
        reports as points, towns under evacuation information).
    hexes : damage reports aggregated into hexagons (:func:`geodata.geometry.hexbin`: count,
        urgent, max_urgency, top_category, one column per category).
    life_threatening : the damage reports of urgency 3 in the window, most urgent first
        (category, town_code, last_seen, a point; public: confirmed ones only).
    kpis : key -> {"value", "level"} for :data:`KPI_KEYS` (level ``ok`` / ``warn`` / ``alert``)
        plus the raw figures (see :func:`live_kpis`).
    """

    situation: Situation
    hexes: gpd.GeoDataFrame
    life_threatening: gpd.GeoDataFrame
    kpis: dict


def level(value, key: str) -> str:
    """``ok``, ``warn`` or ``alert`` for ``value`` against :data:`THRESHOLDS` ``key``.

    Examples
    --------
    >>> level(0, "shelters_full"), level(1, "shelters_full"), level(0.85, "occupancy")
    ('ok', 'warn', 'alert')
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "ok"
    warn, alert = THRESHOLDS[key]
    if value >= alert:
        return "alert"
    return "warn" if value >= warn else "ok"


def _worst(*levels: str) -> str:
    order = {"ok": 0, "warn": 1, "alert": 2}
    return max(levels, key=order.__getitem__)


def live_kpis(situation: Situation, life_threatening: int, top_level: int) -> dict:
    """The overview's KPI tiles: figures that change in a disaster, each with its level.

    Returns
    -------
    dict key -> {"value": number or mark, "level": str, ...}: ``shelters`` (open, total,
    full), ``evacuees`` (evacuees, capacity of open shelters, occupancy), ``unconfirmed``
    (unconfirmed, roster; a mark when public and small), ``life_threatening`` (open reports of
    urgency 3), ``evacuation`` (towns at 避難指示 or higher, population, highest level in
    force).
    """
    k = situation.kpis
    capacity = k.get("capacity") or 0
    occupancy = (k["evacuees"] / capacity) if capacity else None
    roster = k.get("roster_total")
    unconfirmed = k.get("unconfirmed")
    share = (
        unconfirmed / roster
        if isinstance(unconfirmed, int) and isinstance(roster, int) and roster
        else None
    )
    return {
        "shelters": {
            "open": k["shelters_open"], "total": k["shelters_total"], "full": k["shelters_full"],
            "level": level(k["shelters_full"], "shelters_full"),
        },
        "evacuees": {
            "value": k["evacuees"], "capacity": capacity, "occupancy": occupancy,
            "level": level(occupancy, "occupancy"),
        },
        "unconfirmed": {
            "value": unconfirmed, "roster": roster, "share": share,
            "level": level(share, "unconfirmed_share"),
        },
        "life_threatening": {
            "value": int(life_threatening),
            "level": level(life_threatening, "life_threatening"),
        },
        "evacuation": {
            "towns": k["evacuation_towns"], "population": k["evacuation_population"],
            "top_level": top_level,
            "level": level(top_level or None, "evacuation_level"),
        },
    }  # fmt: skip


def town_part(store, *, public: bool, now=None) -> tuple[gpd.GeoDataFrame, dict]:
    """The towns with their counts of residents and the totals (reads the layers of
    ``PART_LAYERS["towns"]``); :func:`common_picture` takes it back as ``towns``."""
    return safety_by_town(store, as_of=now, public=public)


def damage_part(store, *, public: bool, now=None, window: pd.Timedelta = WINDOW) -> Damage:
    """The damage reports seen in ``window`` before ``now`` (default: now), their hexagons and
    the life-threatening ones (reads the layers of ``PART_LAYERS["damage"]``, the incidents
    once); :func:`common_picture` takes it back as ``damage``."""
    now_ts = pd.Timestamp(now if now is not None else now_utc())
    since, until = now_ts - window, now_ts + pd.Timedelta(microseconds=1)
    source = PublicView(store) if public else store  # one view: its rules are read once
    code, _, _ = municipality(source, None)
    towns = municipal_towns(source, code)
    incidents = source.read("incidents", since=since)
    if len(incidents) or len(source.read("incidents", limit=1)):
        reports = feed.damage_reports(incidents, since=since, until=until)
        points = incident_points(reports)
    else:  # a store whose posts were never linked into incidents: posts one by one
        reports = incidents
        points = damage_reports(source, since=since, until=until, public=public)
    critical = (
        reports[pd.to_numeric(reports["urgency"], errors="coerce").fillna(0) >= LIFE_THREATENING]
        if len(reports)
        else reports
    )
    hexes = hexbin(
        gpd.GeoDataFrame(
            {"categories": [[c] for c in points["category"]], "urgency": [0] * len(points)},
            geometry=points.geometry.values,
            crs=points.crs,
        ),
        bounds=tuple(towns.total_bounds) if len(towns) else None,
    )
    keep = [c for c in ("category", "town_code", "last_seen", "urgency", "geometry")
            if c in critical.columns]  # fmt: skip
    return Damage(
        reports=points,
        hexes=hexes,
        life_threatening=critical[keep].reset_index(drop=True) if len(critical) else critical,
    )


def common_picture(
    store,
    *,
    public: bool,
    now=None,
    window: pd.Timedelta = WINDOW,
    towns: tuple[gpd.GeoDataFrame, dict] | None = None,
    damage: Damage | None = None,
) -> Picture:
    """The common picture now (or at ``now``), for a screen that may (``public=False``) or may
    not see personal data.

    Parameters
    ----------
    store : the store.
    public : read through the public-output policy (viewers, wall screens).
    now : the time the picture describes (default: now).
    window : damage reports seen within it are counted and drawn.
    towns, damage : the parts :func:`town_part` and :func:`damage_part` computed for the same
        ``public``, ``now`` and ``window`` (a screen caches them by :data:`PART_LAYERS`);
        computed here when not given. The rest (shelters, evacuation information, supplies,
        KPIs) is read each time: a few hundred rows.

    Returns
    -------
    Picture
    """
    as_of = now
    now = pd.Timestamp(now if now is not None else now_utc())
    if towns is None:
        towns = town_part(store, public=public, now=as_of)
    if damage is None:
        damage = damage_part(store, public=public, now=as_of, window=window)
    situation = collect_situation(
        store, as_of=as_of, since=now - window, public=public, with_needs=False,
        town_counts=towns, reports=damage.reports,
    )  # fmt: skip
    found = evacuation.in_force(store, as_of)
    top = int(found["level"].max()) if len(found) and found["level"].notna().any() else 0
    return Picture(
        situation=situation,
        hexes=damage.hexes,
        life_threatening=damage.life_threatening,
        kpis=live_kpis(situation, len(damage.life_threatening), top),
    )
