"""Time until the map pages are ready in Chromium, and the bytes they received.

Measured: new Chromium sessions (logged in as the benchmark admin; no browser cache) open the
dashboard at ``/`` (the overview) and ``/reports`` (the posts map), served by ``streamlit run
app.py`` (the server ``make demo`` runs, with its start-up cache warm-up) on the scenario store;
the clock runs from ``page.goto`` until the st_folium map has drawn its data (vector paths or
markers in Leaflet's panes) and two animation frames have passed. Bytes = what the server wrote
to the browser's connections, counted by a loopback proxy between Chromium and the server
(``benchmarks/wire.py``: HTTP headers and bodies as sent, WebSocket frames as sent, compressed
when ``server.enableWebsocketCompression`` is on): on the first visit (empty browser cache:
Streamlit's scripts, styles and fonts included) and when the page is opened again in the same
session (assets cached). The notes also give the DevTools count (HTTP as sent + WebSocket
payloads *decompressed*: what this benchmark reported until December 2026) and the decoded
bytes (HTTP bodies decoded + WebSocket payloads).

Figures:

- **first session after a restart**: a server started fresh (after its warm-up has logged that
  it is done), one session opens the overview; baseline (same run, interleaved): the same with
  ``BOSAI_WARM_CACHES=0`` — the server as it was before caches were warmed at start.
- **new session** (median of ``repeats`` sessions after the first) and **bytes** (first visit,
  opened again); baseline (same run, same Chromium): a Streamlit app showing the same data the
  naive way, one folium Marker per point in a ``MarkerCluster`` through ``st_folium``
  (``benchmarks/apps/marker_cluster.py``, same offline assets): for the overview, the damage
  reports the overview draws (as hexagons); for the reports page, every located post (the
  reports page maps posts).

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
from benchmarks.wire import counting_proxy

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

    Returns seconds to map-ready and bytes received, cold (new session) and warm (reload):
    ``*_bytes`` on the wire (``server["proxy"]``, the counting proxy the page talks to; the
    DevTools count without one), ``*_devtools`` and ``*_decoded`` as :class:`app.Page` counts.
    """
    out: dict[str, list] = {f"{k}_{m}": [] for k in ("cold", "warm")
                            for m in ("s", "bytes", "devtools", "decoded")}  # fmt: skip
    proxy = server.get("proxy")
    blocked: list[str] = []
    timeout_ms = max(budget, 60) * 3 * 1000
    for _ in range(max(1, repeats)):
        page = app.Page(browser, server["url"], db_url)
        try:
            for kind in ("cold", "warm"):
                page.reset_counts()
                if proxy is not None:
                    proxy.reset()
                start = time.perf_counter()
                if kind == "cold":
                    page.page.goto(server["url"] + path, wait_until="commit")
                else:  # the same URL again in the same session: the HTTP cache is warm
                    page.page.goto(server["url"] + path, wait_until="commit")
                app.wait_map_ready(page.page, timeout_ms=timeout_ms)
                out[f"{kind}_s"].append(time.perf_counter() - start)
                page.page.wait_for_timeout(500)  # frames still in flight after the paint
                out[f"{kind}_devtools"].append(page.received_bytes)
                out[f"{kind}_decoded"].append(page.decoded_bytes)
                wire = proxy.down if proxy is not None else page.received_bytes
                out[f"{kind}_bytes"].append(wire)
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
WARMED = "caches warmed"  # dashboard/warm.py logs it when the start-up warm-up is done


def _median(values: list) -> float | None:
    return statistics.median(values) if values else None


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value / 2**20:.2f} MB"


