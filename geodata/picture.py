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
from geodata.export.public import PublicView
from geodata.export.situation import Situation, collect_situation
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


def common_picture(store, *, public: bool, now=None, window: pd.Timedelta = WINDOW) -> Picture:
    """The common picture now (or at ``now``), for a screen that may (``public=False``) or may
    not see personal data.

    Parameters
    ----------
    store : the store.
    public : read through the public-output policy (viewers, wall screens).
    now : the time the picture describes (default: now).
    window : damage reports seen within it are counted and drawn.

    Returns
    -------
    Picture
    """
    as_of = now
    now = pd.Timestamp(now if now is not None else now_utc())
    since = now - window
    situation = collect_situation(store, as_of=as_of, since=since, public=public, with_needs=False)
    source = PublicView(store) if public else store
    incidents = source.read("incidents", since=since, until=now + pd.Timedelta(microseconds=1))
    reports = (
        feed.damage_reports(incidents, since=since, until=now + pd.Timedelta(microseconds=1))
        if len(incidents)
        else incidents
    )
    critical = (
        reports[pd.to_numeric(reports["urgency"], errors="coerce").fillna(0) >= LIFE_THREATENING]
        if len(reports)
        else reports
    )
    points = situation.reports
    hexes = hexbin(
        gpd.GeoDataFrame(
            {
                "categories": [[c] for c in points["category"]],
                "urgency": [0] * len(points),
            },
            geometry=points.geometry.values,
            crs=points.crs,
        ),
        bounds=tuple(situation.towns.total_bounds) if len(situation.towns) else None,
    )
    found = evacuation.in_force(store, as_of)
    top = int(found["level"].max()) if len(found) and found["level"].notna().any() else 0
    keep = [c for c in ("category", "town_code", "last_seen", "urgency", "geometry")
            if c in critical.columns]  # fmt: skip
    return Picture(
        situation=situation,
        hexes=hexes,
        life_threatening=critical[keep].reset_index(drop=True) if len(critical) else critical,
        kpis=live_kpis(situation, len(critical), top),
    )
