"""The drill's official warnings and 多摩川 water levels, as the real services publish them.

:func:`messages` builds the typhoon's 気象庁防災情報XML messages for 調布市 (shaped like JMA's
samples, as tests/payloads/jma/ and docs/warnings.md describe) and :func:`write` puts them
where the drill's loopback server serves them: ``jma/feed/extra_l.xml`` (an Atom feed listing
them, newest first, with links relative to the feed) and ``jma/data/<name>.xml``; the 石原
station's levels go to ``river/ishihara.dat`` (水文水質データベース DAT, Shift_JIS). They enter the
store through the same sources as live data (ingest/drill/ingest.py).

Warning timeline (hours after T0; ``scenario.TIMELINE`` holds the HQ's side)::

    T-3    レベル２大雨注意報 (VPWW55) · 大雨注意報・洪水注意報 (VPWW54, transitional)
    T+0    レベル３大雨警報 · 大雨警報・洪水警報 (VPWW54)
    T+0.5  レベル２土砂災害注意報 (VPWW56)
    T+1    多摩川 レベル２氾濫注意報 (VXKO)        石原 above 氾濫注意水位 from T+0:50
    T+1:50 多摩川 レベル３氾濫警報                  石原 above 避難判断水位 from T+1:40
    T+3    レベル３土砂災害警報
    T+4    レベル４土砂災害危険警報 · 土砂災害警戒情報 (VXWW50)
    T+5:50 多摩川 レベル４氾濫危険警報              石原 at 氾濫危険水位 from T+5:40
    T+8    記録的短時間大雨情報 (VPOA50)
    T+9    多摩川 レベル５氾濫特別警報 (氾濫発生)   石原 rising to its peak (T+12)
    T+12   土砂災害警戒情報 解除 · 土砂 警報から注意報
    T+14   多摩川 レベル３氾濫警報 · 大雨 警報から注意報   石原 below 氾濫危険水位
    T+16   多摩川 レベル２氾濫注意報（警報解除）          below 避難判断水位
    T+19   多摩川 解除                                   below 氾濫注意水位
    T+20   大雨・土砂 解除 (VPWW55, VPWW56, VPWW54)

Entry ids depend on the message's place in this timeline only, so a drill played again with
another anchor updates the same messages (their feed ``updated`` moves with the anchor).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ingest.sources.jma import atom_feed

CITY, CITY_CODE, AREA = "調布市", "13208", "1320800"
REGION, REGION_NAME = "130010", "東京地方"
RIVER, ZONE, RIVER_CODE = "多摩川", "830302000100", "8303020001"  # zone code: illustrative
ID_PREFIX = "tag:bosai-dashboard,2026:drill/jma/"
# The 石原 water-level station (illustrative thresholds and position; see docs/warnings.md).
STATION = {
    "id": "303041283310010",
    "name": "石原",
    "river": RIVER,
    "standby_m": 3.0,
    "advisory_m": 4.5,
    "evacuation_m": 5.5,
    "danger_m": 6.0,
    "lon": 139.5270,
    "lat": 35.6445,
}
# (hours after T0, level in metres): the 多摩川 at 石原, linear between the knots.
RIVER_CURVE = (
    (-6, 1.0), (-3, 1.5), (0, 3.4), (0.8, 4.5), (5 / 3, 5.5), (17 / 3, 6.0), (9, 6.6),
    (12, 6.9), (13.8, 6.0), (15.8, 5.5), (18.8, 4.5), (24, 2.8),
)  # fmt: skip

_NS = 'xmlns="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx="http://xml.kishou.go.jp/jmaxml1/"'
_IB = "http://xml.kishou.go.jp/jmaxml1/informationBasis1/"
_METE = 'xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/"'
_NOTICE = "<Notice>この電文は調布市台風訓練のための架空の電文です。</Notice>"


def _report(title, at, head_title, event_id, serial, info_kind, version, headline, infos, body,
            *, publishing="気象庁", info_type="発表") -> str:  # fmt: skip
    jst = at.tz_convert("Asia/Tokyo").isoformat()
    sent = (at + pd.Timedelta(seconds=10)).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Report {_NS}>
<Control>
<Title>{title}</Title>
<DateTime>{sent}</DateTime>
<Status>通常</Status>
<EditorialOffice>気象庁本庁</EditorialOffice>
<PublishingOffice>{publishing}</PublishingOffice>
</Control>
<Head xmlns="{_IB}">
<Title>{head_title}</Title>
<ReportDateTime>{jst}</ReportDateTime>
<TargetDateTime>{jst}</TargetDateTime>
<EventID>{event_id}</EventID>
<InfoType>{info_type}</InfoType>
<Serial>{serial}</Serial>
<InfoKind>{info_kind}</InfoKind>
<InfoKindVersion>{version}</InfoKindVersion>
<Headline>
<Text>{headline}</Text>
{infos}
</Headline>
</Head>
<Body {_METE}>
{_NOTICE}
{body}
</Body>
</Report>
"""


