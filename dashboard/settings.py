"""The dashboard's view of the settings (declared once in :mod:`geodata.settings`)."""

from geodata.settings import SETTINGS, Setting, db_url, get, reference_dir

# The municipalities whose entries the per-city caches (the overview's map and picture, the
# posts feed, the residents' states) hold at once: a system serving an area of 30 cities
# (issue 20) keeps every city's entries instead of each city's wall screens pushing the others'
# out (their keys differ by the URL scoped to the city).
CACHED_CITIES = 32

__all__ = [
    "CACHED_CITIES",
    "SETTINGS",
    "Setting",
    "db_url",
    "get",
    "reference_dir",
    "kiosk_default",
    "refresh_seconds",
]


def kiosk_default() -> bool:
    """Whether sessions start in wall-screen mode (``BOSAI_KIOSK=1``)."""
    return get("BOSAI_KIOSK").strip().lower() in ("1", "true", "yes")


def refresh_seconds() -> int:
    """Auto-refresh interval of the wall-screen mode, at least 5 s."""
    try:
        return max(5, int(get("BOSAI_REFRESH_SECONDS")))
    except ValueError:
        return 30
