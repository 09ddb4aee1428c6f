"""Source control from the admin room: pause, resume, "run now" — requests the ingest loop reads.

The dashboard and the ingest loop (``python -m ingest run --loop``, ingest/loop.py) are separate
processes, often on separate hosts sharing a PostGIS store: the dashboard cannot signal the loop.
So a request is a row in the store (the ``meta`` table, one key ``source_control:<name>`` per
source, JSON), written by the admin and read by the loop every :data:`POLL_SECONDS`:

- **paused**: the loop starts no new run of the source (a run in progress finishes);
- **run now**: the loop starts the source at its next look, even when it is not due or is
  paused (one run), and clears the request when it starts it. A request made while no loop runs
  stays stored and is honoured when a loop starts.

The loop also stamps ``ingest_loop:seen_at`` (at most every :data:`HEARTBEAT_SECONDS`), so the
admin room can say whether a loop is listening or the request waits for the next one.
Every change is audit-logged (``sources:pause``, ``sources:resume``, ``sources:run-now``).

Examples
--------
>>> SourceControl("mastodon").idle
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import pandas as pd
import sqlalchemy as sa

from geodata.schema import now_utc

PREFIX = "source_control:"
LOOP_KEY = "ingest_loop:seen_at"
POLL_SECONDS = 1.0  # how often the loop reads the requests
HEARTBEAT_SECONDS = 15.0  # how often the loop stamps that it is alive
LOOP_GONE_AFTER = pd.Timedelta(minutes=2)  # no stamp for longer: no loop is listening
AUDIT_LAYER = "sources"


@dataclass(frozen=True)
class SourceControl:
    """What the admin asked of one source (times are ISO 8601 UTC strings)."""

    source: str
    paused: bool = False
    paused_by: str | None = None
    paused_at: str | None = None
    run_requested_by: str | None = None
    run_requested_at: str | None = None

    @property
    def idle(self) -> bool:
        """Nothing asked: not paused, no run requested."""
        return not self.paused and self.run_requested_at is None


def _meta(store) -> sa.Table:
    return store.tables["meta"]


def _load(value: str | None, source: str) -> SourceControl:
    try:
        data = json.loads(value or "{}")
    except ValueError:
        data = {}
    fields = {k: data.get(k) for k in SourceControl.__dataclass_fields__ if k != "source"}
    fields["paused"] = bool(fields.get("paused"))
    return SourceControl(source=source, **fields)


def _get(conn, store, source: str, lock: bool = False) -> SourceControl:
    t = _meta(store)
    stmt = sa.select(t.c.value).where(t.c.key == PREFIX + source)
    if lock and store.postgres:
        stmt = stmt.with_for_update()
    return _load(conn.execute(stmt).scalar(), source)


def _put(conn, store, control: SourceControl) -> None:
    t = _meta(store)
    value = {k: v for k, v in asdict(control).items() if k != "source"}
    conn.execute(sa.delete(t).where(t.c.key == PREFIX + control.source))
    conn.execute(sa.insert(t).values(key=PREFIX + control.source, value=json.dumps(value)))


def _source_name(source: str) -> str:
    name = (source or "").strip()
    if not name or len(name) > 200:
        raise ValueError(f"invalid source name {source!r}")
    return name


def _change(store, source: str, actor: str, action: str, **changes) -> SourceControl:
    name = _source_name(source)
    with store._write() as conn:  # BEGIN IMMEDIATE on SQLite, the row locked on PostgreSQL
        old = _get(conn, store, name, lock=True)
        new = SourceControl(**{**asdict(old), **changes})
        _put(conn, store, new)
    store.log_action(actor, f"sources:{action}", AUDIT_LAYER, {"source": name})
    return new


def _now_iso() -> str:
    return pd.Timestamp(now_utc()).isoformat()


def pause(store, source: str, *, actor: str) -> SourceControl:
    """Pause ``source``: the ingest loop starts no new run of it until :func:`resume`."""
    return _change(
        store, source, actor, "pause", paused=True, paused_by=actor, paused_at=_now_iso()
    )


def resume(store, source: str, *, actor: str) -> SourceControl:
    """Resume a paused source (it runs on its poll interval again)."""
    return _change(store, source, actor, "resume", paused=False, paused_by=None, paused_at=None)


def request_run(store, source: str, *, actor: str) -> SourceControl:
    """Ask the ingest loop to run ``source`` at its next look (stored until a loop takes it)."""
    return _change(
        store, source, actor, "run-now", run_requested_by=actor, run_requested_at=_now_iso()
    )


def controls(store) -> dict[str, SourceControl]:
    """Every source something was asked of, by name."""
    t = _meta(store)
    with store._read() as conn:
        rows = conn.execute(sa.select(t.c.key, t.c.value).where(t.c.key.like(PREFIX + "%"))).all()
    out = {}
    for key, value in rows:
        name = key[len(PREFIX) :]
        out[name] = _load(value, name)
    return out


def take_run_requests(store, names) -> set[str]:
    """Clear the run requests of ``names`` (the loop is starting them); returns those that had one."""
    taken = set()
    with store._write() as conn:
        for name in sorted(set(names)):
            control = _get(conn, store, name, lock=True)
            if control.run_requested_at is None:
                continue
            _put(conn, store, SourceControl(**{**asdict(control), "run_requested_at": None,
                                               "run_requested_by": None}))  # fmt: skip
            taken.add(name)
    return taken


def loop_seen(store) -> None:
    """Stamp that an ingest loop is reading the requests now."""
    t = _meta(store)
    with store._write() as conn:
        conn.execute(sa.delete(t).where(t.c.key == LOOP_KEY))
        conn.execute(sa.insert(t).values(key=LOOP_KEY, value=_now_iso()))


def loop_last_seen(store) -> pd.Timestamp | None:
    """When an ingest loop last read the requests (UTC), or None if never."""
    t = _meta(store)
    with store._read() as conn:
        value = conn.execute(sa.select(t.c.value).where(t.c.key == LOOP_KEY)).scalar()
    try:
        return None if not value else pd.Timestamp(value).tz_convert("UTC")
    except (TypeError, ValueError):
        return None


def loop_listening(store, now=None) -> bool:
    """Whether an ingest loop stamped itself within :data:`LOOP_GONE_AFTER`."""
    seen = loop_last_seen(store)
    now = pd.Timestamp(now if now is not None else now_utc())
    return seen is not None and now - seen <= LOOP_GONE_AFTER
