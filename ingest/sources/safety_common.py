"""安否確認 replies: reading a status from a reply, and matching the sender to the roster.

Status rules (text NFKC-normalized; the first rule that matches wins):

1. a bare menu number: ``1`` 無事, ``2`` 負傷, ``3`` 要救助 (also ``①``, ``1.``);
2. 要救助: 助けて, たすけて, 救助, 動けない/動けません, 取り残され, 閉じ込め, 逃げられない, SOS,
   rescue, help;
3. 負傷: けが, 怪我, ケガ, 負傷, 骨折, 出血, 痛め, 痛い, injured, hurt;
4. 無事: 無事, 大丈夫, 元気, 避難しました, 避難済, 避難して, 避難所に, 移動しました, safe, ok;
5. else 不明.

A term followed closely by a negation (ない, ありません, なし, 不要) does not count:
「怪我はありません」 is not 負傷 (and reads as 無事), 「救助は不要」 is not 要救助.

Roster matching, in order: resident id given by the form, chat user id, phone number (digits,
+81 folded to 0), then name + home address (both normalized). An unmatched reply is kept with
``resident_id`` null and listed in the source's notes.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from geodata.reference.values import normalize_address

MENU = {"1": "無事", "2": "負傷", "3": "要救助"}
RESCUE = ("助けて", "たすけて", "救助", "救出", "動けない", "うごけない", "動けません", "取り残され",
          "閉じ込め", "逃げられない", "にげられない", "sos", "rescue", "help")  # fmt: skip
INJURED = (
    "けが",
    "怪我",
    "ケガ",
    "負傷",
    "骨折",
    "出血",
    "痛め",
    "痛い",
    "いたい",
    "injured",
    "hurt",
)
SAFE = ("無事", "ぶじ", "大丈夫", "だいじょうぶ", "元気", "避難しました", "避難済", "避難して",
        "避難所に", "移動しました", "safe", "ok", "i'm fine", "im fine")  # fmt: skip
NEGATION = re.compile(
    r"^.{0,4}?(ない|無い|ありません|なし|無し|不要|いらない|じゃない|ではない|not)"
)
STATUS_WORDS = {
    "無事": "無事", "安全": "無事", "safe": "無事", "負傷": "負傷", "けが": "負傷",
    "injured": "負傷", "要救助": "要救助", "救助": "要救助", "rescue": "要救助",
    "不明": "不明", "unknown": "不明", "不在": "不明", "応答なし": "不明",
}  # fmt: skip


def _pattern(term: str) -> re.Pattern:
    # English words only as whole words ("ok" is not in "tokyo"); Japanese has no spaces.
    return re.compile(rf"\b{re.escape(term)}\b" if term.isascii() else re.escape(term))


_PATTERNS = {t: _pattern(t) for t in RESCUE + INJURED + SAFE}


def _hit(text: str, terms) -> tuple[bool, bool]:
    """(a term occurs, a term occurs negated)."""
    found = negated = False
    for term in terms:
        for m in _PATTERNS[term].finditer(text):
            if NEGATION.match(text[m.end() :]):
                negated = True
            else:
                found = True
    return found, negated


def parse_status(text: str | None) -> str:
    """The safety status a reply text says (see the module docstring).

    Examples
    --------
    >>> [parse_status(t) for t in ["無事です", "けがをしています", "動けない、助けて", "2", "?"]]
    ['無事', '負傷', '要救助', '負傷', '不明']
    >>> parse_status("怪我はありません")
    '無事'
    """
    if not text:
        return "不明"
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    bare = t.rstrip(".)番").lstrip("(")
    if bare in MENU:
        return MENU[bare]
    if t in STATUS_WORDS:
        return STATUS_WORDS[t]
    rescue, _ = _hit(t, RESCUE)
    if rescue:
        return "要救助"
    injured, injured_negated = _hit(t, INJURED)
    if injured:
        return "負傷"
    safe, _ = _hit(t, SAFE)
    if safe or injured_negated:
        return "無事"
    return "不明"


def is_menu_answer(text: str | None) -> bool:
    """Whether ``text`` is only a menu number (nothing to keep as needs text)."""
    if not text:
        return True
    bare = unicodedata.normalize("NFKC", str(text)).strip().rstrip(".)番").lstrip("(")
    return bare in MENU


def phone_key(value) -> str | None:
    """Digits of a phone number, +81 folded to a leading 0 (``+81 90-1234-5678`` -> ``09012345678``)."""
    if value is None:
        return None
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(value)))
    if digits.startswith("81") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if len(digits) >= 9 else None


def name_key(value) -> str | None:
    """A person's name without spaces, width-folded."""
    if value is None:
        return None
    key = "".join(unicodedata.normalize("NFKC", str(value)).split())
    return key or None


class RosterMatcher:
    """Looks up a resident of the roster (避難行動要支援者名簿) by what a reply carries.

    Parameters
    ----------
    roster : the roster layer (resident_id, name, address, phone, chat_user_id, geometry).
    """

    def __init__(self, roster: pd.DataFrame):
        self.by_id: dict[str, str] = {}
        self.by_chat: dict[str, str] = {}
        self.by_phone: dict[str, str] = {}
        self.by_name_address: dict[tuple, str] = {}
        self.home: dict[str, object] = {}
        if roster is None or not len(roster):
            return
        geoms = roster.geometry if "geometry" in roster else [None] * len(roster)
        for rec, geom in zip(roster.to_dict("records"), geoms, strict=False):
            rid = rec.get("resident_id")
            if not rid:
                continue
            self.by_id[str(rid)] = rid
            if rec.get("chat_user_id"):
                self.by_chat[str(rec["chat_user_id"]).strip()] = rid
            phone = phone_key(rec.get("phone"))
            if phone:
                self.by_phone[phone] = rid
            key = (name_key(rec.get("name")), normalize_address(rec.get("address")))
            if all(key):
                self.by_name_address[key] = rid
            if geom is not None and not getattr(geom, "is_empty", True):
                self.home[rid] = geom

    def match(
        self, *, resident_id=None, chat_user_id=None, phone=None, name=None, address=None
    ) -> tuple[str | None, str | None]:
        """(resident_id, how) for the first rule that matches, else (None, None)."""
        if resident_id is not None and str(resident_id).strip() in self.by_id:
            return self.by_id[str(resident_id).strip()], "resident_id"
        if chat_user_id and str(chat_user_id).strip() in self.by_chat:
            return self.by_chat[str(chat_user_id).strip()], "chat_user_id"
        key = phone_key(phone)
        if key and key in self.by_phone:
            return self.by_phone[key], "phone"
        pair = (name_key(name), normalize_address(address) if address else None)
        if all(pair) and pair in self.by_name_address:
            return self.by_name_address[pair], "name_address"
        return None, None


def locate(row: dict, point, matcher: RosterMatcher) -> dict:
    """Set the reply's point and ``located_by``: the sent position, else the roster home."""
    if point is not None:
        row["geometry"], row["located_by"] = point, "message_location"
    elif row.get("resident_id") in matcher.home:
        row["geometry"], row["located_by"] = matcher.home[row["resident_id"]], "roster_home"
    else:
        row["geometry"], row["located_by"] = None, "none"
    return row
