"""Symbols of the situation map: shelter status, damage categories, not-replied classes.

One table each, shared by the map and its legend so the two can never disagree.
"""

from __future__ import annotations

from geodata.shelters import CLOSED, FULL, NO_REPORT, NOT_OPEN, OPEN
from geodata.vocab import SHELTER_STATUSES

# status -> marker, size (pt²), fill, edge, label text colour. NO_REPORT: a shelter without any
# status record (drawn apart from 未開設: nobody said it is not open).
SHELTER_STYLE: dict[str, dict] = {
    OPEN: {"marker": "s", "size": 90, "color": "#1e9e4a", "edge": "#0b4f22", "text": "#0b4f22"},
    FULL: {"marker": "s", "size": 90, "color": "#d62728", "edge": "#6b0f10", "text": "#8b1415"},
    CLOSED: {"marker": "s", "size": 45, "color": "#7f7f7f", "edge": "#333333", "text": "#333333"},
    NOT_OPEN: {"marker": "s", "size": 40, "color": "#ffffff", "edge": "#555555", "text": "#333333"},
    NO_REPORT: {
        "marker": "o",
        "size": 30,
        "color": "#d9d9d9",
        "edge": "#8c8c8c",
        "text": "#555555",
    },
}
SHELTER_LABELS = {
    **{code: SHELTER_STATUSES.label(code) for code in SHELTER_STYLE if code in SHELTER_STATUSES},
    OPEN: "開設中",
    NO_REPORT: NO_REPORT,
}

# damage category (geodata.schema.CATEGORIES) -> marker, size, colour
CATEGORY_STYLE: dict[str, dict] = {
    "救助要請": {"marker": "X", "size": 150, "color": "#c2185b"},
    "火災": {"marker": "*", "size": 190, "color": "#e4572e"},
    "浸水・冠水": {"marker": "o", "size": 80, "color": "#1f5fbf"},
    "土砂災害": {"marker": "^", "size": 95, "color": "#8c5a2b"},
    "建物被害": {"marker": "D", "size": 65, "color": "#6a3d9a"},
    "道路・交通": {"marker": "P", "size": 95, "color": "#333333"},
    "停電": {"marker": "h", "size": 90, "color": "#e0a800"},
    "断水": {"marker": "v", "size": 90, "color": "#17a2b8"},
    "避難所": {"marker": "p", "size": 85, "color": "#2e8b57"},
    "その他": {"marker": "o", "size": 45, "color": "#8a8a8a"},
}

# (lowest, highest, label, colour) of residents not yet heard from, per town
NOT_REPLIED_CLASSES: tuple[tuple[int, int, str, str], ...] = (
    (1, 2, "1〜2人", "#fdebc0"),
    (3, 5, "3〜5人", "#f9c77a"),
    (6, 9, "6〜9人", "#f08c3e"),
    (10, 10**9, "10人以上", "#d9542b"),
)
NO_FILL = (1, 1, 1, 0)


def not_replied_color(count) -> str | tuple:
    """The fill of a town with ``count`` residents not yet heard from.

    Transparent for 0 and for a suppressed count of the public map (a mark such as 3人未満).
    """
    if isinstance(count, str):
        return NO_FILL
    count = int(count or 0)
    for low, high, _, color in NOT_REPLIED_CLASSES:
        if low <= count <= high:
            return color
    return NO_FILL


def public_classes(threshold: int) -> tuple[tuple[int, int, str, str], ...]:
    """The classes a public map may show: none that starts below the suppression threshold."""
    return tuple(c for c in NOT_REPLIED_CLASSES if c[0] >= threshold)
