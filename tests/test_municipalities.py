"""Several municipalities on one system: each user sees and writes only their municipalities'
rows (geodata/store/core.py ``Store.scoped``), on both backends; on PostGIS row-level security
keeps the personal layers to the transaction's scope even for raw SQL."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geodata.access import accounts
from geodata.incidents import with_members
from geodata.schema import MUNICIPALITY
from geodata.store.core import OutOfScope, UnknownRecord, open_store, scoped_url

CHOFU, KOGANEI = "13208", "13210"
T0 = pd.Timestamp("2026-10-12T03:00:00Z")


def _roster(city: str, ids: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "resident_id": ids,
            "name": [f"{city} 住民{i}" for i in ids],
            "phone": ["090-0000-0000"] * len(ids),
            "town_code": [f"{city}001001"] * len(ids),
            "care_priority": [1] * len(ids),
            MUNICIPALITY: [city] * len(ids),
        },
        geometry=[shapely.Point(139.5 + i * 0.001, 35.65) for i in range(len(ids))],
        crs=4326,
    )


def _replies(city: str, resident_ids: list[str]) -> gpd.GeoDataFrame:
    n = len(resident_ids)
    return gpd.GeoDataFrame(
        {
            "source": ["line"] * n,
            "source_id": [f"{city}-{r}" for r in resident_ids],
            "resident_id": resident_ids,
            "channel": ["line"] * n,
            "status": ["要救助"] * n,
            "needs_text": ["足を怪我して動けない"] * n,
            "sender_id": [f"U{city}{r}" for r in resident_ids],
            "replied_at": [T0] * n,
            MUNICIPALITY: [city] * n,
        },
        geometry=[None] * n,
        crs=4326,
    )


def _follow_ups(city: str, resident_ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"fu-{city}-{r}" for r in resident_ids],
            "resident_id": resident_ids,
            "action": ["phone"] * len(resident_ids),
            "outcome": ["no_answer"] * len(resident_ids),
            "note": ["留守電に残した"] * len(resident_ids),
            "by": ["suzuki"] * len(resident_ids),
            "at": [T0] * len(resident_ids),
            MUNICIPALITY: [city] * len(resident_ids),
        }
    )


def _two_cities(store) -> None:
    """調布市 (R1, R2) and 小金井市 (K1, K2, K3): roster, replies, follow-ups of each."""
    for city, ids in ((CHOFU, ["R1", "R2"]), (KOGANEI, ["K1", "K2", "K3"])):
        assert store.upsert("roster", _roster(city, ids)).inserted == len(ids)
        assert store.upsert("safety_replies", _replies(city, ids)).inserted == len(ids)
        assert store.upsert("follow_ups", _follow_ups(city, ids[:1])).inserted == 1


PERSONAL = {"roster": "resident_id", "safety_replies": "resident_id", "follow_ups": "resident_id"}


def test_an_operator_of_one_city_reads_only_its_roster_replies_and_follow_ups(store):
    _two_cities(store)
    chofu = store.scoped([CHOFU])
    assert sorted(chofu.read("roster")["resident_id"]) == ["R1", "R2"]
    assert sorted(chofu.read("safety_replies")["resident_id"]) == ["R1", "R2"]
    assert chofu.read("follow_ups")["resident_id"].tolist() == ["R1"]
    assert chofu.count("roster") == 2 and chofu.count("safety_replies") == 2
    # another city's rows are not there for it, whichever way it asks
    assert chofu.get("roster", "K1") is None
    assert chofu.get("follow_ups", f"fu-{KOGANEI}-K1") is None
    assert chofu.read("roster", where={"resident_id": ["K1", "R1"]})["resident_id"].tolist() == [
        "R1"
    ]
    assert chofu.read("roster", where={MUNICIPALITY: KOGANEI}).empty
    assert chofu.count("safety_replies", where={"resident_id": "K2"}) == 0
    # the domain's builders read through it: the visit list holds 調布市's residents only
    from geodata.safety import read_visit_list

    assert set(read_visit_list(chofu)["resident_id"]) <= {"R1", "R2"}
    # the other city sees its own; the unscoped store (ingest, admin commands) sees both
    koganei = store.scoped([KOGANEI])
    assert sorted(koganei.read("roster")["resident_id"]) == ["K1", "K2", "K3"]
    assert koganei.read("follow_ups")["resident_id"].tolist() == ["K1"]
    assert store.count("roster") == 5
    both = store.scoped([CHOFU, KOGANEI])
    assert both.count("safety_replies") == 5
    assert both.scoped([KOGANEI]).count("roster") == 3  # narrowing is fine
    with pytest.raises(OutOfScope):  # widening is not
        chofu.scoped([CHOFU, KOGANEI])


def test_a_scoped_store_never_writes_another_citys_rows(store):
    _two_cities(store)
    chofu = store.scoped([CHOFU])
    with pytest.raises(UnknownRecord):
        chofu.update("roster", "K1", {"phone": "000"}, actor="chofu-op")
    with pytest.raises(OutOfScope):  # a row of another city
        chofu.upsert("roster", _roster(KOGANEI, ["K9"]))
    with pytest.raises(OutOfScope):  # taking over a stored row of another city by its key
        chofu.upsert("roster", _roster(CHOFU, ["K1"]))
    assert chofu.delete("follow_ups", [f"fu-{KOGANEI}-K1"]) == 0
    assert store.get("roster", "K1")["phone"] == "090-0000-0000"  # untouched
    assert store.get("roster", "K1")[MUNICIPALITY] == KOGANEI
    assert store.count("follow_ups") == 2
    # its own writes without a municipality are its city's
    new = _follow_ups(CHOFU, ["R2"]).drop(columns=[MUNICIPALITY])
    assert chofu.upsert("follow_ups", new, actor="chofu-op").inserted == 1
    assert store.get("follow_ups", f"fu-{CHOFU}-R2")[MUNICIPALITY] == CHOFU
    assert chofu.update("roster", "R1", {"phone": "111"}, actor="chofu-op")["phone"] == "111"


def test_the_scoped_url_opens_a_scoped_store(store_url):
    store = open_store(store_url)
    _two_cities(store)
    scoped = open_store(scoped_url(store_url, [KOGANEI]))
    assert scoped.municipalities == (KOGANEI,)
    assert sorted(scoped.read("roster")["resident_id"]) == ["K1", "K2", "K3"]
    scoped.dispose()
    store.dispose()


def test_users_belong_to_municipalities_audited(store):
    user = accounts.add_user(
        store, "koganei-op", "operator", "a long enough secret", actor="cli:admin",
        municipalities=["132101", KOGANEI, " "],
    )  # fmt: skip
    assert user.municipalities == (KOGANEI,) and user.scope == (KOGANEI,)
    plain = accounts.add_user(store, "chofu-op", "operator", "another long secret", actor="x")
    assert plain.municipalities == () and plain.scope == ("13208",)  # the configured one
    record = accounts.set_municipalities(store, "chofu-op", [CHOFU, KOGANEI], actor="cli:admin")
    assert record["municipalities"] == [CHOFU, KOGANEI]
    assert accounts.get_user(store, "chofu-op").scope == (CHOFU, KOGANEI)
    with pytest.raises(accounts.AccountError):
        accounts.set_municipalities(store, "chofu-op", ["調布市"], actor="cli:admin")
    audit = store.read_audit(layer="users")
    assert "users:set-municipalities" in set(audit["action"])
    claims = {"sub": "s1", "email": "a@city.jp", "email_verified": True, "roles": ["ops"]}
    cfg = {"claim_roles": {"ops": "operator"}, "municipalities": {"a@city.jp": ["13210"]}}
    assert accounts.user_from_claims(claims, cfg).scope == (KOGANEI,)


def test_the_dashboard_reads_through_the_users_municipality(sqlite_url, monkeypatch):
    """dashboard.data: the URL every page opens is scoped to the user's current municipality."""
    from streamlit.testing.v1 import AppTest

    store = open_store(sqlite_url)
    _two_cities(store)
    store.dispose()
    monkeypatch.setenv("BOSAI_DB_URL", sqlite_url)

    def page():
        import streamlit as st

        from dashboard import data
        from geodata.access.roles import User

        user = User("op", "operator", municipalities=tuple(st.session_state["codes"]))
        data.use_user(user)
        store = data.get_store(data.db_url())
        st.write(",".join(sorted(store.read("roster")["resident_id"])))
        area = data.get_store(data.area_url())
        st.write(",".join(sorted(area.read("roster")["resident_id"])))

    app = AppTest.from_function(page)
    app.session_state["codes"] = [KOGANEI]
    app.run()
    assert [m.value for m in app.markdown] == ["K1,K2,K3", "K1,K2,K3"]
    app.session_state["codes"] = [CHOFU, KOGANEI]
    app.session_state["bosai_municipality"] = KOGANEI  # the sidebar switch
    app.run()
    assert [m.value for m in app.markdown] == ["K1,K2,K3", "K1,K2,K3,R1,R2"]
    app.session_state["bosai_municipality"] = "13215"  # not one of theirs: their first
    app.run()
    assert [m.value for m in app.markdown] == ["R1,R2", "K1,K2,K3,R1,R2"]


