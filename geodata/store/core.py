"""The store: one interface over SQLite (embedded default) and PostgreSQL + PostGIS.

Every layer of :mod:`geodata.schema` is a table keyed by the layer key. Writes are idempotent
upserts inside one transaction (a batch is written whole or not at all); each write bumps the
layer's data version, which the dashboard uses as its cache key. Several writes that belong
together (an ingest batch: its rows, the incidents they change, rejections, the source's health
and cursor) share one transaction through :meth:`Store.transaction`. Staff writes (``actor`` given)
leave one audit row per changed record. Shelter status is an append-only history with a version
number per shelter: a write based on a stale version is refused with the current record.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so
that a read-then-write cannot interleave with another writer. PostgreSQL stores geometries as
PostGIS ``geometry(Geometry, 4326)`` with a GiST index; SQLite stores WKB plus bounding-box
columns. See docs/store-api.md for a tour.

Over ~400 lines on purpose: this is the store's one front door (connections, transactions,
upsert, reads, staff edits), whose methods share its private helpers; what stands apart lives
beside it (codec, tables, status, log, migrations).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy import event, func
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from geodata import settings
from geodata.access.files import prepare_sqlite
from geodata.schema import (
    LAYERS,
    MUNICIPALITY,
    STORE_CRS,
    TIME,
    Layer,
    empty_frame,
    now_utc,
    validate,
)
from geodata.store.aggregate import AggregateMixin
from geodata.store.codec import DECODE_CHUNK, FrameBuilder, decode_record
from geodata.store.codec import db_time as _db_time
from geodata.store.codec import encode_column as _encode_column
from geodata.store.codec import encode_value as _encode_value
from geodata.store.codec import plain as _plain
from geodata.store.codec import row_hashes as _row_hashes
from geodata.store.errors import OutOfScope, StaleVersion, UnknownRecord, UpsertResult
from geodata.store.history import HistoryMixin
from geodata.store.log import LogMixin
from geodata.store.migrations import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ensure_postgis,
    ensure_row_security,
)
from geodata.store.record import RecordMixin
from geodata.store.status import ShelterStatusMixin
from geodata.store.tables import build_metadata
from geodata.text.fingerprints import text_digest

log = logging.getLogger(__name__)

CHUNK = 2000  # rows per executemany / keys per IN lookup
# layer_versions rows "posts@13208": the writes to one municipality's rows of a layer ("@*": to
# every municipality's) beside the layer's own row (Store._bump, Store.data_version)
VERSION_MARK = "@"


__all__ = [
    "Store",
    "open_store",
    "OutOfScope",
    "StaleVersion",
    "UnknownRecord",
    "UpsertResult",
    "build_metadata",
    "ALL_MUNICIPALITIES",
    "scoped_url",
    "split_scoped_url",
]

# The row-security setting of a transaction that may see every municipality (docs/security.md).
ALL_MUNICIPALITIES = "*"


SCOPE_MARK = "#bosai-municipalities="


def _stamp_key(value) -> pd.Timestamp:
    """A write stamp (``stored_at``, as written or read back) as an aware UTC Timestamp."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def scoped_url(url: str, municipalities) -> str:
    """``url`` naming a store scoped to ``municipalities`` (:meth:`Store.scoped`).

    The dashboard keys its caches by the URL, so a scoped URL keeps one user's cached reads
    from another's; :func:`open_store` and the dashboard's ``get_store`` open it scoped.

    Examples
    --------
    >>> scoped_url("sqlite:///var/bosai.sqlite", ["13208", "13210"])
    'sqlite:///var/bosai.sqlite#bosai-municipalities=13208,13210'
    >>> split_scoped_url(_)
    ('sqlite:///var/bosai.sqlite', ('13208', '13210'))
    """
    base, _ = split_scoped_url(url)
    return f"{base}{SCOPE_MARK}{','.join(str(c).strip()[:5] for c in municipalities)}"


