"""The situation at a point in time, gathered from the store for the 状況図 and its KPI table.

:func:`collect_situation` reads every layer the situation map draws and computes the figures of
its KPI table. With ``public=True`` it reads only through a
:class:`geodata.export.public.PublicView`, so the public situation holds what the public-output
policy lets out and nothing else: confirmed reports away from residents' homes, town-level
counts of residents with small counts suppressed, no list of residents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from geodata import evacuation, feed, safety, supplies
from geodata.export.common import municipality, parse_time
from geodata.export.public import PublicView
from geodata.schema import CATEGORIES, STORE_CRS, now_utc
from geodata.shelters import care_summary, status_at
from geodata.shelters import summary as shelter_summary

# Posts shown on the internal map (not dismissed) and on the public one (checked by staff).
INTERNAL_TRIAGE = ("new", "verified", "handled")
PUBLIC_TRIAGE = ("verified", "handled")


@dataclass
class Situation:
    """Everything the situation map shows.

    Attributes
    ----------
    city_code, pref_name, city_name : the municipality.
    as_of : UTC time the situation describes.
    public : True for the public version (no personal data inside).
    towns : town polygons with ``residents``, ``replied``, ``needs_help``, ``reached``,
        ``unconfirmed`` (the terms of :mod:`geodata.safety`; in the public version each an int
        of at least 3 or a mark, 3人未満 / 秘匿).
    boundary : the municipal boundary (may be empty).
    hazard_areas : hazard polygons.
    shelters : shelter points with ``status`` (None: no report), ``evacuees``, ``capacity``,
        ``reported_at`` (:func:`geodata.shelters.status_at`).
    reports : damage reports as points: ``category``, ``kind`` (incident / field / post).
    needs_help : internal only: the urgent residents of :mod:`geodata.safety` (newest reply
        要救助 or 負傷, nobody has reached them since) with ``no`` (their number on the visit
        list), name, address, phone, status, town name and a point; empty when public.
    kpis : the KPI table's figures (see :func:`kpis`).
    supplies : the supply requests open at ``as_of`` (:func:`geodata.supplies.open_requests`:
        most urgent first) with the shelter's ``name``; public: without who asked.
    evacuation : the towns under evacuation information at ``as_of`` (polygons with ``level``,
        ``hazard``, ``since``, ``issued_at``: :func:`geodata.evacuation.in_force`); drawn in
        the 警戒レベル colours. Evacuation information is public: both versions carry it.
    """

    city_code: str
    pref_name: str
    city_name: str
    as_of: pd.Timestamp
    public: bool
    towns: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    hazard_areas: gpd.GeoDataFrame
    shelters: gpd.GeoDataFrame
    reports: gpd.GeoDataFrame
    needs_help: gpd.GeoDataFrame
    kpis: dict = field(default_factory=dict)
    evacuation: gpd.GeoDataFrame = field(default_factory=lambda: evacuation_towns(None, None))
    supplies: pd.DataFrame = field(default_factory=lambda: supplies.open_requests(None))

    @property
    def title(self) -> str:
        return f"{self.city_name} 災害対策本部 状況図"


def collect_situation(
    store,
    *,
    as_of=None,
    since=None,
    public: bool = False,
    city_code: str | None = None,
    with_needs: bool = True,
    town_counts: tuple[gpd.GeoDataFrame, dict] | None = None,
    reports: gpd.GeoDataFrame | None = None,
) -> Situation:
    """Read the situation at ``as_of`` (default: now) from the store.

    Parameters
    ----------
    store : a :class:`geodata.store.core.Store`.
    as_of : the time the map describes; records after it are ignored.
    since : reports (posts, field reports, incidents) before it are ignored.
    public : read through the public-output policy (:class:`~geodata.export.public.PublicView`;
        ``store`` may also be a view, which makes the situation public).
    city_code : the municipality (default: the BOSAI_MUNICIPALITY setting).
    with_needs : list the residents needing help (internal only; the overview, which shows
        them only as counts per town, skips the visit list).
    town_counts : the towns with their counts and the totals, already counted by
        :func:`safety_by_town` for the same store, ``as_of`` and ``public`` (the overview caches
        them by the data versions of the layers they are counted from); implies no visit list.
    reports : the damage reports, already read by :func:`damage_reports` for the same store,
        window and ``public`` (cached the same way).

    Returns
    -------
    Situation
    """
    as_of_ts = parse_time(as_of) if as_of is not None else pd.Timestamp(now_utc())
    since_ts = parse_time(since)
    public = public or isinstance(store, PublicView)
    source = PublicView(store) if public else store
    code, pref, city = municipality(source, city_code)
    until = as_of_ts + pd.Timedelta(microseconds=1)  # read() is since <= t < until

    towns = municipal_towns(source, code)
    shelters = status_at(source, as_of_ts if as_of is not None else None)
    if town_counts is not None:
        (town_counts, counts), needs = town_counts, nobody()
    else:
        town_counts, needs, counts = _safety(
            store, source, towns, public=public, with_needs=with_needs, as_of=as_of_ts
        )
    if reports is None:
        reports = damage_reports(source, since=since_ts, until=until, public=public)
    situation = Situation(
        city_code=code,
        pref_name=pref,
        city_name=city,
        as_of=as_of_ts,
        public=public,
        towns=town_counts,
        boundary=source.read("boundaries"),
        hazard_areas=source.read("hazard_areas"),
        shelters=shelters,
        reports=reports,
        needs_help=needs,
    )
    situation.evacuation = evacuation_towns(source, towns, as_of_ts)
    situation.supplies = open_supplies(source, shelters, until)
    situation.kpis = kpis(situation, counts)
    return situation


def municipal_towns(source, code: str) -> gpd.GeoDataFrame:
    """The town polygons of the municipality ``code`` (every town when none is tagged with it)."""
    towns = source.read("towns")
    if len(towns) and towns["city_code"].notna().any():
        mine = towns["city_code"].astype(str).str[:5] == code
        towns = towns[mine] if mine.any() else towns
    return towns.reset_index(drop=True)


def _safety(store, source, towns, *, public: bool, with_needs: bool, as_of: pd.Timestamp):
    """(towns with counts, residents needing help, totals) at ``as_of``."""
    until = as_of + pd.Timedelta(microseconds=1)
    if public:
        town_counts, counts = source.town_counts(towns, until=until, as_of=as_of)
        return town_counts, nobody(), counts
    roster = store.read("roster")
    replies = store.read("safety_replies", until=until)
    follow_ups = store.read("follow_ups", until=until)
    return safety_counts(roster, replies, follow_ups, towns, public=not with_needs, as_of=as_of)


def safety_by_town(
    store, *, as_of=None, public: bool = False, city_code: str | None = None
) -> tuple[gpd.GeoDataFrame, dict]:
    """The towns of the situation with their safety counts, and the totals, as
    :func:`collect_situation` counts them (without the visit list); pass the pair back as its
    ``town_counts``. Reads only the towns, the roster, the safety replies and the follow-ups."""
    as_of_ts = parse_time(as_of) if as_of is not None else pd.Timestamp(now_utc())
    public = public or isinstance(store, PublicView)
    source = PublicView(store) if public else store
    code, _, _ = municipality(source, city_code)
    towns = municipal_towns(source, code)
    counted, _, totals = _safety(store, source, towns, public=public, with_needs=False,
                                 as_of=as_of_ts)  # fmt: skip
    return counted, totals


def evacuation_towns(store, towns, as_of=None) -> gpd.GeoDataFrame:
    """The towns under evacuation information at ``as_of``, with their polygons."""
    columns = ["town_code", "level", "hazard", "since", "issued_at", "population", "geometry"]
    if store is None or towns is None or not len(towns):
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=STORE_CRS)
    found = evacuation.in_force(store, as_of)
    shapes = towns[["town_code", "population", "geometry"]].drop_duplicates("town_code")
    merged = shapes.merge(found[["town_code", "level", "hazard", "since", "issued_at"]],
                          on="town_code")  # fmt: skip
    return gpd.GeoDataFrame(merged[columns], geometry="geometry", crs=STORE_CRS)


def nobody() -> gpd.GeoDataFrame:
    """The list of residents needing help of a public situation: always empty."""
    keep = ("no", "resident_id", "name", "address", "phone", "status", "town", "replied_at")
    return gpd.GeoDataFrame({c: [] for c in keep}, geometry=gpd.GeoSeries([], crs=STORE_CRS))


def safety_counts(
    roster: pd.DataFrame,
    replies: pd.DataFrame,
    follow_ups: pd.DataFrame,
    towns: gpd.GeoDataFrame,
    *,
    public: bool,
    as_of=None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Town-level safety counts, and (internal only) the residents a team must go to.

    Everything is counted and listed by :mod:`geodata.safety`, so the map says what the
    safety page and the visit list say.

    Returns
    -------
    (towns, needs_help, totals) : ``towns`` with columns residents, replied, needs_help (newest
        reply 要救助 or 負傷), reached (not replied, reached by a follow-up), unconfirmed
        (residents = replied + reached + unconfirmed); ``needs_help`` the urgent section of the visit list
        with no, resident_id, name, address, phone, status, town, replied_at and a point (the
        reply's location, else the home) — empty when ``public``; ``totals`` roster_total,
        replied, needs_help, reached, unconfirmed over the whole roster.
    """
    states = safety.resident_states(roster, replies, follow_ups, as_of=as_of)
    table = safety.town_table(states, towns).dropna(subset=["town_code"])
    table = table.assign(residents=table["registered"], needs_help=table["負傷"] + table["要救助"])
    cols = ["residents", "replied", "needs_help", "reached", "unconfirmed"]
    out = towns.merge(table.set_index("town_code")[cols], left_on="town_code",
                      right_index=True, how="left")  # fmt: skip
    out[cols] = out[cols].fillna(0).astype(int)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)
    n = safety.totals(states)
    totals = {
        "roster_total": n["registered"],
        "replied": n["replied"],
        "needs_help": n["負傷"] + n["要救助"],
        "reached": n["reached"],
        "unconfirmed": n["unconfirmed"],
    }
    keep = ["no", "resident_id", "name", "address", "phone", "status", "town", "replied_at"]
    people = pd.DataFrame(columns=keep)
    if not public:
        listed = safety.visit_list(roster, states, towns)
        people = listed.loc[listed["section"] == safety.URGENT, keep]
    located = safety.located(people, roster, replies, as_of)
    return out, gpd.GeoDataFrame(located, geometry="geometry", crs=STORE_CRS), totals


