"""Many municipalities on one PostGIS: 30 cities × the scale's posts, 20 wall screens at once.

Run (opt-in: only with ``--only area``)::

    python -m benchmarks --only area --scales 100k                  # 30 cities, 20 sessions
    python -m benchmarks --only area --scales 10k --cities 3 --sessions 4   # a quick check

The store: the scale's scenario (the drill as the ingest runner stored it, the SQLite store every
benchmark uses) copied into a PostGIS database owned by a role without superuser (row-level
security holds, as in production), then made into ``--cities`` synthetic municipalities (13901,
13902, …: shifted copies of 調布市 with unique keys, :mod:`benchmarks.city_copies`) by
``INSERT … SELECT`` in the database. One account per city (an operator of that city only) and
one of every city (the area HQ).

Measured on a real server (``streamlit run app.py``, once the start-up warm-up has filled the caches
(main until issue 20's area-scale: the first city's; since: every city's, the first first),
``BOSAI_REFRESH_SECONDS`` = :data:`REFRESH`, the app's default), with one Chromium:

- **wall screens**: ``--sessions`` browser contexts, each logged in as the user of one city
  (session ``i``: city ``i mod cities``), open a wall screen — ``/?kiosk=1``,
  ``/shelters?kiosk=1``, ``/reports?kiosk=1`` in turn — all at once; **map ready** = seconds
  from ``goto`` until the page's st_folium map has drawn its data and painted (as in
  ``map_ready``, timed in the browser: ``app_server.map_ready_at``); then they stay open
  :data:`CYCLES` refresh intervals and every **auto-refresh rerun** is timed from the
  browser's request of the fragment rerun to the server's ``script_finished`` (``app_server.Page(reruns=True)``). Median and max over the sessions.
- **area view**: a new session of the user of every city opens the overview (``/``): seconds
  until its map is ready and until the area table (広域の状況, one row per city) is shown;
  and :func:`geodata.area.area_summary` of all cities in this process; the area view as the
  dashboard keeps it (:class:`geodata.area.AreaCache`) after a staff edit in one city and with
  no write to what it reads, against that summary of every city in the same run.
- the app server's **peak RSS** throughout, and the summed RSS of Chromium's processes.

Baseline, in the same run: the same with **1 city × the scale's posts and 1 session** — a
database made the same way with one copy; the one session opens each of the three wall screens
in turn (as many map-ready samples as paths) and stays :data:`CYCLES` intervals on each; the
user of that one city opens the overview (no area table: one municipality); ``area_summary`` of
that one city. So each ratio says what 30 cities and 20 sessions cost against one of each.
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks import app_server as app
from benchmarks.bench_map_ready import RssSampler, wait_warmed
from benchmarks.city_copies import copy_store, make_cities, synthetic_codes
from benchmarks.common import ROOT, Figure, Scale, Workspace, median_time

NAME = "area"
CITIES = 30
SESSIONS = 20
PATHS = ("/?kiosk=1", "/shelters?kiosk=1", "/reports?kiosk=1")
REFRESH = 30  # seconds: the app's default BOSAI_REFRESH_SECONDS
CYCLES = 3  # refresh intervals each wall screen stays open
QUICK = (5, 2)  # --quick (the smoke test): refresh every 5 s, 2 intervals


def _watch(ws: Workspace) -> tuple[int, int]:
    """(refresh seconds, intervals watched) of this run."""
    return QUICK if ws.quick else (REFRESH, CYCLES)


SOURCE = "13208"  # the scenario store's municipality (調布市)
MAX_POSTS = 100_000  # posts per city
PASSWORD = "area benchmark password 2026"

# The area table: the heading 広域の状況 and, after it, the st.dataframe with its rows; their
# count (glide data grid: aria-rowcount, header row included), else null.
AREA_SHOWN_JS = """
(title) => {
  const heading = [...document.querySelectorAll('h4')].find(h => h.innerText.includes(title));
  if (!heading) return null;
  const grid = [...document.querySelectorAll('[data-testid="stDataFrame"]')].find(
    d => heading.compareDocumentPosition(d) & Node.DOCUMENT_POSITION_FOLLOWING);
  if (!grid) return null;
  const rows = grid.querySelector('[aria-rowcount]');
  return rows ? Number(rows.getAttribute('aria-rowcount')) : null;
}
"""


class ChromiumRss(RssSampler):
    """Peak of the summed RSS of this process's Chromium processes (MB)."""

    def __init__(self, every: float = 0.5):
        super().__init__(os.getpid(), every)

    def _run(self) -> None:
        import psutil

        me = psutil.Process(self.pid)
        while not self._stop.is_set():
            total = 0
            for child in me.children(recursive=True):
                try:
                    if "chrom" in child.name():
                        total += child.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total / 2**20)
            self._stop.wait(self.every)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def build(ws: Workspace, scale: Scale, cities: int) -> dict:
    """A PostGIS store of ``cities`` synthetic copies of the scale's scenario; users."""
    from geodata.access import accounts
    from geodata.store.core import open_store

    source = ws.scenario(scale, "sqlite")
    url = ws.postgis_url(owner_role=True)
    if url is None:
        raise RuntimeError(f"PostGIS unavailable: {ws.postgis_error}")
    started = time.perf_counter()
    open_store(url).dispose()  # the schema, as the app creates it
    ws.log(f"area {scale.name}: copying the scenario into PostGIS")
    copied = copy_store(source.url, url, log=ws.log)
    codes = synthetic_codes(cities)
    ws.log(f"area {scale.name}: {cities} synthetic cities ({codes[0]}…{codes[-1]})")
    made = make_cities(url, SOURCE, codes, log=ws.log)
    store = open_store(url)
    try:
        for code in codes:
            accounts.add_user(store, f"wall-{code}", "operator", PASSWORD, actor="benchmark",
                              municipalities=[code])  # fmt: skip
        accounts.add_user(store, "area-hq", "operator", PASSWORD, actor="benchmark",
                          municipalities=codes)  # fmt: skip
        posts = store.count("posts")
    finally:
        store.dispose()
    seconds = time.perf_counter() - started
    ws.log(f"  built in {seconds:.0f} s: {posts:,} posts in all")
    return {"url": url, "codes": codes, "posts": posts, "copied": copied, "made": made,
            "seconds": seconds, "scenario": source}  # fmt: skip


