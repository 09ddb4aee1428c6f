"""被害報 (第4号様式): counts over verified field reports, 未確認, 第N報 and its files."""

from __future__ import annotations

import io
import shutil
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import chronology, damage, vocab
from geodata.export.damage_report import damage_excel, damage_pdf
from tests.test_drill import REF

T0 = pd.Timestamp("2026-10-12 12:00", tz="Asia/Tokyo").tz_convert("UTC")


@pytest.fixture(scope="module")
def drill_store(tmp_path_factory):
    from geodata.reference.files import load_reference
    from geodata.store.core import open_store
    from ingest.drill.load import load_into_store
    from ingest.drill.scenario import FIXED_ANCHOR, generate

    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('damage')}/s.sqlite")
    for layer, frame in load_reference("13208", REF).frames.items():
        s.upsert(layer, frame, source="reference")
    x = generate(seed=4, posts=300, roster=40, anchor=FIXED_ANCHOR, reference_dir=REF)
    load_into_store(x, s)
    yield s, x
    s.dispose()


def _hand_count(export: pd.DataFrame, verified: bool) -> dict[str, int]:
    """Sum each item's column over the export's rows of one verification state, by hand."""
    rows = export[(export["確認状況"] == "確認済") == verified]
    out = {}
    for code, headers in damage.FILE_HEADERS.items():
        column = next((h for h in headers if h in export.columns), None)
        values = (
            pd.to_numeric(rows[column], errors="coerce") if column else pd.Series([], dtype=float)
        )
        out[code] = int(values.fillna(0).sum())
    return out


def test_each_count_of_the_drill_equals_a_hand_count(drill_store):
    store, x = drill_store
    stored = store.read("field_reports")
    assert stored["incident_id"].isna().all()  # each report counts alone (no incident merges)
    assert set(stored["triage"]) == {"verified", "new"}
    table = damage.counts(store)
    confirmed, unconfirmed = _hand_count(x.field_reports, True), _hand_count(x.field_reports, False)
    for code in vocab.DAMAGE_ITEMS.codes:
        assert table.loc[code, "confirmed"] == confirmed[code], code
        assert table.loc[code, "unconfirmed"] == unconfirmed[code], code
    assert sum(confirmed.values()) > 0 and sum(unconfirmed.values()) > 0  # the drill has both
    hh = ("house_total_hh", "house_half_hh", "house_above_floor_hh")
    assert table.loc["affected_hh", "confirmed"] == sum(confirmed[c] for c in hh)


def _report(cat, triage, incident=None, sid=None, **dmg) -> dict:
    return {"source": "survey", "source_id": sid, "category": cat, "severity": 2,
            "reported_at": T0, "triage": triage, "incident_id": incident,
            **{f"dmg_{k}": v for k, v in dmg.items()}}  # fmt: skip


def _store_reports(store, rows):
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[shapely.Point(139.55, 35.65)] * len(rows),
                             crs=4326)  # fmt: skip
    store.upsert("field_reports", frame)


def test_unverified_counts_as_unconfirmed_only_and_one_incident_counts_once(store):
    _store_reports(store, [
        _report("建物被害", "verified", "I1", "a", house_total_bldg=1, house_total_hh=1, house_total_ppl=3),
        _report("建物被害", "verified", "I1", "b", house_total_bldg=1, house_total_hh=1, house_total_ppl=4),
        _report("建物被害", "new", None, "c", house_half_bldg=2),
        _report("建物被害", "dismissed", None, "d", house_half_bldg=5),
        _report("救助要請", None, None, "e", injured_minor=1),
    ])  # fmt: skip
    table = damage.counts(store)
    assert table.loc["house_total_bldg", ["confirmed", "unconfirmed"]].tolist() == [1, 0]
    assert table.loc["house_total_ppl", "confirmed"] == 4  # the larger figure of one incident
    assert table.loc["house_total_ppl", "confirmed_reports"] == ["survey:a", "survey:b"]
    assert table.loc["house_half_bldg", ["confirmed", "unconfirmed"]].tolist() == [0, 2]
    assert table.loc["house_half_bldg", "unconfirmed_reports"] == ["survey:c"]
    assert table.loc["injured_minor", ["confirmed", "unconfirmed"]].tolist() == [0, 1]
    assert table.loc["affected_ppl", "confirmed"] == 4


