"""Masking: no personal value survives a viewer's frame; displaced points; town counts; log redaction."""

from __future__ import annotations

import io
import logging
from collections import Counter

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from geodata import safety
from geodata.access import privacy
from geodata.access.roles import User

KEY = bytes(range(32))
GEOD = Geod(ellps="WGS84")
# Two towns side by side (about 900 m × 1.1 km each) in 調布市.
TOWN_A = shapely.box(139.540, 35.650, 139.550, 35.660)
TOWN_B = shapely.box(139.550, 35.650, 139.560, 35.660)
PEOPLE = [
    # resident_id, name, kana, address, phone, chat id, town, care needs, supporter, lon, lat
    ("R1", "山田 花子", "ヤマダ ハナコ", "調布市小島町二丁目35番地1", "090-1234-5678",
     "U0123456789abcdef0123456789abcdef", "A", "要介護3 車いす", "山田 太郎", 139.5431, 35.6522),
    ("R2", "佐藤 健一", "サトウ ケンイチ", "調布市小島町二丁目40番地", "042-481-7111",
     "U11111111111111111111111111111111", "A", "視覚障害", "民生委員 鈴木", 139.5472, 35.6553),
    ("R3", "鈴木 一郎", "スズキ イチロウ", "調布市布田一丁目3番", "03-5555-0001",
     None, "A", "要介護5 寝たきり", None, 139.5489, 35.6581),
    ("R4", "高橋 美咲", "タカハシ ミサキ", "調布市布田二丁目8番", "０８０１１１１２２２２",
     "U22222222222222222222222222222222", "B", "聴覚障害", "高橋 次郎", 139.5523, 35.6511),
    ("R5", "伊藤 翔", "イトウ ショウ", "調布市国領町一丁目1番", "+81 70 3333 4444",
     None, "B", "人工呼吸器", "伊藤 京子", 139.5581, 35.6594),
]  # fmt: skip


NO_FOLLOW_UPS = pd.DataFrame(
    {"resident_id": [], "action": [], "outcome": [], "at": pd.to_datetime([], utc=True)}
)


def roster() -> gpd.GeoDataFrame:
    cols = ["resident_id", "name", "kana", "address", "phone", "chat_user_id", "town_code",
            "care_needs", "supporter"]  # fmt: skip
    df = pd.DataFrame([p[:9] for p in PEOPLE], columns=cols)
    df["care_priority"] = [2, 2, 1, 2, 1]
    df["located_by"] = "address"
    pts = [shapely.Point(p[9], p[10]) for p in PEOPLE]
    return gpd.GeoDataFrame(df, geometry=pts, crs=4326)


def replies() -> gpd.GeoDataFrame:
    rows = [
        # source_id, resident, status, needs text, sender id, point
        ("e1", "R1", "無事", "山田 花子です。090-1234-5678 無事です", PEOPLE[0][5], (139.5431, 35.6522)),
        ("e2", "R1", "要救助", "足が悪く動けません", PEOPLE[0][5], (139.5431, 35.6522)),
        ("e3", "R2", "負傷", "佐藤 健一 けが", "042-481-7111", (139.5473, 35.6554)),
        ("e4", "R4", "無事", "調布市布田二丁目8番 自宅にいます", PEOPLE[3][5], None),
        ("e5", None, "不明", "知らない人です 070-9999-8888", "Uffffffffffffffffffffffffffffffff",
         (139.5555, 35.6555)),
        ("e6", None, "無事", None, None, None),
    ]  # fmt: skip
    df = pd.DataFrame(
        {
            "source": "line",
            "source_id": [r[0] for r in rows],
            "resident_id": [r[1] for r in rows],
            "channel": "line",
            "status": [r[2] for r in rows],
            "needs_text": [r[3] for r in rows],
            "sender_id": [r[4] for r in rows],
            "located_by": "message_location",
            "replied_at": pd.date_range(
                "2026-10-12 03:00", periods=len(rows), freq="10min", tz="UTC"
            ),
        }
    )
    pts = [shapely.Point(*r[5]) if r[5] else None for r in rows]
    return gpd.GeoDataFrame(df, geometry=pts, crs=4326)


def posts() -> gpd.GeoDataFrame:
    df = pd.DataFrame(
        {
            "platform": "mastodon",
            "post_id": ["1", "2"],
            "author": ["@hanako_yamada@mstdn.jp", "@ken_sato"],
            "text": [
                "小島町で冠水、山田 花子さんの家の前。連絡は090-1234-5678 @ken_sato",
                "布田で停電 042-481-7111",
            ],
            "url": ["https://mstdn.jp/@hanako_yamada/1", "https://mastodon.social/@ken_sato/2"],
            "categories": [["浸水・冠水"], ["停電"]],
        }
    )
    return gpd.GeoDataFrame(df, geometry=[shapely.Point(139.545, 35.655), None], crs=4326)


def towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"town_code": ["A", "B"], "name": ["小島町", "布田"]}, geometry=[TOWN_A, TOWN_B], crs=4326
    )


def _personal_values() -> list[str]:
    values = []
    for p in PEOPLE:
        values += [v for v in p[1:6] + p[7:9] if v]
        values.append(p[1].replace(" ", ""))  # the name without its space
    values += ["090-1234-5678", "070-9999-8888", "Uffffffffffffffffffffffffffffffff"]
    values += ["hanako_yamada", "ken_sato"]
    return values


def _serialized(frame: pd.DataFrame) -> str:
    plain = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    parts = [plain.to_json(force_ascii=False), plain.to_html(), plain.to_csv()]
    if isinstance(frame, gpd.GeoDataFrame):
        times = [c for c in frame.columns if str(frame[c].dtype).startswith("datetime")]
        geo = frame.astype({c: str for c in times})
        parts.append(geo.to_json(ensure_ascii=False))
    return "\n".join(parts)


@pytest.mark.parametrize("role", ["viewer", "shelter_staff", "public", User("wall", "viewer")])
@pytest.mark.parametrize(
    "layer, make", [("roster", roster), ("safety_replies", replies), ("posts", posts)]
)
def test_a_masked_frame_holds_no_name_address_phone_or_handle(role, layer, make):
    raw = make()
    assert any(v in _serialized(raw) for v in _personal_values())  # the test data has them
    terms = privacy.PersonalTerms.from_roster(roster())
    masked = privacy.mask_frame(layer, raw, role, key=KEY, terms=terms)
    text = _serialized(masked)
    leaked = [v for v in _personal_values() if v in text]
    assert leaked == []
    assert list(masked.columns) == list(raw.columns)  # blanked, not dropped: maps still draw
    assert len(masked) == len(raw)


def test_operators_and_admins_see_everything():
    for role in ("operator", "admin", User("x", "operator")):
        frame = roster()
        assert privacy.mask_frame("roster", frame, role) is frame
    assert privacy.needs_masking(User("x", "admin", disabled=True))
    assert privacy.needs_masking(None) and privacy.needs_masking("public")


def test_posts_keep_their_words_and_places_but_lose_phones_and_handles():
    masked = privacy.mask_frame("posts", posts(), "viewer")
    assert masked["text"].iloc[0].startswith("小島町で冠水")
    assert "[redacted]" in masked["text"].iloc[1]
    assert masked.geometry.iloc[0] == posts().geometry.iloc[0]  # a post's place is not personal
    assert masked["categories"].tolist() == [["浸水・冠水"], ["停電"]]


def test_displaced_points_are_100_to_300_m_away_and_deterministic():
    homes = roster()
    a = privacy.mask_frame("roster", homes, "viewer", key=KEY)
    b = privacy.mask_frame("roster", homes, "viewer", key=KEY)
    for true, moved, again in zip(homes.geometry, a.geometry, b.geometry, strict=True):
        dist = GEOD.inv(true.x, true.y, moved.x, moved.y)[2]
        assert 100 <= dist <= 300
        assert moved.equals_exact(again, 0)  # deterministic
    other_key = privacy.mask_frame("roster", homes, "viewer", key=b"another key" * 3)
    assert not other_key.geometry.iloc[0].equals_exact(a.geometry.iloc[0], 1e-9)


def test_replies_from_the_same_home_move_together_so_they_cannot_be_averaged_back():
    moved = privacy.displace_points(replies().geometry, KEY)
    assert moved.iloc[0].equals_exact(moved.iloc[1], 0)  # e1 and e2: same home, same shift
    home = privacy.displace_points(roster().geometry.iloc[:1], KEY).iloc[0]
    assert home.equals_exact(moved.iloc[0], 0)  # and the same as the roster's displaced home
    assert moved.iloc[3] is None  # no point stays no point


def test_many_points_all_move_at_least_100_m():
    import numpy as np

    rng = np.random.default_rng(0)
    pts = gpd.GeoSeries(
        gpd.points_from_xy(rng.uniform(139.5, 139.6, 2000), rng.uniform(35.62, 35.68, 2000)),
        crs=4326,
    )
    moved = privacy.displace_points(pts, KEY)
    dist = GEOD.inv(pts.x.values, pts.y.values, moved.x.values, moved.y.values)[2]
    assert dist.min() >= 100 - 1e-6 and dist.max() <= 300 + 1e-6


def test_without_a_key_person_points_are_dropped_not_shown():
    masked = privacy.mask_frame("roster", roster(), "viewer")
    assert masked.geometry.isna().all()


