"""Downloading reference files: the real files served by a local HTTP server."""

from __future__ import annotations

import json
import zipfile

import pytest
from werkzeug.wrappers import Response

from geodata import settings
from geodata.http import make_session
from geodata.reference.download import KINDS, SourceUrls, download_reference
from geodata.reference.files import load_reference

REF = settings.reference_dir()
FLOOD = REF / "hazard" / "flood_A31-12_13"
pytestmark = pytest.mark.skipif(
    not (REF / "chofu" / "towns_r2ka13208.geojson").exists(), reason="reference data missing"
)


@pytest.fixture(scope="module")
def flood_zip(tmp_path_factory):
    """The A31 Tokyo shapefile zipped the way 国土数値情報 ships it (inside a folder)."""
    path = tmp_path_factory.mktemp("zip") / "A31-12_13_GML.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for part in FLOOD.iterdir():
            if part.is_file():
                zf.write(part, f"A31-12_13_GML/{part.name}")
        zf.writestr("A31-12_13_GML/KS-META-A31-12_13.html", "<html></html>")
    return path.read_bytes()


def urls_for(httpserver) -> SourceUrls:
    base = httpserver.url_for("")
    return SourceUrls(
        emergency=f"{base}jp-shelter-api/api/v0/emergency/{{code6}}.json",
        evacuation=f"{base}jp-shelter-api/api/v0/evacuation/{{code6}}.json",
        towns=f"{base}ka/geojson/2020/{{pref2}}/r2ka{{code5}}.geojson",
        boundary=f"{base}city/geojson/latest/{{code5}}.geojson",
        flood=f"{base}ksj/A31-12_{{pref2}}_GML.zip",
    )


def serve_chofu(httpserver, flood_zip, skip=()) -> None:
    files = {
        "/jp-shelter-api/api/v0/emergency/132080.json": REF / "shelters_gsi/emergency_132080.json",
        "/jp-shelter-api/api/v0/evacuation/132080.json": REF
        / "shelters_gsi/evacuation_132080.json",
        "/ka/geojson/2020/13/r2ka13208.geojson": REF / "chofu/towns_r2ka13208.geojson",
        "/city/geojson/latest/13208.geojson": REF / "chofu/boundary_N03_13208.geojson",
    }
    for route, path in files.items():
        if route not in skip:
            httpserver.expect_request(route).respond_with_data(
                path.read_bytes(), content_type="application/json"
            )
    if "/ksj/A31-12_13_GML.zip" not in skip:
        httpserver.expect_request("/ksj/A31-12_13_GML.zip").respond_with_data(
            flood_zip, content_type="application/zip"
        )


def test_download_then_load_chofu(httpserver, flood_zip, tmp_path):
    serve_chofu(httpserver, flood_zip)
    results = download_reference("13208", tmp_path, make_session(retries=0), urls_for(httpserver))
    assert [(r.kind, r.status) for r in results] == [(k, "downloaded") for k in KINDS]
    assert sorted(p.name for p in (tmp_path / "hazard" / "flood_A31-12_13").iterdir()) == [
        "A31-12_13.prj", "A31-12_13.shp", "A31-12_13.shx", "KS-META-A31-12_13.xml"
    ]  # fmt: skip
    assert not list(tmp_path.rglob(".*"))  # no temporary files left
    loaded = load_reference("132080", tmp_path)
    counts = {name: len(frame) for name, frame in loaded.frames.items()}
    assert counts == {"towns": 103, "boundaries": 1, "shelters": 78, "hazard_areas": 40}

    requests_before = len(httpserver.log)
    again = download_reference("13208", tmp_path, make_session(retries=0), urls_for(httpserver))
    assert [r.status for r in again] == ["present"] * len(KINDS)
    assert len(httpserver.log) == requests_before  # nothing fetched again


def test_a_404_source_is_reported_and_the_others_still_download(httpserver, flood_zip, tmp_path):
    missing = "/jp-shelter-api/api/v0/emergency/132080.json"
    serve_chofu(httpserver, flood_zip, skip={missing})
    httpserver.expect_request(missing).respond_with_data("Not Found", status=404)
    results = download_reference("13208", tmp_path, make_session(retries=0), urls_for(httpserver))
    by_kind = {r.kind: r for r in results}
    failed = by_kind["emergency"]
    assert failed.status == "failed"
    assert failed.error == "HTTP 404 NOT FOUND"
    assert failed.url == httpserver.url_for("/jp-shelter-api/api/v0/emergency/132080.json")
    assert not failed.path.exists()
    assert {k: r.status for k, r in by_kind.items() if k != "emergency"} == {
        "evacuation": "downloaded", "towns": "downloaded", "boundary": "downloaded",
        "flood": "downloaded",
    }  # fmt: skip
    loaded = load_reference("13208", tmp_path)
    assert len(loaded.frames["shelters"]) == 68  # the evacuation file alone


