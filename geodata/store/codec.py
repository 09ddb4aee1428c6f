"""Encoding of layer values to database values and back (times, JSON, geometry)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from geodata.schema import BOOL, FLOAT, INT, JSON, TIME


def db_time(value, postgres: bool):
    """``value`` as the store keeps times: aware UTC on PostGIS, naive UTC on SQLite (naive = UTC)."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    ts = ts.tz_convert("UTC")
    dt = ts.to_pydatetime()
    return dt if postgres else dt.replace(tzinfo=None)


def utc_datetime(value) -> datetime | None:
    """A time read back from the store (datetime or ISO text; naive = UTC) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stored_time(value) -> pd.Timestamp | None:
    """A stored time as a UTC timestamp (naive values are UTC, as the store returns them)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def encode_value(value, kind, postgres: bool):
    if value is None:
        return None
    if kind == TIME:
        return db_time(value, postgres)
    if kind == JSON:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def encode_column(series: pd.Series, kind: str, postgres: bool) -> list:
    """The database values of a layer column (None for missing values).

    The usual columns take vectorised paths; a column with values they do not expect (and
    each odd value of a text column) takes the per-value rule, so the result is the same.
    """
    if kind == TIME:
        times = pd.to_datetime(series, utc=True)
        if postgres:
            return [None if pd.isna(v) else v.to_pydatetime() for v in times]
        fast = _time_texts(times)
        if fast is not None:
            return fast
        text = times.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        return [None if pd.isna(v) else v for v in text]
    if kind == JSON:
        return _json_texts(series)
    if kind == INT:
        if series.dtype == "Int64" or _numpy_kind(series) in ("i", "u"):
            return _masked_list(series)
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
        if series.dtype == "boolean" or _numpy_kind(series) == "b":
            return _masked_list(series)
        return [None if v is pd.NA or v is None else bool(v) for v in series.astype(object)]
    values = series.to_numpy(dtype=object)
    out = values.tolist()
    # Only a missing-looking value (None, NaN, NA, NaT) may change: the per-value rule for it.
    for i in np.flatnonzero(pd.isna(values)).tolist():
        v = out[i]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out[i] = None
    return out


def _masked_list(series: pd.Series) -> list:
    """Python ints / bools of an integer or boolean column, None where it is missing."""
    if _numpy_kind(series):  # a numpy integer or bool column: nothing missing
        return series.to_numpy().tolist()
    missing = series.isna().to_numpy()
    out = series.to_numpy(dtype=series.dtype.numpy_dtype, na_value=0).tolist()
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out


def _numpy_kind(series: pd.Series) -> str:
    """The numpy kind of ``series`` ("i", "u", "b", ...), "" for a pandas extension dtype."""
    return series.dtype.kind if isinstance(series.dtype, np.dtype) else ""


# Times strftime formats like numpy's ISO text: years 1000-9999 (strftime pads no shorter year)
_TEXT_MIN = np.datetime64("1000-01-01T00:00:00", "us")
_TEXT_MAX = np.datetime64("9999-12-31T23:59:59.999999", "us")


def _time_texts(times: pd.Series) -> list | None:
    """``times`` (UTC) as ``%Y-%m-%d %H:%M:%S.%f`` text, None when missing; None (use
    strftime) for times numpy would write otherwise (sub-microsecond parts, odd years)."""
    if not len(times):
        return []
    naive = times.dt.tz_localize(None).to_numpy()
    nat = np.isnat(naive)
    us = naive.astype("datetime64[us]")
    if (us != naive)[~nat].any():  # a sub-microsecond part: strftime drops it
        return None
    good = us[~nat]
    if len(good) and ((good < _TEXT_MIN).any() or (good > _TEXT_MAX).any()):
        return None
    out = np.strings.replace(np.datetime_as_string(us, unit="us"), "T", " ").tolist()
    for i in np.flatnonzero(nat).tolist():
        out[i] = None
    return out


_TEXT_TYPES = {str, type(None)}
_NUMBER_TYPES = {int, float, bool, type(None)}


def row_hashes(columns: list[list], n: int) -> np.ndarray:
    """pandas' ``hash_pandas_object(frame, index=False)`` of a frame whose columns are the
    text (``astype(str)``) of each list of ``columns``: the store's row hash.

    Columns of text and None (most of them) are hashed as they are, all in one pass; the
    others go through ``astype(str)`` as before. Equal to the frame's hash (tested).
    """
    if not columns:
        return pd.util.hash_pandas_object(pd.DataFrame(index=range(n)), index=False).to_numpy()
    texts = []
    for values in columns:
        arr = np.empty(n, dtype=object)
        types = set(map(type, values))
        if types <= _TEXT_TYPES:
            arr[:] = values
        elif types <= _NUMBER_TYPES:  # astype(str) writes these as str() does (tested)
            arr[:] = [None if v is None or v != v else str(v) for v in values]
        else:
            series = pd.Series(values, dtype=object)
            arr = series.astype(str).to_numpy(dtype=object, na_value=None)
        texts.append(arr)
    flat = np.concatenate(texts)
    # As pandas hashes a column: a missing value is 2**64 - 1, a text the hash of its UTF-8
    # bytes (the same with or without categorizing first; without is faster here).
    missing = pd.isna(flat)
    hashed = np.full(len(flat), np.iinfo(np.uint64).max, dtype=np.uint64)
    hashed[~missing] = pd.util.hash_array(flat[~missing], categorize=False)
    hashed = hashed.reshape(len(columns), n)
    # pandas.core.util.hashing.combine_hash_arrays (CPython's tuple hash)
    num_items = len(columns)
    mult = np.uint64(1000003)
    out = np.zeros(n, dtype=np.uint64) + np.uint64(0x345678)
    for i in range(num_items):
        inverse_i = num_items - i
        out ^= hashed[i]
        out *= mult
        mult += np.uint64(82520 + inverse_i + inverse_i)
    out += np.uint64(97531)
    return out


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


