"""Big files are read in chunks with bounded memory; a load cut short goes on where it stopped."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import gc
import json
import threading
import time
import tracemalloc

import pandas as pd

from ingest.chunks import run_all_in_chunks, run_in_chunks
from ingest.cli import main
from ingest.loop import run_loop
from ingest.runner import run_source
from ingest.sources import reading
from ingest.sources.posts_file import PostsFileSource
from ingest.sources.shelter_status import ShelterStatusSource
from tests.test_sources_support import ref_store  # noqa: F401

HEADER = "避難所ID,開設状況,避難者数,更新日時,備考\n"
IDS = ("S13208-12", "E1320800002", "E1320800003")


def _status_file(path, rows: int) -> str:
    start = pd.Timestamp("2024-01-01 00:00")
    with open(path, "w", encoding="cp932", newline="") as fh:
        fh.write(HEADER)
        for i in range(rows):
            when = start + pd.Timedelta(minutes=i)
            fh.write(f"{IDS[i % 3]},開設,{i % 900},{when:%Y/%m/%d %H:%M},毛布が不足しています\n")
    return str(path)


def test_a_file_is_loaded_in_chunks_and_a_second_load_changes_nothing(tmp_path, ref_store):
    path = _status_file(tmp_path / "status.csv", 2_500)
    source = ShelterStatusSource("big", path=path, chunk_rows=1_000)
    result = run_in_chunks(ref_store, source)
    assert result["ok"], result["error"]
    assert (result["chunks"], result["fetched"], result["inserted"]) == (3, 2_500, 2_500)
    assert ref_store.count("shelter_status") == 2_500
    assert ref_store.get_cursor("big").startswith("sha256:")
    assert "#" not in ref_store.get_cursor("big")  # the whole file went in
    again = run_in_chunks(ref_store, ShelterStatusSource("big", path=path, chunk_rows=1_000))
    assert (again["inserted"], again["unchanged"], again["chunks"]) == (0, 2_500, 3)


def test_run_all_in_chunks_reads_every_file_to_its_end(tmp_path, ref_store):
    # The drill's path (ingest_drill): a big drill writes files over one batch.
    path = _status_file(tmp_path / "status.csv", 2_500)
    (result,) = run_all_in_chunks(
        ref_store, [ShelterStatusSource("all", path=path, chunk_rows=1_000)], from_start=True
    )
    assert (result["chunks"], result["inserted"]) == (3, 2_500)


def test_run_loop_reads_the_rest_of_a_file_without_waiting_its_poll_interval(tmp_path, ref_store):
    # A status export over one batch: the newest reports are at its end. The loop takes the next
    # batch at once, not one batch per poll_seconds (here an hour: 3 batches = 2 hours).
    path = _status_file(tmp_path / "status.csv", 2_500)
    source = ShelterStatusSource("loop", path=path, chunk_rows=1_000)
    source.poll_seconds = 3600.0
    stop, results = threading.Event(), []
    timer = threading.Timer(60.0, stop.set)  # without the fix the loop would wait an hour
    timer.start()
    started = time.monotonic()
    try:
        cycles = run_loop(ref_store, [source], stop=stop, max_cycles=3, on_result=results.append)
    finally:
        timer.cancel()
    assert not stop.is_set() and time.monotonic() - started < 60.0
    assert (cycles, [r["fetched"] for r in results]) == (3, [1_000, 1_000, 500])
    assert ref_store.count("shelter_status") == 2_500
    assert "#" not in ref_store.get_cursor("loop")  # the whole file went in


def test_a_load_cut_short_resumes_at_the_stored_row(tmp_path, ref_store):
    path = _status_file(tmp_path / "status.csv", 2_500)
    first = run_source(ref_store, ShelterStatusSource("cut", path=path, chunk_rows=1_000))
    assert (first["fetched"], first["inserted"]) == (1_000, 1_000)
    assert ref_store.get_cursor("cut").endswith("#1000")
    # A new process (a new source object) goes on from row 1,000, not from the start.
    rest = run_in_chunks(ref_store, ShelterStatusSource("cut", path=path, chunk_rows=1_000))
    assert (rest["fetched"], rest["inserted"], rest["chunks"]) == (1_500, 1_500, 2)
    assert ref_store.count("shelter_status") == 2_500


def test_a_url_is_downloaded_once_for_all_its_chunks(httpserver, ref_store, tmp_path):
    lines = [
        json.dumps(
            {"id": f"p{i}", "text": f"国領町で冠水 {i}", "created_at": "2024-01-09T10:00+09:00"}
        )
        for i in range(7)
    ]
    httpserver.expect_request("/posts.jsonl").respond_with_data("\n".join(lines))
    source = PostsFileSource("url", url=httpserver.url_for("/posts.jsonl"), chunk_rows=3)
    from geodata.http import make_session

    result = run_in_chunks(ref_store, source, make_session())
    assert (result["chunks"], result["inserted"]) == (3, 7)
    assert len(httpserver.log) == 1


def _peak_while_reading(path: str) -> int:
    """Peak bytes allocated by Python while a source reads and normalizes ``path``."""
    source = ShelterStatusSource("mem", path=path, chunk_rows=500)
    from ingest.base import IngestContext
    from tests.test_sources_support import shelters_frame

    context = IngestContext()
    context.set_frame("shelters", shelters_frame())
    source.bind(context=context)
    gc.collect()
    tracemalloc.start()
    try:
        since, rows = None, 0
        while True:
            records = list(source.fetch(since))
            frame, rejected = source.normalize(records)
            rows += len(frame)
            since = source.cursor_after(records, since)
            del records, frame
            if not source.more:
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows > 0 and not rejected
    return peak


def test_memory_does_not_grow_with_the_file(tmp_path, monkeypatch):
    # Bytes are read a block at a time: with small blocks, files of a few hundred kB show what
    # a 200 MB file does with the real 1 MB blocks.
    monkeypatch.setattr(reading, "BLOCK", 16 * 1024)
    small = _peak_while_reading(_status_file(tmp_path / "small.csv", 2_000))
    big = _peak_while_reading(_status_file(tmp_path / "big.csv", 10_000))
    # Five times the rows, (almost) the same peak: one chunk at a time is held.
    assert big < 1.5 * small, (small, big)


def test_load_command_takes_a_chunk_size(tmp_path, sqlite_url, capsys):
    from tests.test_sources_config import _reference

    _reference(sqlite_url)
    path = _status_file(tmp_path / "status.csv", 1_200)
    args = ["load", "shelter-status", path, "--chunk-rows", "500", "--db", sqlite_url, "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["inserted"], out["chunks"]) == (1_200, 3)


def test_file_load_benchmark_smoke(tmp_path):
    from benchmarks import bench_files

    result = bench_files.measure(tmp_path, 0.2, 1, {"this": bench_files.ROOT})
    load = result["runs"]["load (this)"]
    assert load["summary"]["inserted"] == result["rows"] > 2_000
    assert load["summary"]["rejected"] == 0
    stream = result["runs"]["csv-stream"]["peak_rss_mb"]
    assert load["x_csv_stream"] == round(load["peak_rss_mb"] / stream, 2) > 0
    assert "| load (this) |" in bench_files.report(result, "python -m benchmarks.bench_files")
