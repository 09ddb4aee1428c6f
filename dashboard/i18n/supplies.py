"""UI text of what shelters carry for the HQ: 要配慮者 (people needing care), 福祉避難所
(welfare shelters) and 物資要請 (supply requests).

The groups, items, urgencies and states themselves come from :mod:`geodata.vocab`.
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    # 要配慮者
    "care.total": {"ja": "要配慮者", "en": "People needing care"},
    "care.title": {"ja": "要配慮者（人数）", "en": "People needing care (count)"},
    "care.hint": {
        "ja": "数えていない区分は空欄のまま（0は「いない」）",
        "en": "Leave a group blank when not counted (0 means none)",
    },
    "care.kpi": {"ja": "要配慮者", "en": "Needing care"},
    "care.kpi_help": {
        "ja": "開設中の避難所のうち数えた{n}か所の合計（空欄は未計数）",
        "en": "Total of the {n} open shelters that counted (blank: not counted)",
    },
    "care.not_counted": {"ja": "未計数", "en": "Not counted"},
    "shelters.check.care": {
        "ja": "{group}の人数は0以上の整数で入力してください（数えていなければ空欄）。",
        "en": "{group}: a whole number of 0 or more (blank when not counted).",
    },
    "care.col": {"ja": "要配慮者", "en": "Needing care"},
    # 福祉避難所
    "legend.welfare": {
        "ja": "福祉避難所（要配慮者向け）",
        "en": "Welfare shelter (for people needing care)",
    },
    "map.shelter.welfare": {
        "ja": "福祉避難所（受入対象: {target}）",
        "en": "Welfare shelter (for: {target})",
    },
    "shelters.col.welfare": {"ja": "福祉", "en": "Welfare"},
    "shelters.welfare_badge": {"ja": "福祉避難所", "en": "Welfare"},
    "shelters.welfare_for": {
        "ja": "福祉避難所 — 受入対象: {target}",
        "en": "Welfare shelter — for: {target}",
    },
    # 物資要請
    "supplies.title": {"ja": "物資要請", "en": "Supply requests"},
    "supplies.col": {"ja": "物資要請", "en": "Supply requests"},
    "supplies.form.title": {"ja": "物資を要請する", "en": "Request supplies"},
    "supplies.field.item": {"ja": "品目", "en": "Item"},
    "supplies.field.item_text": {
        "ja": "品目の詳細（「その他」は必須）",
        "en": "Item details (required for Other)",
    },
    "supplies.field.quantity": {"ja": "数量", "en": "Quantity"},
    "supplies.field.unit": {"ja": "単位", "en": "Unit"},
    "supplies.field.urgency": {"ja": "緊急度", "en": "Urgency"},
    "supplies.field.note": {"ja": "備考", "en": "Note"},
    "supplies.submit": {"ja": "要請を送信", "en": "Send request"},
    "supplies.saved": {"ja": "{item} を要請しました", "en": "Requested {item}"},
    "supplies.moved": {"ja": "{item}: {state} にしました", "en": "{item}: now {state}"},
    "supplies.denied": {"ja": "この操作の権限がありません。", "en": "You may not do this."},
    "supplies.invalid": {"ja": "入力を確認してください: {error}", "en": "Check the input: {error}"},
    "supplies.stale": {
        "ja": "この要請はほかの職員が更新しました（最新を表示しています）。",
        "en": "Someone else updated this request (the newest is shown).",
    },
    "supplies.none": {"ja": "未配送の物資要請はありません", "en": "No open supply requests"},
    "supplies.open_of": {"ja": "この避難所の未配送の要請", "en": "Open requests of this shelter"},
    "supplies.table": {
        "ja": "物資要請（全避難所・至急順）",
        "en": "Supply requests (all shelters, urgent first)",
    },
    "supplies.col.item": {"ja": "品目", "en": "Item"},
    "supplies.col.quantity": {"ja": "数量", "en": "Quantity"},
    "supplies.col.urgency": {"ja": "緊急度", "en": "Urgency"},
    "supplies.col.state": {"ja": "状態", "en": "State"},
    "supplies.col.requested": {"ja": "要請日時", "en": "Requested"},
    "supplies.col.updated": {"ja": "更新日時", "en": "Updated"},
    "supplies.col.by": {"ja": "要請者", "en": "By"},
    "supplies.action": {"ja": "状態を変更", "en": "Change state"},
    "supplies.action.to": {"ja": "{state}にする", "en": "Mark {state}"},
    "supplies.pick": {"ja": "要請を選ぶ", "en": "Pick a request"},
    "supplies.kpi.urgent": {"ja": "至急の物資要請", "en": "Urgent supply requests"},
    "supplies.kpi.open": {"ja": "未配送の物資要請", "en": "Open supply requests"},
    # a needs list of a report (an import, a report from before the requests): shown as what
    # the report says — not requests the HQ tracks, yet still needed (「旧」 read as "no longer")
    "supplies.legacy": {"ja": "報告：{needs}", "en": "Reported: {needs}"},
    "supplies.export": {"ja": "物資要請（CSV / Excel）", "en": "Supply requests (CSV / Excel)"},
    "supplies.export.xlsx": {"ja": "Excel（.xlsx）", "en": "Excel (.xlsx)"},
    "supplies.export.caption": {
        "ja": "全避難所の物資要請（現在の状態、至急順）。内部用：要請者・備考を含みます。",
        "en": "Every shelter's supply requests (current state, urgent first). Internal: with requester and notes.",
    },
}
