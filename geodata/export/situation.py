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

from geodata.export.common import municipality, parse_time
from geodata.export.public import PublicView
from geodata.schema import CATEGORIES, STORE_CRS, now_utc

OPEN_STATUSES = ("開設", "満員")
NEEDS_HELP = ("負傷", "要救助")
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
    towns : town polygons with ``residents``, ``replied``, ``needs_help``, ``not_replied`` (in
        the public version each an int of at least 3 or a mark, 3人未満 / 秘匿).
    boundary : the municipal boundary (may be empty).
    hazard_areas : hazard polygons.
    shelters : shelter points with ``status``, ``evacuees``, ``capacity``, ``reported_at``.
    reports : damage reports as points: ``category``, ``kind`` (incident / field / post).
    needs_help : internal only: residents whose last reply is 負傷 or 要救助, with ``no``, name,
        address, phone, status, town name and a point; empty in the public version.
    kpis : the KPI table's figures (see :func:`kpis`).
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

    towns = source.read("towns")
    if len(towns) and towns["city_code"].notna().any():
        mine = towns["city_code"].astype(str).str[:5] == code
        towns = towns[mine] if mine.any() else towns
    towns = towns.reset_index(drop=True)
    shelters = shelter_status_at(source, as_of_ts if as_of is not None else None)
    if public:
        town_counts, safety = source.town_counts(towns, until=until)
        needs = nobody()
    else:
        roster = store.read("roster")
        replies = store.read("safety_replies", until=until)
        town_counts, needs, safety = safety_counts(roster, replies, towns, public=False)
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
    situation.kpis = kpis(situation, safety)
    return situation


def shelter_status_at(store, as_of=None) -> gpd.GeoDataFrame:
    """Shelters with their status at ``as_of`` (None: the current status).

    Shelters without any status record count as 未開設 with 0 evacuees.
    """
    shelters = store.read("shelters")
    if as_of is None:
        status = store.current_shelter_status()
    else:
        history = store.read("shelter_status", until=as_of + pd.Timedelta(microseconds=1))
        status = history.sort_values("version").drop_duplicates("shelter_id", keep="last")
    cols = ["shelter_id", "status", "evacuees", "households", "needs", "reported_at", "version"]
    merged = shelters.merge(status[cols], on="shelter_id", how="left")
    merged["status"] = merged["status"].fillna("未開設")
    merged["evacuees"] = merged["evacuees"].astype("Int64").fillna(0)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=STORE_CRS)


def nobody() -> gpd.GeoDataFrame:
    """The list of residents needing help of a public situation: always empty."""
    return gpd.GeoDataFrame(
        {c: [] for c in ("no", "resident_id", "name", "address", "phone", "status", "town")},
        geometry=gpd.GeoSeries([], crs=STORE_CRS),
    )


def latest_replies(replies: pd.DataFrame) -> pd.DataFrame:
    """The newest reply of each matched resident (replies without a resident are dropped)."""
    matched = replies[replies["resident_id"].notna()]
    return matched.sort_values("replied_at", kind="stable").drop_duplicates(
        "resident_id", keep="last"
    )


