"""第N報 of the damage report as files: Excel (openpyxl) and PDF, in 第4号様式's layout.

Two sheets / pages: その1 (災害概況即報: the report's heading, the main damage figures, the HQ's
set-up and the evacuation status) and その2 (被害状況即報: every item with its unit, the 確定
count, the 未確認 count and the change since the previous 報). The figures are those stored
when the 報 was fixed (:func:`geodata.damage.fix_report`): a file made later says the same.
docs/damage-report.md cites the 様式.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from geodata import damage  # noqa: E402
from geodata.export import fonts  # noqa: E402
from geodata.export.common import APP_NAME, ExportResult, audit_export, jst_label, municipality  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# その2's groups, in the 様式's order: (group, item codes).
GROUPS = (
    ("人的被害", ("dead", "missing", "injured_serious", "injured_minor")),
    (
        "住家被害",
        tuple(
            f"house_{k}_{u}"
            for k in ("total", "half", "partial", "above_floor", "below_floor")
            for u in ("bldg", "hh", "ppl")
        ),
    ),  # fmt: skip
    ("非住家", ("nonres_public", "nonres_other")),
    ("その他", ("road", "bridge", "river", "cliff", "water", "power", "gas", "phone")),
    ("り災", ("affected_hh", "affected_ppl")),
    ("火災発生", ("fire_building", "fire_hazmat", "fire_other")),
)
HEADER = ("区分", "項目", "単位", "被害（確定）", "未確認", "前報からの増減")


def sheet_rows(current: dict, previous: dict | None) -> list[tuple]:
    """その2's rows: (group, item label, unit, 確定, 未確認, change) in the 様式's order."""
    diff = damage.difference(current, previous)
    rows = []
    for group, codes in GROUPS:
        for code in codes:
            r = diff.loc[code]
            rows.append((group, r["label"], r["unit"], int(r["confirmed"]), int(r["unconfirmed"]),
                         int(r["change"])))  # fmt: skip
    return rows


def _heading(store, current: dict) -> dict:
    _, pref, city = municipality(store)
    as_of = pd.Timestamp(current["as_of"]).tz_convert("Asia/Tokyo")
    return {
        "都道府県": pref,
        "市町村": city,
        "災害名": current.get("disaster_name") or "",
        "報告番号": f"第{current['number']}報（{as_of.month}月{as_of.day}日{as_of.hour}時{as_of.minute:02d}分現在）",
        "報告日時": jst_label(current["fixed_at"]),
        "報告者名": current.get("fixed_by") or "",
    }


def _summary(current: dict) -> list[tuple[str, str]]:
    f = current["figures"]
    ov = current.get("overview") or {}

    def c(code):
        return f[code]["confirmed"]

    return [
        ("死者", f"{c('dead')} 人"),
        ("行方不明者", f"{c('missing')} 人"),
        ("負傷者", f"{c('injured_serious') + c('injured_minor')} 人"),
        ("住家 全壊", f"{c('house_total_bldg')} 棟"),
        ("住家 半壊", f"{c('house_half_bldg')} 棟"),
        ("住家 一部破損", f"{c('house_partial_bldg')} 棟"),
        ("住家 床上浸水", f"{c('house_above_floor_bldg')} 棟"),
        ("災害対策本部等の設置状況", ov.get("hq_setup") or "未確認"),
        ("開設避難所数", f"{ov.get('shelters_open', 0)} か所"),
        ("避難者数", f"{ov.get('evacuees', 0)} 人"),
        ("避難情報", "、".join(ov.get("evacuation") or []) or "なし"),
    ]


def damage_excel(
    store, current: dict, previous: dict | None, *, who: str | None = None
) -> ExportResult:
    """The 報 as an .xlsx workbook (sheets その1 and その2), audit-logged."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(bold=True)
    wb = Workbook()
    one = wb.active
    one.title = "その1"
    one["A1"] = "第4号様式（その1）　災害概況即報"
    one["A1"].font = Font(bold=True, size=14)
    row = 3
    for key, value in _heading(store, current).items():
        one.cell(row, 1, key).font = bold
        one.cell(row, 2, value)
        row += 1
    row += 1
    one.cell(row, 1, "被害の状況（確定）").font = bold
    row += 1
    for key, value in _summary(current):
        one.cell(row, 1, key).border = box
        one.cell(row, 2, value).border = box
        row += 1
    one.cell(
        row + 1,
        1,
        "（注）確認がとれていない事項は「未確認」と記入。未確認の件数は「その2」の未確認欄。",
    )
    one.column_dimensions["A"].width = 28
    one.column_dimensions["B"].width = 48

    two = wb.create_sheet("その2")
    two["A1"] = "第4号様式（その2）　被害状況即報"
    two["A1"].font = Font(bold=True, size=14)
    heading = _heading(store, current)
    two["A2"] = f"{heading['都道府県']} {heading['市町村']}　{heading['災害名']}"
    two["A3"] = heading["報告番号"]
    fill = PatternFill("solid", fgColor="DDDDDD")
    for col, text in enumerate(HEADER, start=1):
        cell = two.cell(5, col, text)
        cell.font, cell.fill, cell.border = bold, fill, box
        cell.alignment = Alignment(horizontal="center")
    for i, values in enumerate(sheet_rows(current, previous), start=6):
        for col, value in enumerate(values, start=1):
            two.cell(i, col, value).border = box
    for col, width in zip("ABCDEF", (10, 26, 6, 12, 10, 14), strict=True):
        two.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    audit_export(store, who, "damage-report-xlsx", "damage_reports", {"number": current["number"]})
    name = f"damage-report-{current['number']:03d}.xlsx"
    return ExportResult(buf.getvalue(), name, XLSX, len(current["figures"]), {})


