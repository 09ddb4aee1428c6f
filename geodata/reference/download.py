"""Download a municipality's reference files from their public sources when they are missing.

Each file goes where :func:`geodata.reference.files.find_reference_files` looks for it. A file
already there is never fetched again; a failed source is reported and the others go on. The
HTTP session is passed in (``geodata.http.make_session()``), so tests point the URL templates at
a local server.

Sources (URL templates, placeholders ``{code5}``, ``{code6}``, ``{pref2}``):

- 指定緊急避難場所 / 指定避難所: 国土地理院 data split per municipality by GitHub
  ``motohasystem/jp-shelter-api`` (served from GitHub Pages; a municipality without data answers
  ``{"type": "unavailable"}``, which is reported, not saved);
- 町丁・字 polygons: CODH Geoshape, e-Stat 2020 census small areas per municipality;
- boundary: CODH Geoshape city boundaries (国土数値情報 N03), newest version;
- flood areas: 国土数値情報 A31 (2012 edition) zip per prefecture, unzipped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import requests

from geodata.reference.codes import parse_code, prefecture, to_code6
from geodata.reference.files import ReferenceFiles, find_reference_files, reference_paths

log = logging.getLogger(__name__)

SHAPE_SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".xml")


@dataclass(frozen=True)
class SourceUrls:
    """URL templates of the public sources; replace any of them (tests, mirrors, proxies)."""

    emergency: str = "https://motohasystem.github.io/jp-shelter-api/api/v0/emergency/{code6}.json"
    evacuation: str = "https://motohasystem.github.io/jp-shelter-api/api/v0/evacuation/{code6}.json"
    towns: str = "https://geoshape.ex.nii.ac.jp/ka/geojson/2020/{pref2}/r2ka{code5}.geojson"
    boundary: str = "https://geoshape.ex.nii.ac.jp/city/geojson/latest/{code5}.geojson"
    flood: str = "https://nlftp.mlit.go.jp/ksj/gml/data/A31/A31-12/A31-12_{pref2}_GML.zip"

    def replace(self, overrides: dict[str, str]) -> SourceUrls:
        """A copy with some templates replaced, e.g. ``{"towns": "http://mirror/{code5}.json"}``.

        Raises
        ------
        ValueError : for a name that is not a source.
        """
        unknown = set(overrides) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown source {', '.join(sorted(unknown))}; known: {KINDS}")
        return dataclasses.replace(self, **overrides)


KINDS = tuple(f.name for f in dataclasses.fields(SourceUrls))


class DownloadError(Exception):
    """A source that could not be downloaded; the message names the URL and the reason."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


@dataclass
class FileResult:
    """What happened to one file: downloaded, present, unavailable or failed."""

    kind: str
    path: Path
    url: str
    status: str
    error: str | None = None


def short_reason(exc: BaseException) -> str:
    """What went wrong with a request, in a few words a person can act on.

    Examples
    --------
    >>> short_reason(requests.ConnectTimeout("HTTPSConnectionPool(host='x', port=443): ..."))
    'timed out'
    >>> short_reason(requests.ConnectionError("... Failed to resolve 'www.gsi.go.jp' ..."))
    'host name not resolved (no internet or DNS?)'
    >>> short_reason(requests.ConnectionError("... [Errno 111] Connection refused ..."))
    'connection refused'
    """
    text = str(exc)
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS certificate or handshake failed"
    if isinstance(exc, requests.ConnectionError):
        if "resolve" in text or "Name or service not known" in text or "getaddrinfo" in text:
            return "host name not resolved (no internet or DNS?)"
        if "refused" in text:
            return "connection refused"
        if "unreachable" in text:
            return "network unreachable"
        return "could not connect"
    return exc.__class__.__name__


def fetch(url: str, dest: Path, session: requests.Session) -> int:
    """Download ``url`` to ``dest`` (written whole or not at all); returns the byte count.

    Raises
    ------
    DownloadError : HTTP error status, connection failure or timeout.
    """
    try:
        response = session.get(url, stream=True)
    except requests.RequestException as exc:
        raise DownloadError(url, short_reason(exc)) from exc
    with response:
        if response.status_code != 200:
            raise DownloadError(url, f"HTTP {response.status_code} {response.reason or ''}".strip())
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, dest)
        except (OSError, requests.RequestException) as exc:
            Path(tmp).unlink(missing_ok=True)
            raise DownloadError(url, f"download interrupted ({short_reason(exc)})") from exc
    return size


