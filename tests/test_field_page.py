"""現地調査: the field-report helpers (plain pytest) and the page through AppTest."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard.field import report as field
from dashboard.shelters.board import md_text
from geodata import settings
from geodata.incidents import with_members
from geodata.schema import validate
from geodata.store.core import open_store
from tests.accounts import ensure_accounts, run_page_as

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
PAGE = "app_pages/field.py"
NOW = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)  # 12:00 JST
PLACE = field.Place(shapely.Point(139.56, 35.65), "13208008003", "国領町三丁目", "address", 0.95)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


# -- plain helpers ----------------------------------------------------------------------------


def test_check_report_lists_every_problem():
    assert field.check_report("火災", 2, "煙", PLACE, False) == []
    assert field.check_report("火災", 2, "", PLACE, True) == []  # a photo is enough
    assert field.check_report(None, None, " ", None, False) == [
        "種別を選んでください。",
        "深刻度を 1〜3 で選んでください。",
        "場所を指定してください（地図をクリックするか住所を入力）。",
        "状況の説明か写真のどちらかを入れてください。",
    ]
    assert field.check_report("火事", 4, "x", PLACE, False, lang="en") == [
        "Choose a category.",
        "Choose a severity 1–3.",
    ]


def test_save_photo_keeps_real_images_under_a_random_name(tmp_path):
    path = field.save_photo(_png(), tmp_path, NOW)
    assert path.parent == (tmp_path / "field" / "2026" / "09" / "01").resolve()
    assert path.suffix == ".png" and len(path.stem) == 32
    assert path.read_bytes() == _png()
    for bad in (b"", b"GIF89a not really", b"<?php echo 1; ?>"):
        with pytest.raises(ValueError):
            field.save_photo(bad, tmp_path, NOW)
    gif = io.BytesIO()
    Image.new("RGB", (2, 2)).save(gif, format="GIF")
    with pytest.raises(ValueError, match="unsupported"):
        field.save_photo(gif.getvalue(), tmp_path, NOW)
    assert len(list(tmp_path.rglob("*.*"))) == 1  # nothing else was written


def test_photos_and_their_folders_are_owner_only(tmp_path):
    import stat

    uploads = tmp_path / "uploads"
    uploads.mkdir(mode=0o755)
    path = field.save_photo(_png(), uploads, NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    folders = [uploads, *path.relative_to(uploads.resolve()).parents]
    for folder in {uploads / p for p in folders[1:]} | {uploads}:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_report_frame_fits_the_layer(tmp_path):
    frame = field.report_frame(
        "浸水・冠水", 3, " 道路が冠水 ", PLACE, "sato", NOW, tmp_path / "a.png"
    )
    valid, rejected = validate(frame, "field_reports")
    assert len(valid) == 1 and rejected.empty
    row = valid.iloc[0]
    assert (row["source"], row["category"], row["severity"]) == ("dashboard", "浸水・冠水", 3)
    assert (row["description"], row["reported_by"], row["town_code"]) == (
        "道路が冠水",
        "sato",
        "13208008003",
    )
    assert row["photo_url"] == str(tmp_path / "a.png")
    assert (row.geometry.x, row.geometry.y) == (139.56, 35.65)
    other = field.report_frame("火災", 1, None, PLACE, "sato", NOW)
    assert other.iloc[0]["source_id"] != row["source_id"]  # every report is a new record


def test_place_text():
    assert field.place_text(None) == "まだ場所が指定されていません。"
    assert field.place_text(PLACE) == "場所: 国領町三丁目（住所、確からしさ 95%）"
    clicked = field.Place(PLACE.point, None, "市外または町丁目不明", "map")
    assert field.place_text(clicked, lang="en") == "Place clicked on the map (市外または町丁目不明)"


def test_recent_frame_is_newest_first_with_labels():
    reports = pd.DataFrame(
        {
            "category": ["火災", "停電"],
            "severity": [2, 1],
            "description": ["煙が見える", None],
            "photo_url": [None, "/x.jpg"],
            "reported_by": ["sato", "tanaka"],
            "reported_at": [pd.Timestamp(NOW) - timedelta(hours=2), pd.Timestamp(NOW)],
            "town_code": ["13208008003", None],
            "source": ["dashboard", "dashboard"],
        }
    )
    frame = field.recent_frame(reports, {"13208008003": "国領町三丁目"}, NOW)
    assert list(frame.columns) == [
        "報告時刻",
        "経過",
        "種別",
        "深刻度",
        "町丁目",
        "説明",
        "報告者",
        "写真",
    ]
    assert frame.values.tolist() == [
        ["09/01 12:00", "1分未満", "停電", 1, "", "", "tanaka", "あり"],
        ["09/01 10:00", "2時間前", "火災", 2, "国領町三丁目", "煙が見える", "sato", ""],
    ]
    english = field.recent_frame(reports, {}, NOW, lang="en")
    assert list(english["Category"]) == ["Power outage", "Fire"]


# -- the page through AppTest ---------------------------------------------------------------


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    from tests.browser.conftest import load_reference

    reference_dir = Path(settings.get("BOSAI_REFERENCE_DIR"))
    if not (reference_dir / "chofu").exists():
        pytest.skip(f"no reference data in {reference_dir}")
    path = tmp_path_factory.mktemp("field") / "base.sqlite"
    url = f"sqlite:///{path}"
    load_reference(url, reference_dir)
    ensure_accounts(url)
    return path


@pytest.fixture
def store_url(base_store, tmp_path, monkeypatch) -> str:
    target = tmp_path / "bosai.sqlite"
    with sqlite3.connect(base_store) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    monkeypatch.setenv("BOSAI_UPLOADS_DIR", str(tmp_path / "uploads"))
    return f"sqlite:///{target}"


def _page(monkeypatch, url: str, user: str = "operator", **query) -> AppTest:
    return run_page_as(monkeypatch, url, PAGE, user, **query)


def _find(at: AppTest, text: str) -> AppTest:
    at.text_input(key="field_address").input(text)
    [button] = [b for b in at.button if b.label == "場所を探す"]
    return button.click().run()


def _send(at: AppTest, category=None, severity=None, description=None) -> AppTest:
    gen = at.session_state["field_form_generation"]
    if category is not None:
        at.button_group(key=f"field_category_{gen}").set_value(category)
    if severity is not None:
        at.button_group(key=f"field_severity_{gen}").set_value(severity)
    if description is not None:
        at.text_area(key=f"field_description_{gen}").input(description)
    [button] = [b for b in at.button if b.label == "報告を送信"]
    return button.click().run()


def _reports(url: str) -> pd.DataFrame:
    store = open_store(url)
    try:
        return store.read("field_reports"), store.read_audit(limit=20)
    finally:
        store.dispose()


def test_a_report_lands_in_the_store_with_the_actor(monkeypatch, store_url):
    at = _find(_page(monkeypatch, store_url), "国領町3-1-2")
    assert not at.exception
    # info boxes are markdown: the outside text in them is escaped (md_text)
    assert md_text("場所: 国領町三丁目（住所、確からしさ 95%）") in [i.value for i in at.info]
    _send(at, category="浸水・冠水", severity=3, description="国領町3丁目の市道が冠水、膝下")
    assert not at.exception
    assert [s.value for s in at.success] == ["報告を保存しました（浸水・冠水、国領町三丁目）。"]
    reports, audit = _reports(store_url)
    assert len(reports) == 1
    row = reports.iloc[0]
    assert (row["category"], row["severity"], row["reported_by"]) == ("浸水・冠水", 3, "operator")
    assert (row["town_code"], row["source"]) == ("13208008003", "dashboard")
    assert row["description"] == "国領町3丁目の市道が冠水、膝下"
    assert row.geometry.distance(shapely.Point(139.56, 35.65)) < 0.01
    writes = audit[audit["layer"] == "field_reports"]
    assert writes["who"].tolist() == ["operator"]
    # the list shows it, newest first, and the form is empty again
    recent = at.dataframe[0].value
    assert recent[["種別", "深刻度", "町丁目", "報告者"]].values.tolist() == [
        ["浸水・冠水", 3, "国領町三丁目", "operator"]
    ]
    assert at.session_state["field_form_generation"] == 1
    assert md_text("まだ場所が指定されていません。") in [i.value for i in at.info]


def test_missing_place_and_category_are_refused(monkeypatch, store_url):
    at = _send(_page(monkeypatch, store_url), description="倒木")
    assert [e.value for e in at.error] == [
        "種別を選んでください。",
        "深刻度を 1〜3 で選んでください。",
        "場所を指定してください（地図をクリックするか住所を入力）。",
    ]
    assert _reports(store_url)[0].empty


def test_unknown_place_says_so(monkeypatch, store_url):
    at = _find(_page(monkeypatch, store_url), "ニューヨーク五番街")
    assert [e.value for e in at.error] == [
        md_text(
            "「ニューヨーク五番街」の場所が見つかりません。地図をクリックして指定してください。"
        )
    ]


def test_map_click_sets_the_place(monkeypatch, store_url):
    at = _page(monkeypatch, store_url)
    # what st_folium's on_change leaves in the session on a click (read before the map is drawn)
    at.session_state["field_map"] = {"last_clicked": {"lat": 35.6518, "lng": 139.544}}
    at.run()
    assert md_text("地図で指定した場所（布田四丁目）") in [i.value for i in at.info]
    _send(at, category="道路・交通", severity=1, description="信号停止")
    reports, _ = _reports(store_url)
    assert reports.iloc[0]["town_code"] == "13208006004"


def test_category_filter_and_viewer_and_wall_screen_masking(monkeypatch, store_url):
    store = open_store(store_url)
    for category, text in (("火災", "煙 090-1234-5678 まで連絡"), ("停電", "信号消灯")):
        frame = field.report_frame(category, 2, text, PLACE, "sato", datetime.now(UTC))
        store.upsert("field_reports", frame, source="dashboard", actor="sato")
    store.dispose()
    at = _page(monkeypatch, store_url)
    assert len(at.dataframe[0].value) == 2
    at.button_group(key="field_filter").set_value(["停電"]).run()
    assert at.dataframe[0].value["種別"].tolist() == ["停電"]
    viewer = _page(monkeypatch, store_url, user="viewer")
    assert "現地調査の報告を入力する権限がありません（閲覧のみ）。" in [
        i.value for i in viewer.info
    ]
    assert not [b for b in viewer.button if b.label == "報告を送信"]
    descriptions = viewer.dataframe[0].value["説明"].tolist()
    assert "煙 [redacted] まで連絡" in descriptions  # masked for a viewer
    wall = _page(monkeypatch, store_url, user="admin", kiosk="1")
    table = wall.table[0].value
    assert "報告者" not in table.columns
    assert r"煙 \[redacted\] まで連絡" in table["説明"].tolist()  # an admin on the wall: masked


def test_reports_from_the_form_join_incidents(monkeypatch, store_url):
    at = _find(_page(monkeypatch, store_url), "国領町3-1-2")
    _send(at, category="浸水・冠水", severity=2, description="市道が冠水")
    _find(at, "国領町3-1-2")
    _send(at, category="浸水・冠水", severity=3, description="水位が上がっている")
    _find(at, "国領町3-1-2")
    _send(at, category="火災", severity=1, description="煙")
    assert not at.exception
    reports, _ = _reports(store_url)
    store = open_store(store_url)
    try:
        incidents = with_members(store, store.read("incidents")).set_index("incident_id")
    finally:
        store.dispose()
    by_category = reports.groupby("category")["incident_id"].unique()
    [flood] = by_category["浸水・冠水"]
    [fire] = by_category["火災"]
    assert flood != fire
    members = sorted(m[1] for m in incidents.loc[flood, "members"])
    flood_ids = reports.loc[reports["category"] == "浸水・冠水", "source_id"]
    assert members == sorted(f"dashboard:{i}" for i in flood_ids)
    assert incidents.loc[flood, "urgency"] == 3  # the highest severity of its reports
    assert incidents.loc[fire, "counts"] == {"field_reports": 1}


def test_field_legend_names_every_colour_the_map_draws():
    import re

    from dashboard.field.view import field_legend
    from dashboard.maps.layers import HAZARD_COLOUR
    from dashboard.shelters.map import PICKED_COLOUR

    legend = field_legend("en")
    rows = re.findall(
        r'background:(#[0-9a-f]+);border-color:#[0-9a-f]+"></i><span>([^<]+)<', legend.html
    )
    assert rows == [
        (field.severity_colour(3), "3 severe"),
        (field.severity_colour(2), "2 moderate"),
        (field.severity_colour(1), "1 minor"),
        (PICKED_COLOUR, "Chosen place"),
        (HAZARD_COLOUR, "Flood-hazard areas"),
    ]
    assert "<b>Field reports (severity)</b>" in legend.html
    # where nobody chooses a place (the wall), no row for one
    assert "Chosen place" not in field_legend("en", picked=False).html
    assert "Flood-hazard areas" in field_legend("en", picked=False).html
