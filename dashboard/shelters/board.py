"""避難所 status board: pure helpers (labels, the board frame, sorting, validation).

The rules themselves — open states, occupancy, staleness, the summary — are
:mod:`geodata.shelters`; this module only shapes them for the page.

No streamlit here: the page and :mod:`dashboard.shelters.view` call these, tests call them
directly. Times are shown in Japan time (JST); the store keeps UTC.

Over ~400 lines on purpose: the board's table, its wall layout and its HTML cells are one view of
the same rows; the rules (open states, occupancy) live in :mod:`geodata.shelters`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from dashboard.i18n import t
from geodata import supplies
from geodata.export.map_style import OCCUPANCY_CLASSES, SHELTER_PALETTE, shelter_class
from geodata.schema import CARE_COLUMNS, NEEDS, SHELTER_STATUSES
from geodata.shelters import (
    CLOSED,
    NOT_OPEN,
    OPEN_STATES,
    care_total,
    is_open,
    is_stale,
    is_welfare,
    occupancy_class,
    occupancy_rate,
    report_age,
    stored_time,
    to_number,
)
from geodata.shelters import summary as shelter_summary

JST = "Asia/Tokyo"
ORDERS = ("occupancy", "oldest", "evacuees", "name")
# what staff update on the form (the 要配慮者 counts too); not ``needs``: supplies are asked for
# as supply requests, and a stored needs list carries over to each new report unchanged
FIELDS = ("status", "evacuees", "households", *CARE_COLUMNS, "note")

# Cell colours of the board, from the one shelter palette (geodata/export/map_style.py): the
# occupancy cell by class, the status cell by the shelter's colour class — the colour its map
# marker has. (background, text) pairs.
CLASS_STYLES = tuple(
    (SHELTER_PALETTE[c]["fill"], SHELTER_PALETTE[c]["text"]) for c in OCCUPANCY_CLASSES
)


def status_style(status, occupancy) -> tuple[str, str]:
    """(background, text) of a status cell: the palette's colour of the shelter's class."""
    entry = SHELTER_PALETTE[shelter_class(status, occupancy)]
    return entry["fill"], entry["text"]


STALE_STYLE = ("#ffd400", "#000000")  # signal yellow: a count nobody has confirmed for 3 h

BOARD_COLUMNS = (
    "shelter_id",
    "name",
    "status",
    "status_label",
    "evacuees",
    "households",
    "capacity",
    "capacity_label",
    "rate",
    "occupancy",
    "needs_label",
    "reported_at",
    "reported_label",
    "age_label",
    "stale",
    "reported_by",
    "version",
    "welfare",
    "welfare_label",
    "care_total",
    "care_label",
    "supplies_label",
    "urgent",
)


def format_age(age: timedelta | None, lang: str = "ja") -> str:
    """「42分前」, 「3時間5分前」, 「2日前」 (or English); 「報告なし」 for None.

    Examples
    --------
    >>> from datetime import timedelta as td
    >>> [format_age(td(minutes=m)) for m in (0.5, 42, 180, 185, 60 * 49)]
    ['1分未満', '42分前', '3時間前', '3時間5分前', '2日前']
    >>> format_age(td(minutes=42), lang="en")
    '42 min ago'
    """
    if age is None:
        return t("shelters.age.none", lang=lang)
    minutes = int(age.total_seconds() // 60)
    if minutes < 1:
        return t("shelters.age.now", lang=lang)
    if minutes < 60:
        return t("shelters.age.minutes", lang=lang, m=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        if rest == 0:
            return t("shelters.age.hours", lang=lang, h=hours)
        return t("shelters.age.hours_minutes", lang=lang, h=hours, m=rest)
    return t("shelters.age.days", lang=lang, d=hours // 24)


def format_time(reported_at, lang: str = "ja") -> str:
    """Report time in Japan time: ``11/24 14:05`` (empty for none)."""
    ts = stored_time(reported_at)
    if ts is None:
        return ""
    return ts.tz_convert(JST).strftime("%m/%d %H:%M")


def format_count(value) -> str:
    """``1,234`` or ``–``."""
    number = to_number(value)
    return "–" if number is None else f"{int(round(number)):,}"


def format_capacity(capacity, estimated, lang: str = "ja") -> str:
    """``約5,000`` when the capacity is an estimate, ``480`` when published, ``–`` unknown.

    Examples
    --------
    >>> format_capacity(5000, True), format_capacity(480, False), format_capacity(None, True)
    ('約5,000', '480', '–')
    >>> format_capacity(5000, True, lang="en")
    '~5,000'
    """
    if to_number(capacity) is None:
        return "–"
    text = format_count(capacity)
    return t("shelters.capacity.approx", lang=lang, n=text) if _flag(estimated) else text


def _flag(value) -> bool:
    """True for a set flag; False for False, None, NaN and pd.NA."""
    if value is None or value is pd.NA:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return bool(value)


def needs_list(value) -> list[str]:
    """The known needs of a stored value (JSON list), in :data:`geodata.schema.NEEDS` order."""
    if value is None or isinstance(value, float):
        return []
    chosen = {str(v) for v in value} if isinstance(value, (list, tuple, set)) else {str(value)}
    return [n for n in NEEDS if n in chosen]


def format_needs(value, lang: str = "ja") -> str:
    """``水・食料・毛布`` (``water, food, blankets``); empty when nothing is needed."""
    sep = "・" if lang == "ja" else ", "
    return sep.join(t(f"shelter_need.{n}", lang=lang) for n in needs_list(value))


def status_label(status, lang: str = "ja") -> str:
    """The status in the UI language; 「報告なし」 when the shelter has no report."""
    if isinstance(status, str) and status in SHELTER_STATUSES:
        return t(f"shelter_status.{status}", lang=lang)
    return t("shelters.no_report", lang=lang)


def board(
    shelters: pd.DataFrame,
    status: pd.DataFrame,
    now: datetime,
    lang: str = "ja",
    requests: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per shelter with its latest report, formatted for the board.

    Parameters
    ----------
    shelters : the ``shelters`` layer (shelter_id, name, capacity, capacity_estimated...).
    status : ``store.current_shelter_status()`` (latest row per shelter).
    now : the time ages are measured against (timezone-aware).
    lang : language of the labels.
    requests : the current supply requests (:func:`geodata.supplies.current`); their open ones
        are summed up per shelter (``supplies_label``, ``urgent``).

    Returns
    -------
    DataFrame with :data:`BOARD_COLUMNS`: raw values (``status``, ``evacuees``, ``rate``,
    ``occupancy`` class, ``stale``...) for sorting and filtering, and ``*_label`` texts;
    ``welfare`` (a 福祉避難所) with its 受入対象者, the 要配慮者 counted (``care_total``: None
    when not counted) and the open supply requests.
    """
    cols = ["shelter_id", "status", "evacuees", "households", "needs", "reported_at"]
    cols += ["reported_by", "source", "version", *CARE_COLUMNS]
    latest = status.reindex(columns=cols) if len(status) else pd.DataFrame(columns=cols)
    base = shelters.reindex(
        columns=["shelter_id", "name", "capacity", "capacity_estimated", "target", "source_ids"]
    )
    merged = pd.DataFrame(base).merge(latest, on="shelter_id", how="left")
    wanted = supplies.per_shelter(requests, lang) if requests is not None else None
    per = {} if wanted is None else wanted.set_index("shelter_id").to_dict("index")
    migrated = supplies.migrated_reports(requests)
    rows = []
    for rec in merged.to_dict("records"):
        state = rec.get("status") if isinstance(rec.get("status"), str) else None
        rate = occupancy_rate(rec.get("evacuees"), rec.get("capacity")) if is_open(state) else None
        age = report_age(rec.get("reported_at"), now)
        rows.append(
            {
                "shelter_id": str(rec["shelter_id"]),
                "name": str(rec.get("name") or ""),
                "status": state,
                "status_label": status_label(state, lang),
                "evacuees": to_number(rec.get("evacuees")) if state else None,
                "households": to_number(rec.get("households")) if state else None,
                "capacity": to_number(rec.get("capacity")),
                "capacity_label": format_capacity(
                    rec.get("capacity"), rec.get("capacity_estimated"), lang
                ),
                "rate": rate,
                "occupancy": occupancy_class(rate),
                "needs_label": format_needs(rec.get("needs"), lang),
                "reported_at": stored_time(rec.get("reported_at")),
                "reported_label": format_time(rec.get("reported_at"), lang),
                "age_label": format_age(age, lang) if state else "",
                "stale": is_stale(state, age),
                "reported_by": _reporter(rec),
                "version": int(to_number(rec.get("version")) or 0),
                **_carried(rec, state, per.get(str(rec["shelter_id"])), lang, migrated),
            }
        )
    out = pd.DataFrame(rows, columns=list(BOARD_COLUMNS))
    for col in ("evacuees", "households", "capacity", "rate"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    out["occupancy"] = out["occupancy"].astype("Int64")
    return sort_board(out, "occupancy")


def _carried(rec: dict, state, wanted: dict | None, lang: str, migrated=None) -> dict:
    """What the shelter carries for the HQ: welfare, people needing care, supply requests.

    The open supply requests first (most urgent first), then the needs list of the current
    report (the quick list of the form, another system's file), unless the v11 migration
    already made requests of that very report's needs (``migrated``).
    """
    welfare = is_welfare(rec)
    target = rec.get("target") if isinstance(rec.get("target"), str) else ""
    care = care_total(rec) if state else None
    version = to_number(rec.get("version"))
    moved = version is not None and (str(rec["shelter_id"]), int(version)) in (migrated or ())
    legacy = format_needs(rec.get("needs"), lang) if state and not moved else ""
    listed = [wanted["label"]] if wanted else []
    if legacy:
        listed.append(t("supplies.legacy", lang=lang, needs=legacy))
    return {
        "welfare": welfare,
        "welfare_label": (target or t("shelters.welfare_badge", lang=lang)) if welfare else "",
        "care_total": care,
        "care_label": "–" if care is None else f"{care:,}",
        # open requests; a report's old needs list shows (marked old) until requests replace it
        "supplies_label": " ／ ".join(listed),
        "urgent": int(wanted["urgent"]) if wanted else 0,
    }


def _reporter(rec: dict) -> str:
    for key in ("reported_by", "source"):
        value = rec.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def sort_board(frame: pd.DataFrame, order: str) -> pd.DataFrame:
    """Sort the board: ``occupancy`` (open first, fullest first), ``oldest`` report first,
    ``evacuees`` (most first) or ``name``."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; one of {', '.join(ORDERS)}")
    work = frame.assign(_open=~frame["status"].isin(OPEN_STATES))
    if order == "occupancy":
        keys, asc = ["_open", "rate", "evacuees", "name"], [True, False, False, True]
    elif order == "oldest":
        keys, asc = ["_open", "reported_at", "name"], [True, True, True]
    elif order == "evacuees":
        keys, asc = ["evacuees", "name"], [False, True]
    else:
        keys, asc = ["name"], [True]
    work = work.sort_values(keys, ascending=asc, na_position="last", kind="stable")
    return work.drop(columns=["_open"]).reset_index(drop=True)


def filter_board(
    frame: pd.DataFrame,
    statuses: list[str] | None = None,
    classes: list[int] | None = None,
    stale_only: bool = False,
    search: str = "",
) -> pd.DataFrame:
    """Rows whose status is in ``statuses`` (``"none"`` = no report), whose occupancy class is
    in ``classes``, stale ones only, and whose name contains ``search``."""
    keep = pd.Series(True, index=frame.index)
    if statuses:
        wanted = frame["status"].fillna("none")
        keep &= wanted.isin(statuses)
    if classes:
        keep &= frame["occupancy"].isin(classes)
    if stale_only:
        keep &= frame["stale"]
    if search.strip():
        keep &= frame["name"].str.contains(search.strip(), regex=False, na=False)
    return frame[keep].reset_index(drop=True)


def summary(frame: pd.DataFrame) -> dict[str, int]:
    """Counts for the KPI tiles: open, full, shelters, evacuees (open/full), stale reports."""
    counts = shelter_summary(frame)
    return {
        "open": counts["open"],
        "full": counts["full"],
        "shelters": counts["shelters"],
        "evacuees": counts["evacuees"],
        "stale": int(frame["stale"].sum()),
    }


# -- the update form --------------------------------------------------------------------------


@dataclass
class Check:
    """The outcome of :func:`check_update`: errors block the write, warnings flag it."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_update(fields: dict, capacity=None, estimated=None, lang: str = "ja") -> Check:
    """Validate a staff update: no negative or fractional counts, a known status and needs;
    more evacuees than capacity is accepted but flagged, as are people in a shelter marked
    未開設 or 閉鎖.

    Examples
    --------
    >>> check_update({"status": "開設", "evacuees": -1}).errors
    ['避難者数に負の数は入力できません。']
    >>> check_update({"status": "開設", "evacuees": 130}, capacity=120).warnings[0][:22]
    '避難者数 130人が収容人数 120人を超え'
    """
    out = Check()
    if fields.get("status") not in SHELTER_STATUSES:
        out.errors.append(t("shelters.check.status", lang=lang))
    for name in ("evacuees", "households"):
        value = fields.get(name)
        if value is None:
            if name == "evacuees":
                out.errors.append(t("shelters.check.required", lang=lang))
            continue
        number = to_number(value)
        if number is None or number != int(number):
            out.errors.append(t(f"shelters.check.{name}_whole", lang=lang))
        elif number < 0:
            out.errors.append(t(f"shelters.check.{name}_negative", lang=lang))
    for name in CARE_COLUMNS:
        number = to_number(fields.get(name))
        if fields.get(name) is not None and (number is None or number != int(number) or number < 0):
            out.errors.append(t("shelters.check.care", lang=lang, group=field_label(name, lang)))
    unknown = [n for n in fields.get("needs") or [] if n not in NEEDS]
    if unknown:
        out.errors.append(t("shelters.check.needs", lang=lang, needs=", ".join(unknown)))
    if out.errors:
        return out
    evacuees = to_number(fields.get("evacuees")) or 0
    households = to_number(fields.get("households"))
    cap = to_number(capacity)
    if cap is not None and evacuees > cap:
        out.warnings.append(
            t(
                "shelters.check.over_capacity",
                lang=lang,
                n=format_count(evacuees),
                capacity=format_capacity(cap, estimated, lang),
            )
        )
    if fields["status"] in (NOT_OPEN, CLOSED) and evacuees > 0:
        out.warnings.append(
            t(
                "shelters.check.people_in_closed",
                lang=lang,
                status=status_label(fields["status"], lang),
            )
        )
    if households is not None and households > evacuees:
        out.warnings.append(t("shelters.check.households_over", lang=lang))
    return out


def field_label(name: str, lang: str = "ja") -> str:
    """The label of a form field (a 要配慮者 count: its group's word)."""
    if name in CARE_COLUMNS:
        return t(f"care_group.{name.removeprefix('care_')}", lang=lang)
    return t(f"shelters.field.{name}", lang=lang)


def conflict_rows(current: dict | None, mine: dict, lang: str = "ja") -> pd.DataFrame:
    """The newer stored values beside the user's input, one row per field.

    Columns: ``field`` (label), ``current``, ``mine``, ``differs`` (bool).
    """
    current = current or {}
    rows = []
    for name in FIELDS:
        now_value, my_value = current.get(name), mine.get(name)
        rows.append(
            {
                "field": field_label(name, lang),
                "current": _show(name, now_value, lang),
                "mine": _show(name, my_value, lang),
                "differs": _show(name, now_value, lang) != _show(name, my_value, lang),
            }
        )
    return pd.DataFrame(rows, columns=["field", "current", "mine", "differs"])


def show_value(name: str, value, lang: str = "ja") -> str:
    """One field of a report as the conflict screen shows it (``–`` for nothing)."""
    return _show(name, value, lang)


def _show(name: str, value, lang: str) -> str:
    if name == "status":
        return status_label(value, lang)
    if name in ("evacuees", "households", *CARE_COLUMNS):
        return format_count(value)
    if name == "needs":
        return format_needs(value, lang) or "–"
    return str(value).strip() if isinstance(value, str) and value.strip() else "–"


def history_frame(history: pd.DataFrame, lang: str = "ja") -> pd.DataFrame:
    """A shelter's reports for the chart and table: time (JST, naive), evacuees, status...

    Columns: ``time``, ``evacuees``, ``households``, ``status``, ``reported_by``, ``version``.
    """
    cols = ["time", "evacuees", "households", "status", "reported_by", "version"]
    if history is None or history.empty:
        return pd.DataFrame(columns=cols)
    times = pd.to_datetime(history["reported_at"], utc=True).dt.tz_convert(JST).dt.tz_localize(None)
    out = pd.DataFrame(
        {
            "time": times.values,
            "evacuees": pd.to_numeric(history["evacuees"], errors="coerce").values,
            "households": pd.to_numeric(history["households"], errors="coerce").values,
            "status": [status_label(s, lang) for s in history["status"]],
            "reported_by": [_reporter(r) for r in history.to_dict("records")],
            "version": pd.to_numeric(history["version"], errors="coerce").values,
        }
    )
    return out.sort_values(["time", "version"], kind="stable").reset_index(drop=True)


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:&")


def md_text(text) -> str:
    """``text`` for ``st.markdown`` / ``st.warning``: markdown, directives (``:red[...]``),
    math and HTML characters backslash-escaped, so outside text shows as typed.

    Examples
    --------
    >>> md_text("![x](http://e.example/a.png) *tanaka*")
    '\\\\!\\\\[x\\\\]\\\\(http\\\\://e\\\\.example/a\\\\.png\\\\) \\\\*tanaka\\\\*'
    """
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text or ""))
