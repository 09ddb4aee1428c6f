"""PostGIS set up by a DBA: the store checks for the extension and says in one line what to run.

Reported: with a database owned by an ordinary role, the first open failed with a 48-line
traceback (``permission denied to create extension "postgis"``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from geodata.store.core import open_store
from geodata.store.errors import StoreSetupError

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.postgis


def test_an_ordinary_role_is_told_what_the_dba_must_run(pg_cluster):
    url = pg_cluster.database_of_ordinary_role(postgis=False)
    database = sa.make_url(url).database
    with pytest.raises(StoreSetupError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "\n" not in message
    assert f'psql -d {database} -c "CREATE EXTENSION postgis;"' in message
    assert "may not create" in message
    # The command line prints that one line, no traceback.
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "users", "list", "--db", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {message}"]


def test_once_the_dba_created_the_extension_an_ordinary_role_opens_the_store(pg_cluster):
    url = pg_cluster.database_of_ordinary_role(postgis=True)
    store = open_store(url)
    assert store.schema_version() > 0
    assert store.count("towns") == 0
    with store.engine.connect() as conn:
        superuser = conn.exec_driver_sql(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        assert superuser.scalar() is False
    store.dispose()
