"""Safety replies from files: web-form exports and staff phone / visit results (CSV or JSON).

Columns (headers NFKC-normalized; first present wins):

=========== ===================================================================================
id          ``回答ID``, ``受付番号``, ``ID``, ``id``, ``source_id`` (else a digest of the row)
time        ``回答日時``, ``タイムスタンプ`` (Google Forms), ``受付日時``, ``日時``, ``replied_at``
resident    ``対象者番号``, ``名簿番号``, ``resident_id``
name        ``氏名``, ``名前``, ``お名前``, ``name``
phone       ``電話番号``, ``電話``, ``phone``
address     ``住所``, ``address``
status      ``安否``, ``状況``, ``状態``, ``status``, ``結果`` (read with the reply-text rules)
needs       ``要望``, ``必要なもの``, ``困りごと``, ``メッセージ``, ``備考``, ``needs``
channel     ``経路``, ``手段``, ``channel`` (電話 -> phone, 訪問 -> visit, else the configured one)
position    ``緯度``/``経度``, ``lat``/``lon``
=========== ===================================================================================

Shift_JIS (cp932) and UTF-8 with or without BOM are read alike.
"""

from __future__ import annotations

from geodata.text.fingerprints import digest
from ingest.base import first_of, rows_to_frame, text_or_none
from ingest.reasons import RowError
from ingest.sources.files import FileSource
from ingest.sources.safety_common import RosterMatcher, locate, parse_status

ID = ("回答ID", "受付番号", "ID", "id", "source_id", "回答番号")
TIME = ("回答日時", "タイムスタンプ", "受付日時", "確認日時", "日時", "replied_at", "timestamp")
RESIDENT = ("対象者番号", "名簿番号", "resident_id", "要支援者番号")
NAME = ("氏名", "名前", "お名前", "name")
PHONE = ("電話番号", "電話", "phone", "連絡先")
ADDRESS = ("住所", "address", "ご住所")
STATUS = ("安否", "状況", "状態", "status", "結果", "安否状況")
NEEDS = ("要望", "必要なもの", "困りごと", "メッセージ", "備考", "needs", "needs_text", "内容")
CHANNEL = ("経路", "手段", "channel", "確認方法")
CHANNELS = {"電話": "phone", "phone": "phone", "訪問": "visit", "visit": "visit",
            "web": "web_form", "ウェブ": "web_form", "フォーム": "web_form", "line": "line"}  # fmt: skip


class SafetyCsvSource(FileSource):
    """Safety replies from a web-form export or a staff call/visit sheet.

    Parameters
    ----------
    path, url, format, encoding : see :class:`ingest.sources.files.FileSource`.
    channel : the channel of rows that do not name one (``web_form``, ``phone``, ``visit``).
    """

    kind = "safety"
    layer = "safety_replies"
    required_columns = (("回答日時", TIME),)

    def __init__(self, name: str, *, channel: str = "web_form", **kwargs):
        super().__init__(name, **kwargs)
        self.channel = channel

    def normalize_record(self, record: dict) -> dict:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        status_text = text_or_none(first_of(record, STATUS), 500)
        needs = text_or_none(first_of(record, NEEDS), 2000)
        status = parse_status(status_text) if status_text else parse_status(needs)
        when = first_of(record, TIME)
        replied_at, _ = self.time_of(record, TIME)
        if replied_at is None:
            raise RowError("回答日時", "空欄です（回答の日時が必要です）", "missing reply time")
        name = text_or_none(first_of(record, NAME), 200)
        phone = text_or_none(first_of(record, PHONE), 40)
        source_id = text_or_none(first_of(record, ID), 200) or digest(
            self.file_of(record), when, name, phone, status_text, needs
        )
        channel_text = (text_or_none(first_of(record, CHANNEL)) or "").lower()
        channel = next((v for k, v in CHANNELS.items() if k in channel_text), self.channel)
        return {
            "source": self.name,
            "source_id": source_id,
            "channel": channel,
            "status": status,
            "needs_text": needs if needs != status_text else None,
            "sender_id": phone,
            "replied_at": replied_at,
            "_match": {
                "resident_id": first_of(record, RESIDENT),
                "phone": phone,
                "name": name,
                "address": text_or_none(first_of(record, ADDRESS), 300),
            },
            "_point": self.point_of(record),
        }

    def finish(self, rows: list[dict], rejected):
        matcher = RosterMatcher(self.context.frame("roster"))
        unmatched, by_key = [], {}
        for row in rows:
            row["resident_id"], _ = matcher.match(**row.pop("_match"))
            if row["resident_id"] is None:
                unmatched.append(row["source_id"])
            locate(row, row.pop("_point"), matcher)
            by_key[(row["source"], row["source_id"])] = row
        self.notes["unmatched"] = sorted(set(unmatched))
        return rows_to_frame(list(by_key.values()), self.layer), rejected
