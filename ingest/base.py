"""The Source protocol every ingest source follows, and the helpers sources share.

A source is one class per upstream (``ingest/sources/<upstream>.py``)::

    name          the configured name; rows are upserted with ``source=name`` and its
                  health and cursor live under this name in ``source_health``
    kind          sns / safety / roster / shelter_status / field_report / shelters
    layer         the layer its rows go to (``geodata.schema.LAYERS``)
    key           that layer's key
    cursor_field  what the cursor means (``since_id``, ``createdAt|uri``, ``file digest`` ...)
    fetch(since)          -> Iterator[dict] of raw records newer than the cursor ``since``;
                             raises on HTTP or parse failure (the runner keeps the old cursor)
    normalize(records)    -> (frame in the layer schema, [(raw, reason), ...] rejections);
                             one bad record never stops the batch
    cursor_after(records, since) -> the cursor to save once the batch is committed

The HTTP session and the :class:`IngestContext` (reference layers, roster, gazetteer) are
injected by the runner through :meth:`BaseSource.bind`; a source never creates a session.
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd
import requests
import shapely

from geodata.schema import LAYERS, STORE_CRS, empty_frame
from ingest.reasons import FUTURE_TOLERANCE, RowError, check_not_future, reason_of, where

log = logging.getLogger(__name__)

RAW_LIMIT = 2000  # characters of a raw record kept with a rejection

Rejection = tuple[str, str]  # (raw record as text, reason)


class SourceError(RuntimeError):
    """A fetch that failed as a whole (HTTP error, unreadable page, missing credential)."""


@runtime_checkable
class Source(Protocol):
    """What the runner needs from a source (see the module docstring)."""

    name: str
    kind: str
    layer: str
    key: tuple[str, ...]
    cursor_field: str | None

    def fetch(self, since: str | None) -> Iterator[dict]: ...

    def normalize(self, records: list[dict]) -> tuple[pd.DataFrame, list[Rejection]]: ...

    def cursor_after(self, records: list[dict], since: str | None) -> str | None: ...


class IngestContext:
    """What normalizers look up: towns, shelters, the roster and the gazetteer, loaded lazily.

    Parameters
    ----------
    store : the store to read reference layers and the roster from (None: all empty).
    gazetteer : an object with ``geocode(text)`` (``geodata.text.geocode.Gazetteer``); built from
        the store's towns and shelters on first use when not given.
    classifier : a function ``text -> Classification`` (``geodata.text.classify.classify``).
    """

    def __init__(self, store=None, *, gazetteer=None, classifier=None):
        self.store = store
        self._gazetteer = gazetteer
        self._gazetteer_given = gazetteer is not None
        self._classifier = classifier
        self._frames: dict[str, pd.DataFrame] = {}
        self._versions: dict[str, int] = {}
        self._pinned: dict[str, bool] = {}
        self._copies: dict[tuple[str, ...], object] = {}
        self.memo: dict[str, Any] = {}  # things derived from the layers (the municipal area)

    def frame(self, layer: str) -> pd.DataFrame:
        """The whole stored ``layer`` (cached for the life of the context)."""
        if layer not in self._frames:
            self._frames[layer] = (
                self.store.read(layer) if self.store is not None else empty_frame(layer)
            )
        return self._frames[layer]

    def set_frame(self, layer: str, frame: pd.DataFrame) -> None:
        """Use ``frame`` as the ``layer`` (tests, one-off loads before the store has it)."""
        self._frames[layer] = frame
        self._pinned[layer] = True
        self.memo.clear()
        if layer in ("towns", "shelters") and not self._gazetteer_given:
            self._gazetteer = None  # rebuilt from the new layers on next use

    def refresh(self) -> None:
        """Drop cached layers the store has written since they were read."""
        if self.store is None:
            return
        for layer in ("towns", "boundaries", "shelters", "roster"):
            version = self.store.data_version(layer)
            if self._versions.get(layer) != version:
                self._versions[layer] = version
                if layer in self._frames and not self._pinned.get(layer):
                    self.invalidate(layer)

    def invalidate(self, layer: str) -> None:
        """Forget a cached layer (after it was written)."""
        if self._pinned.get(layer):
            return
        self._frames.pop(layer, None)
        if layer in ("towns", "boundaries"):
            self.memo.clear()
        if layer in ("towns", "shelters") and not self._gazetteer_given:
            self._gazetteer = None

    @property
    def copies(self):
        """The :class:`ingest.dedupe.CopyHistory` of the posts batches of the context store's
        municipalities (its scope, else the configured one): :meth:`copies_for`."""
        store = self.store
        return self.copies_for(store.municipalities or (store.home_municipality,))

    def copies_for(self, municipalities):
        """The :class:`ingest.dedupe.CopyHistory` of the posts of ``municipalities`` (the scope
        a batch is written in), kept for the life of the context so a long-running ingest does
        not re-read the hours before each batch. One per scope: a batch of one city is settled
        against that city's posts only, as its linking reads them, so workers of two cities
        (which link at the same time: ``Store.lock``) never depend on each other's order."""
        scope = tuple(municipalities)
        if scope not in self._copies:
            from ingest.dedupe import CopyHistory

            store = self.store
            self._copies[scope] = CopyHistory(
                store if store.municipalities == scope else store.scoped(scope)
            )
        return self._copies[scope]

    @property
    def gazetteer(self):
        """The gazetteer, or None when geodata.text.geocode is unavailable or there are no towns."""
        if self._gazetteer is None:
            self._gazetteer = False
            try:
                from geodata.text.geocode import Gazetteer

                towns = self.frame("towns")
                if len(towns):
                    self._gazetteer = Gazetteer.from_layers(towns, self.frame("shelters"))
            except Exception as exc:  # noqa: BLE001 - geocoding is an enrichment, not a must
                log.warning("no gazetteer: %s", exc)
        return self._gazetteer or None

    def classify_texts(self, texts: list[str | None]) -> list[tuple[list, int, list]] | None:
        """(categories, urgency, matched_terms) per text (None when there is no classifier).

        The project's classifier is run over the whole batch at once (``classify.many``: one
        regex pass per script, ~9× faster than text by text); a classifier given to the
        context without a batch form is called per text.
        """
        classify = self.classifier
        if classify is None:
            return None
        many = getattr(classify, "many", None)
        if many is not None:
            found = many(texts)
            return [
                (list(c), int(u), list(t))
                for c, u, t in zip(
                    found["categories"], found["urgency"], found["matched_terms"], strict=True
                )
            ]
        out = []
        for text in texts:
            c = classify(text)
            out.append((list(c.categories), int(c.urgency), list(c.matched_terms)))
        return out

    @property
    def classifier(self):
        """``text -> Classification`` or None when geodata.text.classify is unavailable."""
        if self._classifier is None:
            self._classifier = False
            try:
                from geodata.text.classify import classify

                self._classifier = classify
            except Exception as exc:  # noqa: BLE001
                log.warning("no classifier: %s", exc)
        return self._classifier or None


