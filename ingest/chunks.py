"""One read of a source as several batches: a big file goes in with bounded memory.

A file source hands out ``chunk_rows`` records per ``fetch`` and says whether more are left
(``source.more``); :func:`run_in_chunks` runs :func:`ingest.runner.run_source` until none are.
Each batch is its own transaction and commits its cursor (``<digest>#<records done>``), so a
load killed part way keeps the batches it committed and the next run goes on from the first
record not committed. Sources that do not chunk run as one batch.
"""

from __future__ import annotations

from ingest.base import IngestContext
from ingest.runner import ORDER, run_source

COUNTS = ("fetched", "inserted", "updated", "unchanged", "rejected")


def run_in_chunks(store, source, session=None, *, context=None, from_start: bool = False) -> dict:
    """Run ``source`` batch after batch until its read is complete (or a batch fails).

    Parameters
    ----------
    store, source, session, context : as :func:`ingest.runner.run_source`.
    from_start : ignore the stored cursor for the first batch (the others go on from the
        cursor the one before committed).

    Returns
    -------
    dict : the last batch's result with the counts summed over the batches, ``chunks`` (how many
    ran), and the ``warnings`` and ``unmatched`` of every batch.
    """
    total = {k: 0 for k in COUNTS}
    warnings: list[str] = []
    unmatched: list[str] = []
    chunks = 0
    while True:
        result = run_source(store, source, session, context=context, from_start=from_start)
        chunks += 1
        from_start = False
        for key in COUNTS:
            total[key] += int(result.get(key) or 0)
        warnings += result.get("warnings") or []
        unmatched += result.get("unmatched") or []
        if not result["ok"] or not getattr(source, "more", False):
            break
    result.update(total, chunks=chunks)
    if warnings:
        result["warnings"] = warnings
    if "unmatched" in result:
        result["unmatched"] = sorted(set(unmatched))
    return result


def run_all_in_chunks(store, sources, session=None, *, context=None, from_start: bool = False):
    """:func:`ingest.runner.run_all` with every source read to its end (:func:`run_in_chunks`)."""
    context = context or IngestContext(store)
    ordered = sorted(sources, key=lambda s: ORDER.get(s.layer, 9))
    return [
        run_in_chunks(store, s, session, context=context, from_start=from_start) for s in ordered
    ]
