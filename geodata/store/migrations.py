"""Versioned schema migrations of the store.

A new database is created at :data:`SCHEMA_VERSION` directly from the table definitions in
:mod:`geodata.store.core`. A database made by an older version of the app gets each migration newer
than its ``schema_version`` applied in order. Every migration must keep what is stored: add
columns, tables and indexes; copy data before it drops anything.

To change the schema: change the table definition (geodata/schema.py or store.build_metadata),
then append a migration that brings an older database to the same shape, and bump
SCHEMA_VERSION. tests/test_store.py opens a database at every older version.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa


def table_columns(conn: sa.Connection, table: str) -> set[str]:
    """The names of ``table``'s columns as the database has them."""
    if conn.dialect.name == "postgresql":
        return {
            r[0]
            for r in conn.execute(
                sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                {"t": table},
            )
        }
    return {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")}


def _add_column(conn: sa.Connection, table: str, column: str, sql_type: str) -> None:
    if column not in table_columns(conn, table):
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD COLUMN "{column}" {sql_type}')


def _v2_post_assignment(conn: sa.Connection, store) -> None:
    """v2: posts can be assigned to a staff member (triage 'assign')."""
    _add_column(conn, "posts", "assigned_to", "TEXT")


def _v3_indexes(conn: sa.Connection, store) -> None:
    """v3: indexes for the town tables of the safety page and the reports feed."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_posts_town ON posts (town_code)")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_safety_resident ON safety_replies (resident_id)"
    )


def _v4_users(conn: sa.Connection, store) -> None:
    """v4: the users table of local accounts (geodata/access/accounts.py)."""
    store.tables["users"].create(conn, checkfirst=True)


def _v5_post_fingerprints(conn: sa.Connection, store) -> None:
    """v5: ``posts.text_fp`` (geodata/text/fingerprints.py), filled for the stored posts, and its index."""
    from geodata.text.fingerprints import text_digest

    _add_column(conn, "posts", "text_fp", "TEXT")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_posts_fp ON posts (text_fp, posted_at)")
    posts = store.tables["posts"]
    rows = conn.execute(
        sa.select(posts.c.platform, posts.c.post_id, posts.c.text).where(
            posts.c.text.is_not(None), posts.c.text_fp.is_(None)
        )
    ).all()
    update = (
        sa.update(posts)
        .where(posts.c.platform == sa.bindparam("p"), posts.c.post_id == sa.bindparam("i"))
        .values(text_fp=sa.bindparam("fp"))
    )
    batch = []
    for platform, post_id, text in rows:
        fp = text_digest(text)
        if fp is not None:
            batch.append({"p": platform, "i": post_id, "fp": fp})
        if len(batch) >= 10_000:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def _v6_posts_stored_index(conn: sa.Connection, store) -> None:
    """v6: an index on ``posts.stored_at`` (a long-running ingest reads what was written since)."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_posts_stored ON posts (stored_at)")


def _v7_sessions_and_keys_out_of_the_store(conn: sa.Connection, store) -> None:
    """v7: server-side sessions (created by ``create_all``); secret keys leave the ``meta`` table.

    The session signing key is dropped (sessions are random tokens now, stored hashed); the
    displacement key moves to the key file (geodata/access/keys.py) so points stay where they
    were shown. Anyone who could read the data file could read both.
    """
    from geodata.access.keys import adopt

    meta = store.tables["meta"]
    legacy = conn.execute(
        sa.select(meta.c.value).where(meta.c.key == "privacy_displacement_key")
    ).scalar()
    if legacy:
        adopt("displacement", legacy)
    conn.execute(sa.delete(meta).where(meta.c.key.in_(["privacy_displacement_key", "session_key"])))


def _v8_source_health_states(conn: sa.Connection, store) -> None:
    """v8: ``source_health.state``, ``backoff_until`` and ``stale_after_seconds``
    (geodata/health.py); the state of a stored row is read from its last success and error."""
    time_type = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    _add_column(conn, "source_health", "state", "TEXT")
    _add_column(conn, "source_health", "backoff_until", time_type)
    _add_column(conn, "source_health", "stale_after_seconds", "FLOAT")
    conn.exec_driver_sql(
        "UPDATE source_health SET state = CASE WHEN last_error_at IS NOT NULL AND "
        "(last_success_at IS NULL OR last_error_at > last_success_at) THEN 'failing' ELSE 'ok' END "
        "WHERE state IS NULL"
    )


def _v9_evacuations(conn: sa.Connection, store) -> None:
    """v9: the ``evacuations`` table (避難情報, geodata/evacuation.py) and its time index."""
    store.tables["evacuations"].create(conn, checkfirst=True)