def _open_walls(browser, server: dict, url: str, plan: list[tuple[str, str]], timeout: float,
                watch: tuple[int, int], log) -> dict:  # fmt: skip
    """Open every (user, path) of ``plan`` at once; map-ready seconds, then the auto-reruns
    during ``watch`` = (refresh seconds, intervals). Returns samples and failures."""
    pages = [app.Page(browser, server["url"], url, user=user, reruns=True) for user, _ in plan]
    ready: dict[int, float] = {}
    failed: dict[int, str] = {}
    rounds: list[float] = []
    try:
        starts = {}
        for i, (page, (_, path)) in enumerate(zip(pages, plan, strict=True)):
            starts[i] = time.time()  # the clock the browser stamps map-ready with
            page.page.goto(server["url"] + path, wait_until="commit")
        deadline = time.perf_counter() + timeout
        while len(ready) + len(failed) < len(pages):
            if time.perf_counter() > deadline:
                for i in range(len(pages)):
                    if i not in ready and i not in failed:
                        failed[i] = f"map not ready after {timeout:.0f} s"
                break
            begun = time.perf_counter()
            for i, page in enumerate(pages):
                if i in ready or i in failed:
                    continue
                try:
                    at = app.map_ready_at(page.page)
                    if at is not None:
                        ready[i] = at - starts[i]
                except Exception as exc:  # noqa: BLE001 - an error on the page is a result
                    failed[i] = f"{type(exc).__name__}: {str(exc)[:300]}"
            rounds.append(time.perf_counter() - begun)
            pages[0].page.wait_for_timeout(50)
        log(f"  {len(ready)} of {len(pages)} maps ready; observing reruns for "
            f"{watch[0] * watch[1]} s")  # fmt: skip
        watch_until = time.perf_counter() + watch[0] * watch[1] + 2
        while time.perf_counter() < watch_until:
            pages[0].page.wait_for_timeout(500)  # the sync driver delivers every page's events
        reruns = [r for p in pages for r in p.reruns]
        endings: dict[str, int] = {}
        for p in pages:
            for status, n in p.rerun_endings.items():
                endings[status] = endings.get(status, 0) + n
        return {
            "ready": [ready[i] for i in sorted(ready)],
            "ready_by_path": {
                path: [ready[i] for i in ready if plan[i][1] == path] for path in PATHS
            },  # fmt: skip
            "reruns": reruns,
            "reruns_by_path": {
                path: [r for i, p in enumerate(pages) if plan[i][1] == path for r in p.reruns]
                for path in PATHS
            },  # fmt: skip
            "endings": endings,
            "failed": {f"{plan[i][0]} {plan[i][1]}": why for i, why in failed.items()},
            "poll_round_max": max(rounds) if rounds else 0.0,
            "bytes": [p.received_bytes for p in pages],
            "blocked": sum(len(p.blocked) for p in pages),
        }
    finally:
        for page in pages:
            page.close()


