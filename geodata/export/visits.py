"""The visit list (訪問リスト) printed: an A4 PDF and a CSV for Excel, internal only.

Who is on the list, in which order and under which section is decided by
:func:`geodata.safety.visit_list` (the rules and their order are in that module's docstring);
this module only prints it, so the safety page's downloads, the export page and ``python -m
ingest export visit-list`` hand out the same residents in the same order. Each section starts
on a new page, so that a page can be given to the team going there: first the residents whose
newest reply asks for help (要救助・負傷) and whom nobody has reached since, then one section
per town. Each row has the list's number, the name (and kana), address, phone, care needs,
supporter, the reply (urgent section) and the last follow-up in the wording of
:mod:`geodata.vocab`, and check boxes for the visit outcome. Every export is audit-logged.
"""

from __future__ import annotations

import io
import math
import unicodedata

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from geodata import safety  # noqa: E402
from geodata.export import fonts  # noqa: E402
from geodata.export.common import (  # noqa: E402
    APP_NAME,
    ExportResult,
    audit_export,
    jst_label,
    municipality,
    parse_time,
    stamp,
)
from geodata.schema import now_utc  # noqa: E402

A4_LANDSCAPE_IN = (297 / 25.4, 210 / 25.4)
ROWS_PER_PAGE = 11
# (header, left edge in inches, width in full-width characters at the body font size)
COLUMNS = (
    ("No", 0.40, 3),
    ("優先", 0.75, 3),
    ("氏名（カナ）", 1.15, 11),
    ("住所", 2.70, 19),
    ("電話", 5.25, 12),
    ("支援内容", 6.55, 11),
    ("避難支援者", 8.00, 10),
    ("回答・前回対応", 9.30, 8),
    ("訪問結果", 10.25, 9),
)


UNCONFIRMED = "安否未確認"  # the CSV's 区分 of the town sections
CSV_COLUMNS = {
    "no": "No",
    "care_priority": "優先",
    "town": "町丁目",
    "name": "氏名",
    "kana": "氏名カナ",
    "address": "住所",
    "phone": "電話番号",
    "care_needs": "支援内容",
    "supporter": "避難支援者",
    "reply": "回答",
    "last_follow_up": "前回対応",
    "attempts": "対応回数",
    "kind": "区分",
    "resident_id": "整理番号",
}


def visit_list_pdf(
    store, *, as_of=None, who: str | None = None, town_codes=None, people=None
) -> ExportResult:
    """The visit list as an A4 landscape PDF (a section per page run), audit-logged.

    Parameters
    ----------
    store : the store.
    as_of : replies and follow-ups after this time are ignored (default: now).
    who : the user, for the audit log.
    town_codes : only these towns (None: all).
    people : the list already computed by :func:`geodata.safety.visit_list` (the page passes
        the list on its screen); None reads it from the store.

    Returns
    -------
    ExportResult with ``count`` residents and ``info`` towns, urgent, pages, as_of.
    """
    as_of_ts, people = _the_list(store, as_of, town_codes, people)
    _, _, city = municipality(store)
    data, pages = render_visit_list(people, as_of=as_of_ts, city_name=city)
    info = _counts(people)
    audit_export(store, who, "visit-list", "roster",
                 {**_audit(people, town_codes, as_of_ts), "pages": pages})  # fmt: skip
    return ExportResult(
        data,
        filename("pdf", as_of_ts),
        "application/pdf",
        len(people),
        {**info, "pages": pages, "as_of": jst_label(as_of_ts)},
    )


def visit_list_csv(
    store, *, as_of=None, who: str | None = None, town_codes=None, people=None
) -> ExportResult:
    """The visit list as CSV for Excel (UTF-8 with BOM, CRLF, Japanese headers), audit-logged.

    The parameters are those of :func:`visit_list_pdf`; the rows are the same, in its order.
    """
    as_of_ts, people = _the_list(store, as_of, town_codes, people)
    kind = [safety.URGENT_TITLE if s == safety.URGENT else UNCONFIRMED for s in people["section"]]
    table = people.assign(kind=kind).reindex(columns=list(CSV_COLUMNS))
    table = table.rename(columns=CSV_COLUMNS)
    data = table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    audit_export(store, who, "visit-list-csv", "roster", _audit(people, town_codes, as_of_ts))
    return ExportResult(data, filename("csv", as_of_ts), "text/csv", len(people), _counts(people))


def filename(ext: str, as_of=None) -> str:
    """``visit-list-20261012-2100.pdf``."""
    return f"visit-list-{stamp(as_of)}.{ext}"


def _the_list(store, as_of, town_codes, people) -> tuple[pd.Timestamp, pd.DataFrame]:
    as_of_ts = parse_time(as_of) or pd.Timestamp(now_utc())
    if people is None:
        people = safety.read_visit_list(store, as_of=as_of_ts, town_codes=town_codes)
    return as_of_ts, people


def _counts(people: pd.DataFrame) -> dict:
    urgent = people["section"] == safety.URGENT
    return {"towns": int(people.loc[~urgent, "section"].nunique()), "urgent": int(urgent.sum())}


def _audit(people: pd.DataFrame, town_codes, as_of) -> dict:
    return {
        "residents": len(people),
        "towns": sorted(town_codes) if town_codes else "all",
        "as_of": as_of.isoformat(),
    }


