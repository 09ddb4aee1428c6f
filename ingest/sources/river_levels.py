"""River water levels of observation stations, with each station's thresholds from the config.

Reads the files the river data services let one download, by path or URL, each run:

* the DAT text of 国土交通省 水文水質データベース (www1.river.go.jp; Shift_JIS): a few header
  lines (``観測所名,…`` / ``観測所記号,…``), then either one row per observation
  ``YYYY/MM/DD,HH:MM,水位[,flag]`` (リアルタイム水位, 10-minute values) or one row per day
  ``YYYY/MM/DD,1時の水位,flag,2時の水位,flag,…,24時の水位,flag`` (時刻水位月表). ``24:00`` is
  the end of the day; ``-9999.99``, blanks, 欠測 and 閉局 are missing values;
* a CSV or JSON export with one observation per row/object: a station (``観測所記号`` /
  ``station_id``), a time (``日時`` / ``observed_at``, or ``日付`` + ``時刻``) and a level in metres
  (``水位`` / ``level_m``).

The thresholds (水防団待機水位, 氾濫注意水位, 避難判断水位, 氾濫危険水位) are not in these
files: they are configured per station (``stations`` in sources.toml) and kept on every row, so
a level is judged against the thresholds that applied when it was observed
(:func:`geodata.rivers.river_status`). Observations of stations not configured are left out
(counted in the run's ``other_stations``); missing values are left out (``missing``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import pandas as pd

from ingest.base import SourceError, first_of, lonlat_point, normalize_header, text_or_none
from ingest.sources import reading
from ingest.sources.files import FileSource

_DATE = re.compile(r"\d{4}/\d{1,2}/\d{1,2}")
_TIME = re.compile(r"\d{1,2}:\d\d")
HEADER_KEYS = ("観測所名", "観測所記号", "水系名", "河川名")
MISSING = ("", "-", "欠測", "閉局", "未登録", "$", "#")
STATION_KEYS = ("station_id", "観測所記号", "観測所コード", "stationcode", "obscd")
TIME_KEYS = ("observed_at", "日時", "観測日時", "time", "obstime", "datetime")
LEVEL_KEYS = ("level_m", "水位", "水位(m)", "level", "stg", "waterlevel")
THRESHOLDS = ("standby_m", "advisory_m", "evacuation_m", "danger_m")


def parse_dat(text: str) -> list[dict]:
    """The observations of a 水文水質データベース DAT file (see the module docstring)."""
    header: dict[str, str] = {}
    records: list[dict] = []
    for n, line in enumerate(text.splitlines(), 1):
        cells = [c.strip() for c in line.split(",")]
        key = cells[0].lstrip("#").strip()
        if _DATE.fullmatch(cells[0]):
            if len(cells) >= 3 and _TIME.fullmatch(cells[1]):
                flag = cells[3] if len(cells) > 3 else ""
                records.append({"日付": cells[0], "時刻": cells[1], "水位": cells[2],
                                "flag": flag, "_line": n})  # fmt: skip
            else:
                values = cells[1:]
                for hour in range(24):
                    value = values[2 * hour] if 2 * hour < len(values) else ""
                    flag = values[2 * hour + 1] if 2 * hour + 1 < len(values) else ""
                    records.append({"日付": cells[0], "時刻": f"{hour + 1}:00", "水位": value,
                                    "flag": flag, "_line": n})  # fmt: skip
        elif key in HEADER_KEYS and len(cells) > 1 and cells[1]:
            header[key] = cells[1]
    if not records and not header:
        raise SourceError("not a 水文水質データベース DAT file (no header, no observations)")
    for record in records:
        record["観測所記号"] = header.get("観測所記号")
        record["観測所名"] = header.get("観測所名")
    return records


def _time(record: dict) -> pd.Timestamp:
    value = first_of(record, TIME_KEYS)
    if value is None:
        date, clock = record.get("日付"), record.get("時刻")
        if not date or not clock:
            raise ValueError("no observation time (日時, or 日付 and 時刻)")
        hours, minutes = (int(p) for p in str(clock).split(":"))
        base = pd.Timestamp(str(date).replace("/", "-"))
        return (base + pd.Timedelta(hours=hours, minutes=minutes)).tz_localize("Asia/Tokyo")
    ts = pd.Timestamp(str(value).replace("/", "-"))
    return ts.tz_localize("Asia/Tokyo") if ts.tzinfo is None else ts


def _level(value) -> float | None:
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    text = text.rstrip("*$#").strip()
    if text in MISSING:
        return None
    level = float(text)
    return None if level <= -9999 else level


class RiverLevelSource(FileSource):
    """Water levels of configured observation stations from a file or URL.

    Parameters
    ----------
    name : configured source name.
    path, url : the file (a glob of several files is read in name order).
    stations : one table per station: ``id`` (観測所記号), ``name``, ``river``, the thresholds in
        metres ``standby_m`` (水防団待機水位), ``advisory_m`` (氾濫注意水位), ``evacuation_m``
        (避難判断水位), ``danger_m`` (氾濫危険水位), and ``lon`` / ``lat``. A file without a
        station code is read as the only configured station.
    format : ``dat``, ``csv`` or ``json`` (default: ``.dat`` files are DAT, else guessed).
    encoding : the text encoding (default: UTF-8, else Shift_JIS).
    """

    kind = "river_level"
    layer = "river_levels"
    poll_seconds = 600.0

    def __init__(self, name: str, *, stations: list[dict], **kwargs):
        super().__init__(name, **kwargs)
        if not stations:
            raise ValueError(f"{name}: configure at least one station (id, name, thresholds)")
        self.stations: dict[str, dict] = {}
        for station in stations:
            if not isinstance(station, dict) or not station.get("id"):
                raise ValueError(f"{name}: every station needs an id (観測所記号): {station!r}")
            values = [station.get(t) for t in THRESHOLDS]
            given = [float(v) for v in values if v is not None]
            if given != sorted(given):
                raise ValueError(f"{name}: station {station['id']}: thresholds must rise in the "
                                 f"order {', '.join(THRESHOLDS)}")  # fmt: skip
            self.stations[str(station["id"])] = dict(station)

    def fetch(self, since: str | None) -> Iterator[dict]:
        self._close()
        self._open()  # the digest (cursor), encodings and line ends of every file
        try:
            for opened in self._opened:
                opened.reopen()
                fmt = self.format or ("dat" if opened.location.lower().endswith(".dat") else None)
                if fmt == "dat":
                    # A month of hourly values at most: the text is parsed whole, decoded per
                    # line (a broken byte makes its value unreadable, not the file).
                    yield from parse_dat("".join(ln.text for ln in reading.iter_lines(opened)))
                else:
                    head = opened.handle.read(64)
                    opened.handle.seek(0)
                    fmt = fmt or reading.guess_format(opened.location, head)
                    yield from self._file_records(opened, fmt)
        finally:
            self._close()

    def normalize_record(self, record: dict) -> dict | None:
        if not isinstance(record, dict):
            raise TypeError(f"expected an observation, got {type(record).__name__}")
        record = {normalize_header(k): v for k, v in record.items()}
        code = text_or_none(first_of(record, STATION_KEYS))
        if code is None and len(self.stations) == 1:
            code = next(iter(self.stations))
        if code is None:
            raise ValueError("no station code (観測所記号) and several stations configured")
        station = self.stations.get(code)
        if station is None:
            self.notes["other_stations"] = self.notes.get("other_stations", 0) + 1
            return None
        level = _level(first_of(record, LEVEL_KEYS))
        if level is None:
            self.notes["missing"] = self.notes.get("missing", 0) + 1
            return None
        return {
            "station_id": code,
            "station_name": station.get("name") or text_or_none(record.get("観測所名")),
            "river": station.get("river"),
            "observed_at": _time(record),
            "level_m": level,
            **{t: station.get(t) for t in THRESHOLDS},
            "source": self.name,
            "geometry": lonlat_point(station.get("lon"), station.get("lat")),
        }