def test_the_second_report_shows_its_differences_and_its_files_hold_the_numbers(
    drill_store, tmp_path
):
    store, _ = drill_store
    first = damage.fix_report(store, actor="sato", disaster_name="令和8年台風第19号",
                              hq_setup="災害対策本部 設置（10/12 09:00）")  # fmt: skip
    assert first["number"] == 1
    reports = store.read("field_reports")
    pending = reports[(reports["triage"] == "new") & reports["dmg_house_above_floor_bldg"].notna()
                      | (reports["triage"] == "new") & reports["dmg_house_below_floor_bldg"].notna()]  # fmt: skip
    target = pending.iloc[0]
    damage.verify_report(store, (target["source"], target["source_id"]), actor="kato")
    second = damage.fix_report(store, actor="sato", disaster_name="令和8年台風第19号")
    assert second["number"] == 2
    diff = damage.difference(second, first)
    stated = {c: int(target[f"dmg_{c}"]) for c in vocab.DAMAGE_ITEMS.codes
              if pd.notna(target[f"dmg_{c}"]) and target[f"dmg_{c}"] > 0}  # fmt: skip
    assert stated
    for code in vocab.DAMAGE_ITEMS.codes:
        assert diff.loc[code, "change"] == stated.get(code, 0), code
        assert diff.loc[code, "unconfirmed_change"] == -stated.get(code, 0), code
    assert first["figures"] == damage.report(store, 1)["figures"]  # 第1報 stays as fixed
    events = store.read("chronology", where={"event": "damage_report"})
    assert sorted(events["text"].str.extract(r"(第\d報)")[0]) == ["第1報", "第2報"]

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(damage_excel(store, second, first, who="sato").data))
    two = book["その2"]
    assert [c.value for c in two[5]] == [
        "区分",
        "項目",
        "単位",
        "被害（確定）",
        "未確認",
        "前報からの増減",
    ]
    cells = {
        row[1].value: (row[3].value, row[4].value, row[5].value) for row in two.iter_rows(min_row=6)
    }
    for code, r in diff.iterrows():
        assert cells[r["label"]] == (r["confirmed"], r["unconfirmed"], r["change"]), code
    assert "第2報" in book["その1"]["B6"].value

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    path = tmp_path / "r.pdf"
    path.write_bytes(damage_pdf(store, second, first, who="sato").data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    lines = [line.split() for line in text.splitlines() if len(line.split()) >= 6]
    checked = 0
    for code, r in diff.iterrows():
        parts = next(
            (p for p in lines if f" {r['label']} {r['unit']} " in f" {' '.join(p)} "), None
        )
        assert parts is not None, r["label"]
        change = f"{r['change']:+d}" if r["change"] else "0"
        assert parts[-3:] == [str(r["confirmed"]), str(r["unconfirmed"]), change], code
        checked += 1
    assert checked == len(diff)
    assert "第2報" in text and "被害状況即報" in text


def test_a_damage_report_is_in_the_chronology_once(store):
    stored = damage.fix_report(store, actor="sato", as_of=T0)
    assert chronology.record_event(store, "damage_report", "again", key="damage_report:1") is False
    assert stored["number"] == 1


def test_the_field_report_file_source_reads_damage_counts_and_verification(tmp_path, store):
    from ingest.runner import run_source
    from ingest.sources.field_reports import FieldReportSource

    path = tmp_path / "survey.csv"
    path.write_text(
        "報告ID,報告日時,緯度,経度,種別,内容,確認状況,死者,全壊(棟),床上浸水（世帯）,電気\n"
        "r1,2026-10-12 12:00,35.65,139.55,建物被害,倒壊,確認済,0,1,,\n"
        "r2,2026-10-12 12:10,35.65,139.55,浸水・冠水,床上,未確認,,,3,120\n"
        "r3,2026-10-12 12:20,35.65,139.55,その他,x,,-1,,,\n",
        encoding="utf-8",
    )
    result = run_source(store, FieldReportSource("survey", path=str(path)))
    assert result["ok"], result["error"]
    assert (result["inserted"], result["rejected"]) == (2, 1)  # a negative count is refused
    rows = store.read("field_reports").set_index("source_id")
    assert rows.loc["r1", "triage"] == "verified" and rows.loc["r1", "dmg_house_total_bldg"] == 1
    assert rows.loc["r2", "triage"] == "new" and rows.loc["r2", "dmg_house_above_floor_hh"] == 3
    assert rows.loc["r2", "dmg_power"] == 120 and pd.isna(rows.loc["r1", "dmg_power"])
    assert "死者" in store.read_rejections(source="survey").iloc[0]["reason"]
    table = damage.counts(store)
    assert table.loc["house_total_bldg", ["confirmed", "unconfirmed"]].tolist() == [1, 0]
    assert table.loc["affected_hh", ["confirmed", "unconfirmed"]].tolist() == [0, 3]


def test_the_field_form_s_counts_reach_the_record():
    from dashboard.field import report as field
    from dashboard.field.report import Place

    place = Place(shapely.Point(139.55, 35.65), "13208008001", "国領町一丁目", "click")
    frame = field.report_frame(
        "建物被害", 2, "倒壊", place, "sato", T0, damage={"house_half_bldg": 2}
    )
    assert frame.iloc[0]["dmg_house_half_bldg"] == 2
    from geodata.schema import validate

    ok, bad = validate(frame, "field_reports")
    assert (
        len(bad) == 0 and ok.iloc[0]["dmg_house_half_bldg"] == 2 and pd.isna(ok.iloc[0]["dmg_dead"])
    )
