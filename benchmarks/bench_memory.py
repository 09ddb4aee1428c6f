"""Peak memory (RSS) of a process running every page of the app on the scenario store.

Measured: the peak RSS (``VmHWM`` of /proc/self/status, reported by the child itself) of
``python -m benchmarks.rss_probe pages``: it runs every page of the navigation through AppTest
(logged in as the benchmark admin), twice — the pages load what they show with their own
cached loaders, default windows and filters (the drill is anchored at the run's start, so the
24 h windows hold it). Baseline (same run): the same process in ``idle`` mode — the same
imports, no page run. The ratio says how much the data multiplies the app's footprint; the
target is absolute (≤ 1.5 GB at 1M posts). The real server's RSS while Chromium opens the map
pages is the ``memory`` figure of the map_ready benchmark.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from benchmarks import app_server
from benchmarks.common import ROOT, Figure, Scale, Workspace

NAME = "memory"
TARGET_MB = 1536.0


def probe(mode: str, url: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.rss_probe", mode, url],
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
        url = ws.fresh_copy(scenario.url, f"memory-{scale.name}")  # pages write audit rows
        app_server.ensure_admin(url)
        idle, loaded = [], []
        errors: list[str] = []
        for _ in range(ws.repeats):
            idle.append(probe("idle", url)["peak_rss_mb"])
            got = probe("pages", url)
            loaded.append(got["peak_rss_mb"])
            errors = got["errors"]
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="peak RSS running every page twice (AppTest)",
                value=statistics.median(loaded),
                unit="MB",
                baseline=statistics.median(idle),
                baseline_name="the same process, imports only",
                better="lower",
                target=TARGET_MB,
                samples=[round(x, 1) for x in loaded],
                baseline_samples=[round(x, 1) for x in idle],
                notes=f"{scenario.counts.get('posts', 0):,} posts, "
                f"{scenario.counts.get('roster', 0):,} residents in the store"
                + (f"; page errors: {'; '.join(errors)[:300]}" if errors else ""),
            )
        )
    return figures
