"""Designated shelters (指定避難所・指定緊急避難場所) from GSI or 自治体標準オープンデータセット files.

The reading and merging rules are :func:`geodata.reference.layers.load_shelters`; this source
brings a file (path or URL) to it and hands the result to the runner, so ``python -m ingest
load shelters FILE`` goes through the same path as every other load. Before that, a CSV is
read a row at a time like every file source (:mod:`ingest.sources.reading`): rows with broken
bytes or broken CSV are rejections, a column map renames headers, and a header without a name
or a position column refuses the file with the headers found and expected. After it, shelters
outside the municipality (coordinates in another plane-rectangular zone) are rejections naming
the zone that fits. Shelter lists are small (hundreds of rows): one batch.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ingest.base import SourceError, raw_text
from ingest.reasons import RowError, where
from ingest.sources import reading
from ingest.sources.csv_rows import csv_records
from ingest.sources.files import FileSource
from ingest.sources.placement import area_of

NAME = ("施設・場所名", "名称", "施設名", "避難所名", "避難場所名")
ROW = "_row"  # a column of the cleaned CSV: the line of the file the row came from
POSITION = ("緯度", "lat", "latitude", "Latitude", "X", "X座標", "x")


class ShelterListSource(FileSource):
    """The shelters layer from one shelter file.

    Parameters
    ----------
    path, url : the file (GSI GeoJSON/CSV or 自治体標準オープンデータセット CSV, any encoding).
    municipality : the 5/6-digit code; rows of other municipalities are skipped.
    crs : CRS of plane-rectangular coordinates when the file uses them (e.g. ``EPSG:6677``).
    columns, columns_file : a column map for headers in another layout (``name=名称``).
    """

    kind = "shelters"
    layer = "shelters"
    poll_seconds = 86400.0
    required_columns = (("名称", NAME), ("位置（緯度・経度 または X・Y）", POSITION))

    def __init__(self, name: str, *, municipality: str | None = None, **kwargs):
        super().__init__(name, **kwargs)
        self.municipality = municipality
        self._read_rejections: list = []

    def fetch(self, since: str | None) -> Iterator[dict]:
        self._close()
        self._open()
        self._read_rejections = []
        try:
            opened = self._opened[0]
            opened.reopen()
            head = opened.handle.read(64)
            opened.handle.seek(0)
            fmt = self.format or reading.guess_format(opened.location, head)
            path = Path(tempfile.mkdtemp(prefix="bosai-shelters-")) / self.file_id
            try:
                if fmt == "csv":
                    self._clean_csv(opened, path)
                else:
                    self._clean_json(opened, path)
            except BaseException:
                shutil.rmtree(path.parent, ignore_errors=True)
                raise
        finally:
            self._close()
        yield {"name": self.file_id, "path": str(path)}

    def _clean_csv(self, opened: reading.Opened, path: Path) -> None:
        """The CSV as UTF-8 with the column map applied; unreadable rows set aside."""
        header, records = csv_records(reading.iter_lines(opened), self.columns)
        self.check_header(header, opened.name)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([*header, ROW])  # the file's line, for the reasons (_located)
            for record in records:
                if record.get("_bad"):
                    reason = f"{opened.name} {where(record)}{record['_bad']}"
                    self._read_rejections.append((raw_text(record), reason))
                    continue
                writer.writerow([*(record.get(h, "") for h in header), record.get("_row", "")])

    def _clean_json(self, opened: reading.Opened, path: Path) -> None:
        doc, _ = reading.read_document(opened)
        if self.columns and isinstance(doc, dict):
            for feature in doc.get("features") or []:
                if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
                    feature["properties"] = self._mapped(feature["properties"])
        path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")

    def normalize(self, records: list[dict]) -> tuple[pd.DataFrame, list]:
        from geodata.reference.layers import load_shelters
        from geodata.reference.readers import ReferenceFileError

        self.notes = {}
        frames, rejected = [], list(self._read_rejections)
        towns = self.context.frame("towns")
        for record in records:
            path = Path(record["path"])
            try:
                shelters, bad = load_shelters(
                    [path], self.municipality, crs=self.crs, towns=towns if len(towns) else None
                )
            except ReferenceFileError as exc:
                raise SourceError(str(exc)) from exc
            finally:
                shutil.rmtree(path.parent, ignore_errors=True)
            shelters, outside = self._inside(shelters)
            frames.append(shelters)
            rejected += [_located(raw, reason, path.name) for raw, reason in
                         bad.itertuples(index=False, name=None)] + outside  # fmt: skip
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return frame, rejected

    def _inside(self, shelters):
        """The shelters inside (or near) the municipality, and rejections for the others."""
        area = area_of(self.context)
        if area is None or not len(shelters):
            return shelters, []
        keep, outside = [], []
        for i, (row, point) in enumerate(zip(shelters.to_dict("records"), shelters.geometry,
                                             strict=True)):  # fmt: skip
            try:
                if point is not None and not point.is_empty:
                    area.check(point, self.crs)
                keep.append(i)
            except RowError as exc:
                if exc.tag and "likely EPSG:" in exc.tag:
                    self.notes["crs_hint"] = exc.tag.rsplit("likely ", 1)[1]
                row.pop("geometry", None)
                outside.append((raw_text(row), f"{self.file_id} {row.get('name') or ''} {exc}"))
        return shelters.iloc[keep].reset_index(drop=True), outside


# The core's reasons (geodata.reference.shelters, shared with the reference loader) said for the
# staff on the admin page: pattern -> Japanese with the fixed English tag.
_SAY = (
    (re.compile(r"coordinates are not numbers \((?P<a>.*), (?P<b>.*)\)"),
     "位置: 「{a}」「{b}」は座標の数として読めません [coordinates are not numbers]"),
    (re.compile(r"no coordinates"), "位置: 緯度・経度（または X・Y）が空欄です [no coordinates]"),
    (re.compile(r"plane-rectangular coordinates in an unknown zone.*"),
     "位置: 平面直角座標の系が分かりません。CRS を指定してください（--crs / crs、例: EPSG:6677）"
     " [unknown zone]"),
    (re.compile(r"duplicate ID (?P<a>.*)"),
     "ID「{a}」は前の行と重複しています（最初の行を読み込みました） [duplicate ID]"),
)  # fmt: skip


def _located(raw: str, reason: str, file_name: str) -> tuple[str, str]:
    """A rejection of the core's shelter reader with the file's line and a Japanese reason.

    The cleaned CSV carries each row's line in :data:`ROW`; it is taken out of the raw record
    (the staff see the row as the file had it) and put in front of the reason
    (``shelters.csv 3行目 …``). Rejections without it (GeoJSON, a merged row) keep the file name.
    """
    row = None
    try:
        record = json.loads(raw)
    except (TypeError, ValueError):
        record = None
    if isinstance(record, dict) and ROW in record:
        row = record.pop(ROW)
        raw = json.dumps(record, ensure_ascii=False)
    text = reason.removeprefix(f"{file_name}:").strip()
    for pattern, say in _SAY:
        found = pattern.fullmatch(text)
        if found:
            text = say.format(**{k: v.strip("'\"") for k, v in found.groupdict().items()})
            break
    place = f"{file_name} {row}行目" if row not in (None, "") else file_name
    return raw, f"{place} {text}" if row not in (None, "") else f"{place}: {text}"