class BaseSource:
    """Common plumbing of the sources: injected session and context, per-record rejections.

    Subclasses set ``kind``, ``layer`` and ``cursor_field`` and implement ``fetch`` and
    ``normalize_record`` (one raw record -> one row dict with an optional ``geometry``).
    """

    kind = "other"
    layer = "posts"
    cursor_field: str | None = None
    poll_seconds: float = 60.0
    deadline_seconds: float | None = None  # one run's fetch (None: BOSAI_SOURCE_DEADLINE_SECONDS)
    stale_minutes: float | None = None  # shown stale after (None: BOSAI_SOURCE_STALE_MINUTES)
    # The municipality the source's rows belong to (``municipality = "13210"`` in the sources
    # config; None: BOSAI_MUNICIPALITY). The runner writes its batches through a store scoped to it.
    municipality: str | None = None

    def __init__(self, name: str, *, session: requests.Session | None = None, context=None):
        self.name = name
        self.session = session
        self.context = context or IngestContext()
        self.notes: dict[str, Any] = {}  # what the last normalize wants to tell (unmatched ...)

    @property
    def key(self) -> tuple[str, ...]:
        return LAYERS[self.layer].key

    def bind(self, session: requests.Session | None = None, context=None) -> BaseSource:
        """Inject the HTTP session and the context (the runner calls this before fetching)."""
        if session is not None:
            self.session = session
        if context is not None:
            self.context = context
        return self

    def _http(self) -> requests.Session:
        if self.session is None:
            raise SourceError(f"{self.name}: no HTTP session was injected")
        return self.session

    def fetch(self, since: str | None) -> Iterator[dict]:
        raise NotImplementedError

    def normalize_record(self, record: dict) -> dict | list[dict] | None:
        """One raw record -> row dict(s) (None: skip silently); raise ValueError to reject."""
        raise NotImplementedError

    def normalize(self, records: list[dict]) -> tuple[pd.DataFrame, list[Rejection]]:
        """Normalize every record; a record that raises becomes a rejection with its reason.

        A record that a reader could not read (``_bad``: broken bytes, a broken CSV row) and a
        record dated more than :data:`FUTURE_TOLERANCE` ahead of the clock are rejections too.
        """
        self.notes = {}
        rows: list[dict] = []
        rejected: list[Rejection] = []
        time_column = LAYERS[self.layer].time_column
        latest = pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE
        for record in records:
            try:
                if isinstance(record, dict) and record.get("_bad"):
                    raise RowError(None, record["_bad"])
                out = self.normalize_record(record)
                out = [] if out is None else out if isinstance(out, list) else [out]
                if time_column:
                    for row in out:
                        check_not_future(row.get(time_column), time_column, latest)
            except Exception as exc:  # noqa: BLE001 - any bad record is a rejection
                rejected.append((raw_text(record), clean_text(where(record) + reason_of(exc))))
                continue
            rows.extend(out)
        return self.finish(rows, rejected)

    def warn(self, record: dict, message: str) -> None:
        """Note something read on a best guess (listed as ``warnings`` in the run's summary)."""
        self.notes.setdefault("warnings", []).append(where(record) + message)

    def finish(self, rows: list[dict], rejected: list[Rejection]):
        """Turn row dicts into the layer frame; a key seen twice keeps its last row.

        A record delivered twice in one batch (a redelivered webhook, a boosted status that is
        also in the timeline) is one record, not a rejection.
        """
        by_key: dict[tuple, dict] = {}
        key = self.key
        for row in rows:
            by_key[tuple(map(row.get, key))] = row
        return rows_to_frame(list(by_key.values()), self.layer), rejected

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        return since


