"""The chronology page through AppTest: an operator records a task from the form; a viewer and
the wall screen get the masked timeline; the PDF for the meeting has the entries."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from streamlit.testing.v1 import AppTest

from geodata import chronology
from geodata.export.chronology import chronology_pdf
from geodata.store.core import open_store
from tests.accounts import run_page_as
from tests.test_field_page import APP, base_store, store_url  # noqa: F401 - fixtures

PAGE = "app_pages/chronology.py"


def _page(monkeypatch, url: str, user: str = "operator", **query) -> AppTest:
    return run_page_as(monkeypatch, url, PAGE, user, **query)


def test_an_operator_records_an_instruction_as_a_task(monkeypatch, store_url):  # noqa: F811
    at = _page(monkeypatch, store_url)
    assert not at.exception
    gen = at.session_state["chronology_form_gen"]
    at.button_group(key=f"chrono-kind-{gen}").set_value("指示")
    at.selectbox(key=f"chrono-from-{gen}").set_value("本部長室")
    at.selectbox(key=f"chrono-to-{gen}").set_value("建設部")
    at.selectbox(key=f"chrono-assignee-{gen}").set_value("建設部")
    at.text_area(key=f"chrono-text-{gen}").input("多摩川堤防の巡回を強化")
    [button] = [b for b in at.button if b.label == "記録"]
    at = button.click().run()
    assert not at.exception
    store = open_store(store_url)
    try:
        frame = chronology.timeline(store)
    finally:
        store.dispose()
    row = frame.iloc[0]
    assert (row["kind"], row["from_unit"], row["to_unit"], row["text"]) == (
        "指示", "本部長室", "建設部", "多摩川堤防の巡回を強化")  # fmt: skip
    assert row["task"] and row["assignee"] == "建設部" and row["state"] == "未着手"
    assert row["entered_by"] == "operator"
    shown = at.table[0].value
    assert "多摩川堤防の巡回を強化" in shown.iloc[:, 3].tolist()
    assert "operator" in shown.iloc[:, -1].tolist()  # operators see who entered it


@pytest.mark.parametrize("user,query", [("viewer", {}), ("operator", {"kiosk": "1"})])
def test_the_wall_and_a_viewer_see_no_person(monkeypatch, store_url, user, query):  # noqa: F811
    store = open_store(store_url)
    try:
        chronology.add_entry(store, "報告", "山田さん 090-1234-5678 から救助要請", actor="sato",
                             from_unit="佐藤一郎", to_unit="消防")  # fmt: skip
    finally:
        store.dispose()
    at = _page(monkeypatch, store_url, user, **query)
    assert not at.exception
    shown = at.table[0].value  # the masked view is an HTML table (wall-screen type)
    text = shown.to_string()
    assert "救助要請" in text and "消防" in text
    assert "090-1234-5678" not in text and "佐藤一郎" not in text and "sato" not in text
    assert "記入者" not in list(shown.columns)
    assert not [b for b in at.button if b.label == "記録"]  # read-only


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_meeting_pdf_holds_the_entries_meeting_and_as_of(store_url, tmp_path):  # noqa: F811
    import pandas as pd

    store = open_store(store_url)
    at = pd.Timestamp("2026-10-12 14:05", tz="Asia/Tokyo")
    try:
        task = chronology.add_entry(store, "指示", "第三中学校の開設準備", actor="sato",
                                    from_unit="本部長室", to_unit="教育部", assignee="教育部", at=at,
                                    due_at=at + pd.Timedelta(minutes=30))  # fmt: skip
        chronology.add_entry(store, "決定", "避難所を追加開設する", actor="sato",
                             at=at + pd.Timedelta(hours=1))  # fmt: skip
        result = chronology_pdf(store, meeting=3, as_of=at + pd.Timedelta(minutes=50),
                                paper="A3", who="sato")  # fmt: skip
    finally:
        store.dispose()
    path = tmp_path / "c.pdf"
    path.write_bytes(result.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert "第3回本部会議" in text and "2026年10月12日 14:55 現在" in text
    assert "第三中学校の開設準備" in text and "★期限超過" in text and "未着手" in text
    assert "避難所を追加開設する" not in text  # after the as-of time
    assert result.count == 1 and task["task"]


def test_an_operator_fixes_a_damage_report_on_the_page(monkeypatch, store_url):  # noqa: F811
    at = _page(monkeypatch, store_url)
    at.text_input(key="damage-name").input("令和8年台風第19号")
    at.text_input(key="damage-hq").input("災害対策本部 設置")
    [button] = [b for b in at.button if b.label == "この時点で第N報として確定"]
    at = button.click().run()
    assert not at.exception
    assert any("第1報を確定しました。" in s.value for s in at.success)
    store = open_store(store_url)
    try:
        report = store.get("damage_reports", 1)
        events = store.read("chronology", where={"event": "damage_report"})
    finally:
        store.dispose()
    assert report["disaster_name"] == "令和8年台風第19号" and report["fixed_by"] == "operator"
    assert report["overview"]["hq_setup"] == "災害対策本部 設置"
    assert len(events) == 1
    [make] = [b for b in at.button if b.label == "Excel・PDF を作成"]
    at = make.click().run()
    assert not at.exception
    assert sorted(b.proto.label for b in at.get("download_button")) == ["Excel", "PDF"]
