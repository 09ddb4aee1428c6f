"""Every benchmark of ``python -m benchmarks`` runs at a tiny scale and returns well-formed
figures, so that none of them rots between the (long) benchmark runs."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import report
from benchmarks.common import TINY, Figure, Workspace

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def ws(tmp_path_factory, reference_dir):
    workspace = Workspace(tmp_path_factory.mktemp("bench"), repeats=1, budget=10.0, quick=True)
    yield workspace
    workspace.close()


def _figures(result) -> tuple[list[Figure], dict]:
    figures, skipped = result if isinstance(result, tuple) else (result, {})
    assert isinstance(skipped, dict)
    for f in figures:
        assert isinstance(f, Figure)
        assert f.scale == TINY.name
        assert f.unit and f.metric and f.baseline_name
        assert f.better in ("higher", "lower")
        assert f.value is not None and math.isfinite(f.value) and f.value >= 0
        if f.baseline is not None:
            assert f.baseline > 0 and f.ratio == pytest.approx(f.value / f.baseline)
        json.dumps(f.as_dict(), default=str)
    return figures, skipped


def _metrics(figures) -> list[str]:
    return [f.metric for f in figures]


def test_ingest(ws):
    from benchmarks import bench_ingest

    figures, _ = _figures(bench_ingest.run(ws, [TINY], batch=200))
    # one executemany in one transaction, commit per row, commit per 1,000 rows
    assert [f.baseline_name.split(" of ")[0] for f in figures] == [
        "one-transaction executemany", "INSERT per row, commit per row",
        "INSERT per row, commit per 1,000 rows",
    ]  # fmt: skip
    # the bulk insert is the fastest plain write of the same rows
    assert figures[0].baseline > figures[1].baseline
    assert {f.unit for f in figures} == {"posts/s"}
    extra = figures[0].extra
    assert extra["posts_fed"] == TINY.posts and extra["failures"] == []
    assert extra["posts_stored"] > 0
    stages = extra["stages_seconds"]
    for stage in ("dedupe", "incidents", "upsert (posts, incidents)", "normalize", "classify"):
        assert stages[stage] > 0, stages


@pytest.mark.postgis
def test_store_reads(ws):
    from benchmarks import bench_store_reads

    figures, skipped = _figures(bench_store_reads.run(ws, [TINY]))
    if skipped:
        pytest.skip(str(skipped))
    assert [f.metric.rsplit("(", 1)[1] for f in figures] == ["sqlite)", "postgis)"]
    assert all(f"of {TINY.posts:,} rows" in f.notes for f in figures)


def test_memory(ws):
    from benchmarks import bench_memory

    (figure,), _ = _figures(bench_memory.run(ws, [TINY]))
    assert figure.unit == "MB" and figure.value >= figure.baseline > 50
    assert f"{TINY.posts:,} posts" in figure.notes and "page errors" not in figure.notes


def test_overview(ws):
    from benchmarks import bench_overview

    figures, _ = _figures(bench_overview.run(ws, [TINY]))
    assert [f.unit for f in figures] == ["bytes", "s", "s"]
    assert figures[0].value > 10_000  # towns, hazard areas and shelters are in it


def test_pages(ws):
    from benchmarks import bench_pages

    pages = bench_pages.page_files()
    assert "app_pages/overview.py" in pages
    figures, _ = _figures(bench_pages.run(ws, [TINY]))
    live = [f for f in figures if "while posts arrive" in f.metric]
    assert len(figures) - len(live) == len(pages)
    assert not [f.notes for f in figures if "error" in f.notes]  # no page showed an error
    # the reports page while posts arrive: one cycle (repeats=1) and the hour, 5 reruns
    median, worst, cpu = live
    assert len(median.samples) == len(worst.samples) == len(cpu.samples) == 5
    assert worst.value == pytest.approx(max(median.samples), abs=1e-3)
    assert median.value < worst.value
    # three batches of 200 new posts; the second and third also write 30 of the batch before
    # again with another incident, as ingest's re-linking does
    assert "600 written, 60 written again" in worst.notes


@pytest.mark.browser
def test_map_ready(ws, browser):
    from benchmarks import app_server, bench_map_ready

    with app_server.shared_browser(browser):
        figures, skipped = _figures(bench_map_ready.run(ws, [TINY]))
    if skipped:
        pytest.skip(str(skipped))
    by_metric = {f.metric: f for f in figures}
    for metric in (
        "overview map ready in Chromium (new session)",
        "overview map ready, first session after a server restart",
        "bytes received by the overview page, first visit (empty browser cache)",
        "bytes received by the overview page, opened again (assets cached)",
    ):
        assert metric in by_metric, sorted(by_metric)
    first = by_metric["bytes received by the overview page, first visit (empty browser cache)"]
    again = by_metric["bytes received by the overview page, opened again (assets cached)"]
    assert first.value > again.value  # Streamlit's bundle and fonts come only the first time
    # bytes on the wire (the counting proxy), the DevTools count beside them
    assert "on the wire" in first.notes and "DevTools count" in first.notes
    assert first.value < 3 * 2**20  # compressed bundle and websocket (issue 19: <= 3 MB)
    assert all(f.baseline is not None for f in figures)
    assert all("off-machine" not in f.notes for f in figures)


@pytest.mark.browser
def test_kiosk(ws, browser, monkeypatch):
    from benchmarks import app_server, bench_kiosk

    monkeypatch.setattr(bench_kiosk, "REFRESH", 5)  # the smallest interval the app allows
    with app_server.shared_browser(browser):
        (figure,), skipped = _figures(bench_kiosk.run(ws, [TINY]))
    if skipped:
        pytest.skip(str(skipped))
    assert figure.value <= 5 + bench_kiosk.SLACK + 5  # generous: a loaded CI machine


@pytest.mark.browser
@pytest.mark.postgis
def test_area(ws, browser, monkeypatch):
    from benchmarks import app_server, bench_area

    monkeypatch.setitem(ws.options, "cities", 2)
    monkeypatch.setitem(ws.options, "sessions", 2)
    with app_server.shared_browser(browser):
        figures, skipped = _figures(bench_area.run(ws, [TINY]))
    if skipped:
        pytest.skip(str(skipped))
    by = {f.metric.split(" of ")[0]: f for f in figures}
    ready = by["wall screen map ready, median"]
    # two sessions at once (city 13901 on /?kiosk=1, 13902 on /shelters?kiosk=1); the baseline's
    # one session opened the three wall screens in turn
    assert len(ready.samples) == 2 and len(ready.baseline_samples) == 3
    assert "failed" not in ready.notes
    assert set(ready.extra["median by page"]) == {"/?kiosk=1", "/shelters?kiosk=1"}
    assert by["wall screen map ready, max"].value >= ready.value
    reruns = by["wall auto-refresh rerun, median"]
    assert reruns.samples and reruns.baseline_samples  # the walls refreshed (every 5 s, quick)
    area = next(f for f in figures if f.metric.startswith("area view"))
    assert "table rows (aria-rowcount, header and total included) [4]" in area.notes
    summary = next(f for f in figures if "area_summary" in f.metric)
    assert summary.notes.startswith("2 rows")
    written, unread = (f for f in figures if "AreaCache" in f.metric)
    assert "after a staff edit in one city" in written.metric and written.samples
    # nothing the area view reads was written: no city computed, one query of versions
    assert "no write to what it reads" in unread.metric and unread.value < unread.baseline
    memory = next(f for f in figures if f.benchmark == "memory")
    assert memory.extra["build"]["rows per city"]["posts"] == TINY.posts
    assert memory.extra["off-machine requests"] == 0


def test_report_renders_markdown_and_json(tmp_path):
    figures = [
        Figure("ingest", "tiny", "posts/s", 100.0, "posts/s", 50.0, "naive", better="higher",
               target=200.0),
        Figure("overview", "tiny", "bytes", 1.5 * 2**20, "bytes", 3 * 2**20, "cluster"),
    ]  # fmt: skip
    meta = {"command": "python -m benchmarks --quick", "started": "now", "repeats": 1,
            "seconds": 1.0, "skipped": {"kiosk": "no browser"},
            "env": {"machine": "x", "load_average_at_start": [1, 1, 1], "commit": "abc",
                    "python": "3.11"}}  # fmt: skip
    md, js = report.write(figures, meta, tmp_path)
    text = md.read_text("utf-8")
    assert "2× faster" in text and "**missed**" in text and "2× smaller" in text
    assert "no browser" in text
    data = json.loads(js.read_text("utf-8"))
    assert [f["ratio"] for f in data["figures"]] == [2.0, 0.5]
    assert [f["met"] for f in data["figures"]] == [False, None]


def test_the_area_view_in_process_on_a_store_built_before(sqlite_url):
    """``python -m benchmarks.bench_area URL``: the summary of every city against the area
    view kept city by city, which after one city's edit computes that city alone."""
    from benchmarks import bench_area
    from geodata.store.core import open_store
    from tests.test_municipalities import _area_store

    store = open_store(sqlite_url)
    _area_store(store)
    store.dispose()
    got = bench_area.in_process(sqlite_url, repeats=2)
    assert got["cities"] == 2 and len(got["area_summary_samples"]) == 2
    assert len(got["after_one_citys_edit_s"]) == 2 and len(got["no_write_s"]) == 2
    assert max(got["no_write_s"]) < got["area_summary_s"]