def wait_warmed(server: dict, timeout: float) -> float:
    """Seconds until the server's log says its caches are warmed (or the warm-up failed)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        text = server["log"].read_text("utf-8", errors="replace")
        if WARMED in text or "warm-up failed" in text or "warm-up skipped" in text:
            return time.monotonic() - start
        time.sleep(0.2)
    return time.monotonic() - start


def after_restart(browser, env: dict, ws: Workspace, db_url: str, warm: bool) -> dict:
    """A fresh server (warm-up on or off); the first session opens the overview."""
    env = {**env, "BOSAI_WARM_CACHES": "1" if warm else "0"}
    with app.streamlit_server(ROOT / "app.py", env, ws.root) as plain:
        warmed = wait_warmed(plain, max(ws.budget, 60) * 3) if warm else 0.0
        with counting_proxy(plain) as server:
            got = sessions(browser, server, db_url, PAGES["overview"], 1, ws.budget)
    return {"seconds": got["cold_s"][0], "warm_up": warmed}


def _points_file(ws: Workspace, name: str, lat, lon):
    points = ws.root / f"points-{name}.npz"
    np.savez(points, lat=lat, lon=lon)
    return points


def run(ws: Workspace, scales: list[Scale]):
    from benchmarks.bench_overview import _env, overview_inputs, raw_points, report_points

    why = app.browser_available()
    if why:
        return [], {NAME: why}
    figures = []
    for scale in scales:
        scenario = ws.scenario(scale, "sqlite")
        app.ensure_admin(scenario.url)
        env = app.app_env(scenario.url)
        ours = {}
        restart: dict[str, list] = {"on": [], "off": [], "warm_up": []}
        with app.chromium() as browser:
            for i in range(max(1, ws.repeats)):  # interleaved: the load moves both alike
                for warm in (False, True) if i % 2 == 0 else (True, False):
                    ws.log(f"map ready {scale.name}: first session after a restart, warm={warm}")
                    got = after_restart(browser, env, ws, scenario.url, warm)
                    restart["on" if warm else "off"].append(got["seconds"])
                    if warm:
                        restart["warm_up"].append(got["warm_up"])
            with app.streamlit_server(ROOT / "app.py", env, ws.root) as plain, \
                    counting_proxy(plain) as server:  # fmt: skip
                wait_warmed(server, max(ws.budget, 60) * 3)
                idle_rss = app.rss_mb(server["pid"])
                with RssSampler(server["pid"]) as rss:
                    for page, path in PAGES.items():
                        ws.log(f"map ready {scale.name}: {page} page")
                        # the first session opens the page once more, then the measured ones
                        ours[page] = sessions(
                            browser, server, scenario.url, path, ws.repeats + 1, ws.budget
                        )
            with _env(BOSAI_DB_URL=scenario.url, BOSAI_TILES="none", BOSAI_TILE_URL=""):
                damage = report_points(overview_inputs(scenario.url))
            points = {"overview": damage, "reports": raw_points(scenario.url)}
            base = {}
            for page, (lat, lon) in points.items():
                base[page] = {f"{k}_{m}": [] for k in ("cold", "warm")
                              for m in ("s", "bytes", "devtools", "decoded")}  # fmt: skip
                if 0 < len(lat) <= BASELINE_MAX_POINTS:
                    ws.log(f"map ready {scale.name}: MarkerCluster baseline of the {page} page "
                           f"({len(lat):,} markers)")  # fmt: skip
                    base_env = app.app_env(
                        scenario.url,
                        BENCH_POINTS=_points_file(ws, f"{scale.name}-{page}", lat, lon),
                        PYTHONPATH=ROOT,
                    )
                    with app.streamlit_server(_baseline_app(ws), base_env, ws.root) as plain, \
                            counting_proxy(plain) as server:  # fmt: skip
                        base[page] = sessions(browser, server, None, "/", ws.repeats, ws.budget)
        what = {"overview": "damage reports the overview draws", "reports": "located posts"}
        figures.append(
            Figure(
                benchmark=NAME,
                scale=scale.name,
                metric="overview map ready, first session after a server restart",
                value=statistics.median(restart["on"]),
                unit="s",
                baseline=statistics.median(restart["off"]),
                baseline_name="the same without the start-up warm-up (BOSAI_WARM_CACHES=0)",
                better="lower",
                target=TARGET_SECONDS,
                samples=[round(s, 3) for s in restart["on"]],
                baseline_samples=[round(s, 3) for s in restart["off"]],
                notes="streamlit run app.py started fresh for each sample, warm-up on and off "
                f"interleaved; the warm-up took {_median(restart['warm_up']):.1f} s after the "
                "server was healthy (the session opened when it was done)",
            )
        )
        for page, got in ours.items():
            n = len(points[page][0])
            base_name = f"MarkerCluster of the {n:,} {what[page]} (st_folium)"
            if not base[page]["cold_s"]:
                base_name += f": not built (0 or over {BASELINE_MAX_POINTS:,} points)"
            later = got["cold_s"][1:] or got["cold_s"]
            note = f"{len(later)} new sessions after the first; {page} page ({PAGES[page]})"
            if got["blocked"]:
                note += f"; {len(got['blocked'])} off-machine requests"
            figures.append(
                Figure(
                    benchmark=NAME,
                    scale=scale.name,
                    metric=f"{page} map ready in Chromium (new session)",
                    value=statistics.median(later),
                    unit="s",
                    baseline=_median(base[page]["cold_s"]),
                    baseline_name=base_name,
                    better="lower",
                    target=TARGET_SECONDS,
                    samples=[round(s, 3) for s in later],
                    baseline_samples=[round(s, 3) for s in base[page]["cold_s"]],
                    notes=note
                    + f"; opened again: {_median(got['warm_s'][1:] or got['warm_s']):.2f} s",
                )
            )
            for kind, label, extra in (
                ("cold", "first visit (empty browser cache)",
                 "Streamlit's scripts, styles and fonts included"),
                ("warm", "opened again (assets cached)", "the page's data and map only"),
            ):  # fmt: skip
                mine = got[f"{kind}_bytes"][1:] or got[f"{kind}_bytes"]
                devtools = got[f"{kind}_devtools"][1:] or got[f"{kind}_devtools"]
                decoded = got[f"{kind}_decoded"][1:] or got[f"{kind}_decoded"]
                counts = (
                    f"DevTools count (WebSocket decompressed) {_mb(_median(devtools))}, "
                    f"decoded {_mb(_median(decoded))}; baseline on the wire / DevTools: "
                    f"{_mb(_median(base[page][f'{kind}_bytes']))} / "
                    f"{_mb(_median(base[page][f'{kind}_devtools']))}"
                )
                figures.append(
                    Figure(
                        benchmark=NAME,
                        scale=scale.name,
                        metric=f"bytes received by the {page} page, {label}",
                        value=statistics.median(mine),
                        unit="bytes",
                        baseline=_median(base[page][f"{kind}_bytes"]),
                        baseline_name=base_name,
                        better="lower",
                        target=TARGET_BYTES,
                        samples=mine,
                        baseline_samples=base[page][f"{kind}_bytes"],
                        notes=f"on the wire (loopback proxy): HTTP + WebSocket; {extra}; " + counts,
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
                notes="streamlit run app.py (caches warmed at start), sampled every 0.1 s",
            )
        )
    return figures, {}