def _overview(browser, server: dict, url: str, user: str, title: str | None,
              timeout: float) -> dict:  # fmt: skip
    """A new session of ``user`` opens ``/``: seconds to map ready and (``title``: the area
    heading) to the area table shown, and the table's rows."""
    page = app.Page(browser, server["url"], url, user=user)
    try:
        start = time.perf_counter()
        page.page.goto(server["url"] + "/", wait_until="commit")
        app.wait_map_ready(page.page, timeout_ms=timeout * 1000)
        out = {"map": time.perf_counter() - start}
        if title:
            handle = page.page.wait_for_function(
                AREA_SHOWN_JS, arg=title, timeout=timeout * 1000, polling=50
            )
            out["area"] = time.perf_counter() - start
            out["rows"] = handle.json_value()
        return out
    finally:
        page.close()


def measure(ws: Workspace, built: dict, sessions: int, label: str) -> dict:
    """Serve the built store, open the walls and the overview; every figure of one side."""
    from dashboard.i18n import t
    from geodata.area import area_summary
    from geodata.store.core import open_store

    url, codes = built["url"], built["codes"]
    store = open_store(url)
    try:
        every = store.scoped(codes)
        area_summary(store.scoped(codes[:1]))  # imports and connections: not in the figure
        area_s, area_samples, (summary, _) = median_time(lambda: area_summary(every), ws.repeats)
        area_rows = len(summary)
        kept = _area_cache(store, every, codes, ws.repeats)
    finally:
        store.dispose()
    if sessions == 1:  # the baseline: one session opens each wall screen in turn
        plans = [[(f"wall-{codes[0]}", path)] for path in PATHS]
    else:
        plans = [[(f"wall-{codes[i % len(codes)]}", PATHS[i % len(PATHS)])
                  for i in range(sessions)]]  # fmt: skip
    watch = _watch(ws)
    env = app.app_env(url, BOSAI_REFRESH_SECONDS=watch[0], BOSAI_MUNICIPALITY=codes[0])
    timeout = max(ws.budget, 60) * 5
    got: dict = {"ready": [], "reruns": [], "failed": {}, "endings": {}, "poll_round_max": 0.0,
                 "bytes": [], "blocked": 0, "ready_by_path": {p: [] for p in PATHS},
                 "reruns_by_path": {p: [] for p in PATHS}}  # fmt: skip
    load = {"start": _load()}
    with app.chromium() as browser, ChromiumRss() as chromium_rss:
        with app.streamlit_server(ROOT / "app.py", env, ws.root, timeout=300) as server:
            warmed = wait_warmed(server, timeout)
            idle_rss = app.rss_mb(server["pid"])
            with RssSampler(server["pid"]) as rss:
                for plan in plans:
                    ws.log(f"area {label}: {len(plan)} wall session(s) on "
                           f"{len({u for u, _ in plan})} cities")  # fmt: skip
                    one = _open_walls(browser, server, url, plan, timeout, watch, ws.log)
                    for key in ("ready", "reruns", "bytes"):
                        got[key] += one[key]
                    for key in ("ready_by_path", "reruns_by_path"):
                        for path, values in one[key].items():
                            got[key][path] += values
                    got["failed"].update(one["failed"])
                    for status, n in one["endings"].items():
                        got["endings"][status] = got["endings"].get(status, 0) + n
                    got["poll_round_max"] = max(got["poll_round_max"], one["poll_round_max"])
                    got["blocked"] += one["blocked"]
                load["walls"] = _load()
                title = t("area.title", lang="ja") if len(codes) > 1 else None
                user = "area-hq" if len(codes) > 1 else f"wall-{codes[0]}"
                views = []
                for i in range(max(1, ws.repeats)):
                    ws.log(f"area {label}: overview of {user} ({i + 1})")
                    views.append(_overview(browser, server, url, user, title, timeout))
                load["end"] = _load()
            server_log = server["log"].read_text("utf-8", errors="replace")
    got.update(
        area_summary_s=area_s, area_summary_samples=area_samples, area_rows=area_rows, views=views, warm_up=warmed,
        area_cache=kept,
        idle_rss=idle_rss, peak_rss=rss.peak, chromium_rss=chromium_rss.peak, load=load,
        tracebacks=server_log.count("Traceback"),
    )  # fmt: skip
    return got


