"""The HQ's クロノロジー printed for the meeting: an A4 or A3 landscape PDF.

Entries oldest first (as a whiteboard is read), with 第N回本部会議 and the as-of time in the
heading; a correction is printed under the entry it corrects' time with 「訂正」, the original
stays. Open tasks past due are marked ★期限超過. Internal: who entered an entry is printed; the
wall screen's masked view (:func:`geodata.chronology.wall_view`) is for display only.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from geodata import chronology, vocab  # noqa: E402
from geodata.export import fonts  # noqa: E402
from geodata.export.common import (  # noqa: E402
    APP_NAME,
    ExportResult,
    as_jst,
    audit_export,
    jst_label,
    municipality,
    stamp,
)
from geodata.export.visits import wrap  # noqa: E402
from geodata.schema import now_utc, to_utc  # noqa: E402

SIZES_IN = {"A4": (297 / 25.4, 210 / 25.4), "A3": (420 / 25.4, 297 / 25.4)}
ROWS = {"A4": 16, "A3": 24}
# (header, left edge as a share of the page width, width in full-width characters on A4)
COLUMNS = (
    ("時刻", 0.035, 6),
    ("区分", 0.095, 4),
    ("発信→宛先", 0.14, 12),
    ("内容", 0.27, 44),
    ("担当・期限・状況", 0.73, 14),
    ("記入", 0.88, 8),
)


def chronology_pdf(store, *, meeting: int | None = None, as_of=None, paper: str = "A4",
                   who: str | None = None) -> ExportResult:  # fmt: skip
    """The chronology up to ``as_of`` (default now) as a PDF for the 第``meeting``回本部会議."""
    if paper not in SIZES_IN:
        raise ValueError(f"paper must be one of {', '.join(SIZES_IN)}")
    as_of = to_utc(as_of) if as_of is not None else pd.Timestamp(now_utc())
    frame = chronology.timeline(store, as_of=as_of).iloc[::-1].reset_index(drop=True)
    _, _, city_name = municipality(store)
    data, pages = render_chronology(frame, as_of=as_of, meeting=meeting, paper=paper,
                                    city_name=city_name)  # fmt: skip
    audit_export(store, who, "chronology", "chronology",
                 {"as_of": as_of, "meeting": meeting, "entries": len(frame), "paper": paper})  # fmt: skip
    name = f"chronology-{stamp(as_of)}" + (f"-meeting{meeting}" if meeting else "") + ".pdf"
    return ExportResult(data, name, "application/pdf", len(frame), {"pages": pages})


def _cells(row: dict) -> list[str]:
    at = as_jst(row["at"]).strftime("%m/%d\n%H:%M")
    kind = vocab.SYSTEM_EVENTS.label(row["event"]) if row["kind"] == "system" else row["kind"]
    route = "→".join(x for x in (row.get("from_unit"), row.get("to_unit")) if _text(x))
    text = row["text"]
    if _text(row.get("corrects")):
        text = "【訂正】" + text
    if row.get("corrected_by"):
        text += "（訂正あり）"
    task = ""
    if row.get("task"):
        due = row.get("due_at")
        due_text = "" if due is None or pd.isna(due) else f" 期限{as_jst(due):%H:%M}"
        task = f"{row.get('assignee') or ''}{due_text}\n{row.get('state') or ''}"
        if row.get("overdue"):
            task += " ★期限超過"
    who = "" if row["kind"] == "system" else (row.get("entered_by") or "")
    return [at, kind, route, text, task, who]


def _text(value) -> bool:
    return isinstance(value, str) and bool(value)


def render_chronology(frame: pd.DataFrame, *, as_of, meeting, paper: str, city_name: str):
    """Draw ``frame`` (a :func:`geodata.chronology.timeline`, oldest first); (pdf, pages)."""
    width_in, height_in = SIZES_IN[paper]
    scale = width_in / SIZES_IN["A4"][0]
    per_page = ROWS[paper]
    total = max(1, math.ceil(len(frame) / per_page))
    title = "クロノロジー"
    meeting_label = f"第{meeting}回本部会議　" if meeting else ""
    meta = {"Title": f"{title} {meeting_label}".strip(), "Subject": f"{jst_label(as_of)} 現在",
            "Author": f"{city_name} 災害対策本部", "Creator": APP_NAME}  # fmt: skip
    buf = io.BytesIO()
    with plt.rc_context(fonts.rc_params()), PdfPages(buf, metadata=meta) as pdf:
        for page in range(total):
            fig = plt.figure(figsize=(width_in, height_in))
            fig.text(0.035, 0.955, f"{city_name} 災害対策本部 {title}", fontsize=16 * scale,
                     fontweight="bold", va="center")  # fmt: skip
            fig.text(0.965, 0.955, f"{meeting_label}{jst_label(as_of)} 現在", fontsize=12 * scale, ha="right",
                     va="center")  # fmt: skip
            top = 0.90
            for header, x, _ in COLUMNS:
                fig.text(x, top, header, fontsize=9.5 * scale, fontweight="bold", va="center")
            fig.add_artist(plt.Line2D([0.03, 0.97], [top - 0.018] * 2, lw=1.2, color="#333"))
            rows = frame.iloc[page * per_page : (page + 1) * per_page]
            row_h = (top - 0.08) / per_page
            y = top - 0.018 - row_h / 2
            if frame.empty:
                fig.text(0.035, y, "記録はありません。", fontsize=11 * scale, va="center")
            for row in rows.to_dict("records"):
                colour = "#b2182b" if row.get("overdue") else "#000"
                for (_, x, chars), value in zip(COLUMNS, _cells(row), strict=True):
                    lines = wrap(value, chars, 3)
                    fig.text(x, y, "\n".join(lines), fontsize=8.5 * scale, va="center",
                             linespacing=1.2, color=colour)  # fmt: skip
                fig.add_artist(plt.Line2D([0.03, 0.97], [y - row_h / 2] * 2, lw=0.4,
                                          color="#999"))  # fmt: skip
                y -= row_h
            fig.text(0.035, 0.03, f"出力 {jst_label(now_utc())}", fontsize=8 * scale, color="#444")
            fig.text(0.965, 0.03, f"{page + 1} / {total}", fontsize=9 * scale, ha="right")
            pdf.savefig(fig)
            plt.close(fig)
    return buf.getvalue(), total
