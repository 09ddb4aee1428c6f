"""The HQ's common picture (geodata.picture): live KPIs with thresholds, the same counts as the
situation map, and a public picture for wall and viewer screens that holds no resident."""

from __future__ import annotations

import pandas as pd
import pytest

from geodata import picture, safety
from geodata.export.public import SMALL, WITHHELD
from tests.test_drill import REF


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    from geodata.incidents import link_stored
    from geodata.reference.files import load_reference
    from geodata.store.core import open_store
    from ingest.base import IngestContext
    from ingest.drill.load import load_into_store
    from ingest.drill.scenario import FIXED_ANCHOR, generate
    from ingest.runner import enrich_posts

    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('picture')}/s.sqlite")
    for layer, frame in load_reference("13208", REF).frames.items():
        s.upsert(layer, frame, source="reference")
    x = generate(seed=4, posts=400, roster=80, anchor=FIXED_ANCHOR, reference_dir=REF)
    context = IngestContext(s)
    load_into_store(x, s, enrich=lambda frame: enrich_posts(frame, context))
    posts = s.read("posts")
    urgent = pd.to_numeric(posts["urgency"], errors="coerce").fillna(0) >= 3
    located = urgent & posts.geometry.notna()
    confirmed = posts.index[located][::2]  # staff confirmed half of the urgent posts
    posts.loc[confirmed, "triage"] = "verified"
    link_stored(s, "posts", posts)
    yield s, pd.Timestamp(FIXED_ANCHOR)
    s.dispose()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("shelters_full", 0, "ok"), ("shelters_full", 1, "warn"), ("shelters_full", 3, "alert"),
        ("occupancy", 0.59, "ok"), ("occupancy", 0.6, "warn"), ("occupancy", 0.8, "alert"),
        ("unconfirmed_share", 0.35, "alert"), ("life_threatening", 1, "alert"),
        ("evacuation_level", None, "ok"), ("evacuation_level", 3, "warn"),
        ("evacuation_level", 4, "warn"), ("evacuation_level", 5, "alert"),
    ],
)  # fmt: skip
def test_thresholds(key, value, expected):
    assert picture.level(value, key) == expected


def test_the_internal_picture_counts_what_the_safety_page_counts(drill):
    store, now = drill
    p = picture.common_picture(store, public=False, now=now)
    states = safety.resident_states(
        store.read("roster"), store.read("safety_replies"), store.read("follow_ups"), as_of=now
    )
    n = safety.totals(states)
    k = p.kpis
    assert k["unconfirmed"]["value"] == n["unconfirmed"] and k["unconfirmed"]["roster"] == 80
    assert k["unconfirmed"]["level"] == picture.level(n["unconfirmed"] / 80, "unconfirmed_share")
    assert k["shelters"]["open"] == p.situation.kpis["shelters_open"]
    assert k["evacuees"]["value"] == p.situation.kpis["evacuees"]
    # damage reports of the window, in hexagons that add up to the reports drawn
    assert len(p.situation.reports) > 0
    assert int(p.hexes["count"].sum()) == len(p.situation.reports)
    assert (pd.to_numeric(p.life_threatening["urgency"]) >= 3).all()
    assert k["life_threatening"]["value"] == len(p.life_threatening) > 0
    assert k["life_threatening"]["level"] == "alert"


def test_the_public_picture_holds_no_resident(drill):
    store, now = drill
    internal = picture.common_picture(store, public=False, now=now)
    public = picture.common_picture(store, public=True, now=now)
    assert public.situation.public and public.situation.needs_help.empty
    # per-town counts: a number of at least 3 or a mark, never a small count
    for col in ("residents", "unconfirmed", "needs_help"):
        values = public.situation.towns[col]
        assert all((isinstance(v, int) and v >= 3) or v in (SMALL, WITHHELD) for v in values), col
    # only confirmed reports, so never more than the internal picture
    assert 0 < public.kpis["life_threatening"]["value"] < internal.kpis["life_threatening"]["value"]
    assert int(public.hexes["count"].sum()) < int(internal.hexes["count"].sum())
    assert set(public.life_threatening.columns) <= {
        "category", "town_code", "last_seen", "urgency", "geometry"
    }  # fmt: skip


