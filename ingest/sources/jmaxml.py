"""Reading 気象庁防災情報XML: the messages the HQ acts on (the feeds: ingest/sources/jma.py).

A message (``<Report>``) has three parts, each in its own namespace: ``Control`` (the message
type in ``Title``, ``Status`` 通常/訓練/試験, the offices), ``Head`` (``ReportDateTime``,
``InfoType`` 発表/訂正/取消, ``EventID``, ``Serial``, the headline) and ``Body`` (for the
meteorological messages read here, ``Warning`` blocks of ``Item``s: a ``Kind`` with ``Code``,
``Name`` and ``Status`` for an ``Area``). :func:`parse_message` turns one message into its
header and the warnings it states for the configured areas and rivers (``items``); the layout
of every type, with the samples it was checked against, is in docs/warnings.md.

Handled types (``Control/Title``):

* 気象警報・注意報（Ｒ０６）（大雨|土砂|高潮|暴風|波浪|大雪|…） — VPWW55…61 since 28 May 2026,
  and the transitional 気象警報・注意報（Ｈ２７） (VPWW54, sent until 2028): the items of
  ``Warning[@type="気象警報・注意報（市町村等）"]`` whose ``Area/Code`` (二次細分区域) is configured;
* 土砂災害警戒情報 (VXWW50, titled レベル４土砂災害危険警報 since the revision): the items of
  ``Warning[@type="土砂災害警戒情報"]`` for the configured 市町村 codes;
* 指定河川洪水予報 (VXKOii): the kind of ``Headline/Information[@type="指定河川洪水予報（予報区域）"]``
  when the forecast names a configured river (``…（河川）`` areas, or the 予報区域 name);
* 記録的短時間大雨情報 (VPOA50): the items of ``Warning[@type="記録的短時間大雨情報（…）"]``
  for the configured areas or regions (一次細分区域).

XML from the network is parsed without DTDs, entities or network access (a DOCTYPE is refused).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from lxml import etree

from geodata import vocab

JMX = "http://xml.kishou.go.jp/jmaxml1/"
IB = "http://xml.kishou.go.jp/jmaxml1/informationBasis1/"
METE = "http://xml.kishou.go.jp/jmaxml1/body/meteorology1/"

WARNING_TITLE = "気象警報・注意報"
LANDSLIDE_TITLE = "土砂災害警戒情報"
FLOOD_TITLE = "指定河川洪水予報"
RECORD_RAIN_TITLE = "記録的短時間大雨情報"
TITLES = (WARNING_TITLE, LANDSLIDE_TITLE, FLOOD_TITLE, RECORD_RAIN_TITLE)

# Control/Title -> the type code, for messages whose URL does not carry it.
TYPE_CODES = {
    "気象警報・注意報（Ｈ２７）": "VPWW54",
    "気象警報・注意報（Ｒ０６）（大雨）": "VPWW55",
    "気象警報・注意報（Ｒ０６）（土砂）": "VPWW56",
    "気象警報・注意報（Ｒ０６）（高潮）": "VPWW57",
    "気象警報・注意報（Ｒ０６）（暴風）": "VPWW58",
    "気象警報・注意報（Ｒ０６）（波浪）": "VPWW59",
    "気象警報・注意報（Ｒ０６）（大雪）": "VPWW60",
    LANDSLIDE_TITLE: "VXWW50",
    FLOOD_TITLE: "VXKOii",
    RECORD_RAIN_TITLE: "VPOA50",
}
_TYPE_IN_URL = re.compile(r"_(V[A-Z]{3}(?:\d\d|ii))_")

# 気象警報・注意報 Kind/Code (the code table shared by VPWW54 and VPWW55…61) -> kind.
VPWW_KINDS = {
    "33": "heavy_rain_emergency",
    "43": "heavy_rain_danger",
    "03": "heavy_rain_warning",
    "10": "heavy_rain_advisory",
    "39": "landslide_emergency",
    "49": "landslide_danger",
    "09": "landslide_warning",
    "29": "landslide_advisory",
    "38": "storm_surge_emergency",
    "48": "storm_surge_danger",
    "08": "storm_surge_warning",
    "19": "storm_surge_advisory",
    "04": "flood_warning",
    "18": "flood_advisory",
}
# 指定河川洪水予報 Kind/Code: the first digit is the level (1: lifted); 21/31/41 continue.
FLOOD_KINDS = {
    "2": "river_flood_advisory",
    "3": "river_flood_warning",
    "4": "river_flood_danger",
    "5": "river_flood_emergency",
}
STATUSES = {"発表": "issued", "継続": "continued", "解除": "lifted", "なし": "none"}
NOT_ACTIVE = ("lifted", "none")
INFO_TYPES = ("発表", "訂正", "取消")
CONTROL_STATUSES = ("通常", "訓練", "試験")

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
)


class JmaFormatError(ValueError):
    """A feed or message that is not what 気象庁防災情報XML says it is (the reason says why)."""


@dataclass(frozen=True)
class Targets:
    """What a municipality reads from the messages.

    Parameters
    ----------
    city_code : the municipality (5-digit code, e.g. 13208); every item carries it.
    area_codes : 二次細分区域 / 土砂災害警戒情報 市町村等 codes (7 digits, 調布市: 1320800).
    region_codes : areas of 記録的短時間大雨情報 (一次細分区域 / 府県予報区, e.g. 130010).
    rivers : the rivers of its designated-river flood forecasts, by name (多摩川) or by code.
    """

    city_code: str
    area_codes: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    rivers: tuple[str, ...] = ()


def read_xml(data: bytes, what: str) -> etree._Element:
    """Parsed XML from the network (no DTD, entities or network access; a DOCTYPE is refused)."""
    head = data[:2048].lstrip()
    if b"<!DOCTYPE" in head.upper():
        raise JmaFormatError(f"{what}: a document type declaration is not allowed")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise JmaFormatError(f"{what}: not well-formed XML ({exc})") from exc


def text_of(el, path: str, ns: dict | None = None) -> str | None:
    """The stripped text of the element at ``path`` (None when missing or empty)."""
    found = el.find(path, ns) if el is not None else None
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def type_code(url: str | None, title: str | None) -> str | None:
    """The message's type code (VPWW55 …) from its URL, else from its title."""
    found = _TYPE_IN_URL.search(url or "")
    return found.group(1) if found else TYPE_CODES.get(title or "")