def _area(code=AREA, name=CITY) -> str:
    return f"<Area>\n<Name>{name}</Name>\n<Code>{code}</Code>\n</Area>"


def _kind(code, name, status=None, last=None) -> str:
    parts = [f"<Name>{name}</Name>", f"<Code>{code}</Code>"] if code else []
    if status:
        parts.append(f"<Status>{status}</Status>")
    if last:
        parts.append(f"<LastKind>\n<Name>{last[1]}</Name>\n<Code>{last[0]}</Code>\n</LastKind>")
    return "<Kind>\n" + "\n".join(parts) + "\n</Kind>"


def _warning(at, title, head_title, kinds, headline) -> str:
    """気象警報・注意報: ``kinds`` = [(code, name, status, last (code, name) or None)]."""
    shown = [k for k in kinds if k[2] != "解除"]
    head_kinds = (
        "\n".join(f"<Kind>\n<Name>{k[1]}</Name>\n<Code>{k[0]}</Code>\n</Kind>" for k in shown)
        or "<Kind>\n<Name>解除</Name>\n<Code>00</Code>\n</Kind>"
    )
    infos = (
        '<Information type="気象警報・注意報（市町村等）">\n<Item>\n'
        f'{head_kinds}\n<Areas codeType="気象・地震・火山情報／市町村等">\n{_area()}\n</Areas>\n'
        "</Item>\n</Information>"
    )
    body_kinds = "\n".join(_kind(c, n, s, last) for c, n, s, last in kinds)
    body = (
        '<Warning type="気象警報・注意報（市町村等）">\n<Item>\n'
        f"{body_kinds}\n{_area()}\n<ChangeStatus>警報・注意報種別に変化有</ChangeStatus>\n"
        "</Item>\n</Warning>"
    )
    return _report(title, at, head_title, "", "", "気象警報・注意報", "1.5_0", headline, infos,
                   body)  # fmt: skip


def _landslide_info(at, serial, lifted: bool) -> str:
    code, name, status = ("1", "解除", "解除") if lifted else ("3", "警戒", "発表")
    infos = (
        '<Information type="土砂災害警戒情報">\n<Item>\n'
        f"<Kind>\n<Name>{name}</Name>\n<Code>{code}</Code>\n<Condition>{status}</Condition>\n"
        f'</Kind>\n<Areas codeType="気象・地震・火山情報／市町村等">\n{_area()}\n</Areas>\n'
        "</Item>\n</Information>"
    )
    body = (
        "<TargetArea>\n<Name>東京都</Name>\n<Code>130000</Code>\n</TargetArea>\n"
        f'<Warning type="土砂災害警戒情報">\n<Item>\n{_kind(code, name, status)}\n{_area()}\n'
        "</Item>\n</Warning>"
    )
    headline = (
        "＜全警戒解除＞ 　大雨が弱まり、多発的な土砂災害が発生するおそれは少なくなりました。"
        if lifted
        else "＜概況＞\n　降り続く大雨のため、土砂災害警戒区域等では命に危険が及ぶ土砂災害が"
        "いつ発生してもおかしくない非常に危険な状況です。"
    )
    return _report("土砂災害警戒情報", at, "東京都レベル４土砂災害危険警報", "東京都土砂災害警戒情報",
                   serial, "土砂災害警戒情報", "1.0_0", headline, infos, body,
                   publishing="東京都 気象庁")  # fmt: skip