@pytest.mark.postgis
def test_row_level_security_keeps_raw_sql_to_the_scope(pg_cluster):
    """PostGIS: the app's own role — an ordinary role owning the database and the tables it made,
    which RLS would spare without FORCE — reads another city's personal rows with raw SQL in a
    scoped transaction and gets nothing; nor may it write one."""
    app = open_store(pg_cluster.database_of_ordinary_role(postgis=True))
    _two_cities(app)  # the unscoped store (ingest, admin commands): the explicit "all" scope
    assert app.count("roster") == 5
    chofu = app.scoped([CHOFU])
    with chofu.transaction():
        conn = chofu._joined()
        for table, column in PERSONAL.items():
            rows = conn.exec_driver_sql(
                f"SELECT {column} FROM {table} WHERE municipality = '{KOGANEI}'"
            ).all()
            assert rows == [], table  # row-level security, not the Python filter
            own = {r[0] for r in conn.exec_driver_sql(f"SELECT {column} FROM {table}")}
            assert own == ({"R1"} if table == "follow_ups" else {"R1", "R2"}), table
        with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
            with conn.begin_nested():
                conn.exec_driver_sql(
                    "INSERT INTO roster (resident_id, name, municipality) VALUES ('X', 'x', %s)",
                    (KOGANEI,),
                )
        changed = conn.exec_driver_sql("UPDATE roster SET phone = '0' WHERE resident_id = 'K1'")
        assert changed.rowcount == 0
    # a connection that set no scope sees no personal row at all
    with app.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM roster").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM posts").scalar() == 0  # not personal
    assert app.get("roster", "K1")["phone"] == "090-0000-0000"
    assert app.scoped([KOGANEI]).count("safety_replies") == 3
    app.dispose()