def decode_record(kinds: dict, names: list[str], row) -> dict:
    """One database row as :meth:`FrameBuilder` then :func:`plain` make it, without a frame
    (``Store.get``: a frame of one row cost ~2 ms, mostly pandas per column)."""
    import shapely

    out = {}
    for name, value in zip(names, row, strict=True):
        kind = kinds.get(name)
        if name != "geometry" and kind is None:
            continue
        if value is None:
            out[name] = None
        elif name == "geometry":
            out[name] = shapely.from_wkb(bytes(value))
        elif kind == TIME:
            out[name] = utc_datetime(value)
        elif kind == INT:
            out[name] = int(value)
        elif kind == BOOL:
            out[name] = bool(value)
        elif kind == FLOAT:
            out[name] = None if math.isnan(value) else float(value)
        elif kind == JSON:
            out[name] = json.loads(value)
        else:
            out[name] = value
    return out


DECODE_CHUNK = 50_000  # rows decoded at a time by a read
_MEMO_LIMIT = 200_000  # distinct values kept per column for sharing


class FrameBuilder:
    """Database rows -> a layer frame, decoded chunk by chunk into compact columns.

    Reading a million posts row objects and then the frame from them held both at once; here
    each chunk of rows is turned into typed columns and dropped. Repeated texts of a column
    (platform, town code, triage...) and repeated category lists share one object per distinct
    value, up to ``_MEMO_LIMIT`` distinct values per column; the frame is equal to decoding all
    rows at once.
    """

    def __init__(self, layer, names: list[str], extra: dict[str, str] | None = None):
        self.layer = layer
        # extra: table columns outside the layer's spec (e.g. stored_at: TIME) -> their kind
        self.kinds = {**layer.columns, **(extra or {})}
        self.names = [n for n in names if n in self.kinds or n == "geometry"]
        self._index = [names.index(n) for n in self.names]
        self.parts: dict[str, list] = {n: [] for n in self.names}
        self._memo: dict[str, dict | None] = {n: {} for n in self.names}
        self.rows = 0

    def add(self, rows) -> None:
        """Decode ``rows`` (sequences in the order of ``names``)."""
        if not rows:
            return
        self.rows += len(rows)
        columns = list(zip(*rows, strict=True))
        for name, i in zip(self.names, self._index, strict=True):
            self.parts[name].append(self._column(name, columns[i]))

    def _column(self, name: str, values):
        import shapely

        kind = self.kinds.get(name)
        if name == "geometry":
            return shapely.from_wkb([None if g is None else bytes(g) for g in values])
        if kind == TIME:  # datetimes (PostgreSQL) or ISO 8601 texts (SQLite; naive = UTC)
            return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
        if kind == INT:
            return pd.Series(values, dtype=object).astype("Int64")
        if kind == BOOL:
            return pd.Series(values, dtype=object).astype("boolean")
        if kind == FLOAT:
            return pd.Series(values, dtype=object).astype("float64").to_numpy()
        out = np.empty(len(values), dtype=object)
        memo = self._memo[name]
        if kind == JSON:
            out[:] = _json_values(values, memo)
        elif memo is not None:
            # one shared object per distinct value (None maps to itself)
            out[:] = list(map(memo.setdefault, values, values))
        else:
            out[:] = values
        if memo is not None and len(memo) > _MEMO_LIMIT:
            self._memo[name] = None  # a column of mostly distinct values: nothing to share
        return out

    def frame(self) -> pd.DataFrame:
        """The decoded frame (a GeoDataFrame when ``geometry`` was read)."""
        from geodata.schema import geo_frame

        data = {}
        for name in self.names:
            parts = self.parts.pop(name)
            kind = self.kinds.get(name)
            if kind in (TIME, INT, BOOL):
                data[name] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            else:
                values = np.concatenate(parts) if len(parts) > 1 else parts[0]
                # Object dtype: pandas 3 would infer a string dtype and turn None into NaN.
                data[name] = pd.Series(values, dtype="float64" if kind == FLOAT else object)
        geoms = data.pop("geometry", None)
        df = pd.DataFrame(data)
        if geoms is not None:
            df = geo_frame(df, geoms.to_numpy())
        return df


def _json_values(values, memo: dict | None) -> list:
    """Parsed JSON texts; flat lists of strings are parsed once per distinct text (each row
    still gets its own list)."""
    loads = json.loads
    if memo is None:
        return [None if v is None else loads(v) for v in values]
    out: list = []
    append = out.append
    known = memo.get
    for v in values:
        parsed = known(v)  # (memo keys are texts: None is never found)
        if parsed is not None:
            append(parsed[:])
        elif v is None:
            append(None)
        else:
            parsed = loads(v)
            if type(parsed) is list and all(type(x) is str for x in parsed):
                memo[v] = parsed
                append(parsed[:])
            else:
                append(parsed)
    return out