def _flood(at, serial, code, name, headline) -> str:
    kind = (f"<Kind>\n<Name>{name}</Name>\n<Code>{code}</Code>\n<Condition>{name}</Condition>\n"
            "</Kind>")  # fmt: skip
    infos = (
        f'<Information type="指定河川洪水予報（予報区域）">\n<Item>\n{kind}\n'
        f'<Areas codeType="指定河川洪水予報（予報区域）">\n{_area(ZONE, RIVER)}\n</Areas>\n'
        "</Item>\n</Information>\n"
        f'<Information type="指定河川洪水予報（河川）">\n<Item>\n{kind}\n<Areas codeType="河川">\n'
        f"{_area(RIVER_CODE, RIVER)}\n</Areas>\n</Item>\n</Information>"
    )
    body = (
        '<Warning type="指定河川洪水予報">\n<Item>\n<Kind>\n<Property>\n<Type>主文</Type>\n'
        f'<Text>{headline}</Text>\n</Property>\n</Kind>\n<Areas codeType="河川">\n'
        f"{_area(RIVER_CODE, RIVER)}\n</Areas>\n<Stations>\n<Station>\n<Name>石原</Name>\n"
        '<Code type="水位観測所">83030200010000012</Code>\n<Location>調布市</Location>\n'
        "</Station>\n</Stations>\n</Item>\n</Warning>"
    )
    return _report("指定河川洪水予報", at, f"{RIVER}{name}", ZONE, serial, "指定河川洪水予報",
                   "1.1_1", headline, infos, body, publishing="京浜河川事務所 気象庁")  # fmt: skip


def _record_rain(at) -> str:
    kind = "<Kind>\n<Name>記録的短時間大雨情報</Name>\n<Code>1</Code>\n"
    infos = (
        '<Information type="記録的短時間大雨情報（発表細分）">\n<Item>\n'
        f"{kind}<Condition>発表</Condition>\n</Kind>\n"
        f'<Areas codeType="気象情報／府県予報区・細分区域等">\n{_area(REGION, REGION_NAME)}\n'
        "</Areas>\n</Item>\n</Information>"
    )
    body = (
        '<Warning type="記録的短時間大雨情報（発表細分）">\n<Item>\n'
        f"{kind}<Status>発表</Status>\n</Kind>\n{_area(REGION, REGION_NAME)}\n</Item>\n</Warning>"
    )
    clock = at.tz_convert("Asia/Tokyo")
    headline = (
        f"\n{clock.hour}時{clock.minute:02d}分東京都で記録的短時間大雨\n調布市付近で約１００ミリ"
    )
    event = "JPTK" + clock.strftime("%Y%m%d%H%M") + "_" + clock.strftime("%Y%m%d%H%M")
    return _report("記録的短時間大雨情報", at, "東京都記録的短時間大雨情報", event, "1",
                   "記録的短時間大雨情報", "1.0_0", headline, infos, body)  # fmt: skip


R06_RAIN, R06_LAND, H27 = (
    "気象警報・注意報（Ｒ０６）（大雨）", "気象警報・注意報（Ｒ０６）（土砂）", "気象警報・注意報（Ｈ２７）"
)  # fmt: skip
L2, L3 = ("10", "レベル２大雨注意報"), ("03", "レベル３大雨警報")
S2, S3, S4 = ("29", "レベル２土砂災害注意報"), ("09", "レベル３土砂災害警報"), (
    "49", "レベル４土砂災害危険警報")  # fmt: skip