def render_visit_list(people: pd.DataFrame, *, as_of, city_name: str) -> tuple[bytes, int]:
    """Draw ``people`` (a :func:`geodata.safety.visit_list`) section by section; (pdf, pages)."""
    buf = io.BytesIO()
    sections = safety.sections(people)
    total = sum(max(1, math.ceil(len(rows) / ROWS_PER_PAGE)) for _, rows in sections) or 1
    meta = {
        "Title": "安否未確認者 訪問リスト",
        "Subject": f"{jst_label(as_of)} 現在（内部用・個人情報）",
        "Author": f"{city_name} 災害対策本部",
        "Creator": APP_NAME,
    }
    page = 0
    with plt.rc_context(fonts.rc_params()), PdfPages(buf, metadata=meta) as pdf:
        if not sections:
            page += 1
            fig = _page(city_name, "（該当者なし）", 0, as_of, page, total)
            fig.text(0.4, 6.6, "訪問が必要な要支援者はいません。", fontsize=14,
                     transform=fig.dpi_scale_trans)  # fmt: skip
            fig.text(0.4, 6.2, "（安否未確認の方も、未対応の要救助・負傷の方もいません）",
                     fontsize=11, transform=fig.dpi_scale_trans)  # fmt: skip
            pdf.savefig(fig)
            plt.close(fig)
        for title, rows in sections:
            for start in range(0, len(rows), ROWS_PER_PAGE):
                page += 1
                fig = _page(city_name, title, len(rows), as_of, page, total, start > 0)
                _rows(fig, rows.iloc[start : start + ROWS_PER_PAGE])
                pdf.savefig(fig)
                plt.close(fig)
    return buf.getvalue(), page


def _page(city, title, count, as_of, page, total, continued=False) -> plt.Figure:
    fig = plt.figure(figsize=A4_LANDSCAPE_IN)
    inch = fig.dpi_scale_trans
    fig.text(0.4, 7.75, "安否未確認者 訪問リスト", fontsize=17, fontweight="bold",
             transform=inch, va="center")  # fmt: skip
    fig.text(11.29, 7.75, "取扱注意：個人情報　訪問後は本部へ返却", fontsize=11, color="white",
             fontweight="bold", ha="right", va="center", transform=inch,
             bbox={"boxstyle": "round,pad=0.35", "fc": "#c0392b", "ec": "#c0392b"})  # fmt: skip
    heading = f"{title}（{count}人）" + ("　つづき" if continued else "")
    fig.text(0.4, 7.35, heading, fontsize=15, fontweight="bold", transform=inch, va="center")
    fig.text(11.29, 7.35, f"{jst_label(as_of)} 現在", fontsize=11, ha="right",
             va="center", transform=inch)  # fmt: skip
    y = 7.0
    for header, x, _ in COLUMNS:
        fig.text(x, y, header, fontsize=9.5, fontweight="bold", va="center", transform=inch)
    _hline(fig, y - 0.16, 1.2)
    fig.text(0.4, 0.3, f"{city} 災害対策本部　出力 {jst_label(now_utc())}", fontsize=8,
             transform=inch, color="#444")  # fmt: skip
    fig.text(11.29, 0.3, f"{page} / {total}", fontsize=9, ha="right", transform=inch)
    return fig


def _hline(fig, y, lw=0.5) -> None:
    fig.add_artist(
        plt.Line2D([0.35, 11.34], [y, y], lw=lw, color="#555", transform=fig.dpi_scale_trans)
    )


def _rows(fig, rows: pd.DataFrame) -> None:
    inch = fig.dpi_scale_trans
    row_h = 0.56
    y = 6.84 - row_h / 2
    for _, r in rows.iterrows():
        prio = "" if pd.isna(r["care_priority"]) else str(int(r["care_priority"]))
        done = "\n".join(t for t in (r["reply"], r["last_follow_up"]) if isinstance(t, str) and t)
        cells = [
            str(r["no"]),
            prio,
            None,  # name and kana, drawn below
            r["address"],
            r["phone"],
            r["care_needs"],
            r["supporter"],
            done,
        ]
        for (_, x, width), value in zip(COLUMNS, cells, strict=False):
            if value is not None:
                fig.text(x, y + 0.02, "\n".join(wrap(value, width, 3)), fontsize=8.5,
                         va="center", linespacing=1.25, transform=inch)  # fmt: skip
        x = COLUMNS[2][1]
        fig.text(x, y + 0.08, wrap(r["name"], 10, 1)[0], fontsize=11, fontweight="bold",
                 va="center", transform=inch)  # fmt: skip
        fig.text(x, y - 0.13, wrap(r["kana"], 16, 1)[0], fontsize=7.5, va="center",
                 transform=inch, color="#333")  # fmt: skip
        x = COLUMNS[8][1]
        fig.text(x, y + 0.12, "□無事　□要救助", fontsize=9.5, va="center", transform=inch)
        fig.text(x, y - 0.10, "□不在　□その他", fontsize=9.5, va="center", transform=inch)
        _hline(fig, y - row_h / 2)
        y -= row_h


def wrap(text, width: float, max_lines: int) -> list[str]:
    """Split ``text`` into lines of ``width`` full-width characters (and at newlines); … when cut.

    Examples
    --------
    >>> wrap("東京都調布市多摩川三丁目12-4", 8, 3)
    ['東京都調布市多摩', '川三丁目12-4']
    >>> wrap("要救助 19:40\\n電話 不通 20:40", 8, 3)
    ['要救助 19:40', '電話 不通 20:40']
    """
    text = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    lines, line, used = [], "", 0.0
    for ch in text:
        if ch == "\n":
            lines.append(line)
            line, used = "", 0.0
            continue
        w = 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55
        if used + w > width and line:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    if line or not lines:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return lines
