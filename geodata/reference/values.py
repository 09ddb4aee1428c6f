"""Values as municipalities publish them: yes/no flags, capacities, addresses, coordinates.

Hazard columns map to english keys (:data:`HAZARDS`); a missing capacity is estimated from the
facility type in the name with the table :data:`CAPACITY_ESTIMATES`; addresses reduce to a key
that survives full-width digits, 丁目/番地/号 and a missing 都道府県+市区町村 prefix; and
plane-rectangular coordinates get their zone and axis order detected.
"""

from __future__ import annotations

import re
import unicodedata

import pyproj
import shapely

from geodata.reference.codes import PLANE_EPSG_CODES, PREFECTURE_PLANE_EPSG
from geodata.shelters import is_welfare

HAZARDS = ("flood", "landslide", "storm_surge", "earthquake", "tsunami", "large_fire",
           "inland_flood", "volcano")  # fmt: skip
HAZARD_COLUMNS = {
    "洪水": "flood",
    "崖崩れ、土石流及び地滑り": "landslide",
    "がけ崩れ、土石流及び地滑り": "landslide",
    "土砂災害": "landslide",
    "高潮": "storm_surge",
    "地震": "earthquake",
    "津波": "tsunami",
    "大規模な火事": "large_fire",
    "大規模な火災": "large_fire",
    "内水氾濫": "inland_flood",
    "火山現象": "volcano",
}
_TRUE_FLAGS = {"1", "1.0", "○", "〇", "◯", "●", "◎", "有", "可", "true", "yes", "y", "t"}

# (keywords in the facility name, persons, what it stands for). First match wins; a shelter for
# 要配慮者/乳幼児 without a matching name gets the welfare row. Rough figures from typical floor
# areas at 2-3 m² per person; the point is an order of magnitude for the HQ, not a plan.
CAPACITY_ESTIMATES: tuple[tuple[tuple[str, ...], int, str], ...] = (
    (("地域福祉センター",), 100, "community welfare centre (meeting rooms)"),
    (("老人ホーム", "特別養護", "介護", "福祉", "障害", "支援", "作業所", "ケア", "保育",
      "幼稚園", "こども園", "発達"), 30, "welfare facility / nursery (要配慮者, small)"),
    (("公園", "河川敷", "グラウンド", "グランド", "広場", "運動場", "緑地", "霊園", "周辺",
      "一帯", "跡地"), 5000, "open-air site (park, riverbed, ground, area around facilities)"),
    (("大学",), 1000, "university (gyms and halls)"),
    (("高校", "高等学校"), 700, "high school (gym and classrooms)"),
    (("中学校",), 600, "junior high school (gym and classrooms)"),
    (("小学校", "学校", "学園"), 500, "elementary or other school (gym and classrooms)"),
    (("体育館", "スポーツ", "武道館"), 400, "sports hall"),
    (("研修センター", "研修所"), 300, "training centre"),
    (("公民館", "センター", "会館", "プラザ", "ホール", "図書館", "コミュニティ"), 100,
     "community centre / hall (公民館, 地域センター)"),
    (("集会所", "憩の家", "憩いの家"), 50, "small meeting house"),
)  # fmt: skip
WELFARE_CAPACITY = 30
DEFAULT_CAPACITY = 100


def parse_flag(value) -> bool:
    """Read a published yes/no flag: ``1``, ``1.0``, ``○``, ``〇``, ``有`` ... are yes.

    Examples
    --------
    >>> parse_flag("1.0"), parse_flag("○"), parse_flag(""), parse_flag(None)
    (True, True, False, False)
    """
    if value is None:
        return False
    return unicodedata.normalize("NFKC", str(value)).strip().lower() in _TRUE_FLAGS


def parse_capacity(text) -> int | None:
    """The capacity in persons from a published value; the indoor figure when both are given.

    A negative number is an error (ValueError), not a capacity: ``-30`` read as 30 would be a
    published figure nobody published.

    Examples
    --------
    >>> parse_capacity("屋内480人／屋外3,350人"), parse_capacity("１，２００"), parse_capacity("-")
    (480, 1200, None)
    """
    if text is None:
        return None
    s = unicodedata.normalize("NFKC", str(text)).replace(",", "").replace("，", "")
    if re.match(r"\s*[-−]\s*\d", s):
        raise ValueError(f"想定収容人数「{text}」は負の数です（0 以上の人数を書いてください）")
    indoor = re.search(r"屋内[^\d]*(\d+(?:\.\d+)?)", s)
    match = indoor or re.search(r"\d+(?:\.\d+)?", s)
    if not match:
        return None
    number = float(match.group(1) if indoor else match.group(0))
    return int(number) if number > 0 else None


def estimate_capacity(name: str | None, target: str | None = None) -> int:
    """A rough capacity from the facility type in its name (see :data:`CAPACITY_ESTIMATES`).

    Examples
    --------
    >>> estimate_capacity("調布市立第二小学校"), estimate_capacity("多摩川河川敷（第１区）周辺")
    (500, 5000)
    """
    text = unicodedata.normalize("NFKC", name or "")
    for keywords, persons, _ in CAPACITY_ESTIMATES:
        if any(k in text for k in keywords):
            return persons
    if is_welfare({"target": target}):
        return WELFARE_CAPACITY
    return DEFAULT_CAPACITY


