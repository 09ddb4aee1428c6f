"""CSV rows from decoded lines, one bad row set aside and reading resumed at the next line.

``csv.reader`` reads the lines of :func:`ingest.sources.reading.iter_lines`. A row that makes it
fail (a carriage return inside an unquoted cell, a cell over ``csv.field_size_limit``), an
unclosed quote that would swallow the rows after it, a row over :data:`ROW_MAX_LINES` lines or
:data:`ROW_MAX_CHARS` characters, a row with a line that did not decode, or a row with more
non-empty cells than the header becomes a record ``{"_bad": reason, "_row": line, "_text": …}``,
and reading goes on at the line after the row's first line. Other records are
``{header: cell, …, "_row": line}``.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator

from ingest.base import SourceError, normalize_header
from ingest.sources.reading import Line, bad_record

ROW_MAX_CHARS = 100_000  # characters of one CSV row, all its lines
ROW_MAX_LINES = 200  # physical lines of one CSV row (a quoted cell with line breaks)


class _RowTooLong(Exception):
    pass


class _Feed:
    """Lines for ``csv.reader``, keeping those of the row being read (to re-read after a bad
    row) and enforcing the row caps."""

    def __init__(self, lines: Iterator[Line]):
        self.lines = lines
        self.replay: deque[Line] = deque()
        self.taken: list[Line] = []
        self.chars = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.replay.popleft() if self.replay else next(self.lines)
        self.taken.append(line)
        self.chars += len(line.text)
        if len(self.taken) > ROW_MAX_LINES or self.chars > ROW_MAX_CHARS:
            raise _RowTooLong
        return line.text

    def start_row(self) -> None:
        self.taken = []
        self.chars = 0


def csv_records(
    lines: Iterator[Line], columns: dict[str, str] | None = None
) -> tuple[list[str], Iterator[dict]]:
    """(header, records) of CSV lines; bad rows are ``_bad`` records (see the module docstring).

    Parameters
    ----------
    lines : decoded lines (:func:`iter_lines`).
    columns : file header -> the name the source knows (a column map); headers not in it are
        kept as they are.

    Raises
    ------
    SourceError : no header row, or a column map naming a header the file does not have.
    """
    feed = _Feed(lines)
    header_line: Line | None = None
    for line in feed:
        if line.strip():
            header_line = feed.taken[-1]
            break
        feed.start_row()
    if header_line is None:
        raise SourceError("CSV without a header row")
    text = header_line.text
    delimiter = "\t" if text.count("\t") > text.count(",") else ","
    header = [normalize_header(h) for h in next(csv.reader([text], delimiter=delimiter), [])]
    if not any(header):
        raise SourceError("CSV without a header row")
    header = apply_column_map(header, columns)
    return header, _rows(feed, header, delimiter)


def apply_column_map(header: list[str], columns: dict[str, str] | None) -> list[str]:
    """``header`` with the column map applied; SourceError when the map names a missing header."""
    if not columns:
        return header
    missing = [k for k in columns if k not in header]
    if missing:
        raise SourceError(
            f"列の対応（columns）にある {', '.join(missing)} がファイルの見出しにありません。"
            f"ファイルの見出し: {', '.join(h for h in header if h)}"
            " / the column map names headers the file does not have"
        )
    return [columns.get(h, h) for h in header]


def _rows(feed: _Feed, header: list[str], delimiter: str) -> Iterator[dict]:
    width = len(header)
    reader = csv.reader(feed, delimiter=delimiter)
    while True:
        feed.start_row()
        problem = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RowTooLong:
            problem = (
                f"行が長すぎます（{ROW_MAX_LINES} 行・{ROW_MAX_CHARS:,} 文字まで）。"
                '閉じていない引用符 (") がないか確認してください'
            )
        except csv.Error as exc:
            problem = _csv_problem(exc)
        if problem is None and len(feed.taken) > 1 and _runaway(cells, width, delimiter):
            problem = '引用符 (") が閉じていません。この行は読み飛ばし、次の行から読み直しました'
        if problem is not None:
            first, rest = feed.taken[0], feed.taken[1:]
            feed.replay.extendleft(reversed(rest))
            reader = csv.reader(feed, delimiter=delimiter)  # a fresh parser state
            yield bad_record(first, problem)
            continue
        if not any(c.strip() for c in cells):
            continue
        first = feed.taken[0]
        decode_problem = next((ln.problem for ln in feed.taken if ln.problem), None)
        if decode_problem:
            yield bad_record(first, _where_undecodable(header, cells, decode_problem))
            continue
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            yield bad_record(
                first,
                f"列が多すぎます（見出しは {width} 列、この行は {len(cells)} 列）。"
                "値の中のカンマは引用符で囲んでください",
            )
            continue
        record = {h: c.strip() for h, c in zip(header, cells, strict=False) if h}
        record["_row"] = first.number
        yield record


def _where_undecodable(header: list[str], cells: list[str], problem: str) -> str:
    """The decoding problem with the column it is in and what could be read of the cell
    (〓, the geta mark, where a character could not be read)."""
    for name, cell in zip(header, cells, strict=False):
        if "\ufffd" in cell:
            shown = cell.strip().replace("\ufffd", "〓")[:40]
            return f"{name or '（見出しなし）'}: {problem}（読めた部分: 「{shown}」）"
    return problem


def _runaway(cells: list[str], width: int, delimiter: str) -> bool:
    """Whether a row read over several lines is an unclosed quote rather than a cell with line
    breaks: a cell holding whole rows (line breaks and about a row's worth of delimiters), or
    more cells than the header."""
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return True
    return any("\n" in c and c.count(delimiter) >= max(1, width - 2) for c in cells)


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "new-line character" in text:
        return "引用符で囲まれていないセルの中に改行文字 (CR) があります"
    if "field larger than field limit" in text:
        return f"セルが長すぎます（{csv.field_size_limit():,} 文字まで）"
    return f"CSV として読めません（{text}）"