# -- the area view ------------------------------------------------------------------------------


def _area_store(store) -> None:
    """調布市: 2 towns, 2 shelters (開設 40, 満員 120), 10 residents of whom 4 replied, the JMA
    warnings of the fixtures; 小金井市: 1 town, 1 shelter (開設 15), 5 residents of whom 4
    replied, 避難指示 for the whole city."""
    from geodata import evacuation
    from geodata.access.roles import User
    from tests.test_warnings import load

    towns = gpd.GeoDataFrame(
        {"town_code": ["13208008001", "13208008003", "13210001001"],
         "city_code": [CHOFU, CHOFU, KOGANEI], "name": ["布田一丁目", "布田三丁目", "本町一丁目"],
         "city_name": ["調布市", "調布市", "小金井市"], "population": [900, 800, 1500],
         MUNICIPALITY: [CHOFU, CHOFU, KOGANEI]},
        geometry=[shapely.box(139.54, 35.64, 139.545, 35.645), shapely.box(139.545, 35.64, 139.55,
                  35.645), shapely.box(139.50, 35.69, 139.51, 35.70)],
        crs=4326,
    )  # fmt: skip
    store.upsert("towns", towns)
    for city, ids in ((CHOFU, ["S1", "S2"]), (KOGANEI, ["K-S1"])):
        shelters = gpd.GeoDataFrame(
            {"shelter_id": ids, "name": [f"{i}小学校" for i in ids], "kind": ["shelter"] * len(ids),
             "capacity": [100] * len(ids), MUNICIPALITY: [city] * len(ids)},
            geometry=[shapely.Point(139.54, 35.64)] * len(ids), crs=4326,
        )  # fmt: skip
        store.upsert("shelters", shelters)
    for sid, city, status, evacuees in (
        ("S1", CHOFU, "開設", 40), ("S2", CHOFU, "満員", 120), ("K-S1", KOGANEI, "開設", 15)
    ):  # fmt: skip
        store.scoped([city]).update_shelter_status(
            sid, {"status": status, "evacuees": evacuees}, base_version=0, actor="staff",
            reported_at=T0,
        )  # fmt: skip
    for city, n, replied in ((CHOFU, 10, 4), (KOGANEI, 5, 4)):
        ids = [f"{city}-{i}" for i in range(n)]
        store.upsert("roster", _roster(city, ids))
        replies = _replies(city, ids[:replied])
        replies["status"] = "無事"
        store.upsert("safety_replies", replies)
    load(store, ["vpww55_advisory.xml", "vpww55_warning.xml"])  # 調布市's JMA source
    koganei = store.scoped([KOGANEI])
    evacuation.issue(koganei, level=4, hazard="flood", whole_city=True, reason="野川 氾濫危険水位",
                     user=User("koganei-chief", "admin"), at=T0)  # fmt: skip


