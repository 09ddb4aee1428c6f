"""Shared fixtures: stores on both backends, the reference-data folder, and the CI skip guard.

``store`` is parametrized over SQLite and PostGIS: every store test runs on both. The PostGIS
cluster is started once per session (tests/pg_cluster.py). With ``BOSAI_REQUIRE_ALL=1`` (set by
.ci/run) a skipped PostGIS or browser test fails the run instead of passing silently.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from geodata import settings
from tests.pg_cluster import PgCluster

_SKIPPED_REQUIRED: list[str] = []
_MAIN_MODULE = sys.modules["__main__"]

CHROMIUM = os.environ.get("BOSAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest runs a page as ``__main__`` and leaves it in ``sys.modules``; a
    ``spawn`` child of a later test would then re-run that page and die on start-up, and a
    ``multiprocessing.Pool`` waits forever for workers that keep dying. Put pytest's back."""
    yield
    sys.modules["__main__"] = _MAIN_MODULE


@pytest.fixture(scope="session", autouse=True)
def _key_file(tmp_path_factory):
    """Secret keys of the test session in a temporary key file, never the project's var/.

    Set in ``os.environ`` so servers and commands started by the tests share it.
    """
    saved = {k: os.environ.get(k) for k in ("BOSAI_KEY_FILE", "BOSAI_SECRET_KEY")}
    os.environ["BOSAI_KEY_FILE"] = str(tmp_path_factory.mktemp("keys") / "bosai.key")
    os.environ.pop("BOSAI_SECRET_KEY", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def _no_local_tiles(tmp_path_factory):
    """No prefetched basemap file unless a test makes one: a ``var/tiles/basemap.mbtiles`` left in
    the checkout by ``python -m ingest basemap prefetch`` would change maps and exports.

    Set in ``os.environ`` so servers and commands started by the tests see the same.
    """
    saved = os.environ.get("BOSAI_MBTILES")
    os.environ["BOSAI_MBTILES"] = str(tmp_path_factory.mktemp("tiles") / "none.mbtiles")
    yield
    if saved is None:
        os.environ.pop("BOSAI_MBTILES", None)
    else:
        os.environ["BOSAI_MBTILES"] = saved


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI fails on this skip)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Chromium for the whole session.

    Playwright's sync API runs one event loop per thread: a second ``sync_playwright()`` while
    the first is open fails, so every browser test (tests/browser, tests/oidc, the benchmark
    smoke tests) shares this one and opens its own context.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = PgCluster.start()
    except Exception as exc:  # noqa: BLE001 - reported as the skip reason
        pytest.skip(f"PostGIS unavailable: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster) -> str:
    """The URL of a fresh empty PostGIS database."""
    return pg_cluster.new_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """The URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_url(request, tmp_path) -> str:
    """A fresh store URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    """An empty, migrated store on each backend."""
    from geodata.store.core import open_store

    s = open_store(store_url)
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference open-data folder (../shared/data or BOSAI_REFERENCE_DIR)."""
    path = settings.reference_dir()
    if not (path / "chofu").exists():
        pytest.skip(f"reference data not found in {path}")
    return path


def pytest_runtest_logreport(report):
    if report.skipped and any(m in report.keywords for m in ("postgis", "browser")):
        _SKIPPED_REQUIRED.append(f"{report.nodeid}: {report.longrepr}")


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("BOSAI_REQUIRE_ALL") == "1" and _SKIPPED_REQUIRED:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["PostGIS/browser tests were skipped but BOSAI_REQUIRE_ALL=1:"]
        lines += _SKIPPED_REQUIRED[:20]
        if reporter:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = 1
