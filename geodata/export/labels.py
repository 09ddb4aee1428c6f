"""Japanese labels of the layer columns and of coded values, for CSV headers and KML balloons.

Files for other systems (GeoJSON, GeoPackage, KML ExtendedData) keep the English column names
and the stored codes; what people read in Excel or Google Earth is labelled in Japanese: column
names here, coded values (``emergency_site``, ``flood``, ``verified``, ``True``) through the
vocabularies of :mod:`geodata.vocab`.
"""

from __future__ import annotations

import numpy as np

from geodata import vocab
from geodata.schema import BOOL, LAYERS, TIME

COLUMN_LABELS: dict[str, str] = {
    "town_code": "町丁目コード",
    "city_code": "市区町村コード",
    "municipality": "所属団体コード",
    "city_name": "市区町村名",
    "pref_name": "都道府県名",
    "name": "名称",
    "population": "人口",
    "households": "世帯数",
    "area_m2": "面積(m2)",
    "id": "ID",
    "kind": "種別",
    "rank": "ランク",
    "river": "河川名",
    "source": "データソース",
    "shelter_id": "避難所ID",
    "kana": "カナ",
    "address": "住所",
    "hazards": "対象災害",
    "capacity": "収容人数",
    "capacity_estimated": "収容人数推計",
    "capacity_text": "収容人数(公表値)",
    "target": "受入対象者",
    "source_ids": "元データID",
    "note": "備考",
    "version": "版",
    "reported_at": "報告日時",
    "status": "状況",
    "evacuees": "避難者数",
    "needs": "必要物資",
    "reported_by": "報告者",
    "source_id": "ソース内ID",
    "resident_id": "要支援者ID",
    "phone": "電話番号",
    "chat_user_id": "チャットID",
    "care_needs": "支援内容",
    "care_priority": "優先度",
    "supporter": "避難支援者",
    "located_by": "位置の根拠",
    "channel": "受付経路",
    "needs_text": "要望",
    "sender_id": "送信者ID",
    "replied_at": "回答日時",
    "action": "対応",
    "outcome": "結果",
    "by": "担当者",
    "at": "日時",
    "platform": "プラットフォーム",
    "post_id": "投稿ID",
    "author": "投稿者",
    "text": "本文",
    "url": "URL",
    "posted_at": "投稿日時",
    "lang": "言語",
    "geo_source": "位置の根拠",
    "geo_confidence": "位置の確度",
    "matched_place": "地名",
    "categories": "分類",
    "matched_terms": "該当語",
    "urgency": "緊急度",
    "triage": "確認状況",
    "repost_of": "元投稿",
    "incident_id": "事案ID",
    "assigned_to": "担当者",
    "category": "分類",
    "severity": "深刻度",
    "description": "内容",
    "photo_url": "写真URL",
    "first_seen": "初報日時",
    "last_seen": "最新日時",
    "counts": "件数",
    # incident members (事案の構成)
    "member": "構成報告",
    "seen_at": "報告日時",
    "located": "位置あり",
    "residents": "要支援者数",
    "replied": "回答数",
    "needs_help": "要救助・負傷",
    "reached": "フォローで確認",
    "unconfirmed": "未確認",
    "lon": "経度",
    "lat": "緯度",
    # 要配慮者 counted at a shelter: per group (internal) and the published total
    **{f"care_{code}": f"要配慮者_{ja}" for code, (ja, _) in vocab.CARE_GROUPS.terms.items()},
    "care_total": "要配慮者数",
    # supply requests (物資要請)
    "request_id": "要請ID",
    "item": "品目",
    "item_text": "品目(詳細)",
    "quantity": "数量",
    "unit": "単位",
    "state": "状態",
    "requested_by": "要請者",
    "requested_at": "要請日時",
    "updated_by": "更新者",
    "updated_at": "更新日時",
}

# Labels that depend on the layer (a roster "name" is a person's name, a town's is a place).
LAYER_LABELS: dict[str, dict[str, str]] = {
    "roster": {"name": "氏名", "kana": "氏名カナ", "address": "住所"},
    "towns": {"name": "町丁目名"},
    "safety_by_town": {"name": "町丁目名"},
    "shelters": {"name": "避難所名", "status": "開設状況"},
    "shelter_status": {"households": "避難世帯数"},
    "incident_members": {"layer": "種別"},
}


def column_label(column: str, kind: str | None = None, layer: str | None = None) -> str:
    """The Japanese label of a column; times get "(JST)" since they are written in JST.

    Examples
    --------
    >>> column_label("evacuees"), column_label("reported_at", "datetime"), column_label("zzz")
    ('避難者数', '報告日時(JST)', 'zzz')
    >>> column_label("name", layer="roster")
    '氏名'
    """
    label = LAYER_LABELS.get(layer or "", {}).get(column) or COLUMN_LABELS.get(column, column)
    return f"{label}(JST)" if kind == TIME else label


# Coded columns and the vocabulary that labels them: (layer or "*", column) -> vocabulary.
VALUE_VOCABULARIES: dict[tuple[str, str], vocab.Vocabulary] = {
    ("shelters", "kind"): vocab.SHELTER_KINDS,
    ("shelters", "hazards"): vocab.HAZARDS,
    ("hazard_areas", "kind"): vocab.HAZARD_AREA_KINDS,
    ("shelter_status", "status"): vocab.SHELTER_STATUSES,
    ("safety_replies", "status"): vocab.SAFETY_STATUSES,
    ("follow_ups", "action"): vocab.FOLLOW_UP_ACTIONS,
    ("follow_ups", "outcome"): vocab.FOLLOW_UP_OUTCOMES,
    ("posts", "triage"): vocab.TRIAGE_STATES,
    ("shelter_status", "needs"): vocab.SHELTER_NEEDS,
    ("supply_requests", "item"): vocab.SUPPLY_ITEMS,
    ("supply_requests", "urgency"): vocab.SUPPLY_URGENCIES,
    ("supply_requests", "state"): vocab.SUPPLY_STATES,
    ("*", "categories"): vocab.CATEGORIES,
    ("*", "category"): vocab.CATEGORIES,
}
BOOL_LABELS = {True: "はい", False: "いいえ"}


def value_label(column: str, value, layer: str | None = None) -> str | None:
    """The Japanese label of a coded value, or None when ``column`` holds no codes.

    Lists (a shelter's hazards, a post's categories) are labelled item by item and joined
    with 「、」; booleans read はい / いいえ.

    Examples
    --------
    >>> value_label("kind", "emergency_site", "shelters")
    '指定緊急避難場所'
    >>> value_label("hazards", ["earthquake", "large_fire"], "shelters")
    '地震、大規模な火事'
    >>> value_label("capacity_estimated", True, "shelters")
    'はい'
    >>> value_label("name", "第三小学校", "shelters") is None
    True
    """
    voc = VALUE_VOCABULARIES.get((layer or "", column)) or VALUE_VOCABULARIES.get(("*", column))
    if voc is not None:
        if isinstance(value, (list, tuple)):
            return "、".join(voc.label(v) for v in value)
        return voc.label(value)
    spec = LAYERS.get(layer or "")
    is_bool = isinstance(value, (bool, np.bool_))
    if is_bool or (spec is not None and spec.columns.get(column) == BOOL and value in (0, 1)):
        return BOOL_LABELS[bool(value)]
    return None
