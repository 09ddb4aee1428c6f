"""Server time of a rerun of each page (``streamlit.testing.v1.AppTest``).

Measured: every page of the navigation (``dashboard.pages.PAGES``), run in AppTest
on the scenario store as the benchmark admin (who may open every page): first with Streamlit's
caches cleared (``st.cache_data`` / ``st.cache_resource``), then ``repeats`` reruns, as a rerun
after a widget interaction or a wall-screen refresh does. The figure is the median rerun.
Baseline (same run): the page's first run with the caches cleared. AppTest runs the script in
this process without a browser, so the time is the server's alone (no transfer, no drawing).
"""

from __future__ import annotations

import statistics
import time

from benchmarks import app_server as app
from benchmarks.bench_overview import _env
from benchmarks.common import ROOT, Figure, Scale, Workspace

NAME = "pages"
TARGET_SECONDS = 0.5


def page_files() -> list[str]:
    """The page scripts of the app's navigation, in its order."""
    from dashboard.pages import PAGES

    return [p.file for p in PAGES]


def measure(url: str, page: str, repeats: int) -> dict:
    """Seconds of the cold run and of the reruns of ``page``."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=1800)
    app.login_apptest(at)
    at.run()  # the frame and the default page: sets up the session
    at.switch_page(page)
    st.cache_data.clear()
    st.cache_resource.clear()
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    errors = [e.value for e in at.exception] + [e.value for e in at.error]
    reruns = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - start)
    return {"cold": cold, "reruns": reruns, "errors": [str(e)[:200] for e in errors]}


def run(ws: Workspace, scales: list[Scale]) -> list[Figure]:
    figures = []
    for scale in scales:
        scenario = ws.scenario(scale, "sqlite")
        url = ws.fresh_copy(scenario.url, f"pages-{scale.name}")  # pages may write audit rows
        app.ensure_admin(url)
        with _env(BOSAI_DB_URL=url, BOSAI_TILES="none", BOSAI_TILE_URL="", BOSAI_LANG="ja",
                  BOSAI_KIOSK="0"):  # fmt: skip
            for page in page_files():
                ws.log(f"pages {scale.name}: {page}")
                m = measure(url, page, ws.repeats)
                note = "; ".join(m["errors"])[:300] if m["errors"] else ""
                figures.append(
                    Figure(
                        benchmark=NAME,
                        scale=scale.name,
                        metric=f"rerun of {page.removeprefix('app_pages/')} (AppTest)",
                        value=statistics.median(m["reruns"]),
                        unit="s",
                        baseline=m["cold"],
                        baseline_name="first run, caches cleared",
                        better="lower",
                        target=TARGET_SECONDS,
                        samples=[round(s, 3) for s in m["reruns"]],
                        baseline_samples=[round(m["cold"], 3)],
                        notes=f"page shows an error: {note}" if note else "",
                    )
                )
    return figures