def _area_cache(store, every, codes: list[str], repeats: int) -> dict:
    """Seconds of the area view as the dashboard computes it (:class:`geodata.area.AreaCache`,
    rows kept city by city): ``written`` after a staff edit of one resident of the last city
    (one city computed again), ``unread`` with no write to what it reads (the posts and
    incidents of ingest) — each ``repeats`` times after a first look that computes every city."""
    from geodata.area import AreaCache

    cached = AreaCache()
    cached.summary(every)
    city = store.scoped([codes[-1]])
    resident = city.read("roster", columns=["resident_id", "care_priority"]).iloc[0]
    written, unread = [], []
    for i in range(repeats):
        city.update("roster", resident["resident_id"], {"care_priority": 1 + (i % 3)},
                    actor="benchmark")  # fmt: skip
        start = time.perf_counter()
        cached.summary(every)
        written.append(time.perf_counter() - start)
        assert cached.last == [codes[-1]], cached.last
        start = time.perf_counter()
        cached.summary(every)
        unread.append(time.perf_counter() - start)
    return {"written": written, "unread": unread}


def _stat(values: list, fn) -> float | None:
    return fn(values) if values else None


def run(ws: Workspace, scales: list[Scale]):
    why = app.browser_available()
    if why:
        return [], {NAME: why}
    cities = int(ws.options.get("cities") or CITIES)
    sessions = int(ws.options.get("sessions") or SESSIONS)
    figures, skipped = [], {}
    for scale in scales:
        if scale.posts > MAX_POSTS:
            skipped[f"{NAME} {scale.name}"] = (
                f"run up to {MAX_POSTS:,} posts per city ({cities} cities on one database)"
            )
            continue
        label = f"{cities}×{scale.name}"
        base_built = build(ws, scale, 1)
        base = measure(ws, base_built, 1, f"1×{scale.name}")
        built = build(ws, scale, cities)
        ours = measure(ws, built, sessions, label)
        setup = (f"{cities} cities × {built['posts'] // cities:,} posts ({built['posts']:,} in "
                 f"all) on one PostGIS; {sessions} sessions")  # fmt: skip
        base_name = f"1 city × {base_built['posts']:,} posts, 1 session (same run)"
        loads = (f"load average {ours['load']['start']} at the start, {ours['load']['walls']} "
                 f"after the walls; baseline {base['load']['start']}")  # fmt: skip
        failed = (f"; {len(ours['failed'])} sessions failed: "
                  f"{'; '.join(f'{k}: {v}' for k, v in ours['failed'].items())}"
                  if ours["failed"] else "")  # fmt: skip
        # the scale is the posts per city (as every benchmark's); the cities are in the metric
        common = {"benchmark": NAME, "scale": scale.name, "baseline_name": base_name}
        for what, key, unit_note in (
            ("wall screen map ready", "ready",
             f"from goto to the map drawn and painted (timed in the browser, as map_ready "
             f"does; the driver's rounds over the pages took up to "
             f"{ours['poll_round_max']:.2f} s)"),
            ("wall auto-refresh rerun", "reruns",
             f"fragment rerun every {_watch(ws)[0]} s, from the browser's request to "
             f"script_finished (DevTools frame times); {len(ours['reruns'])} reruns from the "
             f"pages' opening until {_watch(ws)[1]} intervals after the last map was ready "
             f"(baseline {len(base['reruns'])}); endings {ours['endings']}"),
        ):  # fmt: skip
            by_path = {p: round(statistics.median(v), 2) for p, v in
                       ours[f"{key}_by_path"].items() if v}  # fmt: skip
            base_by_path = {p: round(statistics.median(v), 2) for p, v in
                            base[f"{key}_by_path"].items() if v}  # fmt: skip
            for stat, fn in (("median", statistics.median), ("max", max)):
                figures.append(Figure(
                    **common,
                    metric=f"{what}, {stat} of {sessions} concurrent sessions on {cities} cities",
                    value=_stat(ours[key], fn), unit="s",
                    baseline=_stat(base[key], fn), better="lower",
                    samples=[round(x, 3) for x in ours[key]],
                    baseline_samples=[round(x, 3) for x in base[key]],
                    notes=f"{setup}; {unit_note}; {loads}{failed}",
                    extra={"median by page": by_path, "baseline median by page": base_by_path}
                    if stat == "median" else {},
                ))  # fmt: skip
        views, base_views = ours["views"], base["views"]
        later = views[1:] or views
        rows = {v.get("rows") for v in views}
        figures.append(Figure(
            **common,
            metric=f"area view: overview of a user of all {cities} cities, map and area table "
                   "shown (new session, median after the first)",
            value=statistics.median(v["area"] for v in later), unit="s",
            baseline=statistics.median(v["map"] for v in (base_views[1:] or base_views)),
            better="lower",
            samples=[round(v["area"], 3) for v in views],
            baseline_samples=[round(v["map"], 3) for v in base_views],
            notes=f"baseline: the overview of the one city's user (map ready; no area table for "
                  f"one municipality); first session {views[0]['area']:.2f} s (map "
                  f"{views[0]['map']:.2f} s); table rows (aria-rowcount, header and total "
                  f"included) {sorted(rows, key=str)}; after the walls closed",
        ))  # fmt: skip
        figures.append(Figure(
            **common,
            metric=f"geodata.area.area_summary of {cities} cities (in process)",
            value=ours["area_summary_s"], unit="s", baseline=base["area_summary_s"],
            better="lower",
            samples=[round(x, 3) for x in ours["area_summary_samples"]],
            baseline_samples=[round(x, 3) for x in base["area_summary_samples"]],
            notes=f"{ours['area_rows']} rows; baseline: the one city's summary; median of "
                  f"{ws.repeats} calls after one of one city (imports, connections)",
        ))  # fmt: skip
        for what, key in (
            ("after a staff edit in one city (that city computed again)", "written"),
            ("with no write to what it reads (posts, incidents)", "unread"),
        ):
            samples = ours["area_cache"][key]
            figures.append(Figure(
                **{**common, "baseline_name": "area_summary of every city (same run)"},
                metric=f"area view of {cities} cities {what}: geodata.area.AreaCache (in process)",
                value=statistics.median(samples), unit="s", baseline=ours["area_summary_s"],
                better="lower", samples=[round(x, 4) for x in samples],
                baseline_samples=[round(x, 3) for x in ours["area_summary_samples"]],
                notes=f"the dashboard's area view keeps each city's row by its data version of "
                      f"what the row reads; median of {ws.repeats} looks, each after one roster "
                      f"edit in the last city",
            ))  # fmt: skip
        figures.append(Figure(
            benchmark="memory", scale=scale.name,
            metric=f"peak RSS of the app server, {cities} cities and {sessions} wall sessions",
            value=ours["peak_rss"], unit="MB", baseline=base["peak_rss"],
            baseline_name=base_name + f": its server's peak (after start-up {base['idle_rss']:.0f}"
                          " MB)",
            better="lower",
            notes=f"streamlit run app.py, sampled every 0.1 s; after start-up "
                  f"{ours['idle_rss']:.0f} MB; Chromium's processes together peaked at "
                  f"{ours['chromium_rss']:,.0f} MB (baseline {base['chromium_rss']:,.0f} MB); "
                  f"server tracebacks logged: {ours['tracebacks']} (baseline {base['tracebacks']})",
        ))  # fmt: skip
        figures[-1].extra = {
            "build": {"posts": built["posts"], "copy_seconds": round(built["seconds"], 1),
                      "rows per city": built["made"]["rows"],
                      "make_cities seconds": round(built["made"]["seconds"], 1)},
            "load averages": {"area": ours["load"], "baseline": base["load"]},
            "off-machine requests": ours["blocked"] + base["blocked"],
            "bytes received per session (median)": _stat(ours["bytes"], statistics.median),
        }  # fmt: skip
    return figures, skipped


