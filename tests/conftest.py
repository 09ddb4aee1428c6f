"""Shared fixtures: stores on both backends, the reference-data folder, and the CI skip guard.

``store`` is parametrized over SQLite and PostGIS: every store test runs on both. The PostGIS
cluster is started once per session (tests/pg_cluster.py). With ``BOSAI_REQUIRE_ALL=1`` (set by
.ci/run) a skipped PostGIS or browser test fails the run instead of passing silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geodata import settings
from tests.pg_cluster import PgCluster

_SKIPPED_REQUIRED: list[str] = []


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
    from geodata.store import open_store

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
