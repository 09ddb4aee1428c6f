"""The area view: the situation of each municipality side by side, for a prefecture or area HQ.

Tama-area cities share one system (several municipalities on one store, geodata/store/core.py
``Store.scoped``); the area HQ that coordinates them needs one row per city: shelters open and
their evacuees, the warnings and the evacuation information in force, and how many registered
residents have not been confirmed safe. :func:`area_summary` answers it from the store as the
caller may see it — a user's store scoped to their municipalities gives their cities only.

The counts of persons (registered, replied, reached by a follow-up, not confirmed) leave only as
the public-output policy lets them (:func:`geodata.export.public.suppress_counts`): a city
count below the threshold reads 「3人未満」, and cells that would let one be worked out read
「秘匿」. An area view is shown to staff of other cities, so it follows the public rule.
"""

from __future__ import annotations

import threading

import pandas as pd

from geodata import evacuation, safety, shelters, warnings
from geodata.export import common as export_common
from geodata.export.public import suppress_counts
from geodata.schema import LAYERS, MUNICIPALITY, empty_frame, now_utc, to_utc

# The counts of persons per city, as suppress_counts names them.
PERSON_COLUMNS = ("residents", "replied", "reached", "unconfirmed")
# What safety.resident_states reads of the replies and follow-ups (not their texts, places).
REPLY_COLUMNS = ("source", "source_id", "resident_id", "status", "replied_at")
FOLLOW_UP_COLUMNS = ("id", "resident_id", "action", "outcome", "at")
COLUMNS = (
    "municipality",
    "city_name",
    "shelters",
    "shelters_open",
    "evacuees",
    "warnings",
    "warning_level",
    "evacuation_level",
    "evacuation_towns",
    *PERSON_COLUMNS,
)


def municipalities_of(store) -> tuple[str, ...]:
    """The municipalities the area view covers: the store's scope, else every municipality that
    has towns, shelters or a roster in the store (the unscoped store of the command line)."""
    if store.municipalities is not None:
        return store.municipalities
    found: set[str] = set()
    for layer in ("towns", "shelters", "roster"):
        codes = store.read(layer, columns=[MUNICIPALITY])[MUNICIPALITY].dropna()
        found.update(str(c) for c in codes)
    return tuple(sorted(found))


def area_summary(store, at=None) -> tuple[pd.DataFrame, dict]:
    """One row per municipality of the store's scope: its situation at ``at`` (default now).

    Parameters
    ----------
    store : a store (scoped to the user's municipalities, or unscoped for every one).
    at : the time the situation is taken at (naive = JST); None: now.

    Returns
    -------
    (table, totals) : ``table`` with :data:`COLUMNS`, one row per municipality in code order:
        ``shelters`` (all) and ``shelters_open`` (開設 + 満員), ``evacuees`` (in open shelters),
        ``warnings`` (warnings in force) and ``warning_level`` (their highest 警戒レベル相当, or
        None), ``evacuation_level`` (the highest evacuation information in force, or None) and
        ``evacuation_towns`` (towns under 避難指示 or higher), and :data:`PERSON_COLUMNS` suppressed (an int of at
        least 3, 「3人未満」 or 「秘匿」); ``totals`` the area's person counts as published.

    Examples
    --------
    >>> table, totals = area_summary(store.scoped(["13208", "13210"]))  # doctest: +SKIP
    >>> table["unconfirmed"].tolist()  # doctest: +SKIP
    [12, '3人未満']
    """
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    codes = municipalities_of(store)
    reads = SharedReads(store)
    return table_of([{"municipality": code, **_city(reads.city(code), at)} for code in codes])


# The layers area_summary takes up to ``at`` by their time column: a row dated after ``at``
# counts from its time on.
TIMED_LAYERS = ("shelter_status", "evacuations", "safety_replies", "follow_ups")


