"""Shelter status (開設状況, 避難者数) from other systems' files: CSV, JSON or GeoJSON.

Columns (NFKC-normalized headers; first present wins):

============ ================================================================================
shelter      ``shelter_id``, ``避難所ID``, ``共通ID``, ``ID``; ``名称``, ``避難所名``, ``施設名``,
             ``name``; ``所在地_連結表記``, ``住所``, ``address``; a position (lat/lon, X/Y in
             ``crs``, or the GeoJSON geometry in the CRS the file declares)
status       ``開設状況``, ``状況``, ``状態``, ``status`` (開設/開設中/open, 満員/full,
             閉鎖/閉設/closed, 未開設) — else ``default_status`` (開設: an open-shelter list)
evacuees     ``避難者数``, ``人数``, ``避難人数``, ``evacuees``, or a column whose header carries the
             time: ``人数_令和6年1月9日午後6時時点`` (one status per such column)
households   ``世帯数``, ``避難世帯数``, ``households`` (also with a time in the header)
needs        ``不足物資``, ``ニーズ``, ``要望``, ``needs`` (水, 食料, 毛布 ... -> water, food ...)
time         ``更新日時``, ``報告日時``, ``日時``, ``reported_at``; else the header's time; else
             the file's modification time (Last-Modified for a URL)
============ ================================================================================

Every row becomes a status record of the stored shelter it names
(:class:`ShelterMatcher`); an unknown shelter is a rejection. ``source_id`` is a digest of
the file name, the row's shelter identity, its time and its values, so re-reading the file
appends nothing (``Store.append_shelter_status`` is idempotent on it).

Counts are read as a shelter clerk writes them (:func:`parse_count`): ``1,204``, ``85人``,
``40世帯``; an approximate count (``約120人``, ``80名程度``, ``100人以上``) is read as its number
and marked in ``note`` (「避難者数は概数（「約120人」）」) and in the run's ``warnings``; ``-``,
``不明``, ``集計中`` leave the count empty. A range, a negative or fractional number, a number over
:data:`MAX_COUNT` or words reject the row with what was expected.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from geodata.schema import empty_frame
from geodata.text.fingerprints import digest
from ingest.base import first_of, text_or_none
from ingest.reasons import RowError
from ingest.sources.files import FileSource
from ingest.sources.jptime import parse_jp_time, parse_time
from ingest.sources.positions import LAT, PLANE_X
from ingest.sources.shelter_match import ShelterMatcher

ID = ("shelter_id", "避難所ID", "共通ID", "ID", "id", "施設ID")
NAME = ("名称", "避難所名", "施設名", "施設・場所名", "name")
ADDRESS = ("所在地_連結表記", "住所", "所在地", "address")
STATUS = ("開設状況", "状況", "状態", "status", "開設状態")
EVACUEES = ("避難者数", "人数", "避難人数", "evacuees")
HOUSEHOLDS = ("世帯数", "避難世帯数", "households")
NEEDS = ("不足物資", "ニーズ", "要望", "needs", "必要物資")
NOTE = ("備考", "note", "メモ")
TIME = ("更新日時", "報告日時", "日時", "reported_at", "更新時刻", "時点")
BY = ("報告者", "reported_by", "入力者")

STATUS_WORDS = (
    ("未開設", "未開設"), ("not open", "未開設"), ("満員", "満員"), ("full", "満員"),
    ("閉鎖", "閉鎖"), ("閉設", "閉鎖"), ("closed", "閉鎖"), ("開設", "開設"), ("open", "開設"),
)  # fmt: skip
NEED_WORDS = (
    ("飲料水", "water"), ("水", "water"), ("食料", "food"), ("食糧", "food"), ("食べ物", "food"),
    ("毛布", "blankets"), ("医療", "medical"), ("医師", "medical"), ("看護", "medical"),
    ("電源", "power"), ("電気", "power"), ("発電", "power"), ("トイレ", "toilets"),
    ("ミルク", "milk"), ("医薬品", "medicine"), ("薬", "medicine"), ("人員", "staff"),
    ("職員", "staff"), ("スタッフ", "staff"),
)  # fmt: skip
_TIMED = re.compile(r"^(?P<what>避難者数|人数|避難人数|世帯数|避難世帯数)_?(?P<when>.+)$")
MAX_COUNT = 100_000  # persons (or households) in one shelter report; more is a typo
_APPROX_BEFORE = "約|およそ|凡そ|概ね|おおむね|大体|だいたい|ほぼ|推定|概算"
_APPROX_AFTER = "程度|くらい|ぐらい|位|前後|ほど|余り|あまり|余|強|弱|以上|超|\\+"
_COUNT = re.compile(
    rf"(?P<before>{_APPROX_BEFORE})?(?P<number>\d+(?:\.\d+)?)(?P<unit>人|名|世帯|戸)?"
    rf"(?P<after>{_APPROX_AFTER})?(?:人|名|世帯|戸)?"
)
_RANGE = re.compile(r"\d+(?:人|名|世帯)?[~〜\-−－ー]\d+\D*")
_UNKNOWN_COUNT = {"-", "ー", "―", "—", "－", "不明", "未集計", "集計中", "調査中", "確認中", "未確認",
                  "?", "？", "なし", "不詳"}  # fmt: skip


def parse_status_word(text: str | None) -> str | None:
    """開設 / 満員 / 閉鎖 / 未開設 from a status cell (None when empty or unknown)."""
    if not text:
        return None
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    for word, status in STATUS_WORDS:
        if word in t:
            return status
    return None


def parse_needs(text) -> list[str]:
    """The NEEDS values named in a cell (``水、毛布`` -> ``["water", "blankets"]``)."""
    if text is None:
        return []
    if isinstance(text, list):
        text = ",".join(map(str, text))
    t = unicodedata.normalize("NFKC", str(text)).lower()
    found = []
    for word, need in NEED_WORDS:
        if word in t and need not in found:
            found.append(need)
    for need in ("water", "food", "blankets", "medical", "power", "toilets", "milk", "medicine",
                 "staff"):  # fmt: skip
        if re.search(rf"\b{need}\b", t) and need not in found:
            found.append(need)
    return found


def parse_count(value, column: str = "避難者数") -> tuple[int | None, bool]:
    """(count, approximate) from a count cell as shelter staff write it (module docstring).

    Raises :class:`ingest.base.RowError` saying what was wrong and what was expected.

    Examples
    --------
    >>> parse_count("1,204"), parse_count("約120人"), parse_count("不明")
    ((1204, False), (120, True), (None, False))
    """
    if value is None or (isinstance(value, float) and value != value):
        return None, False
    if isinstance(value, bool):
        raise RowError(column, f"「{value}」は数ではありません（例: 120、約120人）")
    raw = str(value).strip()
    text = "".join(unicodedata.normalize("NFKC", raw).split()).replace(",", "")
    if not text or text in _UNKNOWN_COUNT:
        return None, False
    shown = raw[:40]
    if _RANGE.fullmatch(text) and not text.startswith(("-", "−")):
        raise RowError(
            column, f"「{shown}」は範囲です。1つの数（例: 120、約120人）を書いてください"
        )
    if re.fullmatch(r"[-−－ー]\s*\d+(?:\.\d+)?\D*", text):
        raise RowError(column, f"「{shown}」は負の数です。0 以上の数を書いてください")
    found = _COUNT.fullmatch(text)
    if not found:
        raise RowError(column, f"「{shown}」は数として読めません（例: 120、約120人）")
    number = float(found["number"])
    if not number.is_integer():
        raise RowError(column, f"「{shown}」は整数ではありません（人数・世帯数は整数）")
    if number > MAX_COUNT:
        raise RowError(
            column, f"「{shown}」は大きすぎます（1つの避難所の報告は {MAX_COUNT:,} まで）"
        )
    return int(number), bool(found["before"] or found["after"])


class ShelterStatusSource(FileSource):
    """Status records of known shelters from a file (see the module docstring).

    Parameters
    ----------
    path, url, format, encoding : see :class:`ingest.sources.files.FileSource`.
    crs : CRS of the coordinates when the file does not declare one (e.g. ``EPSG:6677``).
    default_status : the status of rows without a status column (``開設``).
    """

    kind = "shelter_status"
    layer = "shelter_status"
    poll_seconds = 300.0
    required_columns = (("避難所", ID + NAME + ADDRESS + LAT + PLANE_X),)
    area_check = True

    def __init__(self, name: str, *, default_status: str = "開設", **kwargs):
        super().__init__(name, **kwargs)
        self.default_status = default_status
        self._matcher: ShelterMatcher | None = None

    def normalize(self, records):
        self._matcher = ShelterMatcher(self.context.frame("shelters"))
        return super().normalize(records)

    def normalize_record(self, record: dict) -> list[dict]:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        sid_text = text_or_none(first_of(record, ID), 100)
        name = text_or_none(first_of(record, NAME), 200)
        address = text_or_none(first_of(record, ADDRESS), 300)
        point = self.point_of(record)
        shelter_id, _ = self._matcher.match(
            shelter_id=sid_text, name=name, address=address, point=point
        )
        if shelter_id is None:
            named = " ".join(f"{k} {v}" for k, v in (("ID", sid_text), ("名称", name),
                                                     ("住所", address)) if v)  # fmt: skip
            raise RowError(
                "避難所",
                f"登録済みの避難所に見つかりません（{named or '名称・ID・住所なし'}）。"
                "避難所は避難所一覧から読み込みます",
                f"unknown shelter: {sid_text or ''} {name or ''} {address or ''}".strip(),
            )
        status_text = text_or_none(first_of(record, STATUS))
        status = parse_status_word(status_text) or (None if status_text else self.default_status)
        if status is None:
            raise RowError(
                _column(record, STATUS, "開設状況"),
                f"「{status_text}」は開設状況として読めません（開設・満員・閉鎖・未開設）",
                "unknown status",
            )
        notes = [text_or_none(first_of(record, NOTE), 1000)]
        base = {
            "shelter_id": shelter_id,
            "status": status,
            "needs": parse_needs(first_of(record, NEEDS)),
            "reported_by": text_or_none(first_of(record, BY), 100),
        }
        row_time, _ = self.time_of(record, TIME)
        timed = self._timed_counts(record, notes)
        rows = []
        if timed:
            for when, counts in sorted(timed.items()):
                rows.append({**base, **counts, "reported_at": row_time or when})
        else:
            rows.append(
                {
                    **base,
                    "evacuees": self._count(record, EVACUEES, "避難者数", notes),
                    "households": self._count(record, HOUSEHOLDS, "世帯数", notes),
                    "reported_at": row_time,
                }
            )
        note = " / ".join(n for n in notes if n)[:1000] or None
        for row in rows:
            row["note"] = note
        identity = sid_text or name or address or shelter_id
        for row in rows:
            values = (row["status"], row.get("evacuees"), row.get("households"), row["needs"])
            stamp = row["reported_at"].isoformat() if row["reported_at"] is not None else ""
            file_name = self.file_of(record)
            row["source_id"] = digest(file_name, identity, stamp, *values, size=12)
            if row["reported_at"] is None:
                row["reported_at"] = self._file_time(file_name)
        return rows

    def _count(self, record: dict, names, label: str, notes: list) -> int | None:
        column = _column(record, names, label)
        return self._read_count(record, record.get(column), column, label, notes)

    def _read_count(self, record, value, column: str, label: str, notes: list) -> int | None:
        count, approximate = parse_count(value, column)
        if approximate:
            shown = unicodedata.normalize("NFKC", str(value)).strip()
            notes.append(f"{label}は概数（「{shown}」）")
            self.warn(record, f"{column}: 「{shown}」を概数 {count} として読み込みました")
        return count

    def _timed_counts(self, record: dict, notes: list) -> dict[pd.Timestamp, dict]:
        out: dict[pd.Timestamp, dict] = {}
        for header, value in record.items():
            if not isinstance(header, str):
                continue
            m = _TIMED.match(header)
            if not m:
                continue
            when = parse_jp_time(m["when"])
            if when is None:
                continue
            column = "households" if "世帯" in m["what"] else "evacuees"
            label = "世帯数" if column == "households" else "避難者数"
            count = self._read_count(record, value, header, label, notes)
            if count is not None:
                out.setdefault(when, {"evacuees": None, "households": None})[column] = count
        return out

    def _file_time(self, file_name: str) -> pd.Timestamp:
        when = self.file_times.get(file_name) or self.file_time
        if when:
            try:
                return parse_time(when)
            except ValueError:
                pass
        return pd.Timestamp.now(tz="UTC").floor("s")

    def finish(self, rows: list[dict], rejected):
        by_id = {row["source_id"]: row for row in rows}
        if not by_id:
            return empty_frame("shelter_status"), rejected
        return pd.DataFrame(list(by_id.values())), rejected


def _column(record: dict, names, default: str) -> str:
    """The first of ``names`` the record has a value in (its header, for reasons), else default."""
    for name in names:
        value = record.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return name
    return default
