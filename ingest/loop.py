"""``run --loop``: every source on its own poll interval, no source waiting on another.

A scheduler with a deadline per source. Each fetch — the part that talks to an upstream, and so
the part that can hang — runs in a thread of its own (:class:`ingest.fetching.Fetch`); everything
else runs in the loop's thread: the cursor read, normalize and enrichment (the shared
:class:`ingest.base.IngestContext` is not thread-safe) and the write transaction, so the store
has one writer from the loop at a time. The loop wakes when a fetch ends, a source is due or a
deadline passes:

- a fetch that ended is written at once (its result reported in start order, below); fetches
  that ended together are written together (``ingest.runner.write_together``: posts of several
  sources in one transaction, their copies settled and incidents linked once), and a fetch
  waits up to ``GATHER_SECONDS`` for those of its cycle it would be written with;
- a fetch still running at its deadline (the source's ``deadline_seconds``, else
  ``BOSAI_SOURCE_DEADLINE_SECONDS``) is abandoned: the source gets a failing health row naming
  the deadline, and is started again only once the abandoned thread has ended (its records are
  dropped) — meanwhile the other sources go on polling;
- a file source read part way (more than ``chunk_rows`` records: ``source.more``) is due again
  at once, so a big file goes in batch after batch rather than one batch per ``poll_seconds``;
- a source whose upstream asked for a wait over ``BOSAI_RETRY_AFTER_CAP_SECONDS`` is marked
  backing off and not started before ``backoff_until`` (also when that was recorded by an
  earlier process).

A *cycle* is one moment at which at least one source was due and started; ``max_cycles`` stops
starting new ones after that many, and the loop returns when the started ones have ended or
been abandoned. In the first cycle the layers other sources look up (shelters, roster, shelter
status: ``ingest.runner.ORDER``) are written before the others; afterwards each source is
written when its fetch ends. Results are handed to ``on_result`` in the order the fetches
started. ``stop`` stops new starts; the fetches in progress are written (or abandoned at their
deadline) before the loop returns.

The admin room's requests (geodata/source_control.py) are read every
``source_control.POLL_SECONDS``: a paused source is not started, and a source asked to "run now"
is started at once (even paused or not due; not while backing off), its request cleared as it
starts. The loop stamps that it is listening, so the admin room can tell.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from geodata import source_control
from geodata.schema import now_utc
from ingest.base import IngestContext, Source
from ingest.fetching import Fetch, deadline_error, source_deadline
from ingest.runner import (
    ORDER,
    new_result,
    prepare_fetched,
    record_failure,
    together_group,
    write_together,
)

log = logging.getLogger(__name__)

TICK = 0.25  # the longest the loop sleeps without looking at ``stop``
# A fetch that ended waits this long for the fetches started with it that are written together
# with it (ingest.runner.write_together: posts of several sources) and are still running.
GATHER_SECONDS = 2.0


@dataclass
class _Run:
    """One run of a source in the loop: its fetch, its deadline and, once over, its result."""

    source: Source
    cycle: int
    fetch: Fetch | None = None
    since: str | None = None
    deadline: float = 0.0
    deadline_at: float = 0.0
    started: float = 0.0
    ended_at: float | None = None  # when the loop first saw its fetch done
    group: tuple | None = None  # written together with the runs of its cycle in this group
    result: dict | None = None
    rank: int = field(init=False)

    def __post_init__(self):
        self.rank = ORDER.get(self.source.layer, 9)


def run_loop(
    store,
    sources: Sequence[Source],
    *,
    stop: threading.Event,
    max_cycles: int | None = None,
    on_result: Callable[[dict], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run each source on its ``poll_seconds`` until ``stop`` is set or ``max_cycles`` pass.

    See the module docstring. Returns the number of cycles run.
    """
    context = IngestContext(store)
    ordered = sorted(sources, key=lambda s: ORDER.get(s.layer, 9))
    due = {s.name: 0.0 for s in ordered}
    running: dict[str, _Run] = {}  # fetching, or fetched and not yet written
    abandoned: dict[str, _Run] = {}  # past their deadline, thread still alive
    queue: list[_Run] = []  # in start order, until their result is handed on
    wake = threading.Event()
    control = _Control(store, clock)
    cycles = 0
    while True:
        for name in [n for n, r in abandoned.items() if not r.fetch.thread.is_alive()]:
            del abandoned[name]
        may_start = not stop.is_set() and (max_cycles is None or cycles < max_cycles)
        if may_start:
            control.refresh()
            ready = [
                s
                for s in ordered
                if s.name not in running
                and s.name not in abandoned
                and (
                    s.name in control.requested
                    or (due[s.name] <= clock() and s.name not in control.paused)
                )
            ]
            ready = [s for s in ready if not _backing_off(store, s, due, clock)]
            if ready:
                cycles += 1
                control.take(s.name for s in ready)
                for source in ready:
                    run = _start(store, source, context, cycles, wake, clock)
                    queue.append(run)
                    if run.result is None:
                        running[source.name] = run
                    else:  # the cursor could not even be read
                        due[source.name] = clock() + _poll(source)
        ended = []
        for run in [r for r in queue if r.result is None]:
            if run.fetch.done.is_set():
                if run.ended_at is None:
                    run.ended_at = clock()
                if not _waits_for_lookups(run, queue) and not _gathering(run, queue, clock):
                    ended.append(run)
            elif clock() >= run.deadline_at:
                _abandon(store, run)
                abandoned[run.source.name] = run
                del running[run.source.name]
                due[run.source.name] = _next_due(run, clock)
        _write(store, ended, context)
        for run in ended:
            del running[run.source.name]
            due[run.source.name] = _next_due(run, clock)
        while queue and queue[0].result is not None:
            result = queue.pop(0).result
            if on_result:
                on_result(result)
        if not running and not queue and not may_start:
            return cycles
        wake.wait(_sleep(due, running, abandoned, clock))
        wake.clear()