def change_times(store, after) -> list[pd.Timestamp]:
    """The times after ``after`` at which :func:`area_summary` of ``store`` can change without
    a write, sorted: a shelter report, an evacuation record, a reply or a follow-up dated later
    (a drill's, a clock ahead) counts from its time on, and a warning's message or the end of
    a 記録的短時間大雨情報's hour (:func:`geodata.warnings.changes_after`). Between two of them
    (and before the first) the summary stays as it is until something is written: a cache of
    it may be kept per data version and the next of these times instead of per minute."""
    after = to_utc(after)
    since = after + pd.Timedelta(microseconds=1)  # read() is since <= t
    times = set(warnings.changes_after(store, after))
    for layer in TIMED_LAYERS:
        column = LAYERS[layer].time_column
        found = store.read(layer, since=since, columns=[column])[column].dropna()
        times.update(pd.Timestamp(t) for t in found)
    return sorted(t for t in times if t > after)


# Every layer area_summary and change_times read of a city: its row stays as it is until a write
# to its rows of one of them (Store.data_versions) or the next of its change times
# (tests/test_area.py checks that nothing else is read).
READS = (
    "towns",
    "boundaries",
    "shelters",
    "shelter_status",
    "warnings",
    "evacuations",
    "roster",
    "safety_replies",
    "follow_ups",
)


class AreaCache:
    """The area summary kept city by city: :meth:`summary` computes again only the cities
    whose rows of :data:`READS` were written since (``Store.data_versions``: the posts and
    incidents ingest writes every few seconds are not among them) or whose next change time
    (:func:`change_times`) has come, and gives what :func:`area_summary` gives.

    At 30 cities × 100k the whole summary takes tens of seconds, and some city of an area is
    written to at almost every refresh; one city's row takes a thirtieth of it. One instance
    serves every session of a store (the dashboard keeps one per store URL); a lock keeps two
    sessions from computing the same city at once.
    """

    def __init__(self) -> None:
        self._rows: dict[str, tuple] = {}  # code -> (version, computed at, next change, row)
        self._lock = threading.Lock()
        self.last: list[str] = []  # the cities the last summary computed, in scope order

    def summary(self, store, at=None) -> tuple[pd.DataFrame, dict]:
        """:func:`area_summary` of ``store`` at ``at`` (default now)."""
        at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
        codes = municipalities_of(store)
        if not codes:
            return table_of([])
        with self._lock:
            versions = store.data_versions(READS, codes)
            stale = [c for c in codes if not self._fresh(c, versions[c], at)]
            self.last = stale
            if stale:
                reads = SharedReads(store.scoped(stale))
                for code in stale:
                    city = reads.city(code)
                    ahead = change_times(city, at)
                    row = _city(city, at)
                    self._rows[code] = (versions[code], at, ahead[0] if ahead else None, row)
            return table_of([{"municipality": c, **self._rows[c][3]} for c in codes])

    def _fresh(self, code: str, version: int, at: pd.Timestamp) -> bool:
        kept = self._rows.get(code)
        if kept is None:
            return False
        kept_version, computed_at, until, _row = kept
        return kept_version == version and computed_at <= at and (until is None or at < until)


def next_change(store, at=None) -> pd.Timestamp | None:
    """The first of :func:`change_times` after ``at`` (default now), else None."""
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    times = change_times(store, at)
    return times[0] if times else None


