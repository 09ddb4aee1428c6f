"""Store reads: the last hour of the 24 h drill against a full read of the posts table.

Measured: ``store.read("posts", since=anchor - 1 h, until=anchor)`` — what a dashboard page asks
for its default window — on SQLite and on PostGIS, as seconds (median of the repeats) and rows.
Baseline (same run, same store): ``store.read("posts")``, the whole table. The ratio says what
the time index (``ix_posts_posted_at``) and reading only the window buy; the rows of both are in
the notes. The stores are the scenario stores of :mod:`benchmarks.common` (PostGIS: the same
posts copied over).
"""

from __future__ import annotations

import pandas as pd

from benchmarks.common import Figure, Scale, Workspace, median_time

NAME = "store_reads"
WINDOW = pd.Timedelta(hours=1)


def measure(url: str, anchor, repeats: int, budget: float) -> dict:
    """Seconds and rows of the 1 h window read and of the full read at ``url``."""
    from geodata.store.core import open_store

    store = open_store(url)
    try:
        since, until = anchor - WINDOW, anchor
        store.read("posts", since=since, until=until, limit=10)  # warm the connection pool
        window, window_samples, frame = median_time(
            lambda: store.read("posts", since=since, until=until), repeats
        )
        window_rows = len(frame)
        del frame
        full_samples: list[float] = []
        full_rows = 0
        for _ in range(max(1, repeats)):
            seconds, frame = median_time(lambda: store.read("posts"), 1)[::2]
            full_rows = len(frame)
            del frame
            full_samples.append(seconds)
            if seconds * 2 > budget:  # a very slow full read: one sample is all we can afford
                break
        full_samples.sort()
        full = full_samples[len(full_samples) // 2]
    finally:
        store.dispose()
    return {
        "window": window,
        "window_samples": window_samples,
        "window_rows": window_rows,
        "full": full,
        "full_samples": full_samples,
        "full_rows": full_rows,
    }


def run(ws: Workspace, scales: list[Scale]):
    """Window vs full read per scale, on SQLite and PostGIS."""
    figures, skipped = [], {}
    for scale in scales:
        for backend in ("sqlite", "postgis"):
            scenario = ws.scenario(scale, backend)
            if scenario is None:
                skipped[f"{NAME} {backend}"] = f"PostGIS unavailable: {ws.postgis_error}"
                continue
            ws.log(f"store reads {scale.name} {backend}")
            m = measure(scenario.url, scenario.anchor, ws.repeats, ws.budget)
            figures.append(
                Figure(
                    benchmark=NAME,
                    scale=scale.name,
                    metric=f"read of the last 1 h of posts ({backend})",
                    value=m["window"],
                    unit="s",
                    baseline=m["full"],
                    baseline_name=f"full read of posts ({backend})",
                    better="lower",
                    samples=[round(s, 4) for s in m["window_samples"]],
                    baseline_samples=[round(s, 4) for s in m["full_samples"]],
                    notes=f"{m['window_rows']:,} of {m['full_rows']:,} rows",
                )
            )
    return figures, skipped
