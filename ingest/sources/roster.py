"""避難行動要支援者名簿 (the roster of residents who need help to evacuate) from CSV.

Headers are Japanese as municipal systems export them (NFKC-normalized; first present wins):

============== ==============================================================================
resident_id    ``整理番号``, ``名簿番号``, ``対象者番号``, ``宛名番号``, ``番号``, ``ID``, ``resident_id``
name           ``氏名``, ``名前``, ``name``
kana           ``ふりがな``, ``フリガナ``, ``氏名カナ``, ``カナ氏名``, ``氏名(カナ)``, ``kana``
address        ``住所``, ``現住所``, ``address``
phone          ``電話番号``, ``連絡先``, ``携帯電話``, ``phone``
chat_user_id   ``LINEユーザーID``, ``LINEID``, ``chat_user_id``
care needs     every present column of ``要介護度``, ``障害``, ``障害の状況``, ``支援が必要な理由``,
               ``要配慮事項``, ``care_needs`` joined with " / "
supporter      ``避難支援等関係者``, ``支援者``, ``避難支援者``, ``supporter``
position       ``緯度``/``経度`` when the file has them
============== ==============================================================================

The home address is geocoded with the gazetteer: a house-number match gives
``located_by = "address"``, a 町丁目 match ``"town"`` (the point is the middle of the town);
anything else leaves the point empty (``"none"``). Care priority (1 = first):

1. 要介護4/5, 寝たきり, 人工呼吸器, 酸素, 透析, 医療的ケア, 全盲, 重度, 1級, 療育A;
2. 要介護3, 車いす, 視覚/聴覚障害, 認知症, 2級, 精神, 難病;
3. everyone else.
"""

from __future__ import annotations

import re
import unicodedata

from ingest.base import first_of, text_or_none
from ingest.reasons import RowError
from ingest.sources.files import FileSource

ID = ("整理番号", "名簿番号", "対象者番号", "宛名番号", "番号", "ID", "id", "resident_id")
NAME = ("氏名", "名前", "name")
KANA = ("ふりがな", "フリガナ", "氏名カナ", "カナ氏名", "氏名(カナ)", "氏名(ふりがな)", "kana")
ADDRESS = ("住所", "現住所", "address")
PHONE = ("電話番号", "連絡先", "携帯電話", "電話", "phone")
CHAT = ("LINEユーザーID", "LINEID", "LINE", "chat_user_id")
CARE = ("要介護度", "要介護", "障害", "障害の状況", "障害等級", "支援が必要な理由", "要配慮事項",
        "care_needs")  # fmt: skip
SUPPORTER = ("避難支援等関係者", "支援者", "避難支援者", "supporter")

PRIORITY_1 = re.compile(
    r"要介護[45]|寝たきり|人工呼吸器|酸素|透析|医療的ケア|全盲|重度|1級|療育[^,/]*A"
)
PRIORITY_2 = re.compile(r"要介護3|車いす|車椅子|視覚|聴覚|認知症|2級|精神|難病")


def care_priority(care_needs: str | None) -> int:
    """1 (first to help) .. 3 from the care-needs text (see the module docstring).

    Examples
    --------
    >>> care_priority("要介護5 / 寝たきり"), care_priority("車いす"), care_priority("要支援1")
    (1, 2, 3)
    """
    text = unicodedata.normalize("NFKC", care_needs or "")
    if PRIORITY_1.search(text):
        return 1
    if PRIORITY_2.search(text):
        return 2
    return 3


class RosterCsvSource(FileSource):
    """The roster from a CSV (Shift_JIS or UTF-8) or JSON export.

    Parameters
    ----------
    path, url, format, encoding, crs : see :class:`ingest.sources.files.FileSource`.
    """

    kind = "roster"
    layer = "roster"
    poll_seconds = 3600.0
    required_columns = (("整理番号", ID), ("氏名", NAME))
    area_check = True

    def normalize_record(self, record: dict) -> dict:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        resident_id = text_or_none(first_of(record, ID), 100)
        if not resident_id:
            raise RowError("整理番号", "空欄です（整理番号が必要です）", "missing resident id")
        name = text_or_none(first_of(record, NAME), 200)
        if not name:
            raise RowError("氏名", "空欄です（氏名が必要です）", "missing name")
        care = [text_or_none(record.get(c), 300) for c in CARE]
        care_needs = " / ".join(c for c in care if c) or None
        address = text_or_none(first_of(record, ADDRESS), 300)
        row = {
            "resident_id": resident_id,
            "name": name,
            "kana": text_or_none(first_of(record, KANA), 200),
            "address": address,
            "phone": text_or_none(first_of(record, PHONE), 40),
            "chat_user_id": text_or_none(first_of(record, CHAT), 100),
            "care_needs": care_needs,
            "care_priority": care_priority(care_needs),
            "supporter": text_or_none(first_of(record, SUPPORTER), 200),
            "town_code": text_or_none(record.get("town_code")),
        }
        point = self.point_of(record)
        if point is not None:
            row["geometry"], row["located_by"] = point, "file"
            gaz = self.context.gazetteer
            if gaz is not None and row["town_code"] is None:
                row["town_code"] = gaz.town_at(point)
            return row
        return self._geocode(row, address)

    def _geocode(self, row: dict, address: str | None) -> dict:
        row["geometry"], row["located_by"] = None, "none"
        gaz = self.context.gazetteer
        if gaz is None or not address:
            return row
        result = gaz.geocode(address)
        if result.point is None or result.method not in ("address", "town"):
            return row
        row["geometry"] = result.point
        row["located_by"] = "address" if result.method == "address" else "town"
        row["town_code"] = row["town_code"] or result.town_code
        return row
