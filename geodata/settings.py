"""Settings read from the environment, each declared once with a default and help.

The dashboard and the command line read the same settings. Secrets never live here: they come
from the environment or ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One setting: environment variable name, default (as text) and help."""

    name: str
    default: str
    help: str


def _default_reference_dir() -> str:
    shared = PROJECT_ROOT.parent / "shared" / "data"
    return str(shared) if shared.exists() else str(PROJECT_ROOT / "var" / "reference")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "BOSAI_DB_URL",
        f"sqlite:///{PROJECT_ROOT / 'var' / 'bosai.sqlite'}",
        "SQLAlchemy URL of the store: a SQLite file (embedded default) or "
        "postgresql+psycopg://user:pass@host/db for a shared PostgreSQL + PostGIS store.",
    ),
    Setting(
        "BOSAI_REFERENCE_DIR",
        _default_reference_dir(),
        "Folder with the reference open data (town polygons, boundary, shelters, hazard areas). "
        "Defaults to ../shared/data when it exists, else var/reference; "
        "`python -m ingest reference --download` fills it from the public sources.",
    ),
    Setting(
        "BOSAI_MUNICIPALITY",
        "13208",
        "Municipality code (5 digits, or 6 with the check digit) the dashboard shows; 13208 is 調布市.",
    ),
    Setting(
        "BOSAI_TILES",
        "gsi_pale",
        "Basemap tiles: gsi_std, gsi_pale, gsi_photo, osm, or none (offline HQ: the town polygons "
        "still give a readable map).",
    ),
    Setting(
        "BOSAI_TILE_URL",
        "",
        "Optional tile URL template overriding BOSAI_TILES (for a tile server inside the HQ network).",
    ),
    Setting(
        "BOSAI_REFRESH_SECONDS", "30", "Auto-refresh interval of the wall-screen (kiosk) mode."
    ),
    Setting("BOSAI_LANG", "ja", "Default UI language: ja or en."),
    Setting("BOSAI_KIOSK", "0", "1 to start every session in wall-screen mode (same as ?kiosk=1)."),
    Setting(
        "BOSAI_UPLOADS_DIR",
        str(PROJECT_ROOT / "var" / "uploads"),
        "Folder where photos of field reports (現地調査) are stored; the report keeps the file's "
        "path as photo_url. With several dashboard hosts, a folder all of them share.",
    ),
    Setting(
        "BOSAI_KEY_FILE",
        str(PROJECT_ROOT / "var" / "bosai.key"),
        "File (0600, made on first use) holding the secret keys, kept out of the data file; "
        "ignored when the environment variable BOSAI_SECRET_KEY is set (docs/security.md).",
    ),
    Setting(
        "BOSAI_SESSION_HOURS",
        "12",
        "Absolute lifetime of a login session (hours, a shift): then log in again, however "
        "active the session was.",
    ),
    Setting(
        "BOSAI_SESSION_IDLE_MINUTES",
        "60",
        "A login session without any page run for this many minutes ends (a wall screen's "
        "refresh counts as use).",
    ),
    Setting(
        "BOSAI_DEPARTMENTS_FILE",
        "",
        "Text file listing the HQ's 部署 (one a line, # comments) for the chronology's from / to "
        "and task assignees; empty: a 市 災害対策本部's usual 部署 (geodata.vocab).",
    ),
    Setting(
        "BOSAI_LINE_SPOOL_RETENTION_DAYS",
        "7",
        "Raw LINE webhook bodies already read into the store are deleted from the spool after "
        "this many days (`python -m ingest purge --personal` deletes all of them).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """Return the value of setting ``name`` from the environment, or its default.

    Examples
    --------
    >>> get("BOSAI_LANG") in ("ja", "en")
    True
    """
    setting = _BY_NAME[name]
    value = os.environ.get(name, "").strip()
    return value or setting.default


def db_url() -> str:
    """The store URL; creates the folder of a SQLite file if needed."""
    url = get("BOSAI_DB_URL")
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        if not folder.exists():
            from geodata.access.files import private_dir

            private_dir(folder)
    return url


def number(name: str) -> float:
    """A numeric setting; a clear ValueError naming the setting for anything else."""
    value = get(name)
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def reference_dir() -> Path:
    """The reference-data folder."""
    return Path(get("BOSAI_REFERENCE_DIR"))
