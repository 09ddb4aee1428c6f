"""Running sources: one batch of a source, or all sources once (``run --loop``: ingest/loop.py).

One batch (:func:`run_source`):

1. read the source's cursor from ``source_health`` (a source backing off — its upstream asked
   for a long wait, ``source_health.backoff_until`` — is skipped until then);
2. ``fetch(cursor)`` — the whole batch is read before anything is written, so a failure part
   way (HTTP 500, timeout, malformed JSON, a truncated page) writes nothing. With a deadline
   (``run`` and ``run --loop``: the source's ``deadline_seconds``, else
   ``BOSAI_SOURCE_DEADLINE_SECONDS``) the fetch runs in a thread of its own and is abandoned
   when the deadline passes: the run fails with :class:`ingest.fetching.SourceDeadline` and the
   thread's records are never written;
3. ``normalize`` — bad records become rejections, the batch goes on (so does a page cut to the
   ``limit`` it was asked for: ``source.fetch_rejections``);
4. the layer's enrichment (``Layer.enrich``; posts: geocode with the gazetteer and classify
   the whole batch at once);

then, in ONE store transaction (:func:`write_batch`) — a killed or failing run leaves none of it:

5. take the ``incidents`` lock (layers with incident pieces), then keep what staff changed on
   stored rows (``Layer.staff_fields``: triage, assignee, incident, a manual position, a manual
   roster match), the rows read locked until the commit — a re-fetched record never undoes a
   staff edit, also one saved while the batch is written (tests/test_staff_race.py);
6. settle copies (``repost_of``, ingest/settle.py, with the context's
   :class:`ingest.dedupe.CopyHistory`: the stored posts of the hours before the batch, kept
   between batches and brought up to date from the store's writes) and link incident pieces
   (``Layer.incident_role``: posts, safety replies, field reports) from the batch's earliest row
   on, under the lock (geodata/incident_relink.py), and write the incidents and stored rows they
   change: several processes make what one makes (tests/test_parallel_ingest.py);
7. write the rows as the layer declares (``Layer.write``: merge on the key, or append to shelter
   status's history), then the new rejections;
8. ``record_health(ok=True, cursor=…)``: the cursor moves only with the rows it covers.

Batches fetched at the same moment (``run --loop``: fetches that ended together; ``run_all``)
go through steps 5-8 together when they are of one layer with incident pieces and one
municipality (:func:`write_together`): one transaction, one settling of copies and one linking
for all their rows, each source's rows, rejections, health and cursor its own. If it fails,
each batch is written in a transaction of its own.

Any exception rolls the transaction back and records ``record_health(ok=False, error=…)``
(with ``backoff_until`` when the upstream asked for a wait over the cap:
:class:`geodata.http.BackingOff`): stored data and the cursor stay as they were, and
:func:`run_all` / ``run --loop`` go on with the other sources.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import chronology
from geodata.http import backing_off
from geodata.incidents import link_and_store
from geodata.schema import LAYERS, now_utc, validate
from ingest.base import IngestContext, Source
from ingest.fetching import fetch_records, fetch_within, source_deadline
from ingest.settle import settle_copies

log = logging.getLogger(__name__)

# Layers other sources look up run first in a cycle.
ORDER = {"shelters": 0, "roster": 1, "shelter_status": 2}

# The enrichment steps layers name in ``Layer.enrich``: (frame, context) -> frame. The steps are
# looked up when called, so a wrapped step (benchmarks/bench_ingest.py times them) is the one
# that runs.
ENRICHMENTS: dict[str, Callable[[pd.DataFrame, IngestContext], pd.DataFrame]] = {
    "geocode_classify": lambda frame, context: enrich_posts(frame, context),
    # copies are marked under the lock, in the batch's transaction (write_batch ->
    # ingest/settle.py, with the process's copy history): marking them here too would be done twice
    "mark_copies": lambda frame, context: frame,
}


def stale_seconds(source) -> float | None:
    """The source's own stale limit in seconds (sources.toml ``stale_minutes``), else None."""
    own = getattr(source, "stale_minutes", None)
    return float(own) * 60 if own else None