def _v10_record(conn: sa.Connection, store) -> None:
    """v10: the HQ's record (issue 18): field reports gain ``triage`` and the damage counts of
    第4号様式 (``dmg_*``); the chronology, task_states and damage_reports tables are new.
    A stored field report keeps what it had: no triage (未確認) and no stated damage."""
    from geodata.vocab import DAMAGE_ITEMS

    _add_column(conn, "field_reports", "triage", "TEXT")
    for code in DAMAGE_ITEMS.codes:
        _add_column(conn, "field_reports", f"dmg_{code}", "BIGINT")
    for name in ("chronology", "task_states", "damage_reports"):
        store.tables[name].create(conn, checkfirst=True)


def _v11_shelter_care_and_supplies(conn: sa.Connection, store) -> None:
    """v11: 要配慮者 counts on shelter reports (``care_*``, null = not counted) and the
    ``supply_requests`` history; each shelter's current needs list becomes supply requests
    (geodata.supplies.from_needs). The reports keep their needs: nothing is dropped."""
    from geodata import supplies
    from geodata.schema import CARE_COLUMNS, SHELTER_STATUS, SUPPLY_REQUESTS, validate
    from geodata.shelters import latest_reports

    for column in CARE_COLUMNS:
        _add_column(conn, "shelter_status", column, "INTEGER")
    store.tables["supply_requests"].create(conn, checkfirst=True)
    t = store.tables["shelter_status"]
    names = ["shelter_id", "version", "reported_at", "needs", "reported_by", "source"]
    rows = conn.execute(sa.select(*[t.c[n] for n in names])).all()
    if not rows:
        return
    reports = store._decode(SHELTER_STATUS, rows, names)
    migrated = supplies.from_needs(latest_reports(reports))
    if migrated.empty:
        return
    done = {r[0] for r in conn.execute(sa.select(store.tables["supply_requests"].c.request_id))}
    migrated = migrated[~migrated["request_id"].isin(done)]
    valid, _ = validate(migrated, SUPPLY_REQUESTS)
    if len(valid):
        cols, values = store._encode(SUPPLY_REQUESTS, valid)
        conn.exec_driver_sql(store._insert_sql(SUPPLY_REQUESTS, cols), values)


def _v12_municipalities(conn: sa.Connection, store) -> None:
    """v12: every municipal layer gains ``municipality`` (several municipalities on one system).

    A stored row belongs to the municipality its own city code names (towns, boundaries,
    shelters), else to the configured ``BOSAI_MUNICIPALITY``: until now one database held one
    municipality."""
    from geodata import settings
    from geodata.schema import LAYERS, MUNICIPALITY

    code = settings.municipality()
    _add_column(conn, "users", "municipalities", "TEXT")  # null: the configured one
    for layer in LAYERS.values():
        if not layer.municipal:
            continue
        _add_column(conn, layer.name, MUNICIPALITY, "TEXT")
        own = "substr(city_code, 1, 5)" if "city_code" in layer.columns else "NULL"
        conn.execute(
            sa.text(
                f'UPDATE "{layer.name}" SET "{MUNICIPALITY}" = COALESCE({own}, :code) '
                f'WHERE "{MUNICIPALITY}" IS NULL'
            ),
            {"code": code},
        )
    ensure_row_security(conn)


def _v13_incident_members(conn: sa.Connection, store) -> None:
    """v13: an incident's pieces move from its ``members`` list (JSON, rewritten whole each time
    the incident took a piece) to the ``incident_members`` table, one row per piece with the
    piece's facts (time, urgency, located, town) read from its stored row. A piece whose row is
    gone (retention) keeps its membership with the incident's first time. Then the column goes."""
    import json

    import pandas as pd

    from geodata.incidents import _piece_columns, pieces
    from geodata.schema import INCIDENT_MEMBERS, LAYERS, MUNICIPALITY, validate
    from geodata.store.core import _key_groups

    members_table = store.tables["incident_members"]
    members_table.create(conn, checkfirst=True)
    if "members" not in table_columns(conn, "incidents"):
        return
    incidents = conn.exec_driver_sql(
        f'SELECT incident_id, members, first_seen, "{MUNICIPALITY}" FROM incidents '
        "WHERE members IS NOT NULL"
    ).all()
    owner: dict[tuple[str, str], tuple] = {}
    for incident_id, members, first_seen, municipality in incidents:
        for layer, key in json.loads(members) if isinstance(members, str) else members or []:
            owner[(layer, key)] = (incident_id, first_seen, municipality)
    facts: dict[tuple[str, str], tuple] = {}
    for name in sorted({layer for layer, _ in owner}):
        spec = LAYERS.get(name)
        if spec is None or spec.incident_role is None:
            continue
        table = store.tables[name]
        names = [*_piece_columns(name), *(["geometry"] if spec.geometry else [])]
        wanted = [tuple(key.split(":", len(spec.key) - 1)) for layer, key in owner if layer == name]
        for prefix, last in _key_groups([k for k in wanted if len(k) == len(spec.key)]):
            cond = [table.c[k] == v for k, v in zip(spec.key[:-1], prefix, strict=True)]
            cond.append(table.c[spec.key[-1]].in_(last))
            rows = conn.execute(sa.select(*[table.c[n] for n in names]).where(*cond)).all()
            frame = store._decode(spec, rows, names)
            for _, key, _, when, urgency, point, town in pieces(name, frame, linked=True):
                facts[(name, key)] = (when, urgency, point is not None, town)
    rows = []
    for (layer, key), (incident_id, first_seen, municipality) in owner.items():
        when, urgency, located, town = facts.get((layer, key), (first_seen, None, False, None))
        rows.append({"layer": layer, "member": key, "incident_id": incident_id, "seen_at": when,
                     "urgency": urgency, "located": located, "town_code": town,
                     MUNICIPALITY: municipality})  # fmt: skip
    if rows:
        frame = pd.DataFrame(rows)
        frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True, format="mixed")
        valid, _ = validate(frame, INCIDENT_MEMBERS)
        cols, values = store._encode(INCIDENT_MEMBERS, valid)
        for start in range(0, len(values), 10_000):
            conn.exec_driver_sql(
                store._insert_sql(INCIDENT_MEMBERS, cols), values[start : start + 10_000]
            )
    conn.exec_driver_sql("ALTER TABLE incidents DROP COLUMN members")


