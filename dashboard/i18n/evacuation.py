"""UI text of evacuation information (避難情報) and the warnings banner on the overview.

The levels' names (高齢者等避難 / 避難指示 / 緊急安全確保) and hazards are domain terms: they come
from geodata/vocab.py (``EVACUATION_LEVELS``, ``HAZARDS``), not from here.
"""

CATALOGUE: dict[str, dict[str, str]] = {
    "evac.layer": {"ja": "避難情報（発令中）", "en": "Evacuation information in force"},
    "evac.warning_layer": {"ja": "警報等の対象町丁目", "en": "Towns under a warning"},
    "evac.legend": {"ja": "避難情報（警戒レベル）", "en": "Evacuation information (alert level)"},
    "evac.legend.warning": {"ja": "警報等の対象（破線）", "en": "Under a warning (dashed)"},
    "evac.since": {"ja": "{time} から", "en": "since {time}"},
    "evac.kpi.value": {
        "ja": "{towns}町丁目 / 対象人口 {population}",
        "en": "{towns} towns / {population} people",
    },
    "evac.kpi.none": {"ja": "発令なし", "en": "None"},
    "evac.banner.none": {"ja": "発表中の警報等はありません", "en": "No warnings in force"},
    "evac.banner.item": {
        "ja": "{label}（{area}）{time} 発表",
        "en": "{label} ({area}) since {time}",
    },
    "evac.banner.stale": {
        "ja": "気象庁フィードの最終受信は {age} 前です（表示は受信済みの情報）",
        "en": "Last JMA feed read {age} ago (showing what was received)",
    },
    "evac.banner.never": {"ja": "気象庁フィード未受信", "en": "JMA feed never read"},
    "evac.in_force": {"ja": "発令中の避難情報", "en": "Evacuation information in force"},
    "evac.in_force.none": {
        "ja": "発令中の避難情報はありません",
        "en": "No evacuation information in force",
    },
    "evac.order.line": {
        "ja": "{title}（{hazard}）{n}町丁目 — {time} 発令（{who}）",
        "en": "{title} ({hazard}) {n} towns — issued {time} ({who})",
    },
    "evac.decide": {"ja": "避難情報の判断支援", "en": "Decision support: evacuation information"},
    "evac.hazard": {"ja": "災害種別", "en": "Hazard"},
    "evac.proposal.level": {
        "ja": "発令基準による提案: {title}",
        "en": "The criteria propose: {title}",
    },
    "evac.proposal.none": {
        "ja": "発令基準を満たす条件はありません（{hazard}）",
        "en": "No criterion is met ({hazard})",
    },
    "evac.proposal.triggers": {"ja": "根拠", "en": "Grounds"},
    "evac.proposal.towns": {"ja": "対象町丁目", "en": "Towns"},
    "evac.proposal.residents": {"ja": "要支援者（名簿）", "en": "Registered residents"},
    "evac.proposal.unconfirmed": {"ja": "うち未確認", "en": "Not heard from"},
    "evac.proposal.shelters": {
        "ja": "この災害種別の指定避難場所",
        "en": "Sites designated for this hazard",
    },
    "evac.proposal.shelters_open": {
        "ja": "開設 {open} / {total}か所",
        "en": "{open} of {total} open",
    },
    "evac.col.name": {"ja": "町丁目", "en": "Town"},
    "evac.col.in_force": {"ja": "発令中", "en": "In force"},
    "evac.col.shelter": {"ja": "名称", "en": "Name"},
    "evac.col.status": {"ja": "開設状況", "en": "Status"},
    "evac.criteria_error": {
        "ja": "発令基準ファイルを読めません: {error}",
        "en": "Cannot read the criteria: {error}",
    },
    "evac.issue.title": {"ja": "避難情報を発令する", "en": "Issue evacuation information"},
    "evac.issue.level": {"ja": "発令する避難情報", "en": "Level"},
    "evac.issue.towns": {"ja": "対象町丁目", "en": "Towns"},
    "evac.issue.whole_city": {"ja": "市内全域", "en": "Whole city"},
    "evac.issue.reason": {"ja": "理由（公表されます）", "en": "Reason (published)"},
    "evac.issue.confirm": {
        "ja": "上記の町丁目に発令することを確認しました",
        "en": "I confirm issuing this for the towns above",
    },
    "evac.issue.submit": {"ja": "発令する", "en": "Issue"},
    "evac.issue.unconfirmed": {
        "ja": "確認のチェックを入れてください",
        "en": "Tick the confirmation first",
    },
    "evac.issue.done": {
        "ja": "{title}を{n}町丁目に発令しました（{order}）",
        "en": "Issued {title} for {n} towns ({order})",
    },
    "evac.lift.confirm": {"ja": "解除を確認しました", "en": "I confirm lifting it"},
    "evac.lift.submit": {"ja": "解除する", "en": "Lift"},
    "evac.lift.done": {"ja": "解除しました（{order}）", "en": "Lifted ({order})"},
    "evac.change.level": {"ja": "レベルを変更", "en": "Change the level to"},
    "evac.change.confirm": {"ja": "変更を確認しました", "en": "I confirm the change"},
    "evac.change.submit": {"ja": "変更する", "en": "Change"},
    "evac.change.done": {
        "ja": "{title}に変更しました（{order}）",
        "en": "Changed to {title} ({order})",
    },
    "evac.error": {"ja": "書き込めませんでした: {error}", "en": "Not written: {error}"},
    "evac.forbidden": {
        "ja": "避難情報の発令・解除は本部長（commander）または管理者のみ行えます",
        "en": "Only a commander or an admin may issue or lift evacuation information",
    },
    "safety.list.evacuation_only": {
        "ja": "避難情報の発令中の町丁目のみ（{n}町丁目）",
        "en": "Only towns under evacuation information ({n})",
    },
    "export.evacuation.title": {
        "ja": "避難情報（CAP・オープンデータ）",
        "en": "Evacuation information (CAP, open data)",
    },
    "export.evacuation.caption": {
        "ja": "発令・変更・解除ごとのCAP 1.2（町丁目の範囲つき）と、発令中の町丁目のCSV。職員名は含みません。",
        "en": "CAP 1.2 per issue, update and lift (with the towns' areas) and a CSV of the towns in force. No staff names.",
    },
    "evac.stale": {
        "ja": "他の職員が先に変更しました。最新の内容を確認してください",
        "en": "Someone changed it first: check the newest record",
    },
}
