"""Symbols of the maps: shelter status and occupancy, damage categories, not-replied classes.

One table each, shared by the map and its legend so the two can never disagree. The shelter
palette (:data:`SHELTER_PALETTE`, :func:`shelter_class`) is the one of every shelter colour: the
printed situation map here, the interactive and wall maps (:mod:`dashboard.maps.layers`) and the
board's table (:mod:`dashboard.shelters.table`) all take theirs from it.
"""

from __future__ import annotations

from geodata.shelters import CLOSED, FULL, NO_REPORT, NOT_OPEN, OPEN
from geodata.vocab import SHELTER_STATUSES

# -- one palette for shelters: the board's table, the wall, the interactive and the printed map --
# A shelter's colour class: an open shelter by its occupancy class (0–30 / 30–60 / 60–80 / ≥80 %,
# geodata.shelters.occupancy_class) or "open, capacity unknown"; the other states by status; a
# shelter without any report is drawn white like 未開設 (its marker and label say 報告なし).
OCCUPANCY_CLASSES = ("occupancy_0", "occupancy_1", "occupancy_2", "occupancy_3")
OPEN_UNKNOWN = "open_unknown"
SHELTER_CLASSES = (*OCCUPANCY_CLASSES, OPEN_UNKNOWN, FULL, CLOSED, NOT_OPEN, NO_REPORT)
# class -> fill, edge, and the text colour on the fill (table cells): the single source.
SHELTER_PALETTE: dict[str, dict[str, str]] = {
    "occupancy_0": {"fill": "#1a9850", "edge": "#333333", "text": "#ffffff"},
    "occupancy_1": {"fill": "#fee08b", "edge": "#333333", "text": "#1a1a1a"},
    "occupancy_2": {"fill": "#fc8d59", "edge": "#333333", "text": "#1a1a1a"},
    "occupancy_3": {"fill": "#d73027", "edge": "#333333", "text": "#ffffff"},
    OPEN_UNKNOWN: {"fill": "#4575b4", "edge": "#333333", "text": "#ffffff"},
    FULL: {"fill": "#67001f", "edge": "#333333", "text": "#ffffff"},
    CLOSED: {"fill": "#8c8c8c", "edge": "#555555", "text": "#1a1a1a"},  # dark text: 5.6:1
    NOT_OPEN: {"fill": "#ffffff", "edge": "#555555", "text": "#1a1a1a"},
    NO_REPORT: {"fill": "#ffffff", "edge": "#8c8c8c", "text": "#1a1a1a"},
}
# The ring drawn around a 福祉避難所 (a shelter for people who need care) on every map.
WELFARE_RING = "#7b3294"


def shelter_class(status, occupancy) -> str:
    """The colour class of a shelter (a key of :data:`SHELTER_PALETTE`).

    Examples
    --------
    >>> shelter_class("開設", 2), shelter_class("開設", None), shelter_class("満員", 3)
    ('occupancy_2', 'open_unknown', '満員')
    >>> shelter_class(None, None), shelter_class("閉鎖", 1)
    ('報告なし', '閉鎖')
    """
    if status == OPEN:
        if occupancy is None or occupancy != occupancy:  # None or NaN: capacity unknown
            return OPEN_UNKNOWN
        return OCCUPANCY_CLASSES[int(occupancy)]
    if status in (FULL, CLOSED, NOT_OPEN):
        return status
    return NO_REPORT


def shelter_fill(status, occupancy) -> str:
    """The fill colour of a shelter of ``status`` and occupancy class ``occupancy``."""
    return SHELTER_PALETTE[shelter_class(status, occupancy)]["fill"]


# The printed map: class -> marker, size (pt²), fill, edge (fill and edge from the palette).
_MARKERS = {NOT_OPEN: ("s", 40), CLOSED: ("s", 45), NO_REPORT: ("o", 30)}
SHELTER_STYLE: dict[str, dict] = {
    cls: {
        "marker": _MARKERS.get(cls, ("s", 90))[0],
        "size": _MARKERS.get(cls, ("s", 90))[1],
        "color": SHELTER_PALETTE[cls]["fill"],
        "edge": SHELTER_PALETTE[cls]["edge"],
    }
    for cls in SHELTER_CLASSES
}
# Label text of an open shelter's name and count on the printed map (on the map, not on a fill).
SHELTER_LABEL_TEXT = {OPEN: "#0b4f22", FULL: "#8b1415"}
SHELTER_LABELS = {
    **{cls: f"開設中 収容率{band}" for cls, band in zip(
        OCCUPANCY_CLASSES, ("30%未満", "30〜60%", "60〜80%", "80%以上"), strict=True)},
    OPEN_UNKNOWN: "開設中（収容人数不明）",
    **{code: SHELTER_STATUSES.label(code) for code in (FULL, CLOSED, NOT_OPEN)},
    NO_REPORT: NO_REPORT,
}  # fmt: skip

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