def damage_reports(store, *, since=None, until=None, public: bool) -> gpd.GeoDataFrame:
    """Damage reports as points with a category.

    Incidents (which already merge posts, replies and field reports about one place) are used
    when the store has any: the damage reports of [since, until) as
    :func:`geodata.feed.damage_reports` defines them, so the map counts what the reports page
    counts. A store without incidents (loaded before incidents were linked) gets field reports
    and SNS posts (not their copies) one by one. Posts are only read by column, so their authors
    and texts never enter the situation.
    """
    crs = STORE_CRS
    # last_seen >= since in SQL; first_seen < until by the rule (an incident still going on at
    # ``until`` was known then). ``store`` may be a PublicView (no count(): read one row).
    stored = store.read("incidents", since=since)
    if len(stored) or len(store.read("incidents", limit=1)):
        return incident_points(feed.damage_reports(stored, since=since, until=until))
    field_reports = store.read("field_reports", since=since, until=until)
    posts = store.read(
        "posts",
        since=since,
        until=until,
        where={"triage": list(PUBLIC_TRIAGE if public else INTERNAL_TRIAGE)},
        columns=["categories", "triage", "repost_of", "geometry"],
    )
    posts = posts[posts.geometry.notna() & ~posts.geometry.is_empty & posts["repost_of"].isna()]
    post_cats = [_first_category(c) for c in posts["categories"]]
    frames = [
        _points(
            pd.DataFrame({"category": field_reports["category"], "kind": "field"}),
            field_reports.geometry,
            crs,
        ),
        _points(pd.DataFrame({"category": post_cats, "kind": "post"}), posts.geometry, crs),
    ]
    out = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(map(len, frames))
        else frames[0]
    )
    out["category"] = [c if c in CATEGORIES else "その他" for c in out["category"]]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)