def safety_counts(
    roster: pd.DataFrame, replies: pd.DataFrame, towns: gpd.GeoDataFrame, *, public: bool
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Town-level safety counts, and (internal only) the residents who need help.

    Returns
    -------
    (towns, needs_help, totals) : ``towns`` with columns residents, replied, needs_help,
        not_replied; ``needs_help`` with no, resident_id, name, address, phone, status, town,
        replied_at and a point (the reply's location, else the resident's home) — empty when
        ``public``; ``totals`` the same four counts over the whole roster.
    """
    last = latest_replies(replies)
    people = roster[["resident_id", "town_code"]].merge(
        last[["resident_id", "status"]], on="resident_id", how="left"
    )
    people["replied"] = people["status"].notna()
    people["needs_help"] = people["status"].isin(NEEDS_HELP)
    per_town = people.groupby("town_code", dropna=False).agg(
        residents=("resident_id", "size"),
        replied=("replied", "sum"),
        needs_help=("needs_help", "sum"),
    )
    per_town["not_replied"] = per_town["residents"] - per_town["replied"]
    totals = {
        "roster_total": int(len(people)),
        "replied": int(people["replied"].sum()),
        "needs_help": int(people["needs_help"].sum()),
        "not_replied": int((~people["replied"]).sum()),
    }
    out = towns.merge(per_town, left_on="town_code", right_index=True, how="left")
    for col in ("residents", "replied", "needs_help", "not_replied"):
        out[col] = out[col].fillna(0).astype(int)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)
    empty = gpd.GeoDataFrame(
        {c: [] for c in ("no", "resident_id", "name", "address", "phone", "status", "town")},
        geometry=gpd.GeoSeries([], crs=STORE_CRS),
    )
    if public:
        return out, empty, totals
    helped = last[last["status"].isin(NEEDS_HELP)]
    if helped.empty:
        return out, empty, totals
    cols = ["resident_id", "name", "address", "phone", "town_code", "care_priority", "geometry"]
    rows = helped.merge(roster[cols], on="resident_id", how="inner", suffixes=("", "_home"))
    points = [
        g if g is not None and not g.is_empty else h
        for g, h in zip(rows["geometry"], rows["geometry_home"], strict=True)
    ]
    names = dict(zip(towns["town_code"], towns["name"], strict=False))
    rank = rows["status"].map({"要救助": 0, "負傷": 1})
    rows = rows.assign(_rank=rank, town=rows["town_code"].map(names))
    rows = gpd.GeoDataFrame(
        rows.drop(columns=["geometry", "geometry_home"]),
        geometry=gpd.GeoSeries(points, crs=STORE_CRS),
    )
    rows = rows.sort_values(["_rank", "care_priority", "replied_at"], na_position="last")
    rows = rows.reset_index(drop=True)
    rows["no"] = range(1, len(rows) + 1)
    keep = ["no", "resident_id", "name", "address", "phone", "status", "town", "replied_at"]
    return out, rows[keep + ["geometry"]], totals


def damage_reports(store, *, since=None, until=None, public: bool) -> gpd.GeoDataFrame:
    """Damage reports as points with a category.

    Incidents (which already merge posts, replies and field reports about one place) are used
    when the store has any; otherwise field reports and SNS posts are shown one by one. Posts
    are only read by column, so their authors and texts never enter the situation.
    """
    crs = STORE_CRS
    incidents = store.read("incidents", since=since, until=until)
    if len(incidents):
        points = incidents.geometry.representative_point()
        frame = pd.DataFrame({"category": incidents["category"], "kind": "incident"})
        return _points(frame, points, crs)
    field_reports = store.read("field_reports", since=since, until=until)
    posts = store.read(
        "posts",
        since=since,
        until=until,
        where={"triage": list(PUBLIC_TRIAGE if public else INTERNAL_TRIAGE)},
        columns=["categories", "triage", "geometry"],
    )
    posts = posts[posts.geometry.notna() & ~posts.geometry.is_empty]
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


def _first_category(value) -> str:
    if isinstance(value, (list, tuple)) and value:
        return str(value[0])
    return "その他"


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
    (of open shelters), roster_total, replied, needs_help, not_replied (from ``safety``),
    reports_total and reports_by_category (category -> count, in the order of
    :data:`geodata.schema.CATEGORIES`).
    """
    shelters = situation.shelters
    is_open = shelters["status"].isin(OPEN_STATUSES)
    by_cat = situation.reports["category"].value_counts()
    return {
        "shelters_total": int(len(shelters)),
        "shelters_open": int(is_open.sum()),
        "shelters_full": int((shelters["status"] == "満員").sum()),
        "evacuees": int(shelters.loc[is_open, "evacuees"].fillna(0).sum()),
        "capacity": int(shelters.loc[is_open, "capacity"].fillna(0).sum()),
        **safety,
        "reports_total": int(len(situation.reports)),
        "reports_by_category": {c: int(by_cat[c]) for c in CATEGORIES if c in by_cat.index},
    }
