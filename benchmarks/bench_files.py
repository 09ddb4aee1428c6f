"""Peak memory of loading a big shelter-status CSV: ``python -m benchmarks.bench_files``.

A status export of another system (Shift_JIS, ~80 bytes a row: 68 shelters, one row per shelter
and minute, distinct times) of ``--mb`` megabytes is generated once, then each measured process
reports its own peak RSS (``VmHWM`` of /proc/self/status) as it ends:

- ``load``: ``python -m ingest load shelter-status FILE`` into a fresh SQLite store that holds
  the 68 shelters (the whole path: read, normalize, match, append, rejections, health);
- baselines, the same run and file: ``csv-stream`` — a process with the loader's imports that
  reads the file through ``csv.reader`` row by row (the least any loader needs), and
  ``csv-list`` — the same holding every row in a list (what reading the whole file costs).

Figures: peak RSS in MB, as a ratio to the file size and to each baseline, and seconds. With
``--code-root DIR`` the load runs another checkout's code (e.g. main, for a before/after figure)
against the same file and store. Writes ``--out``/latest.md and latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "files"
SHELTERS = 68
START = datetime(2015, 1, 1)  # 200 MB = 2.5M minutes: every time stays in the past
HEADER = "避難所ID,名称,開設状況,避難者数,世帯数,更新日時,備考\n"

PROBE = r"""
import json, sys, time
def hwm():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
mode, path, db, *extra = sys.argv[1:]
start = time.perf_counter()
import ingest.cli, ingest.runner  # noqa: E401 - the loader's imports, in every probe
if mode == "load":
    out = {"exit": ingest.cli.main(["load", "shelter-status", path, "--db", db, "--json", *extra])}
else:
    import csv
    with open(path, encoding="cp932", newline="") as fh:
        reader = csv.reader(fh)
        out = {"rows": len(list(reader)) if mode == "csv-list" else sum(1 for _ in reader)}
