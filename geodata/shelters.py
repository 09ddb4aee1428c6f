"""避難所: every question the HQ asks about shelters, answered once.

The shelters board, the wall screen, the overview and situation maps, the open-data CSV, CAP and
the data exports all call these; none of them decides on its own what "open" means, which
report is the current one, or how full a shelter is.

- **Open states** (開設中): 開設 and 満員 — a shelter with people in it, whose count and report
  age matter. The codes come from :data:`geodata.vocab.SHELTER_STATUSES`.
- **Current status**: the report with the newest ``reported_at``; a tie goes to the later write
  (higher ``version``). Not the last write: a file from another system loaded late may carry an
  older report, and an older report never replaces a newer one. The store's SQL
  (:meth:`geodata.store.core.Store.current_shelter_status`) and :func:`latest_reports` (pandas)
  both order by :data:`CURRENT_ORDER`.
- **Occupancy**: evacuees / capacity (:func:`occupancy_rate`) and its class 0–3 for 0–30, 30–60,
  60–80 and ≥80 % (:func:`occupancy_class`).
- **No report** is not 未開設: a shelter without any status record has status ``None``; printed
  outputs say :data:`NO_REPORT`, never an observation nobody made.
- **Summary**: shelters, open, full, evacuees and capacity of the open ones (:func:`summary`).
- **要配慮者**: a report counts people needing care per group (:data:`geodata.vocab.CARE_GROUPS`,
  columns ``care_<group>``). A blank is "not counted", never 0: a total over shelters adds the
  counted ones and says how many shelters counted (:func:`care_summary`); a group nobody
  counted is None.
- **Status at a time**: :func:`status_at` (current, or as of a past time).
- **A stale edit** (someone saved since the form was opened): :func:`merge_edit` merges it field
  by field — one value per status/count chosen, needs a three-way union, notes appended.

(Over 400 lines: the merge rule reads the same values, needs and report times as the rest, and
belongs beside the rule of which report is current; the 要配慮者 counts are fields of the same
reports.)

Examples
--------
>>> occupancy_class(occupancy_rate(45, 150))
1
>>> is_open("満員"), is_open("閉鎖"), is_open(None)
(True, False, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd

from geodata.schema import CARE_COLUMNS, CARE_GROUPS, NEEDS, STORE_CRS
from geodata.store.codec import stored_time  # noqa: F401 - callers use shelters.stored_time
from geodata.vocab import SHELTER_STATUSES

NOT_OPEN, OPEN, FULL, CLOSED = SHELTER_STATUSES.codes  # 未開設, 開設, 満員, 閉鎖
OPEN_STATES = (OPEN, FULL)  # a shelter with people in it: counts and report age matter
NO_REPORT = "報告なし"  # printed where a shelter has no status record (not 未開設)
# Which report is current: the newest report time, then the later write.
CURRENT_ORDER = ("reported_at", "version")
OCCUPANCY_BREAKS = (0.3, 0.6, 0.8)  # class boundaries; a boundary belongs to the upper class
STALE_AFTER = timedelta(hours=3)  # an open shelter's count nobody confirmed for 3 h
# What a shelter's status brings to an export of the shelters layer (no reporter, no note).
EXPORT_COLUMNS = ("status", "evacuees", "households", *CARE_COLUMNS, "reported_at")
# What a shelter's report brings to a row of the shelters layer (the report's own ``note`` and
# ``source`` stay out: the shelters layer has columns of those names).
STATUS_COLUMNS = (
    "status",
    "evacuees",
    "households",
    "needs",
    "reported_at",
    "reported_by",
    "version",
    *CARE_COLUMNS,
)
# 受入対象者 that make a 福祉避難所 (a shelter for people who need care, not the public).
WELFARE_TARGETS = ("要配慮者", "乳幼児", "高齢者", "障害者")
# GSI 共通ID: E + city (5) + facility (5) + type (2) + serial (1); type 12 = 福祉避難所.
_WELFARE_TYPE = "12"
_JST = ZoneInfo("Asia/Tokyo")
PUBLIC_CARE = "care_total"  # what a public read has instead of the per-group counts


def is_open(status) -> bool:
    """Whether ``status`` is an open state (開設 or 満員)."""
    return isinstance(status, str) and status in OPEN_STATES


def to_number(value) -> float | None:
    """A finite float, or None for null, text and infinities (counts, capacities)."""
    try:
        if value is None or pd.isna(value):
            return None
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def occupancy_rate(evacuees, capacity) -> float | None:
    """Evacuees as a share of capacity (1.0 = full); None when capacity is unknown or 0.

    An open shelter without a count is empty (0.0), not unknown.

    Examples
    --------
    >>> occupancy_rate(45, 150)
    0.3
    >>> occupancy_rate(10, None) is None
    True
    """
    capacity = to_number(capacity)
    if capacity is None or capacity <= 0:
        return None
    return (to_number(evacuees) or 0.0) / capacity


def occupancy_class(rate: float | None) -> int | None:
    """0..3 for 0–30 / 30–60 / 60–80 / ≥80 %; a boundary belongs to the upper class.

    Examples
    --------
    >>> [occupancy_class(r) for r in (0.0, 0.2999, 0.3, 0.5999, 0.6, 0.7999, 0.8, 1.5)]
    [0, 0, 1, 1, 2, 2, 3, 3]
    >>> occupancy_class(None) is None
    True
    """
    if rate is None:
        return None
    return sum(rate >= b for b in OCCUPANCY_BREAKS)


def report_age(reported_at, now: datetime) -> timedelta | None:
    """How long ago a report was made (never negative: a clock ahead of ours counts as 0)."""
    ts = stored_time(reported_at)
    if ts is None:
        return None
    return max(stored_time(now) - ts, pd.Timedelta(0)).to_pytimedelta()


def is_stale(status: str | None, age: timedelta | None, limit: timedelta = STALE_AFTER) -> bool:
    """Whether an open (or full) shelter's last report is older than ``limit`` (3 h).

    Examples
    --------
    >>> from datetime import timedelta as td
    >>> is_stale("開設", td(hours=3)), is_stale("開設", td(hours=3, seconds=1)), is_stale("閉鎖", td(days=1))
    (False, True, False)
    """
    return is_open(status) and age is not None and age > limit


def is_welfare(shelter: dict) -> bool:
    """Whether a shelter is a 福祉避難所: only for 要配慮者 (people who need care), not the public.

    Known from its 受入対象者 (``target``: 要配慮者, 高齢者, 障害者, 乳幼児 …) or, when that is
    empty, from the type digits of its GSI 共通ID (12 = 福祉避難所).

    Examples
    --------
    >>> is_welfare({"target": "要配慮者"}), is_welfare({"source_ids": ["E1321100039121"]})
    (True, True)
    >>> is_welfare({"target": None, "source_ids": ["E1320800001111"]})
    False
    """
    target = shelter.get("target")
    if isinstance(target, str) and any(t in target for t in WELFARE_TARGETS):
        return True
    ids = shelter.get("source_ids")
    ids = ids if isinstance(ids, (list, tuple)) else []
    return any(
        isinstance(i, str) and len(i) == 14 and i[0] == "E" and i[11:13] == _WELFARE_TYPE
        for i in ids
    )


def latest_reports(history: pd.DataFrame) -> pd.DataFrame:
    """The current report of each shelter in ``history`` (newest report time, then version).

    The same rule as the store's :meth:`~geodata.store.core.Store.current_shelter_status`, for
    a history read as a frame (e.g. up to a past time).
    """
    if history.empty:
        return history
    keys = [c for c in CURRENT_ORDER if c in history.columns]  # a frame without versions
    ordered = history.sort_values(keys, kind="stable")
    return ordered.drop_duplicates("shelter_id", keep="last").reset_index(drop=True)


def current_on_arrival(history: pd.DataFrame) -> pd.Series:
    """Which reports became the current one when they were stored (by shelter, in version order).

    A report that arrived after a newer one (an older file loaded late) joined the history
    without ever being current: it is no news to publish (CAP sends only these).
    """
    if history.empty:
        return pd.Series([], dtype=bool, index=history.index)
    ordered = history.sort_values(["shelter_id", "version"], kind="stable")
    times = pd.to_datetime(ordered["reported_at"], utc=True)
    newest_before = times.groupby(ordered["shelter_id"]).transform(lambda t: t.cummax().shift(1))
    became = newest_before.isna() | (times >= newest_before)  # a tie goes to the later write
    return became.reindex(history.index)


def same_report(a: dict, b: dict) -> bool:
    """Whether two reports of one shelter say the same (status, evacuees, households, needs).

    Examples
    --------
    >>> same_report({"status": "開設", "evacuees": 40}, {"status": "開設", "evacuees": 40.0})
    True
    """
    if a.get("status") != b.get("status"):
        return False
    if any(
        to_number(a.get(k)) != to_number(b.get(k))
        for k in ("evacuees", "households", *CARE_COLUMNS)
    ):
        return False
    return sorted(_needs(a.get("needs"))) == sorted(_needs(b.get("needs")))


def _needs(value) -> list[str]:
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return []


def with_status(shelters: pd.DataFrame, status: pd.DataFrame | None) -> pd.DataFrame:
    """``shelters`` with the columns of their report in ``status`` (one report per shelter).

    A shelter without a report keeps ``status`` None and no count: see :data:`NO_REPORT`.
    ``evacuees`` and ``households`` are nullable integers.
    """
    cols = ["shelter_id", *STATUS_COLUMNS]
    if status is not None and PUBLIC_CARE in status.columns:  # a public read: the total only
        cols = [c for c in cols if c not in CARE_COLUMNS] + [PUBLIC_CARE]
    status = pd.DataFrame(columns=cols) if status is None or status.empty else status
    status = status.reindex(columns=cols)
    base = shelters.drop(columns=[c for c in STATUS_COLUMNS if c in shelters.columns])
    merged = base.merge(status, on="shelter_id", how="left")
    merged["status"] = merged["status"].astype(object).where(merged["status"].notna(), None)
    for col in [c for c in ("evacuees", "households", "version", *CARE_COLUMNS) if c in cols]:
        merged[col] = pd.to_numeric(merged[col], errors="coerce").astype("Int64")
    merged["reported_at"] = pd.to_datetime(merged["reported_at"], utc=True)
    if isinstance(shelters, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(merged, geometry=shelters.geometry.name, crs=shelters.crs)
    return merged


def status_at(store, as_of=None, *, shelters: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Every shelter with its status at ``as_of`` (a UTC time; None: the current status).

    Parameters
    ----------
    store : a :class:`geodata.store.core.Store`.
    as_of : reports made after it are ignored; None reads the current status.
    shelters : the shelters to give a status (default: the whole ``shelters`` layer).

    Returns
    -------
    GeoDataFrame of the shelters plus :data:`STATUS_COLUMNS` (None where a shelter had no
    report by then).
    """
    shelters = store.read("shelters") if shelters is None else shelters
    if as_of is None:
        status = store.current_shelter_status()
    else:
        until = pd.Timestamp(as_of) + pd.Timedelta(microseconds=1)  # read() is t < until
        status = latest_reports(store.read("shelter_status", until=until))
    out = with_status(shelters, status)
    if not isinstance(out, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORE_CRS)
    return out