def split_scoped_url(url: str) -> tuple[str, tuple[str, ...] | None]:
    """(the store URL, the municipalities of its scope or None for every municipality)."""
    base, mark, codes = url.partition(SCOPE_MARK)
    if not mark:
        return url, None
    return base, tuple(c for c in codes.split(",") if c)


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and migrate) the store at ``url`` (default: the ``BOSAI_DB_URL`` setting).

    A URL made by :func:`scoped_url` opens the store scoped to its municipalities.

    Examples
    --------
    >>> store = open_store("sqlite:///:memory:")  # doctest: +SKIP
    """
    url, scope = split_scoped_url(url or settings.db_url())
    if scope is not None:
        return open_store(url, migrate=migrate).scoped(scope)
    prepare_sqlite(url)  # a new SQLite file (and so its -wal/-shm) is made 0600
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    store = Store(sa.create_engine(url, future=True, pool_pre_ping=True))
    if migrate:
        store.migrate()
    return store


class Store(ShelterStatusMixin, HistoryMixin, RecordMixin, LogMixin, AggregateMixin):
    """The store. Create it with :func:`open_store`."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        if engine.dialect.name == "sqlite":
            self._setup_sqlite(engine)
        self.md = build_metadata(self.postgres)
        self.tables = self.md.tables
        self._local = threading.local()  # the transaction this thread is in (transaction())
        # None: every municipality (ingest, admin commands); else the codes this store reads
        # and writes (a user's, :meth:`scoped`).
        self.municipalities: tuple[str, ...] | None = None

    # -- municipalities ----------------------------------------------------------------------

    def scoped(self, municipalities) -> Store:
        """This store limited to ``municipalities`` (5-digit codes): the one place a user's
        municipalities are enforced.

        Every read of a municipal layer (:attr:`geodata.schema.Layer.municipal`) through the
        scoped store — ``read``, ``get``, ``count``, the current shelter status, and every
        builder that reads through them — returns only the rows of these municipalities; a write
        fills a row's empty municipality with the first of them and refuses
        (:class:`OutOfScope`) a row, new or stored, of another one. On PostGIS each transaction
        also sets ``bosai.municipalities``, which the row-level security policies of the
        personal layers check (so even raw SQL in that transaction sees only these rows).
        The scoped store shares the engine and the transaction of this one; scoping a scoped
        store again may only narrow it (:class:`OutOfScope` otherwise).

        Examples
        --------
        >>> city = store.scoped(["13208"])  # doctest: +SKIP
        >>> city.count("roster")  # 調布市's residents only  # doctest: +SKIP
        """
        codes = tuple(dict.fromkeys(str(c).strip()[:5] for c in municipalities if str(c).strip()))
        if not codes:
            raise ValueError("a scoped store needs at least one municipality")
        bad = [c for c in codes if not (c.isdigit() and len(c) == 5)]
        if bad:
            raise ValueError(f"not 5-digit municipality codes: {bad}")
        outside = [
            c for c in codes if self.municipalities is not None and c not in self.municipalities
        ]
        if outside:  # a scoped store narrows, never widens
            raise OutOfScope(f"municipalities {outside} are outside this store's scope")
        scoped = copy.copy(self)
        scoped.municipalities = codes
        return scoped

    @property
    def home_municipality(self) -> str:
        """The municipality a row written without one gets: the scope's first, else
        ``BOSAI_MUNICIPALITY``."""
        return self.municipalities[0] if self.municipalities else settings.municipality()

    def _row_security_setting(self) -> str:
        return ",".join(self.municipalities) if self.municipalities else ALL_MUNICIPALITIES

    def _scope_conds(self, spec: Layer, table) -> list:
        if self.municipalities is None or not spec.municipal:
            return []
        return [table.c[MUNICIPALITY].in_(self.municipalities)]

    def _set_scope(self, conn: sa.Connection) -> None:
        """Tell PostgreSQL the transaction's municipalities (the row-security policies read it)."""
        if self.postgres:
            conn.exec_driver_sql(
                "SELECT set_config('bosai.municipalities', %s, true)",
                (self._row_security_setting(),),
            )

    # -- connections -------------------------------------------------------------------------

    @staticmethod
    def _setup_sqlite(engine: sa.Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA synchronous=NORMAL")
            # a 64 MiB page cache (default 2 MiB): the posts' indexes stay in it while a batch
            # is inserted (100k drill: posts inserts 2.1 -> 1.6 s, benchmarks/bench_ingest.py)
            cur.execute("PRAGMA cache_size=-65536")
            # checkpoint the WAL at 40 MB (default 4 MB): pages a batch writes again are
            # copied into the database once, not at every 4 MB (commits 1.1 -> 0.7 s, same)
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            write = conn.get_execution_options().get("bosai_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One write transaction for several writes: all of them commit, or none.

        Every call of this store made by this thread inside the block — upserts, appends,
        rejections, health, and reads too — runs in the one transaction; a write that fails
        inside it rolls back to where it started (a savepoint), as it would on its own, and an
        exception leaving the block rolls everything back. A block inside another is a
        savepoint of it (an exception leaving the inner block undoes only the inner writes).
        The ingest runner writes each batch this way (ingest/runner.py).

        Examples
        --------
        >>> with store.transaction():  # doctest: +SKIP
        ...     store.upsert("incidents", incidents)
        ...     store.upsert("posts", posts)
        """
        outermost = self._joined() is None
        with self._write() as conn:  # inside another block: a savepoint of it
            if outermost:
                self._local.conn = conn
                self._local.post_stamps = {}
            try:
                yield self
            finally:
                if outermost:
                    self._local.conn = None

    def lock(self, name: str) -> None:
        """Hold the lock ``name`` of this store's municipalities until the transaction this
        thread is in ends.

        Writers that read, decide and write (incident linking) take it so that two of them never
        decide on the same rows at once. A store scoped to municipalities reads and writes only
        theirs, so it locks only theirs: ingest workers of two cities link at the same time,
        two of one city take turns. An unscoped store (the command line over every city) locks
        them all. On PostgreSQL: the name shared (``pg_advisory_xact_lock_shared``), then each
        municipality's exclusively, in code order; unscoped, the name exclusively — it waits
        for every scoped holder, and they for it. SQLite needs none: a write transaction holds
        the database's write lock from its start (``BEGIN IMMEDIATE``).
        """
        conn = self._joined()
        if conn is None:
            raise RuntimeError("store.lock() needs a store.transaction()")
        if not self.postgres:
            return
        if self.municipalities is None:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
            return
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", (name,))
        for code in sorted(self.municipalities):
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{name}:{code}",))

    def _joined(self) -> sa.Connection | None:
        return getattr(self._local, "conn", None)

    def post_stamps_written(self) -> dict[pd.Timestamp, int]:
        """The write stamps (``posts.stored_at``) this thread's last :meth:`transaction` gave
        posts, with the number of rows written under each — keyed as
        :meth:`post_write_stamps` returns them. A long-running ingest that knows what it wrote
        (ingest/dedupe.py ``CopyHistory.wrote``) does not read it back."""
        return dict(getattr(self._local, "post_stamps", None) or {})

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        Inside :meth:`transaction`, a savepoint of that transaction instead.
        """
        joined = self._joined()
        if joined is not None:
            with joined.begin_nested():
                yield joined
            return
        with self.engine.connect().execution_options(bosai_write=True) as conn:
            with conn.begin():
                self._set_scope(conn)
                yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        joined = self._joined()
        if joined is not None:
            yield joined
            return
        with self.engine.connect() as conn:
            with conn.begin():
                self._set_scope(conn)
                yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- migrations ------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the database (0 when it is empty)."""
        insp = sa.inspect(self.engine)
        if not insp.has_table("meta"):
            return 0
        with self._read() as conn:
            value = conn.execute(
                sa.select(self.tables["meta"].c.value).where(
                    self.tables["meta"].c.key == "schema_version"
                )
            ).scalar()
        return int(value or 0)

    def migrate(self) -> int:
        """Bring the database to the current schema; returns the number of migrations applied.

        A new database gets the whole current schema at once; a database made by an older
        version of the app gets each newer migration in order, in one transaction each.
        """
        with self._write() as conn:
            if self.postgres:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72617)")  # one migrator
                ensure_postgis(conn)
            insp = sa.inspect(conn)
            if not insp.has_table("meta"):
                self.md.create_all(conn)
                ensure_row_security(conn)
                self._set_meta(conn, "schema_version", str(SCHEMA_VERSION))
                return 1
            current = int(
                conn.execute(
                    sa.text("SELECT value FROM meta WHERE key = 'schema_version'")
                ).scalar()
                or 0
            )
            applied = 0
            for version, migration in MIGRATIONS:
                if version > current:
                    log.info("applying schema migration %s", version)
                    migration(conn, self)
                    applied += 1
            # Tables added since (none by ALTER) are created here.
            self.md.create_all(conn, checkfirst=True)
            if applied or current != SCHEMA_VERSION:
                self._set_meta(conn, "schema_version", str(SCHEMA_VERSION))
            return applied

    def _set_meta(self, conn: sa.Connection, key: str, value: str) -> None:
        meta = self.tables["meta"]
        conn.execute(sa.delete(meta).where(meta.c.key == key))
        conn.execute(sa.insert(meta).values(key=key, value=value))

    # -- encoding --------------------------------------------------------------------------

    def _encode(self, layer: Layer, frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
        """Turn a validated frame into DB rows (column names, tuples) with row_hash and bbox.

        Works column by column; the row hash is pandas' stable 64-bit hash of the encoded
        values (geometry as WKB hex), so an unchanged record re-hashes to the same value.
        """
        n = len(frame)
        if layer.municipal:
            frame = self._with_municipality(layer, frame)
        columns: dict[str, list] = {}
        for name, kind in layer.columns.items():
            columns[name] = _encode_column(frame[name], kind, self.postgres)
        hashed = list(columns.values())
        if layer.geometry:
            geoms = np.asarray(frame.geometry.values, dtype=object)
            wkb = shapely.to_wkb(geoms)
            bounds = shapely.bounds(geoms)
            columns["geometry"] = [None if w is None else bytes(w) for w in wkb]
            # the WKB as hex text (shapely's hex=True), a missing geometry as "None"
            hashed.append([("None" if w is None else w.hex().upper()) for w in wkb.tolist()])
            for i, c in enumerate(("minx", "miny", "maxx", "maxy")):
                col = bounds[:, i]
                columns[c] = np.where(np.isnan(col), None, col).tolist()
        if n:
            digests = _row_hashes(hashed, n)
            columns["row_hash"] = [f"{d:016x}" for d in digests.tolist()]
        else:
            columns["row_hash"] = []
        stamp = _db_time(now_utc(), self.postgres)
        columns["stored_at"] = [stamp] * n
        if layer.fingerprint:
            columns["text_fp"] = [text_digest(t) for t in frame[layer.fingerprint]]
        names = list(columns)
        return names, list(zip(*(columns[c] for c in names), strict=True))

    def _with_municipality(self, layer: Layer, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every row's municipality set (an empty one: :attr:`home_municipality`);
        :class:`OutOfScope` for a row of a municipality outside the scope."""
        values = frame[MUNICIPALITY] if MUNICIPALITY in frame.columns else None
        if values is None or values.isna().any():
            frame = frame.copy(deep=False)  # (copy on write: the caller's frame stays as it is)
            home = self.home_municipality
            frame[MUNICIPALITY] = home if values is None else values.where(values.notna(), home)
        if self.municipalities is not None:
            outside = sorted(set(frame[MUNICIPALITY].astype(str)) - set(self.municipalities))
            if outside:
                raise OutOfScope(f"{layer.name}: rows of municipality {outside} are out of scope")
        return frame

    def _check_stored_scope(self, conn, spec: Layer, keys: list[tuple]) -> None:
        """:class:`OutOfScope` when a stored row among ``keys`` belongs to another municipality
        than the scope's (a scoped write may not take it over)."""
        if self.municipalities is None or not spec.municipal or not keys:
            return
        table = self.tables[spec.name]
        for prefix, last in _key_groups(keys):
            cond = [table.c[k] == v for k, v in zip(spec.key[:-1], prefix, strict=True)]
            cond.append(table.c[spec.key[-1]].in_(last))
            cond.append(table.c[MUNICIPALITY].not_in(self.municipalities))
            hit = conn.execute(sa.select(*[table.c[k] for k in spec.key]).where(*cond)).first()
            if hit is not None:
                raise OutOfScope(f"{spec.name} {tuple(hit)} belongs to another municipality")

    def _decode(self, layer: Layer, rows: list, names: list[str]) -> pd.DataFrame:
        builder = FrameBuilder(layer, names)
        builder.add(rows)
        return builder.frame()

    # -- upsert ----------------------------------------------------------------------------

    def upsert(
        self,
        layer: str,
        frame: pd.DataFrame,
        *,
        source: str | None = None,
        actor: str | None = None,
        progress: Callable[[int], None] | None = None,
        rejected: pd.DataFrame | None = None,
    ) -> UpsertResult:
        """Insert or update ``frame`` into ``layer`` on its key, in one transaction.

        Parameters
        ----------
        layer : layer name (see :data:`geodata.schema.LAYERS`).
        frame : rows in the layer's schema; validated here. Rows that do not fit go to the
            rejections table with their reason; the others are written.
        source : where the rows came from (kept with rejections).
        actor : the staff member making the write; when given, each inserted or changed
            record gets an audit-log row (old -> new).
        progress : called with the number of rows written so far, after each chunk.
        rejected : when given, ``frame`` is the valid part of a :func:`validate` of this layer
            and ``rejected`` its rejected part (the ingest runner validates before linking
            incidents): the frame is not validated again.

        Returns
        -------
        UpsertResult with inserted / updated / unchanged / rejected counts. A second upsert of
        the same rows returns only ``unchanged``.
        """
        spec = LAYERS[layer]
        if spec.write != "merge":
            raise ValueError(f"{spec.name} is append-only: use append_{spec.name}")
        if rejected is None:
            valid, rejected = validate(frame, spec)
        else:
            valid = frame
        names, rows = self._encode(spec, valid)
        result = UpsertResult(rejected=len(rejected))
        key_idx = [names.index(k) for k in spec.key]
        hash_idx = names.index("row_hash")
        with self._write() as conn:
            if len(rejected):
                self._insert_rejections(conn, source, spec.name, rejected.itertuples(index=False))
            if len(key_idx) == 1:
                keys = [(row[key_idx[0]],) for row in rows]
            else:
                keys = list(map(itemgetter(*key_idx), rows))  # tuples of the key columns
            self._check_stored_scope(conn, spec, keys)
            if actor is not None:
                existing = self._existing_full(conn, spec, keys)
                hashes = {k: v["row_hash"] for k, v in existing.items()}
            else:
                existing = {}
                hashes = self._existing_hashes(conn, spec, keys)
            changed = []
            for key, row in zip(keys, rows, strict=True):
                old = hashes.get(key)
                if old is None:
                    result.inserted += 1
                    changed.append(row)
                elif old != row[hash_idx]:
                    result.updated += 1
                    changed.append(row)
                else:
                    result.unchanged += 1
            sql = self._upsert_sql(spec, names)
            for start in range(0, len(changed), CHUNK):
                conn.exec_driver_sql(sql, changed[start : start + CHUNK])
                if progress:
                    progress(min(start + CHUNK, len(changed)))
            if actor and changed:
                dicts = [dict(zip(names, row, strict=True)) for row in changed]
                self._audit_rows(conn, actor, "upsert", spec, dicts, existing)
            if changed:
                self._bump(conn, spec.name, _municipalities_of(spec, names, changed))
                stamps = getattr(self._local, "post_stamps", None)
                if spec.name == "posts" and stamps is not None and self._joined() is not None:
                    stamp = _stamp_key(changed[0][names.index("stored_at")])
                    stamps[stamp] = stamps.get(stamp, 0) + len(changed)
        return result

    def load(
        self,
        layer: str,
        frame: pd.DataFrame,
        *,
        source: str | None = None,
        rejected: pd.DataFrame | None = None,
    ) -> UpsertResult:
        """Write a batch of ``layer`` the way the layer declares (``Layer.write``).

        ``merge``: :meth:`upsert` on the key (``rejected`` as there). ``append``: the store's
        ``append_<layer>`` (e.g. :meth:`append_shelter_status`), which validates the frame itself.
        """
        spec = LAYERS[layer]
        if spec.write == "append":
            return getattr(self, f"append_{spec.name}")(frame, source=source)
        return self.upsert(layer, frame, source=source, rejected=rejected)

    def _upsert_sql(self, spec: Layer, names: list[str]) -> str:
        """INSERT ... ON CONFLICT (key) DO UPDATE, as DBAPI SQL for executemany."""
        mark = "%s" if self.postgres else "?"
        values = [
            f"ST_GeomFromWKB({mark}::bytea, 4326)" if self.postgres and n == "geometry" else mark
            for n in names
        ]
        cols = ", ".join(f'"{n}"' for n in names)
        updates = ", ".join(f'"{n}" = excluded."{n}"' for n in names if n not in spec.key)
        keys = ", ".join(f'"{k}"' for k in spec.key)
        return (
            f'INSERT INTO "{spec.name}" ({cols}) VALUES ({", ".join(values)}) '
            f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
        )

    def _existing_hashes(self, conn, spec: Layer, keys: list[tuple]) -> dict[tuple, str]:
        """row_hash of the stored records among ``keys``."""
        if not keys:
            return {}
        if conn.exec_driver_sql(f'SELECT 1 FROM "{spec.name}" LIMIT 1').first() is None:
            return {}
        mark = "%s" if self.postgres else "?"
        width = len(spec.key)
        cols = ", ".join(f'"{k}"' for k in spec.key)
        found: dict[tuple, str] = {}
        for prefix, last in _key_groups(keys):
            where = _key_group_where(spec, len(last), mark)
            sql = f'SELECT {cols}, row_hash FROM "{spec.name}" WHERE {where}'
            for rec in conn.exec_driver_sql(sql, (*prefix, *last)):
                found[tuple(rec[:width])] = rec[width]
        return found

    def _insert_sql(self, spec: Layer, names: list[str]) -> str:
        """A plain INSERT (append-only layers), as DBAPI SQL for executemany."""
        return self._upsert_sql(spec, names).split(" ON CONFLICT")[0]

    def _existing_full(self, conn, spec: Layer, keys: list[tuple]) -> dict[tuple, dict]:
        """Every column of the stored records among ``keys`` (for audit rows)."""
        if not keys:
            return {}
        table = self.tables[spec.name]
        wanted = list(table.c)
        found: dict[tuple, dict] = {}
        for prefix, last in _key_groups(keys):
            cond = [table.c[k] == v for k, v in zip(spec.key[:-1], prefix, strict=True)]
            cond.append(table.c[spec.key[-1]].in_(last))
            for rec in conn.execute(sa.select(*wanted).where(*cond)).mappings():
                found[tuple(rec[k] for k in spec.key)] = dict(rec)
        return found

    def _bump(self, conn: sa.Connection, layer: str, municipalities=None) -> None:
        """Count a write to ``layer``: its version, and the version of the municipalities whose
        rows it wrote (``municipalities``; None: those of this store's scope, and for an
        unscoped store or a layer without municipality every municipality's, ``layer@*``).
        Rows are bumped in one order (the layer, then the codes sorted), so two writers never
        wait on each other's rows crosswise."""
        lv = self.tables["layer_versions"]
        ins = (pg_dialect if self.postgres else sqlite_dialect).insert(lv)
        if municipalities is None:
            municipal = layer in LAYERS and LAYERS[layer].municipal
            municipalities = self.municipalities if municipal else None
        codes = sorted({str(c) for c in municipalities}) if municipalities else ["*"]
        for name in (layer, *(f"{layer}{VERSION_MARK}{code}" for code in codes)):
            conn.execute(
                ins.values(layer=name, version=1).on_conflict_do_update(
                    index_elements=["layer"], set_={"version": lv.c.version + 1}
                )
            )

    def data_version(self, layer: str | None = None) -> int:
        """A number that grows with every write (to ``layer``, or to any layer when None).

        A store scoped to some municipalities (:meth:`scoped`) counts only the writes to their
        rows and those to every municipality (a layer without municipality, an unscoped
        purge): the caches keyed by it (dashboard/data.py) stay valid when another city writes.
        """
        lv = self.tables["layer_versions"]
        stmt = sa.select(func.coalesce(func.sum(lv.c.version), 0))
        if self.municipalities is None:
            if layer:
                stmt = stmt.where(lv.c.layer == layer)
            else:
                stmt = stmt.where(lv.c.layer.not_like(f"%{VERSION_MARK}%"))
        else:
            codes = ["*", *self.municipalities]
            if layer:
                stmt = stmt.where(lv.c.layer.in_([f"{layer}{VERSION_MARK}{c}" for c in codes]))
            else:
                stmt = stmt.where(sa.or_(*(lv.c.layer.like(f"%{VERSION_MARK}{c}") for c in codes)))
        with self._read() as conn:
            return int(conn.execute(stmt).scalar())

    def data_versions(self, layers, municipalities=None) -> dict[str, int]:
        """Per municipality (``municipalities``, default this store's scope), a number that
        grows with every write to its rows of ``layers`` and to those of every municipality
        (``layer@*``: a layer without municipality, an unscoped purge) — one query.

        A cache of one city's figures read from ``layers`` keys on it: a write to another layer
        (the posts ingest writes every few seconds) or to another city leaves the key.
        """
        codes = tuple(municipalities if municipalities is not None else self.municipalities or ())
        if not codes:
            raise ValueError("data_versions: no municipalities (scope the store or name them)")
        outside = sorted(set(codes) - set(self.municipalities or codes))
        if outside:
            raise OutOfScope(f"data_versions: municipalities {outside} are out of scope")
        lv = self.tables["layer_versions"]
        names = {f"{layer}{VERSION_MARK}{c}": c for layer in layers for c in ("*", *codes)}
        stmt = sa.select(lv.c.layer, lv.c.version).where(lv.c.layer.in_(sorted(names)))
        with self._read() as conn:
            found = [(names[name], int(v)) for name, v in conn.execute(stmt)]
        every = sum(v for c, v in found if c == "*")
        out = {c: every for c in codes}
        for c, v in found:
            if c != "*":
                out[c] += v
        return out

    # -- reads -----------------------------------------------------------------------------

    def _select(self, spec: Layer, since, until, bbox, where) -> tuple[sa.Table, list]:
        table = self.tables[spec.name]
        conds = self._scope_conds(spec, table)
        if since is not None or until is not None:
            if not spec.time_column:
                raise ValueError(f"{spec.name} has no time column to filter on")
            tcol = table.c[spec.time_column]
            if since is not None:
                conds.append(tcol >= _db_time(since, self.postgres))
            if until is not None:
                conds.append(tcol < _db_time(until, self.postgres))
        if bbox is not None:
            if not spec.geometry:
                raise ValueError(f"{spec.name} has no geometry to filter on")
            minx, miny, maxx, maxy = (float(v) for v in bbox)
            if self.postgres:
                env = func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
                conds.append(table.c.geometry.op("&&")(env))
            else:
                conds += [
                    table.c.maxx >= minx,
                    table.c.minx <= maxx,
                    table.c.maxy >= miny,
                    table.c.miny <= maxy,
                ]
        for col, value in (where or {}).items():
            column = table.c[col]
            kind = spec.columns.get(col)
            if value is None:
                conds.append(column.is_(None))
            elif isinstance(value, (list, tuple, set)):
                conds.append(column.in_([_encode_value(v, kind, self.postgres) for v in value]))
            else:
                conds.append(column == _encode_value(value, kind, self.postgres))
        return table, conds

    def read(
        self,
        layer: str,
        *,
        since=None,
        until=None,
        bbox: tuple[float, float, float, float] | None = None,
        where: dict | None = None,
        columns: Iterable[str] | None = None,
        order: str | None = None,
        limit: int | None = None,
        for_update: bool = False,
    ) -> pd.DataFrame:
        """Read ``layer`` filtered in the database (time window, bounding box, equality).

        Parameters
        ----------
        since, until : time window on the layer's time column (``since`` <= t < ``until``).
        bbox : (minx, miny, maxx, maxy) in lon/lat; rows whose geometry box intersects it.
        where : column -> value (equality), list (IN; a list of more than :data:`CHUNK` values
            is read in several statements) or None (IS NULL).
        columns : a subset of columns (the key is always included).
        order : "column" or "column DESC".
        limit : at most this many rows.
        for_update : lock the rows read until the transaction this thread is in ends (a writer
            that reads, decides and writes them: the ingest runner's staff fields). PostgreSQL
            ``SELECT … FOR UPDATE``; SQLite's write transaction already holds the database.

        Returns
        -------
        GeoDataFrame in EPSG:4326 for geo layers, else DataFrame, with the layer's columns.
        """
        spec = LAYERS[layer]
        names = _read_names(spec, columns)
        stmts = []
        for part in _where_chunks(where, ordered=bool(order or limit is not None)):
            table, conds = self._select(spec, since, until, bbox, part)
            stmt = sa.select(*[table.c[n] for n in names]).where(*conds)
            if order:
                col, _, direction = order.partition(" ")
                c = table.c[col]
                stmt = stmt.order_by(c.desc() if direction.strip().upper() == "DESC" else c.asc())
            if limit is not None:
                stmt = stmt.limit(int(limit))
            if for_update and self.postgres:
                if self._joined() is None:
                    raise RuntimeError("read(for_update=True) needs a store.transaction()")
                stmt = stmt.with_for_update(of=table)
            stmts.append(stmt)
        builder = FrameBuilder(spec, names)
        with self._read() as conn:
            for stmt in stmts:
                for rows in self._chunks(conn, stmt):
                    builder.add(rows)
        if not builder.rows:
            return _empty_read(spec, names)
        return builder.frame()

    def _chunks(self, conn: sa.Connection, stmt) -> Iterator[list]:
        """The rows of ``stmt`` in chunks of :data:`DECODE_CHUNK`, as the driver gives them.

        On SQLite straight from the driver's cursor: SQLAlchemy's rows (and its parsing of each
        time text into a datetime) took more than the driver's own fetch, ~2 µs a row; the
        :class:`FrameBuilder` decodes the texts a column at a time (ISO 8601, naive = UTC) and
        0/1 as booleans. PostgreSQL's driver gives typed values: its rows are streamed by
        SQLAlchemy (``yield_per``).
        """
        if self.postgres:
            result = conn.execute(stmt, execution_options={"yield_per": DECODE_CHUNK})
            yield from result.partitions()
            return
        result = conn.execute(stmt)
        try:
            while rows := result.cursor.fetchmany(DECODE_CHUNK):
                yield rows
        finally:
            result.close()

    def read_keys(
        self, layer: str, keys: Iterable, *, columns: Iterable[str] | None = None,
        for_update: bool = False,
    ) -> pd.DataFrame:  # fmt: skip
        """The stored rows of ``layer`` with these keys (tuples in the layer's key order, or
        values of a one-column key), read through the primary-key index: ``k1 = ? AND k2 IN
        (…)`` per value of the leading key columns. ``columns`` and ``for_update`` as in
        :meth:`read`."""
        spec = LAYERS[layer]
        keys = [k if isinstance(k, tuple) else (k,) for k in keys]
        groups = list(_key_groups(keys))
        with self._read() as conn:
            groups = [
                (prefix, last)
                for prefix, last in groups
                if self._any_stored(conn, spec, prefix, last)
            ]
        parts = [
            self.read(
                layer,
                where={**dict(zip(spec.key[:-1], prefix, strict=True)), spec.key[-1]: last},
                columns=columns,
                for_update=for_update,
            )
            for prefix, last in groups
        ]
        if not parts:
            return _empty_read(spec, _read_names(spec, columns))
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    def _any_stored(self, conn, spec: Layer, prefix: tuple, last: list) -> bool:
        """Whether a row with one of these keys (``prefix`` + each of ``last``, one group of
        :func:`_key_groups`) is stored, in plain SQL: a batch of new posts looks up ~2,000 keys
        that are all new, and a read that finds nothing cost ~8 ms (statement and empty frame)
        where this costs ~1 ms. Values encoded as :meth:`read` encodes its ``where``."""
        kinds = [spec.columns.get(k) for k in spec.key]
        lead = [_encode_value(v, k, self.postgres) for v, k in zip(prefix, kinds[:-1], strict=True)]
        part = [_encode_value(v, kinds[-1], self.postgres) for v in last]
        where = _key_group_where(spec, len(last), "%s" if self.postgres else "?")
        sql = f'SELECT 1 FROM "{spec.name}" WHERE {where} LIMIT 1'
        return conn.exec_driver_sql(sql, (*lead, *part)).first() is not None

    def first_posts(self, text_fps: Iterable[str], *, since, until, columns=None) -> pd.DataFrame:
        """The first stored post of each fingerprint in ``text_fps`` posted in [since, until).

        The dedupe (ingest/dedupe.py) matches a new post against the first post of its
        fingerprint over a day: at disaster volumes that is a small part of the day's posts.
        Read through ``ix_posts_fp`` (text_fp, posted_at).
        """
        spec = LAYERS["posts"]
        table = self.tables["posts"]
        names = list(dict.fromkeys([*spec.key, *(columns or spec.columns)]))
        window = sa.and_(
            table.c.posted_at >= _db_time(since, self.postgres),
            table.c.posted_at < _db_time(until, self.postgres),
            *self._scope_conds(spec, table),
        )
        fps = sorted({f for f in text_fps if f})
        stmts = []
        for start in range(0, len(fps), 5_000):
            first = (
                sa.select(table.c.text_fp.label("fp"), func.min(table.c.posted_at).label("t"))
                .where(table.c.text_fp.in_(fps[start : start + 5_000]), window)
                .group_by(table.c.text_fp)
                .subquery()
            )
            stmts.append(
                sa.select(*[table.c[n] for n in names])
                .select_from(table)
                .join(first, sa.and_(table.c.text_fp == first.c.fp, table.c.posted_at == first.c.t))
            )
        return self._read_posts(stmts, names)

    def post_write_stamps(self, stored_since) -> dict[pd.Timestamp, int]:
        """``stored_at`` -> number of posts, for the posts written at or after ``stored_since``.

        Every upsert stamps its rows with one time in one transaction, so a reader that knows
        which stamps (and how many rows of each) it has read can tell what is new — also a
        transaction that committed after its last look although stamped before it. Read from
        the ``stored_at`` index alone.
        """
        table = self.tables["posts"]
        stmt = (
            sa.select(table.c.stored_at, func.count())
            .where(
                table.c.stored_at >= _db_time(stored_since, self.postgres),
                *self._scope_conds(LAYERS["posts"], table),
            )
            .group_by(table.c.stored_at)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return {_stamp_key(t): n for t, n in rows if t is not None}

    def posts_written_at(self, stamps: Iterable, *, columns=None) -> pd.DataFrame:
        """The posts whose ``stored_at`` is one of ``stamps`` (with ``stored_at``)."""
        spec = LAYERS["posts"]
        table = self.tables["posts"]
        names = list(dict.fromkeys([*spec.key, *(columns or spec.columns), "stored_at"]))
        values = [_db_time(t, self.postgres) for t in stamps]
        stmts = [
            sa.select(*[table.c[n] for n in names]).where(
                table.c.stored_at.in_(values[start : start + 500]), *self._scope_conds(spec, table)
            )
            for start in range(0, len(values), 500)
        ]
        return self._read_posts(stmts, names)

    def _read_posts(self, stmts: list, names: list[str]) -> pd.DataFrame:
        spec = LAYERS["posts"]
        builder = FrameBuilder(spec, names, extra={"stored_at": TIME})
        with self._read() as conn:
            for stmt in stmts:
                for rows in self._chunks(conn, stmt):
                    builder.add(rows)
        if not builder.rows:
            empty = empty_frame(spec)
            if "stored_at" in names:
                empty["stored_at"] = pd.Series([], dtype="datetime64[ns, UTC]")
            return empty[[n for n in names if n in empty.columns]]
        return builder.frame()

    def count(self, layer: str, *, since=None, until=None, bbox=None, where=None) -> int:
        """Number of rows matching the same filters as :meth:`read`."""
        spec = LAYERS[layer]
        table, conds = self._select(spec, since, until, bbox, where)
        with self._read() as conn:
            return int(
                conn.execute(sa.select(func.count()).select_from(table).where(*conds)).scalar()
            )

    def get(self, layer: str, key: tuple | str) -> dict | None:
        """One record by key as a dict of decoded values (geometry as shapely), or None."""
        spec = LAYERS[layer]
        key = key if isinstance(key, tuple) else (key,)
        where = dict(zip(spec.key, key, strict=False))
        table, conds = self._select(spec, None, None, None, where)
        names = [*spec.columns, *(["geometry"] if spec.geometry else [])]
        with self._read() as conn:
            row = conn.execute(sa.select(*[table.c[n] for n in names]).where(*conds)).first()
        return None if row is None else decode_record(spec.columns, names, row)

    # -- staff edits -----------------------------------------------------------------------

    def update(self, layer: str, key: tuple | str, changes: dict, *, actor: str) -> dict:
        """Change some fields of one record (a staff edit), audit-logged.

        Raises :class:`UnknownRecord` when the record does not exist and ``ValueError`` when the
        changed record does not fit the schema. Returns the new record.
        """
        spec = LAYERS[layer]
        key = key if isinstance(key, tuple) else (key,)
        if not actor:
            raise ValueError("a staff edit needs an actor")
        unknown = set(changes) - set(spec.columns) - {"geometry"}
        if unknown or set(changes) & set(spec.key):
            raise ValueError(f"cannot change {sorted(unknown | (set(changes) & set(spec.key)))}")
        table = self.tables[spec.name]
        with self._write() as conn:
            cond = [
                table.c[k] == _encode_value(v, spec.columns[k], self.postgres)
                for k, v in zip(spec.key, key, strict=False)
            ] + self._scope_conds(spec, table)
            names = spec.all_columns
            # FOR UPDATE: an ingest batch holding this row is waited for, and its write is read
            # (the edit is applied to it, not to what the row was before the batch)
            select = sa.select(*[table.c[n] for n in names]).where(*cond)
            if self.postgres:
                select = select.with_for_update()
            row = conn.execute(select).first()
            if row is None:
                raise UnknownRecord(f"{layer} {key} does not exist")
            current = self._decode(spec, [row], names)
            old_record = _plain(current.iloc[0].to_dict())
            new_record = {**old_record, **changes}
            frame = pd.DataFrame([new_record])
            if spec.geometry:
                frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=STORE_CRS)
            valid, rejected = validate(frame, spec)
            if len(rejected):
                raise ValueError(rejected.iloc[0]["reason"])
            names, rows = self._encode(spec, valid)
            conn.exec_driver_sql(self._upsert_sql(spec, names), rows)
            self._audit(
                conn, actor, "update", spec.name, key, old_record, _plain(valid.iloc[0].to_dict())
            )
            self._bump(conn, spec.name, _municipalities_of(spec, names, rows))
        return _plain(valid.iloc[0].to_dict())

    def delete(self, layer: str, keys: Iterable) -> int:
        """Delete the records of ``layer`` with these keys (tuples, or values of a one-column
        key); returns how many were deleted. Incident linking deletes an incident whose every
        piece went to another one (geodata/incident_relink.py)."""
        spec = LAYERS[layer]
        keys = [k if isinstance(k, tuple) else (k,) for k in keys]
        table = self.tables[spec.name]
        deleted = 0
        codes: set[str] = set()
        with self._write() as conn:
            for prefix, last in _key_groups(keys):
                cond = [table.c[k] == v for k, v in zip(spec.key[:-1], prefix, strict=True)]
                cond.append(table.c[spec.key[-1]].in_(last))
                cond += self._scope_conds(spec, table)
                stmt = sa.delete(table).where(*cond)
                if spec.municipal:  # the cities whose rows go: their data versions grow
                    found = conn.execute(stmt.returning(table.c[MUNICIPALITY])).all()
                    codes.update(str(r[0]) for r in found if r[0] is not None)
                    deleted += len(found)
                else:
                    deleted += conn.execute(stmt).rowcount
            if deleted:
                self._bump(conn, spec.name, codes if spec.municipal else None)
        return deleted


def _municipalities_of(spec: Layer, names: list[str], rows) -> set[str] | None:
    """The municipalities of encoded ``rows`` (None for a layer without municipality)."""
    if not spec.municipal or MUNICIPALITY not in names:
        return None
    i = names.index(MUNICIPALITY)
    return {str(row[i]) for row in rows if row[i] is not None}


def _key_group_where(spec: Layer, n: int, mark: str) -> str:
    """``k1 = ? AND … AND kn IN (?, …)`` for one group of :func:`_key_groups` with ``n`` last
    values (the bound values: the group's prefix, then its last values)."""
    cond = [f'"{k}" = {mark}' for k in spec.key[:-1]]
    cond.append(f'"{spec.key[-1]}" IN ({", ".join([mark] * n)})')
    return " AND ".join(cond)


def _read_names(spec: Layer, columns: Iterable[str] | None) -> list[str]:
    """The columns a read of ``columns`` (None: all) gives: the key first, geometry last."""
    names = (
        list(spec.columns)
        if columns is None
        else list(dict.fromkeys([*spec.key, *[c for c in columns if c != "geometry"]]))
    )
    if spec.geometry and (columns is None or "geometry" in columns):
        names.append("geometry")
    return names


def _empty_read(spec: Layer, names: list[str]) -> pd.DataFrame:
    """What a read of ``names`` that finds nothing gives (a copy of one made once per layer
    and columns: selecting the columns of an empty frame took ~1 ms, and the ingest's reads
    of the piece layers find nothing in most batches)."""
    key = (spec.name, tuple(names))
    template = _EMPTY_READS.get(key)
    if template is None or template[0] is not spec:
        empty = empty_frame(spec)
        template = _EMPTY_READS[key] = (spec, empty[[n for n in names if n in empty.columns]])
    return template[1].copy()


_EMPTY_READS: dict[tuple, tuple[Layer, pd.DataFrame]] = {}


def _where_chunks(where: dict | None, *, ordered: bool) -> Iterator[dict | None]:
    """``where`` as one or more conditions whose value lists hold at most :data:`CHUNK` values
    (SQLite allows 32,766 bound values to a statement): a read by a long list of keys or
    incident ids is several statements. One statement when ``ordered`` (an order or a limit
    holds over the whole result only)."""
    lists = {c: v for c, v in (where or {}).items() if isinstance(v, (list, tuple, set))}
    longest = max(lists, key=lambda c: len(lists[c]), default=None)
    if longest is None or len(lists[longest]) <= CHUNK:
        yield where
        return
    if ordered:
        raise ValueError(
            f"read: {len(lists[longest])} values of {longest!r} with an order or limit"
        )
    values = list(lists[longest])
    for start in range(0, len(values), CHUNK):
        yield {**where, longest: values[start : start + CHUNK]}


def _key_groups(keys: list[tuple]) -> Iterator[tuple[tuple, list]]:
    """Keys grouped by all but their last column, in chunks of at most CHUNK last values.

    ``k1 = ? AND k2 IN (...)`` is answered from the primary-key index on both backends;
    a row-value ``(k1, k2) IN (VALUES ...)`` makes SQLite scan the whole table.
    """
    groups: dict[tuple, list] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    for prefix, last in groups.items():
        for start in range(0, len(last), CHUNK):
            yield prefix, last[start : start + CHUNK]