def table_of(rows: list[dict]) -> tuple[pd.DataFrame, dict]:
    """The area table and totals of the cities' rows (:func:`_city` plus ``municipality``):
    the person counts suppressed across the area (see :func:`area_summary`)."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("warning_level", "evacuation_level"):
        table[col] = table[col].astype("Int64")
    if table.empty:
        return table, {c: 0 for c in PERSON_COLUMNS}
    counts = table[list(PERSON_COLUMNS)].astype(int)
    cells, totals = suppress_counts(counts, counts.sum().to_dict())
    for col in PERSON_COLUMNS:
        table[col] = cells[col].astype(object)
    return table, totals


class SharedReads:
    """The reads of several municipalities' rules, made once for all of them.

    The per-city rules (:func:`geodata.shelters.status_at`, :func:`geodata.warnings.in_force`,
    :func:`geodata.evacuation.kpi`, …) take a store scoped to one municipality and read from it.
    :meth:`city` gives them a stand-in for that store whose :meth:`CityReads.read` answers from
    one read of the whole ``store`` (its scope: the user's municipalities) with the same
    arguments, split by the ``municipality`` column — the rows, columns and column types a
    store scoped to the city returns — so N cities cost one query per layer, not N. Anything
    other than ``read`` goes to the store scoped to the city.
    """

    def __init__(self, store):
        self.store = store
        self._split: dict[tuple, dict[str, pd.DataFrame]] = {}
        self._whole: dict[tuple, pd.DataFrame] = {}

    def city(self, code: str) -> CityReads:
        return CityReads(self, code)

    def read(self, code: str, layer: str, **kwargs) -> pd.DataFrame:
        """``layer`` as ``store.scoped([code]).read(layer, **kwargs)`` returns it."""
        spec = LAYERS[layer]
        key = (layer, *sorted((k, _frozen(v)) for k, v in kwargs.items()))
        if not spec.municipal:  # a scope does not filter it: the same rows for every city
            if key not in self._whole:
                self._whole[key] = self.store.read(layer, **kwargs)
            return self._whole[key].copy()
        if key not in self._split:
            self._split[key] = self._read_split(layer, kwargs)
        groups = self._split[key]
        if code in groups:
            return groups[code].copy()
        empty = empty_frame(spec)
        return empty[[c for c in groups[None].columns if c in empty.columns]]

    def _read_split(self, layer: str, kwargs: dict) -> dict:
        columns = kwargs.get("columns")
        added = columns is not None and MUNICIPALITY not in columns
        if added:
            kwargs = {**kwargs, "columns": [*columns, MUNICIPALITY]}
        frame = self.store.read(layer, **kwargs)
        shown = [c for c in frame.columns if not (added and c == MUNICIPALITY)]
        groups: dict = {None: frame.iloc[0:0][shown]}  # None: the columns, for an empty city
        if frame.empty:
            return groups
        for code, rows in frame.groupby(MUNICIPALITY, sort=False):
            groups[str(code)] = rows[shown].reset_index(drop=True)
        return groups


class CityReads:
    """One municipality's view of :class:`SharedReads` (stands in for a store scoped to it)."""

    def __init__(self, shared: SharedReads, code: str):
        self._shared = shared
        self.code = code
        self.municipalities = (code,)

    def read(self, layer: str, **kwargs) -> pd.DataFrame:
        return self._shared.read(self.code, layer, **kwargs)

    def __getattr__(self, name):
        return getattr(self._shared.store.scoped([self.code]), name)


def _frozen(value):
    """``value`` hashable (a read's arguments as a cache key)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set)):
        return tuple(_frozen(v) for v in value)
    return value


def _name(city) -> str | None:
    """The city's name from its boundary or the built-in table, when its towns have none."""
    code, _pref, name = export_common.municipality(city)
    return None if name == code else name


def _city(city, at: pd.Timestamp) -> dict:
    """The situation of one municipality (``city`` is a store scoped to it)."""
    towns = city.read("towns", columns=["town_code", "city_name", "population", "households"])
    names = towns["city_name"].dropna()
    status = shelters.summary(shelters.status_at(city, at))
    in_force = warnings.in_force(city, at, towns=towns)
    levels = in_force["level"].dropna()
    evac = evacuation.kpi(city, at, towns=towns)
    roster = city.read("roster", columns=["town_code", "care_priority"])
    until = at + pd.Timedelta(microseconds=1)  # read() is t < until
    states = safety.resident_states(
        roster,
        city.read("safety_replies", until=until, columns=REPLY_COLUMNS),
        city.read("follow_ups", until=until, columns=FOLLOW_UP_COLUMNS),
        as_of=at,
    )
    counts = safety.totals(states)
    return {
        "city_name": str(names.iloc[0]) if len(names) else _name(city),
        "shelters": status["shelters"],
        "shelters_open": status["open"],
        "evacuees": status["evacuees"],
        "warnings": int(len(in_force)),
        "warning_level": int(levels.max()) if len(levels) else None,
        "evacuation_level": evac["highest"],
        "evacuation_towns": evac["towns"] if evac["highest"] else 0,
        "residents": counts["registered"],
        "replied": counts["replied"],
        "reached": counts["reached"],
        "unconfirmed": counts["unconfirmed"],
    }