def test_the_area_view_gives_each_citys_situation_with_small_counts_masked(store):
    from geodata.area import PERSON_COLUMNS, area_summary
    from geodata.export.public import SMALL, WITHHELD

    _area_store(store)
    at = pd.Timestamp("2026-10-12T12:30:00+09:00")
    table, totals = area_summary(store.scoped([CHOFU, KOGANEI]), at)
    rows = table.set_index("municipality")
    assert list(rows.index) == [CHOFU, KOGANEI]
    assert rows.loc[CHOFU, "city_name"] == "調布市" and rows.loc[KOGANEI, "city_name"] == "小金井市"
    assert (rows.loc[CHOFU, "shelters"], rows.loc[CHOFU, "shelters_open"]) == (2, 2)
    assert rows.loc[CHOFU, "evacuees"] == 160
    assert (rows.loc[KOGANEI, "shelters_open"], rows.loc[KOGANEI, "evacuees"]) == (1, 15)
    assert rows.loc[CHOFU, "warnings"] == 1 and rows.loc[CHOFU, "warning_level"] == 3
    assert rows.loc[KOGANEI, "warnings"] == 0 and pd.isna(rows.loc[KOGANEI, "warning_level"])
    assert pd.isna(rows.loc[CHOFU, "evacuation_level"])
    assert rows.loc[KOGANEI, "evacuation_level"] == 4
    assert rows.loc[KOGANEI, "evacuation_towns"] == 1
    # non-responders: 小金井市 1 of 5 is a small count and leaves masked; 調布市's 6 of 10 is
    # withheld too, as the area total (7) would give 小金井市's away
    assert rows.loc[CHOFU, "residents"] == 10
    assert rows.loc[KOGANEI, "unconfirmed"] == SMALL
    assert rows.loc[CHOFU, "unconfirmed"] == WITHHELD
    shown = [v for col in PERSON_COLUMNS for v in table[col]]
    assert not [v for v in shown if isinstance(v, int) and v < 3]
    assert totals["residents"] == 15 and totals["unconfirmed"] == 7
    # a user of one city gets that city only; the command line's unscoped store every city
    alone, _ = area_summary(store.scoped([KOGANEI]), at)
    assert alone["municipality"].tolist() == [KOGANEI]
    assert area_summary(store, at)[0]["municipality"].tolist() == [CHOFU, KOGANEI]


def test_a_sources_rows_belong_to_its_configured_municipality(store, tmp_path):
    """sources.toml ``municipality``: the source's rows and the incidents they make are 13210's;
    a source without one writes BOSAI_MUNICIPALITY's (13208)."""
    from ingest.runner import run_source
    from ingest.sources_config import ConfigError, build_sources

    lines = [
        '{"post_id": "1", "text": "小金井市本町で道路が冠水しています", "posted_at": "2026-10-12T12:00:00+09:00",'
        ' "lat": 35.70, "lon": 139.51}',
        '{"post_id": "2", "text": "本町一丁目 冠水で車が立ち往生", "posted_at": "2026-10-12T12:05:00+09:00",'
        ' "lat": 35.7001, "lon": 139.5101}',
    ]  # fmt: skip
    (tmp_path / "koganei.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "chofu.jsonl").write_text(
        lines[0].replace('"1"', '"9"').replace("小金井市本町", "調布市布田") + "\n",
        encoding="utf-8",
    )
    doc = {
        "source": [
            {"name": "koganei-posts", "type": "posts_file", "path": "koganei.jsonl",
             "platform": "x", "municipality": "132101"},
            {"name": "chofu-posts", "type": "posts_file", "path": "chofu.jsonl", "platform": "x"},
        ]
    }  # fmt: skip
    sources = build_sources(doc, tmp_path).sources
    assert [s.municipality for s in sources] == [KOGANEI, None]
    for source in sources:
        assert run_source(store, source, from_start=True)["error"] is None
    posts = store.read("posts").set_index("post_id")[MUNICIPALITY].to_dict()
    assert posts == {"1": KOGANEI, "2": KOGANEI, "9": CHOFU}

    def members(city):  # the posts the city's incidents are made of
        scoped = store.scoped([city])
        frame = with_members(scoped, scoped.read("incidents"))
        return {key for m in frame["members"] for _layer, key in m}

    assert members(KOGANEI) == {"x:1", "x:2"}  # not 調布市's post 9, whose linking came later
    assert members(CHOFU) == {"x:9"}
    assert store.scoped([CHOFU]).read("posts")["post_id"].tolist() == ["9"]
    with pytest.raises(ConfigError, match="municipality"):
        build_sources({"source": [{"name": "a", "type": "posts_file", "path": "x",
                                   "municipality": "調布市"}]}, tmp_path)  # fmt: skip


