"""``python -m ingest export KIND``: each kind writes its files and prints a JSON summary."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ingest.cli import main
from ingest.commands.export import parse_bbox, parse_where
from tests.test_export_world import AS_OF, open_world


@pytest.fixture
def db(sqlite_url):
    for _ in open_world(sqlite_url):
        yield sqlite_url


def run(capsys, *argv) -> tuple[int, dict | str]:
    code = main(["export", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out.strip().splitlines()[-1]) if code == 0 else err)


def test_situation_map(db, tmp_path, capsys):
    code, summary = run(
        capsys, "situation-map", "--public", "--no-tiles", "--as-of", AS_OF, "--db", db,
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    assert summary["files"] == 1 and summary["paths"][0].endswith("-public-20261012-2100.pdf")
    assert summary["kpis"]["evacuees"] == 755 and summary["basemap"] is False
    assert (tmp_path / summary["paths"][0].rsplit("/", 1)[1]).read_bytes().startswith(b"%PDF")


def test_layer_to_file(db, tmp_path, capsys):
    out = tmp_path / "roster.csv"
    code, summary = run(
        capsys, "layer", "roster", "--format", "csv-sjis", "--where", "care_priority=1",
        "--db", db, "--out", str(out),
    )  # fmt: skip
    assert code == 0 and summary["paths"] == [str(out)] and summary["count"] == 3
    assert summary["replaced"]["count"] == 0
    frame = pd.read_csv(out, encoding="cp932", dtype=str)
    assert set(frame["要支援者ID"]) == {"R001", "R002", "R006"}


def test_public_roster_refused(db, tmp_path, capsys):
    code, err = run(capsys, "layer", "roster", "--public", "--db", db, "--out", str(tmp_path))
    assert code == 2 and "town-level counts" in err
    code, err = run(capsys, "visit-list", "--public", "--db", db, "--out", str(tmp_path))
    assert code == 2 and "no public version" in err


def test_visit_list_opendata_and_cap(db, tmp_path, capsys):
    code, summary = run(capsys, "visit-list", "--as-of", AS_OF, "--db", db, "--out", str(tmp_path))
    # R005..R008 and R004 (replied after AS_OF), and R002/R003 who asked for help
    assert code == 0 and summary["count"] == 7 and summary["towns"] == 5
    assert summary["urgent"] == 2
    code, summary = run(
        capsys, "shelters-opendata", "--as-of", AS_OF, "--db", db, "--out", str(tmp_path)
    )
    assert code == 0 and summary["count"] == 6 and summary["open"] == 3
    cap_dir = tmp_path / "cap"
    code, summary = run(
        capsys, "cap", "--since", "2026-10-12T20:00", "--db", db, "--out", str(cap_dir)
    )
    assert code == 0 and summary["files"] == 3
    assert sorted(p.name for p in cap_dir.iterdir()) == sorted(
        f"{i}.xml" for i in summary["identifiers"]
    )


def test_bad_arguments(db, tmp_path, capsys):
    code, err = run(capsys, "layer", "--db", db)
    assert code == 2 and "layer NAME" in err
    code, err = run(capsys, "layer", "towns", "--where", "nope=1", "--db", db)
    assert code == 2 and "no column" in err
    with pytest.raises(ValueError):
        parse_bbox("139.6,35.6,139.5,35.7")
    assert parse_where(["triage=new,verified"]) == {"triage": ["new", "verified"]}
