"""Who sees personal data: masking of frames, displaced points, town-level counts, log redaction.

Personal columns are declared once, per layer, in :mod:`geodata.schema` (``Layer.personal``);
posts add their URL (it names the author's account). A role that may not see personal data
(viewer, shelter_staff — see :func:`geodata.access.roles.sees_personal`) gets frames from
:func:`mask_frame` (outputs that leave the HQ follow the stricter policy of
:mod:`geodata.export.public` instead):

- personal columns are blanked (None), so the frame keeps its columns and maps still draw;
- rows that are persons (roster, safety replies, follow-ups) lose ``resident_id`` too, and their
  points are *displaced* (:func:`displace_points`): moved 100–300 m in a direction drawn from
  a keyed hash of the ~50 m cell the point lies in. The same place always moves the same way
  (re-renders cannot be averaged back to the home), every point lands at least 100 m from where
  it was, and without the key (kept out of the data file, geodata/access/keys.py) the move
  cannot be undone.
  Snapping to a 250 m grid was rejected: a home near a cell centre would stay within metres.
  Without a key the points are dropped instead;
- post texts keep their words but lose phone numbers, LINE user ids and @handles;
- safety replies are meant to be shown as town-level counts (:func:`geodata.safety.town_table`;
  in public outputs suppressed by :mod:`geodata.export.public`).

:class:`RedactingFilter` applies the same text rules to log records.

Over ~400 lines on purpose: every masking rule (columns, free text, logs, displaced points)
in one file, so a reviewer reads the whole policy for internal screens in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from geodata.access import keys
from geodata.access.roles import User, sees_personal
from geodata.schema import LAYERS, STORE_CRS

# Layers whose rows are persons: resident_id is hidden and points are displaced when masked.
PERSON_LAYERS = ("roster", "safety_replies", "follow_ups", "deliveries")
# Columns that are personal beyond schema.Layer.personal.
EXTRA_PERSONAL = {"posts": ("url",), "chronology": ("entered_by",)}
# Every personal column name: blanked also when a join brought it into a person layer's frame.
PERSONAL_NAMES = frozenset(c for layer in LAYERS.values() for c in layer.personal) | frozenset(
    c for cols in EXTRA_PERSONAL.values() for c in cols
)
MIN_DISPLACEMENT_M = 100.0
MAX_DISPLACEMENT_M = 300.0
_CELL_DEG = (0.0006, 0.0005)  # lon, lat: about 55 m × 55 m around 35°N
_GEOD = Geod(ellps="WGS84")

# -- text redaction -----------------------------------------------------------------------------

_D = "[0-9０-９]"
_SEP = "[-‐‑‒–—―−－ー‐()（）\\s]{0,2}"
PHONE = re.compile(
    rf"(?<![0-9０-９])(?:(?:\+|＋)(?:81|８１){_SEP}|[0０]){_D}{{1,4}}{_SEP}{_D}{{1,4}}{_SEP}{_D}{{3,4}}"
    rf"(?![0-9０-９])"
)
LINE_USER_ID = re.compile(r"\bU[0-9a-f]{32}\b")
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?")
_JA_FIELDS = (
    "氏名",
    "名前",
    "ふりがな",
    "フリガナ",
    "住所",
    "電話番号",
    "電話",
    "連絡先",
    "支援者",
)
_LOG_FIELDS = sorted(PERSONAL_NAMES - {"url"})  # a URL in a log is an HTTP source, not a person
# A value runs to a delimiter, to the next "key:" / "key=", or to the end of the line.
_UNTIL = r"(?=\s*(?:[,，、;；}\]\n]|[\"']?\w+[\"']?\s*[:：=]|$))"
_FIELD = re.compile(
    r"(?P<k>[\"']?\b(?:" + "|".join(_LOG_FIELDS) + r")\b[\"']?\s*[:=]\s*)"
    r"(?P<v>\[redacted\]|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|.+?" + _UNTIL + ")"
    r"|(?P<jk>(?:" + "|".join(_JA_FIELDS) + r")\s*[:：=]\s*)(?P<jv>\[redacted\]|.+?" + _UNTIL + ")",
    re.M,
)
REDACTED = "[redacted]"


def _phone(match: re.Match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return REDACTED if 10 <= digits <= 13 else match.group(0)


def _field(match: re.Match) -> str:
    if match.group("k") is not None:
        return match.group("k") + REDACTED
    return match.group("jk") + REDACTED


def redact_text(text: str | None, *, handles: bool = False) -> str | None:
    """``text`` without phone numbers, LINE user ids and ``key=value`` personal fields.

    Parameters
    ----------
    handles : also hide ``@handles`` (for post texts shown to viewers).

    Examples
    --------
    >>> redact_text("call 090-1234-5678 or 03(1234)5678, name='山田 花子'")
    'call [redacted] or [redacted], name=[redacted]'
    >>> redact_text("氏名：山田花子 電話：０９０１２３４５６７８")
    '氏名：[redacted] 電話：[redacted]'
    """
    if text is None or not isinstance(text, str):
        return text
    out = _FIELD.sub(_field, text)
    out = LINE_USER_ID.sub(REDACTED, out)
    out = PHONE.sub(_phone, out)
    if handles:
        out = HANDLE.sub("@" + REDACTED, out)
    return out


class RedactingFilter(logging.Filter):
    """A logging filter that redacts phone numbers and personal fields from every record.

    The message is formatted with its arguments first, then redacted (``record.args`` is
    cleared), and so is the text of an attached exception.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: keep the raw template
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Add a :class:`RedactingFilter` to ``logger`` (default: root) and all of its handlers.

    Handler filters see the records propagated from every child logger; call it after
    ``logging.basicConfig``. Calling it twice adds nothing.
    """
    logger = logger or logging.getLogger()
    found = next((f for f in logger.filters if isinstance(f, RedactingFilter)), None)
    filt = found or RedactingFilter()
    if found is None:
        logger.addFilter(filt)
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt


# -- masking --------------------------------------------------------------------------------------


def personal_columns(layer: str) -> tuple[str, ...]:
    """The personal columns of ``layer`` (schema ``Layer.personal`` plus post URLs)."""
    return tuple(LAYERS[layer].personal) + EXTRA_PERSONAL.get(layer, ())


def needs_masking(role: User | str | None) -> bool:
    """True unless the user or role may see personal data (``"public"`` is always masked)."""
    if role == "public" or role is None:
        return True
    return not sees_personal(role)


# Free-text columns that may mention residents: phones and known roster terms are redacted.
TEXT_COLUMNS = {
    "posts": ("text",),
    "field_reports": ("description",),
    "shelter_status": ("note",),
    "incidents": (),
    "chronology": ("text",),
}


class PersonalTerms:
    """The roster's names, kana, addresses and supporters, to redact from free text.

    Full values are matched with or without the space between family and given name (and
    with a full-width space). Lookup goes by the first two characters of each term, so
    thousands of names cost little per text.

    Examples
    --------
    >>> terms = PersonalTerms(["山田 花子", "調布市小島町二丁目35番地1"])
    >>> terms.redact("山田花子さんが調布市小島町二丁目35番地1に取り残されている")
    '[redacted]さんが[redacted]に取り残されている'
    """

    def __init__(self, values: Iterable[str | None]):
        index: dict[str, set[str]] = {}
        for value in values:
            if not isinstance(value, str):
                continue
            value = value.strip()
            for variant in {value, re.sub(r"\s+", "", value), re.sub(r"\s+", "\u3000", value)}:
                if len(variant) >= 3:
                    index.setdefault(variant[:2], set()).add(variant)
        self._index = {k: sorted(v, key=len, reverse=True) for k, v in index.items()}

    @classmethod
    def from_roster(cls, roster: pd.DataFrame) -> PersonalTerms:
        """The terms of a roster frame (columns name, kana, address, supporter)."""
        cols = [c for c in ("name", "kana", "address", "supporter") if c in roster.columns]
        return cls(v for c in cols for v in roster[c].astype(object))

    def __len__(self) -> int:
        return sum(len(v) for v in self._index.values())

    def redact(self, text: str | None) -> str | None:
        """``text`` with every known term replaced by ``[redacted]``."""
        if not isinstance(text, str) or not self._index:
            return text
        out, i = [], 0
        while i < len(text):
            for term in self._index.get(text[i : i + 2], ()):
                if text.startswith(term, i):
                    out.append(REDACTED)
                    i += len(term)
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)


def mask_frame(
    layer: str,
    frame: pd.DataFrame,
    role: User | str | None,
    *,
    key: bytes | None = None,
    terms: PersonalTerms | None = None,
) -> pd.DataFrame:
    """``frame`` of ``layer`` as ``role`` may see it (a copy when anything is hidden).

    Parameters
    ----------
    layer : the layer the rows come from.
    frame : rows of the layer (extra joined columns are allowed).
    role : a :class:`~geodata.access.roles.User`, a role name, or ``"public"``; operators and admins
        get ``frame`` back unchanged.
    key : the displacement key (:func:`displacement_key`); without it the points of person
        layers are dropped rather than displaced.
    terms : the roster's names and addresses (:meth:`PersonalTerms.from_roster`), redacted
        from free text (post texts, field-report descriptions, shelter notes).

    Returns
    -------
    The frame with personal columns blanked (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> posts = pd.DataFrame({"author": ["@tanaka"], "text": ["冠水 090-1111-2222"], "url": ["u"]})
    >>> mask_frame("posts", posts, "viewer").iloc[0].tolist()
    [None, '冠水 [redacted]', None]
    """
    if not needs_masking(role):
        return frame
    out = frame.copy()
    hide = set(personal_columns(layer))
    if layer in PERSON_LAYERS:
        hide |= PERSONAL_NAMES | {"resident_id"}
    for col in hide & set(out.columns):
        out[col] = pd.Series([None] * len(out), index=out.index, dtype=object)
    for col in set(TEXT_COLUMNS.get(layer, ())) & set(out.columns):
        texts = out[col].astype(object)
        if terms is not None:
            texts = [terms.redact(t) for t in texts]
        out[col] = pd.Series(
            [redact_text(t, handles=layer == "posts") for t in texts], index=out.index, dtype=object
        )
    if layer in PERSON_LAYERS and isinstance(out, gpd.GeoDataFrame) and out.geometry.name in out:
        geoms = out.geometry
        moved = displace_points(geoms, key) if key else gpd.GeoSeries([None] * len(out))
        out = out.set_geometry(gpd.GeoSeries(moved.values, index=out.index, crs=geoms.crs))
    return out


def displace_points(
    points: gpd.GeoSeries | Iterable,
    key: bytes,
    *,
    min_m: float = MIN_DISPLACEMENT_M,
    max_m: float = MAX_DISPLACEMENT_M,
) -> gpd.GeoSeries:
    """Move each point ``min_m``–``max_m`` metres in a direction drawn from its ~50 m cell.

    The azimuth and distance come from HMAC-SHA256(``key``, cell), so the result is
    deterministic, points of one cell move together (repeated views or repeated replies from
    one home cannot be averaged back), and the move cannot be undone without ``key``.
    Non-point and empty geometries become None. Works in EPSG:4326 (geodesic distances).

    Examples
    --------
    >>> import shapely
    >>> moved = displace_points([shapely.Point(139.54, 35.65)], b"k" * 32)
    >>> d = Geod(ellps="WGS84").inv(139.54, 35.65, moved[0].x, moved[0].y)[2]
    >>> 100 <= d <= 300
    True
    """
    if not key:
        raise ValueError("displace_points needs a key (see displacement_key)")
    series = points if isinstance(points, gpd.GeoSeries) else gpd.GeoSeries(list(points))
    geoms = np.asarray(series.values, dtype=object)
    out = np.empty(len(geoms), dtype=object)
    out[:] = None
    ok = np.array(
        [
            g is not None and getattr(g, "geom_type", "") == "Point" and not g.is_empty
            for g in geoms
        ],
        dtype=bool,
    )
    if ok.any():
        lon = np.array([g.x for g in geoms[ok]])
        lat = np.array([g.y for g in geoms[ok]])
        az = np.empty(len(lon))
        dist = np.empty(len(lon))
        for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
            cell = f"{math.floor(x / _CELL_DEG[0])}:{math.floor(y / _CELL_DEG[1])}"
            digest = hmac.new(key, cell.encode(), hashlib.sha256).digest()
            u1 = int.from_bytes(digest[:8], "big") / 2**64
            u2 = int.from_bytes(digest[8:16], "big") / 2**64
            az[i] = u1 * 360.0 - 180.0
            dist[i] = min_m + u2 * (max_m - min_m)
        new_lon, new_lat, _ = _GEOD.fwd(lon, lat, az, dist)
        out[ok] = gpd.points_from_xy(new_lon, new_lat)
    return gpd.GeoSeries(out, index=series.index, crs=series.crs or STORE_CRS)


def displacement_key(store=None) -> bytes:
    """The secret displacement key: from ``BOSAI_SECRET_KEY`` or the key file, never the store.

    Every process and dashboard replica using the same key file (or the same ``BOSAI_SECRET_KEY``)
    moves a point the same way. ``store`` is accepted for the callers that pass one; the key no
    longer lives in it (geodata/access/keys.py).
    """
    del store
    return keys.secret("displacement")


# -- town-level counts --------------------------------------------------------------------------


def reply_towns(
    replies: pd.DataFrame, roster: pd.DataFrame, towns: gpd.GeoDataFrame | None = None
) -> pd.Series:
    """The town of each reply: its resident's town, else the town its point lies in, else None."""
    home = dict(zip(roster["resident_id"], roster["town_code"], strict=False))
    out = pd.Series(
        [home.get(r) if r is not None else None for r in replies["resident_id"].astype(object)],
        index=replies.index,
        dtype=object,
    )
    if towns is not None and len(towns) and isinstance(replies, gpd.GeoDataFrame):
        todo = out.isna() & replies.geometry.notna() & ~replies.geometry.is_empty
        if todo.any():
            pts = gpd.GeoDataFrame(geometry=replies.geometry[todo], crs=replies.crs)
            hit = gpd.sjoin(pts, towns[["town_code", "geometry"]], how="left", predicate="within")
            hit = hit[~hit.index.duplicated(keep="first")]
            out.loc[hit.index] = (
                hit["town_code"].astype(object).where(hit["town_code"].notna(), None)
            )
    return out


def replies_by_town(
    replies: pd.DataFrame, roster: pd.DataFrame, towns: gpd.GeoDataFrame | None = None
) -> pd.DataFrame:
    """Reply rows per town and status: columns town_code (None = unknown), status, replies."""
    frame = pd.DataFrame(
        {
            "town_code": reply_towns(replies, roster, towns).fillna("").values,
            "status": replies["status"].astype(object).values,
        }  # fmt: skip
    )
    counts = frame.groupby(["town_code", "status"], dropna=False).size().rename("replies")
    counts = counts.reset_index().sort_values(["town_code", "status"], ignore_index=True)
    counts["town_code"] = pd.Series(
        [None if t == "" else t for t in counts["town_code"]], index=counts.index, dtype=object
    )
    return counts
