"""Fetching a source within a deadline: the fetch runs in a thread of its own, abandoned when
the deadline passes.

Python cannot stop a thread, so an abandoned fetch is left to end by itself (its requests have
their own deadline, ``BOSAI_HTTP_DEADLINE_SECONDS``, geodata/http.py; it stops paging at the next
record) and whatever it still returns is dropped: only the thread that asked writes, and never an
abandoned fetch's records. ingest/runner.py runs one fetch this way; ingest/loop.py runs the
fetches of several sources side by side.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from geodata import settings
from ingest.base import Source


class SourceDeadline(RuntimeError):
    """A source's fetch did not finish within its deadline (it was abandoned)."""


def source_deadline(source) -> float:
    """The seconds one run of ``source`` may spend fetching: its ``deadline_seconds``
    (sources.toml), else ``BOSAI_SOURCE_DEADLINE_SECONDS``."""
    own = getattr(source, "deadline_seconds", None)
    return float(own) if own else settings.number("BOSAI_SOURCE_DEADLINE_SECONDS")


def fetch_records(source: Source, since, cancelled: threading.Event | None = None) -> list:
    """The records of one fetch (step 2); stops early when ``cancelled`` is set."""
    source.fetch_rejections = []
    records = []
    for record in source.fetch(since):
        if cancelled is not None and cancelled.is_set():
            raise SourceDeadline("abandoned")
        records.append(record)
    return records


class Fetch:
    """One fetch running in a thread of its own; ``done`` is set when it has ended."""

    def __init__(self, source: Source, since, on_done: Callable[[], None] | None = None):
        self.source, self.since = source, since
        self.records: list | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.cancelled = threading.Event()
        self._on_done = on_done
        self.thread = threading.Thread(target=self._run, name=f"fetch:{source.name}", daemon=True)

    def start(self) -> Fetch:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.records = fetch_records(self.source, self.since, self.cancelled)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that writes
            self.error = exc
        finally:
            self.done.set()
            if self._on_done is not None:
                self._on_done()

    def outcome(self) -> list:
        """The records, or the fetch's exception raised again."""
        if self.error is not None:
            raise self.error
        return self.records or []


def deadline_error(source: Source, seconds: float) -> SourceDeadline:
    """The error of a fetch abandoned at its deadline (names the deadline and its setting)."""
    return SourceDeadline(
        f"the fetch did not finish within the source's deadline of {seconds:g} s "
        "(deadline_seconds / BOSAI_SOURCE_DEADLINE_SECONDS): abandoned, nothing written"
    )


def fetch_within(source: Source, since, seconds: float) -> list:
    """:func:`fetch_records` in a thread, abandoned after ``seconds`` (SourceDeadline)."""
    fetch = Fetch(source, since).start()
    if not fetch.done.wait(seconds):
        fetch.cancelled.set()
        raise deadline_error(source, seconds)
    return fetch.outcome()
