"""Time until the overview map is ready in Chromium, and the bytes the page received.

Measured: a new Chromium session (logged in as the benchmark admin; no browser cache) opens the
dashboard at ``/`` (the overview, served by ``streamlit run streamlit_app.py`` on the scenario
store); the clock runs from ``page.goto`` until the st_folium map has drawn its data (vector
paths or markers in Leaflet's panes) and two animation frames have passed. Bytes = HTTP bodies
as sent + WebSocket frames received, counted through the DevTools protocol. The first session
after the server start finds Streamlit's caches cold; the median is over ``repeats`` sessions.

Baseline (same run, same machine, same Chromium): a Streamlit app that shows every located
post of the scenario as a folium Marker in a ``MarkerCluster`` through ``st_folium``
(``benchmarks/apps/marker_cluster.py``), with the same offline assets.

The app server's resident memory is sampled during the sessions: the ``memory`` figure of this
benchmark is its peak against its RSS right after start-up.
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time

import numpy as np

from benchmarks import app_server as app
from benchmarks.common import ROOT, Figure, Scale, Workspace

NAME = "map_ready"
TARGET_SECONDS = 3.0
TARGET_BYTES = 3 * 2**20


class RssSampler:
    """Peak RSS of a process, sampled every ``every`` seconds in a thread."""

    def __init__(self, pid: int, every: float = 0.1):
        self.pid, self.every = pid, every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, app.rss_mb(self.pid))
            except Exception:  # noqa: BLE001 - the process may be gone
                return
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def sessions(browser, server: dict, db_url: str | None, path: str, repeats: int,
             budget: float) -> dict:  # fmt: skip
    """Open ``repeats`` fresh sessions of ``path``, each then opened again (HTTP cache warm).

    Returns seconds to map-ready and bytes received, cold (new session) and warm (reload).
    """
    out: dict[str, list] = {"cold_s": [], "cold_bytes": [], "warm_s": [], "warm_bytes": []}
    blocked: list[str] = []
    timeout_ms = max(budget, 60) * 3 * 1000
    for _ in range(max(1, repeats)):
        page = app.Page(browser, server["url"], db_url)
        try:
            for kind in ("cold", "warm"):
                page.http_bytes = page.ws_bytes = 0
                start = time.perf_counter()
                if kind == "cold":
                    page.page.goto(server["url"] + path, wait_until="commit")
                else:  # the same URL again in the same session: the HTTP cache is warm
                    page.page.goto(server["url"] + path, wait_until="commit")
                app.wait_map_ready(page.page, timeout_ms=timeout_ms)
                out[f"{kind}_s"].append(time.perf_counter() - start)
                page.page.wait_for_timeout(500)  # frames still in flight after the paint
                out[f"{kind}_bytes"].append(page.received_bytes)
            blocked += page.blocked
        finally:
            page.close()
        if out["cold_s"][-1] * 2 > budget:
            break
    out["blocked"] = blocked
    return out


def _baseline_app(ws: Workspace) -> str:
    """The baseline script in a folder whose ``static`` is the project's (Streamlit serves
    ``<script folder>/static``)."""
    folder = ws.root / "baseline_app"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "benchmarks" / "apps" / "marker_cluster.py", folder / "marker_cluster.py")
    if not (folder / "static").exists():
        (folder / "static").symlink_to(ROOT / "static")
    return str(folder / "marker_cluster.py")


PAGES = {"overview": "/", "reports": "/reports"}  # pages with a map, by their URL path
BASELINE_MAX_POINTS = 200_000  # beyond this the MarkerCluster app takes hours to build


def _median(values: list) -> float | None:
    return statistics.median(values) if values else None


def run(ws: Workspace, scales: list[Scale]):
    from benchmarks.bench_overview import raw_points

    why = app.browser_available()
    if why:
        return [], {NAME: why}
    figures = []
    for scale in scales:
        scenario = ws.scenario(scale, "sqlite")
        app.ensure_admin(scenario.url)
        env = app.app_env(scenario.url)
        ours = {}
        with app.chromium() as browser:
            with app.streamlit_server(ROOT / "streamlit_app.py", env, ws.root) as server:
                idle_rss = app.rss_mb(server["pid"])
                with RssSampler(server["pid"]) as rss:
                    for page, path in PAGES.items():
                        ws.log(f"map ready {scale.name}: {page} page")
                        ours[page] = sessions(
                            browser, server, scenario.url, path, ws.repeats, ws.budget
                        )
            lat, lon = raw_points(scenario.url)
            base = {"cold_s": [], "cold_bytes": [], "warm_s": [], "warm_bytes": []}
            if len(lat) <= BASELINE_MAX_POINTS:
                points = ws.root / f"points-{scale.name}.npz"
                np.savez(points, lat=lat, lon=lon)
                ws.log(f"map ready {scale.name}: MarkerCluster baseline ({len(lat):,} markers)")
                base_env = app.app_env(scenario.url, BENCH_POINTS=points, PYTHONPATH=ROOT)
                with app.streamlit_server(_baseline_app(ws), base_env, ws.root) as server:
                    base = sessions(browser, server, None, "/", ws.repeats, ws.budget)
        base_name = f"MarkerCluster of the {len(lat):,} raw post points (st_folium)"
        if not base["cold_s"]:
            base_name += f": not built over {BASELINE_MAX_POINTS:,} points"
        for page, got in ours.items():
            note = f"{len(got['cold_s'])} new sessions; {page} page ({PAGES[page]})"
            if got["blocked"]:
                note += f"; {len(got['blocked'])} off-machine requests"
            figures.append(
                Figure(
                    benchmark=NAME,
                    scale=scale.name,
                    metric=f"{page} map ready in Chromium (new session)",
                    value=statistics.median(got["cold_s"]),
                    unit="s",
                    baseline=_median(base["cold_s"]),
                    baseline_name=base_name,
                    better="lower",
                    target=TARGET_SECONDS,
                    samples=[round(s, 3) for s in got["cold_s"]],
                    baseline_samples=[round(s, 3) for s in base["cold_s"]],
                    notes=note + f"; opened again: {_median(got['warm_s']):.2f} s",
                )
            )
            cold = _median(got["cold_bytes"]) / 2**20
            figures.append(
                Figure(
                    benchmark=NAME,
                    scale=scale.name,
                    metric=f"bytes received by the {page} page, assets cached (opened again)",
                    value=statistics.median(got["warm_bytes"]),
                    unit="bytes",
                    baseline=_median(base["warm_bytes"]),
                    baseline_name=base_name,
                    better="lower",
                    target=TARGET_BYTES,
                    samples=got["warm_bytes"],
                    baseline_samples=base["warm_bytes"],
                    notes=f"HTTP + WebSocket; a new session with an empty cache receives "
                    f"{cold:.2f} MB (Streamlit's own scripts and fonts included)",
                )
            )
        figures.append(
            Figure(
                benchmark="memory",
                scale=scale.name,
                metric="peak RSS of the app server while sessions open the map pages",
                value=rss.peak,
                unit="MB",
                baseline=idle_rss,
                baseline_name="the same server after start-up",
                better="lower",
                target=1536.0,
                notes="streamlit run streamlit_app.py, sampled every 0.1 s",
            )
        )
    return figures, {}
