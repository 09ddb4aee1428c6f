"""UI text of the area view (広域の状況): one row per municipality for the area HQ."""

CATALOGUE: dict[str, dict[str, str]] = {
    "area.title": {
        "ja": "広域の状況（所属市区町村）",
        "en": "Area situation (your municipalities)",
    },
    "area.city": {"ja": "市区町村", "en": "Municipality"},
    "area.shelters_open": {"ja": "開設避難所", "en": "Shelters open"},
    "area.warnings": {"ja": "発表中の警報・注意報", "en": "Warnings in force"},
    "area.warning_level": {"ja": "警戒レベル相当（最高）", "en": "Highest warning level"},
    "area.evacuation": {"ja": "発令中の避難情報", "en": "Evacuation information in force"},
    "area.evacuation_towns": {"ja": "避難指示以上の町丁目", "en": "Towns under evacuation order+"},
    "area.residents": {"ja": "名簿登録者", "en": "Registered residents"},
    "area.replied": {"ja": "安否回答", "en": "Replied"},
    "area.reached": {"ja": "連絡がついた", "en": "Reached"},
    "area.unconfirmed": {"ja": "未確認（未回答）", "en": "Not confirmed (no reply)"},
    "area.total": {"ja": "合計", "en": "Total"},
    "area.note": {
        "ja": "人数（登録・回答・連絡がついた・未確認）は3人未満を「{small}」、他の欄や合計との"
        "差し引きで3人未満の欄が分かる欄を「{withheld}」と表示しています。",
        "en": "Counts of persons (registered, replied, reached, not confirmed) below 3 read "
        "「{small}」; a count from which such a cell could be worked out from the others or the "
        "total reads 「{withheld}」.",
    },
}