out.update(peak_rss_mb=hwm(), seconds=time.perf_counter() - start)
print(json.dumps(out))
"""


def shelter_row(i: int) -> str:
    """Row ``i`` of the generated file (one shelter per row, one minute apart)."""
    n = i % SHELTERS + 1
    when = START + timedelta(minutes=i)  # distinct times: every row is a new report
    return (f"S{n:04d},ベンチ市立第{n}小学校,開設,{i % 900},{i % 300},"
            f"{when:%Y/%m/%d %H:%M},毛布と水が不足しています\n")  # fmt: skip


def make_file(path: Path, megabytes: float) -> int:
    """Write the status CSV (Shift_JIS) of about ``megabytes`` MB; returns its rows."""
    target = int(megabytes * 1_000_000)
    rows = 0
    with path.open("w", encoding="cp932", newline="") as fh:
        fh.write(HEADER)
        written = len(HEADER.encode("cp932"))
        while written < target:
            line = shelter_row(rows)
            fh.write(line)
            written += len(line.encode("cp932"))
            rows += 1
    return rows


def make_store(path: Path) -> str:
    """A SQLite store with the 68 shelters and the town around them; returns its URL."""
    import geopandas as gpd
    import shapely

    from geodata.store.core import open_store

    url = f"sqlite:///{path}"
    store = open_store(url)
    towns = gpd.GeoDataFrame(
        {"town_code": ["99999001"], "city_code": ["99999"], "name": ["ベンチ町"],
         "city_name": ["ベンチ市"], "population": [1000]},
        geometry=[shapely.box(139.50, 35.60, 139.60, 35.70)], crs=4326,
    )  # fmt: skip
    shelters = gpd.GeoDataFrame(
        {"shelter_id": [f"S{n:04d}" for n in range(1, SHELTERS + 1)], "city_code": "99999",
         "name": [f"ベンチ市立第{n}小学校" for n in range(1, SHELTERS + 1)], "kind": "shelter",
         "capacity": 500},
        geometry=[shapely.Point(139.51 + n * 0.001, 35.65) for n in range(1, SHELTERS + 1)],
        crs=4326,
    )  # fmt: skip
    store.upsert("towns", towns, source="bench")
    store.upsert("shelters", shelters, source="bench")
    store.dispose()
    return url


def probe(mode: str, csv_path: Path, db_url: str, code_root: Path, extra=()) -> dict:
    """Run one measured process; returns its JSON line (and the load's summary)."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(csv_path), db_url, *extra],
        cwd=code_root, env=env, capture_output=True, text=True, timeout=7200,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{mode} probe failed: {proc.stderr[-2000:]}")
    out = json.loads(lines[-1])
    if mode == "load":
        if out.get("exit") != 0:
            raise RuntimeError(f"load failed: {proc.stderr[-2000:]}")
        out["summary"] = json.loads(lines[-2])
    return out


def measure(workdir: Path, megabytes: float, repeats: int, roots: dict[str, Path]) -> dict:
    """Generate the file and store once, then measure the baselines and each code root's load."""
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / f"status_{megabytes:g}mb.csv"
    rows_file = workdir / f"status_{megabytes:g}mb.rows"
    if not (csv_path.exists() and rows_file.exists()):
        rows_file.write_text(str(make_file(csv_path, megabytes)))
    rows = int(rows_file.read_text())
    template = workdir / "store.sqlite"
    template.unlink(missing_ok=True)
    make_store(template)
    size_mb = csv_path.stat().st_size / 1e6
    result = {"file_mb": round(size_mb, 1), "rows": rows, "repeats": repeats, "runs": {}}
    for mode in ("csv-stream", "csv-list"):
        samples = [probe(mode, csv_path, "", ROOT) for _ in range(repeats)]
        result["runs"][mode] = _summary(samples)
    for label, root in roots.items():
        samples = []
        for n in range(repeats):
            db = workdir / f"load-{'-'.join(label.split())}-{n}.sqlite"
            shutil.copy(template, db)
            samples.append(probe("load", csv_path, f"sqlite:///{db}", root))
            db.unlink()
        run = _summary(samples)
        run["summary"] = samples[-1]["summary"]
        run["code_root"] = str(root)
        result["runs"][f"load ({label})"] = run
    stream = result["runs"]["csv-stream"]["peak_rss_mb"]
    listed = result["runs"]["csv-list"]["peak_rss_mb"]
    for run in result["runs"].values():
        run["x_file"] = round(run["peak_rss_mb"] / size_mb, 2)
        run["x_csv_stream"] = round(run["peak_rss_mb"] / stream, 2)
        run["x_csv_list"] = round(run["peak_rss_mb"] / listed, 2)
    return result


def _summary(samples: list[dict]) -> dict:
    peaks = [s["peak_rss_mb"] for s in samples]
    return {
        "peak_rss_mb": round(statistics.median(peaks), 1),
        "seconds": round(statistics.median(s["seconds"] for s in samples), 1),
        "samples_mb": [round(p, 1) for p in peaks],
    }


def report(result: dict, command: str) -> str:
    """The results as a markdown table."""
    lines = [
        f"# File load memory ({result['file_mb']} MB, {result['rows']:,} rows)",
        "",
        f"`{command}` — {time.strftime('%Y-%m-%d %H:%M %z')}, median of {result['repeats']}",
        "",
        "| process | peak RSS MB | × file size | × csv-stream | × csv-list | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, run in result["runs"].items():
        lines.append(
            f"| {name} | {run['peak_rss_mb']:,.1f} | {run['x_file']} | {run['x_csv_stream']} | "
            f"{run['x_csv_list']} | {run['seconds']} |"
        )
    for name, run in result["runs"].items():
        if "summary" in run:
            s = run["summary"]
            lines.append(
                f"\n{name}: inserted {s.get('inserted'):,}, rejected {s.get('rejected')}, "
                f"batches {s.get('chunks', 1)} (`{run['code_root']}`)"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_files", description=__doc__)
    p.add_argument("--mb", type=float, default=50.0, help="size of the generated file (MB)")
    p.add_argument("--repeats", type=int, default=1, help="runs per figure (median)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bosai-bench-files"))
    p.add_argument("--code-root", action="append", default=[], metavar="LABEL=DIR",
                   help="also load with another checkout's code, e.g. main=/work/main")  # fmt: skip
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    roots = {"this checkout": ROOT}
    for item in args.code_root:
        label, _, path = item.partition("=")
        roots[label] = Path(path).resolve()
    result = measure(args.workdir, args.mb, args.repeats, roots)
    command = "python -m benchmarks.bench_files " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = report(result, command.strip())
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(text, "utf-8")
    (args.out / "latest.json").write_text(
        json.dumps({"command": command.strip(), **result}, ensure_ascii=False, indent=1), "utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
