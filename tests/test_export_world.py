"""A small 調布市 built in code for the export tests, and the values the tests expect.

``build_world(store)`` fills a store with 12 towns (1 km squares with real town names), a
flood-hazard strip along the 多摩川, 6 shelters with status histories, 8 residents of the
要支援者 roster (fictional people), safety replies, posts and field reports, all before
``AS_OF`` (2026-10-12 21:00 JST) except one shelter update just after it.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

AS_OF = "2026-10-12T21:00:00+09:00"
AS_OF_LABEL = "2026年10月12日 21:00"
CITY_CODE = "13208"

TOWN_NAMES = (
    ("13208006001", "深大寺北町一丁目"), ("13208007002", "佐須町二丁目"),
    ("13208008003", "西つつじケ丘三丁目"), ("13208009001", "仙川町一丁目"),
    ("13208001001", "飛田給一丁目"), ("13208002002", "上石原二丁目"),
    ("13208003001", "小島町一丁目"), ("13208004002", "国領町二丁目"),
    ("13208005001", "多摩川一丁目"), ("13208005003", "多摩川三丁目"),
    ("13208010002", "染地二丁目"), ("13208011001", "布田一丁目"),
)  # fmt: skip
ORIGIN = (-27900.0, -40500.0)  # EPSG:6677 lower-left corner of the grid (139.525E 35.635N)

SHELTERS = (
    # id, name, kana, address, town index, capacity, estimated, hazards
    ("E1320800028111", "第三小学校", "ダイサンショウガッコウ", "東京都調布市上石原2-19-13", 5, 500, False, ["earthquake", "large_fire"]),
    ("E1320800045111", "布田小学校", "フダショウガッコウ", "東京都調布市染地1-1-85", 10, 600, False, ["earthquake", "flood"]),
    ("E1320800054111", "都立調布南高校", "トリツチョウフミナミコウコウ", "東京都調布市多摩川6-2-1", 8, 700, True, ["earthquake"]),
    ("E1320800066111", "石原小学校", "イシハラショウガッコウ", "東京都調布市富士見町1-37-1", 6, 500, False, ["earthquake"]),
    ("E1320800035111", "北ノ台小学校", "キタノダイショウガッコウ", "東京都調布市深大寺北町2-41-1", 0, 450, False, []),
    ("E1320800022111", "若葉小学校", "ワカバショウガッコウ", "東京都調布市若葉町3-17-5", 3, 500, False, ["earthquake"]),
)  # fmt: skip
# shelter id, JST time, status, evacuees
STATUS_HISTORY = (
    ("E1320800028111", "2026-10-12T18:00", "開設", 40),
    ("E1320800028111", "2026-10-12T20:30", "開設", 120),
    ("E1320800045111", "2026-10-12T18:10", "開設", 300),
    ("E1320800045111", "2026-10-12T20:00", "満員", 600),
    ("E1320800054111", "2026-10-12T19:00", "開設", 35),
    ("E1320800066111", "2026-10-12T18:30", "閉鎖", 0),
    ("E1320800028111", "2026-10-12T21:30", "開設", 150),  # after AS_OF
)
# Open at AS_OF: 第三小学校 120/500, 布田小学校 600/600 (満員), 都立調布南高校 35/約700.
EXPECTED = {
    "shelters_total": 6,
    "shelters_open": 3,
    "shelters_full": 1,
    "evacuees": 755,
    "capacity": 1800,
    "roster_total": 8,
    "replied": 3,
    "needs_help": 2,
    "reached": 0,
    "unconfirmed": 5,
}
ROSTER = (
    # id, name, kana, address, phone, town index, care needs, priority, supporter
    ("R001", "山田 太郎", "ヤマダ タロウ", "東京都調布市多摩川三丁目12-4", "042-481-0001", 9, "要介護3・車いす", 1, "民生委員 鈴木 節子"),
    ("R002", "佐藤 ハナ", "サトウ ハナ", "東京都調布市多摩川一丁目5-8", "042-481-0002", 8, "視覚障害", 1, "長男 佐藤 健"),
    ("R003", "髙橋 和子", "タカハシ カズコ", "東京都調布市染地二丁目3-1-205", "042-481-0003", 10, "人工透析", 2, "自主防災会 染地"),
    ("R004", "田中 正男", "タナカ マサオ", "東京都調布市国領町二丁目7-7", "090-1111-0004", 7, "要介護2", 2, None),
    ("R005", "伊藤 美代子", "イトウ ミヨコ", "東京都調布市小島町一丁目1-1", "042-481-0005", 6, "聴覚障害", 3, "民生委員 高田 明"),
    ("R006", "渡辺 茂", "ワタナベ シゲル", "東京都調布市多摩川三丁目20-2", "042-481-0006", 9, "要介護4・寝たきり", 1, "ケアマネ 中村"),
    ("R007", "小林 春江", "コバヤシ ハルエ", "東京都調布市布田一丁目4-9", "042-481-0007", 11, "認知症", 2, None),
    ("R008", "加藤 𠮷男", "カトウ ヨシオ", "東京都調布市飛田給一丁目2-2", "042-481-0008", 4, "下肢障害", 3, "隣人 木村"),
)  # fmt: skip
# R001 safe, R002 needs rescue, R003 injured (at a reported location); others have not replied.
REPLIES = (
    ("line", "m1", "R001", "無事", "2026-10-12T19:05", None),
    ("web_form", "f1", "R002", "要救助", "2026-10-12T19:40", (139.5437, 35.6431)),
    ("phone", "p1", "R003", "負傷", "2026-10-12T20:10", None),
    ("line", "m2", None, "無事", "2026-10-12T20:15", None),  # not matched to the roster
    ("line", "m3", "R004", "無事", "2026-10-12T21:10", None),  # after AS_OF
)
POSTS = (
    ("mastodon", "101", "@tamagawa_taro", "多摩川の河川敷が冠水しています #調布", "浸水・冠水", "verified", "2026-10-12T19:00", (139.538, 35.641)),
    ("mastodon", "102", "@fuda_resident", "布田駅の近くで火事、煙が見える", "火災", "new", "2026-10-12T20:00", (139.551, 35.650)),
    ("mastodon", "103", "@spam_bot", "無関係な投稿", "その他", "dismissed", "2026-10-12T20:05", (139.545, 35.655)),
    ("mastodon", "104", "@no_geo", "どこかで停電", "停電", "new", "2026-10-12T20:06", None),
)  # fmt: skip
FIELD_REPORTS = (
    ("staff", "fr1", "道路・交通", 2, "国道20号 倒木で通行止め", "2026-10-12T19:30", (139.565, 35.659)),
    ("staff", "fr2", "建物被害", 3, "家屋倒壊 1棟", "2026-10-12T20:20", (139.530, 35.645)),
)  # fmt: skip


def town_polygons() -> gpd.GeoDataFrame:
    """The 12 towns: a 4 x 3 grid of 1 km squares, north row first."""
    rows = []
    for i, (code, name) in enumerate(TOWN_NAMES):
        col, row = i % 4, 2 - i // 4
        x, y = ORIGIN[0] + col * 1000, ORIGIN[1] + row * 1000
        rows.append(
            {
                "town_code": code,
                "city_code": CITY_CODE,
                "name": name,
                "city_name": "調布市",
                "population": 3000 + 100 * i,
                "households": 1500 + 50 * i,
                "geometry": shapely.box(x, y, x + 1000, y + 1000),
            }
        )
    return gpd.GeoDataFrame(rows, crs="EPSG:6677").to_crs(4326)


def town_center(index: int) -> shapely.Point:
    """The centre (lon/lat) of town ``index``, nudged so two points never coincide."""
    return town_polygons().geometry.iloc[index].centroid


def jst(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize("Asia/Tokyo")


def build_world(store) -> None:
    """Fill ``store`` with the world above."""
    towns = town_polygons()
    store.upsert("towns", towns, source="test")
    boundary = gpd.GeoDataFrame(
        {"city_code": [CITY_CODE], "pref_name": ["東京都"], "city_name": ["調布市"]},
        geometry=[shapely.union_all(towns.to_crs(6677).geometry).buffer(0)],
        crs="EPSG:6677",
    )
    store.upsert("boundaries", boundary, source="test")
    grid = towns.to_crs(6677).total_bounds
    strip = shapely.box(grid[0], grid[1], grid[2], grid[1] + 600)
    hazard = gpd.GeoDataFrame(
        {"id": ["A31-1", "A31-2"], "kind": ["flood", "flood"], "river": ["多摩川", "多摩川"],
         "source": ["国土数値情報 A31 浸水想定区域"] * 2},
        geometry=[strip.intersection(shapely.box(grid[0], grid[1], grid[0] + 2000, grid[3])),
                  strip.difference(shapely.box(grid[0], grid[1], grid[0] + 2000, grid[3]))],
        crs="EPSG:6677",
    )  # fmt: skip
    store.upsert("hazard_areas", hazard, source="test")
    shelters = gpd.GeoDataFrame(
        [
            {
                "shelter_id": sid, "city_code": CITY_CODE, "name": name, "kana": kana,
                "address": address, "kind": "both", "hazards": hazards, "capacity": capacity,
                "capacity_estimated": estimated, "town_code": TOWN_NAMES[town][0],
                "source": "test", "geometry": shapely.Point(
                    town_center(town).x + 0.002 * (k % 2), town_center(town).y - 0.0015),
            }
            for k, (sid, name, kana, address, town, capacity, estimated, hazards)
            in enumerate(SHELTERS)
        ],
        crs=4326,
    )  # fmt: skip
    store.upsert("shelters", shelters, source="test")
    status = pd.DataFrame(
        [
            {"shelter_id": sid, "reported_at": jst(t), "status": st, "evacuees": n,
             "source_id": f"s{i}", "reported_by": "避難所担当"}
            for i, (sid, t, st, n) in enumerate(STATUS_HISTORY)
        ]
    )  # fmt: skip
    store.append_shelter_status(status, source="test")
    roster = gpd.GeoDataFrame(
        [
            {"resident_id": rid, "name": name, "kana": kana, "address": address, "phone": phone,
             "town_code": TOWN_NAMES[town][0], "care_needs": needs, "care_priority": prio,
             "supporter": supporter, "located_by": "address",
             "geometry": shapely.Point(town_center(town).x + 0.001 * (i % 3),
                                       town_center(town).y + 0.0012)}
            for i, (rid, name, kana, address, phone, town, needs, prio, supporter)
            in enumerate(ROSTER)
        ],
        crs=4326,
    )  # fmt: skip
    store.upsert("roster", roster, source="test")
    replies = gpd.GeoDataFrame(
        [
            {"source": src, "source_id": sid, "resident_id": rid, "channel": src,
             "status": st, "replied_at": jst(t), "needs_text": "足が痛い" if st == "負傷" else None,
             "located_by": "message_location" if pt else "none"}
            for src, sid, rid, st, t, pt in REPLIES
        ],
        geometry=[shapely.Point(*pt) if pt else None for *_, pt in REPLIES],
        crs=4326,
    )  # fmt: skip
    store.upsert("safety_replies", replies, source="test")
    posts = gpd.GeoDataFrame(
        [
            {"platform": pl, "post_id": pid, "author": author, "text": text,
             "url": f"https://mastodon.example/{author}/{pid}", "posted_at": jst(t),
             "lang": "ja", "categories": [cat], "triage": triage,
             "geo_source": "geotag" if pt else "none"}
            for pl, pid, author, text, cat, triage, t, pt in POSTS
        ],
        geometry=[shapely.Point(*pt) if pt else None for *_, pt in POSTS],
        crs=4326,
    )  # fmt: skip
    store.upsert("posts", posts, source="test")
    reports = gpd.GeoDataFrame(
        [
            {"source": src, "source_id": sid, "category": cat, "severity": sev,
             "description": desc, "reported_by": "調布市職員", "reported_at": jst(t)}
            for src, sid, cat, sev, desc, t, _ in FIELD_REPORTS
        ],
        geometry=[shapely.Point(*pt) for *_, pt in FIELD_REPORTS],
        crs=4326,
    )  # fmt: skip
    store.upsert("field_reports", reports, source="test")
    store.upsert(
        "follow_ups",
        pd.DataFrame([{"id": "fu1", "resident_id": "R004", "action": "phone",
                       "outcome": "no_answer", "by": "安否班", "at": jst("2026-10-12T20:40")}]),
        source="test",
    )  # fmt: skip


def open_world(url: str):
    """Yield a store at ``url`` holding the world, disposed afterwards (for fixtures)."""
    from geodata.store.core import open_store

    store = open_store(url)
    build_world(store)
    yield store
    store.dispose()


@pytest.fixture
def world_store(sqlite_url):
    """A SQLite store holding the world (rendering tests: one backend is enough)."""
    yield from open_world(sqlite_url)


def test_world_builds(world_store):
    assert world_store.count("towns") == len(TOWN_NAMES)
    assert world_store.count("roster") == len(ROSTER)
    assert len(world_store.current_shelter_status()) == 4  # 北ノ台, 若葉 never reported
