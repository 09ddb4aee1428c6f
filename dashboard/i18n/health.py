"""UI text of source health: the wall screen's strip and the admin page's table
(dashboard/source_health.py; the state labels themselves are geodata.vocab.SOURCE_STATES)."""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    "health.title": {"ja": "データ取得元", "en": "Sources"},
    "health.until": {"ja": "{state}（{time}まで）", "en": "{state} (until {time})"},
    "health.newest": {"ja": "最新 {age}", "en": "newest {age}"},
    "health.no_records": {"ja": "記録なし", "en": "no records"},
    "health.none": {
        "ja": "取得元の記録はまだありません（取り込みが動いていません）",
        "en": "No source has run yet (the ingest is not running)",
    },
    "health.minutes": {"ja": "{m}分", "en": "{m} min"},
    "health.col.source": {"ja": "取得元", "en": "Source"},
    "health.col.kind": {"ja": "種別", "en": "Kind"},
    "health.col.state": {"ja": "状態", "en": "State"},
    "health.col.newest": {"ja": "最新レコード", "en": "Newest record"},
    "health.col.success": {"ja": "最終成功", "en": "Last success"},
    "health.col.backoff": {"ja": "待機期限", "en": "Backing off until"},
    "health.col.error": {"ja": "最後のエラー", "en": "Last error"},
    "health.col.stale_after": {"ja": "遅延とみなす時間", "en": "Stale after"},
}
