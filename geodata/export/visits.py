"""The non-responder visit list (安否未確認者 訪問リスト): a printable A4 PDF, internal only.

Residents of the 要支援者 roster with no safety reply (up to the "as of" time), one section per
town, each town starting on a new page so that a page can be handed to the team visiting it.
Towns come in order of their most urgent resident; residents in order of care priority
(1 first). Each row has the name (and kana), address, phone, care needs, supporter, the last
follow-up, and check boxes for the visit outcome. Every export is audit-logged.
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
UNKNOWN_TOWN = "町丁目不明"
ACTIONS = {"phone": "電話", "visit": "訪問", "reminder": "再通知"}
OUTCOMES = {
    "reached_safe": "無事確認",
    "reached_needs_help": "要支援",
    "no_answer": "不通",
    "not_home": "不在",
}
# (header, left edge in inches, width in full-width characters at the body font size)
COLUMNS = (
    ("No", 0.40, 3),
    ("優先", 0.75, 3),
    ("氏名（カナ）", 1.15, 11),
    ("住所", 2.70, 19),
    ("電話", 5.25, 12),
    ("支援内容", 6.55, 11),
    ("避難支援者", 8.00, 10),
    ("前回対応", 9.30, 8),
    ("訪問結果", 10.25, 9),
)


def non_responders(store, *, as_of=None) -> pd.DataFrame:
    """Roster residents without any safety reply up to ``as_of`` (default: now).

    Returns
    -------
    DataFrame with resident_id, name, kana, address, phone, care_needs, care_priority,
    supporter, town_code, town (name), last_follow_up; sorted by town then priority.
    """
    until = (parse_time(as_of) or pd.Timestamp(now_utc())) + pd.Timedelta(microseconds=1)
    roster = store.read("roster")
    replies = store.read("safety_replies", until=until, columns=["resident_id", "replied_at"])
    replied = set(replies["resident_id"].dropna())
    people = pd.DataFrame(roster[~roster["resident_id"].isin(replied)]).drop(
        columns="geometry", errors="ignore"
    )
    towns = store.read("towns", columns=["town_code", "name"])
    names = dict(zip(towns["town_code"], towns["name"], strict=False))
    people["town"] = [
        names.get(c, UNKNOWN_TOWN) if c else UNKNOWN_TOWN for c in people["town_code"]
    ]
    follow = store.read("follow_ups", until=until).sort_values("at", kind="stable")
    last = follow.drop_duplicates("resident_id", keep="last").set_index("resident_id")
    people["last_follow_up"] = [
        _follow_up_text(last.loc[r]) if r in last.index else "" for r in people["resident_id"]
    ]
    people["_prio"] = people["care_priority"].astype("Float64").fillna(99)
    first = people.groupby("town")["_prio"].transform("min")
    size = people.groupby("town")["_prio"].transform("size")
    people = people.assign(_first=first, _size=-size)
    people = people.sort_values(["_first", "_size", "town", "_prio", "kana", "resident_id"])
    return people.drop(columns=["_prio", "_first", "_size"]).reset_index(drop=True)


def _follow_up_text(row) -> str:
    action = ACTIONS.get(row["action"], row["action"] or "")
    outcome = OUTCOMES.get(row["outcome"], row["outcome"] or "")
    at = jst_label(row["at"])[-5:]
    return f"{action} {outcome} {at}".strip()


def visit_list_pdf(store, *, as_of=None, who: str | None = None) -> ExportResult:
    """The visit list as an A4 landscape PDF (one section per town), audit-logged.

    Parameters
    ----------
    store : the store.
    as_of : residents who replied before this time are left out (default: now).
    who : the user, for the audit log.

    Returns
    -------
    ExportResult with ``count`` residents and ``info`` towns, pages.
    """
    as_of_ts = parse_time(as_of) or pd.Timestamp(now_utc())
    people = non_responders(store, as_of=as_of_ts)
    _, _, city = municipality(store)
    data, pages = render_visit_list(people, as_of=as_of_ts, city_name=city)
    towns = people["town"].nunique()
    audit_export(
        store,
        who,
        "visit-list",
        "roster",
        {"residents": len(people), "towns": towns, "pages": pages, "as_of": as_of_ts.isoformat()},
    )
    return ExportResult(
        data,
        f"visit-list-{stamp(as_of_ts)}.pdf",
        "application/pdf",
        len(people),
        {"towns": int(towns), "pages": pages, "as_of": jst_label(as_of_ts)},
    )


def render_visit_list(people: pd.DataFrame, *, as_of, city_name: str) -> tuple[bytes, int]:
    """Draw the visit list of ``people`` (as :func:`non_responders` gives); (pdf bytes, pages)."""
    buf = io.BytesIO()
    sections = [(town, rows) for town, rows in people.groupby("town", sort=False)]
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
            fig.text(0.4, 6.6, "未回答の要支援者はいません。", fontsize=14,
                     transform=fig.dpi_scale_trans)  # fmt: skip
            pdf.savefig(fig)
            plt.close(fig)
        for town, rows in sections:
            for start in range(0, len(rows), ROWS_PER_PAGE):
                page += 1
                fig = _page(city_name, town, len(rows), as_of, page, total, start > 0)
                _rows(fig, rows.iloc[start : start + ROWS_PER_PAGE], start)
                pdf.savefig(fig)
                plt.close(fig)
    return buf.getvalue(), page


def _page(city, town, count, as_of, page, total, continued=False) -> plt.Figure:
    fig = plt.figure(figsize=A4_LANDSCAPE_IN)
    inch = fig.dpi_scale_trans
    fig.text(0.4, 7.75, "安否未確認者 訪問リスト", fontsize=17, fontweight="bold",
             transform=inch, va="center")  # fmt: skip
    fig.text(11.29, 7.75, "取扱注意：個人情報　訪問後は本部へ返却", fontsize=11, color="white",
             fontweight="bold", ha="right", va="center", transform=inch,
             bbox={"boxstyle": "round,pad=0.35", "fc": "#c0392b", "ec": "#c0392b"})  # fmt: skip
    heading = f"{town}（{count}人）" + ("　つづき" if continued else "")
    fig.text(0.4, 7.35, heading, fontsize=15, fontweight="bold", transform=inch, va="center")
    fig.text(11.29, 7.35, f"{jst_label(as_of)} 現在 未回答", fontsize=11, ha="right",
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


def _rows(fig, rows: pd.DataFrame, offset: int) -> None:
    inch = fig.dpi_scale_trans
    row_h = 0.56
    y = 6.84 - row_h / 2
    for i, (_, r) in enumerate(rows.iterrows()):
        prio = "" if pd.isna(r["care_priority"]) else str(int(r["care_priority"]))
        cells = [
            str(offset + i + 1),
            prio,
            None,  # name and kana, drawn below
            r["address"],
            r["phone"],
            r["care_needs"],
            r["supporter"],
            r["last_follow_up"],
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
    """Split ``text`` into lines of ``width`` full-width characters; … when cut.

    Examples
    --------
    >>> wrap("東京都調布市多摩川三丁目12-4", 8, 3)
    ['東京都調布市多摩', '川三丁目12-4']
    """
    text = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    lines, line, used = [], "", 0.0
    for ch in text:
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
