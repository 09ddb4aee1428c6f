"""A throwaway PostgreSQL + PostGIS cluster for the tests (and the benchmarks).

``PgCluster.start()`` runs ``initdb`` into a temporary folder and starts ``postgres`` on a free
loopback port; ``new_database()`` clones a template that already has the PostGIS extension, so
each test gets an empty database in a fraction of a second. When ``BOSAI_TEST_PG_URL`` is set
(``postgresql://user:pass@host:port/db`` of a server with PostGIS installed), that server is used
instead and no cluster is started.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa


def find_pg_bin() -> Path | None:
    """The folder holding initdb/pg_ctl of the newest installed PostgreSQL, or None."""
    env = os.environ.get("BOSAI_PG_BIN")
    if env:
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgis_available(pg_bin: Path) -> bool:
    """Whether the PostGIS extension files are installed for this PostgreSQL."""
    sharedir = subprocess.run(
        [str(pg_bin / "pg_config"), "--sharedir"], capture_output=True, text=True
    ).stdout.strip()
    return bool(sharedir) and bool(glob.glob(f"{sharedir}/extension/postgis.control"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """A PostgreSQL server for tests; see the module docstring."""

    def __init__(self, admin_url: str, proc_dir: Path | None, runas: list[str]):
        self.admin_url = admin_url
        self.proc_dir = proc_dir
        self._runas = runas
        self._pg_bin = find_pg_bin()
        self.template = "bosai_template"
        self._make_template()

    @classmethod
    def start(cls) -> PgCluster:
        """Start a cluster (or attach to BOSAI_TEST_PG_URL); raises RuntimeError if impossible."""
        url = os.environ.get("BOSAI_TEST_PG_URL")
        if url:
            return cls(url, None, [])
        pg_bin = find_pg_bin()
        if pg_bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian packages postgresql, postgis)")
        if not postgis_available(pg_bin):
            raise RuntimeError("PostGIS is not installed (Debian package postgis)")
        runas: list[str] = []
        base = Path(tempfile.mkdtemp(prefix="bosai-pg-"))
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as the postgres system user.
            user = pwd.getpwnam("postgres")
            os.chown(base, user.pw_uid, user.pw_gid)
            runas = ["runuser", "-u", "postgres", "--"]
        data = base / "data"
        subprocess.run(
            [
                *runas,
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "bosai",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        port = _free_port()
        opts = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        subprocess.run(
            [
                *runas,
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return cls(f"postgresql+psycopg://bosai@127.0.0.1:{port}/postgres", data, runas)

    def _admin(self) -> sa.Engine:
        return sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")

    def _make_template(self) -> None:
        engine = self._admin()
        with engine.connect() as conn:
            exists = conn.exec_driver_sql(
                f"SELECT 1 FROM pg_database WHERE datname = '{self.template}'"
            ).first()
            if not exists:
                conn.exec_driver_sql(f"CREATE DATABASE {self.template}")
        engine.dispose()
        tmpl = sa.create_engine(self.url_for(self.template), isolation_level="AUTOCOMMIT")
        with tmpl.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        tmpl.dispose()

    def url_for(self, database: str) -> str:
        """The URL of one database of this server."""
        return (
            sa.make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)
        )

    def new_database(self) -> str:
        """Create an empty database with PostGIS; returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        engine = self._admin()
        with engine.connect() as conn:
            for attempt in range(20):
                try:
                    conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {self.template}")
                    break
                except sa.exc.OperationalError:  # template busy: another clone in progress
                    if attempt == 19:
                        raise
                    time.sleep(0.2)
        engine.dispose()
        return self.url_for(name)

    def database_of_ordinary_role(self, postgis: bool = False) -> str:
        """A new database owned by a new role without superuser; returns that role's URL.

        Without ``postgis`` the database lacks the extension, as a DBA's fresh database does.
        """
        suffix = uuid.uuid4().hex[:12]
        role, name = f"r_{suffix}", f"o_{suffix}"
        engine = self._admin()
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
            template = self.template if postgis else "template0"
            conn.exec_driver_sql(f"CREATE DATABASE {name} OWNER {role} TEMPLATE {template}")
        engine.dispose()
        url = sa.make_url(self.url_for(name)).set(username=role)
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        """Stop the server started by :meth:`start` and remove its files."""
        if self.proc_dir is None:
            return
        pg_bin = find_pg_bin()
        subprocess.run(
            [
                *self._runas,
                str(pg_bin / "pg_ctl"),
                "-D",
                str(self.proc_dir),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.proc_dir.parent, ignore_errors=True)