def _v14_incident_members_summary(conn: sa.Connection, store) -> None:
    """v14: the member rows of an incident before a time are summed up from one index (every
    batch re-linking cuts the incidents it touches back to their pieces before its earliest
    row: 2-3x less time than reading each member row for its facts)."""
    from geodata.store.tables import MEMBER_SUMMARY_COLUMNS

    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_incident_members_incident")
    columns = ", ".join(f'"{c}"' for c in MEMBER_SUMMARY_COLUMNS)
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS ix_incident_members_summary ON incident_members ({columns})"
    )


def _v15_posts_stored_city(conn: sa.Connection, store) -> None:
    """v15: the posts' write stamps are counted per city from the index alone (every ingest
    batch counts the stamps of the last minutes of its city: with the stamp alone indexed, each
    row was looked up for its municipality — 3.5x slower on a 100k store)."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_posts_stored")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_posts_stored_city ON posts (stored_at, municipality)"
    )


ROW_SECURITY_POLICY = "bosai_municipality"


def ensure_row_security(conn: sa.Connection) -> None:
    """PostgreSQL: row-level security on the personal layers (``Layer.row_security``).

    A row is visible and writable only in a transaction whose ``bosai.municipalities`` setting
    (set by the store at the start of each transaction, docs/security.md) names its municipality,
    or is ``*`` (every municipality: ingest and admin commands). A connection that set nothing
    sees none. ``FORCE``: the app's role usually owns the tables, and owners are otherwise
    exempt. Superusers always are: the app must not connect as one."""
    if conn.dialect.name != "postgresql":
        return
    from geodata.schema import LAYERS, MUNICIPALITY

    scope = "current_setting('bosai.municipalities', true)"
    rule = f"({scope} = '*' OR \"{MUNICIPALITY}\" = ANY (string_to_array({scope}, ',')))"
    for layer in LAYERS.values():
        if not layer.row_security:
            continue
        table = f'"{layer.name}"'
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS {ROW_SECURITY_POLICY} ON {table}")
        conn.exec_driver_sql(
            f"CREATE POLICY {ROW_SECURITY_POLICY} ON {table} USING {rule} WITH CHECK {rule}"
        )


def ensure_postgis(conn: sa.Connection) -> None:
    """Make sure the PostGIS extension is there; a one-line StoreSetupError says what a DBA runs.

    Creating the extension needs a superuser (PostGIS is not a trusted extension), so a database
    owned by an ordinary role gets it from its DBA once.
    """
    from geodata.store.errors import StoreSetupError

    if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").first():
        return
    available = conn.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
    ).first()
    database, role = conn.exec_driver_sql("SELECT current_database(), current_user").one()
    if not available:
        raise StoreSetupError(
            f'PostGIS is not installed on the server of database "{database}": install it '
            "(Debian: apt-get install postgresql-NN-postgis-3), then a DBA runs: "
            f'psql -d {database} -c "CREATE EXTENSION postgis;"'
        )
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        raise StoreSetupError(
            f'PostGIS is not enabled in database "{database}" and role "{role}" may not create '
            f'it: a DBA must run  psql -d {database} -c "CREATE EXTENSION postgis;"'
        ) from exc
    savepoint.commit()


MIGRATIONS: list[tuple[int, Callable]] = [
    (2, _v2_post_assignment),
    (3, _v3_indexes),
    (4, _v4_users),
    (5, _v5_post_fingerprints),
    (6, _v6_posts_stored_index),
    (7, _v7_sessions_and_keys_out_of_the_store),
    (8, _v8_source_health_states),
    (9, _v9_evacuations),
    (10, _v10_record),
    (11, _v11_shelter_care_and_supplies),
    (12, _v12_municipalities),
    (13, _v13_incident_members),
    (14, _v14_incident_members_summary),
    (15, _v15_posts_stored_city),
]
SCHEMA_VERSION = 15