def run_source(
    store,
    source: Source,
    session=None,
    *,
    context: IngestContext | None = None,
    from_start: bool = False,
    deadline: float | None = None,
) -> dict:
    """Run one batch of ``source`` into ``store`` (see the module docstring).

    Parameters
    ----------
    store : :class:`geodata.store.core.Store`.
    source : a source (``ingest.sources``).
    session : the HTTP session to inject (default: the one the source was built with).
    context : shared lookups (towns, shelters, roster, gazetteer); one is made when None.
    from_start : ignore the stored cursor (a replayed data set such as the drill).
    deadline : seconds the fetch may take (None: no deadline — ``load`` of a big file, whose
        operator is watching it).

    Returns
    -------
    dict with source, ok, fetched, inserted, updated, unchanged, rejected, cursor, error and
    the source's notes (e.g. ``unmatched`` safety replies); ``backing_off`` (until when) for a
    source that was skipped or that has just been asked to wait.
    """
    context = context or IngestContext(store)
    result = new_result(source)
    started = time.perf_counter()
    fetched = _fetch(store, source, session, context, from_start, deadline, result)
    if fetched is not None:
        try:
            write_fetched(store, source, *fetched, context, result)
        except Exception as exc:  # noqa: BLE001 - one failing source never stops the others
            record_failure(store, source, exc, fetched[1], result)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _fetch(store, source: Source, session, context, from_start: bool, deadline, result: dict):
    """Steps 1-2 of ``source``: (records, the cursor they were fetched from), or None when it
    is backing off or failed (``result`` then says so; a failure is recorded)."""
    context.refresh()
    source.bind(session, context)
    since = None
    try:
        until = store.backoff_until(source.name)
        if until is not None and until > pd.Timestamp(now_utc()):
            result.update(error=f"backing off until {until.isoformat()}", backing_off=until)
            return None
        since = None if from_start else store.get_cursor(source.name)
        result["cursor_before"] = since
        if deadline is None:
            return fetch_records(source, since), since
        return fetch_within(source, since, deadline), since
    except Exception as exc:  # noqa: BLE001 - one failing source never stops the others
        record_failure(store, source, exc, since, result)
        return None


