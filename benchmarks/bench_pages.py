"""Server time of a rerun of each page (``streamlit.testing.v1.AppTest``).

Measured: every page of the navigation (``dashboard.pages.PAGES``), run in AppTest
on the scenario store as the benchmark admin (who may open every page): first with Streamlit's
caches cleared (``st.cache_data`` / ``st.cache_resource``), then ``repeats`` reruns, as a rerun
after a widget interaction or a wall-screen refresh does. The figure is the median rerun.
Baseline (same run): the page's first run with the caches cleared. AppTest runs the script in
this process without a browser, so the time is the server's alone (no transfer, no drawing).

The reports page is also measured **while posts arrive** (:func:`measure_live`): after its first
run, reruns with nothing new, after a batch of :data:`LIVE_BATCH` new posts written through
``Store.upsert`` (as an ingest batch writes them, every minute in a disaster; with them, in the
same transaction, 30 posts of the batch before written again with another incident, as
ingest's re-linking does), after the page's
clock crossed a minute (its feed is cached per minute), after both, and once after it crossed an
hour (the feed's post window starts on a whole hour). The page's clock
(``dashboard.reports.view.now_utc``) is moved on instead of waiting for real minutes. Figures:
the median **and the maximum** of those reruns.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager

from benchmarks import app_server as app
from benchmarks.bench_overview import _env
from benchmarks.common import ROOT, Figure, Scale, Workspace

NAME = "pages"
TARGET_SECONDS = 0.5
LIVE_PAGE = "app_pages/reports.py"
LIVE_BATCH = 200  # new posts per batch (an ingest batch of a busy minute)


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


class PageClock:
    """``now_utc`` for the reports page: the real time moved on by ``offset``."""

    def __init__(self):
        import pandas as pd

        self.offset = pd.Timedelta(0)

    def __call__(self):
        from geodata.schema import now_utc

        return now_utc() + self.offset

    def next_minute(self) -> None:
        """Move on to the start of the next minute (plus a second)."""
        import pandas as pd

        now = pd.Timestamp(self())
        self.offset += now.floor("min") + pd.Timedelta(seconds=61) - now

    def next_hour(self) -> None:
        """Move on to the start of the next hour (plus a second)."""
        import pandas as pd

        now = pd.Timestamp(self())
        self.offset += now.floor("h") + pd.Timedelta(hours=1, seconds=1) - now


@contextmanager
def page_clock():
    """Patch the reports page's clock (:class:`PageClock`) for the block."""
    from dashboard.reports import view

    clock, real = PageClock(), view.now_utc
    view.now_utc = clock
    try:
        yield clock
    finally:
        view.now_utc = real


class PostWriter:
    """Writes batches of new posts into the store, as an ingest batch would (``upsert``): with
    them, in the same transaction, ``relinked`` posts of the batch before written again with
    another incident (ingest's re-linking writes ~36 stored posts a batch at 100k posts)."""

    def __init__(self, url: str, size: int = LIVE_BATCH, relinked: int = 30):
        from geodata.store.core import open_store

        self.store = open_store(url)
        self.template = self.store.read("posts", order="posted_at DESC", limit=size)
        self.relinked = relinked
        self.batches = 0
        self.written = 0  # posts inserted
        self.rewritten = 0  # posts written again (another incident)
        self.previous = None

    def write(self, now) -> int:
        import pandas as pd

        self.batches += 1
        batch = self.template.copy()
        batch["post_id"] = [f"bench-live-{self.batches}-{i}" for i in range(len(batch))]
        batch["posted_at"] = [pd.Timestamp(now) - pd.Timedelta(seconds=i % 50)
                              for i in range(len(batch))]  # fmt: skip
        batch["repost_of"] = None
        batch["triage"] = "new"
        with self.store.transaction():
            result = self.store.upsert("posts", batch, source="benchmark-live")
            if self.previous is not None and self.relinked:
                again = self.previous.iloc[: self.relinked].copy()
                again["incident_id"] = f"bench-live-inc-{self.batches}"
                self.rewritten += self.store.upsert("posts", again, source="incidents").updated
        self.previous = batch
        self.written += result.inserted
        return result.inserted

    def close(self) -> None:
        self.store.dispose()


