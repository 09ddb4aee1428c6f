"""The exports on the real 調布市 reference data and the drill, end to end through the CLI.

``python -m ingest reference`` loads the open data (towns, boundary, 78 shelters, flood areas),
``python -m ingest demo`` the drill; the maps and lists are then read back with poppler.
"""

from __future__ import annotations

import json
import shutil

import pytest

from ingest.cli import main
from tests.test_export_map import ATTRIBUTION_LINES, pdf_info, pdf_text, save_rendering, squash

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
ANCHOR = "2026-10-12T21:00"


@pytest.fixture(scope="module")
def drill_db(tmp_path_factory, reference_dir):
    path = tmp_path_factory.mktemp("real") / "drill.sqlite"
    url = f"sqlite:///{path}"
    ref = ["--reference-dir", str(reference_dir)]
    assert main(["reference", "--municipality", "13208", "--no-download", "--db", url, *ref]) == 0
    demo = ["demo", "--seed", "1", "--posts", "300", "--roster", "80", "--anchor", ANCHOR]
    assert main([*demo, "--db", url, *ref]) == 0
    return url


def export(capsys, *argv) -> dict:
    assert main(["export", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_real_situation_maps(drill_db, tmp_path, capsys):
    from geodata.store.core import open_store

    store = open_store(drill_db)
    roster = store.read("roster")
    shelters = store.read("shelters")
    store.dispose()
    common = ["--no-tiles", "--as-of", ANCHOR, "--db", drill_db, "--out", str(tmp_path)]
    internal = export(capsys, "situation-map", *common)
    public = export(capsys, "situation-map", "--public", *common)
    assert internal["count"] == len(shelters) > 50
    kpis = internal["kpis"]
    assert kpis["roster_total"] == len(roster) == 80
    assert kpis["replied"] + kpis["reached"] + kpis["unconfirmed"] == kpis["roster_total"]
    internal_pdf = open(internal["paths"][0], "rb").read()
    public_pdf = open(public["paths"][0], "rb").read()
    save_rendering(internal_pdf, "real-situation-map-internal")
    save_rendering(public_pdf, "real-situation-map-public")
    flat = squash(pdf_text(public_pdf, tmp_path))
    assert squash("調布市 災害対策本部 状況図") in flat and "2026年10月12日21:00現在" in flat
    for line in ATTRIBUTION_LINES:
        assert squash(line) in flat
    assert f"{kpis['evacuees']:,}人／{kpis['capacity']:,}人" in flat
    for _, person in roster.iterrows():
        for value in (person["name"], person["address"], person["phone"]):
            if value:
                assert squash(value) not in flat, value
    assert pdf_info(public_pdf, tmp_path)["Page size"].startswith("1190.55 x 841.89")
    if kpis["needs_help"]:
        helped = squash(pdf_text(internal_pdf, tmp_path))
        assert any(squash(n) in helped for n in roster["name"])


def test_real_visit_list_and_open_data(drill_db, tmp_path, capsys):
    visits = export(
        capsys, "visit-list", "--as-of", ANCHOR, "--db", drill_db, "--out", str(tmp_path)
    )
    data = open(visits["paths"][0], "rb").read()
    save_rendering(data, "real-visit-list")
    assert int(pdf_info(data, tmp_path)["Pages"]) >= visits["towns"] >= 1
    opendata = export(
        capsys, "shelters-opendata", "--as-of", ANCHOR, "--db", drill_db, "--out", str(tmp_path)
    )
    assert opendata["count"] > 50 and opendata["open"] >= 1
    cap = export(capsys, "cap", "--until", ANCHOR, "--db", drill_db, "--out", str(tmp_path / "cap"))
    assert cap["files"] >= opendata["open"]
