"""物資要請 as a file for the HQ's logistics desk: CSV (Excel, UTF-8 with BOM) and Excel (.xlsx).

One row per request in its current state, open ones first and the most urgent first
(:func:`geodata.supplies.sort_by_urgency`), with the shelter's name and every field in Japanese.
Internal: it names who asked and who arranged (staff accounts) and carries their notes; every
file is written to the audit log. It goes beside the shelters export (the shelters layer with
their status and 要配慮者 counts: ``export layer shelters``).
"""

from __future__ import annotations

import io

import pandas as pd

from geodata import supplies
from geodata.export.common import ExportResult, audit_export, stamp
from geodata.store.codec import stored_time
from geodata.vocab import SUPPLY_ITEMS, SUPPLY_STATES, SUPPLY_URGENCIES

COLUMNS = (
    "要請ID", "避難所ID", "避難所名", "品目", "品目(詳細)", "数量", "単位", "緊急度", "状態",
    "要請日時(JST)", "要請者", "更新日時(JST)", "更新者", "備考",
)  # fmt: skip
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def supplies_frame(store) -> pd.DataFrame:
    """Every supply request in its current state as the files write it (:data:`COLUMNS`)."""
    current = supplies.sort_by_urgency(supplies.current(store.read("supply_requests")))
    shelters = store.read("shelters", columns=["shelter_id", "name"])
    names = dict(zip(shelters["shelter_id"], shelters["name"], strict=True))
    rows = [
        [
            r["request_id"], r["shelter_id"], names.get(r["shelter_id"], ""),
            SUPPLY_ITEMS.label(r["item"]), _text(r["item_text"]),
            None if pd.isna(r["quantity"]) else int(r["quantity"]), _text(r["unit"]),
            SUPPLY_URGENCIES.label(r["urgency"]), SUPPLY_STATES.label(r["state"]),
            _jst(r["requested_at"]), _text(r["requested_by"]), _jst(r["updated_at"]),
            _text(r["updated_by"]), _text(r["note"]),
        ]
        for r in current.to_dict("records")
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def supplies_file(store, fmt: str = "csv", *, who: str | None = None) -> ExportResult:
    """The supply requests as ``csv`` or ``xlsx``, audit-logged.

    Examples
    --------
    >>> supplies_file(store, "xlsx", who="ito").filename  # doctest: +SKIP
    'supply-requests-20261012-2100.xlsx'
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {fmt!r}; csv or xlsx")
    table = supplies_frame(store)
    if fmt == "csv":
        data = table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
        media = "text/csv"
    else:
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            table.to_excel(writer, index=False, sheet_name="物資要請")
            sheet = writer.sheets["物資要請"]
            sheet.freeze_panes = "A2"
            for column, width in zip(
                "ABCDEFGHIJKLMN", (26, 16, 24, 14, 16, 8, 6, 8, 8, 17, 12, 17, 12, 30), strict=True
            ):
                sheet.column_dimensions[column].width = width  # fmt: skip
        data = buffer.getvalue()
        media = XLSX
    open_now = int(table["状態"].isin([SUPPLY_STATES.label(s) for s in supplies.OPEN_STATES]).sum())
    audit_export(store, who, f"supplies-{fmt}", "supply_requests",
                 {"format": fmt, "rows": len(table), "open": open_now})  # fmt: skip
    return ExportResult(data, f"supply-requests-{stamp()}.{fmt}", media, len(table))


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _jst(value) -> str:
    ts = stored_time(value)
    return "" if ts is None else f"{ts.tz_convert('Asia/Tokyo'):%Y-%m-%d %H:%M}"
