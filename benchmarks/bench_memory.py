"""Peak memory (RSS) of a process loading the store's data the way the dashboard does.

Measured: the peak RSS (``VmHWM`` of /proc/self/status, reported by the child itself) of
``python -m benchmarks.rss_probe dashboard``: it imports the dashboard and calls every
``dashboard.data`` loader the pages use, with a window wide enough for the whole 24 h drill,
twice (the second round is served from ``st.cache_data``, which hands out a fresh copy).
Baseline (same run): the same process in ``idle`` mode — the same imports, nothing loaded.
The ratio says how much the data multiplies the app's footprint; the target is absolute
(≤ 1.5 GB at 1M posts).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pandas as pd

from benchmarks.common import ROOT, Figure, Scale, Workspace

NAME = "memory"
TARGET_MB = 1536.0


def probe(mode: str, url: str, hours: float) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.rss_probe", mode, url, f"{hours:.3f}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"rss_probe {mode} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(ws: Workspace, scales: list[Scale]) -> list[Figure]:
    figures = []
    for scale in scales:
        scenario = ws.scenario(scale, "sqlite")
        ws.log(f"memory {scale.name}")
        idle, loaded = [], []
        rows: dict = {}
        for _ in range(ws.repeats):
            now = pd.Timestamp.now(tz="UTC")
            hours = 24 + (now - scenario.anchor) / pd.Timedelta(hours=1) + 0.25
            idle.append(probe("idle", scenario.url, hours)["peak_rss_mb"])
            got = probe("dashboard", scenario.url, hours)
            loaded.append(got["peak_rss_mb"])
            rows = got["rows"]
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="peak RSS loading the dashboard's data (24 h window)",
                value=statistics.median(loaded),
                unit="MB",
                baseline=statistics.median(idle),
                baseline_name="the same process, imports only",
                better="lower",
                target=TARGET_MB,
                samples=[round(x, 1) for x in loaded],
                baseline_samples=[round(x, 1) for x in idle],
                notes=f"{rows.get('posts', 0):,} posts, {rows.get('roster', 0):,} residents loaded",
                extra={"rows": rows},
            )
        )
    return figures