def damage_pdf(
    store, current: dict, previous: dict | None, *, who: str | None = None
) -> ExportResult:
    """The 報 as an A4 PDF (その1 and その2), audit-logged."""
    heading = _heading(store, current)
    buf = io.BytesIO()
    meta = {"Title": f"被害状況即報 {heading['報告番号']}", "Author": f"{heading['市町村']} 災害対策本部",
            "Creator": APP_NAME}  # fmt: skip
    with plt.rc_context(fonts.rc_params()), PdfPages(buf, metadata=meta) as pdf:
        fig = plt.figure(figsize=(210 / 25.4, 297 / 25.4))
        fig.text(0.07, 0.95, "第4号様式（その1）　災害概況即報", fontsize=15, fontweight="bold")
        y = 0.90
        for key, value in [*heading.items(), ("", ""), *_summary(current)]:
            fig.text(0.08, y, key, fontsize=10.5)
            fig.text(0.42, y, value, fontsize=10.5)
            y -= 0.032
        pdf.savefig(fig)
        plt.close(fig)
        fig = plt.figure(figsize=(210 / 25.4, 297 / 25.4))
        fig.text(0.07, 0.96, "第4号様式（その2）　被害状況即報", fontsize=15, fontweight="bold")
        fig.text(0.07, 0.935, f"{heading['市町村']}　{heading['報告番号']}", fontsize=10)
        xs = (0.07, 0.19, 0.50, 0.58, 0.72, 0.84)
        y = 0.90
        for x, text in zip(xs, HEADER, strict=True):
            fig.text(x, y, text, fontsize=9, fontweight="bold")
        y -= 0.022
        for values in sheet_rows(current, previous):
            change = values[5]
            cells = [*values[:5], f"{change:+d}" if change else "0"]
            for x, value in zip(xs, cells, strict=True):
                fig.text(x, y, str(value), fontsize=8.5)
            y -= 0.0215
        fig.text(
            0.07, 0.03, f"出力 {jst_label(pd.Timestamp.now(tz='UTC'))}　{APP_NAME}", fontsize=7.5
        )
        pdf.savefig(fig)
        plt.close(fig)
    audit_export(store, who, "damage-report-pdf", "damage_reports", {"number": current["number"]})
    name = f"damage-report-{current['number']:03d}.pdf"
    return ExportResult(buf.getvalue(), name, "application/pdf", len(current["figures"]), {})
