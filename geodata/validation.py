"""Column-wise validation of a frame against a layer (the engine behind ``schema.validate``).

Each column is coerced as a whole (pandas/numpy/shapely vectorized operations); only values that
need it fall back to a per-value parse. The first problem of a row, in column order, becomes its
rejection reason. 100k posts validate in well under a second.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.schema import (
    BOOL,
    FLOAT,
    INT,
    JSON,
    STORE_CRS,
    STR,
    TIME,
    Layer,
    SchemaError,
    empty_frame,
    geo_frame,
    to_utc,
)

_INT64_LIMIT = 2.0**63
_TRUE = {"1", "1.0", "true", "yes", "○", "〇", "◯", "y", "t", "有", "可"}
_FALSE = {"0", "0.0", "false", "no", "×", "n", "f", "-", "", "無", "不可"}
_TEXT_OR_NONE = {str, type(None)}
_LIST_OR_DICT = {list, dict}


def _nulls(values: np.ndarray) -> np.ndarray:
    """Boolean mask of missing values (None, NaN, NA, NaT, blank text) in an object array."""
    mask = pd.isna(values)
    if not any(issubclass(t, str) for t in set(map(type, values.tolist()))):
        return mask  # no text, so no blank text
    blank = np.fromiter(
        (isinstance(v, str) and (not v or v.isspace()) for v in values), bool, len(values)
    )
    return mask | blank


def _str_of(v) -> str | None:
    if isinstance(v, str):
        s = v.strip()
    elif isinstance(v, (float, np.floating)) and float(v).is_integer():
        s = str(int(v))
    else:
        s = str(v).strip()
    return s or None


def _coerce_str(values: np.ndarray):
    """Stripped text; None for missing values and blank text."""
    out = np.empty(len(values), dtype=object)
    texts = values.tolist()
    if set(map(type, texts)) <= _TEXT_OR_NONE:  # the usual column: strip in C, as below
        out[:] = list(map(str.strip, ["" if v is None else v for v in texts]))
        out[out == ""] = None
        return out, {}
    # A plain list comprehension: several times faster than indexing the object array.
    out[:] = [
        (v.strip() or None) if type(v) is str else None if missing else _str_of(v)
        for v, missing in zip(values, pd.isna(values).tolist(), strict=True)
    ]
    return out, {}


def _numbers(values: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, dict]:
    nums = np.full(len(values), np.nan)
    errors: dict[int, str] = {}
    for i in np.flatnonzero(~null):
        v = values[i]
        if isinstance(v, str):
            v = v.replace(",", "").replace("，", "").strip()
        try:
            if isinstance(v, (list, dict, tuple)):
                raise ValueError
            nums[i] = float(v)
        except (ValueError, TypeError, OverflowError):
            errors[i] = f"not a number: {values[i]!r}"[:120]
    return nums, errors


def _coerce_int(values: np.ndarray, null: np.ndarray):
    if values.dtype.kind in "iu":
        return pd.array(values, dtype="Int64"), {}
    nums, errors = _numbers(values, null)
    bad = ~np.isnan(nums) & ((nums != np.round(nums)) | ~np.isfinite(nums))
    for i in np.flatnonzero(bad):
        errors[int(i)] = f"not a whole number: {values[i]!r}"[:120]
    # Beyond a 64-bit integer no column can hold it (and pandas raises OverflowError for the
    # whole column): the row is rejected, the others go on.
    with np.errstate(invalid="ignore"):
        huge = ~bad & ~np.isnan(nums) & (np.abs(nums) >= _INT64_LIMIT)
    for i in np.flatnonzero(huge):
        errors[int(i)] = f"number too large: {values[i]!r}"[:120]
    bad |= huge
    nums[bad] = np.nan
    return pd.array(np.where(np.isnan(nums), None, nums), dtype="Int64"), errors


def _coerce_float(values: np.ndarray, null: np.ndarray):
    nums, errors = _numbers(values, null)
    bad = np.isinf(nums)
    for i in np.flatnonzero(bad):
        errors[int(i)] = f"not a finite number: {values[i]!r}"
    nums[bad] = np.nan
    return nums, errors


def _coerce_bool(values: np.ndarray, null: np.ndarray):
    out = np.empty(len(values), dtype=object)
    out[:] = None
    errors: dict[int, str] = {}
    for i in np.flatnonzero(~null):
        v = values[i]
        if isinstance(v, str):
            low = v.strip().lower()
            if low in _TRUE:
                out[i] = True
            elif low in _FALSE:
                out[i] = False
            else:
                errors[i] = f"not a yes/no flag: {v!r}"[:120]
        else:
            try:
                out[i] = bool(v)
            except (TypeError, ValueError):
                errors[i] = f"not a yes/no flag: {v!r}"[:120]
    return pd.array(out, dtype="boolean"), errors


def _coerce_time(series: pd.Series, null: np.ndarray):
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").array, {}
    if dtype.kind == "M":
        return series.dt.tz_localize("Asia/Tokyo").dt.tz_convert("UTC").array, {}
    values = series.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    out[:] = None
    errors: dict[int, str] = {}
    todo = ~null
    # Fast paths (the usual cases): times that carry their offset need no per-value parse.
    # Naive times and anything else go through to_utc one by one (naive = JST).
    aware = np.fromiter(
        (isinstance(v, datetime) and v.tzinfo is not None for v in values), bool, len(values)
    )
    aware &= todo
    if aware.any():
        out[aware] = values[aware]
        todo &= ~aware
    if todo.any():
        iso = todo & np.fromiter((isinstance(v, str) for v in values), bool, len(values))
        if iso.any():
            texts = pd.Series(values[iso], dtype=object)
            iso[iso] = texts.str.fullmatch(_ISO_AWARE).fillna(False).to_numpy(dtype=bool)
        if iso.any():
            parsed = pd.to_datetime(
                pd.Series(values[iso], dtype=object), utc=True, format="ISO8601", errors="coerce"
            )
            good = parsed.notna().to_numpy()
            idx = np.flatnonzero(iso)[good]
            out[idx] = parsed[good].to_numpy(dtype=object)
            todo[idx] = False
    for i in np.flatnonzero(todo):
        try:
            out[i] = to_utc(values[i])
        except (ValueError, TypeError, OverflowError) as exc:
            errors[i] = f"not a time: {values[i]!r} ({type(exc).__name__})"[:160]
    # the UTC datetime array (its Timestamps as objects cost a conversion each way)
    return pd.to_datetime(pd.Series(out, dtype=object), utc=True).array, errors


# ISO 8601 date-time with an explicit offset: 2026-10-12T03:04:05.123Z, 2026-10-12 21:35:12+09:00
_ISO_AWARE = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:?\d\d)"


def _coerce_json(values: np.ndarray, null: np.ndarray):
    out = np.empty(len(values), dtype=object)
    if set(map(type, values.tolist())) <= _LIST_OR_DICT:  # nothing to parse (as below)
        out[:] = values
        return out, {}
    out[:] = None
    errors: dict[int, str] = {}
    for i in range(len(values)):
        v = values[i]
        if isinstance(v, (list, dict)):
            out[i] = v
            continue
        if null[i]:
            continue
        try:
            if isinstance(v, str):
                v = json.loads(v)
            elif isinstance(v, (tuple, np.ndarray)):
                v = list(v)
            if not isinstance(v, (list, dict)):
                raise ValueError
            out[i] = v
        except (ValueError, TypeError):
            errors[i] = f"not a list or mapping: {values[i]!r}"[:120]
    return out, errors


def _json_nulls(values: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(values), dtype=bool)
    if set(map(type, values.tolist())) <= _LIST_OR_DICT:  # none missing (as below)
        return mask
    for i, v in enumerate(values):
        if isinstance(v, (list, dict, tuple, np.ndarray)):
            continue
        mask[i] = (
            v is None
            or (isinstance(v, float) and math.isnan(v))
            or v is pd.NA
            or (isinstance(v, str) and not v.strip())
        )
    return mask


def _geometry_reasons(geoms: np.ndarray, layer: Layer) -> np.ndarray:
    reasons = np.empty(len(geoms), dtype=object)
    reasons[:] = None
    is_geom = np.array([g is None or isinstance(g, shapely.Geometry) for g in geoms])
    for i in np.flatnonzero(~is_geom):
        reasons[i] = "geometry: not a geometry"
    safe = np.where(is_geom, geoms, None)
    missing = shapely.is_missing(safe) | shapely.is_empty(safe)
    if layer.geometry_required:
        reasons[missing & is_geom] = "missing geometry"
    present = ~missing & is_geom
    types = shapely.get_type_id(safe)
    if layer.geometry == "point":
        wrong = present & (types != 0)
        for i in np.flatnonzero(wrong):
            reasons[i] = f"expected a point, got {geoms[i].geom_type}"
    elif layer.geometry == "polygon":
        wrong = present & ~np.isin(types, (3, 6))
        for i in np.flatnonzero(wrong):
            reasons[i] = f"expected a polygon, got {geoms[i].geom_type}"
    else:
        wrong = np.zeros(len(geoms), dtype=bool)
    bounds = shapely.bounds(safe)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(bounds).all(axis=1)
        inside = (
            (bounds[:, 0] >= -180)
            & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90)
            & (bounds[:, 3] <= 90)
        )
    check = present & ~wrong
    for i in np.flatnonzero(check & ~finite):
        reasons[i] = "coordinates are not finite"
    for i in np.flatnonzero(check & finite & ~inside):
        reasons[i] = f"coordinates outside lon/lat range ({bounds[i, 0]:.1f}, {bounds[i, 1]:.1f})"
    return reasons


def validate_frame(frame: pd.DataFrame, layer: Layer):
    """See :func:`geodata.schema.validate`."""
    if layer.geometry:
        if not isinstance(frame, gpd.GeoDataFrame):
            raise SchemaError(f"{layer.name}: expected a GeoDataFrame, got {type(frame).__name__}")
        if frame.crs is None:
            raise SchemaError(
                f"{layer.name}: the frame has no CRS; set it (e.g. EPSG:4326 for lon/lat, "
                "EPSG:6677 for JGD2011 plane-rectangular zone IX) before validating"
            )
        if len(frame) and not frame.crs.equals(STORE_CRS):
            frame = frame.to_crs(STORE_CRS)
    n = len(frame)
    if n == 0:
        return empty_frame(layer), pd.DataFrame(columns=["raw", "reason"])
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        frame = frame.reset_index(drop=True)
    reasons = np.empty(n, dtype=object)
    reasons[:] = None
    out: dict[str, object] = {}
    nulls: dict[str, np.ndarray] = {}
    for col, kind in layer.columns.items():
        if col in frame.columns:
            series = frame[col]
        else:
            series = pd.Series([None] * n, dtype=object)
        values = series.to_numpy(dtype=object) if kind != TIME else None
        if kind == JSON:
            null = _json_nulls(values)
        elif kind == TIME:
            if series.dtype == object:
                null = _nulls(series.to_numpy(dtype=object))
            elif series.dtype.kind != "M":
                null = pd.isna(series.to_numpy(dtype=object))
            else:
                null = series.isna().to_numpy()
        elif kind == STR:
            null = None  # found while coercing: blank text is missing
        else:
            null = _nulls(values)
        if kind == STR:
            coerced, errors = _coerce_str(values)
            null = pd.isna(values) | (coerced == None)  # noqa: E711 - elementwise
        elif kind == INT:
            coerced, errors = _coerce_int(
                series.to_numpy() if series.dtype.kind in "iu" else values, null
            )
        elif kind == FLOAT:
            coerced, errors = _coerce_float(values, null)
        elif kind == BOOL:
            coerced, errors = _coerce_bool(values, null)
        elif kind == TIME:
            coerced, errors = _coerce_time(series, null)
        elif kind == JSON:
            coerced, errors = _coerce_json(values, null)
        else:
            raise SchemaError(f"unknown column kind {kind}")
        for i, msg in errors.items():
            if reasons[i] is None:
                reasons[i] = f"{col}: {msg}"
        out[col] = coerced
        nulls[col] = null | np.isin(np.arange(n), list(errors)) if errors else null
    for col in dict.fromkeys(layer.key + layer.required):
        for i in np.flatnonzero(nulls[col]):
            if reasons[i] is None:
                reasons[i] = f"missing {col}"
            elif reasons[i].startswith("missing ") and col not in reasons[i]:
                reasons[i] += f", {col}"
    for col, allowed in layer.choices.items():
        vals = np.asarray(out[col], dtype=object)
        bad = ~nulls[col] & ~np.isin(vals, np.asarray(allowed, dtype=object))
        for i in np.flatnonzero(bad):
            if reasons[i] is None:
                reasons[i] = f"{col}: {vals[i]!r} is not one of {', '.join(map(str, allowed))}"
    geoms = None
    if layer.geometry:
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geo_reasons = _geometry_reasons(geoms, layer)
        take = (reasons == None) & (geo_reasons != None)  # noqa: E711 - elementwise
        reasons[take] = geo_reasons[take]
    ok = reasons == None  # noqa: E711 - elementwise
    # Explicit object dtype: pandas 3 would infer a string dtype and turn None into NaN.
    df = pd.DataFrame(
        {
            c: pd.Series(out[c], dtype=object) if kind in (STR, JSON) else out[c]
            for c, kind in layer.columns.items()
        }
    )
    for col, kind in layer.columns.items():
        dtype = df[col].dtype
        if kind == TIME and not (isinstance(dtype, pd.DatetimeTZDtype) and dtype.tz is UTC):
            df[col] = pd.to_datetime(df[col], utc=True)
        elif kind == FLOAT and dtype != "float64":
            df[col] = df[col].astype("float64")
    rejected = [{"raw": _raw_text(frame, i), "reason": reasons[i]} for i in np.flatnonzero(~ok)]
    valid = df if ok.all() else df[ok].reset_index(drop=True)
    if layer.geometry:
        kept = geoms[ok]
        kept = np.where(
            shapely.is_empty(np.where(np.array([g is None for g in kept]), None, kept)), None, kept
        )
        valid = geo_frame(valid, kept)
    dup = valid.duplicated(subset=list(layer.key), keep="last")
    if dup.any():
        for i in np.flatnonzero(dup.to_numpy()):
            row = valid.iloc[i].to_dict()
            row.pop("geometry", None)
            rejected.append(
                {
                    "raw": json.dumps(row, ensure_ascii=False, default=str)[:2000],
                    "reason": "duplicate key in batch",
                }
            )
        valid = valid[~dup.to_numpy()].reset_index(drop=True)
    return valid, pd.DataFrame(rejected, columns=["raw", "reason"])


def _raw_text(frame: pd.DataFrame, i: int, limit: int = 2000) -> str:
    row = frame.iloc[i].to_dict()
    geom = row.pop("geometry", None) if isinstance(frame, gpd.GeoDataFrame) else None
    if isinstance(geom, shapely.Geometry):
        row["geometry"] = geom.wkt[:200]
    return json.dumps(row, ensure_ascii=False, default=str)[:limit]
