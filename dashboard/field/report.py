"""現地調査 field reports: pure helpers (validation, the photo file, the record, the list).

No streamlit here. A report is one row of the ``field_reports`` layer, keyed by
(``source``, ``source_id``) = (:data:`SOURCE`, a random id), so the store's upsert writes it once
and audit-logs it with the staff member as actor.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from dashboard.i18n import t
from dashboard.shelters.board import JST, format_age
from geodata import settings
from geodata.access.files import private_dir, write_private
from geodata.schema import CATEGORIES, STORE_CRS
from geodata.shelters import report_age, stored_time

SOURCE = "dashboard"  # field_reports.source of reports entered on the field page
# Severity colours (map markers, list cells): 1 minor, 2 moderate, 3 severe.
SEVERITY_COLOURS = {1: ("#fee08b", "#1a1a1a"), 2: ("#fc8d59", "#1a1a1a"), 3: ("#b2182b", "#ffffff")}
SEVERITIES = (1, 2, 3)
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PHOTO_MB = 20


@dataclass(frozen=True)
class Place:
    """Where a report is: a point (lon/lat), its town, and how it was found."""

    point: shapely.Point
    town_code: str | None
    label: str  # what the user sees: the town / matched place
    method: str  # map, address, town, shelter, landmark
    confidence: float = 1.0


def uploads_dir() -> Path:
    """The photo folder (``BOSAI_UPLOADS_DIR``)."""
    return Path(settings.get("BOSAI_UPLOADS_DIR"))


def check_report(
    category, severity, description, place: Place | None, has_photo: bool, lang: str = "ja"
) -> list[str]:
    """Error messages for a report that cannot be saved (empty list: it can).

    Examples
    --------
    >>> check_report("火災", 2, "", None, False, lang="en")
    ['Choose the place (click on the map or enter an address).', 'Describe what you see or add a photo.']
    """
    errors = []
    if category not in CATEGORIES:
        errors.append(t("field.check.category", lang=lang))
    if severity not in SEVERITIES:
        errors.append(t("field.check.severity", lang=lang))
    if place is None:
        errors.append(t("field.check.place", lang=lang))
    if not (description or "").strip() and not has_photo:
        errors.append(t("field.check.description", lang=lang))
    return errors


def save_photo(content: bytes, folder: Path, now: datetime) -> Path:
    """Check that ``content`` is a JPEG, PNG or WebP photo and store it under ``folder``.

    The file name is random (never the uploaded name) in a folder per day:
    ``<folder>/field/2026/11/24/<hex>.jpg``. Raises ValueError for anything that is not a
    readable photo of at most :data:`MAX_PHOTO_MB` MB.
    """
    from PIL import Image, UnidentifiedImageError

    if not content or len(content) > MAX_PHOTO_MB * 1024 * 1024:
        raise ValueError("empty or too large")
    try:
        with Image.open(io.BytesIO(content)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not a photo: {exc}") from None
    if kind not in PHOTO_FORMATS:
        raise ValueError(f"unsupported image format {kind}")
    day = pd.Timestamp(now).tz_convert(JST)
    target = folder / "field" / day.strftime("%Y") / day.strftime("%m") / day.strftime("%d")
    # Photos may show residents and homes: folders 0700, files 0600 (other local users: nothing).
    private_dir(folder)
    private_dir(target)
    path = write_private(target / f"{uuid.uuid4().hex}.{PHOTO_FORMATS[kind]}", content)
    return path.resolve()


def report_frame(
    category: str,
    severity: int,
    description: str | None,
    place: Place,
    actor: str,
    now: datetime,
    photo_path: Path | None = None,
    damage: dict[str, int] | None = None,
) -> gpd.GeoDataFrame:
    """One ``field_reports`` row (EPSG:4326) ready for ``store.upsert``; ``damage`` holds the
    counts of 第4号様式 it states (item code -> count)."""
    row = {
        "source": SOURCE,
        "source_id": uuid.uuid4().hex,
        "category": category,
        "severity": int(severity),
        "description": (description or "").strip() or None,
        "photo_url": str(photo_path) if photo_path else None,
        "reported_by": actor,
        "reported_at": pd.Timestamp(now),
        "town_code": place.town_code,
        "incident_id": None,
        **{f"dmg_{code}": int(n) for code, n in (damage or {}).items()},
    }
    return gpd.GeoDataFrame([row], geometry=[place.point], crs=STORE_CRS)


def place_text(place: Place | None, lang: str = "ja") -> str:
    """「国領町三丁目（住所、確からしさ 95%）」 — what the form says about the chosen place."""
    if place is None:
        return t("field.place.none", lang=lang)
    if place.method == "map":
        return t("field.place.clicked", lang=lang, town=place.label)
    return t(
        "field.place.found",
        lang=lang,
        place=place.label,
        method=t(f"field.method.{place.method}", lang=lang),
        confidence=place.confidence,
    )


def recent_frame(
    reports: pd.DataFrame, town_names: dict[str, str], now: datetime, lang: str = "ja"
) -> pd.DataFrame:
    """The recent-reports list: newest first, headed in ``lang``.

    Columns: time (JST), age, category, severity, town, description, reported by, photo.
    """
    keys = ("time", "age", "category", "severity", "town", "description", "by", "photo")
    headers = [t(f"field.col.{k}", lang=lang) for k in keys]
    if reports is None or reports.empty:
        return pd.DataFrame(columns=headers)
    frame = reports.assign(_at=reports["reported_at"].map(stored_time))
    frame = frame.sort_values("_at", ascending=False, kind="stable")
    rows = []
    for rec in frame.to_dict("records"):
        at = rec["_at"]
        rows.append(
            [
                at.tz_convert(JST).strftime("%m/%d %H:%M") if at is not None else "",
                format_age(report_age(at, now), lang),
                t(f"category.{rec['category']}", lang=lang),
                int(rec["severity"]) if pd.notna(rec.get("severity")) else None,
                town_names.get(text(rec.get("town_code")), ""),
                text(rec.get("description")),
                text(rec.get("reported_by")) or text(rec.get("source")),
                t("field.photo.yes", lang=lang) if text(rec.get("photo_url")) else "",
            ]
        )
    return pd.DataFrame(rows, columns=headers)


def severity_colour(value) -> str:
    """The marker colour of a severity (grey when unknown)."""
    try:
        return SEVERITY_COLOURS[int(value)][0]
    except (KeyError, TypeError, ValueError):
        return "#9e9e9e"


def severity_css(values) -> list[str]:
    """Cell CSS for a column of severities."""
    out = []
    for value in values:
        try:
            background, colour = SEVERITY_COLOURS[int(value)]
        except (KeyError, TypeError, ValueError):
            out.append("")
            continue
        out.append(f"background-color: {background}; color: {colour}; font-weight: 700")
    return out


def text(value) -> str:
    """A stored text, or "" for None / NaN / pd.NA."""
    return value if isinstance(value, str) else ""
