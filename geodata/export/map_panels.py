"""The side panels of the situation map: legend, KPI table, and a list.

Each ``draw_*`` function fills one matplotlib axes whose data coordinates are its own
0..1 frame, so the panels lay out the same whatever the map shows.
"""

from __future__ import annotations

import unicodedata

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from geodata import supplies
from geodata.evacuation import LEVEL_COLOURS
from geodata.export import public as policy
from geodata.export.common import jst_label
from geodata.export.map_style import (
    CATEGORY_STYLE,
    NO_FILL,
    NOT_REPLIED_CLASSES,
    OCCUPANCY_CLASSES,
    SHELTER_CLASSES,
    SHELTER_LABEL_TEXT,
    SHELTER_LABELS,
    SHELTER_STYLE,
    WELFARE_RING,
    public_classes,
)
from geodata.export.situation import Situation
from geodata.shelters import OPEN, occupancy_rate

_HEAD = {"fontsize": 12, "fontweight": "bold", "va": "center"}
_TEXT = {"fontsize": 10.5, "va": "center"}


def _frame(ax, title: str | None = None) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#999")
        spine.set_linewidth(0.8)
    if title:
        ax.annotate(title, (0, 1), xycoords="axes fraction", xytext=(8, -7),
                    textcoords="offset points", fontsize=13.5, fontweight="bold", va="top")  # fmt: skip


def draw_legend(ax, s: Situation) -> None:
    """The legend: shelters by status, areas, not-replied classes, damage categories."""
    _frame(ax, "凡例")
    step = 0.049  # one more shelter row than before the occupancy classes (the rest must fit)
    y = 0.87
    x = 0.03
    ax.text(x, y, "避難所（開設状況）", **_HEAD)
    y -= step  # the four occupancy classes of an open shelter on one row
    for i, cls in enumerate(OCCUPANCY_CLASSES):
        style = SHELTER_STYLE[cls]
        ax.scatter([x + 0.012 + i * 0.03], [y], marker=style["marker"], s=style["size"] * 0.7,
                   c=style["color"], edgecolors=style["edge"], linewidths=1.0)  # fmt: skip
    ax.text(x + 0.13, y, "開設中（収容率 低→高）", **_TEXT)
    for cls in SHELTER_CLASSES[len(OCCUPANCY_CLASSES) :]:
        style = SHELTER_STYLE[cls]
        y -= step
        ax.scatter([x + 0.03], [y], marker=style["marker"], s=style["size"], c=style["color"],
                   edgecolors=style["edge"], linewidths=1.0)  # fmt: skip
        ax.text(x + 0.07, y, SHELTER_LABELS[cls], **_TEXT)
    y -= step * 1.4
    ax.text(x, y, "区域", **_HEAD)
    y -= step
    ax.add_patch(plt.Rectangle((x + 0.005, y - 0.018), 0.05, 0.036, fc="#5b9bd5", alpha=0.22))
    ax.add_patch(plt.Rectangle((x + 0.005, y - 0.018), 0.05, 0.036, fc="none", ec="#2f6fb0",
                               hatch="////", lw=0.6))  # fmt: skip
    ax.text(x + 0.07, y, "浸水想定区域", **_TEXT)
    y -= step
    ax.plot([x + 0.005, x + 0.055], [y, y], color="#222", lw=2.0)
    ax.text(x + 0.07, y, "市境界", **_TEXT)
    y -= step
    ax.plot([x + 0.005, x + 0.055], [y, y], color="#8a8a8a", lw=0.8)
    ax.text(x + 0.07, y, "町丁目界", **_TEXT)
    y -= step * 1.4
    ax.text(x, y, "安否未確認の要支援者（町丁目別）", **_HEAD)
    classes = [(label, color) for _, _, label, color in NOT_REPLIED_CLASSES]
    if s.public:
        classes = [(label, color) for _, _, label, color in public_classes(policy.THRESHOLD)]
        classes.append((f"{policy.SMALL}・{policy.WITHHELD}（着色なし）", NO_FILL))
    for label, color in classes:
        y -= step
        ax.add_patch(plt.Rectangle((x + 0.005, y - 0.018), 0.05, 0.036, fc=color, ec="#999",
                                   lw=0.5))  # fmt: skip
        ax.text(x + 0.07, y, label, **_TEXT)
    if not s.public:
        y -= step * 1.3
        ax.scatter([x + 0.03], [y], marker="o", s=130, c="white", edgecolors="#c0392b",
                   linewidths=2.2)  # fmt: skip
        ax.text(x + 0.03, y, "1", fontsize=6.5, fontweight="bold", color="#c0392b",
                ha="center", va="center")  # fmt: skip
        ax.text(x + 0.07, y, "要救助・負傷の要支援者（番号は一覧）", fontsize=9.5, va="center")
    x = 0.54
    y = 0.87
    ax.text(x, y, "被害報告（種別）", **_HEAD)
    for category, style in CATEGORY_STYLE.items():
        y -= step
        ax.scatter([x + 0.03], [y], marker=style["marker"], s=style["size"], c=style["color"],
                   edgecolors="white", linewidths=0.7)  # fmt: skip
        ax.text(x + 0.07, y, category, **_TEXT)
    y -= step * 1.5
    example = SHELTER_STYLE["occupancy_0"]
    ax.scatter([x + 0.03], [y], marker="s", s=90, c=example["color"],
               edgecolors=example["edge"])  # fmt: skip
    ax.text(x + 0.07, y + 0.012, "〇〇小学校", fontsize=9, fontweight="bold", va="bottom",
            color=SHELTER_LABEL_TEXT[OPEN])  # fmt: skip
    ax.text(x + 0.07, y - 0.012, "120/500人", fontsize=9, fontweight="bold", va="top",
            color=SHELTER_LABEL_TEXT[OPEN])  # fmt: skip
    ax.text(x + 0.02, y - 0.085, "避難者数／収容人数\n（約：収容人数は推計値）", fontsize=9,
            va="center", linespacing=1.3)  # fmt: skip
    y -= 0.16
    ax.scatter([x + 0.03], [y], marker="s", s=60, c="#ffffff", edgecolors="#555555")
    ax.scatter([x + 0.03], [y], marker="o", s=230, facecolors="none", edgecolors=WELFARE_RING,
               linewidths=2.0)  # fmt: skip
    ax.text(x + 0.07, y, "福祉避難所（要配慮者向け）", **_TEXT)
    _evacuation_legend(ax, s, x, y - 0.07)