def test_unavailable_municipality_and_html_error_pages_are_not_saved(httpserver, tmp_path):
    unavailable = {"type": "unavailable", "code": "111015", "dataType": "emergency"}
    httpserver.expect_request("/e/111015.json").respond_with_json(unavailable)
    httpserver.expect_request("/v/111015.json").respond_with_data(
        "<html>maintenance</html>", content_type="text/html"
    )
    urls = SourceUrls(
        emergency=httpserver.url_for("/e/{code6}.json"),
        evacuation=httpserver.url_for("/v/{code6}.json"),
    )
    results = download_reference(
        "11101", tmp_path, make_session(retries=0), urls, kinds=("emergency", "evacuation")
    )
    assert [(r.status, r.error is None) for r in results] == [
        ("unavailable", True),
        ("failed", False),
    ]
    assert results[1].error.endswith("not GeoJSON (Expecting value: line 1 column 1 (char 0))")
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob(".*"))


def test_retries_a_503_honouring_retry_after(httpserver, tmp_path):
    body = (REF / "shelters_gsi/emergency_132080.json").read_bytes()
    httpserver.expect_oneshot_request("/e/132080.json").respond_with_response(
        Response("busy", status=503, headers={"Retry-After": "0"})
    )
    httpserver.expect_request("/e/132080.json").respond_with_data(body)
    urls = SourceUrls(emergency=httpserver.url_for("/e/{code6}.json"))
    results = download_reference(
        "13208", tmp_path, make_session(retries=2, backoff=0), urls, kinds=("emergency",)
    )
    assert results[0].status == "downloaded"
    assert results[0].path.read_bytes() == body
    statuses = [resp.status_code for _, resp in httpserver.log]
    assert statuses == [503, 200]
    assert httpserver.log[0][0].headers["User-Agent"].startswith("bosai-dashboard/0.1")


def test_a_bad_zip_is_reported(httpserver, tmp_path):
    httpserver.expect_request("/z.zip").respond_with_data(
        b"PK not really", content_type="application/zip"
    )
    urls = SourceUrls(flood=httpserver.url_for("/z.zip"))
    (result,) = download_reference(
        "13208", tmp_path, make_session(retries=0), urls, kinds=("flood",)
    )
    assert result.status == "failed" and "not a zip file" in result.error
    assert not (tmp_path / "hazard" / "flood_A31-12_13").exists()


def test_unknown_source_name_is_refused():
    with pytest.raises(ValueError, match="unknown source tiles"):
        SourceUrls().replace({"tiles": "http://x"})
    assert SourceUrls().replace({"towns": "http://m/{code5}"}).towns == "http://m/{code5}"


def test_cli_downloads_what_is_missing(httpserver, flood_zip, tmp_path, monkeypatch, capsys):
    from ingest import cli

    serve_chofu(httpserver, flood_zip)
    urls = urls_for(httpserver)
    monkeypatch.setattr(cli, "COMMANDS", ("reference",))
    argv = ["reference", "--municipality", "13208", "--reference-dir", str(tmp_path / "ref"),
            "--db", f"sqlite:///{tmp_path}/t.sqlite", "--json"]  # fmt: skip
    for kind in KINDS:
        argv += ["--url", f"{kind}={getattr(urls, kind)}"]
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["downloaded"] == ["towns", "boundary", "emergency", "evacuation", "flood"]
    assert (summary["shelters"], summary["hazard_areas"], summary["inserted"]) == (78, 40, 222)
    assert cli.main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["downloaded"], again["inserted"], again["updated"]) == ([], 0, 0)


def test_the_command_says_in_one_line_what_failed_and_where_files_go_by_hand(tmp_path, capsys):
    """Offline: no retry noise, one line naming each failed source and the paths to fill by hand."""
    import socket

    from ingest.cli import main

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = f"http://127.0.0.1:{port}"
    urls = [
        f"--url={kind}={dead}/{kind}"
        for kind in ("towns", "boundary", "emergency", "evacuation", "flood")
    ]
    code = main(
        ["reference", "--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--reference-dir",
         str(tmp_path / "ref"), "--municipality", "13208", *urls]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # no urllib3 retry warnings, no traceback
    assert lines[0].startswith("error: no reference data for 13208")
    assert f"5 downloads failed (towns: connection refused (127.0.0.1:{port})" in lines[0]
    assert "13208/towns_r2ka13208.geojson" in lines[0]
    assert "shelters_gsi/evacuation_132080.json" in lines[0]
    assert len(lines[0]) < 700
