"""出力 page: what each role may export, and every button's bytes read back with a real reader."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import pandas as pd
import pyogrio
import pytest
from lxml import etree
from PIL import Image

from dashboard.export import files as export_page
from geodata.access.roles import Forbidden, User
from geodata.export.cap import validate_cap
from geodata.store.core import open_store
from tests.accounts import ensure_accounts
from tests.test_export_world import EXPECTED, ROSTER, build_world
from tests.test_safety_page import run_page

OPERATOR = User("operator", "operator")
VIEWER = User("viewer", "viewer")
KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def world(tmp_path):
    url = f"sqlite:///{tmp_path / 'export.sqlite'}"
    store = open_store(url)
    build_world(store)
    ensure_accounts(url)
    yield {"url": url, "store": store}
    store.dispose()


def _audit(store, n: int = 1) -> list[tuple[str, str]]:
    rows = store.read_audit(limit=n)
    return list(zip(rows["who"], rows["action"], strict=True))


def test_versions_follow_the_role_matrix():
    assert export_page.versions(OPERATOR) == [False, True]
    assert export_page.versions(User("root", "admin")) == [False, True]
    assert export_page.versions(VIEWER) == []
    assert export_page.versions(None) == []


def test_viewer_is_refused_on_the_server(world):
    req = export_page.LayerRequest("shelters", "csv", public=True)
    with pytest.raises(Forbidden):
        export_page.layer_file(world["store"], req, VIEWER)
    with pytest.raises(Forbidden):
        export_page.visit_list_file(world["store"], VIEWER)
    with pytest.raises(Forbidden):
        export_page.situation_file(world["store"], "pdf", True, VIEWER)
    with pytest.raises(Forbidden):
        export_page.opendata_file(world["store"], "shelters", "utf-8-sig", VIEWER)
    audit = world["store"].read_audit(limit=20)
    assert not audit["action"].str.startswith("export:").any()  # nothing was exported


def test_an_account_disabled_after_the_page_was_drawn_is_refused(world):
    from geodata.access import accounts

    req = export_page.LayerRequest("roster", "csv")
    assert export_page.layer_file(world["store"], req, OPERATOR)[0]
    accounts.disable_user(world["store"], "operator", actor="admin")
    with pytest.raises(Forbidden):
        export_page.layer_file(world["store"], req, OPERATOR)
    accounts.enable_user(world["store"], "operator", actor="admin")
    accounts.set_role(world["store"], "operator", "viewer", actor="admin")
    with pytest.raises(Forbidden):
        export_page.visit_list_file(world["store"], OPERATOR)


def test_layer_geojson_gpkg_kml(world, tmp_path):
    store = world["store"]
    req = export_page.LayerRequest("posts", "geojson")
    data, name, mime = export_page.layer_file(store, req, OPERATOR)
    doc = json.loads(data)
    assert len(doc["features"]) == 4 and mime == "application/geo+json"
    assert name.startswith("posts-internal-") and name.endswith(".geojson")
    assert {f["properties"]["author"] for f in doc["features"]} >= {"@tamagawa_taro"}

    data, name, _ = export_page.layer_file(
        store, export_page.LayerRequest("shelters", "gpkg"), OPERATOR
    )
    path = tmp_path / name
    path.write_bytes(data)
    assert pyogrio.read_dataframe(path)["name"].tolist()[0] == "第三小学校"

    data, _, _ = export_page.layer_file(
        store, export_page.LayerRequest("shelters", "kml"), OPERATOR
    )
    assert len(etree.fromstring(data).findall(f".//{KML}Placemark")) == 6
    assert _audit(store, 3) == [("operator", "export:layer")] * 3


def test_layer_csv_both_encodings_and_filters(world):
    store = world["store"]
    req = export_page.LayerRequest("posts", "csv", triage=("new",))
    data, _, mime = export_page.layer_file(store, req, OPERATOR)
    assert data.startswith(b"\xef\xbb\xbf") and mime.startswith("text/csv")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert sorted(frame["本文"]) == ["どこかで停電", "布田駅の近くで火事、煙が見える"]
    assert export_page.layer_count(store, req) == 2

    req = export_page.LayerRequest("roster", "csv-sjis", towns=("13208005003",))
    data, name, _ = export_page.layer_file(store, req, OPERATOR)
    frame = pd.read_csv(io.StringIO(data.decode("cp932")), dtype=str)
    assert sorted(frame["氏名"]) == ["山田 太郎", "渡辺 茂"]  # the two residents of 多摩川三丁目
    assert name.endswith("-sjis.csv")


def test_public_layers_hold_no_personal_data(world):
    store = world["store"]
    data, _, _ = export_page.layer_file(
        store, export_page.LayerRequest("posts", "geojson", public=True), OPERATOR
    )
    authors = {f["properties"].get("author") for f in json.loads(data)["features"]}
    assert authors == {"非公開"}
    data, name, _ = export_page.layer_file(
        store, export_page.LayerRequest("safety_replies", "csv", public=True), OPERATOR
    )
    assert name.startswith("safety_by_town-public-")
    text = data.decode("utf-8-sig")
    assert all(person[1] not in text for person in ROSTER)
    assert export_page.layer_problem(export_page.LayerRequest("roster", "csv", public=True))
    assert export_page.layer_problem(export_page.LayerRequest("follow_ups", "kml"))


def test_situation_map_pdf_and_png(world):
    store = world["store"]
    pdf = export_page.situation_file(store, "pdf", False, OPERATOR)
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "災害対策本部 状況図" in text
    png = export_page.situation_file(store, "png", True, OPERATOR)
    image = Image.open(io.BytesIO(png))
    assert abs(image.size[0] - 4961) <= 2 and abs(image.size[1] - 3508) <= 2  # A3 at 300 dpi
    assert _audit(store, 2) == [("operator", "export:situation-map")] * 2


def test_visit_list_opendata_and_cap(world):
    store = world["store"]
    pdf = export_page.visit_list_file(store, OPERATOR, "pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    # not heard from at any time: R005..R008 (R004 replied at 21:10, after the map's AS_OF)
    assert "渡辺 茂" in text and "小林 春江" in text
    assert "山田 太郎" not in text and "田中 正男" not in text
    csv = pd.read_csv(
        io.BytesIO(export_page.visit_list_file(store, OPERATOR, "csv")), encoding="utf-8-sig"
    )
    # first R002 (要救助) and R003 (負傷), nobody reached since; then by priority 1, 2, 3, 3
    assert csv["整理番号"].tolist()[:2] == ["R002", "R003"]
    assert csv["整理番号"].tolist()[2:] == ["R006", "R007", "R008", "R005"]
    assert csv["町丁目"].tolist()[2] == "多摩川三丁目" and EXPECTED["roster_total"] == 8

    for dataset in ("emergency_sites", "shelters"):  # the world's six are both
        for encoding in export_page.OPENDATA_ENCODINGS:
            data = export_page.opendata_file(store, dataset, encoding, OPERATOR)
            frame = pd.read_csv(
                io.BytesIO(data), encoding="utf-8-sig" if encoding != "cp932" else "cp932"
            )
            assert len(frame) == 6 and "開設状況" in frame.columns

    archive = zipfile.ZipFile(io.BytesIO(export_page.cap_file(store, "all", OPERATOR)))
    names = archive.namelist()
    assert len(names) == 7 and all(n.endswith(".xml") for n in names)
    assert all(validate_cap(archive.read(n)) == [] for n in names)
    assert [a for _, a in _audit(store, 7)] == [
        "export:cap",
        "export:shelters-opendata",
        "export:shelters-opendata",
        "export:shelters-opendata",
        "export:shelters-opendata",
        "export:visit-list-csv",
        "export:visit-list",
    ]


def test_page_for_an_operator(monkeypatch, world):
    at = run_page(monkeypatch, world["url"], "export")
    assert at.subheader[0].value == "出力"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [
        "状況図 PDF",
        "状況図 PNG（300dpi）",
        "訪問リスト（印刷用PDF）",
        "訪問リスト（CSV）",
        "CSV（UTF-8 BOM付き・Excel）",  # 指定緊急避難場所一覧
        "CSV（Shift_JIS）",
        "CSV（UTF-8 BOM付き・Excel）",  # 指定避難所一覧
        "CSV（Shift_JIS）",
        "CSV（UTF-8 BOM付き・Excel）",  # 避難情報 in force (no CAP button: nothing issued)
        "ダウンロード",
        "CSV（UTF-8 BOM付き・Excel）",  # 物資要請
        "Excel（.xlsx）",
    ]
    # the world's shelter updates are weeks old: none in the last 24 h, so no CAP button
    assert any(c.value == "更新 0件" for c in at.caption)
    at.segmented_control(key="export_cap_window").set_value("all").run()
    assert any(c.value == "更新 7件" for c in at.caption)
    assert at.get("download_button")[-1].proto.label == "CAP（ZIP）"
    assert "避難行動要支援者名簿" in at.selectbox(key="export_layer_name").options
    at.radio(key="export_layer_version").set_value(True).run()
    assert "避難行動要支援者名簿" not in at.selectbox(key="export_layer_name").options
    assert any(c.value == "対象 4件" for c in at.caption)
    at.pills(key="export_layer_triage").set_value(["new"]).run()
    assert any(c.value == "対象 2件" for c in at.caption)
    # rendering the page exported nothing: files are made when a button is pressed
    assert not world["store"].read_audit()["action"].str.startswith("export:").any()


def test_evacuation_cap_and_open_data_files(world):
    from geodata import evacuation

    store = world["store"]
    codes = sorted(store.read("towns")["town_code"])[:2]
    rec = evacuation.issue(store, level=4, hazard="flood", towns=codes, user=User("b", "commander"))
    evacuation.lift(store, rec["order_id"], user=User("b", "commander"))
    archive = zipfile.ZipFile(io.BytesIO(export_page.evacuation_cap_file(store, OPERATOR)))
    assert len(archive.namelist()) == 2
    assert all(validate_cap(archive.read(n)) == [] for n in archive.namelist())
    frame = pd.read_csv(io.BytesIO(export_page.evacuation_opendata_file(store, OPERATOR)),
                        encoding="utf-8-sig")  # fmt: skip
    assert frame.empty and "警戒レベル" in frame.columns  # lifted: nothing in force
    with pytest.raises(Forbidden):
        export_page.evacuation_cap_file(store, VIEWER)