class _Control:
    """The admin's pause / run-now requests, read from the store at most every
    ``source_control.POLL_SECONDS`` (a store that cannot be read keeps the last ones known)."""

    def __init__(self, store, clock):
        self.store, self.clock = store, clock
        self.paused: set[str] = set()
        self.requested: set[str] = set()
        self._read_at: float | None = None
        self._seen_at: float | None = None

    def refresh(self) -> None:
        now = self.clock()
        if self._read_at is not None and now - self._read_at < source_control.POLL_SECONDS:
            return
        self._read_at = now
        try:
            found = source_control.controls(self.store)
            if self._seen_at is None or now - self._seen_at >= source_control.HEARTBEAT_SECONDS:
                source_control.loop_seen(self.store)
                self._seen_at = now
        except Exception:  # noqa: BLE001 - the store may be down: the runs will say so
            log.warning("could not read the source controls", exc_info=True)
            return
        self.paused = {name for name, c in found.items() if c.paused}
        self.requested = {name for name, c in found.items() if c.run_requested_at}

    def take(self, names) -> None:
        """Clear the run requests of the sources being started now."""
        wanted = self.requested & set(names)
        if not wanted:
            return
        try:
            source_control.take_run_requests(self.store, wanted)
        except Exception:  # noqa: BLE001 - taken again at the next look
            log.warning("could not clear the run requests of %s", sorted(wanted), exc_info=True)
            return
        self.requested -= wanted


def _start(store, source: Source, context, cycle: int, wake, clock) -> _Run:
    run = _Run(source, cycle, started=clock())
    run.deadline = source_deadline(source)
    run.deadline_at = run.started + run.deadline
    run.result = None
    try:
        context.refresh()
        source.bind(None, context)
        run.since = store.get_cursor(source.name)
    except Exception as exc:  # noqa: BLE001 - the store may be down: this run fails
        result = new_result(source)
        record_failure(store, source, exc, None, result)
        run.result = result
        return run
    run.group = together_group(store, source)
    run.fetch = Fetch(source, run.since, on_done=wake.set).start()
    return run


def _write(store, runs: list[_Run], context) -> None:
    """Write the fetches that have ended: together where they can be (posts of several
    sources in one transaction: ``ingest.runner.write_together``)."""
    if not runs:
        return
    started = time.perf_counter()
    batches = []
    for run in runs:
        result = new_result(run.source)
        result["cursor_before"] = run.since
        run.result = result
        try:
            records = run.fetch.outcome()
            context.refresh()
            batches.append(prepare_fetched(run.source, records, run.since, context, result))
        except Exception as exc:  # noqa: BLE001 - one failing source never stops the others
            record_failure(store, run.source, exc, run.since, result)
    write_together(store, batches, context)
    for run in runs:
        run.result["seconds"] = round(time.perf_counter() - started, 3)


def _abandon(store, run: _Run) -> None:
    run.fetch.cancelled.set()
    result = new_result(run.source)
    result["cursor_before"] = run.since
    error = deadline_error(run.source, run.deadline)
    log.warning("source %s: %s", run.source.name, error)
    record_failure(store, run.source, error, run.since, result)
    result["seconds"] = round(run.deadline, 3)
    run.result = result


def _gathering(run: _Run, queue: list[_Run], clock) -> bool:
    """Whether ``run`` waits (up to :data:`GATHER_SECONDS` after its fetch ended) for a fetch
    of its cycle still running that is written together with it: the two are then settled and
    linked once, instead of the later one settling and re-linking the other's posts again."""
    if run.group is None or clock() - run.ended_at >= GATHER_SECONDS:
        return False
    return any(
        o.cycle == run.cycle and o.group == run.group and o.result is None
        and o.fetch is not None and not o.fetch.done.is_set() and clock() < o.deadline_at
        for o in queue
    )  # fmt: skip


def _waits_for_lookups(run: _Run, queue: list[_Run]) -> bool:
    """In the first cycle, whether a source of a layer others look up is still to be written."""
    if run.cycle != 1:
        return False
    return any(o.cycle == 1 and o.rank < run.rank and o.result is None for o in queue)


def _backing_off(store, source: Source, due: dict, clock) -> bool:
    """Whether ``source`` is backing off (its next start is then put off until the end)."""
    try:
        until = store.backoff_until(source.name)
    except Exception:  # noqa: BLE001 - the store may be down: the run will say so
        return False
    if until is None:
        return False
    left = (until - pd.Timestamp(now_utc())).total_seconds()
    if left <= 0:
        return False
    due[source.name] = clock() + left
    return True


def _poll(source: Source) -> float:
    return float(getattr(source, "poll_seconds", 60.0))


def _next_due(run: _Run, clock) -> float:
    until = run.result.get("backing_off")
    if until is not None:
        left = (pd.Timestamp(until) - pd.Timestamp(now_utc())).total_seconds()
        return clock() + max(left, _poll(run.source))
    if run.result.get("ok") and getattr(run.source, "more", False):
        return clock()  # a file read part way (ingest.chunks): its next batch is due at once
    return clock() + _poll(run.source)


def _sleep(due: dict, running: dict, abandoned: dict, clock) -> float:
    """Until the next source is due or the next deadline passes (at most :data:`TICK`)."""
    now = clock()
    moments = [r.deadline_at for r in running.values() if not r.fetch.done.is_set()]
    moments += [t for name, t in due.items() if name not in running and name not in abandoned]
    wait = min(moments) - now if moments else TICK
    return max(0.0, min(wait, TICK))
