"""The shelter board as a table: translated columns and the occupancy / staleness colours.

:func:`display_frame` turns :func:`dashboard.shelters.board.board` into the columns a person reads;
:func:`styled` adds the cell colours (a pandas Styler that ``st.dataframe`` and ``st.table``
both render). Cell values are plain text: Streamlit shows them as text, never as HTML.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from dashboard.i18n import t
from dashboard.shelters.board import (
    CLASS_STYLES,
    STALE_STYLE,
    format_count,
    md_text,
    status_style,
)
from geodata.export.map_style import WELFARE_RING

URGENT_STYLE = "color: #b30000; font-weight: 700"  # a shelter with an urgent open request
WELFARE_STYLE = f"color: {WELFARE_RING}; font-weight: 700"

# board column -> catalogue key of its header, for the desk (full) and the wall screen (kiosk).
DESK_COLUMNS = (
    ("name", "shelters.col.name"),
    ("welfare_label", "shelters.col.welfare"),
    ("status_label", "shelters.col.status"),
    ("evacuees", "shelters.col.evacuees"),
    ("care_label", "care.col"),
    ("capacity_label", "measure.capacity"),
    ("rate", "measure.occupancy"),
    ("supplies_label", "supplies.col"),
    ("reported_label", "shelters.col.reported"),
    ("age_label", "shelters.col.age"),
    ("reported_by", "shelters.col.by"),
)
WALL_IF_FILLED = ("care_label", "supplies_label")  # on the wall only when some shelter has one
KIOSK_COLUMNS = (
    ("name", "shelters.col.name"),
    ("status_label", "shelters.col.status"),
    ("evacuees", "shelters.col.evacuees"),
    ("capacity_label", "measure.capacity"),
    ("rate", "measure.occupancy"),
    ("care_label", "care.col"),
    ("supplies_label", "supplies.col"),
    ("age_label", "shelters.col.age"),
)


def display_frame(board: pd.DataFrame, lang: str = "ja", kiosk: bool = False) -> pd.DataFrame:
    """The board with the columns people read, headed in ``lang``.

    The wall screen drops the report time and the reporter (names of staff have no use
    at 5 m, and the age says more), and the 要配慮者 and supply-request columns while no
    shelter shown has any (:data:`WALL_IF_FILLED`). Its texts are markdown-escaped: ``st.table`` renders each
    cell as markdown, and a shelter name is outside text.
    """
    columns = KIOSK_COLUMNS if kiosk else DESK_COLUMNS
    if kiosk:  # the wall has no width to spare: a column nobody has filled in stays off it
        columns = tuple(
            (col, key)
            for col, key in columns
            if col not in WALL_IF_FILLED or wall_shows(board, col)
        )
    out = pd.DataFrame({t(key, lang=lang): board[col] for col, key in columns})
    if kiosk:
        out = markdown_safe(out)
    return out.reset_index(drop=True)


def wall_shows(board: pd.DataFrame, col: str) -> bool:
    """Whether the wall shows the optional column ``col`` (:data:`WALL_IF_FILLED`): some
    shelter of ``board`` has something in it."""
    return not board[col].isin(["", "–"]).all()


def markdown_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell markdown-escaped (for ``st.table``, which renders cells
    as markdown: an image link in outside text would otherwise be fetched)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = pd.Series(
                [md_text(v) if isinstance(v, str) else v for v in out[col]],
                index=out.index,
                dtype=object,
            )
    return out


def _css(style: tuple[str, str] | None) -> str:
    if style is None:
        return ""
    background, colour = style
    return f"background-color: {background}; color: {colour}; font-weight: 600"


def cell_styles(board: pd.DataFrame) -> dict[str, list[str]]:
    """CSS per row for the status, occupancy and age cells ("" = no colour).

    Occupancy cells take the class colour (0–30 / 30–60 / 60–80 / ≥80 %); a stale age of an
    open shelter is signal yellow; a status cell takes the colour the shelter's map marker has
    (:func:`dashboard.shelters.board.status_style`: the one palette); supply requests with an
    urgent one are red; a welfare shelter's mark is in the welfare ring's colour.
    """
    out: dict[str, list[str]] = {"status": [], "rate": [], "age": [], "supplies": [], "welfare": []}
    for rec in board.to_dict("records"):
        cls = rec["occupancy"]
        has_class = cls is not None and not pd.isna(cls)
        out["status"].append(_css(status_style(rec["status"], int(cls) if has_class else None)))
        out["rate"].append(_css(CLASS_STYLES[int(cls)]) if has_class else "")
        out["age"].append(_css(STALE_STYLE) if rec["stale"] else "")
        out["supplies"].append(URGENT_STYLE if rec.get("urgent") else "")
        out["welfare"].append(WELFARE_STYLE if rec.get("welfare") else "")
    return out


def styled(board: pd.DataFrame, lang: str = "ja", kiosk: bool = False) -> Styler:
    """:func:`display_frame` with the cell colours and number formats (rate as ``45%``)."""
    frame = display_frame(board, lang=lang, kiosk=kiosk)
    css = cell_styles(board.reset_index(drop=True))
    col_rate = t("measure.occupancy", lang=lang)
    col_evacuees = t("shelters.col.evacuees", lang=lang)
    by_header = {
        t("shelters.col.status", lang=lang): css["status"],
        col_rate: css["rate"],
        t("shelters.col.age", lang=lang): css["age"],
        t("supplies.col", lang=lang): css["supplies"],
        t("shelters.col.welfare", lang=lang): css["welfare"],
    }

    def paint(column: pd.Series) -> list[str]:
        return by_header.get(column.name, [""] * len(column))

    return (
        frame.style.apply(paint, axis=0)
        .format(
            {
                col_rate: lambda v: "–" if pd.isna(v) else f"{v:.0%}",
                col_evacuees: format_count,
            },
            na_rep="–",
        )
        .hide(axis="index")
    )
