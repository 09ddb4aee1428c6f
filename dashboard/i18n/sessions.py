"""UI text of the admin page's session list ("sign out everywhere")."""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    "sessions.title": {"ja": "ログイン中のセッション", "en": "Open sessions"},
    "sessions.none": {"ja": "ログイン中のセッションはありません。", "en": "No open sessions."},
    "sessions.user": {"ja": "利用者", "en": "User"},
    "sessions.since": {"ja": "ログイン", "en": "Logged in"},
    "sessions.seen": {"ja": "最終操作", "en": "Last used"},
    "sessions.until": {"ja": "有効期限", "en": "Ends at"},
    "sessions.sign_out_user": {
        "ja": "この利用者をすべての端末でログアウト",
        "en": "Sign this user out everywhere",
    },
    "sessions.sign_out_all": {
        "ja": "全員をすべての端末でログアウト",
        "en": "Sign everyone out everywhere",
    },
    "sessions.signed_out": {
        "ja": "{n} 件のセッションを終了しました。",
        "en": "{n} sessions ended.",
    },
}
