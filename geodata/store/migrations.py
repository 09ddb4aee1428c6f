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


def _add_column(conn: sa.Connection, table: str, column: str, sql_type: str) -> None:
    if conn.dialect.name == "postgresql":
        existing = {
            r[0]
            for r in conn.execute(
                sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                {"t": table},
            )
        }
    else:
        existing = {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")}
    if column not in existing:
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


MIGRATIONS: list[tuple[int, Callable]] = [
    (2, _v2_post_assignment),
    (3, _v3_indexes),
    (4, _v4_users),
    (5, _v5_post_fingerprints),
    (6, _v6_posts_stored_index),
]
SCHEMA_VERSION = 6
