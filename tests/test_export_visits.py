"""The visit list printed (geodata/export/visits.py), read back with pdftotext / pdfinfo.

Who is on it and in which order is :func:`geodata.safety.visit_list`; tests/test_safety_core.py
checks that the page, the CLI, the PDF and the CSV agree.
"""

from __future__ import annotations

import shutil

import pytest

from geodata.export.visits import visit_list_csv, visit_list_pdf, wrap
from geodata.safety import read_visit_list
from tests.test_export_map import pdf_info, pdf_text, save_rendering, squash
from tests.test_export_world import AS_OF, open_world

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


@pytest.fixture
def world_store(sqlite_url):
    yield from open_world(sqlite_url)


def test_non_responders_by_priority(world_store):
    people = read_visit_list(world_store, as_of=AS_OF)
    # R001-R003 replied before AS_OF; R004 replied after it and is still on the list. R002
    # (要救助) and R003 (負傷) replied, nobody has reached them: the first section.
    # Towns by their most urgent resident, then town code (飛田給一丁目 before 小島町一丁目).
    unconfirmed = people[people["section"] != "urgent"]
    assert list(unconfirmed["resident_id"]) == ["R006", "R004", "R007", "R008", "R005"]
    assert list(people["resident_id"][:2]) == ["R002", "R003"]
    assert list(people["no"]) == [1, 2, 3, 4, 5, 6, 7]
    assert unconfirmed.iloc[0]["town"] == "多摩川三丁目"
    assert people.set_index("resident_id").loc["R004", "last_follow_up"] == "電話 不通 20:40"
    later = read_visit_list(world_store, as_of="2026-10-12T22:00")
    assert "R004" not in set(later["resident_id"])


def test_visit_list_pdf(world_store, tmp_path):
    result = visit_list_pdf(world_store, as_of=AS_OF, who="安否班 佐々木")
    save_rendering(result.data, "visit-list")
    assert result.count == 7 and result.info == {
        "towns": 5, "urgent": 2, "pages": 6, "as_of": "2026年10月12日 21:00"
    }  # fmt: skip
    info = pdf_info(result.data, tmp_path)
    assert info["Pages"] == "6"
    assert info["Page size"] == "841.89 x 595.276 pts (A4)"  # A4 landscape
    assert "渡辺" not in " ".join(info.values())  # no names in the metadata
    # page 1: the residents who asked for help, rescue first, with their reply
    urgent = squash(pdf_text(result.data, tmp_path, "-f", "1", "-l", "1"))
    assert "要救助・負傷（回答あり・未対応）（2人）" in urgent
    assert urgent.index("佐藤ハナ") < urgent.index("髙橋和子")
    assert "要救助19:40" in urgent and "負傷20:10" in urgent and "042-481-0002" in urgent
    first = squash(pdf_text(result.data, tmp_path, "-f", "2", "-l", "2"))
    assert "安否未確認者訪問リスト" in first and "多摩川三丁目（1人）" in first
    assert "渡辺茂" in first and "042-481-0006" in first and "要介護4・寝たきり" in first
    assert "東京都調布市多摩川三丁目20-2" in first and "ケアマネ中村" in first
    assert "□無事" in first and "取扱注意" in first
    assert "山田" not in first  # replied, so not on the page of the same town
    whole = squash(pdf_text(result.data, tmp_path))
    assert "田中正男" in whole and "電話不通20:40" in whole
    assert "山田太郎" not in whole  # replied 無事
    assert "未回答" not in whole  # one term: 未確認
    audit = world_store.read_audit(limit=1).iloc[0]
    assert audit["action"] == "export:visit-list" and audit["who"] == "安否班 佐々木"
    assert audit["layer"] == "roster" and '"residents": 7' in audit["new"]


def test_empty_visit_list(sqlite_url, tmp_path):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    result = visit_list_pdf(store)
    assert result.count == 0 and "訪問が必要な要支援者はいません" in squash(
        pdf_text(result.data, tmp_path)
    )
    store.dispose()


def test_wrap():
    assert wrap("東京都調布市多摩川三丁目12-4", 8, 3) == ["東京都調布市多摩", "川三丁目12-4"]
    assert wrap("あいうえおかきくけこ", 3, 2) == ["あいう", "えお…"]
    assert wrap(None, 5, 1) == [""]


def test_visit_list_csv_rows_are_the_pdf_rows(world_store):
    import io

    import pandas as pd

    result = visit_list_csv(world_store, as_of=AS_OF, who="安否班")
    table = pd.read_csv(io.BytesIO(result.data), encoding="utf-8-sig", dtype=str)
    assert table["整理番号"].tolist() == list(
        read_visit_list(world_store, as_of=AS_OF)["resident_id"]
    )
    assert table["No"].tolist() == [str(n) for n in range(1, 8)]
    assert table["区分"].tolist() == ["要救助・負傷（回答あり・未対応）"] * 2 + ["安否未確認"] * 5
    assert table["回答"].fillna("").tolist()[:3] == ["要救助 19:40", "負傷 20:10", ""]
    assert result.info == {"towns": 5, "urgent": 2} and result.filename.endswith(".csv")
    audit = world_store.read_audit(limit=1).iloc[0]
    assert audit["action"] == "export:visit-list-csv" and '"residents": 7' in audit["new"]
