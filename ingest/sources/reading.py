"""Reading other systems' files a line and a row at a time: bounded memory, one bad row set aside.

A file is opened once (a URL is downloaded to a temporary file first), scanned once for its
digest, its encoding and its line ends, then read again line by line:

- **Decoding per line.** UTF-8 (with or without BOM) and Shift_JIS (cp932) are told apart by
  the lines that hold non-ASCII bytes: when most of them are valid UTF-8 the file is UTF-8, else
  cp932 — so a few broken bytes never make a whole file unreadable. A line that does not decode
  is read with replacement characters so the CSV structure holds, and the row it belongs to is
  rejected with where the bad byte is. UTF-16 (Excel's "Unicode text") is decoded as a stream.
- **CSV rows** are :mod:`ingest.sources.csv_rows`: a row that cannot be read is set aside and
  reading goes on at the next line.
- **Records carry their place**: ``_row`` is the line of the file where the row starts (the header
  is line 1), or the number of the record in a JSON file.

JSON and GeoJSON documents are parsed whole (up to :data:`JSON_MAX_BYTES`); JSON lines are read
a line at a time like CSV.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import requests

from ingest.base import SourceError, normalize_header

BLOCK = 1 << 20  # bytes read at a time
LINE_MAX_BYTES = 1 << 20  # a longer physical line is cut and its row rejected
JSON_MAX_BYTES = 64 << 20  # a JSON/GeoJSON document is parsed whole: bigger ones are refused
SPOOL_BYTES = 8 << 20  # a download bigger than this goes to a temporary file on disk

ENCODING_NAMES = {"utf-8": "UTF-8", "cp932": "Shift_JIS (cp932)", "utf-16": "UTF-16"}
_ALIASES = {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "ms932": "cp932",
            "windows-31j": "cp932", "utf-8-sig": "utf-8", "utf8": "utf-8"}  # fmt: skip


@dataclass
class Line:
    """A physical line: its number (1 = first), its text and why it could not be decoded."""

    number: int
    text: str
    problem: str | None = None


@dataclass
class Opened:
    """A file opened for reading: the handle, its modification time and what the scan found."""

    location: str
    name: str
    handle: BinaryIO
    mtime: str | None
    encoding: str = "utf-8"
    newline: bytes = b"\n"
    size: int = 0
    on_disk: bool = True  # a path (reopened to be read), not a download held in a spool

    def close(self) -> None:
        self.handle.close()

    def rest(self) -> None:
        """Close a file on disk until it is read (a glob may name many files)."""
        if self.on_disk:
            self.handle.close()

    def reopen(self) -> None:
        """Be ready to read from the start again."""
        if not self.handle.closed:
            self.handle.seek(0)
            return
        try:
            self.handle = Path(self.location).open("rb")
        except OSError as exc:
            raise SourceError(f"{self.location}: cannot read ({exc.strerror or exc})") from exc


def open_location(location: str, session: requests.Session | None) -> Opened:
    """Open a file path, or download an http(s) URL to a temporary file, for reading.

    Raises :class:`SourceError` when the file cannot be read or the server answers an error.
    """
    name = Path(location.split("?", 1)[0]).name or location
    if location.startswith(("http://", "https://")):
        if session is None:
            raise SourceError(f"{location}: no HTTP session was injected")
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
        try:
            with session.get(location, stream=True) as response:
                if response.status_code >= 400:
                    raise SourceError(f"{location}: HTTP {response.status_code}")
                for block in response.iter_content(BLOCK):
                    spool.write(block)
                mtime = response.headers.get("Last-Modified")
        except requests.RequestException as exc:
            spool.close()
            raise SourceError(f"{location}: {type(exc).__name__}: {exc}") from exc
        except SourceError:
            spool.close()
            raise
        spool.seek(0)
        return Opened(location, name, spool, mtime, on_disk=False)
    path = Path(location)
    try:
        handle = path.open("rb")
        mtime = pd.Timestamp(path.stat().st_mtime, unit="s", tz="UTC").isoformat()
    except OSError as exc:
        raise SourceError(f"{location}: cannot read ({exc.strerror or exc})") from exc
    return Opened(location, name, handle, mtime)


def scan(opened: Opened, hasher, encoding: str | None = None) -> None:
    """Feed the file's bytes to ``hasher`` and find its encoding and line end; rewinds it.

    Parameters
    ----------
    opened : the file (its ``encoding``, ``newline`` and ``size`` are set).
    hasher : a ``hashlib`` object (the digest of every file a source reads).
    encoding : the encoding the configuration names; detected when None.
    """
    handle = opened.handle
    nonascii = utf8_ok = lf = cr = size = 0
    head = b""
    carry = b""
    while block := handle.read(BLOCK):
        hasher.update(block)
        size += len(block)
        if not head:
            head = block[:4]
        lf += block.count(b"\n")
        cr += block.count(b"\r")
        if encoding is None and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            *lines, carry = (carry + block).split(b"\n")
            for line in lines:
                if not line.isascii():
                    nonascii += 1
                    utf8_ok += _decodes(line, "utf-8")
    if carry and not carry.isascii():
        nonascii += 1
        utf8_ok += _decodes(carry, "utf-8")
    handle.seek(0)
    opened.size = size
    opened.newline = b"\r" if cr and not lf else b"\n"  # classic Mac files end lines with CR
    if encoding:
        opened.encoding = resolve_encoding(encoding)
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        opened.encoding = "utf-16"
    else:
        # Shift_JIS text is almost never valid UTF-8 by chance: when most non-ASCII lines are
        # valid UTF-8, the others hold broken bytes of a UTF-8 file.
        opened.encoding = "utf-8" if utf8_ok * 2 >= nonascii else "cp932"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def resolve_encoding(encoding: str) -> str:
    """The codec for a configured encoding name (``Shift_JIS`` -> ``cp932``)."""
    name = _ALIASES.get(encoding.strip().lower(), encoding.strip().lower())
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise SourceError(f"unknown text encoding {encoding!r} (e.g. utf-8, cp932)") from exc
    return name


def iter_lines(opened: Opened) -> Iterator[Line]:
    """The file's decoded lines, each ending with ``\\n``; see the module docstring."""
    if opened.encoding.startswith("utf-16"):
        yield from _utf16_lines(opened)
        return
    sep = opened.newline
    decode = codecs.getdecoder(opened.encoding)
    label = ENCODING_NAMES.get(opened.encoding, opened.encoding)
    number = 0
    carry = b""
    skipping = False  # the rest of a line already reported as too long
    while block := opened.handle.read(BLOCK):
        if skipping:
            end = block.find(sep)
            if end < 0:
                continue
            block, skipping = block[end + 1 :], False
        parts = (carry + block).split(sep)
        carry = parts.pop()
        for raw in parts:
            number += 1
            yield _decoded(number, raw, decode, label)
        if len(carry) > LINE_MAX_BYTES:
            number += 1
            text = carry[:200].decode(opened.encoding, "replace")
            yield Line(number, text + "\n", f"1行が長すぎます（{LINE_MAX_BYTES:,} バイトまで）")
            carry, skipping = b"", True
    if carry:
        yield _decoded(number + 1, carry, decode, label)


