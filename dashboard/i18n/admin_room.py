"""UI text of the admin room (dashboard/admin/): audit log, users, sources, purge.

Roles and source states are domain terms (``role.*``, ``source_state.*`` from geodata/vocab.py).
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    "adm.tab.status": {"ja": "状態", "en": "Status"},
    "adm.tab.audit": {"ja": "監査ログ", "en": "Audit log"},
    "adm.tab.users": {"ja": "利用者", "en": "Users"},
    "adm.tab.sources": {"ja": "データ取得元", "en": "Sources"},
    "adm.tab.purge": {"ja": "個人情報の削除", "en": "Purge personal data"},
    "adm.denied": {
        "ja": "この操作は管理者だけが行えます（サーバーで拒否しました）。",
        "en": "Only an administrator may do this (refused by the server).",
    },
    "adm.failed": {"ja": "できませんでした: {error}", "en": "Not done: {error}"},
    # audit log
    "adm.audit.who": {"ja": "操作者", "en": "Who"},
    "adm.audit.action": {"ja": "操作", "en": "Action"},
    "adm.audit.layer": {"ja": "対象レイヤー", "en": "Layer"},
    "adm.audit.at": {"ja": "日時", "en": "Time"},
    "adm.audit.key": {"ja": "対象キー", "en": "Record"},
    "adm.audit.detail": {"ja": "内容（変更前 → 変更後）", "en": "Detail (before → after)"},
    "adm.audit.any": {"ja": "すべて", "en": "Any"},
    "adm.audit.since": {"ja": "開始日（日本時間）", "en": "From (JST)"},
    "adm.audit.until": {"ja": "終了日（日本時間、当日を含む）", "en": "To (JST, inclusive)"},
    "adm.audit.page": {"ja": "ページ", "en": "Page"},
    "adm.audit.count": {
        "ja": "{total}件中 {first}–{last}件目（新しい順、日本時間）",
        "en": "{first}–{last} of {total} (newest first, JST)",
    },
    "adm.audit.none": {"ja": "該当する記録はありません。", "en": "No matching records."},
    # users
    "adm.users.list": {"ja": "アカウント一覧", "en": "Accounts"},
    "adm.users.none": {"ja": "ローカルアカウントはありません。", "en": "No local accounts."},
    "adm.users.username": {"ja": "ユーザー名", "en": "Username"},
    "adm.users.display_name": {"ja": "表示名", "en": "Display name"},
    "adm.users.role": {"ja": "役割", "en": "Role"},
    "adm.users.shelters": {"ja": "担当避難所", "en": "Assigned shelters"},
    "adm.users.municipalities": {"ja": "所属市区町村", "en": "Municipalities"},
    "adm.users.municipalities_hint": {
        "ja": "団体コード5桁をカンマ区切りで（例: 13208, 13210）。空欄は既定の市区町村。"
        "所属する市区町村のデータだけを見られます。",
        "en": "5-digit codes separated by commas (e.g. 13208, 13210); empty: the default "
        "municipality. The account sees only these municipalities' data.",
    },
    "adm.users.set_municipalities": {"ja": "所属市区町村を変更", "en": "Set municipalities"},
    "adm.users.pick_shelters": {"ja": "避難所を選択", "en": "Choose shelters"},
    "adm.users.state": {"ja": "状態", "en": "State"},
    "adm.users.active": {"ja": "有効", "en": "Active"},
    "adm.users.disabled": {"ja": "無効", "en": "Disabled"},
    "adm.users.locked": {"ja": "ロック中（{time}まで）", "en": "Locked until {time}"},
    "adm.users.failed": {"ja": "ログイン失敗回数", "en": "Failed logins"},
    "adm.users.updated": {"ja": "最終変更", "en": "Last changed"},
    "adm.users.add": {"ja": "アカウントを追加", "en": "Add an account"},
    "adm.users.add_button": {"ja": "追加する", "en": "Add"},
    "adm.users.password_once": {
        "ja": "{name} の初期パスワード（この画面でだけ表示します。本人に安全な方法で伝えてください）:",
        "en": "The password of {name} (shown only now; hand it over safely):",
    },
    "adm.users.manage": {"ja": "アカウントを変更", "en": "Change an account"},
    "adm.users.pick": {"ja": "対象アカウント", "en": "Account"},
    "adm.users.set_role": {"ja": "役割・担当避難所を保存", "en": "Save role and shelters"},
    "adm.users.disable": {"ja": "無効にする", "en": "Disable"},
    "adm.users.enable": {"ja": "有効にする", "en": "Enable"},
    "adm.users.unlock": {"ja": "ロックを解除", "en": "Unlock"},
    "adm.users.reset": {"ja": "パスワードを再発行", "en": "Reset password"},
    "adm.users.sign_out": {"ja": "すべての端末でログアウト", "en": "Sign out everywhere"},
    "adm.users.done": {"ja": "{name}: {what}", "en": "{name}: {what}"},
    "adm.users.signed_out": {
        "ja": "{name}: {n}件のセッションを終了しました。",
        "en": "{name}: {n} session(s) ended.",
    },
    "adm.users.shelters_hint": {
        "ja": "担当避難所は「避難所職員」だけが持てます。",
        "en": "Only shelter staff have assigned shelters.",
    },
    "adm.users.self": {
        "ja": "自分自身を無効にしたり管理者から外したりはできません。",
        "en": "You cannot disable yourself or remove your own admin role.",
    },
    # sources
    "adm.sources.control": {"ja": "取得の一時停止・即時実行", "en": "Pause, resume, run now"},
    "adm.sources.none": {
        "ja": "まだ取得を行ったデータ取得元はありません。",
        "en": "No source has run yet.",
    },
    "adm.sources.source": {"ja": "取得元", "en": "Source"},
    "adm.sources.control_state": {"ja": "取得", "en": "Ingest"},
    "adm.sources.running": {"ja": "実行中", "en": "Running"},
    "adm.sources.paused": {"ja": "一時停止中（{by}、{time}）", "en": "Paused ({by}, {time})"},
    "adm.sources.requested": {
        "ja": "即時実行の依頼（{by}、{time}）",
        "en": "Run requested ({by}, {time})",
    },
    "adm.sources.pause": {"ja": "一時停止", "en": "Pause"},
    "adm.sources.resume": {"ja": "再開", "en": "Resume"},
    "adm.sources.run_now": {"ja": "今すぐ実行", "en": "Run now"},
    "adm.sources.listening": {
        "ja": "取得ループが動いています（最終確認 {time}）。依頼は数秒以内に反映されます。",
        "en": "The ingest loop is running (last seen {time}); requests take effect within seconds.",
    },
    "adm.sources.not_listening": {
        "ja": "取得ループ（python -m ingest run --loop）と連絡が取れません（最終確認 {time}）。"
        "依頼は保存され、次にループが動いたときに反映されます。",
        "en": "No ingest loop (python -m ingest run --loop) is listening (last seen {time}). "
        "The request is stored and taken when a loop next runs.",
    },
    "adm.sources.stored": {
        "ja": "{source}: {what}を保存しました。",
        "en": "{source}: {what} stored.",
    },
    # purge
    "adm.purge.explain": {
        "ja": "災害対応の終了後、名簿・安否回答などの個人情報を削除します（件数などの集計は変わりません）。"
        "先に名簿・安否の取得元を止めてください。まず「試行」で何が変わるかを確認します。",
        "en": "After the disaster, remove personal data (roster, safety replies …); every aggregate "
        "count stays. Stop the roster and safety sources first. A dry run shows what would change.",
    },
    "adm.purge.dry_run": {"ja": "試行（何も変更しません）", "en": "Dry run (changes nothing)"},
    "adm.purge.item": {"ja": "項目", "en": "Item"},
    "adm.purge.count": {"ja": "件数", "en": "Count"},
    "adm.purge.would": {"ja": "試行の結果（{time}）", "en": "Dry run ({time})"},
    "adm.purge.done": {"ja": "削除の結果（{time}）", "en": "Purge done ({time})"},
    "adm.purge.nothing": {
        "ja": "削除する個人情報はありません。",
        "en": "No personal data to remove.",
    },
    "adm.purge.confirm_label": {
        "ja": "取り消せません。実行するには「削除」と入力してください",
        "en": 'This cannot be undone. Type "PURGE" to go on',
    },
    "adm.purge.word": {"ja": "削除", "en": "PURGE"},
    "adm.purge.go": {"ja": "個人情報を削除する", "en": "Purge personal data"},
    "adm.purge.changed": {
        "ja": "試行の後にデータが変わりました。もう一度試行してください。",
        "en": "The data changed since the dry run: run it again.",
    },
    "adm.purge.spool": {
        "ja": "LINE受信ファイル（{folder}）",
        "en": "LINE webhook bodies ({folder})",
    },
    "adm.purge.other_spools": {
        "ja": "sources.toml で別のフォルダーを指定した LINE 受信ファイルは "
        "`python -m ingest purge --personal --config sources.toml` で削除してください。",
        "en": "LINE spool folders set elsewhere in sources.toml: run "
        "`python -m ingest purge --personal --config sources.toml`.",
    },
    "adm.purge.nulled": {"ja": "{layer}.{column} を消去", "en": "{layer}.{column} cleared"},
    "adm.purge.moved": {
        "ja": "{layer} の位置を町丁目の代表点へ",
        "en": "{layer} points moved to town",
    },
    "adm.purge.redacted": {"ja": "{layer} の自由記述を墨消し", "en": "{layer} free texts redacted"},
    "adm.purge.pseudonymized": {"ja": "住民IDを仮名化", "en": "Resident ids pseudonymized"},
    "adm.purge.audit_rows": {"ja": "監査ログの記録を墨消し", "en": "Audit rows scrubbed"},
    "adm.purge.rejections": {"ja": "取り込めなかったレコード", "en": "Rejected records"},
    "adm.purge.health_errors": {"ja": "取得元のエラー文", "en": "Source error texts"},
    # rejections (status tab)
    "adm.rej.at": {"ja": "日時", "en": "Time"},
    "adm.rej.source": {"ja": "取得元", "en": "Source"},
    "adm.rej.layer": {"ja": "レイヤー", "en": "Layer"},
    "adm.rej.reason": {"ja": "理由", "en": "Reason"},
    "adm.rej.raw": {"ja": "元データ（先頭）", "en": "Raw (start)"},
}
