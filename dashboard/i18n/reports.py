"""UI text of the 安否確認 (safety), 通報・SNS (reports) and 出力 (export) pages, Japanese first.

Merged into :data:`dashboard.i18n.CATALOGUE` at import (keys must not clash with other areas).
Domain terms (statuses, outcomes, categories, triage states) are not here: the catalogue takes
them from :mod:`geodata.vocab` (``safety_status.無事``, ``category.火災`` …).
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    # navigation
    "page.safety": {"ja": "安否確認", "en": "Safety check"},
    "page.reports": {"ja": "通報・SNS", "en": "Reports & SNS"},
    "page.export": {"ja": "出力", "en": "Export"},
    # -- safety ----------------------------------------------------------------------------
    "safety.title": {"ja": "安否確認 — {city}", "en": "Safety check — {city}"},
    "safety.viewer_note": {
        "ja": "この画面では町丁目ごとの件数のみ表示します（氏名・住所などの個人情報は表示されません。"
        "地図の点は実際の位置から100〜300mずらしています）。",
        "en": "This view shows counts per town only (no names or addresses; points on the map "
        "are moved 100–300 m from their real place).",
    },
    "safety.kpi.registered": {"ja": "名簿登録者", "en": "Registered"},
    "safety.kpi.replied": {"ja": "回答あり", "en": "Replied"},
    "safety.kpi.reached": {"ja": "フォローで確認", "en": "Reached by follow-up"},
    "safety.kpi.unconfirmed": {"ja": "未確認（要フォロー）", "en": "Not heard from"},
    "safety.chart.title": {
        "ja": "回答率の推移（名簿登録者に占める割合・累計）",
        "en": "Reply rate over time (cumulative share of the roster)",
    },
    "safety.chart.empty": {"ja": "まだ回答がありません。", "en": "No replies yet."},
    "safety.chart.hour": {"ja": "時刻", "en": "Time"},
    "safety.chart.percent": {"ja": "割合（%）", "en": "Share (%)"},
    "safety.chart.replied": {"ja": "回答", "en": "Replied"},
    "safety.chart.confirmed": {"ja": "回答＋フォロー確認", "en": "Replied or reached"},
    "safety.towns.title": {"ja": "町丁目別の状況", "en": "By town"},
    "safety.col.town": {"ja": "町丁目", "en": "Town"},
    "safety.col.registered": {"ja": "登録", "en": "Registered"},
    "safety.col.replied": {"ja": "回答", "en": "Replied"},
    "safety.col.not_replied": {"ja": "未回答", "en": "No reply"},
    "safety.col.reached": {"ja": "連絡済", "en": "Reached"},
    "safety.col.unconfirmed": {"ja": "未確認", "en": "Not heard"},
    "safety.col.reply_rate": {"ja": "回答率", "en": "Reply rate"},
    "safety.layer.towns": {"ja": "町丁目（未確認者数）", "en": "Towns (not heard from)"},
    "safety.layer.replies": {"ja": "安否回答", "en": "Safety replies"},
    "safety.layer.homes": {"ja": "訪問リストの方の自宅", "en": "Homes on the visit list"},
    "safety.map.legend": {"ja": "安否確認", "en": "Safety check"},
    "safety.map.class": {"ja": "{low}〜{high}人", "en": "{low}–{high}"},
    "safety.map.class_open": {"ja": "{low}人以上", "en": "{low}+"},
    "safety.map.town_class": {"ja": "未確認 {label}", "en": "Not heard {label}"},
    "safety.map.town_counts": {
        "ja": "登録 {registered}人・回答 {replied}人",
        "en": "{registered} registered, {replied} replied",
    },
    "safety.map.town_unconfirmed": {"ja": "未確認 {n}人", "en": "{n} not heard from"},
    "safety.map.channel": {"ja": "経路: {channel}", "en": "Via {channel}"},
    "safety.map.unmatched": {"ja": "名簿と未照合", "en": "Not matched to the roster"},
    "safety.map.caption_personal": {
        "ja": "色付きの点は最新の回答、白い丸は訪問リストの方の自宅です。町丁目の色は未確認者数。",
        "en": "Coloured dots are the latest replies, white rings the homes of the residents on "
        "the visit list; towns are shaded by residents not heard from.",
    },
    "safety.map.caption_masked": {
        "ja": "点は個人が特定されないよう100〜300mずらして表示しています。町丁目の色は未確認者数。",
        "en": "Dots are moved 100–300 m so that no one can be identified; towns are shaded by "
        "residents not heard from.",
    },
    "safety.list.title": {"ja": "訪問リスト", "en": "Visit list"},
    "safety.list.caption": {
        "ja": "先頭は要救助・負傷と回答し、その後まだ誰も連絡がついていない要支援者。続いて安否回答がなく"
        "電話・訪問でも連絡がついていない要支援者（町丁目ごと・優先度順）。印刷用PDF・CSVと同じ順・同じ番号です。"
        "連絡がつくと一覧から外れます。閲覧と出力は記録されます。",
        "en": "First the residents whose reply asked for rescue or reported an injury and whom "
        "nobody has reached since; then those with no reply, not yet reached by phone or visit "
        "(town by town, by care priority). Same order and numbers as the printed PDF and the "
        "CSV. Residents leave the list once reached. Views and exports are logged.",
    },
    "safety.list.towns": {"ja": "町丁目で絞り込み", "en": "Filter by town"},
    "safety.list.all_towns": {"ja": "すべての町丁目", "en": "All towns"},
    "safety.list.town_option": {"ja": "{town}（{n}人）", "en": "{town} ({n})"},
    "safety.list.count": {
        "ja": "{n}人（うち要救助・負傷 {urgent}人）",
        "en": "{n} residents ({urgent} asked for rescue or are injured)",
    },
    "safety.list.none": {
        "ja": "未確認の要支援者はいません。",
        "en": "Everyone on the roster has been heard from.",
    },
    "safety.list.csv": {"ja": "訪問リスト（CSV）", "en": "Visit list (CSV)"},
    "safety.list.pdf": {"ja": "訪問リスト（印刷用PDF）", "en": "Visit list (printable PDF)"},
    "safety.list.priority_n": {"ja": "優先度 {n}", "en": "Priority {n}"},
    "safety.list.col.no": {"ja": "No", "en": "No"},
    "safety.list.col.reply": {"ja": "回答", "en": "Reply"},
    "safety.list.col.care_priority": {"ja": "優先", "en": "Priority"},
    "safety.list.col.town": {"ja": "町丁目", "en": "Town"},
    "safety.list.col.name": {"ja": "氏名", "en": "Name"},
    "safety.list.col.kana": {"ja": "カナ", "en": "Kana"},
    "safety.list.col.address": {"ja": "住所", "en": "Address"},
    "safety.list.col.phone": {"ja": "電話", "en": "Phone"},
    "safety.list.col.care_needs": {"ja": "支援内容", "en": "Care needs"},
    "safety.list.col.supporter": {"ja": "避難支援者", "en": "Supporter"},
    "safety.list.col.last_follow_up": {"ja": "前回対応", "en": "Last follow-up"},
    "safety.list.col.attempts": {"ja": "対応回数", "en": "Attempts"},
    "safety.fu.title": {"ja": "フォローアップの記録", "en": "Record a follow-up"},
    "safety.fu.resident": {
        "ja": "対象者（No.・回答・優先度・氏名・町丁目）",
        "en": "Resident (no., reply, priority, name, town)",
    },
    "safety.fu.action": {"ja": "対応", "en": "Action"},
    "safety.fu.outcome": {"ja": "結果", "en": "Outcome"},
    "safety.fu.note": {"ja": "メモ", "en": "Note"},
    "safety.fu.save": {"ja": "記録する", "en": "Save"},
    "safety.fu.saved": {"ja": "対応を記録しました。", "en": "Follow-up saved."},
    "safety.fu.saved_reached": {
        "ja": "対応を記録しました。連絡がついたため訪問リストから外れました。",
        "en": "Follow-up saved; the resident was reached and left the list.",
    },
    "safety.match.title": {"ja": "名簿と未照合の回答（{n}件）", "en": "Unmatched replies ({n})"},
    "safety.match.none": {
        "ja": "すべての回答が名簿と照合されています。",
        "en": "Every reply is matched to a resident.",
    },
    "safety.match.caption": {
        "ja": "送信者が名簿にない回答です。本人を確認して名簿の住民に照合してください"
        "（位置のある回答は近い住民から表示）。",
        "en": "Replies from senders the roster does not know. Check who sent it and match it to "
        "a resident (residents living nearest a located reply come first).",
    },
    "safety.match.col.replied_at": {"ja": "回答日時", "en": "Replied at"},
    "safety.match.col.channel": {"ja": "経路", "en": "Channel"},
    "safety.match.col.status": {"ja": "状況", "en": "Status"},
    "safety.match.col.sender": {"ja": "送信者ID", "en": "Sender"},
    "safety.match.col.needs": {"ja": "内容", "en": "Message"},
    "safety.match.col.located": {"ja": "位置", "en": "Located by"},
    "safety.match.reply": {"ja": "照合する回答", "en": "Reply to match"},
    "safety.match.resident": {"ja": "住民", "en": "Resident"},
    "safety.match.resident_placeholder": {"ja": "住民を選択", "en": "Choose a resident"},
    "safety.match.save": {"ja": "この住民に照合", "en": "Match to this resident"},
    "safety.match.saved": {"ja": "回答を住民に照合しました。", "en": "The reply was matched."},
    # -- export ----------------------------------------------------------------------------
    "export.title": {"ja": "出力", "en": "Export"},
    "export.audit_note": {
        "ja": "出力はボタンを押したときに作成され、誰が何を出力したかが記録されます。"
        "内部用は個人情報を含みます（取扱注意）。",
        "en": "Files are made when a button is pressed, and every export is logged with who made "
        "it. Internal versions contain personal data: handle with care.",
    },
    "export.version": {"ja": "版", "en": "Version"},
    "export.version.internal": {
        "ja": "内部用（個人情報を含む）",
        "en": "Internal (with personal data)",
    },
    "export.version.public": {"ja": "公開用（個人情報なし）", "en": "Public (no personal data)"},
    "export.situation.title": {"ja": "状況図（A3）", "en": "Situation map (A3)"},
    "export.situation.caption": {
        "ja": "本部会議用の状況図。避難所の開設状況、被害情報、町丁目ごとの未確認者数。"
        "作成に数秒かかります。",
        "en": "The situation map for the HQ meeting: shelters, damage reports, residents not "
        "heard from per town. Takes a few seconds to make.",
    },
    "export.situation.pdf": {"ja": "状況図 PDF", "en": "Situation map PDF"},
    "export.situation.png": {"ja": "状況図 PNG（300dpi）", "en": "Situation map PNG (300 dpi)"},
    "export.layer.title": {"ja": "データ出力（レイヤー）", "en": "Layer data"},
    "export.layer.caption": {
        "ja": "GISソフト（QGIS・Google Earth）やExcel向けのデータ。公開用では投稿者・個人情報を除き、"
        "安否回答は町丁目ごとの件数になります。",
        "en": "Data for GIS software (QGIS, Google Earth) and Excel. The public version drops "
        "authors and personal data; safety replies become counts per town.",
    },
    "export.layer.layer": {"ja": "レイヤー", "en": "Layer"},
    "export.layer.format": {"ja": "形式", "en": "Format"},
    "export.layer.window": {"ja": "期間", "en": "Time window"},
    "export.layer.towns": {"ja": "町丁目", "en": "Towns"},
    "export.layer.rows": {"ja": "対象 {n}件", "en": "{n} rows"},
    "export.layer.download": {"ja": "ダウンロード", "en": "Download"},
    "export.layer.no_public": {
        "ja": "このレイヤーには公開用がありません（個人の記録のため）。",
        "en": "This layer has no public version (its rows are about persons).",
    },
    "export.layer.no_geometry": {
        "ja": "このレイヤーには位置がないためKMLにできません。CSVかGeoJSONを選んでください。",
        "en": "This layer has no geometry, so it cannot be KML; choose CSV or GeoJSON.",
    },
    "export.layer.bad_format": {"ja": "未対応の形式です。", "en": "Unsupported format."},
    "export.layer.name.posts": {"ja": "SNS投稿", "en": "SNS posts"},
    "export.layer.name.incidents": {"ja": "事案", "en": "Incidents"},
    "export.layer.name.field_reports": {"ja": "現地調査報告", "en": "Field reports"},
    "export.layer.name.shelters": {"ja": "避難所", "en": "Shelters"},
    "export.layer.name.shelter_status": {
        "ja": "避難所の開設状況（履歴）",
        "en": "Shelter status history",
    },
    "export.layer.name.safety_replies": {"ja": "安否回答", "en": "Safety replies"},
    "export.layer.name.follow_ups": {"ja": "フォローアップ記録", "en": "Follow-ups"},
    "export.layer.name.roster": {
        "ja": "避難行動要支援者名簿",
        "en": "Roster of residents needing help",
    },
    "export.layer.name.towns": {"ja": "町丁目", "en": "Towns"},
    "export.layer.name.hazard_areas": {"ja": "浸水想定区域", "en": "Flood-hazard areas"},
    "export.format.geojson": {"ja": "GeoJSON", "en": "GeoJSON"},
    "export.format.gpkg": {"ja": "GeoPackage（QGIS）", "en": "GeoPackage (QGIS)"},
    "export.format.kml": {"ja": "KML（Google Earth）", "en": "KML (Google Earth)"},
    "export.format.csv": {"ja": "CSV（UTF-8 BOM付き・Excel）", "en": "CSV (UTF-8 with BOM, Excel)"},
    "export.format.csv-sjis": {"ja": "CSV（Shift_JIS）", "en": "CSV (Shift_JIS)"},
    "export.visits.title": {
        "ja": "安否未確認者 訪問リスト",
        "en": "Visit list of residents not heard from",
    },
    "export.visits.caption": {
        "ja": "要救助・負傷と回答し未対応の要支援者、続いて回答がなく連絡もついていない要支援者"
        "（町丁目ごと・優先度順、A4）。安否確認ページのリストと同じ。内部用のみ。",
        "en": "Residents who asked for rescue or are injured and were not reached since, then "
        "those with no reply and not yet reached, one section per town by priority (A4); the "
        "safety page's list. Internal only.",
    },
    "export.opendata.title": {"ja": "避難所オープンデータ（CSV）", "en": "Shelter open data (CSV)"},
    "export.opendata.caption": {
        "ja": "指定緊急避難場所一覧（自治体標準オープンデータセットの列）と指定避難所一覧（受入対象者・"
        "福祉避難所つき）に開設状況・避難者数・時点を加えたCSV。報告のない避難所は「報告なし」。",
        "en": "Emergency evacuation sites (standard open-data columns) and designated shelters "
        "(with who they take, welfare shelters marked), plus status, evacuees and time; "
        "shelters without a report say so.",
    },
    "export.cap.title": {"ja": "CAP 1.2 メッセージ（XML）", "en": "CAP 1.2 messages (XML)"},
    "export.cap.caption": {
        "ja": "避難所の開設状況の更新ごとに1通（公共情報コモンズ等への連携用）。ZIPにまとめて出力します。",
        "en": "One message per shelter status update (for alerting hubs), in one ZIP file.",
    },
    "export.cap.count": {"ja": "更新 {n}件", "en": "{n} updates"},
    "export.cap.download": {"ja": "CAP（ZIP）", "en": "CAP (ZIP)"},
    # -- reports ---------------------------------------------------------------------------
    "reports.title": {"ja": "通報・SNS — {city}", "en": "Reports & SNS — {city}"},
    "reports.filter.window": {"ja": "期間", "en": "Time window"},
    "reports.window.1h": {"ja": "1時間", "en": "1 h"},
    "reports.window.6h": {"ja": "6時間", "en": "6 h"},
    "reports.window.24h": {"ja": "24時間", "en": "24 h"},
    "reports.window.all": {"ja": "すべて", "en": "All"},
    "reports.filter.order": {"ja": "並び順", "en": "Order"},
    "reports.order.urgent": {"ja": "緊急度順", "en": "Most urgent"},
    "reports.order.newest": {"ja": "新着順", "en": "Newest"},
    "reports.filter.triage": {"ja": "対応状況", "en": "Triage state"},
    "reports.filter.urgency": {"ja": "緊急度", "en": "Urgency"},
    "reports.filter.category": {"ja": "種別", "en": "Category"},
    "reports.filter.town": {"ja": "町丁目", "en": "Town"},
    "reports.filter.all_towns": {"ja": "すべての町丁目", "en": "All towns"},
    "reports.filter.hide_copies": {"ja": "転載を隠す", "en": "Hide copies"},
    "reports.urgency.3": {"ja": "3 生命の危険", "en": "3 Life-threatening"},
    "reports.urgency.2": {"ja": "2 緊急", "en": "2 Urgent"},
    "reports.urgency.1": {"ja": "1 注意", "en": "1 Caution"},
    "reports.urgency.0": {"ja": "0 情報", "en": "0 Info"},
    "reports.kpi.posts": {"ja": "該当する投稿", "en": "Matching posts"},
    "reports.kpi.critical": {"ja": "生命の危険", "en": "Life-threatening"},
    "reports.kpi.urgent": {"ja": "緊急以上", "en": "Urgent or worse"},
    "reports.kpi.unlocated": {"ja": "位置不明", "en": "Not located"},
    "reports.kpi.incidents": {"ja": "被害報告（{window}）", "en": "Damage reports ({window})"},
    "reports.kpi.incidents_help": {
        "ja": "事案（同じ場所・同じ被害の投稿・救助要請・現地調査をまとめたもの）のうち、期間内に"
        "報告があったもの。状況図の被害報告と同じ数え方です（同じ期間なら同じ件数）。",
        "en": "Incidents (posts, rescue replies and field reports about one place and thing, "
        "merged) reported in the window. Counted as the situation map counts its damage reports "
        "(the same window gives the same number).",
    },
    "reports.tab.posts": {"ja": "投稿（{n}件）", "en": "Posts ({n})"},
    "reports.tab.incidents": {"ja": "事案（{n}件）", "en": "Incidents ({n})"},
    "reports.select_page": {"ja": "ページ全体を選択", "en": "Select the page"},
    "reports.selected": {"ja": "選択中 {n}件", "en": "{n} selected"},
    "reports.select_one": {"ja": "#{no} を選択", "en": "Select #{no}"},
    "reports.action.verify": {"ja": "確認済", "en": "Verify"},
    "reports.action.dismiss": {"ja": "対象外", "en": "Dismiss"},
    "reports.action.handled": {"ja": "対応済", "en": "Handled"},
    "reports.action.reopen": {"ja": "未処理へ", "en": "Reopen"},
    "reports.action.assign": {"ja": "割り当てる", "en": "Assign"},
    "reports.action.move": {"ja": "位置修正", "en": "Move"},
    "reports.action.move_help": {
        "ja": "投稿を1件選んでから押し、地図上の正しい場所をクリックします。",
        "en": "Select one post, press this, then click the right place on the map.",
    },
    "reports.assignee": {"ja": "担当者", "en": "Assign to"},
    "reports.assignee_placeholder": {
        "ja": "職員を選択または入力",
        "en": "Choose or type a staff name",
    },
    "reports.done.verify": {"ja": "{n}件を確認済にしました。", "en": "{n} posts verified."},
    "reports.done.dismiss": {"ja": "{n}件を対象外にしました。", "en": "{n} posts dismissed."},
    "reports.done.handled": {"ja": "{n}件を対応済にしました。", "en": "{n} posts marked handled."},
    "reports.done.reopen": {"ja": "{n}件を未処理に戻しました。", "en": "{n} posts reopened."},
    "reports.done.assign": {"ja": "{n}件を割り当てました。", "en": "{n} posts assigned."},
    "reports.done.move": {
        "ja": "投稿の位置を修正しました（{town}）。",
        "en": "The post was moved ({town}).",
    },
    "reports.move_hint": {
        "ja": "地図をクリックして投稿 {post} の正しい位置を指定してください。",
        "en": "Click the map where post {post} belongs.",
    },
    "reports.move_cancel": {"ja": "取消", "en": "Cancel"},
    "reports.prev": {"ja": "← 前へ", "en": "← Previous"},
    "reports.next": {"ja": "次へ →", "en": "Next →"},
    "reports.page_of": {
        "ja": "{first}–{last}件目 / 全{total}件",
        "en": "{first}–{last} of {total}",
    },
    "reports.empty": {
        "ja": "条件に合う投稿はありません。",
        "en": "No posts match the filters.",
    },
    "reports.no_incidents": {
        "ja": "条件に合う事案はありません。",
        "en": "No incidents match the filters.",
    },
    "reports.incidents_shown": {
        "ja": "緊急度・規模の大きい順に {n}件を表示（全{total}件）",
        "en": "The {n} most urgent and largest of {total}",
    },
    "reports.card.place": {"ja": "場所", "en": "Place"},
    "reports.card.assigned": {"ja": "担当: {name}", "en": "Assigned: {name}"},
    "reports.card.copies": {"ja": "転載・類似 {n}件", "en": "{n} copies"},
    "reports.place.none": {"ja": "場所不明", "en": "Unknown place"},
    "reports.geo.geotag": {"ja": "位置情報", "en": "Geotag"},
    "reports.geo.gazetteer": {"ja": "地名から推定", "en": "From place name"},
    "reports.geo.manual": {"ja": "職員が修正", "en": "Set by staff"},
    "reports.geo.none": {"ja": "位置不明", "en": "Not located"},
    "reports.incident.pieces": {"ja": "情報 {n}件", "en": "{n} reports"},
    "reports.incident.layer.posts": {"ja": "投稿", "en": "Posts"},
    "reports.incident.layer.safety_replies": {"ja": "安否回答", "en": "Safety replies"},
    "reports.incident.layer.field_reports": {"ja": "現地調査", "en": "Field reports"},
    "reports.layer.hexes": {"ja": "投稿の集計（六角形）", "en": "Posts (hexagons)"},
    "reports.layer.incidents": {"ja": "事案", "en": "Incidents"},
    "reports.layer.page": {"ja": "表示中の投稿", "en": "Posts on this page"},
    "reports.map.legend": {"ja": "投稿数（六角形）", "en": "Posts per hexagon"},
    "reports.map.posts_n": {"ja": "{n}件", "en": "{n}"},
    "reports.map.hex_posts": {"ja": "投稿 {n}件", "en": "{n} posts"},
    "reports.map.hex_urgent": {"ja": "うち緊急以上 {n}件", "en": "{n} urgent or worse"},
    "reports.map.critical_edge": {"ja": "生命の危険を含む", "en": "Includes life-threatening"},
    "reports.map.categories": {"ja": "種別（番号ピン・事案）", "en": "Category (pins, incidents)"},
    "reports.map.caption": {
        "ja": "六角形は条件に合う全投稿の集計（{hexes}区画）、番号ピンは左の一覧の投稿です。",
        "en": "Hexagons aggregate every matching post ({hexes} cells); numbered pins are the "
        "posts listed on the left.",
    },
}