def test_the_area_table_as_shown_in_english(store, monkeypatch):
    from dashboard import area as area_view
    from geodata.area import area_summary

    _area_store(store)
    summary, totals = area_summary(store.scoped([CHOFU, KOGANEI]), "2026-10-12T12:30:00")
    monkeypatch.setattr(area_view, "t", lambda key, **kw: key)  # the catalogue keys, not a session
    shown = area_view.table(summary, totals, "en").set_index("area.city")
    assert list(shown.index) == ["調布市（13208）", "小金井市（13210）", "area.total"]
    assert shown.loc["小金井市（13210）", "area.evacuation"] == "Evacuation order"
    assert shown.loc["調布市（13208）", "area.evacuation"] == "warning_status.none"
    assert shown.loc["調布市（13208）", "area.warning_level"] == "3"
    assert shown.loc["area.total", "measure.evacuees"] == "175"
    assert shown.loc["area.total", "area.unconfirmed"] == "7"
    assert shown.loc["小金井市（13210）", "area.unconfirmed"] == "3人未満"


def test_the_export_command_exports_one_municipality(sqlite_url, tmp_path, capsys):
    import json

    from ingest.cli import main

    store = open_store(sqlite_url)
    _area_store(store)
    store.dispose()

    def export(*extra) -> set[str]:
        out = tmp_path / f"shelters{len(extra)}.csv"
        argv = ["export", "layer", "shelters", "--format", "csv", "--db", sqlite_url]
        code = main([*argv, "--out", str(out), *extra, "--json"])
        assert code == 0, capsys.readouterr().err
        json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
        assert set(frame["所属団体コード"]) <= {CHOFU, KOGANEI}
        return set(frame["避難所ID"])

    assert export() == {"S1", "S2"}  # BOSAI_MUNICIPALITY (13208)
    assert export("--municipality", "132101") == {"K-S1"}
    assert main(["export", "layer", "shelters", "--db", sqlite_url, "--municipality", "x"]) != 0


def test_a_campaign_for_every_town_reaches_its_own_city_only(store):
    """The sender (``python -m ingest campaigns``, unscoped) sends each campaign through its
    municipality's store: 「全町丁目」 of 調布市 is not 小金井市's residents."""
    from geodata.campaigns import create_campaign
    from ingest.outbound.campaigns import run_once
    from ingest.outbound.line import SendResult

    class Client:  # a LINE client that records whom it would message
        def __init__(self):
            self.to: list[str] = []

        def remaining(self):
            return 1000

        def multicast(self, to, messages, retry_key=None):
            self.to += list(to)
            return SendResult("sent", 200, "req-1", retry_key)

    for city, ids in ((CHOFU, ["R1", "R2"]), (KOGANEI, ["K1", "K2", "K3"])):
        roster = _roster(city, ids)
        roster["chat_user_id"] = [f"U{city}{i}" for i in ids]
        store.upsert("roster", roster)
    chofu = store.scoped([CHOFU])
    create_campaign(chofu, towns=[], question="避難所に避難しましたか", actor="op")
    client = Client()
    run_once(store, client)
    assert sorted(client.to) == ["U13208R1", "U13208R2"]
    assert set(store.read("deliveries")[MUNICIPALITY]) == {CHOFU}