def _fetch_json(url: str, dest: Path, session: requests.Session) -> str:
    """Fetch a GeoJSON file; returns ``downloaded`` or ``unavailable`` (then nothing is saved)."""
    tmp = dest.with_name(f".{dest.name}.download")
    fetch(url, tmp, session)
    try:
        doc = json.loads(tmp.read_bytes())
        if not isinstance(doc, dict) or "type" not in doc:
            raise ValueError("no GeoJSON type member")
    except ValueError as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(url, f"not GeoJSON ({str(exc)[:100]})") from exc
    if doc["type"] == "unavailable":
        tmp.unlink(missing_ok=True)
        return "unavailable"
    os.replace(tmp, dest)
    return "downloaded"


def _fetch_zip(url: str, folder: Path, session: requests.Session) -> str:
    """Fetch a zipped shapefile and unzip its shapefile parts, flat, into ``folder``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    archive = folder.parent / f".{folder.name}.zip"
    fetch(url, archive, session)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [
                m
                for m in zf.infolist()
                if PurePosixPath(m.filename).suffix.lower() in SHAPE_SUFFIXES
            ]
            if not any(m.filename.lower().endswith(".shp") for m in members):
                raise DownloadError(url, "the zip holds no shapefile")
            for m in members:  # basenames only: nothing lands outside the folder
                (staging / PurePosixPath(m.filename).name).write_bytes(zf.read(m))
        folder.mkdir(exist_ok=True)
        for part in staging.iterdir():
            os.replace(part, folder / part.name)
    except zipfile.BadZipFile as exc:
        raise DownloadError(url, f"not a zip file ({exc})") from exc
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return "downloaded"


def _found(kind: str, files: ReferenceFiles) -> Path | None:
    """The file (or shapefile folder) of ``kind`` already in the reference folder."""
    if kind in ("emergency", "evacuation"):
        return next((p for p in files.shelters if p.name.startswith(f"{kind}_")), None)
    if kind == "flood":
        return next((shp.parent for k, shp in files.hazards if k == "flood"), None)
    return getattr(files, kind)


def download_reference(
    municipality,
    reference_dir: Path | str,
    session: requests.Session,
    urls: SourceUrls | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> list[FileResult]:
    """Download the missing reference files of a municipality into ``reference_dir``.

    Parameters
    ----------
    municipality : code in any form (``13208``, ``132080``).
    reference_dir : the reference folder (created when missing).
    session : the HTTP session (``geodata.http.make_session()``).
    urls : source URL templates; default the public sources.
    kinds : which sources to try (default all: emergency, evacuation, towns, boundary, flood).

    Returns
    -------
    One :class:`FileResult` per kind. Failures do not raise: their ``error`` says why.

    Examples
    --------
    >>> from geodata.http import make_session
    >>> results = download_reference("13208", "/tmp/ref", make_session())  # doctest: +SKIP
    >>> [(r.kind, r.status) for r in results]  # doctest: +SKIP
    [('emergency', 'downloaded'), ('evacuation', 'present'), ...]
    """
    code5 = parse_code(municipality)
    values = {"code5": code5, "code6": to_code6(code5), "pref2": prefecture(code5)}
    urls = urls or SourceUrls()
    root = Path(reference_dir)
    paths = reference_paths(code5)
    files = find_reference_files(code5, root)
    results = []
    for kind in kinds:
        dest = root / paths[kind]
        url = getattr(urls, kind).format(**values)
        found = _found(kind, files)
        if found is not None:
            results.append(FileResult(kind, found, url, "present"))
            continue
        try:
            status = (
                _fetch_zip(url, dest, session)
                if kind == "flood"
                else _fetch_json(url, dest, session)
            )
        except (DownloadError, OSError) as exc:
            reason = exc.reason if isinstance(exc, DownloadError) else str(exc)
            log.info("download of %s failed: %s (%s)", kind, reason, url)
            results.append(FileResult(kind, dest, url, "failed", reason))
            continue
        log.info("%s: %s -> %s", kind, status, dest)
        results.append(FileResult(kind, dest, url, status))
    return results