def _evacuation_legend(ax, s: Situation, x: float, y: float) -> None:
    """One line: the 警戒レベル colours of the towns under evacuation information."""
    for i, level in enumerate((5, 4, 3)):
        ax.add_patch(plt.Rectangle((x + 0.005 + i * 0.045, y - 0.018), 0.035, 0.036, fc="none",
                                   ec=LEVEL_COLOURS[level], lw=2.2))  # fmt: skip
    ax.text(x + 0.145, y, "避難情報 警戒レベル5・4・3", fontsize=9.5, va="center")
    issued = s.kpis.get("evacuation_issued_at")
    when = f"発令 {jst_label(issued)}" if issued is not None else "発令なし"
    ax.text(x + 0.145, y - 0.045, f"（{when}）", fontsize=9, va="center")


def draw_kpis(ax, s: Situation) -> None:
    """The KPI table: shelters, evacuees, roster replies, reports by category."""
    _frame(ax, "主要指標")
    k = s.kpis
    rate = occupancy_rate(k["evacuees"], k["capacity"])
    rate = f"（{rate:.0%}）" if rate is not None else ""
    rows: list[tuple[str, str, str]] = [
        ("head", "避難所", ""),
        ("row", "開設中（うち満員）", f"{k['shelters_open']}か所（{k['shelters_full']}）／{k['shelters_total']}か所"),
        ("row", "避難者数／収容人数", f"{k['evacuees']:,}人／{k['capacity']:,}人{rate}"),
        ("head", f"要支援者の安否確認（登録 {persons(k['roster_total'])}）", ""),
        ("row", "回答あり", persons(k["replied"])),
        ("row", "うち要救助・負傷", persons(k["needs_help"])),
        ("row", "フォローで確認", persons(k["reached"])),
        ("row", "未確認", persons(k["unconfirmed"])),
        *_care_and_supplies(k),
        ("head", "避難情報", ""),
        ("row", "避難指示以上", _evacuation_kpi(k)),
        ("head", f"被害報告（計 {k['reports_total']:,}件）", ""),
    ]  # fmt: skip
    for r in s.supplies[s.supplies["urgency"] == supplies.URGENT].head(3).to_dict("records"):
        rows.insert(rows.index(("head", "避難情報", "")),
                    ("cats", fit(f"至急 {r['name']} {supplies.request_label(r)}", 24), ""))  # fmt: skip
    cats = list(k["reports_by_category"].items())
    for i in range(0, len(cats), 3):
        text = "　".join(f"{c} {n}" for c, n in cats[i : i + 3])
        rows.append(("cats", text, ""))
    if not cats:
        rows.append(("cats", "なし", ""))
    step = min(0.105, 0.84 / len(rows))
    y = 0.9 - step * 0.6
    for kind, label, value in rows:
        if kind == "head":
            ax.text(0.03, y, label, fontsize=11.5, fontweight="bold", va="center", color="#333")
        elif kind == "row":
            ax.text(0.07, y, label, fontsize=11, va="center")
            ax.text(0.97, y, value, fontsize=12.5, fontweight="bold", va="center", ha="right")
        else:
            ax.text(0.07, y, label, fontsize=10.5, va="center")
        y -= step