# -- helpers --------------------------------------------------------------------------------


def raw_text(record: Any, limit: int = RAW_LIMIT) -> str:
    """A raw record as JSON text, truncated, for the rejections table."""
    try:
        text = json.dumps(record, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(record)
    return clean_text(text[:limit])


def rows_to_frame(rows: list[dict], layer: str) -> pd.DataFrame:
    """Row dicts (with an optional ``geometry`` in lon/lat) -> a frame of ``layer``'s columns."""
    spec = LAYERS[layer]
    if not rows:
        return empty_frame(spec)
    # a tuple per row, turned into columns (a dict per row that pandas reads costs 2-4×)
    names = list(spec.columns)
    columns = zip(*[tuple(map(r.get, names)) for r in rows], strict=True)
    df = pd.DataFrame(
        {c: pd.Series(v, dtype=object) for c, v in zip(names, columns, strict=True)},
        dtype=object,
    )
    if spec.geometry:
        return gpd.GeoDataFrame(
            df, geometry=gpd.GeoSeries([r.get("geometry") for r in rows], crs=STORE_CRS)
        )
    return df


def clean_text(text: str) -> str:
    """``text`` without NUL characters and lone surrogates (which no store can hold)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def text_or_none(value, limit: int | None = None) -> str | None:
    """Stripped clean text, or None for null/empty; raises TypeError for containers."""
    if type(value) is str:  # the usual case, as below
        text = clean_text(value).strip()
        if not text:
            return None
        return text[:limit] if limit else text
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple, set)):
        raise TypeError(f"expected text, got {type(value).__name__}")
    if isinstance(value, float) and math.isnan(value):
        return None
    text = clean_text(str(value)).strip()
    if not text:
        return None
    return text[:limit] if limit else text


def lonlat_point(lon, lat) -> shapely.Point | None:
    """A lon/lat point, None when either is missing; ValueError when out of range."""
    if lon in (None, "") or lat in (None, ""):
        return None
    x = float(unicodedata.normalize("NFKC", str(lon)).strip())
    y = float(unicodedata.normalize("NFKC", str(lat)).strip())
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"coordinates are not finite: {lon}, {lat}")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise ValueError(f"coordinates outside lon/lat range: lon={lon} lat={lat}")
    if x == 0 and y == 0:
        raise ValueError("coordinates are 0, 0 (null island)")
    return shapely.Point(x, y)


def first_of(record: dict, names: Iterable[str]):
    """The first non-empty value of ``record`` among ``names``."""
    for name in names:
        value = record.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            if isinstance(value, float) and math.isnan(value):
                continue
            return value
    return None


def normalize_header(name: str) -> str:
    """A column header with full-width characters folded and spaces removed (NFKC)."""
    return "".join(unicodedata.normalize("NFKC", str(name)).split()).lstrip("\ufeff")
