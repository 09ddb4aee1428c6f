"""``python -m benchmarks [--quick] [--only NAME[,NAME]] [--scales 10k,100k,1m]``.

Runs the benchmarks, prints the table and writes ``benchmarks/results/latest.md`` and
``latest.json`` (``--out`` for another folder). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
import traceback
from pathlib import Path

from benchmarks import report
from benchmarks.common import RESULTS, Workspace, env_info, parse_scales

# name -> module; in the order they run (the drill stores built by the first are reused).
BENCHMARKS = {
    "ingest": "benchmarks.bench_ingest",
    "store_reads": "benchmarks.bench_store_reads",
    "memory": "benchmarks.bench_memory",
    "overview": "benchmarks.bench_overview",
    "map_ready": "benchmarks.bench_map_ready",
    "pages": "benchmarks.bench_pages",
    "kiosk": "benchmarks.bench_kiosk",
    "area": "benchmarks.bench_area",
}
# Run only when named in --only: 30 municipalities of the scale's posts each on one PostGIS.
ON_REQUEST = {"area"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small scales: a smoke check")
    p.add_argument("--only", help=f"comma-separated benchmarks ({', '.join(BENCHMARKS)})")
    p.add_argument("--scales", help="comma-separated scales (10k,100k,1m; quick: 2k,5k)")
    p.add_argument("--repeats", type=int, help="runs per figure, median reported (default 3)")
    p.add_argument(
        "--budget", type=float, help="seconds one slow measurement may take (default 120)"
    )
    p.add_argument(
        "--cities", type=int, help="area: municipalities on the one PostGIS (default 30)"
    )
    p.add_argument(
        "--sessions", type=int, help="area: concurrent wall-screen sessions (default 20)"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    p.add_argument("--keep", action="store_true", help="keep the temporary stores")
    p.add_argument("--workdir", type=Path, help="folder for the temporary stores")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the drill stores a --keep run left in --workdir (development only: the "
        "stores keep their old anchor)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = [n for n in BENCHMARKS if n not in ON_REQUEST]
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
    try:
        scales = parse_scales(args.scales, args.quick)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    repeats = args.repeats or 3
    budget = args.budget or (20.0 if args.quick else 120.0)
    options = {k: v for k, v in (("cities", args.cities), ("sessions", args.sessions)) if v}
    ws = Workspace(args.workdir, repeats=repeats, budget=budget, quick=args.quick,
                   reuse=args.reuse, options=options)  # fmt: skip
    command = "python -m benchmarks" + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:])
    )
    meta = {
        "command": command.strip(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "env": env_info(),
        "repeats": repeats,
        "budget_seconds": budget,
        "scales": [s.__dict__ for s in scales],
        "drill_anchor": ws.anchor.isoformat(),
        "options": options,
        "skipped": {},
    }
    started = time.perf_counter()
    figures = []
    try:
        for name in names:
            ws.log(f"== {name}")
            try:
                got = importlib.import_module(BENCHMARKS[name]).run(ws, scales)
            except Exception as exc:  # noqa: BLE001 - one failing benchmark never hides the rest
                traceback.print_exc()
                meta["skipped"][name] = f"failed: {type(exc).__name__}: {exc}"
                continue
            if isinstance(got, tuple):  # (figures, why some were not measured)
                got, why = got
                meta["skipped"].update(why)
            figures.extend(got)
    finally:
        ws.close(keep=args.keep or args.reuse)
    meta["seconds"] = time.perf_counter() - started
    paths = report.write(figures, meta, args.out)
    print(report.markdown(figures, meta))
    print("written: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
