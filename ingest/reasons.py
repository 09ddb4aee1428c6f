"""Rejection reasons a person can act on: which row, which column, what was wrong, what was
expected.

Staff read the rejections on the admin page (Japanese first). A reason starts with the record's
place in its file (``status.csv 3行目``, ``5件目``), then the column as the file names it, then
what was wrong and what was expected; a short English tag in brackets (``[missing name]``) stays
the same across wordings, for scripts and English readers.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from geodata.schema import to_utc

FUTURE_TOLERANCE = pd.Timedelta(hours=1)  # a record time further ahead of the clock is rejected
TIME_LABELS = {"posted_at": "投稿日時", "reported_at": "報告日時", "replied_at": "回答日時"}


class RowError(ValueError):
    """A bad value in one record, said so that the staff reading the admin page can fix it.

    Parameters
    ----------
    column : the column (the file's own header where there is one), or None.
    message : what was wrong and what was expected, in Japanese.
    tag : a short fixed English tag (``missing name``), kept for scripts and English readers.
    """

    def __init__(self, column: str | None, message: str, tag: str | None = None):
        self.column, self.message, self.tag = column, message, tag
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.column}: {self.message}" if self.column else self.message
        return f"{text} [{self.tag}]" if self.tag else text


def reason_of(exc: BaseException) -> str:
    """A short rejection reason from an exception, in words a person can act on."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (KeyError, TypeError, AttributeError, IndexError)):
        text = f"{type(exc).__name__}: {text}"
    elif not isinstance(exc, RowError):
        for pattern, say in _PLAIN:
            found = pattern.fullmatch(text)
            if found:
                text = say.format(value=found["value"].replace("\n", " ")[:60])
                break
    return text[:500]


_PLAIN = (
    (re.compile(r"could not convert string to float: '?(?P<value>.*?)'?", re.S),
     "「{value}」は数として読めません"),
    (re.compile(r"not a time: '?(?P<value>.*?)'?", re.S),
     "「{value}」は日時として読めません（例: 2024-01-09 18:00、令和6年1月9日午後6時）"
     " [not a time]"),
)  # fmt: skip


def where(record) -> str:
    """The place of a record in its file, as a reason's prefix: ``status.csv 3行目 `` / ``5件目 ``."""
    if not isinstance(record, dict):
        return ""
    parts = [str(record["_file"])] if record.get("_file") else []
    if isinstance(record.get("_row"), int):
        parts.append(f"{record['_row']}行目")
    elif isinstance(record.get("_item"), int):
        parts.append(f"{record['_item']}件目")
    return " ".join(parts) + " " if parts else ""


def check_not_future(value, column: str, latest: pd.Timestamp) -> None:
    """Raise :class:`RowError` when ``value`` (a time) is later than ``latest``.

    A time years ahead is a typo (2099, 令和16年) or a wrong clock; stored, it would stay the
    "newest" report of its shelter or incident for years.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    if isinstance(value, pd.Timestamp) and value.tzinfo is not None:
        when = value
    else:
        try:
            when = to_utc(value)
        except (ValueError, TypeError, OverflowError):
            return  # not a time: the layer's validation says so
    if when is None or pd.isna(when) or when <= latest:
        return
    ahead = when - (latest - FUTURE_TOLERANCE)
    if ahead.days >= 365:
        span = f"約 {ahead.days // 365} 年"
    elif ahead.days >= 1:
        span = f"{ahead.days} 日"
    else:
        span = f"{ahead.seconds // 3600} 時間 {ahead.seconds % 3600 // 60} 分"
    tolerance = int(FUTURE_TOLERANCE / pd.Timedelta(hours=1))
    local = when.tz_convert("Asia/Tokyo").strftime("%Y-%m-%d %H:%M")
    raise RowError(
        TIME_LABELS.get(column, column),
        f"{local}（日本時間）は今より {span}先の時刻です（許容は {tolerance} 時間先まで）。"
        "年や時刻、時計の設定を確かめてください",
        "time in the future",
    )
