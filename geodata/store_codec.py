"""Encoding of layer values to database values and back (times, JSON, geometry)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from geodata.schema import BOOL, FLOAT, INT, JSON, TIME


def db_time(value, postgres: bool):
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    ts = ts.tz_convert("UTC")
    dt = ts.to_pydatetime()
    return dt if postgres else dt.replace(tzinfo=None)


def encode_value(value, kind, postgres: bool):
    if value is None:
        return None
    if kind == TIME:
        return db_time(value, postgres)
    if kind == JSON:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def encode_column(series: pd.Series, kind: str, postgres: bool) -> list:
    if kind == TIME:
        times = pd.to_datetime(series, utc=True)
        if postgres:
            return [None if pd.isna(v) else v.to_pydatetime() for v in times]
        text = times.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        return [None if pd.isna(v) else v for v in text]
    if kind == JSON:
        return _json_texts(series)
    if kind == INT:
        return [None if v is pd.NA or v is None else int(v) for v in series.astype(object)]
    if kind == FLOAT:
        if series.dtype.kind == "f":
            values = series.to_numpy()
            return np.where(np.isnan(values), None, values).tolist()
        return [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in series.astype(object)
        ]
    if kind == BOOL:
        return [None if v is pd.NA or v is None else bool(v) for v in series.astype(object)]
    return [
        None if v is None or (isinstance(v, float) and math.isnan(v)) else v
        for v in series.to_numpy(dtype=object)
    ]


def _json_texts(series: pd.Series) -> list:
    """JSON text of each value; lists of strings (categories, matched terms) are few distinct
    values repeated, so their text is computed once per distinct list."""
    seen: dict[tuple, str] = {}
    out = []
    for v in series:
        if v is None:
            out.append(None)
        elif type(v) is list and all(type(x) is str for x in v):
            key = tuple(v)
            text = seen.get(key)
            if text is None:
                text = seen[key] = json.dumps(v, ensure_ascii=False, sort_keys=True)
            out.append(text)
        else:
            out.append(json.dumps(v, ensure_ascii=False, sort_keys=True))
    return out


def plain(record: dict) -> dict:
    """Turn pandas scalars of a record into plain Python values (NA -> None)."""
    out = {}
    for k, v in record.items():
        if v is pd.NA or v is pd.NaT or v is None:
            out[k] = None
        elif isinstance(v, float) and math.isnan(v):
            out[k] = None
        elif isinstance(v, pd.Timestamp):
            out[k] = v.to_pydatetime()
        elif isinstance(v, np.integer):
            out[k] = int(v)
        elif isinstance(v, np.floating):
            out[k] = float(v)
        elif isinstance(v, np.bool_):
            out[k] = bool(v)
        elif isinstance(v, datetime) and v.tzinfo is None:
            out[k] = v.replace(tzinfo=UTC)
        else:
            out[k] = v
    return out
