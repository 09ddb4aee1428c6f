"""Designated shelters (指定避難所・指定緊急避難場所) from GSI or 自治体標準オープンデータセット files.

The reading and merging rules are :func:`geodata.reference.layers.load_shelters`; this source only
brings a file (path or URL) to it and hands the result to the runner, so ``python -m ingest
load shelters FILE`` goes through the same path as every other load.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from geodata.text.fingerprints import digest
from ingest.base import SourceError, read_location
from ingest.sources.files import FileSource


class ShelterListSource(FileSource):
    """The shelters layer from one shelter file.

    Parameters
    ----------
    path, url : the file (GSI GeoJSON/CSV or 自治体標準オープンデータセット CSV, any encoding).
    municipality : the 5/6-digit code; rows of other municipalities are skipped.
    crs : CRS of plane-rectangular coordinates when the file uses them (e.g. ``EPSG:6677``).
    """

    kind = "shelters"
    layer = "shelters"
    poll_seconds = 86400.0

    def __init__(self, name: str, *, municipality: str | None = None, **kwargs):
        super().__init__(name, **kwargs)
        self.municipality = municipality

    def fetch(self, since: str | None) -> Iterator[dict]:
        data, self.file_time = read_location(self.location, self.session)
        self._digest = "sha256:" + digest(data, size=16)
        yield {"name": self.file_id, "data": data}

    def normalize(self, records: list[dict]) -> tuple[pd.DataFrame, list]:
        from geodata.reference.layers import load_shelters
        from geodata.reference.readers import ReferenceFileError

        frames, rejected = [], []
        towns = self.context.frame("towns")
        for record in records:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / record["name"]
                path.write_bytes(record["data"])
                try:
                    shelters, bad = load_shelters(
                        [path], self.municipality, crs=self.crs, towns=towns if len(towns) else None
                    )
                except ReferenceFileError as exc:
                    raise SourceError(str(exc)) from exc
            frames.append(shelters)
            rejected += list(bad.itertuples(index=False, name=None))
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return frame, rejected