def _care_and_supplies(k: dict) -> list[tuple[str, str, str]]:
    """要配慮者 (internal) and open supply requests: rows of the KPI table."""
    rows = []
    if k.get("care_total") is not None:
        rows.append(("row", f"要配慮者（計数 {k['care_counted']}か所）", persons(k["care_total"])))
    rows.append(
        ("row", "物資要請 至急／未配送", f"{k['supplies_urgent']}件／{k['supplies_open']}件")
    )
    return rows


def _evacuation_kpi(k: dict) -> str:
    """「5町丁目／対象人口 12,345人」 (or なし)."""
    if not k.get("evacuation_towns"):
        return "なし"
    return f"{k['evacuation_towns']}町丁目／対象人口 {k['evacuation_population']:,}人"


def draw_list(ax, s: Situation, max_rows: int = 11) -> None:
    """Internal: residents needing help, numbered as on the map and the visit list; public:
    towns by count of unconfirmed residents."""
    people = s.needs_help
    if not s.public and len(people):
        _frame(ax, "要救助・負傷の要支援者（未対応・内部用）")
        cols = [(0.02, "No", 3), (0.08, "状況", 4), (0.18, "氏名", 8), (0.40, "住所", 14.5),
                (0.76, "電話", 13)]  # fmt: skip
        records = [
            [str(r["no"]), r["status"], r["name"], short_address(r["address"], s), r["phone"]]
            for _, r in people.iterrows()
        ]
        rest = people["no"].iloc[max_rows:] if len(people) > max_rows else people["no"]
        more = f"ほか {len(rest)}人（訪問リスト No.{rest.iloc[0]}〜{rest.iloc[-1]}）"
    else:
        _frame(ax, "安否未確認の要支援者が多い町丁目")
        cols = [(0.02, "町丁目", 16), (0.55, "未確認", 6), (0.75, "登録", 6)]
        # Public counts may be marks (3人未満 / 秘匿): only towns whose count is shown are
        # listed, so the order of the list cannot rank suppressed towns.
        shown = [isinstance(v, (int, np.integer)) and v > 0 for v in s.towns["unconfirmed"]]
        towns = s.towns[shown].copy()
        towns["_n"] = towns["unconfirmed"].astype(int)
        towns["_r"] = [v if isinstance(v, (int, np.integer)) else 0 for v in towns["residents"]]
        towns = towns.sort_values(["_n", "_r"], ascending=False, kind="stable")
        records = [
            [r["name"], persons(r["unconfirmed"]), persons(r["residents"])]
            for _, r in towns.iterrows()
        ]
        more = f"ほか {len(records) - max_rows}町丁目"
    step = 0.8 / (max_rows + 1.5)
    y = 0.9 - step * 0.8
    for x, label, _ in cols:
        ax.text(x, y, label, fontsize=9, fontweight="bold", va="center", color="#444")
    ax.plot([0.02, 0.98], [y - step / 2, y - step / 2], color="#999", lw=0.6)
    if not records:
        ax.text(0.02, y - step, "該当なし", fontsize=9.5, va="center")
    for record in records[:max_rows]:
        y -= step
        for (x, _, width), value in zip(cols, record, strict=True):
            ax.text(x, y, fit(value, width), fontsize=9, va="center")
    if len(records) > max_rows:
        ax.text(0.02, y - step, more, fontsize=9, va="center", color="#444")


def persons(count) -> str:
    """A count of persons as printed: ``1,234人``, or the mark of a suppressed count."""
    if isinstance(count, str):
        return count
    return f"{int(count):,}人"


def short_address(address, s: Situation) -> str:
    """An address without the prefecture and city the whole sheet is about."""
    text = "" if address is None or pd.isna(address) else str(address)
    for prefix in (f"{s.pref_name}{s.city_name}", s.city_name):
        if prefix and text.startswith(prefix):
            return text[len(prefix) :]
    return text


def fit(text, width: float) -> str:
    """Cut ``text`` to ``width`` full-width characters (half-width ones count half), with …."""
    text = "" if text is None or pd.isna(text) else str(text)
    used = 0.0
    for i, ch in enumerate(text):
        used += 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.55
        if used > width:
            return text[: max(i - 1, 0)] + "…"
    return text