def in_process(url: str, repeats: int = 3) -> dict:
    """The in-process area figures on a store already built (``url``, every municipality in
    it): ``area_summary`` of every city (median of ``repeats``) against the area view as the
    dashboard keeps it (:func:`_area_cache`). ``python -m benchmarks.bench_area URL``."""
    from geodata.area import area_summary, municipalities_of
    from geodata.store.core import open_store

    store = open_store(url)
    try:
        codes = list(municipalities_of(store))
        every = store.scoped(codes)
        area_summary(store.scoped(codes[:1]))  # imports and connections: not in the figure
        seconds, samples, _ = median_time(lambda: area_summary(every), repeats)
        kept = _area_cache(store, every, codes, repeats)
    finally:
        store.dispose()
    return {"cities": len(codes), "area_summary_s": round(seconds, 3),
            "area_summary_samples": [round(x, 3) for x in samples],
            "after_one_citys_edit_s": [round(x, 3) for x in kept["written"]],
            "no_write_s": [round(x, 4) for x in kept["unread"]]}  # fmt: skip


if __name__ == "__main__":
    import argparse
    import json

    ap = argparse.ArgumentParser(description="the area view in process, on a store built before")
    ap.add_argument("url", help="the store (it gets one roster edit per repeat)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(json.dumps(in_process(args.url, args.repeats)))