def test_the_displacement_key_is_kept_in_the_store(store):
    key = privacy.displacement_key(store)
    assert len(key) == 32
    assert privacy.displacement_key(store) == key


def test_town_counts_equal_the_raw_counts_per_town():
    ro, rep = roster(), replies()
    states = safety.resident_states(ro, rep, NO_FOLLOW_UPS)
    counts = safety.town_table(states, towns()).set_index("town_code")
    # Raw counts by hand: each resident once, by their newest reply.
    latest = {}
    for r in rep.sort_values("replied_at").itertuples():
        if pd.notna(r.resident_id):
            latest[r.resident_id] = r.status
    town_of = dict(zip(ro["resident_id"], ro["town_code"], strict=True))
    for town in ("A", "B"):
        people = [rid for rid, t in town_of.items() if t == town]
        assert counts.loc[town, "registered"] == len(people)
        assert counts.loc[town, "replied"] == sum(rid in latest for rid in people)
        assert counts.loc[town, "not_replied"] == sum(rid not in latest for rid in people)
        for status in ("無事", "負傷", "要救助", "不明"):
            assert counts.loc[town, status] == sum(latest.get(rid) == status for rid in people)
    # Reply rows per town and status: the resident's town, else the town of the point.
    by_status = privacy.replies_by_town(rep, ro, towns())
    got = {(t, s): n for t, s, n in by_status.itertuples(index=False)}
    expected = Counter()
    for r in rep.itertuples():
        if pd.notna(r.resident_id):
            town = town_of[r.resident_id]
        elif r.geometry is not None and TOWN_B.contains(r.geometry):
            town = "B"
        else:
            town = None
        expected[(town, r.status)] += 1
    assert got == dict(expected)
    assert sum(got.values()) == len(rep)


def test_town_counts_hold_no_personal_values():
    states = safety.resident_states(roster(), replies(), NO_FOLLOW_UPS)
    text = _serialized(safety.town_table(states, towns()))
    assert [v for v in _personal_values() if v in text] == []


# -- log redaction --------------------------------------------------------------------------------


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_a_log_line_with_a_phone_number_comes_out_redacted():
    logger, out = _logger("test.privacy.phone")
    privacy.install_log_redaction(logger)
    logger.info(
        "reply from %s: call back on %s", "U0123456789abcdef0123456789abcdef", "090-1234-5678"
    )
    logger.warning(
        "row rejected: %r", {"name": "山田 花子", "phone": "03-5555-0001", "status": "無事"}
    )
    logger.info("氏名：佐藤 健一 電話：０４２−４８１−７１１１ address=調布市小島町二丁目40番地")
    text = out.getvalue()
    for value in ("090-1234-5678", "U0123456789abcdef", "山田", "03-5555-0001", "佐藤", "４８１",
                  "小島町二丁目40番地"):  # fmt: skip
        assert value not in text, value
    assert text.count("[redacted]") >= 6
    assert "無事" in text and "row rejected" in text  # the rest of the message stays


def test_exceptions_are_redacted_too_and_install_is_idempotent():
    logger, out = _logger("test.privacy.exc")
    privacy.install_log_redaction(logger)
    privacy.install_log_redaction(logger)
    assert sum(isinstance(f, privacy.RedactingFilter) for f in logger.handlers[0].filters) == 1
    try:
        raise ValueError("bad phone 080-1111-2222 for resident")
    except ValueError:
        logger.exception("could not match")
    assert "080-1111-2222" not in out.getvalue() and "could not match" in out.getvalue()


def test_handler_filters_catch_records_of_child_loggers():
    parent, out = _logger("test.privacy.parent")
    privacy.install_log_redaction(parent)
    child = logging.getLogger("test.privacy.parent.child")
    child.propagate = True
    child.warning("sender %s", "070-3333-4444")
    assert "070-3333-4444" not in out.getvalue() and "[redacted]" in out.getvalue()


def test_redact_text_leaves_times_codes_and_counts_alone():
    text = "2026-10-12 03:12:45 town 13208001001 evacuees 120 shelter 13208-001 v3"
    assert privacy.redact_text(text) == text


def test_redaction_is_idempotent():
    texts = [
        '{"note": "鈴木 一郎さん搬送 03-5555-0001", "evacuees": "x"}',
        "氏名：山田 花子 電話：０９０１２３４５６７８",
        "@ken_sato 山田 花子さん 090-1234-5678",
    ]
    terms = privacy.PersonalTerms.from_roster(roster())
    for text in texts:
        once = privacy.redact_text(terms.redact(text), handles=True)
        assert privacy.redact_text(terms.redact(once), handles=True) == once
