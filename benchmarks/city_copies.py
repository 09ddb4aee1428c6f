"""Synthetic copies of one city, for benchmarks of several municipalities on one PostGIS.

The area benchmark (``benchmarks/bench_area.py``) needs 30 municipalities of 100k posts each on
one database. They are made from one real city's store — the 調布市 reference layers and a
scenario's drill as the ingest runner stored it (posts, incidents, roster, replies, shelter
status, field reports, chronology) — in two steps:

1. :func:`copy_store` copies every municipal layer of a store (the SQLite scenario store) into a
   PostGIS store, as stored (the store's own encoding; no ingest run again);
2. :func:`make_cities` turns the rows of that source municipality into ``N`` synthetic ones *in
   the database*: one ``INSERT … SELECT`` per table for all cities, so 30 × 100k posts take
   seconds, not 30 ingest runs. Each copy gets

   - its own code (:func:`synthetic_codes`: 13901, 13902, … — 東京都's prefix, which the
     accounts require of a municipality, and a city number in the 900s, which no JIS code uses:
     wards are 1xx, cities 2xx, towns and villages 3xx–7xx) in ``municipality`` and in the
     codes derived from it
     (``city_code``; ``town_code`` keeps its 6 town digits after the new city code) and a
     synthetic name 「合成NN市」 in ``city_name``;
   - its geometry shifted (:func:`offset`: a grid of cells wider than the city, so no two
     copies overlap), the bounding-box columns with it;
   - every key made unique: ids prefixed with ``<code>-`` (``post_id``, ``incident_id``,
     ``shelter_id``, ``resident_id``, ``source_id``, …), and the references to them rewritten
     alike (``posts.repost_of`` and ``incident_members.member`` name posts as
     ``platform:post_id``),
     so a copy's reposts, incidents and shelter reports point into the same copy.

   The source rows are then deleted (``keep_source=False``), the tables' data versions bumped
   and the tables analysed.

Nothing here is real data: the copies live in a throwaway benchmark database, and nothing of
them is committed.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from geodata.schema import LAYERS, MUNICIPALITY

FIRST_CODE = 13901
MAX_COPIES = 99  # 13901 … 13999
# A cell of the grid the copies are laid on (degrees): wider than 調布市 (0.076° × 0.056°).
CELL = (0.1, 0.08)
COLUMNS_PER_ROW = 6

# Columns holding an id (a key, or a reference to one) that must differ between copies: prefixed
# with "<code>-" (NULL stays NULL). By name, for every table that has them.
ID_COLUMNS = (
    "shelter_id", "resident_id", "incident_id", "post_id", "source_id", "id", "entry_id",
    "order_id", "request_id", "campaign_id", "sender_id", "chat_user_id", "event_key",
    "corrects", "message_id", "station_id",
)  # fmt: skip
# Columns naming records as "<first part>:<key>" (posts as platform:post_id, field reports as
# source:source_id): the key after the first colon gets the prefix.
MEMBER_COLUMNS = ("repost_of", "member")
# Whole-number keys (damage reports' 第n報): the copy's code times this is added.
NUMBER_KEYS = {"number": 1_000_000}
BOX = {"minx": 0, "maxx": 0, "miny": 1, "maxy": 1}


def synthetic_codes(n: int) -> list[str]:
    """``n`` synthetic municipality codes: 13901, 13902, … (never a real JIS code)."""
    if not 0 < n <= MAX_COPIES:
        raise ValueError(f"1 to {MAX_COPIES} copies, not {n}")
    return [str(FIRST_CODE + i) for i in range(n)]


def city_name(i: int) -> str:
    """The synthetic name of copy ``i`` (0-based): 「合成01市」."""
    return f"合成{i + 1:02d}市"


def offset(i: int) -> tuple[float, float]:
    """(dx, dy) in degrees of copy ``i`` (0-based): a grid of :data:`CELL` cells, the first
    copy in place."""
    return ((i % COLUMNS_PER_ROW) * CELL[0], (i // COLUMNS_PER_ROW) * CELL[1])


def copy_store(src_url: str, dst_url: str, log=print) -> dict[str, int]:
    """Copy every municipal layer of the store ``src_url`` into the (empty) store ``dst_url``
    as stored: read through the source store, written with the destination store's own encoding
    (row hashes, bounding boxes, text fingerprints) as plain INSERTs in one transaction per
    layer. Returns rows per layer."""
    from geodata.store.core import CHUNK, open_store

    src, dst = open_store(src_url), open_store(dst_url)
    counts = {}
    try:
        for name, spec in LAYERS.items():
            if not spec.municipal or src.count(name) == 0:
                continue
            started = time.perf_counter()
            frame = src.read(name)
            # The store's own encoding and INSERT (as its migrations write rows): the rows are
            # the source store's, valid already; no upsert lookups, no ingest.
            names, rows = dst._encode(spec, frame)
            sql = dst._insert_sql(spec, names)
            with dst._write() as conn:
                for start in range(0, len(rows), CHUNK):
                    conn.exec_driver_sql(sql, rows[start : start + CHUNK])
                dst._bump(conn, name)
            counts[name] = len(rows)
            log(f"  copied {len(rows):,} {name} in {time.perf_counter() - started:.1f} s")
    finally:
        src.dispose()
        dst.dispose()
    return counts


def _columns(conn, table: str) -> list[tuple[str, str]]:
    """(name, data type) of the columns of ``table``."""
    rows = conn.exec_driver_sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [(r[0], r[1]) for r in rows]


def _expression(column: str, kind: str) -> str:
    """The SELECT expression of ``column`` (of SQL type ``kind``) in the copy (the copy's
    values are ``c.code``, ``c.name``, ``c.dx``, ``c.dy``)."""
    q = f't."{column}"'
    if column in NUMBER_KEYS and kind in ("bigint", "integer"):
        return f"{q} + c.code::bigint * {NUMBER_KEYS[column]}"
    if kind != "text" and column not in ("geometry", *BOX):
        return q  # numbers, times, booleans: as they are
    if column == MUNICIPALITY:
        return "c.code"
    if column == "city_code":
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE c.code || substr({q}, 6) END"
    if column == "town_code":
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE c.code || substr({q}, 6) END"
    if column == "city_name":
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE c.name END"
    if column == "geometry":
        return f"ST_Translate({q}, c.dx, c.dy)"
    if column in BOX:
        return f"{q} + c.{'dx' if BOX[column] == 0 else 'dy'}"
    if column in ID_COLUMNS:
        return f"CASE WHEN {q} IS NULL THEN NULL ELSE c.code || '-' || {q} END"
    if column in MEMBER_COLUMNS:
        return f"regexp_replace({q}, '^([^:]+):', '\\1:' || c.code || '-')"
    return q


def make_cities(url: str, source: str, codes: list[str], keep_source: bool = False,
                log=print) -> dict:  # fmt: skip
    """Copy municipality ``source``'s rows of every municipal table of the PostGIS store
    ``url`` to the municipalities ``codes`` (see the module docstring); returns
    ``{"seconds", "rows": {table: rows per copy}}``."""
    if not codes:
        raise ValueError("no municipality to make")
    if source in codes:
        raise ValueError(f"the source municipality {source} cannot be one of the copies")
    engine = sa.create_engine(url)
    started = time.perf_counter()
    per_copy: dict[str, int] = {}
    cities = ", ".join(
        f"('{code}', '{city_name(i)}', {offset(i)[0]}::float8, {offset(i)[1]}::float8)"
        for i, code in enumerate(codes)
    )
    try:
        with engine.begin() as conn:
            # RLS: the personal tables show a transaction its scope's rows only ("*": all).
            conn.exec_driver_sql("SELECT set_config('bosai.municipalities', '*', true)")
            for name, spec in LAYERS.items():
                if not spec.municipal:
                    continue
                have = conn.exec_driver_sql(
                    f'SELECT count(*) FROM "{name}" WHERE "{MUNICIPALITY}" = %s', (source,)
                ).scalar()
                if not have:
                    continue
                t0 = time.perf_counter()
                cols = _columns(conn, name)
                select = ", ".join(_expression(c, kind) for c, kind in cols)
                names = ", ".join(f'"{c}"' for c, _ in cols)
                conn.exec_driver_sql(
                    f'INSERT INTO "{name}" ({names}) SELECT {select} FROM "{name}" AS t '
                    f"CROSS JOIN (VALUES {cities}) AS c(code, name, dx, dy) "
                    f'WHERE t."{MUNICIPALITY}" = %s',
                    (source,),
                )
                if not keep_source:
                    conn.exec_driver_sql(
                        f'DELETE FROM "{name}" WHERE "{MUNICIPALITY}" = %s', (source,)
                    )
                for version in (name, f"{name}@*"):  # the layer's and every city's version
                    conn.exec_driver_sql(
                        "INSERT INTO layer_versions (layer, version) VALUES (%s, 1) ON CONFLICT "
                        "(layer) DO UPDATE SET version = layer_versions.version + 1",
                        (version,),
                    )
                per_copy[name] = int(have)
                log(
                    f"  {name}: {have:,} rows × {len(codes)} copies in "
                    f"{time.perf_counter() - t0:.1f} s"
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in per_copy:
                conn.exec_driver_sql(f'VACUUM ANALYZE "{name}"')
    finally:
        engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": per_copy}