def digest(text: str) -> str:
    """sha256 of a message's text as stored: the same message twice has the same digest."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def parse_message(data: bytes, targets: Targets) -> dict:
    """A message's header and its items for ``targets``.

    Returns
    -------
    dict with ``title``, ``head_title``, ``control_status``, ``office``, ``info_type``,
    ``event_id``, ``serial``, ``report_at`` (ISO text), ``headline``, ``stream`` and ``items``:
    one dict per (kind, area) with ``kind``, ``level``, ``status`` (issued / continued / lifted /
    none), ``jma_code``, ``jma_name``, ``jma_status``, ``area_code``, ``area_name``, ``river``
    and ``city_code``. A 取消 (withdrawal) has no items: it withdraws its stream's last message.

    Raises
    ------
    JmaFormatError : not XML, not a JMA report, a missing header field, an unknown message
        type, or a body without the warning block its type must have.
    """
    root = read_xml(data, "message")
    if root.tag != f"{{{JMX}}}Report":
        raise JmaFormatError(f"not a JMA report (root <{etree.QName(root).localname}>)")
    ns = {"j": JMX, "h": IB, "b": METE}
    control, head = root.find("j:Control", ns), root.find("h:Head", ns)
    if control is None or head is None:
        raise JmaFormatError("Control or Head is missing")
    title = text_of(control, "j:Title", ns)
    status = text_of(control, "j:Status", ns)
    info_type = text_of(head, "h:InfoType", ns)
    report_at = text_of(head, "h:ReportDateTime", ns)
    if not title or not any(title.startswith(t) for t in TITLES):
        raise JmaFormatError(f"Control/Title {title!r} is not a message type read here")
    if status not in CONTROL_STATUSES:
        raise JmaFormatError(f"Control/Status {status!r} is not 通常/訓練/試験")
    if info_type not in INFO_TYPES:
        raise JmaFormatError(f"Head/InfoType {info_type!r} is not 発表/訂正/取消")
    if not report_at or not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", report_at):
        raise JmaFormatError(f"Head/ReportDateTime {report_at!r} is not a time")
    office = text_of(control, "j:EditorialOffice", ns)
    event_id = text_of(head, "h:EventID", ns)
    out = {
        "title": title,
        "head_title": text_of(head, "h:Title", ns),
        "control_status": status,
        "office": office,
        "info_type": info_type,
        "event_id": event_id,
        "serial": text_of(head, "h:Serial", ns),
        "report_at": report_at,
        "headline": text_of(head, "h:Headline/h:Text", ns),
        "stream": f"{title}|{office or ''}|{event_id or ''}",
        "items": [],
    }
    if info_type == "取消":
        return out
    body = root.find("b:Body", ns)
    if title.startswith(WARNING_TITLE):
        out["items"] = _warning_items(body, ns, targets)
    elif title.startswith(LANDSLIDE_TITLE):
        out["items"] = _landslide_items(body, ns, targets)
    elif title.startswith(FLOOD_TITLE):
        out["items"] = _flood_items(head, ns, targets)
    else:
        out["items"] = _record_rain_items(body, ns, targets)
    return out


def _blocks(body, ns, prefix: str) -> list:
    found = [] if body is None else [
        w for w in body.findall("b:Warning", ns) if (w.get("type") or "").startswith(prefix)
    ]  # fmt: skip
    if not found:
        raise JmaFormatError(f'no Body/Warning[@type="{prefix}…"]')
    return found


def _area(item, ns) -> tuple[str | None, str | None]:
    return text_of(item, "b:Area/b:Code", ns), text_of(item, "b:Area/b:Name", ns)


def _row(kind, code, name, jma_status, area_code, area_name, targets, river=None) -> dict:
    status = STATUSES.get(jma_status or "", "issued" if code else "none")
    return {
        "kind": kind,
        "level": vocab.WARNING_KIND_LEVEL.get(kind) if kind else None,
        "status": status,
        "jma_code": code,
        "jma_name": name,
        "jma_status": jma_status,
        "area_code": area_code,
        "area_name": area_name,
        "river": river,
        "city_code": targets.city_code,
    }


def _warning_kind(code: str, name: str | None) -> str:
    if code in VPWW_KINDS:
        return VPWW_KINDS[code]
    name = name or ""
    if "特別警報" in name:
        return "other_emergency"
    return "other_warning" if "警報" in name else "other_advisory"


def _warning_items(body, ns, targets: Targets) -> list[dict]:
    items = []
    for block in _blocks(body, ns, "気象警報・注意報（市町村等）"):
        for item in block.findall("b:Item", ns):
            area_code, area_name = _area(item, ns)
            if area_code not in targets.area_codes:
                continue
            for kind in item.findall("b:Kind", ns):
                code = text_of(kind, "b:Code", ns)
                name, jma_status = text_of(kind, "b:Name", ns), text_of(kind, "b:Status", ns)
                if not code or code == "00":
                    items.append(_row(None, None, name, jma_status, area_code, area_name, targets))
                    continue
                # A status other than 発表/継続/解除 (警報から注意報 …) is a change: issued.
                kind_code = _warning_kind(code, name)
                items.append(_row(kind_code, code, name, jma_status, area_code, area_name, targets))
    return items


def _landslide_items(body, ns, targets: Targets) -> list[dict]:
    items = []
    for block in _blocks(body, ns, LANDSLIDE_TITLE):
        for item in block.findall("b:Item", ns):
            area_code, area_name = _area(item, ns)
            if area_code not in targets.area_codes:
                continue
            code = text_of(item, "b:Kind/b:Code", ns)
            name, jma_status = (
                text_of(item, "b:Kind/b:Name", ns),
                text_of(item, "b:Kind/b:Status", ns),
            )
            kind = "landslide_danger" if code in ("3", "1") else None  # 警戒 / 解除
            label = LANDSLIDE_TITLE if kind else name  # Kind/Name says only 警戒 / 解除
            items.append(_row(kind, code, label, jma_status, area_code, area_name, targets))
    return items


def _flood_items(head, ns, targets: Targets) -> list[dict]:
    infos = {i.get("type"): i for i in head.findall("h:Headline/h:Information", ns)}
    zone = infos.get("指定河川洪水予報（予報区域）")
    rivers = infos.get("指定河川洪水予報（河川）")
    if zone is None and rivers is None:
        raise JmaFormatError('no Headline/Information[@type="指定河川洪水予報（予報区域）"]')
    main = zone if zone is not None else rivers
    code = text_of(main, "h:Item/h:Kind/h:Code", ns)
    name = text_of(main, "h:Item/h:Kind/h:Name", ns)
    if not code or not code.isdigit():
        raise JmaFormatError(f"指定河川洪水予報: Kind/Code {code!r} is not a code")
    zone_code = text_of(zone, "h:Item/h:Areas/h:Area/h:Code", ns) if zone is not None else None
    zone_name = text_of(zone, "h:Item/h:Areas/h:Area/h:Name", ns) if zone is not None else None
    named = [] if rivers is None else [
        (text_of(a, "h:Name", ns), text_of(a, "h:Code", ns))
        for a in rivers.findall("h:Item/h:Areas/h:Area", ns)
    ]  # fmt: skip
    river = None
    for wanted in targets.rivers:
        if any(wanted in (n, c) for n, c in named) or (zone_name and wanted in zone_name):
            river = wanted
            break
        if wanted == zone_code:
            river = zone_name
            break
    if river is None:
        return []
    lifted = code[0] == "1"
    kind = FLOOD_KINDS.get(code[0], "river_flood_advisory" if lifted else None)
    if kind is None:
        raise JmaFormatError(f"指定河川洪水予報: unknown Kind/Code {code}")
    status = "解除" if lifted else ("継続" if code in ("21", "31", "41") else "発表")
    return [_row(kind, code, name, status, zone_code, zone_name, targets, river=river)]


def _record_rain_items(body, ns, targets: Targets) -> list[dict]:
    wanted = set(targets.region_codes) | set(targets.area_codes)
    items = []
    for block in _blocks(body, ns, RECORD_RAIN_TITLE):
        for item in block.findall("b:Item", ns):
            area_code, area_name = _area(item, ns)
            if area_code not in wanted:
                continue
            code = text_of(item, "b:Kind/b:Code", ns)
            name, jma_status = (
                text_of(item, "b:Kind/b:Name", ns),
                text_of(item, "b:Kind/b:Status", ns),
            )
            kind = "record_rain" if code == "1" else None
            items.append(_row(kind, code, name, jma_status, area_code, area_name, targets))
    return items
