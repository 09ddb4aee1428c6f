"""River water levels against their thresholds: the level of each station and the stage reached.

The thresholds of a station (水防団待機水位 … 氾濫危険水位) come with each observation (see
ingest/sources/river_levels.py), so a level is judged against what applied when it was observed.
The stage is the highest threshold the level has reached (at or above it):
``normal`` < ``standby`` (レベル１) < ``advisory`` 氾濫注意水位 (レベル２) < ``evacuation``
避難判断水位 (レベル３) < ``danger`` 氾濫危険水位 (レベル４) — labels in
:data:`geodata.vocab.RIVER_STAGES`.

Examples
--------
>>> stage_of(5.6, advisory_m=4.5, evacuation_m=5.5, danger_m=6.0)
'evacuation'
>>> stage_of(3.0, advisory_m=4.5)
'normal'
"""

from __future__ import annotations

import pandas as pd

from geodata import vocab
from geodata.schema import now_utc, to_utc

STAGES = ("standby", "advisory", "evacuation", "danger")  # rising order
THRESHOLD_OF = {s: f"{s}_m" for s in STAGES}
STALE_MINUTES = 30  # a station silent for this long is shown as stale


def stage_of(level, **thresholds) -> str:
    """The highest stage ``level`` has reached, given thresholds ``<stage>_m`` in metres."""
    if level is None or pd.isna(level):
        return "normal"
    reached = "normal"
    for stage in STAGES:
        value = thresholds.get(THRESHOLD_OF[stage])
        if value is not None and not pd.isna(value) and float(level) >= float(value):
            reached = stage
    return reached


def _stages(frame: pd.DataFrame) -> list[str]:
    cols = [THRESHOLD_OF[s] for s in STAGES]
    return [
        stage_of(level, **dict(zip(cols, values, strict=True)))
        for level, *values in frame[["level_m", *cols]].itertuples(index=False)
    ]


def river_status(store, at=None, *, since_hours: float = 48) -> pd.DataFrame:
    """The newest level of each station at ``at`` (default now) and the stage it has reached.

    Parameters
    ----------
    store : the store.
    at : a time (naive = JST); None: now.
    since_hours : how far back an observation still counts as the station's newest.

    Returns
    -------
    GeoDataFrame, one row per station (station order by code): station_id, station_name, river,
    observed_at, level_m, the thresholds, ``stage`` (a code of RIVER_STAGES), ``alert_level``
    (1-4, None when normal), ``rising`` (the level is higher than the observation before it),
    ``to_danger_m`` (metres left to 氾濫危険水位; negative above it), ``age`` and ``stale``.
    """
    at = to_utc(at) if at is not None else pd.Timestamp(now_utc())
    start = at - pd.Timedelta(hours=since_hours)
    frame = store.read("river_levels", since=start, until=at + pd.Timedelta(microseconds=1))
    if frame.empty:
        return frame.assign(stage=[], alert_level=[], rising=[], to_danger_m=[], age=[], stale=[])
    frame = frame.sort_values(["station_id", "observed_at"])
    previous = frame.groupby("station_id")["level_m"].shift(1)
    frame = frame.assign(rising=(frame["level_m"] > previous).fillna(False))
    latest = frame.groupby("station_id").tail(1).copy()
    latest["stage"] = _stages(latest)
    latest["alert_level"] = [vocab.RIVER_STAGE_LEVEL[s] for s in latest["stage"]]
    latest["to_danger_m"] = latest["danger_m"] - latest["level_m"]
    latest["age"] = at - latest["observed_at"]
    latest["stale"] = latest["age"] > pd.Timedelta(minutes=STALE_MINUTES)
    return latest.reset_index(drop=True)


def level_series(store, station_id: str, *, since=None, until=None) -> pd.DataFrame:
    """The observations of one station in time order with their stage (a chart's data)."""
    frame = store.read(
        "river_levels",
        since=to_utc(since) if since is not None else None,
        until=to_utc(until) if until is not None else None,
        where={"station_id": station_id},
        columns=["station_name", "river", "level_m", *THRESHOLD_OF.values()],
    )
    frame = frame.sort_values("observed_at").reset_index(drop=True)
    return frame.assign(stage=_stages(frame) if len(frame) else [])


def first_reached(store, stage: str, *, since=None, until=None) -> dict[str, pd.Timestamp]:
    """Per station, the first observation time at or above ``stage`` in the window."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    frame = store.read(
        "river_levels",
        since=to_utc(since) if since is not None else None,
        until=to_utc(until) if until is not None else None,
    ).sort_values("observed_at")
    if frame.empty:
        return {}
    frame = frame.assign(stage=_stages(frame))
    rank = {s: i for i, s in enumerate(("normal", *STAGES))}
    hit = frame[frame["stage"].map(rank) >= rank[stage]]
    return hit.groupby("station_id")["observed_at"].min().to_dict()
