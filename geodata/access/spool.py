"""Raw webhook bodies on disk (the LINE spool): pruned after a retention period, purged for good.

``python -m ingest line-webhook`` writes each signed body as ``<time_ns>-<uuid>.json`` (LINE user
ids and residents' own words). Once the line_spool source has read a file into the store, the
file is only a copy: :func:`prune` deletes the files the source has passed (its cursor) that
are older than ``BOSAI_LINE_SPOOL_RETENTION_DAYS`` (kept that long to re-read after a fix), and
temporary files a crash left behind. The source prunes at the start of every run.

:func:`purge` deletes every body, read or not, for ``python -m ingest purge --personal``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from geodata import settings

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{20})-[0-9a-f]{32}\.json$")
TMP_GRACE = timedelta(days=1)  # a temporary file this old belongs to a crashed write


def retention() -> timedelta:
    """How long processed bodies stay (``BOSAI_LINE_SPOOL_RETENTION_DAYS``)."""
    days = settings.number("BOSAI_LINE_SPOOL_RETENTION_DAYS")
    if days < 0:
        raise ValueError("BOSAI_LINE_SPOOL_RETENTION_DAYS must be >= 0")
    return timedelta(days=days)


def written_at(name: str) -> datetime | None:
    """When the webhook wrote the spool file ``name`` (its name says), None for other names.

    Examples
    --------
    >>> written_at("01764547200000000000-" + "0" * 32 + ".json").isoformat()
    '2025-12-01T00:00:00+00:00'
    """
    match = _NAME.match(name)
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1e9, UTC)


def _old_tmp(folder: Path, now: datetime) -> list[Path]:
    tmp = folder / ".tmp"
    if not tmp.is_dir():
        return []
    limit = (now - TMP_GRACE).timestamp()
    return [p for p in tmp.iterdir() if p.is_file() and p.stat().st_mtime < limit]


def prune(
    folder: Path | str,
    *,
    processed_through: str | None,
    keep: timedelta | None = None,
    now: datetime | None = None,
) -> int:
    """Delete the bodies read into the store (name <= ``processed_through``) older than ``keep``.

    Files the source has not read yet are never deleted, however old. Returns how many files
    were deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    keep = retention() if keep is None else keep
    now = now or datetime.now(UTC)
    doomed = _old_tmp(folder, now)
    if processed_through:
        for path in folder.glob("*.json"):
            when = written_at(path.name)
            if when is not None and path.name <= processed_through and when < now - keep:
                doomed.append(path)
    return _delete(doomed)


def purge(folders: Iterable[Path | str], *, dry_run: bool = False) -> int:
    """Delete every spooled body (read or not) and temporary file in ``folders``; how many."""
    doomed: list[Path] = []
    for folder in {Path(f) for f in folders}:
        if folder.is_dir():
            doomed += [p for p in folder.glob("*.json") if p.is_file()]
            if (folder / ".tmp").is_dir():
                doomed += [p for p in (folder / ".tmp").iterdir() if p.is_file()]
    return len(doomed) if dry_run else _delete(doomed)


def _delete(paths: list[Path]) -> int:
    deleted = 0
    started = time.perf_counter()
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:  # another run deleted it
            pass
    if deleted:
        log.info("deleted %d spool files in %.2f s", deleted, time.perf_counter() - started)
    return deleted