def summary(frame: pd.DataFrame) -> dict[str, int]:
    """The shelter figures of every KPI tile and table.

    Parameters
    ----------
    frame : one row per shelter with ``status``, ``evacuees`` and (optionally) ``capacity`` —
        e.g. :func:`status_at` or :func:`with_status`.

    Returns
    -------
    dict: ``shelters`` (all), ``reported`` (with a report), ``open`` (開設 + 満員), ``full``
    (満員), ``evacuees`` and ``capacity`` (summed over the open ones; a closed shelter's last
    count is not counted). The 要配慮者 of the open ones: :func:`care_summary`.
    """
    status = frame["status"] if "status" in frame else pd.Series([], dtype=object)
    open_now = status.isin(OPEN_STATES)

    def total(col: str) -> int:
        if col not in frame or not open_now.any():
            return 0
        return int(pd.to_numeric(frame.loc[open_now, col], errors="coerce").fillna(0).sum())

    return {
        "shelters": int(len(frame)),
        "reported": int(status.notna().sum()),
        "open": int(open_now.sum()),
        "full": int((status == FULL).sum()),
        "evacuees": total("evacuees"),
        "capacity": total("capacity"),
    }


def care_counts(report: dict) -> dict[str, int | None]:
    """The 要配慮者 counts of one report per group (None: not counted).

    Examples
    --------
    >>> care_counts({"care_elderly": 12, "care_infants": 0})["elderly"], care_counts({})["infants"]
    (12, None)
    """
    out = {}
    for group, column in zip(CARE_GROUPS, CARE_COLUMNS, strict=True):
        number = to_number(report.get(column))
        out[group] = None if number is None else int(number)
    return out


