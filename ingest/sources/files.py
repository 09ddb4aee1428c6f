"""File sources: the records of the files other systems export (CSV in any encoding, JSON, JSON
lines, GeoJSON), read in chunks, and where a record says it is.

Every record is a plain dict keyed by normalized headers (NFKC, no spaces) plus ``_row`` (the
line of the file it starts on) or ``_item`` (its number in a JSON document), and ``_file`` when a
glob names several files. A GeoJSON feature becomes its properties plus ``_geometry`` (a shapely
geometry already in lon/lat) and ``_crs`` (the CRS it was declared in), so the sources need not
care where a position came from. Reading itself (encodings, broken bytes, broken CSV rows, caps)
is :mod:`ingest.sources.reading`.
"""

from __future__ import annotations

import glob
import itertools
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import shapely

from ingest.base import BaseSource, SourceError
from ingest.reasons import FUTURE_TOLERANCE, RowError, check_not_future
from ingest.sources import reading
from ingest.sources.csv_rows import csv_records
from ingest.sources.jptime import parse_time
from ingest.sources.placement import area_of
from ingest.sources.positions import feature_records, read_point

CHUNK_ROWS = 20_000  # records per batch: what one batch holds in memory


class FileSource(BaseSource):
    """A source reading one file (path or http(s) URL), or every file a glob names, each run.

    The files are read a record at a time and handed out :attr:`chunk_rows` records per batch
    (:func:`ingest.chunks.run_in_chunks` runs the batches of one read back to back). The cursor
    is the digest of the bytes read, and ``<digest>#<records handed out>`` while a read is part
    way: the next batch — in this process or, after a crash, in the next — goes on from there
    while the files are unchanged. With ``skip_unchanged`` files whose digest equals the cursor
    are not read again; otherwise every run re-reads them and the idempotent upsert leaves
    unchanged rows alone (so later roster or shelter loads can match them). With a glob
    (``exports/status-*.csv``) the files are read in name order and every record carries its
    file's name in ``_file``.

    Parameters
    ----------
    path, url : the file (a glob is allowed for ``path``).
    format : csv / json / jsonl / geojson (guessed from the name or content when omitted).
    encoding : the text encoding (detected when omitted; see :mod:`ingest.sources.reading`).
    crs : the CRS of coordinates the file does not declare (``EPSG:6677``).
    skip_unchanged : skip files whose digest equals the stored cursor.
    columns, columns_file : a column map, the file's header -> the name the source knows
        (:func:`ingest.sources.reading.parse_column_map`), for files whose headers are in another layout.
    chunk_rows : records per batch (:data:`CHUNK_ROWS`).
    """

    cursor_field = "file digest"
    skip_unchanged = False
    # Groups of headers a CSV must have one of each (label, names); else the file is refused
    # with the headers found and expected, instead of rejecting every row alike.
    required_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Whether positions must fall inside (or near) the municipality (ingest.sources.placement).
    area_check = False

    def __init__(
        self,
        name: str,
        *,
        path: str | None = None,
        url: str | None = None,
        format: str | None = None,  # noqa: A002 - the config key
        encoding: str | None = None,
        crs: str | None = None,
        skip_unchanged: bool | None = None,
        columns=None,
        columns_file: str | None = None,
        chunk_rows: int | None = None,
        **kwargs,
    ):
        super().__init__(name, **kwargs)
        if not (path or url):
            raise ValueError(f"{name}: give a path or a url")
        self.location = str(url or path)
        self._file_id: str | None = None
        self.format = format
        self.encoding = reading.resolve_encoding(encoding) if encoding else None
        self.crs = crs
        if skip_unchanged is not None:
            self.skip_unchanged = bool(skip_unchanged)
        self.columns = reading.parse_column_map(columns, columns_file)
        self.chunk_rows = int(chunk_rows) if chunk_rows else CHUNK_ROWS
        if self.chunk_rows < 1:
            raise ValueError(f"{name}: chunk_rows must be at least 1")
        self._digest: str | None = None
        self.file_time: str | None = None
        self.file_times: dict[str, str | None] = {}
        self.more = False  # the last fetch stopped at chunk_rows: records are left
        self._pending: Iterator | None = None
        self._peeked: list = []
        self._handed = 0  # records handed out of the current read
        self._resume: str | None = None  # the cursor after the last batch of the current read
        self._opened: list[reading.Opened] = []

    @property
    def file_id(self) -> str:
        """The file's name (stable across runs) used in derived record ids."""
        if self._file_id is None:
            self._file_id = Path(self.location.split("?", 1)[0]).name or self.location
        return self._file_id

    def file_of(self, record: dict) -> str:
        """The name of the file a record came from."""
        return str(record.get("_file") or self.file_id)

    def locations(self) -> list[str]:
        """The files to read: the location itself, or the files its glob matches (sorted)."""
        if self.location.startswith(("http://", "https://")) or not any(
            c in self.location for c in "*?["
        ):
            return [self.location]
        found = sorted(glob.glob(self.location))
        if not found:
            raise SourceError(f"{self.location}: no file matches")
        return found

    def fetch(self, since: str | None) -> Iterator[dict]:
        if self._pending is not None and since is not None and since == self._resume:
            yield from self._batch()
            return
        self._close()
        self._open()
        skip = 0
        if since and since.startswith(f"{self._digest}#"):
            skip = int(since.rsplit("#", 1)[1])
        elif self.skip_unchanged and since == self._digest:
            self._close()
            return
        self._pending = self._records()
        self._handed = skip
        if skip:
            next(itertools.islice(self._pending, skip, skip), None)  # re-read, not re-stored
        yield from self._batch()

    def _open(self) -> None:
        hasher = reading.new_hasher()
        try:
            for location in self.locations():
                opened = reading.open_location(location, self.session)
                self._opened.append(opened)
                reading.scan(opened, hasher, self.encoding)
                hasher.update(b"\x1f")
                opened.rest()
        except BaseException:
            self._close()
            raise
        self._digest = "sha256:" + hasher.hexdigest()[:32]
        self.file_times = {o.name: o.mtime for o in self._opened}
        self.file_time = self._opened[-1].mtime if self._opened else None

    def _batch(self) -> Iterator[dict]:
        """Up to ``chunk_rows`` records of the current read; sets :attr:`more`."""
        count = 0
        try:
            for record in itertools.chain(self._peeked, self._pending):
                self._peeked = []
                if count == self.chunk_rows:
                    self._peeked = [record]
                    self.more = True
                    self._resume = f"{self._digest}#{self._handed}"
                    return
                count += 1
                self._handed += 1
                yield record
        except BaseException:
            self._close()  # a file that fails part way is read again from its cursor
            raise
        self._close()

    def _close(self) -> None:
        for opened in self._opened:
            opened.close()
        self._opened, self._pending, self._peeked = [], None, []
        self.more, self._resume = False, None

    def _records(self) -> Iterator[dict]:
        several = len(self._opened) > 1 or self._opened[0].location != self.location
        for opened in self._opened:
            opened.reopen()
            head = opened.handle.read(64)
            opened.handle.seek(0)
            fmt = self.format or reading.guess_format(opened.location, head)
            for record in self._file_records(opened, fmt):
                if several and isinstance(record, dict):
                    record["_file"] = opened.name
                yield record
            opened.close()

    def _file_records(self, opened: reading.Opened, fmt: str) -> Iterator:
        if fmt == "csv":
            header, records = csv_records(reading.iter_lines(opened), self.columns)
            self.check_header(header, opened.name)
            yield from records
            return
        if fmt == "jsonl":
            for record in reading.jsonl_records(reading.iter_lines(opened)):
                yield self._mapped(record)
            return
        doc, broken = reading.read_document(opened)
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            records = feature_records(doc, self.crs)
        elif isinstance(doc, dict):
            lists = [k for k in ("posts", "statuses", "data", "items", "records", "results",
                                 "rows") if isinstance(doc.get(k), list)]  # fmt: skip
            if not lists:
                raise SourceError("a JSON object without a list of records")
            records = doc[lists[0]]
        elif isinstance(doc, list):
            records = doc
        else:
            raise SourceError(f"JSON of type {type(doc).__name__} is not a list of records")
        del doc
        for n, record in enumerate(records, 1):
            if broken:
                record = reading.mark_undecodable(record, opened.encoding)
            if isinstance(record, dict):
                record.setdefault("_item", n)
            yield self._mapped(record)

    def _mapped(self, record):
        if not self.columns or not isinstance(record, dict):
            return record
        return {self.columns.get(k, k): v for k, v in record.items()}

    def check_header(self, header: list[str], file_name: str) -> None:
        """Refuse a CSV whose header lacks one of :attr:`required_columns` (with what it has)."""
        present = set(header)
        missing = [(label, names) for label, names in self.required_columns
                   if not present.intersection(names)]  # fmt: skip
        if not missing:
            return
        expected = "; ".join(f"{label}（{'、'.join(names)} のどれか）" for label, names in missing)
        raise SourceError(
            f"{file_name}: 見出しの並びが分かりません。見つかった見出し: "
            f"{', '.join(h for h in header if h)}。必要な見出し: {expected}。"
            "見出しの名前が違うときは対応を指定してください（python -m ingest load … --columns "
            "ファイルの見出し=名前,… / sources.toml の columns か columns_file） [unknown header layout]"
        )

    def point_of(self, record: dict) -> shapely.Point | None:
        """The record's position (:func:`read_point`), checked against the municipality."""
        point, crs = read_point(record, self.crs)
        if point is not None and self.area_check:
            area = area_of(self.context)
            if area is not None:
                try:
                    area.check(point, crs)
                except RowError as exc:
                    if exc.tag and "likely EPSG:" in exc.tag:
                        self.notes["crs_hint"] = exc.tag.rsplit("likely ", 1)[1]
                    raise
        return point

    def time_of(self, record: dict, names) -> tuple[pd.Timestamp | None, str | None]:
        """(time, the header it came from) of the first of ``names`` the record has.

        Raises :class:`RowError` naming the header when the value is not a time, or a time more
        than :data:`ingest.base.FUTURE_TOLERANCE` ahead of the clock.
        """
        for name in names:
            value = record.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                when = parse_time(value)
            except ValueError:
                raise RowError(
                    name,
                    f"「{str(value)[:60]}」は日時として読めません"
                    "（例: 2024-01-09 18:00、令和6年1月9日午後6時）",
                    "not a time",
                ) from None
            check_not_future(when, name, pd.Timestamp.now(tz="UTC") + FUTURE_TOLERANCE)
            return when, name
        return None, None

    def cursor_after(self, records: list[dict], since: str | None) -> str | None:
        if self.more:
            return self._resume
        return self._digest or since


def clean_key(text: str | None) -> str | None:
    """A name key: NFKC, lower case, spaces and punctuation removed."""
    if not text:
        return None
    s = unicodedata.normalize("NFKC", str(text)).lower()
    return re.sub(r"[\s・･()（）「」『』\[\]【】.,、。'\"-]", "", s) or None