def test_the_overview_cache_is_never_stale_after_a_write(drill, tmp_path, monkeypatch):
    """dashboard.picture caches the towns part and the damage part by the data versions of their
    own layers: a follow-up moves the counts of residents (the damage part is kept), a new
    life-threatening incident moves the damage (the towns part is kept). Neither is served
    stale after a write to one of its layers."""
    import sqlite3

    from dashboard import picture as common
    from geodata.follow_ups import follow_up_frame
    from geodata.store.core import open_store

    source, now = drill
    path = tmp_path / "copy.sqlite"
    with sqlite3.connect(source.engine.url.database) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    store = open_store(f"sqlite:///{path}")
    url = f"sqlite:///{path}"
    monkeypatch.setattr(common.data, "get_store", lambda _url: store)
    calls = {"town": 0, "damage": 0}
    for part in calls:
        real = getattr(picture, f"{part}_part")

        def counted(*a, _real=real, _part=part, **kw):
            calls[_part] += 1
            return _real(*a, **kw)

        monkeypatch.setattr(picture, f"{part}_part", counted)

    def load():
        return common.load(url, store.data_version(), False, "10:00", now)

    first = load()
    assert calls == {"town": 1, "damage": 1}
    assert load().kpis == first.kpis and calls == {"town": 1, "damage": 1}  # no write: cached

    # a team reaches an unconfirmed resident by phone before ``now``
    states = safety.resident_states(
        store.read("roster"), store.read("safety_replies"), store.read("follow_ups"), as_of=now
    )
    silent = states["status"].isna() & ~states["reached"].astype(
        bool
    )  # neither replied nor reached
    who = states.loc[silent, "resident_id"].iloc[0]
    reached = follow_up_frame(who, "phone", "reached_safe", None, by="t",
                              at=now - pd.Timedelta(minutes=5))  # fmt: skip
    store.upsert("follow_ups", reached, source="test")
    second = load()
    assert second.kpis["unconfirmed"]["value"] == first.kpis["unconfirmed"]["value"] - 1
    assert calls == {"town": 2, "damage": 1}  # the damage reports were not computed again

    # a new life-threatening incident (a copy of one with a new id) seen a minute ago
    incidents = store.read("incidents")
    one = incidents[pd.to_numeric(incidents["urgency"]) >= 3].head(1)
    one = one.assign(incident_id="test-new", first_seen=now - pd.Timedelta(minutes=1),
                     last_seen=now - pd.Timedelta(minutes=1), status="new")  # fmt: skip
    store.upsert("incidents", one, source="test")
    third = load()
    assert third.kpis["life_threatening"]["value"] == first.kpis["life_threatening"]["value"] + 1
    assert len(third.situation.reports) == len(first.situation.reports) + 1
    assert third.kpis["unconfirmed"] == second.kpis["unconfirmed"]
    assert calls == {"town": 2, "damage": 2}  # the residents' states were not computed again
    store.dispose()


def test_reports_near_a_new_reply_are_withheld_at_once(drill, tmp_path):
    """The public view keeps its index of homes and reply locations per store until the roster
    or the replies are written to: a reply sent from a place makes a report there lose its
    point on the next public read, never a refresh later."""
    import sqlite3

    import geopandas as gpd
    import shapely

    from geodata.export.public import PublicView
    from geodata.store.core import open_store

    source, _ = drill
    path = tmp_path / "copy.sqlite"
    with sqlite3.connect(source.engine.url.database) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    store = open_store(f"sqlite:///{path}")
    spot = shapely.Point(139.40, 35.60)  # west of the city: nobody lives or replied there
    report = gpd.GeoDataFrame({"category": ["倒木"]}, geometry=[spot], crs=4326)
    assert PublicView(store).withhold_near(report).geometry.iloc[0] == spot
    assert PublicView(store).withhold_near(report).geometry.iloc[0] == spot  # the index kept
    replies = store.read("safety_replies")
    reply = replies[replies.geometry.notna()].head(1).copy()
    reply["source_id"] = "test-reply-at-the-spot"
    reply = reply.set_geometry([shapely.Point(139.40001, 35.60001)], crs=4326)
    assert store.upsert("safety_replies", reply, source="test").inserted == 1
    assert PublicView(store).withhold_near(report).geometry.iloc[0] is None
    store.dispose()
