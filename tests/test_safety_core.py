"""安否確認 answered once: the page, the CLI, the PDF, the CSV and the situation map agree.

Each test here reproduces a measured disagreement (issue 14): the CLI list kept residents a
follow-up had reached and printed 「電話 無事確認」 beside them, its pages came in another order,
outcome ``moved`` printed ``moved`` on the PDF; the situation map pointed to injured and rescue
residents that were on no list; the map said 未回答 105 where the page said 未確認 103.
They run on the small world of :mod:`tests.test_export_world` (every value written out) and on
the drill.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pandas as pd
import pytest

from dashboard.export import files as export_page
from geodata import follow_ups, safety
from geodata.access.roles import User
from geodata.export.situation import collect_situation
from geodata.store.core import open_store
from ingest.cli import main
from tests.accounts import ensure_accounts
from tests.test_export_world import AS_OF, build_world, jst
from tests.test_safety_page import _list_frame, run_page

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
OPERATOR = User("operator", "operator")
NAMES = {  # resident -> name as the roster of the world holds it
    "R001": "山田 太郎", "R002": "佐藤 ハナ", "R003": "髙橋 和子", "R004": "田中 正男",
    "R005": "伊藤 美代子", "R006": "渡辺 茂", "R007": "小林 春江", "R008": "加藤 𠮷男",
}  # fmt: skip


@pytest.fixture
def world(tmp_path):
    url = f"sqlite:///{tmp_path / 'safety.sqlite'}"
    store = open_store(url)
    build_world(store)
    ensure_accounts(url)
    yield {"url": url, "store": store}
    store.dispose()


def follow_up(store, rid: str, action: str, outcome: str, at: str) -> None:
    """A follow-up at a JST time (the form writes the current time; the world is in 2026)."""
    frame = follow_ups.follow_up_frame(rid, action, outcome, None, by="安否班", at=jst(at))
    store.upsert("follow_ups", frame, source="test", actor="安否班")


def squash(text: str) -> str:
    return "".join(text.split())


def pdf_text(data: bytes, mode: str = "-layout") -> str:
    """The PDF's text: ``-layout`` keeps rows apart, ``-raw`` keeps a cell's text together."""
    out = subprocess.run(["pdftotext", mode, "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode()


def cli_visit_list(url: str, tmp_path, capsys, *args: str) -> tuple[dict, bytes]:
    """``python -m ingest export visit-list``: the summary and the PDF."""
    out = tmp_path / "cli"
    assert main(["export", "visit-list", "--db", url, "--out", str(out), "--json", *args]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return summary, open(summary["paths"][0], "rb").read()


def in_order(text: str, names: list[str]) -> bool:
    """Whether ``names`` occur in ``text`` one after the other (whitespace ignored)."""
    flat, pos = squash(text), 0
    for name in names:
        found = flat.find(squash(name), pos)
        if found < 0:
            return False
        pos = found + 1
    return True


def rows_of(pdf: bytes) -> int:
    """Rows of a visit-list PDF: each has one 「□無事」 check box."""
    return pdf_text(pdf).count("□無事")


# -- the measured disagreements, on the world ------------------------------------------------


def test_page_cli_pdf_and_csv_list_the_same_residents_in_the_same_order(
    world, monkeypatch, tmp_path, capsys
):
    store = world["store"]
    # Reached by phone: off every list. R004 was called at 20:40 and replied 無事 at 21:10.
    follow_up(store, "R006", "phone", "reached_safe", "2026-10-12T21:20")
    follow_up(store, "R007", "phone", "reached_safe", "2026-10-12T21:25")
    follow_up(store, "R002", "phone", "reached_safe", "2026-10-12T21:30")  # replied 要救助
    follow_up(store, "R005", "phone", "no_answer", "2026-10-12T21:35")
    follow_up(store, "R008", "visit", "moved", "2026-10-12T21:40")
    # R003 (負傷 at 20:10, nobody reached since) first; then R005 and R008 (both priority 3):
    # their towns in town-code order (飛田給一丁目 13208001001 before 小島町一丁目 13208003001).
    expected = ["R003", "R008", "R005"]

    at = run_page(monkeypatch, world["url"], "safety")
    page = _list_frame(at)
    assert page["name"].tolist() == [NAMES[r] for r in expected]
    assert page["last_follow_up"].tolist() == ["", "訪問 転居 21:40", "電話 不通 21:35"]

    summary, cli_pdf = cli_visit_list(world["url"], tmp_path, capsys)
    assert summary["count"] == 3
    text = pdf_text(cli_pdf)
    assert rows_of(cli_pdf) == 3 and in_order(text, [NAMES[r] for r in expected])
    assert "無事確認" not in text  # nobody reached is printed
    for rid in ("R001", "R002", "R004", "R006", "R007"):
        assert squash(NAMES[rid]) not in squash(text), rid

    csv = pd.read_csv(
        io.BytesIO(export_page.visit_list_file(store, OPERATOR, "csv")), encoding="utf-8-sig"
    )
    assert csv["整理番号"].tolist() == expected
    page_pdf = export_page.visit_list_file(store, OPERATOR, "pdf")
    assert rows_of(page_pdf) == 3 and in_order(pdf_text(page_pdf), [NAMES[r] for r in expected])


def test_moved_prints_tenkyo_on_the_pdf_and_the_page(world, monkeypatch, tmp_path, capsys):
    follow_up(world["store"], "R008", "visit", "moved", "2026-10-12T21:40")
    _, pdf = cli_visit_list(world["url"], tmp_path, capsys)
    text = squash(pdf_text(pdf, "-raw"))
    assert "訪問転居21:40" in text and "moved" not in text
    at = run_page(monkeypatch, world["url"], "safety")
    page = _list_frame(at).set_index("name")
    assert page.loc[NAMES["R008"], "last_follow_up"] == "訪問 転居 21:40"


def test_every_injured_or_rescue_resident_on_the_map_is_on_the_visit_list(world, tmp_path, capsys):
    store = world["store"]
    situation = collect_situation(store, as_of=AS_OF)
    assert situation.needs_help["resident_id"].tolist() == ["R002", "R003"]  # 要救助, then 負傷
    _, pdf = cli_visit_list(world["url"], tmp_path, capsys, "--as-of", AS_OF)
    text = pdf_text(pdf)
    for rid in situation.needs_help["resident_id"]:
        assert squash(NAMES[rid]) in squash(text), rid
    # the map numbers them as the visit list does: they are the list's first section
    listed = safety.read_visit_list(store, as_of=AS_OF)
    numbers = dict(zip(listed["resident_id"], listed["no"], strict=True))
    assert situation.needs_help["no"].tolist() == [numbers["R002"], numbers["R003"]] == [1, 2]
    assert squash("要救助・負傷（回答あり・未対応）（2人）") in squash(text)

    # reached after the rescue reply: off the map's list and off the visit list
    follow_up(store, "R002", "visit", "reached_needs_help", "2026-10-12T20:50")
    situation = collect_situation(store, as_of=AS_OF)
    listed = safety.read_visit_list(store, as_of=AS_OF)
    assert situation.needs_help["resident_id"].tolist() == ["R003"]
    assert "R002" not in set(listed["resident_id"]) and "R003" in set(listed["resident_id"])
    assert set(situation.needs_help["resident_id"]) <= set(listed["resident_id"])


def test_map_and_page_count_the_unconfirmed_the_same_way(world, monkeypatch, tmp_path):
    from geodata.export.map import situation_map

    store = world["store"]
    follow_up(store, "R006", "phone", "reached_safe", "2026-10-12T21:20")
    situation = collect_situation(store)
    at = run_page(monkeypatch, world["url"], "safety")
    metrics = {m.label: m.value for m in at.metric}
    # R005, R007, R008 (R004 replied at 21:10, R006 was reached)
    assert metrics["未確認（要フォロー）"] == str(situation.kpis["unconfirmed"]) == "3"
    assert situation.kpis["reached"] == 1 and situation.kpis["replied"] == 4
    assert situation.kpis["roster_total"] == 8
    towns = situation.towns.set_index("name")
    assert towns.loc["多摩川三丁目", "unconfirmed"] == 0  # R006 reached, R001 replied
    (pdf,) = situation_map(store, who="tester")
    text = squash(pdf_text(pdf.data))
    assert "未確認3人" in text and "フォローで確認1人" in text and "未回答" not in text


def test_as_of_ignores_later_replies_and_follow_ups(world):
    store = world["store"]
    follow_up(store, "R006", "phone", "reached_safe", "2026-10-12T21:20")
    before = safety.read_visit_list(store, as_of=AS_OF)
    after = safety.read_visit_list(store, as_of="2026-10-12T22:00")
    # R004 replied 無事 at 21:10 and R006 was reached at 21:20: both after AS_OF
    assert before["resident_id"].tolist() == [
        "R002",
        "R003",
        "R006",
        "R004",
        "R007",
        "R008",
        "R005",
    ]
    assert after["resident_id"].tolist() == ["R002", "R003", "R007", "R008", "R005"]
    r004 = before.set_index("resident_id").loc["R004"]
    assert r004["last_follow_up"] == "電話 不通 20:40" and r004["attempts"] == 1


# -- the drill -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drill_url(tmp_path_factory, reference_dir):
    path = tmp_path_factory.mktemp("drill") / "drill.sqlite"
    url = f"sqlite:///{path}"
    ref = ["--reference-dir", str(reference_dir)]
    assert main(["reference", "--municipality", "13208", "--no-download", "--db", url, *ref]) == 0
    assert main(["demo", "--seed", "0", "--posts", "200", "--db", url, *ref]) == 0
    ensure_accounts(url)
    return url


def test_drill_after_three_phone_follow_ups(drill_url, monkeypatch, tmp_path, capsys):
    """The measured case: 3 phone follow-ups ``reached_safe``; then the CLI had 105, the page 102."""
    store = open_store(drill_url)
    try:
        before = safety.read_visit_list(store)
        unconfirmed = before[before["section"] != safety.URGENT]
        for rid in unconfirmed["resident_id"].head(3):
            follow_ups.record_follow_up(store, rid, "phone", "reached_safe", None, actor="安否班")
        states = safety.resident_states(
            store.read("roster"), store.read("safety_replies"), store.read("follow_ups")
        )
        listed = safety.read_visit_list(store)
        csv = pd.read_csv(
            io.BytesIO(export_page.visit_list_file(store, OPERATOR, "csv")),
            encoding="utf-8-sig",
            dtype=str,
        )
    finally:
        store.dispose()
    n = safety.totals(states)
    assert n["unconfirmed"] == len(unconfirmed) - 3
    assert len(listed) == n["unconfirmed"] + n["urgent"] == len(before) - 3
    ids = listed["resident_id"].tolist()
    assert csv["整理番号"].tolist() == ids

    at = run_page(monkeypatch, drill_url, "safety")
    page = _list_frame(at)
    assert len(page) == len(ids)
    assert page["name"].tolist() == listed["name"].tolist()
    assert page["phone"].fillna("").tolist() == listed["phone"].fillna("").tolist()

    summary, pdf = cli_visit_list(drill_url, tmp_path, capsys)
    assert summary["count"] == len(ids) and rows_of(pdf) == len(ids)
    text = pdf_text(pdf)
    assert in_order(text, listed["name"].tolist()) and "無事確認" not in text