def care_total(report: dict) -> int | None:
    """All 要配慮者 of one report (None when no group was counted; 0 when counted as none).

    Examples
    --------
    >>> care_total({"care_elderly": 3, "care_infants": 2}), care_total({}), care_total({"care_other": 0})
    (5, None, 0)
    """
    counted = [n for n in care_counts(report).values() if n is not None]
    return sum(counted) if counted else None


def care_summary(frame: pd.DataFrame, *, open_only: bool = True) -> dict:
    """The 要配慮者 over the (open) shelters of ``frame`` (one report per shelter).

    Like :func:`summary`'s evacuees, a closed shelter's last count is not counted
    (``open_only``).

    Returns
    -------
    dict: ``care`` (group -> the sum over the shelters that counted that group, None when none
    did), ``care_total`` (the sum of every counted group, None when no shelter counted any) and
    ``care_counted`` (how many shelters counted at least one group: the total covers those only).
    """
    if open_only and len(frame):
        frame = frame[frame["status"].isin(OPEN_STATES)] if "status" in frame else frame.iloc[:0]
    groups: dict[str, int | None] = dict.fromkeys(CARE_GROUPS)
    counted_shelters = 0
    for rec in frame.to_dict("records") if len(frame) else []:
        counts = care_counts(rec)
        if any(n is not None for n in counts.values()):
            counted_shelters += 1
        for group, n in counts.items():
            if n is not None:
                groups[group] = (groups[group] or 0) + n
    counted = [n for n in groups.values() if n is not None]
    return {
        "care": groups,
        "care_total": sum(counted) if counted else None,
        "care_counted": counted_shelters,
    }


