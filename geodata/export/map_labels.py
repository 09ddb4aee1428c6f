"""Labels on the situation map: white halos that stay text, and shelter labels that avoid
each other.

Shelter labels are placed greedily, most crowded shelters first: each label tries eight
positions around its marker and takes the first whose box overlaps no label or marker placed
before it (else the least overlapping one). Box sizes are estimated from the characters
(full-width = 1 em, others = 0.6 em), which is close enough for Noto Sans CJK.
"""

from __future__ import annotations

import unicodedata

import geopandas as gpd
import pandas as pd
from matplotlib import patheffects

from geodata.export.map_style import SHELTER_LABEL_TEXT
from geodata.shelters import FULL

LABEL_SIZE = 7.5  # pt
MAX_NAME = 12  # full-width characters of a shelter name on the map
# (dx, dy) in points from the marker, and the text alignment that goes with it
POSITIONS = (
    (6, 3, "left", "bottom"), (6, -3, "left", "top"), (-6, 3, "right", "bottom"),
    (-6, -3, "right", "top"), (0, 7, "center", "bottom"), (0, -7, "center", "top"),
    (9, 0, "left", "center"), (-9, 0, "right", "center"),
)  # fmt: skip


def label(ax, text: str, xy, *, offset=(0, 0), halo: float = 2.2, **kwargs) -> None:
    """Text with a white halo that stays text in the PDF (searchable, copyable).

    Matplotlib draws text with path effects as outlines, so the halo is a second, outline-only
    copy underneath and the text itself is drawn plainly on top.
    """
    common = {"xytext": offset, "textcoords": "offset points", **kwargs}
    zorder = common.pop("zorder", 5)
    ax.annotate(
        text, xy, color="white", zorder=zorder - 0.01,
        path_effects=[patheffects.withStroke(linewidth=halo, foreground="white")],
        **{k: v for k, v in common.items() if k != "color"},
    )  # fmt: skip
    ax.annotate(text, xy, zorder=zorder, **common)


def display_name(name) -> str:
    """A shelter name as printed on the map: NFKC (ＫｉＺｕＮａ -> KiZuNa), cut to MAX_NAME."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    used = 0.0
    for i, ch in enumerate(text):
        used += _em(ch)
        if used > MAX_NAME:
            return text[: max(i - 1, 1)] + "…"
    return text


def shelter_load(row) -> str:
    """Evacuees / capacity as labelled on the map: ``120/500人``, ``35/約500人`` if estimated."""
    evacuees = row.get("evacuees")
    evacuees = 0 if evacuees is None or pd.isna(evacuees) else int(evacuees)
    capacity = row.get("capacity")
    if capacity is None or pd.isna(capacity):
        return f"{evacuees:,}人"
    estimated = row.get("capacity_estimated")
    about = "約" if estimated is not None and not pd.isna(estimated) and bool(estimated) else ""
    return f"{evacuees:,}/{about}{int(capacity):,}人"


def _em(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.6


def _box(anchor, text: str, position, px_per_pt: float) -> tuple[float, float, float, float]:
    """Estimated display box (x0, y0, x1, y1) of ``text`` placed at ``position``."""
    dx, dy, ha, va = position
    lines = text.split("\n")
    w = max(sum(_em(c) for c in line) for line in lines) * LABEL_SIZE * px_per_pt
    h = len(lines) * 1.2 * LABEL_SIZE * px_per_pt
    x = anchor[0] + dx * px_per_pt
    y = anchor[1] + dy * px_per_pt
    x0 = {"left": x, "right": x - w, "center": x - w / 2}[ha]
    y0 = {"bottom": y, "top": y - h, "center": y - h / 2}[va]
    return x0, y0, x0 + w, y0 + h


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(ax, shelters: gpd.GeoDataFrame) -> None:
    """Label open shelters with name and evacuees/capacity, avoiding overlaps."""
    if shelters.empty:
        return
    px_per_pt = ax.figure.dpi / 72
    anchors = ax.transData.transform(
        list(zip(shelters.geometry.x, shelters.geometry.y, strict=True))
    )
    marker = 5 * px_per_pt
    frame = tuple(ax.get_window_extent().extents)
    taken = [(x - marker, y - marker, x + marker, y + marker) for x, y in anchors]
    order = shelters.assign(_full=shelters["status"] != FULL, _n=-shelters["evacuees"].fillna(0))
    order = order.reset_index(drop=True).sort_values(["_full", "_n"], kind="stable")
    for i, row in order.iterrows():
        text = f"{display_name(row['name'])}\n{shelter_load(row)}"
        best, best_cost = POSITIONS[0], float("inf")
        for position in POSITIONS:
            box = _box(anchors[i], text, position, px_per_pt)
            cost = sum(_overlap(box, other) for other in taken)
            inside = _overlap(box, frame)
            cost += 10 * ((box[2] - box[0]) * (box[3] - box[1]) - inside)  # off the map frame
            if cost < best_cost:
                best, best_cost = position, cost
            if cost == 0:
                break
        taken.append(_box(anchors[i], text, best, px_per_pt))
        dx, dy, ha, va = best
        label(
            ax, text, (row.geometry.x, row.geometry.y), offset=(dx, dy), ha=ha, va=va,
            fontsize=LABEL_SIZE, fontweight="bold", color=SHELTER_LABEL_TEXT[row["status"]],
            zorder=9, linespacing=1.1,
        )  # fmt: skip
