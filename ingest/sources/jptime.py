"""Japanese date-times as municipal files write them (和暦, 午前/午後, 年月日時分).

Naive times are Japan time (JST); everything returned is a UTC ``pandas.Timestamp``.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from geodata.schema import to_utc

ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925, "R": 2018, "H": 1988, "S": 1925}

_JP = re.compile(
    r"(?:(?P<era>令和|平成|昭和|R|H|S)\s*(?P<eyear>元|\d{1,2})|(?P<year>\d{4}))\s*[年./-]\s*"
    r"(?P<month>\d{1,2})\s*[月./-]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:\s*\(.\))?\s*"
    r"(?:(?P<ampm>午前|午後|AM|PM|am|pm)?\s*(?P<hour>\d{1,2})\s*(?:時|:)\s*"
    r"(?:(?P<minute>\d{1,2})\s*分?)?(?::(?P<second>\d{1,2}))?)?"
)


def parse_jp_time(text: str) -> pd.Timestamp | None:
    """The first Japanese date-time in ``text`` (None when there is none).

    令和N年 is 2018+N (令和元年 = 2019), 平成N年 1988+N; 午後 adds 12 hours (午後12時 is noon).

    Examples
    --------
    >>> parse_jp_time("人数_令和6年1月9日午後6時時点")
    Timestamp('2024-01-09 09:00:00+0000', tz='UTC')
    >>> parse_jp_time("2024年1月9日 8:30").isoformat()
    '2024-01-08T23:30:00+00:00'
    """
    s = unicodedata.normalize("NFKC", str(text))
    m = _JP.search(s)
    if not m:
        return None
    if m["era"]:
        year = ERAS[m["era"]] + (1 if m["eyear"] == "元" else int(m["eyear"]))
    else:
        year = int(m["year"])
    hour = int(m["hour"] or 0)
    if m["ampm"] in ("午後", "PM", "pm") and hour < 12:
        hour += 12
    elif m["ampm"] in ("午前", "AM", "am") and hour == 12:
        hour = 0
    minute, second = int(m["minute"] or 0), int(m["second"] or 0)
    local = pd.Timestamp(year, int(m["month"]), int(m["day"]), hour, minute, second)
    return local.tz_localize("Asia/Tokyo").tz_convert("UTC")


def parse_time(value) -> pd.Timestamp | None:
    """A time from ISO text, epoch seconds or milliseconds, or Japanese text.

    Raises ValueError when the value is not a time.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > 1e11:
        # Epoch milliseconds (LINE, ArcGIS, JavaScript exports): whole units, no float error.
        try:
            return pd.Timestamp(int(value), unit="ms", tz="UTC")
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"not a time: {value!r}") from exc
    if isinstance(value, str) and re.search(r"[年時令平昭午]|^\s*[RHS]\d", value):
        found = parse_jp_time(value)
        if found is not None:
            return found
    try:
        return to_utc(value)
    except (ValueError, TypeError, OverflowError) as exc:
        found = parse_jp_time(value) if isinstance(value, str) else None
        if found is not None:
            return found
        raise ValueError(f"not a time: {str(value)[:60]!r}") from exc
