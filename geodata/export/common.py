"""What every export shares: JST time labels, attribution lines, public masking, auditing.

The exports themselves live in small modules:

- :mod:`geodata.export.situation` gathers the situation (shelters, reports, safety counts, KPIs);
- :mod:`geodata.export.map` draws the 状況図 (A3 PDF / 300 dpi PNG), with optional basemap tiles
  from :mod:`geodata.export.basemap`;
- :mod:`geodata.export.data` writes any layer as GeoJSON, GeoPackage, KML or CSV;
- :mod:`geodata.export.visits` prints the non-responder visit list (internal only);
- :mod:`geodata.export.opendata` and :mod:`geodata.export.cap` publish shelter status as an
  open-data CSV and as CAP 1.2 messages.

Every function returns bytes (or writes a path) and never imports streamlit, so the dashboard's
export page and ``python -m ingest export`` call the same code. "Public" versions read through
:class:`geodata.export.public.PublicView`, the one place the public-output policy is applied.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from geodata import settings
from geodata.schema import now_utc, to_utc

log = logging.getLogger(__name__)

JST = ZoneInfo("Asia/Tokyo")
APP_NAME = "bosai-dashboard"

# Attribution lines, exactly as shared/data/README.md asks, keyed by the layer they cover.
ATTRIBUTIONS: dict[str, str] = {
    "towns": "出典：政府統計の総合窓口(e-Stat) 国勢調査町丁・字等別境界データ、CODH Geoshape を加工",
    "boundaries": "国土交通省『国土数値情報（行政区域データ）』をもとにNIIが加工",
    "shelters": "出典：国土地理院 指定緊急避難場所・指定避難所データ",
    "hazard_areas": "国土数値情報（浸水想定区域データ）国土交通省",
}
TILES_ATTRIBUTION = "背景地図：地理院タイル（国土地理院）"

# Municipality names for codes whose store has no boundary row yet (5-digit code -> pref, city).
KNOWN_MUNICIPALITIES = {
    "13208": ("東京都", "調布市"),
    "13211": ("東京都", "小平市"),
    "13210": ("東京都", "小金井市"),
    "13214": ("東京都", "国分寺市"),
}

# What a withheld value reads in a public output (see geodata.export.public, the policy).
PUBLIC_MASK = "非公開"
# Exports that are not a reference layer but draw on one (their geometry or names).
ATTRIBUTED_AS = {"safety_by_town": ("towns",)}


class PersonalDataError(ValueError):
    """A public export was asked for data that identifies persons."""


@dataclass
class ExportResult:
    """One exported file, as bytes, with what the caller shows or logs.

    Attributes
    ----------
    data : the file content.
    filename : a suggested file name (no folder).
    media_type : MIME type for a download button.
    count : rows / features / messages written.
    info : extra facts for the summary (e.g. characters replaced in a cp932 CSV).
    """

    data: bytes
    filename: str
    media_type: str
    count: int = 0
    info: dict = field(default_factory=dict)

    def write(self, path: str | Path) -> Path:
        """Write the bytes to ``path`` (a file, or a folder to put ``filename`` in)."""
        path = Path(path)
        if path.is_dir():
            path = path / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.data)
        return path

    def summary(self) -> dict:
        """The facts of the export as plain values (for ``--json``)."""
        return {
            "filename": self.filename,
            "count": self.count,
            "bytes": len(self.data),
            **self.info,
        }


def parse_time(value) -> pd.Timestamp | None:
    """A time argument (ISO text, datetime, None) as a UTC timestamp; naive text is JST."""
    return to_utc(value)


def as_jst(value) -> pd.Timestamp | None:
    """A time value converted to Japan time (naive values are read as JST)."""
    ts = to_utc(value)
    return None if ts is None else ts.tz_convert(JST)


def jst_label(value) -> str:
    """A time as printed on Japanese documents: ``2026年10月12日 21:00``.

    Examples
    --------
    >>> jst_label("2026-10-12T12:00:00Z")
    '2026年10月12日 21:00'
    """
    ts = as_jst(value)
    return "" if ts is None else f"{ts.year}年{ts.month}月{ts.day}日 {ts:%H:%M}"


def iso_jst(value) -> str:
    """A time as ISO 8601 with the +09:00 offset and whole seconds (CAP, open data).

    Examples
    --------
    >>> iso_jst("2026-10-12T12:00:00.5Z")
    '2026-10-12T21:00:00+09:00'
    """
    ts = as_jst(value)
    return "" if ts is None else ts.floor("s").isoformat()


def stamp(value=None) -> str:
    """A compact JST time for file names: ``20261012-2100``."""
    ts = as_jst(value if value is not None else now_utc())
    return f"{ts:%Y%m%d-%H%M}"


def municipality(store=None, code: str | None = None) -> tuple[str, str, str]:
    """(5-digit code, prefecture name, city name) of the municipality the exports are about.

    The names come from the store's boundary (or towns) layer when it has them, else from a
    short built-in table. Without ``code``: the municipality of a store scoped to one (a user's,
    ``Store.scoped``), else ``BOSAI_MUNICIPALITY``.
    """
    scope = getattr(getattr(store, "_store", store), "municipalities", None)  # a PublicView's too
    code = (code or (scope[0] if scope else None) or settings.get("BOSAI_MUNICIPALITY")).strip()[:5]
    pref, city = KNOWN_MUNICIPALITIES.get(code, ("", code))
    if store is not None:
        try:
            rows = store.read("boundaries", where={"city_code": [code, code + check_digit(code)]})
            if len(rows):
                row = rows.iloc[0]
                pref = row["pref_name"] or pref
                city = row["city_name"] or city
        except Exception:  # noqa: BLE001 - names are cosmetic; the table above is the fallback
            log.debug("no boundary names for %s", code, exc_info=True)
    return code, pref, city


def check_digit(code: str) -> str:
    """The check digit of a 5-digit 全国地方公共団体コード (JIS X 0402).

    Examples
    --------
    >>> check_digit("13208"), check_digit("13101")
    ('0', '6')
    """
    total = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def attribution_lines(layer: str) -> list[str]:
    """The attribution lines a file of ``layer`` must carry (empty for the HQ's own data).

    Examples
    --------
    >>> attribution_lines("safety_by_town") == [ATTRIBUTIONS["towns"]]
    True
    >>> attribution_lines("posts")
    []
    """
    return [ATTRIBUTIONS[k] for k in ATTRIBUTED_AS.get(layer, (layer,)) if k in ATTRIBUTIONS]


def default_actor() -> str:
    """Who runs an export from the command line (for the audit log)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def audit_export(store, who: str | None, kind: str, layer: str | None, detail: dict) -> None:
    """Record an export in the audit log (who, what, filters, counts)."""
    detail = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in detail.items()}
    store.log_action(who or default_actor(), f"export:{kind}", layer, detail)