OLD = {"rain_a": ("10", "大雨注意報"), "flood_a": ("18", "洪水注意報"),
       "rain_w": ("03", "大雨警報"), "flood_w": ("04", "洪水警報")}  # fmt: skip


def _timeline() -> list[tuple[float, str, object]]:
    """(hours after T0, type code, builder of the XML at that time)."""
    rain = "東京都大雨警報・注意報"
    land = "東京都土砂災害警報・注意報"
    old = "東京都気象警報・注意報"

    def w(title, head, kinds, text):
        return lambda at, serial: _warning(at, title, head, kinds, text)

    def flood(code, name, text):
        return lambda at, serial: _flood(at, serial, code, name, text)

    return [
        (-3, "VPWW55", w(R06_RAIN, rain, [(*L2, "発表", None)], "低い土地の浸水に注意してください。")),
        (-3, "VPWW54", w(H27, old, [(*OLD["rain_a"], "発表", None), (*OLD["flood_a"], "発表", None)],
                         "低い土地の浸水や河川の増水に注意してください。")),
        (0, "VPWW55", w(R06_RAIN, rain, [(*L3, "発表", L2)], "低い土地の浸水に警戒してください。")),
        (0, "VPWW54", w(H27, old, [(*OLD["rain_w"], "発表", None), (*OLD["flood_w"], "発表", None)],
                        "低い土地の浸水や河川の増水に警戒してください。")),
        (0.5, "VPWW56", w(R06_LAND, land, [(*S2, "発表", None)], "土砂災害に注意してください。")),
        (1, "VXKO", flood("20", "レベル２氾濫注意報",
                          "石原水位観測所（調布市）では、「氾濫注意水位」に到達しました。")),
        (11 / 6, "VXKO", flood("30", "レベル３氾濫警報",
                               "【警戒レベル３相当】石原水位観測所（調布市）では、「避難判断水位」に到達しました。")),
        (3, "VPWW56", w(R06_LAND, land, [(*S3, "発表", S2)], "土砂災害に警戒してください。")),
        (4, "VPWW56", w(R06_LAND, land, [(*S4, "発表", S3)], "土砂災害に厳重に警戒してください。")),
        (4, "VXWW50", lambda at, serial: _landslide_info(at, serial, lifted=False)),
        (35 / 6, "VXKO", flood("40", "レベル４氾濫危険警報",
                               "【警戒レベル４相当】石原水位観測所（調布市）では、「氾濫危険水位」に到達しました。"
                               "多摩川では堤防決壊等による氾濫のおそれがあり、調布市では浸水するおそれがあります。")),
        (8, "VPOA50", lambda at, serial: _record_rain(at)),
        (9, "VXKO", flood("51", "レベル５氾濫特別警報",
                          "【警戒レベル５相当】多摩川では、氾濫が発生しました。各自安全確保を図ってください。")),
        (12, "VXWW50", lambda at, serial: _landslide_info(at, serial, lifted=True)),
        (12, "VPWW56", w(R06_LAND, land, [(*S2, "警報から注意報", S4)], "土砂災害に注意してください。")),
        (14, "VXKO", flood("31", "レベル３氾濫警報",
                           "石原水位観測所（調布市）では、「氾濫危険水位」を下回りました。")),
        (14, "VPWW55", w(R06_RAIN, rain, [(*L2, "警報から注意報", L3)], "低い土地の浸水に注意してください。")),
        (14, "VPWW54", w(H27, old, [(*OLD["rain_a"], "警報から注意報", None),
                                    (*OLD["flood_a"], "警報から注意報", None)],
                         "低い土地の浸水や河川の増水に注意してください。")),
        (16, "VXKO", flood("22", "レベル２氾濫注意報（警報解除）",
                           "石原水位観測所（調布市）では、「避難判断水位」を下回りました。")),
        (19, "VXKO", flood("10", "レベル２氾濫注意報解除",
                           "多摩川では、氾濫のおそれがなくなりました。")),
        (20, "VPWW55", w(R06_RAIN, rain, [(*L2, "解除", L2)], "")),
        (20, "VPWW56", w(R06_LAND, land, [(*S2, "解除", S2)], "")),
        (20, "VPWW54", w(H27, old, [(*OLD["rain_a"], "解除", None), (*OLD["flood_a"], "解除", None)],
                         "")),
    ]  # fmt: skip


