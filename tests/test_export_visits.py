"""The non-responder visit list, read back with pdftotext / pdfinfo."""

from __future__ import annotations

import shutil

import pytest

from geodata.export.visits import non_responders, visit_list_pdf, wrap
from tests.test_export_map import pdf_info, pdf_text, save_rendering, squash
from tests.test_export_world import AS_OF, open_world

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


@pytest.fixture
def world_store(sqlite_url):
    yield from open_world(sqlite_url)


def test_non_responders_by_priority(world_store):
    people = non_responders(world_store, as_of=AS_OF)
    # R001-R003 replied before AS_OF; R004 replied after it and is still on the list.
    assert list(people["resident_id"]) == ["R006", "R004", "R007", "R005", "R008"]
    assert people.iloc[0]["town"] == "多摩川三丁目"
    assert people.set_index("resident_id").loc["R004", "last_follow_up"] == "電話 不通 20:40"
    later = non_responders(world_store, as_of="2026-10-12T22:00")
    assert "R004" not in set(later["resident_id"])


def test_visit_list_pdf(world_store, tmp_path):
    result = visit_list_pdf(world_store, as_of=AS_OF, who="安否班 佐々木")
    save_rendering(result.data, "visit-list")
    assert result.count == 5 and result.info == {
        "towns": 5, "pages": 5, "as_of": "2026年10月12日 21:00"
    }  # fmt: skip
    info = pdf_info(result.data, tmp_path)
    assert info["Pages"] == "5"
    assert info["Page size"] == "841.89 x 595.276 pts (A4)"  # A4 landscape
    assert "渡辺" not in " ".join(info.values())  # no names in the metadata
    first = squash(pdf_text(result.data, tmp_path, "-f", "1", "-l", "1"))
    assert "安否未確認者訪問リスト" in first and "多摩川三丁目（1人）" in first
    assert "渡辺茂" in first and "042-481-0006" in first and "要介護4・寝たきり" in first
    assert "東京都調布市多摩川三丁目20-2" in first and "ケアマネ中村" in first
    assert "□無事" in first and "取扱注意" in first
    assert "山田" not in first  # replied, so not on the page of the same town
    whole = squash(pdf_text(result.data, tmp_path))
    assert "田中正男" in whole and "電話不通20:40" in whole
    for replied in ("山田太郎", "佐藤ハナ", "髙橋和子"):
        assert replied not in whole
    audit = world_store.read_audit(limit=1).iloc[0]
    assert audit["action"] == "export:visit-list" and audit["who"] == "安否班 佐々木"
    assert audit["layer"] == "roster" and '"residents": 5' in audit["new"]


def test_empty_visit_list(sqlite_url, tmp_path):
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    result = visit_list_pdf(store)
    assert result.count == 0 and "未回答の要支援者はいません" in squash(
        pdf_text(result.data, tmp_path)
    )
    store.dispose()


def test_wrap():
    assert wrap("東京都調布市多摩川三丁目12-4", 8, 3) == ["東京都調布市多摩", "川三丁目12-4"]
    assert wrap("あいうえおかきくけこ", 3, 2) == ["あいう", "えお…"]
    assert wrap(None, 5, 1) == [""]
