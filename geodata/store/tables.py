"""Table definitions of the store for SQLite and PostgreSQL + PostGIS."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.types import UserDefinedType

from geodata.schema import BOOL, FLOAT, INT, JSON, LAYERS, STR, TIME

# An incident's member rows before a time, summed up (geodata/incident_relink.py ``_summed``:
# count, first, last, highest urgency, any located, any town) from the index alone.
MEMBER_SUMMARY_COLUMNS = ("incident_id", "seen_at", "layer", "urgency", "located", "town_code",
                          "municipality")  # fmt: skip


class _PostGISGeometry(UserDefinedType):
    """PostGIS geometry column that speaks WKB to Python."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "geometry(Geometry,4326)"

    def bind_expression(self, bindvalue):
        return func.ST_GeomFromWKB(sa.cast(bindvalue, pg_dialect.BYTEA), 4326)

    def column_expression(self, col):
        return func.ST_AsBinary(col)


def _sa_type(kind: str):
    return {
        STR: sa.Text(),
        INT: sa.BigInteger(),
        FLOAT: sa.Float(),
        BOOL: sa.Boolean(),
        TIME: sa.DateTime(timezone=True),
        JSON: sa.Text(),
    }[kind]


def build_metadata(postgres: bool) -> sa.MetaData:
    """The tables of every layer plus rejections, audit_log, layer_versions, meta, users, sessions."""
    md = sa.MetaData()
    for layer in LAYERS.values():
        cols = [
            sa.Column(name, _sa_type(kind), primary_key=name in layer.key)
            for name, kind in layer.columns.items()
        ]
        if layer.geometry:
            cols.append(sa.Column("geometry", _PostGISGeometry() if postgres else sa.LargeBinary()))
            cols += [sa.Column(c, sa.Float()) for c in ("minx", "miny", "maxx", "maxy")]
        cols += [sa.Column("row_hash", sa.Text()), sa.Column("stored_at", sa.DateTime(True))]
        if layer.fingerprint:  # geodata/text/fingerprints.py: copies share it
            cols.append(sa.Column("text_fp", sa.Text()))
        table = sa.Table(layer.name, md, *cols)
        if layer.time_column:
            sa.Index(f"ix_{layer.name}_{layer.time_column}", table.c[layer.time_column])
        if layer.geometry:
            if postgres:
                sa.Index(f"ix_{layer.name}_geom", table.c.geometry, postgresql_using="gist")
            else:
                sa.Index(f"ix_{layer.name}_bbox", table.c.minx, table.c.miny)
    sa.Index(
        "ux_shelter_status_source",
        md.tables["shelter_status"].c.source,
        md.tables["shelter_status"].c.source_id,
        unique=True,
        sqlite_where=sa.text("source_id IS NOT NULL"),
        postgresql_where=sa.text("source_id IS NOT NULL"),
    )
    sa.Index("ix_posts_town", md.tables["posts"].c.town_code)
    sa.Index("ix_posts_fp", md.tables["posts"].c.text_fp, md.tables["posts"].c.posted_at)
    # the posts written since a time, per write stamp and city (the dedupe's history, the feed)
    sa.Index("ix_posts_stored_city", md.tables["posts"].c.stored_at,
             md.tables["posts"].c.municipality)  # fmt: skip
    sa.Index("ix_safety_resident", md.tables["safety_replies"].c.resident_id)
    members = md.tables["incident_members"]
    sa.Index("ix_incident_members_summary", *[members.c[c] for c in MEMBER_SUMMARY_COLUMNS])
    serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        "rejections",
        md,
        sa.Column("id", serial, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text()),
        sa.Column("layer", sa.Text()),
        sa.Column("raw", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("at", sa.DateTime(True), index=True),
    )
    sa.Table(
        "audit_log",
        md,
        sa.Column("id", serial, primary_key=True, autoincrement=True),
        sa.Column("who", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("layer", sa.Text()),
        sa.Column("record_key", sa.Text()),
        sa.Column("old", sa.Text()),
        sa.Column("new", sa.Text()),
        sa.Column("at", sa.DateTime(True), index=True),
    )
    sa.Table(
        "layer_versions",
        md,
        sa.Column("layer", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    sa.Table(
        "meta",
        md,
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text()),
    )
    # Local accounts (geodata/access/accounts.py): argon2id hashes, lock-out, shelters of shelter_staff.
    sa.Table(
        "users",
        md,
        sa.Column("username", sa.Text(), primary_key=True),
        sa.Column("display_name", sa.Text()),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text()),
        sa.Column("disabled", sa.Boolean(), nullable=False, default=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, default=0),
        sa.Column("locked_until", sa.DateTime(True)),
        sa.Column("shelter_ids", sa.Text()),  # JSON list
        sa.Column("municipalities", sa.Text()),  # JSON list of 5-digit codes; [] = the configured
        sa.Column("created_at", sa.DateTime(True)),
        sa.Column("updated_at", sa.DateTime(True)),
    )
    # Login sessions (geodata/access/sessions.py): the cookie carries a random token, stored here
    # only as its SHA-256; revoked by logout, password change, disable and "sign out everywhere".
    sessions = sa.Table(
        "sessions",
        md,
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("token_hash", sa.Text(), unique=True),
        sa.Column("handoff_hash", sa.Text(), unique=True),
        sa.Column("handoff_until", sa.DateTime(True)),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(True), nullable=False),
        sa.Column("expires_at", sa.DateTime(True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(True)),
        sa.Column("revoked_reason", sa.Text()),
    )
    sa.Index("ix_sessions_username", sessions.c.username)
    # "Sign out everywhere" for identities whose cookie is not ours (single sign-on): a login
    # issued before not_before is refused. username "*" stands for everyone.
    sa.Table(
        "session_cutoffs",
        md,
        sa.Column("username", sa.Text(), primary_key=True),
        sa.Column("not_before", sa.DateTime(True), nullable=False),
    )
    return md