def _decoded(number: int, raw: bytes, decode, label: str) -> Line:
    if number == 1 and raw.startswith(codecs.BOM_UTF8):
        raw = raw[3:]
    try:
        return Line(number, decode(raw)[0] + "\n")
    except UnicodeDecodeError as exc:
        text = raw.decode(exc.encoding, "replace")
        bad = " ".join(f"0x{b:02X}" for b in raw[exc.start : exc.end])
        return Line(number, text + "\n", f"{label} として読めないバイト（{bad}）があります")


def _utf16_lines(opened: Opened) -> Iterator[Line]:
    text = io.TextIOWrapper(opened.handle, encoding="utf-16", errors="replace", newline=None)
    number = 0
    while line := text.readline(LINE_MAX_BYTES):
        number += 1
        problem = "UTF-16 として読めないバイトがあります" if "\ufffd" in line else None
        yield Line(number, line if line.endswith("\n") else line + "\n", problem)
    text.detach()


def guess_format(location: str, head: bytes) -> str:
    """``csv``, ``json``, ``jsonl`` or ``geojson`` from the name, else from the first bytes."""
    lowered = location.lower().split("?", 1)[0]
    for ext, fmt in ((".geojson", "geojson"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                     (".json", "json"), (".csv", "csv"), (".tsv", "csv"), (".txt", "csv")):  # fmt: skip
        if lowered.endswith(ext):
            return fmt
    start = head.lstrip(b"\xef\xbb\xbf \r\n\t")[:1]
    return "json" if start in (b"{", b"[") else "csv"


def parse_column_map(columns=None, columns_file: str | None = None) -> dict[str, str]:
    """A column map (the file's header -> the name a source knows) from its written forms.

    ``columns`` is a mapping or text ``"name=名称,lat=緯度"``; ``columns_file`` a TOML file with
    a ``[columns]`` table (or top-level keys). Headers are NFKC-normalized as the readers do.

    Examples
    --------
    >>> parse_column_map("name=名称, lat = 緯度")
    {'name': '名称', 'lat': '緯度'}
    """
    found: dict = {}
    if columns_file:
        try:
            doc = tomllib.loads(Path(columns_file).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"columns_file {columns_file}: {exc}") from exc
        found.update(doc.get("columns", doc))
    if isinstance(columns, str):
        for pair in filter(None, (p.strip() for p in columns.split(","))):
            if "=" not in pair:
                raise ValueError(f"column map {pair!r}: write FILE_HEADER=NAME, e.g. name=名称")
            key, value = pair.split("=", 1)
            found[key] = value
    elif columns:
        found.update(columns)
    out = {}
    for key, value in found.items():
        if not isinstance(value, str) or not str(key).strip() or not value.strip():
            raise ValueError(f"column map {key!r} = {value!r}: both sides must be header names")
        out[normalize_header(key)] = normalize_header(value)
    return out


def bad_record(line: Line, problem: str) -> dict:
    """The record of a line that could not be read: reason, line number, its text."""
    return {"_bad": problem, "_row": line.number, "_text": line.text.rstrip("\r\n")[:500]}


# -- JSON -------------------------------------------------------------------------------------


def jsonl_records(lines: Iterator[Line]) -> Iterator[dict]:
    """One record per line (blank lines skipped); a line that is not JSON is a ``_bad`` record."""
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        if line.problem:
            yield bad_record(line, line.problem)
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield bad_record(line, f"JSON として読めません（{exc.msg}、{exc.colno} 文字目）")
            continue
        if isinstance(record, dict):
            record.setdefault("_row", line.number)
        yield record


def read_document(opened: Opened):
    """The parsed JSON document of a file (parsed whole: :data:`JSON_MAX_BYTES` at most).

    Text that does not decode is read with replacement characters; the records holding one are
    rejected by :func:`mark_undecodable`. Raises SourceError when the file is not JSON.
    """
    if opened.size > JSON_MAX_BYTES:
        raise SourceError(
            f"JSON/GeoJSON ファイルが大きすぎます（{opened.size / 1e6:.0f} MB、"
            f"{JSON_MAX_BYTES >> 20} MB まで）。CSV か JSON lines（1行1レコード）で書き出すと"
            " 分割して読み込めます / JSON documents over this size are not read whole"
        )
    data = opened.handle.read()
    encoding = "utf-16" if opened.encoding.startswith("utf-16") else opened.encoding
    try:
        text = data.decode(encoding)
        broken = False
    except UnicodeDecodeError:
        text, broken = data.decode(encoding, "replace"), True
    del data
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise SourceError(f"the file is not JSON ({exc})") from exc
    return doc, broken


def mark_undecodable(record, encoding: str):
    """``record`` as a ``_bad`` record when its text holds a replacement character."""
    if "\ufffd" in json.dumps(record, ensure_ascii=False, default=str):
        label = ENCODING_NAMES.get(encoding, encoding)
        return {"_bad": f"{label} として読めないバイトがあります", "_text": str(record)[:500]}
    return record


def new_hasher():
    """The hash of a source's file bytes (its cursor): SHA-256, streamed."""
    return hashlib.sha256()