def run_all(
    store,
    sources: Sequence[Source],
    session=None,
    *,
    context=None,
    from_start: bool = False,
    deadlines: bool = True,
) -> list[dict]:
    """Run every source once (shelters and roster first); a failure never stops the others.

    Each fetch has the source's deadline (:func:`source_deadline`) unless ``deadlines`` is off.
    The layers others look up (:data:`ORDER`) are written first, each as it is fetched; the
    other sources are fetched one after the other, then written as the loop writes fetches
    that end together (:func:`write_together`: posts of several sources in one transaction).
    Results in the order the sources ran.
    """
    context = context or IngestContext(store)
    ordered = sorted(sources, key=lambda s: ORDER.get(s.layer, 9))
    results, batches = [], []
    for source in ordered:
        deadline = source_deadline(source) if deadlines else None
        if source.layer in ORDER:
            run = run_source(
                store, source, session, context=context, from_start=from_start, deadline=deadline
            )
            results.append(run)
            continue
        result = new_result(source)
        results.append(result)
        started = time.perf_counter()
        fetched = _fetch(store, source, session, context, from_start, deadline, result)
        if fetched is not None:
            try:
                batches.append(prepare_fetched(source, *fetched, context, result))
            except Exception as exc:  # noqa: BLE001 - one failing source never stops the others
                record_failure(store, source, exc, fetched[1], result)
        result["seconds"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    write_together(store, batches, context)
    spent = time.perf_counter() - started
    for batch in batches:  # the shared write counted in each
        batch.result["seconds"] = round(batch.result["seconds"] + spent, 3)
    return results


GC_THRESHOLDS = (50_000, 20, 100)  # Python's default: (700, 10, 10)


def tune_gc() -> None:
    """Collect garbage less often, for a process that runs the ingest loop.

    A long-running ingest holds about a million small objects (the dedupe history of the last
    hours, caches); at Python's default thresholds the collector walked them after every few
    hundred allocations: 18 % of the ingest time at a million posts a day
    (benchmarks/bench_ingest.py). Only the ``run --loop`` command sets this: it owns its process.
    """
    gc.set_threshold(*GC_THRESHOLDS)


# -- the parts of a run (ingest/loop.py runs them apart) -------------------------------------


def new_result(source: Source) -> dict:
    """The result dict of a run of ``source``, before it runs."""
    return {"source": source.name, "kind": source.kind, "layer": source.layer, "ok": False}


@dataclass
class Fetched:
    """A source's fetched batch, normalized and enriched (steps 3-4), to be written."""

    source: Source
    frame: pd.DataFrame
    rejected: list
    since: object  # the cursor the fetch started from
    cursor: object  # the cursor after it
    result: dict


def prepare_fetched(source: Source, records: list, since, context, result: dict) -> Fetched:
    """Steps 3-4 for fetched ``records``: normalize and enrich."""
    frame, rejected = source.normalize(records)
    rejected = [*rejected, *getattr(source, "fetch_rejections", [])]
    result["fetched"] = len(records)
    for step in LAYERS[source.layer].enrich:
        frame = ENRICHMENTS[step](frame, context)
    cursor = source.cursor_after(records, since)
    return Fetched(source, frame, rejected, since, cursor, result)


def write_fetched(store, source: Source, records: list, since, context, result: dict) -> None:
    """Steps 3-8 for fetched ``records``: normalize, enrich, write in one transaction."""
    write_prepared(store, [prepare_fetched(source, records, since, context, result)], context)


def write_prepared(store, batches: list[Fetched], context) -> None:
    """Steps 5-8 for ``batches`` of one layer and one municipality, in ONE transaction
    (:func:`write_batches`): all of them are written, or none."""
    first = batches[0].source
    layer = first.layer
    store = batch_store(store, first)
    copies = (
        context.copies_for(store.municipalities) if "mark_copies" in LAYERS[layer].enrich else None
    )
    try:
        with store.transaction():
            written = write_batches(
                store, [(b.source, b.frame, b.rejected, b.cursor) for b in batches], copies=copies
            )
    except BaseException:
        if copies is not None:
            copies.forget()  # it may hold the settled posts of the rolled-back batch
        raise
    if copies is not None:
        copies.wrote(store.post_stamps_written())  # held already: not read back
    context.invalidate(layer)
    for batch, done in zip(batches, written, strict=True):
        batch.result.update(done.as_dict(), ok=True, cursor=batch.cursor, error=None)
        batch.result["rejected"] = len(batch.rejected) + done.rejected
        batch.result.update(batch.source.notes)


def write_together(store, batches: list[Fetched], context) -> None:
    """Write batches fetched at the same moment (``run --loop``: fetches that ended together).

    Those of one layer with incident pieces and one municipality (posts of Mastodon, Bluesky
    and a posts file) go in one transaction: their copies are settled and their incidents
    linked once, instead of each batch settling and re-linking the others' posts of the same
    minutes again (:func:`write_prepared`). If that transaction fails, each batch is written on
    its own, so one failing source never takes the others down; a batch that fails alone gets
    a failing health row. Each batch's result dict is filled in.
    """
    groups: dict[object, list[Fetched]] = {}
    for n, batch in enumerate(batches):
        groups.setdefault(together_group(store, batch.source) or n, []).append(batch)
    for group in groups.values():
        if len(group) > 1:
            try:
                write_prepared(store, group, context)
                continue
            except Exception as exc:  # noqa: BLE001 - written one by one below
                log.warning(
                    "writing %s together failed (%s): each on its own",
                    [b.source.name for b in group], exc,
                )  # fmt: skip
        for batch in group:
            try:
                write_prepared(store, [batch], context)
            except Exception as exc:  # noqa: BLE001 - one failing source never stops the others
                record_failure(store, batch.source, exc, batch.since, batch.result)


def together_group(store, source: Source) -> tuple | None:
    """What batches of ``source`` are written together with (:func:`write_together`): the
    other sources of its layer with incident pieces and its municipality; None: its own."""
    spec = LAYERS[source.layer]
    if not spec.incident_role:
        return None
    return (spec.name, batch_store(store, source).municipalities)


def record_failure(store, source: Source, exc: BaseException, since, result: dict) -> None:
    """Record a failed run in ``result`` and the source's health (backing off when asked)."""
    error = f"{type(exc).__name__}: {exc}"
    log.warning("source %s failed: %s", source.name, error)
    asked = backing_off(exc)
    until = pd.Timestamp(asked.until) if asked is not None else None
    result.update(error=error, cursor=since)
    if until is not None:
        result["backing_off"] = until
    try:
        store.record_health(
            source.name,
            ok=False,
            kind=source.kind,
            error=error,
            backoff_until=until,
            stale_after_seconds=stale_seconds(source),
        )
        chronology.sync_source_events(store)  # down for longer than its limit: once
    except Exception as health_exc:  # noqa: BLE001 - the store itself may be down
        log.error("cannot record the failure of %s: %s", source.name, health_exc)


# -- steps ----------------------------------------------------------------------------------


def batch_store(store, source: Source):
    """The store a batch of ``source`` is written through: ``store`` scoped to the source's
    municipality (default BOSAI_MUNICIPALITY) when it is not scoped already. Its rows and the
    incidents they make belong to it, and linking never touches another city's rows (nor waits
    for another city's linking: ``Store.lock``)."""
    if store.municipalities is not None:
        return store
    return store.scoped([str(source.municipality or store.home_municipality)[:5]])


def write_batch(store, source: Source, frame: pd.DataFrame, rejected: list, cursor, *, copies=None):
    """Write one normalized batch of ``source`` (steps 5-8 of the module docstring).

    Call it inside ``store.transaction()``: the rows, the incidents they create or change, the
    rejections and the source's health and cursor then commit together, or not at all.
    ``copies``: the process's :class:`ingest.dedupe.CopyHistory` (posts), used by the settling
    of copies; the caller calls ``copies.forget()`` when the transaction fails.

    Returns
    -------
    The :class:`geodata.store.errors.UpsertResult` of the rows.
    """
    return write_batches(store, [(source, frame, rejected, cursor)], copies=copies)[0]


def write_batches(store, batches: list[tuple], *, copies=None) -> list:
    """Write ``batches`` — (source, frame, rejected, cursor) of sources of one layer and one
    municipality — as :func:`write_batch` writes one, with one settling of copies and one
    linking of incidents for all of their rows. Each source's rows, rejections, health and
    cursor are its own. Call it inside ``store.transaction()``.

    Returns
    -------
    The :class:`geodata.store.errors.UpsertResult` of each batch's rows, in order.
    """
    spec = LAYERS[batches[0][0].layer]
    store = batch_store(store, batches[0][0])
    if spec.incident_role:
        # first, before any row lock: linking writes rows of other batches too (two writers
        # taking the lock and rows in another order would wait on each other)
        store.lock("incidents")
    frames = [
        keep_staff_fields(store, spec.name, frame) if spec.staff_fields else frame
        for _, frame, _, _ in batches
    ]
    invalid = [None] * len(batches)
    if spec.incident_role:
        settle = (
            partial(settle_copies, store, copies=copies) if "mark_copies" in spec.enrich else None
        )
        # each batch validated apart (its rejections are its source's), linked as one
        parts = [validate(frame, spec.name) for frame in frames]
        invalid = [bad for _, bad in parts]
        valid = [good for good, _ in parts]
        joined = valid[0] if len(valid) == 1 else pd.concat(valid, ignore_index=True)
        linked, _ = link_and_store(store, spec.name, joined, settle=settle, validated=True)
        ends = np.cumsum([len(v) for v in valid])
        frames = [linked.iloc[end - len(v) : end] for v, end in zip(valid, ends, strict=True)]
    out, health = [], []
    for (source, _, rejected, cursor), frame, bad in zip(batches, frames, invalid, strict=True):
        written = store.load(spec.name, frame, source=source.name, rejected=bad)
        if spec.name == "warnings" and written.inserted:
            chronology.sync_warning_events(store)  # 警報 issued / lifted, each once
        fresh = _new_rejections(store, source.name, rejected)
        if fresh:
            store.add_rejections(source.name, fresh, layer=spec.name)
        health.append((source.name, {
            "ok": True,
            "kind": source.kind,
            "cursor": cursor,
            "rows": written.inserted + written.updated,
            "rejected": len(rejected) + written.rejected,
            "newest_record_at": _newest(spec.name, frame),
            "stale_after_seconds": stale_seconds(source),
        }))  # fmt: skip
        out.append(written)
    store.record_healths(health)  # every batch's source in one write
    return out


def enrich_posts(frame: pd.DataFrame, context: IngestContext) -> pd.DataFrame:
    """Geocode posts without a geotag and classify every post with text."""
    if not len(frame):
        return frame
    frame = frame.copy()
    texts = [t if isinstance(t, str) else None for t in frame["text"]]
    gaz = context.gazetteer
    if gaz is not None:
        given = np.asarray(frame.geometry.values, dtype=object)
        tags = np.where(shapely.is_missing(given) | shapely.is_empty(given), None, given).tolist()
        found = gaz.geocode_many(texts, geotags=tags)
        geoms, sources, conf = [], [], []
        for tag, point, source, confidence in zip(
            tags, found["point"].tolist(), found["geo_source"].tolist(),
            found["confidence"].tolist(), strict=True,
        ):  # fmt: skip
            point = point if point is not None else tag
            geoms.append(point)
            sources.append(source if point is not None else "none")
            conf.append(float(confidence) if point is not None else None)
        matched, towns = found["matched"].tolist(), found["town_code"].tolist()
        frame = frame.set_geometry(pd.Series(geoms, index=frame.index, dtype=object))
        frame = frame.set_crs("EPSG:4326", allow_override=True)
        frame["geo_source"] = sources
        frame["geo_confidence"] = conf
        frame["matched_place"] = pd.Series(matched, index=frame.index, dtype=object)
        frame["town_code"] = pd.Series(towns, index=frame.index, dtype=object)
    with_text = [i for i, t in enumerate(texts) if t]
    found = context.classify_texts([texts[i] for i in with_text]) if with_text else []
    if found is not None:
        cats: list = [[] for _ in texts]
        terms: list = [[] for _ in texts]
        urgency: list = [None] * len(texts)
        for i, (c, u, t) in zip(with_text, found, strict=True):
            cats[i], urgency[i], terms[i] = c, u, t
        frame["categories"] = pd.Series(cats, index=frame.index, dtype=object)
        frame["matched_terms"] = pd.Series(terms, index=frame.index, dtype=object)
        frame["urgency"] = pd.Series(urgency, index=frame.index, dtype=object)
    return frame


def _existing(store, layer: str, frame: pd.DataFrame) -> dict[tuple, dict]:
    """Stored rows (as dicts with geometry) for the keys of ``frame``, locked until the batch's
    transaction ends (a staff edit of one of them waits, then applies to the batch's write).
    Read through the primary-key index (``Store.read_keys``)."""
    spec = LAYERS[layer]
    columns = list(spec.staff_fields.columns)
    if spec.staff_fields.manual_position:
        columns += [*spec.staff_fields.manual_position, "geometry"]
    keyed = frame[list(spec.key)].dropna().drop_duplicates()
    keys = list(zip(*(keyed[k].tolist() for k in spec.key), strict=True))
    part = store.read_keys(layer, keys, columns=columns, for_update=True)
    geoms = part.geometry if "geometry" in part and len(part) else [None] * len(part)
    found: dict[tuple, dict] = {}
    for rec, geom in zip(part.to_dict("records"), geoms, strict=False):
        rec["geometry"] = geom
        found[tuple(rec[k] for k in spec.key)] = rec
    return found


def keep_staff_fields(store, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Copy onto ``frame`` what staff (or an earlier batch) set on the stored rows.

    What is kept is declared on the layer (``Layer.staff_fields``): an owned column's stored
    value always wins, a kept column's fills an empty fetched value, and a row staff placed by
    hand keeps its position.
    """
    if not len(frame):
        return frame
    existing = _existing(store, layer, frame)
    if not existing:
        return frame
    spec = LAYERS[layer]
    kept = spec.staff_fields
    frame = frame.copy()
    keys = list(zip(*(frame[k].tolist() for k in spec.key), strict=True))
    olds = [existing.get(k) for k in keys]
    for col in kept.columns:
        owned = col in kept.owned
        values = frame[col].tolist() if col in frame else [None] * len(frame)
        for i, old in enumerate(olds):
            if old is not None and (owned or not _filled(values[i])):
                if _filled(old.get(col)):
                    values[i] = old[col]
        frame[col] = pd.Series(values, index=frame.index, dtype=object)
    if kept.manual_position:
        manual = [i for i, old in enumerate(olds) if old and old.get("geo_source") == "manual"]
        if manual:
            geoms = list(frame.geometry)
            for col in kept.manual_position:
                values = frame[col].tolist()
                for i in manual:
                    values[i] = olds[i].get(col)
                frame[col] = pd.Series(values, index=frame.index, dtype=object)
            for i in manual:
                geoms[i] = olds[i]["geometry"]
            frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return frame


def _filled(value) -> bool:
    if value is None:
        return False
    try:
        return not bool(pd.isna(value))
    except (TypeError, ValueError):
        return True


def _new_rejections(store, source: str, rejected: list) -> list:
    """The rejections not already recorded for ``source`` (a re-read file repeats them)."""
    if not rejected:
        return []
    known = store.read_rejections(limit=20_000, source=source)
    seen = set(zip(known["raw"], known["reason"], strict=True)) if len(known) else set()
    out, batch = [], set()
    for raw, reason in rejected:
        item = (str(raw)[:2000], str(reason))
        if item not in seen and item not in batch:
            batch.add(item)
            out.append(item)
    return out


def _newest(layer: str, frame: pd.DataFrame):
    col = LAYERS[layer].time_column
    if not col or col not in frame or not len(frame):
        return None
    times = pd.to_datetime(frame[col], utc=True, errors="coerce").dropna()
    return times.max() if len(times) else None