def messages(t0: pd.Timestamp) -> list[dict]:
    """The drill's messages in time order: name, id, title, updated, report_at, content, xml."""
    out = []
    serials: dict[str, int] = {}
    for seq, (hours, code, build) in enumerate(_timeline(), 1):
        at = (t0 + pd.Timedelta(minutes=round(hours * 60))).tz_convert("UTC")
        serials[code] = serials.get(code, 0) + 1
        xml = build(at, serials[code])
        title = xml.split("<Title>", 1)[1].split("</Title>", 1)[0]
        head = xml.split("<Title>", 2)[2].split("</Title>", 1)[0]
        name = f"drill_{seq:03d}_{code}.xml"
        out.append(
            {
                "name": name,
                "id": f"{ID_PREFIX}{seq:03d}-{code}",
                "title": title,
                "updated": (at + pd.Timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "report_at": at,
                "url": f"../data/{name}",
                "content": f"【{head}】",
                "author": "気象庁",
                "xml": xml,
            }
        )
    return out


def river_levels(t0: pd.Timestamp, anchor: pd.Timestamp) -> pd.DataFrame:
    """石原's level every 10 minutes from T-6 h to the anchor (observed_at, level_m)."""
    start = t0 - pd.Timedelta(hours=6)
    times = pd.date_range(start, anchor, freq="10min")
    hours = (times - t0) / pd.Timedelta(hours=1)
    knots_x, knots_y = zip(*RIVER_CURVE, strict=True)
    levels = np.round(np.interp(hours, knots_x, knots_y), 2)
    return pd.DataFrame({"observed_at": times, "level_m": levels})


def river_dat(levels: pd.DataFrame) -> bytes:
    """The levels as a 水文水質データベース DAT file (リアルタイム水位 layout, Shift_JIS)."""
    lines = ["リアルタイム水位一覧表", f"水系名,{RIVER}", f"河川名,{RIVER}",
             f"観測所名,{STATION['name']}", f"観測所記号,{STATION['id']}", "#",
             "#日付,時刻,水位(m),", "#"]  # fmt: skip
    for at, level in zip(levels["observed_at"], levels["level_m"], strict=True):
        local = at.tz_convert("Asia/Tokyo")
        day, clock = local, local.strftime("%H:%M")
        if clock == "00:00":  # the service writes midnight as 24:00 of the day before
            day, clock = local - pd.Timedelta(days=1), "24:00"
        lines.append(f"{day:%Y/%m/%d},{clock},{level:.2f},")
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def write(out_dir: Path | str, t0: pd.Timestamp, anchor: pd.Timestamp) -> dict:
    """Write ``jma/feed/extra_l.xml``, ``jma/data/*.xml`` and ``river/ishihara.dat``."""
    out = Path(out_dir)
    (out / "jma" / "feed").mkdir(parents=True, exist_ok=True)
    (out / "jma" / "data").mkdir(parents=True, exist_ok=True)
    (out / "river").mkdir(parents=True, exist_ok=True)
    found = messages(t0)
    for m in found:
        (out / "jma" / "data" / m["name"]).write_text(m["xml"], encoding="utf-8")
    newest = max(m["updated"] for m in found)
    feed = atom_feed(list(reversed(found)), feed_id=f"{ID_PREFIX}feed/extra_l.xml",
                     title="高頻度（随時）", updated=newest)  # fmt: skip
    (out / "jma" / "feed" / "extra_l.xml").write_bytes(feed)
    levels = river_levels(t0, anchor)
    (out / "river" / "ishihara.dat").write_bytes(river_dat(levels))
    return {"jma_messages": len(found), "river_observations": len(levels)}
