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
        "Basemap tiles: gsi_std, gsi_pale, gsi_photo, osm, local (only the prefetched MBTiles "
        "file), or none (the town polygons and names still give a readable map). A prefetched "
        "BOSAI_MBTILES file is used whenever it exists, unless this is none.",
    ),
    Setting(
        "BOSAI_TILE_URL",
        "",
        "Optional tile URL template overriding BOSAI_TILES (for a tile server inside the HQ network).",
    ),
    Setting(
        "BOSAI_MBTILES",
        str(PROJECT_ROOT / "var" / "tiles" / "basemap.mbtiles"),
        "The MBTiles file of prefetched basemap tiles (`python -m ingest basemap prefetch`); "
        "when it exists the dashboard serves it and the printed situation map draws from it.",
    ),
    Setting(
        "BOSAI_TILE_RATE",
        "2",
        "Requests per second at most when prefetching basemap tiles (polite use of the tile "
        "service).",
    ),
    Setting(
        "BOSAI_REFRESH_SECONDS", "30", "Auto-refresh interval of the wall-screen (kiosk) mode."
    ),
    Setting(
        "BOSAI_WARM_CACHES",
        "1",
        "1 to compute the overview's data (reference layers, the common picture) when the server "
        "starts, so the first session after a restart is as fast as the next; 0 to skip.",
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
        "BOSAI_EVACUATION_CRITERIA",
        str(
            PROJECT_ROOT / "evacuation_criteria.toml"
            if (PROJECT_ROOT / "evacuation_criteria.toml").exists()
            else PROJECT_ROOT / "evacuation_criteria.example.toml"
        ),
        "TOML file of the criteria for issuing evacuation information (避難情報の発令基準) per "
        "hazard; evacuation_criteria.toml in the project folder when it exists, else the 調布市 "
        "example (docs/evacuation.md).",
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
    Setting(
        "BOSAI_HTTP_DEADLINE_SECONDS",
        "60",
        "Total time one HTTP request of an ingest source may take: connect, every read and the "
        "waits between retries (a body trickled byte by byte is cut off too).",
    ),
    Setting(
        "BOSAI_HTTP_MAX_BYTES",
        "16000000",
        "The biggest answer an ingest source accepts (bytes, after decompression); a bigger "
        "one fails the run with the reason.",
    ),
    Setting(
        "BOSAI_RETRY_AFTER_CAP_SECONDS",
        "30",
        "The longest Retry-After (of a 429 or 503) waited out; an upstream asking for longer is "
        "not slept on: its source is marked backing off until then and the others go on.",
    ),
    Setting(
        "BOSAI_SOURCE_DEADLINE_SECONDS",
        "180",
        "Total time one run of a source may spend fetching (all its requests and pages); "
        "sources.toml `deadline_seconds` overrides it per source.",
    ),
    Setting(
        "BOSAI_SOURCE_STALE_MINUTES",
        "15",
        "A source without a successful run for longer than this is shown as stale (wall screen, "
        "admin page); sources.toml `stale_minutes` overrides it per source.",
    ),
    Setting(
        "BOSAI_LINE_API_URL",
        "https://api.line.me",
        "Base URL of the LINE Messaging API (a loopback platform in drills and tests). The "
        "channel access token is a secret: environment variable LINE_CHANNEL_ACCESS_TOKEN only.",
    ),
    Setting(
        "BOSAI_GUIDANCE_HAZARD",
        "",
        "The hazard the chat's shelter guidance selects shelters for (flood, earthquake …; "
        "empty: any open shelter).",
    ),
    Setting(
        "BOSAI_LINE_DISASTER_RICHMENU",
        "",
        "Rich menu id made the account's default in disaster mode "
        "(`python -m ingest campaigns --disaster-mode on`; `off` removes the default); empty: no switch.",
    ),
    Setting(
        "BOSAI_SMS_URL",
        "",
        "Base URL of a Twilio-shaped SMS gateway for residents without LINE (empty: no SMS; "
        "the token is a secret: environment variable SMS_AUTH_TOKEN only).",
    ),
    Setting("BOSAI_SMS_ACCOUNT", "", "Account SID of the SMS gateway (basic-auth user)."),
    Setting(
        "BOSAI_SMS_FROM", "", "Sender number (E.164) or messaging service SID of the SMS gateway."
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


def municipality() -> str:
    """The configured municipality (``BOSAI_MUNICIPALITY``) as its 5-digit code (no check digit).

    Rows written without a municipality belong to it, and so does a user without one.
    """
    return get("BOSAI_MUNICIPALITY").strip()[:5]