# -- a stale edit, merged field by field ----------------------------------------------------------

# one value wins: the staff member picks (the 要配慮者 counts too: a count is not a union)
CHOSEN_FIELDS = ("status", "evacuees", "households", *CARE_COLUMNS)
NOTE_STAMP = "【{time} {by}】"  # who wrote an appended part of a note, and when (JST)


@dataclass(frozen=True)
class MergedEdit:
    """The outcome of :func:`merge_edit`.

    Attributes
    ----------
    fields : the record to save (status, evacuees, households, needs, note).
    conflicts : the fields of :data:`CHOSEN_FIELDS` both sides changed to different values.
    unresolved : the conflicts without a choice (``fields`` holds *theirs* for them: nothing
        stored is overwritten unseen); save only when it is empty.
    origin : per field, where its value comes from: ``same``, ``mine``, ``theirs`` or
        ``merged`` (needs and notes of both).
    """

    fields: dict
    conflicts: tuple[str, ...]
    unresolved: tuple[str, ...]
    origin: dict


def _same_value(name: str, a, b) -> bool:
    if name in ("evacuees", "households", *CARE_COLUMNS):
        return to_number(a) == to_number(b)
    if name == "needs":
        return set(_needs(a)) == set(_needs(b))
    return (a or None) == (b or None)


def _merge_needs(base, mine, theirs) -> list[str]:
    """Three-way union: what either side added stays, what either side removed goes."""
    base_set, mine_set, theirs_set = set(_needs(base)), set(_needs(mine)), set(_needs(theirs))
    kept = base_set & mine_set & theirs_set
    added = (mine_set - base_set) | (theirs_set - base_set)
    chosen = kept | added
    order = {n: i for i, n in enumerate(NEEDS)}
    return sorted(chosen, key=lambda n: (order.get(n, len(order)), n))


def _stamp(by, at) -> str:
    ts = stored_time(at)
    when = "—" if ts is None else f"{ts.tz_convert(_JST):%m/%d %H:%M}"
    return NOTE_STAMP.format(time=when, by=(str(by).strip() if by else "—"))


