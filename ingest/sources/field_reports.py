"""Field survey reports (職員の現地調査) from survey-tool exports: CSV, JSON or GeoJSON.

Columns (NFKC-normalized headers; first present wins) — Survey123, KoboToolbox and QField
exports and hand-made sheets alike:

=========== ===================================================================================
id          ``globalid``, ``_uuid``, ``報告ID``, ``id``, ``ID``, ``objectid`` (else a digest)
category    ``category``, ``種別``, ``被害種別``, ``分類`` (mapped onto the categories; unknown text
            is classified from the description, else その他)
severity    ``severity``, ``緊急度``, ``重要度``, ``深刻度``: 1..3 (clamped), 高/中/低, high/medium/low
text        ``description``, ``text``, ``内容``, ``状況``, ``詳細``, ``備考``
photo       ``photo_url``, ``photo``, ``写真``, ``写真URL``, ``image``
by          ``reported_by``, ``報告者``, ``調査者``, ``Creator``, ``_submitted_by``
time        ``reported_at``, ``日時``, ``調査日時``, ``報告日時``, ``_submission_time``,
            ``CreationDate``, ``timestamp``
damage      the counts of 第4号様式 (``死者``, ``全壊(棟)``, ``床上浸水(世帯)``, ``道路`` …, or
            ``dmg_<item>``; geodata/damage.py FILE_HEADERS) and ``確認状況`` (確認済 / 未確認)
position    GeoJSON geometry, lat/lon, Kobo ``_geolocation``/``geopoint``, X/Y in ``crs``;
            else a ``場所``/``住所``/``location`` text geocoded with the gazetteer
=========== ===================================================================================
"""

from __future__ import annotations

import math
import unicodedata

from geodata.damage import parse_damage
from geodata.schema import CATEGORIES
from geodata.text.fingerprints import digest
from ingest.base import first_of, text_or_none
from ingest.reasons import RowError
from ingest.sources.files import FileSource

ID = ("globalid", "GlobalID", "_uuid", "報告ID", "id", "ID", "objectid", "OBJECTID", "fid")
CATEGORY = ("category", "種別", "被害種別", "分類", "被害区分")
SEVERITY = ("severity", "緊急度", "重要度", "深刻度", "レベル")
TEXT = ("description", "text", "内容", "状況", "詳細", "備考", "被害状況")
PHOTO = ("photo_url", "photo", "写真", "写真URL", "image", "画像")
BY = ("reported_by", "報告者", "調査者", "Creator", "_submitted_by", "担当者")
TIME = ("reported_at", "日時", "調査日時", "報告日時", "_submission_time", "CreationDate",
        "timestamp", "created_at")  # fmt: skip
PLACE = ("場所", "住所", "location", "所在地", "地点")

CATEGORY_WORDS = (
    (("浸水", "冠水", "flood", "inundation"), "浸水・冠水"),
    (("土砂", "崖崩れ", "がけ崩れ", "地すべり", "landslide"), "土砂災害"),
    (("火災", "火事", "fire"), "火災"),
    (("建物", "倒壊", "損壊", "building", "collapse"), "建物被害"),
    (("道路", "通行止", "交通", "陥没", "road", "traffic"), "道路・交通"),
    (("停電", "power", "電柱"), "停電"),
    (("断水", "water supply", "水道"), "断水"),
    (("救助", "rescue"), "救助要請"),
    (("避難所", "shelter"), "避難所"),
)
SEVERITY_WORDS = {"高": 3, "大": 3, "重大": 3, "high": 3, "中": 2, "medium": 2, "低": 1,
                  "小": 1, "軽微": 1, "low": 1}  # fmt: skip


def map_category(text: str | None) -> str | None:
    """One of the categories from a category cell (None when it names none)."""
    if not text:
        return None
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    if text in CATEGORIES:
        return text
    for words, category in CATEGORY_WORDS:
        if any(w in t for w in words):
            return category
    return None


def parse_severity(value) -> int | None:
    """1..3 from a number (clamped) or a word; None when empty; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    t = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if t in SEVERITY_WORDS:
        return SEVERITY_WORDS[t]
    try:
        number = float(t)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise RowError(
            "緊急度", f"「{str(value)[:40]}」は読めません（1〜3、高・中・低、high/medium/low）"
        )
    return int(min(3, max(1, round(number))))


class FieldReportSource(FileSource):
    """Field reports from a survey-tool export (see the module docstring)."""

    kind = "field_report"
    layer = "field_reports"
    poll_seconds = 120.0
    required_columns = (("日時", TIME),)
    area_check = True

    def normalize_record(self, record: dict) -> dict:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        description = text_or_none(first_of(record, TEXT), 5000)
        reported_at, _ = self.time_of(record, TIME)
        if reported_at is None:
            raise RowError("日時", "空欄です（報告の日時が必要です）", "missing report time")
        point = self.point_of(record)
        gaz = self.context.gazetteer
        town_code = None
        if point is None:
            place = text_or_none(first_of(record, PLACE), 300)
            if gaz is not None and place:
                result = gaz.geocode(place)
                point, town_code = result.point, result.town_code
            if point is None:
                raise RowError(
                    "位置",
                    "座標も、地名辞書にある場所（場所・住所）もありません",
                    "no position (coordinates or a place the gazetteer knows)",
                )
        elif gaz is not None:
            town_code = gaz.town_at(point)
        category_text = text_or_none(first_of(record, CATEGORY), 100)
        category = map_category(category_text) or self._classify(description) or "その他"
        source_id = text_or_none(first_of(record, ID), 200) or digest(
            self.file_of(record), reported_at.isoformat(), point.wkt, description
        )
        return {
            "source": self.name,
            "source_id": source_id,
            "category": category,
            "severity": parse_severity(first_of(record, SEVERITY)),
            "description": description,
            "photo_url": text_or_none(first_of(record, PHOTO), 1000),
            "reported_by": text_or_none(first_of(record, BY), 200),
            "reported_at": reported_at,
            "town_code": town_code,
            "geometry": point,
            **parse_damage(
                record
            ),  # 第4号様式's counts and the verification, when the export has them
        }

    def _classify(self, text: str | None) -> str | None:
        classify = self.context.classifier
        if classify is None or not text:
            return None
        categories = [c for c in classify(text).categories if c != "その他"]
        return categories[0] if categories else None