def measure_live(url: str, page: str, cycles: int) -> dict:
    """Seconds of the cold run and of reruns of ``page`` while posts arrive (module docstring).

    Each cycle: a rerun with nothing new, after a batch of new posts, after a minute, after a
    batch and a minute; the last cycle also after an hour and a batch.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    writer = PostWriter(url)
    reruns: list[tuple[str, float]] = []
    try:
        with page_clock() as clock:
            at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=1800)
            app.login_apptest(at)
            at.run()
            at.switch_page(page)
            st.cache_data.clear()
            st.cache_resource.clear()
            start, cpu = time.perf_counter(), time.process_time()
            at.run()
            cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
            steps = ["same", "posts", "minute", "posts+minute"]
            plan = steps * max(1, cycles) + ["hour+posts"]
            for step in plan:
                if "minute" in step:
                    clock.next_minute()
                if "hour" in step:
                    clock.next_hour()
                if "posts" in step:
                    writer.write(clock())
                start, cpu = time.perf_counter(), time.process_time()
                at.run()
                reruns.append((step, time.perf_counter() - start, time.process_time() - cpu))
            errors = [e.value for e in at.exception] + [e.value for e in at.error]
    finally:
        writer.close()
    return {"cold": cold, "cold_cpu": cold_cpu, "reruns": reruns,
            "errors": [str(e)[:200] for e in errors],
            "posts_written": writer.written, "posts_rewritten": writer.rewritten}  # fmt: skip


def live_figures(scale: Scale, m: dict) -> list[Figure]:
    """Median and maximum rerun of :func:`measure_live`, against the page's first run; and the
    maximum CPU time of a rerun (the process's, against the first run's: the machine is shared,
    and its load stretches wall times)."""
    times = [s for _, s, _ in m["reruns"]]
    cpus = [c for _, _, c in m["reruns"]]
    worst = max(m["reruns"], key=lambda r: r[1])
    note = "; ".join(m["errors"])[:300] if m["errors"] else ""
    common = {
        "benchmark": NAME,
        "scale": scale.name,
        "unit": "s",
        "baseline": m["cold"],
        "baseline_name": "first run, caches cleared",
        "better": "lower",
        "target": TARGET_SECONDS,
        "samples": [round(s, 3) for s in times],
        "baseline_samples": [round(m["cold"], 3)],
    }
    page = LIVE_PAGE.removeprefix("app_pages/")
    steps = ", ".join(f"{k} {s:.2f}" for k, s, _ in m["reruns"])
    return [
        Figure(
            metric=f"rerun of {page} while posts arrive, median (AppTest)",
            value=statistics.median(times),
            notes=f"page shows an error: {note}" if note else f"reruns: {steps}",
            **common,
        ),
        Figure(
            metric=f"rerun of {page} while posts arrive, max (AppTest)",
            value=max(times),
            notes=(
                f"page shows an error: {note}"
                if note
                else f"slowest: after {worst[0]}; {LIVE_BATCH} posts per batch, "
                f"{m['posts_written']:,} written, {m.get('posts_rewritten', 0):,} written again"
            ),
            **common,
        ),
        Figure(
            metric=f"rerun of {page} while posts arrive, max CPU time (AppTest)",
            value=max(cpus),
            notes=f"CPU s per rerun: {', '.join(f'{k} {c:.2f}' for k, _, c in m['reruns'])}",
            **{
                **common,
                "baseline": m["cold_cpu"],
                "baseline_name": "first run's CPU time, caches cleared",
                "samples": [round(c, 3) for c in cpus],
                "baseline_samples": [round(m["cold_cpu"], 3)],
            },
        ),
    ]


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
            ws.log(f"pages {scale.name}: {LIVE_PAGE} while posts arrive")
            figures += live_figures(scale, measure_live(url, LIVE_PAGE, ws.repeats))
    return figures