def _merge_note(base, mine, theirs, *, mine_by, mine_at, theirs_by, theirs_at) -> str | None:
    """Both notes kept: the common start once, then each side's text with its author and time."""
    base_text, mine_text, theirs_text = ((v or "").strip() for v in (base, mine, theirs))
    if base_text and mine_text.startswith(base_text) and theirs_text.startswith(base_text):
        head = [base_text]
        mine_text = mine_text[len(base_text) :].strip()
        theirs_text = theirs_text[len(base_text) :].strip()
    else:
        head = []
    parts = head + [
        _stamp(by, at) + text
        for by, at, text in ((theirs_by, theirs_at, theirs_text), (mine_by, mine_at, mine_text))
        if text
    ]
    return "\n".join(parts) or None


def merge_edit(
    base: dict | None,
    mine: dict,
    theirs: dict | None,
    choices: dict | None = None,
    *,
    mine_by: str | None = None,
    mine_at=None,
) -> MergedEdit:
    """Merge a staff member's edit with a report saved since their form was opened.

    The shelter form calls it when the store refuses a stale save
    (:class:`geodata.store.core.StaleVersion`): nothing anyone else wrote is dropped unseen.

    Parameters
    ----------
    base : the report the form was opened on (None: the shelter had none).
    mine : the form's fields (status, evacuees, households, the 要配慮者 counts, note; needs
        when the caller edits them). A field ``mine`` does not hold was not edited: it counts
        as the base's value (the dashboard's form sends no needs, so a stored needs list, an
        import's, is kept as the newer report has it).
    theirs : the report stored meanwhile (its ``reported_by`` and ``reported_at`` sign its part
        of an appended note).
    choices : field -> ``"mine"`` / ``"theirs"`` for the conflicts (status and counts).
    mine_by, mine_at : who is saving, and when (default now), for the note's stamp.

    Returns
    -------
    MergedEdit. Rules per field:

    - status, evacuees, households: the side that changed it wins; when both changed it to
      different values it is a conflict, settled by ``choices``;
    - needs: a three-way union — a need either side added stays, a need either side removed
      from the base goes (one nobody removed is never dropped);
    - note: when both changed it, both are kept: the common start once, then theirs and mine,
      each stamped 【MM/DD HH:MM author】 (JST).

    Examples
    --------
    >>> m = merge_edit({"status": "開設", "evacuees": 10, "needs": []},
    ...                {"status": "開設", "evacuees": 12, "needs": ["water"]},
    ...                {"status": "満員", "evacuees": 10, "needs": ["food"]})
    >>> m.fields["status"], m.fields["evacuees"], m.fields["needs"], m.conflicts
    ('満員', 12, ['water', 'food'], ())
    """
    base, theirs, choices = base or {}, theirs or {}, choices or {}
    edited = ("needs", "note", *CHOSEN_FIELDS)
    mine = {**{name: base.get(name) for name in edited if name not in mine}, **mine}
    fields: dict = {}
    origin: dict = {}
    conflicts: list[str] = []
    unresolved: list[str] = []
    for name in CHOSEN_FIELDS:
        b, m, t = base.get(name), mine.get(name), theirs.get(name)
        if _same_value(name, m, t):
            fields[name], origin[name] = m, "same"
        elif _same_value(name, m, b):
            fields[name], origin[name] = t, "theirs"
        elif _same_value(name, t, b):
            fields[name], origin[name] = m, "mine"
        else:
            conflicts.append(name)
            pick = choices.get(name)
            if pick not in ("mine", "theirs"):
                unresolved.append(name)
                pick = "theirs"
            fields[name], origin[name] = (m if pick == "mine" else t), pick
    fields["needs"] = _merge_needs(base.get("needs"), mine.get("needs"), theirs.get("needs"))
    origin["needs"] = "merged"
    b, m, t = (d.get("note") for d in (base, mine, theirs))
    if _same_value("note", m, t) or _same_value("note", m, b):
        fields["note"], origin["note"] = (
            t or None,
            ("same" if _same_value("note", m, t) else "theirs"),
        )
    elif _same_value("note", t, b):
        fields["note"], origin["note"] = m or None, "mine"
    else:
        fields["note"] = _merge_note(
            b,
            m,
            t,
            mine_by=mine_by,
            mine_at=mine_at if mine_at is not None else datetime.now(_JST),
            theirs_by=theirs.get("reported_by") or theirs.get("source"),
            theirs_at=theirs.get("reported_at"),
        )
        origin["note"] = "merged"
    return MergedEdit(fields, tuple(conflicts), tuple(unresolved), origin)
