"""Municipality codes (全国地方公共団体コード) and the plane-rectangular zone of each prefecture.

A municipality has a 5-digit code (13208, 調布市) and a 6-digit form with a JIS X 0402 check
digit (132080). Spreadsheets drop leading zeros (宇都宮市 092011 -> ``92011``) and turn codes into
floats (``92011.0``); :func:`parse_code` undoes both.
"""

from __future__ import annotations

import re
import unicodedata

# JGD2011 平面直角座標系: the zone (EPSG code) covering most of each prefecture. Islands and the
# east/west of 北海道 use other zones; a CRS named by the caller always wins over this table.
PREFECTURE_PLANE_EPSG: dict[str, int] = {
    "01": 6680, "02": 6678, "03": 6678, "04": 6678, "05": 6678, "06": 6678, "07": 6677,
    "08": 6677, "09": 6677, "10": 6677, "11": 6677, "12": 6677, "13": 6677, "14": 6677,
    "15": 6676, "16": 6675, "17": 6675, "18": 6674, "19": 6676, "20": 6676, "21": 6675,
    "22": 6676, "23": 6675, "24": 6674, "25": 6674, "26": 6674, "27": 6674, "28": 6673,
    "29": 6674, "30": 6674, "31": 6673, "32": 6671, "33": 6673, "34": 6671, "35": 6671,
    "36": 6672, "37": 6672, "38": 6672, "39": 6672, "40": 6670, "41": 6670, "42": 6669,
    "43": 6670, "44": 6670, "45": 6670, "46": 6670, "47": 6683,
}  # fmt: skip

PLANE_EPSG_CODES = range(6669, 6688)  # JGD2011 / Japan Plane Rectangular CS I .. XIX


def check_digit(code5: str) -> str:
    """The JIS X 0402 check digit of a 5-digit municipality code.

    Examples
    --------
    >>> check_digit("13208"), check_digit("13104")
    ('0', '1')
    """
    if not re.fullmatch(r"\d{5}", code5):
        raise ValueError(f"not a 5-digit municipality code: {code5!r}")
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def to_code6(code: str | int) -> str:
    """The 6-digit code with check digit (``13208`` -> ``132080``); accepts any form of the code.

    Examples
    --------
    >>> to_code6("13208"), to_code6(92011.0)
    ('132080', '092011')
    """
    code5 = parse_code(code)
    return code5 + check_digit(code5)


def to_code5(code: str | int) -> str:
    """The 5-digit code (``132080`` -> ``13208``); accepts any form of the code.

    Examples
    --------
    >>> to_code5("132080")
    '13208'
    """
    return parse_code(code)


def _digits(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = re.sub(r"\.0+$", "", text)
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"not a municipality code: {value!r}")
    return text


def parse_code(value, expect: str | None = None) -> str:
    """Read a municipality code in any published form and return its 5-digit form.

    Parameters
    ----------
    value : ``13208``, ``132080``, ``"92011"`` (6 digits that lost the leading zero),
        ``"9201"`` (5 digits that lost it), ``92011.0``, full-width digits.
    expect : the 5-digit code the caller expects; breaks the tie when a 5-character value
        reads both as a 5-digit code and as a 6-digit code without its leading zero.

    Returns
    -------
    str : the 5-digit code.

    Raises
    ------
    ValueError : for text that is not a code.

    Examples
    --------
    >>> parse_code("92011"), parse_code("132080"), parse_code("13208"), parse_code("9201")
    ('09201', '13208', '13208', '09201')
    """
    digits = _digits(value)
    if len(digits) == 6:
        return digits[:5]
    if len(digits) == 4:
        return "0" + digits
    if len(digits) != 5:
        raise ValueError(f"not a municipality code: {value!r}")
    lost_zero = "0" + digits[:4]
    lost_zero_ok = check_digit(lost_zero) == digits[4]
    if expect is not None:
        if digits == expect:
            return digits
        if lost_zero_ok and lost_zero == expect:
            return lost_zero
    # Prefecture codes run 01..47: "92011" cannot be a 5-digit code, so it lost a zero.
    if lost_zero_ok and not 1 <= int(digits[:2]) <= 47:
        return lost_zero
    return digits


def prefecture(code) -> str:
    """The 2-digit prefecture code of a municipality code (``13208`` -> ``13``)."""
    return parse_code(code)[:2]


def in_municipality(code: str | None, municipality: str) -> bool:
    """Whether 5-digit ``code`` belongs to ``municipality``: itself or one of its wards.

    A 政令指定都市 has a code whose city part is 1x0 (札幌市 01100, 川崎市 14130); its wards
    follow it (中央区 01101). Data published per ward then counts for the city.

    Examples
    --------
    >>> in_municipality("01101", "01100"), in_municipality("13208", "13208"), in_municipality("13209", "13208")
    (True, True, False)
    """
    if code is None:
        return False
    if code == municipality:
        return True
    designated_city = municipality[2] == "1" and municipality[4] == "0" and municipality[:2] != "13"
    return designated_city and code[:4] == municipality[:4]
