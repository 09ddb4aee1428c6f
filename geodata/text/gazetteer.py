"""Place names of a municipality and how to find them fast in post text.

The geometry side lives in :mod:`geodata.text.geocode`; this module only deals with text:

- :func:`normalize_batch` normalizes many texts at once (HTML entities, NFKC, dashes, lower case)
  and joins them with NUL separators so one regex scan covers a whole batch;
- :func:`trie_regex` turns a word list into one regex shaped like a trie, so the regex engine
  follows one branch per character instead of trying every word at every position;
- the name variants real posts use: 町 omitted (国領3丁目), ヶ/ケ/が, の/ノ/之, school nicknames
  (第二小学校, 第2小学校, 二小), romaji for English posts;
- small hand-made tables: landmarks of 調布市 (approximate public coordinates), the names of other
  municipalities and neighbouring towns that must never map into the city.

Over ~400 lines on purpose: the spelling variants and the hand-made tables are data that
the rules next to them read; apart they would be edited out of step.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

SEPARATOR = "\x00"

# Characters whose NFKC form is not a one-to-one code point shift: half-width katakana (ｶﾞ),
# enclosed and circled numbers (①), CJK compatibility squares (㎜), Roman numerals.
_RARE = re.compile("[\uff61-\uff9f\u2460-\u24ff\u3200-\u33ff\u2150-\u218f]+")

# Spelling variants folded to one canonical character in dictionary keys; the trie regex
# matches every variant of a canonical character.
CANONICAL = str.maketrans({"ケ": "ヶ", "ヵ": "ヶ", "が": "ヶ", "ガ": "ヶ", "の": "ノ", "之": "ノ"})
VARIANTS = {"ヶ": "ヶケヵがガ", "ノ": "ノの之"}

KANJI_DIGITS = "〇一二三四五六七八九"


def normalize_text(text: str | None) -> str:
    """Normalize one text the way the gazetteer and the classifier see it.

    HTML entities are decoded, full-width ASCII becomes ASCII (３ -> 3, Ａ -> a, ！ -> !),
    half-width katakana and enclosed numbers get their NFKC form, every dash becomes ``-`` and
    Latin letters are lower-cased. See :func:`normalize_batch`.

    Examples
    --------
    >>> normalize_text("国領町３－８ &amp; Chofu")
    '国領町3-8 & chofu'
    """
    if not text or not isinstance(text, str):
        return ""
    return normalize_batch([text])[0]


def _nfkc(match: re.Match) -> str:
    return unicodedata.normalize("NFKC", match.group())


_URL_MENTION = re.compile(r"https?://[^\s\x00]+|@[A-Za-z0-9_.]+")


def normalize_batch(texts: Sequence, strip_urls: bool = False) -> tuple[str, np.ndarray]:
    """Normalize ``texts`` and join them into one string separated by NUL characters.

    The folding is done on the code points with numpy (about 20x faster than NFKC on the
    whole batch); only the rare characters whose NFKC form is more than a code point shift go
    through ``unicodedata``.

    Parameters
    ----------
    texts : sequence of str (None and NaN count as empty).
    strip_urls : replace URLs and @mentions by a space (their ``?`` is not a question).

    Returns
    -------
    (joined, starts) : the normalized joined text and the start offset of each text in it; a
        match starting at offset ``p`` belongs to text ``np.searchsorted(starts, p, 'right') - 1``.
    """
    clean = [
        (html.unescape(t) if "&" in t else t) if isinstance(t, str) else "" for t in texts
    ]  # &#0; becomes U+FFFD, never a separator
    joined = SEPARATOR.join(clean)
    if joined.count(SEPARATOR) != max(len(clean) - 1, 0):
        joined = SEPARATOR.join(t.replace(SEPARATOR, " ") for t in clean)
    if strip_urls and ("http" in joined or "@" in joined):
        joined = _URL_MENTION.sub(" ", joined)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
    rare = (codes >= 0x2150) & (codes <= 0x24FF) | (codes >= 0x3200) & (codes <= 0x33FF)
    if (rare | (codes >= 0xFF61) & (codes <= 0xFF9F)).any():
        joined = _RARE.sub(_nfkc, joined)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4")
    codes = codes.copy()
    codes[(codes >= 0xFF01) & (codes <= 0xFF5E)] -= 0xFEE0  # full-width ASCII
    codes[codes == 0x3000] = 0x20  # ideographic space
    dash = (codes >= 0x2010) & (codes <= 0x2015) | (codes == 0x2212) | (codes == 0xFE63)
    codes[dash] = 0x2D
    codes[(codes == 0x2019) | (codes == 0x2018)] = 0x27  # curly apostrophes: can’t
    codes[(codes >= 0x41) & (codes <= 0x5A)] += 0x20  # A-Z
    starts = np.concatenate(([0], np.flatnonzero(codes == 0) + 1))
    return codes.tobytes().decode("utf-32-le"), starts


def canonical(word: str) -> str:
    """The dictionary key of a normalized word: ヶ/ケ/が and の/ノ/之 folded."""
    return word.translate(CANONICAL)


def trie_regex(words: Iterable[str]) -> str:
    """A regex alternation of ``words`` shaped like a trie; matches the longest word.

    Words are canonical keys (see :func:`canonical`); a canonical ヶ or ノ matches all of its
    spelling variants.

    Examples
    --------
    >>> trie_regex(["国領", "国領町", "国領駅"])
    '国領(?:町|駅)?'
    """
    trie: dict = {}
    for word in words:
        if not word:
            continue
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True
    return _emit(trie)


def _emit(node: dict) -> str:
    branches = []
    for char in sorted(k for k in node if k):
        sub = _emit(node[char])
        if char in VARIANTS:
            head = "[" + "".join(re.escape(c) for c in VARIANTS[char]) + "]"
        else:
            head = re.escape(char)
        branches.append(head + sub)
    if not branches:
        return ""
    optional = "" in node
    if len(branches) == 1 and not optional:
        return branches[0]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if optional:
        return body + "?" if body.startswith("(?:") and len(branches) > 1 else f"(?:{body})?"
    return body


def kanji_number(text: str) -> int | None:
    """Parse a small kanji numeral (一 .. 十九) or Arabic digits; None when it is neither.

    Examples
    --------
    >>> kanji_number("三"), kanji_number("十二"), kanji_number("4")
    (3, 12, 4)
    """
    if text.isdigit():
        return int(text)
    if not text or any(c not in KANJI_DIGITS + "十" for c in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (KANJI_DIGITS.index(tens) if tens else 1) * 10 + (
            KANJI_DIGITS.index(ones) if ones else 0
        )
    return int("".join(str(KANJI_DIGITS.index(c)) for c in text))


_CHOME = re.compile(r"^(.+?)([〇一二三四五六七八九十]+)丁目$")


def split_chome(name: str) -> tuple[str, int | None]:
    """Split an S_NAME into the town and its 丁目 number.

    Examples
    --------
    >>> split_chome("国領町三丁目"), split_chome("西町")
    (('国領町', 3), ('西町', None))
    """
    match = _CHOME.match(name)
    if not match:
        return name, None
    return match.group(1), kanji_number(match.group(2))


# Suffixes that mark a sub-division of an old village: 深大寺元町, 深大寺北町 ... share 深大寺.
_FAMILY_SUFFIX = re.compile(r"^(.{2,})(?:元町|本町|東町|西町|南町|北町|中町|新町)$")
_FAMILY_PREFIX = re.compile(r"^(?:東|西|南|北|上|下)(.{2,})$")


def town_variants(base: str) -> list[tuple[str, str]]:
    """Spellings of a town (without 丁目) found in posts, each with how it relates to ``base``.

    Returns pairs ``(variant, relation)``: ``"full"`` (the name itself), ``"short"`` (町
    omitted: 国領町 -> 国領) or ``"family"`` (a shared stem of several towns: 東つつじヶ丘 ->
    つつじヶ丘, 深大寺元町 -> 深大寺, 上石原 -> 石原).

    Examples
    --------
    >>> town_variants("国領町")
    [('国領町', 'full'), ('国領', 'short')]
    """
    out = [(base, "full")]
    if base.endswith("町") and len(base) >= 3:
        out.append((base[:-1], "short"))
    for pattern in (_FAMILY_SUFFIX, _FAMILY_PREFIX):
        match = pattern.match(base)
        if match:
            out.append((match.group(1), "family"))
    return out


_SCHOOL = re.compile(r"^(?P<stem>.*?)(?P<kind>小学校|中学校|高等学校|高校)$")
_NUMBERED = re.compile(r"^第(?P<n>[一二三四五六七八九十]+)$")
_ORG_PREFIXES = (
    "東京都立",
    "調布市立",
    "都立",
    "市立",
    "民間協定施設",
    "公益財団法人",
    "社会福祉法人",
)
_FACILITY_END = re.compile(r"(学校|高校|センター|施設|公園|広場|グラウンド|ホーム|園)$")


def shelter_aliases(name: str, city_name: str = "") -> list[tuple[str, bool]]:
    """Names a post may use for a shelter, each with whether it is a short nickname.

    Short nicknames (二小, 六中) only count when not glued to a preceding kanji.

    Examples
    --------
    >>> [a for a, _ in shelter_aliases("第二小学校")][:5]
    ['第二小学校', '第二小', '第2小学校', '第2小', '二小']
    """
    norm = normalize_text(name)
    stripped = re.sub(r"\(.*?\)|（.*?）", "", norm).strip()
    names = [norm, stripped]
    for prefix in _ORG_PREFIXES:
        if stripped.startswith(prefix):
            names.append(stripped[len(prefix) :])
    for candidate in list(names):
        if candidate.endswith("周辺"):
            names.append(candidate[: -len("周辺")])
    for candidate in list(names):
        parts = re.split(r"・|及び", candidate)
        if len(parts) > 1:
            names.extend(p for p in parts if len(p) >= 3 and _FACILITY_END.search(p))
    out: list[tuple[str, bool]] = []
    for candidate in names:
        out.append((candidate, False))
        out.extend(_school_nicknames(candidate, city_name))
    seen: set[str] = set()
    unique = []
    for alias, short in out:
        if alias and alias not in seen:
            seen.add(alias)
            unique.append((alias, short))
    return unique


def _school_nicknames(name: str, city_name: str) -> list[tuple[str, bool]]:
    match = _SCHOOL.match(name)
    if not match:
        return []
    stem, kind = match.group("stem"), match.group("kind")
    abbrev = {"小学校": "小", "中学校": "中", "高等学校": "高", "高校": "高"}[kind]
    numbered = _NUMBERED.match(stem)
    out: list[tuple[str, bool]] = []
    if numbered:
        number = numbered.group("n")
        digit = str(kanji_number(number))
        out += [(f"第{number}{abbrev}", False), (f"第{digit}{kind}", False)]
        out += [(f"第{digit}{abbrev}", False), (f"{number}{abbrev}", True)]
        return out
    city_stem = city_name.removesuffix("市")
    if len(stem) >= 2 and stem != city_stem:
        out.append((stem + abbrev, False))
        if kind == "高等学校":
            out.append((stem + "高校", False))
    return out


@dataclass(frozen=True)
class Landmark:
    """A named place that is not a town or a shelter.

    Parameters
    ----------
    name : the canonical Japanese name.
    aliases : other spellings (Japanese nicknames, romaji), lower-case.
    lon, lat : an approximate public position (±100 m), EPSG:4326.
    kind : station, river, bridge, facility, temple, park, area.
    town : the 町丁目 (S_NAME) of its published address, or None when it spans several towns
        (rivers, areas named after a station) - then it gives a point but no town.
    confidence : how well the name pins a place: a station 0.7, a river 0.3.
    """

    name: str
    aliases: tuple[str, ...]
    lon: float
    lat: float
    kind: str
    town: str | None
    confidence: float


# 調布市 landmarks. Coordinates are approximate public facts (station and facility positions as
# shown on GSI maps, rounded to 1e-4 degrees and nudged inside the 町丁目 of the published
# address); rivers and areas are one point in the city, with no town. A station or temple
# name used alone as a neighbourhood (西調布, 京王多摩川, 深大寺, つつじヶ丘) is an area: the
# station's point, no town - it covers several 丁目.
# fmt: off
LANDMARKS: dict[str, tuple[Landmark, ...]] = {
    "13208": (
        Landmark("調布駅", ("chofu station", "chofu sta"), 139.5440, 35.6518, "station", "布田四丁目", 0.7),
        Landmark("国領駅", ("kokuryo station", "kokuryo sta"), 139.5585, 35.6500, "station", "国領町三丁目", 0.7),
        Landmark("布田駅", ("fuda station", "fuda sta"), 139.5515, 35.6499, "station", "国領町五丁目", 0.7),
        Landmark("西調布駅", ("nishi-chofu station", "nishichofu station"), 139.5299, 35.6575, "station", "上石原一丁目", 0.7),
        Landmark("西調布", ("nishi-chofu", "nishichofu", "nishi chofu"), 139.5299, 35.6575, "area", None, 0.4),
        Landmark("飛田給駅", ("tobitakyu station", "tobitakyu sta"), 139.5236, 35.6601, "station", "飛田給一丁目", 0.7),
        Landmark("柴崎駅", ("shibasaki station", "shibasaki sta"), 139.5666, 35.6539, "station", "菊野台二丁目", 0.7),
        Landmark("つつじヶ丘駅", ("tsutsujigaoka station", "tsutsujigaoka sta"), 139.5749, 35.6585, "station", "西つつじケ丘三丁目", 0.7),
        Landmark("つつじヶ丘", ("tsutsujigaoka",), 139.5749, 35.6585, "area", None, 0.4),
        Landmark("仙川駅", ("sengawa station", "sengawa sta"), 139.5849, 35.6624, "station", "仙川町一丁目", 0.7),
        Landmark("京王多摩川駅", ("keio-tamagawa station", "keio tamagawa station"), 139.5369, 35.6450, "station", "多摩川四丁目", 0.7),
        Landmark("京王多摩川", ("keio-tamagawa", "keio tamagawa", "keiotamagawa"), 139.5369, 35.6450, "area", None, 0.4),
        Landmark("京王閣", ("keiokaku",), 139.5357, 35.6459, "facility", "多摩川四丁目", 0.7),
        Landmark("味の素スタジアム", ("味スタ", "東京スタジアム", "ajinomoto stadium", "tokyo stadium"), 139.5271, 35.6641, "facility", "西町", 0.7),
        Landmark("調布飛行場", ("chofu airport", "chofu airfield"), 139.5280, 35.6714, "facility", "西町", 0.6),
        Landmark("深大寺境内", ("深大寺の境内", "深大寺山門", "深大寺本堂", "jindaiji temple"), 139.5482, 35.6703, "temple", "深大寺元町五丁目", 0.7),
        Landmark("深大寺", ("jindaiji", "jindai-ji"), 139.5482, 35.6703, "area", None, 0.4),
        Landmark("神代植物公園", ("神代植物園", "jindai botanical garden", "jindai botanical gardens", "jindai botanical park"), 139.5486, 35.6714, "park", "深大寺元町五丁目", 0.65),
        Landmark("電気通信大学", ("電通大", "university of electro-communications", "uec tokyo"), 139.5440, 35.6570, "facility", "調布ケ丘一丁目", 0.7),
        Landmark("調布市役所", ("市役所", "chofu city hall"), 139.5412, 35.6506, "facility", "小島町二丁目", 0.7),
        Landmark("多摩川原橋", ("tamagawara bridge", "tamagawara-bashi"), 139.5330, 35.6408, "bridge", None, 0.5),
        Landmark("多摩川", ("tama river", "tamagawa river", "tama-gawa", "tamagawa"), 139.5380, 35.6412, "river", None, 0.3),
        Landmark("野川", ("nogawa", "nogawa river", "noga river"), 139.5600, 35.6590, "river", None, 0.3),
    ),
}
# fmt: on

# Town names in romaji for English posts (base name -> spellings, lower-case).
TOWN_ROMAJI: dict[str, dict[str, tuple[str, ...]]] = {
    "13208": {
        "飛田給": ("tobitakyu",),
        "上石原": ("kamiishiwara", "kami-ishiwara"),
        "富士見町": ("fujimicho", "fujimi-cho", "fujimi cho"),
        "下石原": ("shimoishiwara", "shimo-ishiwara"),
        "小島町": ("kojimacho", "kojima-cho", "kojima cho"),
        "布田": ("fuda",),
        "下布田": ("shimofuda", "shimo-fuda"),
        "国領町": ("kokuryocho", "kokuryo-cho", "kokuryo cho", "kokuryo"),
        "染地": ("someji",),
        "多摩川": ("tamagawa",),
        "佐須町": ("sazucho", "sazu-cho", "sazu cho", "sazu"),
        "柴崎": ("shibasaki",),
        "菊野台": ("kikunodai",),
        "東つつじヶ丘": ("higashi-tsutsujigaoka", "higashitsutsujigaoka", "higashi tsutsujigaoka"),
        "西つつじヶ丘": ("nishi-tsutsujigaoka", "nishitsutsujigaoka", "nishi tsutsujigaoka"),
        "入間町": ("irumacho", "iruma-cho", "iruma cho"),
        "仙川町": ("sengawacho", "sengawa-cho", "sengawa cho", "sengawa"),
        "緑ヶ丘": ("midorigaoka",),
        "野水": ("nomizu",),
        "西町": ("nishimachi",),
        "若葉町": ("wakabacho", "wakaba-cho", "wakaba cho"),
        "調布ヶ丘": ("chofugaoka",),
        "深大寺元町": ("jindaiji-motomachi", "jindaiji motomachi", "jindaijimotomachi"),
        "深大寺北町": ("jindaiji-kitamachi", "jindaiji kitamachi", "jindaijikitamachi"),
        "深大寺東町": ("jindaiji-higashimachi", "jindaiji higashimachi", "jindaijihigashimachi"),
        "深大寺南町": ("jindaiji-minamimachi", "jindaiji minamimachi", "jindaijiminamimachi"),
        "八雲台": ("yakumodai",),
    }
}

# Shortened forms (町 omitted) that also stand alone as the town, as locals write them:
# 「国領で冠水」「佐須の田んぼ」「仙川の商店街」. Others (富士見, 小島, 入間, 若葉) are ordinary
# words or surnames and only count with a 丁目 number.
BARE_SHORT: dict[str, tuple[str, ...]] = {"13208": ("国領", "佐須", "仙川")}

# Municipalities (with 市/区) whose towns must never map into the city: the 23 wards, Tama,
# and the neighbouring prefectures' big cities. A post naming one is read up to the next
# particle or punctuation and ignored (府中市若松町 is not 調布市若葉町).
OTHER_MUNICIPALITIES = (
    "千代田区 中央区 港区 新宿区 文京区 台東区 墨田区 江東区 品川区 目黒区 大田区 世田谷区 "
    "渋谷区 中野区 杉並区 豊島区 北区 荒川区 板橋区 練馬区 足立区 葛飾区 江戸川区 "
    "八王子市 立川市 武蔵野市 三鷹市 青梅市 府中市 昭島市 調布市 町田市 小金井市 小平市 日野市 "
    "東村山市 国分寺市 国立市 福生市 狛江市 東大和市 清瀬市 東久留米市 武蔵村山市 多摩市 稲城市 "
    "羽村市 あきる野市 西東京市 川崎市 横浜市 相模原市 所沢市 入間市 さいたま市 川口市 千葉市 "
    "多摩区 麻生区 宮前区 高津区 中原区"
).split()

# Towns of neighbouring cities that contain a name of the city (狛江市西野川 holds 野川,
# 立川市柴崎町 holds 柴崎) or that posts name without their city.
NEIGHBOUR_PLACES: dict[str, tuple[str, ...]] = {
    "13208": ("西野川", "東野川", "野川公園", "柴崎町", "多磨町", "多磨駅", "若葉台", "新川"),
}

# Characters that continue a place name after another municipality (府中市白糸台3-1).
PLACE_RUN = r"[一-鿿々〆ヵヶケァ-ヺー0-9\-]+"

# Chome / address tail after a town name (text already normalized: digits ASCII, dashes "-").
TAIL = r"""
\s?(?:
    (?P<ck>[一二三四五六七八九])丁目(?P<b1>\s?\d+(?:(?:番地?|号|[-の])\d*)*)?
  | (?P<cd>[1-9])(?:
        丁目(?P<b2>\s?\d+(?:(?:番地?|号|[-の])\d*)*)?
      | (?P<b3>(?:[-の]\d+)+(?:番地?|号)?)
      | \s?-?\s?chome
      | (?![0-9a-z.,:時分秒日月年回人件名台本度%/])
    )
)
"""

HONORIFICS = ("さん", "様", "さま", "君", "くん", "ちゃん", "氏", "先生")