def incident_points(incidents: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The damage reports of :func:`geodata.feed.damage_reports` as points with a category."""
    points = incidents.geometry.representative_point()
    frame = pd.DataFrame({"category": incidents["category"], "kind": "incident"})
    return _points(frame, points, STORE_CRS)


def _first_category(value) -> str:
    if isinstance(value, (list, tuple)) and value:
        return str(value[0])
    return "その他"


def open_supplies(source, shelters: pd.DataFrame, until) -> pd.DataFrame:
    """The supply requests open at ``until`` (their newest version by then), urgent first, with
    the shelter's name."""
    history = source.read("supply_requests", until=until)
    still = supplies.open_requests(supplies.current(history))
    names = dict(zip(shelters["shelter_id"], shelters["name"], strict=True))
    return still.assign(name=[names.get(sid, sid) for sid in still["shelter_id"]])


def _points(frame: pd.DataFrame, geoms, crs) -> gpd.GeoDataFrame:
    frame = frame.reset_index(drop=True)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(list(geoms), crs=crs).reset_index(drop=True), crs=crs
    )


def kpis(situation: Situation, safety: dict) -> dict:
    """The KPI table of the situation map.

    Returns
    -------
    dict with shelters_total, shelters_open (開設 + 満員), shelters_full, evacuees and capacity
    (of open shelters), roster_total, replied, needs_help, reached, unconfirmed (``safety``),
    reports_total and reports_by_category (category -> count, in the order of
    :data:`geodata.schema.CATEGORIES`), evacuation_towns and evacuation_population (towns under
    避難指示 or higher, and who lives there), evacuation_issued_at (the newest issue in force);
    care_total and care_counted (要配慮者 at the open shelters that counted them:
    :func:`geodata.shelters.care_summary`; None in the public version — a city total beside
    the published per-shelter totals would give a marked small one away), supplies_open and
    supplies_urgent (open supply requests, and the 至急 among them).
    """
    shelters = shelter_summary(situation.shelters)
    care = care_summary(situation.shelters)
    still = situation.supplies
    by_cat = situation.reports["category"].value_counts()
    return {
        "shelters_total": shelters["shelters"],
        "shelters_open": shelters["open"],
        "shelters_full": shelters["full"],
        "evacuees": shelters["evacuees"],
        "capacity": shelters["capacity"],
        **safety,
        **_evacuation_kpis(situation.evacuation),
        "reports_total": int(len(situation.reports)),
        "reports_by_category": {c: int(by_cat[c]) for c in CATEGORIES if c in by_cat.index},
        "care_total": None if situation.public else care["care_total"],
        "care_counted": None if situation.public else care["care_counted"],
        "supplies_open": int(len(still)),
        "supplies_urgent": int((still["urgency"] == supplies.URGENT).sum()) if len(still) else 0,
    }


def _evacuation_kpis(towns: gpd.GeoDataFrame) -> dict:
    ordered = towns[towns["level"].fillna(0).astype(int) >= evacuation.ORDER_LEVEL]
    pop = pd.to_numeric(ordered["population"], errors="coerce").fillna(0).sum()
    return {
        "evacuation_towns": int(len(ordered)),
        "evacuation_population": int(pop),
        "evacuation_issued_at": towns["since"].max() if len(towns) else None,
    }