_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def _kanji_number(text: str) -> str:
    if "十" not in text:
        return "".join(str(_KANJI_DIGITS[c]) for c in text)
    tens, _, ones = text.partition("十")
    return str(
        (_KANJI_DIGITS.get(tens, 1) if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    )


def normalize_address(text: str | None, prefixes: tuple[str, ...] = ()) -> str | None:
    """An address key: width folded, prefecture/city prefix dropped, 丁目/番地/号 as hyphens.

    Examples
    --------
    >>> normalize_address("東京都調布市菊野台三丁目２７番４０号", ("東京都調布市",))
    '菊野台3-27-40'
    >>> normalize_address("調布市緑ヶ丘2-16-1", ("調布市",)) == normalize_address("緑ケ丘２－１６－１")
    True
    """
    if not text:
        return None
    s = "".join(unicodedata.normalize("NFKC", text).split())
    for prefix in sorted(prefixes, key=len, reverse=True):
        if prefix and s.startswith(prefix):
            s = s[len(prefix) :]
            break
    s = re.sub(r"^(東京都|北海道|京都府|大阪府|[^都道府県]{2,3}県)", "", s)
    s = re.sub(r"^大字|(?<=[^\d])字(?=[^\d])", "", s)
    s = re.sub(r"(?<=\d)[‐‑‒–—―−ーｰ](?=\d)", "-", s)
    s = re.sub(r"[〇一二三四五六七八九十]+(?=丁目|番|号)", lambda m: _kanji_number(m.group()), s)
    s = re.sub(r"(?<=\d)(丁目|番地|番|の)(?=\d)", "-", s)
    s = re.sub(r"(?<=\d)(丁目|番地|番|号)$", "", s)
    s = re.sub(r"(?<=[\u4e00-\u9fff])[ヶヵがガ](?=[\u4e00-\u9fff])", "ケ", s)
    return s.strip("-") or None


def parse_number(value) -> float | None:
    """A number from published text (full-width digits, thousands commas); None when empty."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if not text:
        return None
    return float(text)  # ValueError for text that is not a number


def is_lonlat(lat: float, lon: float) -> bool:
    """Whether (lat, lon) is inside the lon/lat range."""
    return -90 <= lat <= 90 and -180 <= lon <= 180


def plane_transform(
    pairs: list[tuple[float, float]], crs, municipality: str | None, boundary
) -> tuple[pyproj.Transformer | None, bool]:
    """Choose the zone and axis order of plane-rectangular (northing, easting) pairs.

    Returns (transformer to lon/lat or None, swapped). With a boundary, the zone and axis order
    that put most points inside its box win; otherwise the declared CRS or the prefecture's zone.
    """
    if crs is not None:
        zones = [pyproj.CRS.from_user_input(crs)]
    elif municipality:
        default = PREFECTURE_PLANE_EPSG.get(municipality[:2])
        zones = [pyproj.CRS.from_epsg(c) for c in ([default] if default else [])]
        if boundary is not None:
            zones += [pyproj.CRS.from_epsg(c) for c in PLANE_EPSG_CODES if c != default]
    else:
        return None, False
    if not zones:
        return None, False
    if boundary is None:
        return pyproj.Transformer.from_crs(zones[0], 4326, always_xy=True), False
    minx, miny, maxx, maxy = (
        b + d for b, d in zip(boundary.bounds, (-0.02, -0.02, 0.02, 0.02), strict=True)
    )
    best = (0, None, False)
    for zone in zones:
        transformer = pyproj.Transformer.from_crs(zone, 4326, always_xy=True)
        for swapped in (False, True):
            xs = [p[0] if swapped else p[1] for p in pairs]
            ys = [p[1] if swapped else p[0] for p in pairs]
            lon, lat = transformer.transform(xs, ys)
            inside = sum(
                minx <= x <= maxx and miny <= y <= maxy for x, y in zip(lon, lat, strict=True)
            )
            if inside > best[0]:
                best = (inside, transformer, swapped)
    if best[1] is None and crs is not None:
        return pyproj.Transformer.from_crs(zones[0], 4326, always_xy=True), False
    return best[1], best[2]


def to_lonlat_points(
    values: list[tuple[float, float, bool]], point_crs, crs, municipality, boundary
) -> list[shapely.Point | None]:
    """Points in EPSG:4326 from (lat or northing, lon or easting, X/Y-named) values.

    Values in the lon/lat range are read as such (swapped columns too); the others are
    plane-rectangular, their zone and axis order chosen by :func:`plane_transform`. None for a
    value whose zone cannot be told.
    """
    plane = [
        (b, a) if s else (a, b) for a, b, s in values if not (is_lonlat(a, b) or is_lonlat(b, a))
    ]
    transformer, swapped = (
        plane_transform(plane, crs, municipality, boundary) if plane else (None, False)
    )
    to_4326 = None
    if point_crs is not None and not point_crs.equals(pyproj.CRS.from_epsg(4326)):
        to_4326 = pyproj.Transformer.from_crs(point_crs, 4326, always_xy=True)
    points = []
    for a, b, survey in values:
        if to_4326 is not None:
            points.append(shapely.Point(to_4326.transform(b, a)))
        elif is_lonlat(a, b) and (point_crs is not None or abs(a) <= abs(b)):
            points.append(shapely.Point(b, a))
        elif is_lonlat(b, a):  # latitude and longitude columns swapped
            points.append(shapely.Point(a, b))
        elif transformer is None:
            points.append(None)
        else:
            north, east = (b, a) if survey != swapped else (a, b)
            points.append(shapely.Point(transformer.transform(east, north)))
    return points
