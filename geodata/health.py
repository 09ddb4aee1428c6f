"""Source health, answered once: is each ingest source ok, stale, failing or backing off, and
how old is the newest record it brought.

The wall screen's strip (dashboard/source_health.py), the admin page and the CLI read it from
here. The states, in the order a screen lists them (worst first):

- ``backing_off`` — the upstream asked for a wait longer than ``BOSAI_RETRY_AFTER_CAP_SECONDS``
  (a 429/503 with ``Retry-After``); the ingest leaves it alone until ``backoff_until``;
- ``failing`` — its last run failed (an HTTP error, a deadline, a bad answer: ``last_error``
  says which), or a back-off ended and no run has succeeded since;
- ``stale`` — its last run did not fail, but no run succeeded for longer than its stale limit
  (the source's ``stale_minutes`` in sources.toml, stored with its health, else
  ``BOSAI_SOURCE_STALE_MINUTES``): the ingest is not running, or is stuck;
- ``ok``.

A quiet source (no new posts) is still ``ok``: the state is about the runs, not the data. How
old the newest record is (``record_age``) is shown beside it for the HQ to judge.

Examples
--------
>>> import pandas as pd
>>> now = pd.Timestamp("2025-09-01 12:00", tz="UTC")
>>> state_of({"state": "ok", "last_success_at": now - pd.Timedelta(minutes=5)}, now)
'ok'
>>> state_of({"state": "ok", "last_success_at": now - pd.Timedelta(hours=2)}, now)
'stale'
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from geodata import settings
from geodata.schema import LAYERS, now_utc
from geodata.store.codec import stored_time
from geodata.vocab import SOURCE_STATES

ORDER = {"backing_off": 0, "failing": 1, "stale": 2, "ok": 3}
COLUMNS = [
    "source",
    "kind",
    "state",
    "last_success_at",
    "newest_record_at",
    "record_age",
    "backoff_until",
    "last_error",
    "stale_after",
]


def default_stale_after() -> pd.Timedelta:
    """The stale limit of a source without its own (``BOSAI_SOURCE_STALE_MINUTES``)."""
    return pd.Timedelta(minutes=settings.number("BOSAI_SOURCE_STALE_MINUTES"))


def stale_after(row: Mapping, default: pd.Timedelta | None = None) -> pd.Timedelta:
    """The stale limit of the source of ``row`` (its own, else the setting)."""
    own = row.get("stale_after_seconds") if row else None
    if own is not None and not pd.isna(own) and float(own) > 0:
        return pd.Timedelta(seconds=float(own))
    return default if default is not None else default_stale_after()


def state_of(row: Mapping, now=None, default_stale: pd.Timedelta | None = None) -> str:
    """The state (a :data:`geodata.vocab.SOURCE_STATES` code) of one ``source_health`` row."""
    now = pd.Timestamp(now if now is not None else now_utc())
    success = stored_time(row.get("last_success_at"))
    error_at = stored_time(row.get("last_error_at"))
    last_run = row.get("state")
    if last_run not in ("ok", "failing", "backing_off"):  # a row written before states
        failed_last = error_at is not None and (success is None or error_at > success)
        last_run = "failing" if failed_last else "ok"
    if last_run == "backing_off":
        until = stored_time(row.get("backoff_until"))
        return "backing_off" if until is not None and until > now else "failing"
    if last_run == "failing":
        return "failing"
    if success is None or now - success > stale_after(row, default_stale):
        return "stale"
    return "ok"


def source_states(health: pd.DataFrame, now=None) -> pd.DataFrame:
    """Every source's state and the age of its newest record, worst first.

    Parameters
    ----------
    health : the ``source_health`` rows (``store.health()``).
    now : the time to judge at (default: now).

    Returns
    -------
    DataFrame with :data:`COLUMNS`: ``state`` a SOURCE_STATES code, ``record_age`` the time since
    ``newest_record_at`` (NaT when the source never stored a dated record), ``stale_after`` the
    source's stale limit.
    """
    now = pd.Timestamp(now if now is not None else now_utc())
    default = default_stale_after()
    rows = []
    for rec in health.to_dict("records") if len(health) else []:
        newest = stored_time(rec.get("newest_record_at"))
        rows.append(
            {
                "source": rec["source"],
                "kind": rec.get("kind"),
                "state": state_of(rec, now, default),
                "last_success_at": stored_time(rec.get("last_success_at")),
                "newest_record_at": newest,
                "record_age": (now - newest) if newest is not None else pd.NaT,
                "backoff_until": stored_time(rec.get("backoff_until")),
                "last_error": rec.get("last_error"),
                "stale_after": stale_after(rec, default),
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if not len(frame):
        return frame
    frame["_order"] = frame["state"].map(ORDER)
    frame = frame.sort_values(["_order", "source"], kind="stable").drop(columns="_order")
    return frame.reset_index(drop=True)


def worst(states) -> str | None:
    """The worst of ``states`` (codes), None when there are none."""
    found = [s for s in states if s in ORDER]
    return min(found, key=ORDER.__getitem__) if found else None


def label(state: str, lang: str = "ja") -> str:
    """The ja/en label of a state."""
    return SOURCE_STATES.label(state, lang)


# -- how old is each layer's newest record (the wall screen's data age) -------------------------

# When the newest record of a layer is old enough to doubt the screen: (amber, red). A quiet
# feed may be fine (no new posts at 3 a.m.), so the wall only colours the age for the HQ to
# judge; shelters report at least every 3 h (the board's stale limit), the rest come in minutes
# during a disaster. Layers not listed use DEFAULT_AGE_LIMITS.
AGE_LIMITS: dict[str, tuple[pd.Timedelta, pd.Timedelta]] = {
    "shelter_status": (pd.Timedelta(hours=3), pd.Timedelta(hours=6)),
    "chronology": (pd.Timedelta(hours=2), pd.Timedelta(hours=6)),
    "evacuations": (pd.Timedelta(days=365), pd.Timedelta(days=3650)),  # orders last: never old
}
DEFAULT_AGE_LIMITS = (pd.Timedelta(hours=1), pd.Timedelta(hours=3))
AGE_COLUMNS = ["layer", "newest_at", "age", "level"]


def age_level(layer: str, age) -> str:
    """``fresh``, ``aging`` (amber) or ``old`` (red) for a layer whose newest record is ``age``
    old; ``none`` when the layer holds no dated record.

    Examples
    --------
    >>> age_level("posts", pd.Timedelta(minutes=5)), age_level("posts", pd.Timedelta(hours=2))
    ('fresh', 'aging')
    >>> age_level("shelter_status", pd.Timedelta(hours=7)), age_level("posts", pd.NaT)
    ('old', 'none')
    """
    if age is None or pd.isna(age):
        return "none"
    amber, red = AGE_LIMITS.get(layer, DEFAULT_AGE_LIMITS)
    if age >= red:
        return "old"
    return "aging" if age >= amber else "fresh"


def layer_ages(store, layers, now=None) -> pd.DataFrame:
    """The newest record time of each of ``layers`` and its age at ``now``.

    One indexed ``ORDER BY time DESC LIMIT 1`` read per layer (the layer's ``time_column`` in
    :mod:`geodata.schema`), so a wall screen can ask at every refresh, at any scale. A time in
    the future (a clock ahead at the source) counts as now.

    Parameters
    ----------
    store : the store.
    layers : layer names with a time column (ValueError names one without).
    now : the time to judge at (default: now).

    Returns
    -------
    DataFrame with :data:`AGE_COLUMNS`, in the order of ``layers``: ``newest_at`` (UTC, NaT for
    an empty layer), ``age`` (Timedelta, NaT) and ``level`` (:func:`age_level`).
    """
    now = pd.Timestamp(now if now is not None else now_utc())
    rows = []
    for layer in layers:
        column = LAYERS[layer].time_column
        if not column:
            raise ValueError(f"layer {layer!r} has no time column: its data age is unknown")
        found = store.read(layer, columns=[column], order=f"{column} DESC", limit=1)
        newest = stored_time(found[column].iloc[0]) if len(found) else None
        age = pd.NaT if newest is None else max(now - newest, pd.Timedelta(0))
        rows.append(
            {
                "layer": layer,
                "newest_at": newest if newest is not None else pd.NaT,
                "age": age,
                "level": age_level(layer, age),
            }
        )
    return pd.DataFrame(rows, columns=AGE_COLUMNS)
