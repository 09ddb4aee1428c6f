"""UI text of the shelters (避難所) and field-report (現地調査) pages and the wall-screen mode.

Domain terms (shelter statuses, categories, 避難者数 …) come from :mod:`geodata.vocab`.
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    "export.opendata.emergency_sites": {
        "ja": "指定緊急避難場所一覧",
        "en": "Designated emergency evacuation sites",
    },
    "export.opendata.shelters": {"ja": "指定避難所一覧", "en": "Designated shelters"},
    # navigation
    "shelters.page": {"ja": "避難所", "en": "Shelters"},
    "field.page": {"ja": "現地調査", "en": "Field reports"},
    # shelters: board
    "shelters.title": {"ja": "避難所 — {city}", "en": "Shelters — {city}"},
    "shelters.empty": {
        "ja": "避難所のデータがまだありません。次のコマンドを実行してください: `{command}`",
        "en": "No shelters in the store yet. Run: `{command}`",
    },
    "shelters.kpi.open": {"ja": "開設中", "en": "Open"},
    "shelters.kpi.stale": {"ja": "3時間以上報告なし", "en": "No report for 3 h"},
    "shelters.filter.status": {"ja": "状況", "en": "Status"},
    "shelters.filter.stale": {"ja": "古い報告のみ", "en": "Stale only"},
    "shelters.filter.search": {"ja": "名前で検索", "en": "Search by name"},
    "shelters.filter.order": {"ja": "並べ替え", "en": "Sort by"},
    "shelters.order.occupancy": {"ja": "収容率の高い順", "en": "Fullest first"},
    "shelters.order.oldest": {"ja": "報告の古い順", "en": "Oldest report first"},
    "shelters.order.evacuees": {"ja": "避難者の多い順", "en": "Most evacuees first"},
    "shelters.order.name": {"ja": "名前順", "en": "Name"},
    "shelters.status.none": {"ja": "報告なし", "en": "No report"},
    "shelters.class.0": {"ja": "0–30%", "en": "0–30%"},
    "shelters.class.1": {"ja": "30–60%", "en": "30–60%"},
    "shelters.class.2": {"ja": "60–80%", "en": "60–80%"},
    "shelters.class.3": {"ja": "80%以上", "en": "≥80%"},
    "shelters.col.name": {"ja": "避難所", "en": "Shelter"},
    "shelters.col.status": {"ja": "状況", "en": "Status"},
    "shelters.col.evacuees": {"ja": "避難者", "en": "Evacuees"},
    "shelters.col.needs": {"ja": "必要物資", "en": "Needs"},
    "shelters.col.reported": {"ja": "最終報告", "en": "Last report"},
    "shelters.col.age": {"ja": "経過", "en": "Age"},
    "shelters.col.by": {"ja": "報告者", "en": "Reported by"},
    "shelters.shown": {
        "ja": "{shown} / {total} か所を表示。黄色の「経過」は開設中で3時間以上報告がない避難所。"
        "収容人数の「約」は推定値。",
        "en": "{shown} of {total} shelters shown. A yellow age: open and no report for over 3 h. "
        "“~” marks an estimated capacity.",
    },
    "shelters.no_match": {"ja": "条件に合う避難所はありません。", "en": "No shelter matches."},
    "shelters.no_report": {"ja": "報告なし", "en": "No report"},
    "shelters.capacity.approx": {"ja": "約{n}", "en": "~{n}"},
    "shelters.age.none": {"ja": "報告なし", "en": "no report"},
    "shelters.age.now": {"ja": "1分未満", "en": "<1 min ago"},
    "shelters.age.minutes": {"ja": "{m}分前", "en": "{m} min ago"},
    "shelters.age.hours": {"ja": "{h}時間前", "en": "{h} h ago"},
    "shelters.age.hours_minutes": {"ja": "{h}時間{m}分前", "en": "{h} h {m} min ago"},
    "shelters.age.days": {"ja": "{d}日前", "en": "{d} d ago"},
    # shelters: update form
    "shelters.update.title": {"ja": "避難所の状況を更新", "en": "Update a shelter"},
    "shelters.update.choose": {"ja": "避難所を選択", "en": "Choose a shelter"},
    "shelters.update.none_allowed": {
        "ja": "更新できる避難所が割り当てられていません（閲覧のみ）。",
        "en": "No shelter is assigned to you for updates (view only).",
    },
    "shelters.update.base": {
        "ja": "現在の報告: 第{version}版（{time}、{by}）。この版に基づいて更新します。",
        "en": "Current report: version {version} ({time}, {by}). Your update is based on it.",
    },
    "shelters.update.first": {
        "ja": "この避難所の報告はまだありません。最初の報告になります。",
        "en": "No report for this shelter yet: this will be the first.",
    },
    "shelters.field.status": {"ja": "状況", "en": "Status"},
    "shelters.field.evacuees": {"ja": "避難者数（人）", "en": "Evacuees (persons)"},
    "shelters.field.households": {"ja": "世帯数", "en": "Households"},
    "shelters.field.needs": {"ja": "必要物資（タップで選択）", "en": "Needs (tap to select)"},
    "shelters.field.note": {"ja": "メモ", "en": "Note"},
    "shelters.capacity_hint": {"ja": "収容人数: {capacity}人", "en": "Capacity: {capacity}"},
    "shelters.submit": {"ja": "更新する", "en": "Save update"},
    "shelters.saved": {
        "ja": "{name} を更新しました（第{version}版）。",
        "en": "{name} updated (version {version}).",
    },
    "shelters.denied": {
        "ja": "この避難所を更新する権限がありません。",
        "en": "You may not update this shelter.",
    },
    "shelters.write_failed": {"ja": "保存できませんでした: {error}", "en": "Not saved: {error}"},
    "shelters.check.status": {"ja": "状況を選んでください。", "en": "Choose a status."},
    "shelters.check.required": {
        "ja": "避難者数を入力してください（いなければ 0）。",
        "en": "Enter the number of evacuees (0 if none).",
    },
    "shelters.check.evacuees_negative": {
        "ja": "避難者数に負の数は入力できません。",
        "en": "Evacuees cannot be negative.",
    },
    "shelters.check.households_negative": {
        "ja": "世帯数に負の数は入力できません。",
        "en": "Households cannot be negative.",
    },
    "shelters.check.evacuees_whole": {
        "ja": "避難者数は整数で入力してください。",
        "en": "Evacuees must be a whole number.",
    },
    "shelters.check.households_whole": {
        "ja": "世帯数は整数で入力してください。",
        "en": "Households must be a whole number.",
    },
    "shelters.check.needs": {"ja": "不明な物資: {needs}", "en": "Unknown needs: {needs}"},
    "shelters.check.over_capacity": {
        "ja": "避難者数 {n}人が収容人数 {capacity}人を超えています。保存しましたが、"
        "「満員」への変更や他の避難所への案内を検討してください。",
        "en": "{n} evacuees exceed the capacity of {capacity}. Saved — consider marking the "
        "shelter full and directing people elsewhere.",
    },
    "shelters.check.people_in_closed": {
        "ja": "状況が「{status}」ですが避難者数が0ではありません。",
        "en": "The status is “{status}” but the number of evacuees is not 0.",
    },
    "shelters.check.households_over": {
        "ja": "世帯数が避難者数より多くなっています。",
        "en": "There are more households than evacuees.",
    },
    # shelters: conflict
    "shelters.conflict.title": {
        "ja": "この避難所は、フォームを開いた後に更新されました",
        "en": "This shelter was updated after you opened the form",
    },
    "shelters.conflict.explain": {
        "ja": "第{version}版（{time}、{by}）が保存されています。最新の値とあなたの入力を"
        "比べてください。あなたの入力はまだ保存されていません。",
        "en": "Version {version} ({time}, by {by}) is now stored. Compare it with your input, "
        "which has not been saved yet.",
    },
    "shelters.conflict.field": {"ja": "項目", "en": "Field"},
    "shelters.conflict.current": {"ja": "最新の値（保存済み）", "en": "Newest (saved)"},
    "shelters.conflict.mine": {"ja": "あなたの入力", "en": "Your input"},
    "shelters.conflict.differs": {"ja": "違い", "en": "Differs"},
    "shelters.conflict.confirm": {
        "ja": "選んだ内容で更新する（第{version}版の次として保存）",
        "en": "Save the merged update (after version {version})",
    },
    "shelters.conflict.choose": {
        "ja": "両方が変更した項目です。どちらの値を残すか選んでください:",
        "en": "Both of you changed these fields; choose the value to keep:",
    },
    "shelters.conflict.pick_current": {"ja": "最新の値: {value}", "en": "Newest: {value}"},
    "shelters.conflict.pick_mine": {"ja": "あなたの入力: {value}", "en": "Your input: {value}"},
    "shelters.conflict.result": {"ja": "保存される内容", "en": "What will be saved"},
    "shelters.conflict.value": {"ja": "値", "en": "Value"},
    "shelters.conflict.from": {"ja": "採用", "en": "From"},
    "shelters.conflict.from.same": {"ja": "同じ", "en": "Same"},
    "shelters.conflict.from.mine": {"ja": "あなたの入力", "en": "Your input"},
    "shelters.conflict.from.theirs": {"ja": "最新の値", "en": "Newest"},
    "shelters.conflict.from.merged": {"ja": "両方を統合", "en": "Both merged"},
    "shelters.conflict.unresolved": {
        "ja": "未選択の項目があります: {fields}",
        "en": "Still to choose: {fields}",
    },
    "shelters.conflict.discard": {
        "ja": "自分の入力を破棄して最新の値を使う",
        "en": "Discard my input and keep the newest",
    },
    "shelters.conflict.discarded": {
        "ja": "入力を破棄しました。フォームには最新の値（第{version}版）が入っています。",
        "en": "Your input was discarded; the form shows the newest values (version {version}).",
    },
    # shelters: history
    "shelters.history.title": {"ja": "避難者数の推移", "en": "Evacuees over time"},
    "shelters.history.empty": {
        "ja": "この避難所の報告はまだありません。",
        "en": "No reports for this shelter yet.",
    },
    "shelters.history.time": {"ja": "報告時刻", "en": "Reported at"},
    "shelters.history.version": {"ja": "版", "en": "Version"},
    "shelters.map.title": {"ja": "避難所の地図", "en": "Shelter map"},
    # field reports
    "field.title": {"ja": "現地調査 — {city}", "en": "Field reports — {city}"},
    "field.new": {"ja": "現地調査の報告", "en": "New field report"},
    "field.category": {"ja": "種別", "en": "Category"},
    "field.severity": {"ja": "深刻度", "en": "Severity"},
    "field.severity.1": {"ja": "1 軽微", "en": "1 minor"},
    "field.severity.2": {"ja": "2 中程度", "en": "2 moderate"},
    "field.severity.3": {"ja": "3 深刻", "en": "3 severe"},
    "field.description": {"ja": "状況の説明", "en": "Description"},
    "field.photo": {"ja": "写真（任意）", "en": "Photo (optional)"},
    "field.place": {"ja": "場所", "en": "Place"},
    "field.place.map": {"ja": "地図をクリック", "en": "Click on the map"},
    "field.place.address": {"ja": "住所・地名で指定", "en": "Address or place name"},
    "field.place.text": {
        "ja": "住所・地名（例: 国領町3-1-2、調布駅、第二小学校）",
        "en": "Address or place (e.g. 国領町3-1-2, 調布駅, 第二小学校)",
    },
    "field.place.search": {"ja": "場所を探す", "en": "Find the place"},
    "field.place.found": {
        "ja": "場所: {place}（{method}、確からしさ {confidence:.0%}）",
        "en": "Place: {place} ({method}, confidence {confidence:.0%})",
    },
    "field.place.not_found": {
        "ja": "「{text}」の場所が見つかりません。地図をクリックして指定してください。",
        "en": "Cannot place “{text}”. Click on the map instead.",
    },
    "field.place.clicked": {
        "ja": "地図で指定した場所（{town}）",
        "en": "Place clicked on the map ({town})",
    },
    "field.place.none": {
        "ja": "まだ場所が指定されていません。",
        "en": "No place chosen yet.",
    },
    "field.place.outside": {"ja": "市外または町丁目不明", "en": "outside the towns"},
    "field.method.address": {"ja": "住所", "en": "address"},
    "field.method.town": {"ja": "町名", "en": "town"},
    "field.method.shelter": {"ja": "避難所", "en": "shelter"},
    "field.method.landmark": {"ja": "目標物", "en": "landmark"},
    "field.method.map": {"ja": "地図", "en": "map"},
    "field.submit": {"ja": "報告を送信", "en": "Send the report"},
    "field.saved": {
        "ja": "報告を保存しました（{category}、{place}）。",
        "en": "Report saved ({category}, {place}).",
    },
    "field.check.category": {"ja": "種別を選んでください。", "en": "Choose a category."},
    "field.check.severity": {
        "ja": "深刻度を 1〜3 で選んでください。",
        "en": "Choose a severity 1–3.",
    },
    "field.check.place": {
        "ja": "場所を指定してください（地図をクリックするか住所を入力）。",
        "en": "Choose the place (click on the map or enter an address).",
    },
    "field.check.description": {
        "ja": "状況の説明か写真のどちらかを入れてください。",
        "en": "Describe what you see or add a photo.",
    },
    "field.check.photo": {
        "ja": "写真として読めないファイルです（JPEG・PNG・WebP、{mb}MBまで）。",
        "en": "Not a readable photo (JPEG, PNG or WebP up to {mb} MB).",
    },
    "field.denied": {
        "ja": "現地調査の報告を入力する権限がありません（閲覧のみ）。",
        "en": "You may not enter field reports (view only).",
    },
    "field.recent": {"ja": "最近の現地調査", "en": "Recent field reports"},
    "field.recent.filter": {"ja": "種別で絞り込み", "en": "Filter by category"},
    "field.recent.empty": {"ja": "現地調査の報告はまだありません。", "en": "No field reports yet."},
    "field.recent.count": {
        "ja": "新しい順に {shown} 件（全 {total} 件）。行を選ぶと詳細と写真を表示します。",
        "en": "{shown} of {total}, newest first. Select a row for details and the photo.",
    },
    "field.col.time": {"ja": "報告時刻", "en": "Reported at"},
    "field.col.age": {"ja": "経過", "en": "Age"},
    "field.col.category": {"ja": "種別", "en": "Category"},
    "field.col.severity": {"ja": "深刻度", "en": "Severity"},
    "field.col.town": {"ja": "町丁目", "en": "Town"},
    "field.col.description": {"ja": "説明", "en": "Description"},
    "field.col.by": {"ja": "報告者", "en": "Reported by"},
    "field.col.photo": {"ja": "写真", "en": "Photo"},
    "field.photo.yes": {"ja": "あり", "en": "yes"},
    "field.photo.missing": {
        "ja": "写真ファイルが見つかりません。",
        "en": "The photo file is missing.",
    },
    # wall screen
    "kiosk.updated": {
        "ja": "最終更新 {time}（{seconds}秒ごとに自動更新）",
        "en": "Updated {time} (refreshes every {seconds} s)",
    },
    "kiosk.no_open": {"ja": "開設中の避難所はありません。", "en": "No shelter is open."},
}
