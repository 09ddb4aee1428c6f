"""Evacuation information (避難情報) published: CAP 1.2 messages and an open-data CSV.

Both read through :class:`geodata.export.public.PublicView` (the public-output policy): the
records' staff account (``issued_by``) and the addresses of the warning messages that triggered
them (``warning_ids``) are withheld; what is published is what the HQ announces — level, hazard,
towns, reason, times.

**CAP** — one message per record of an order (:mod:`geodata.evacuation`): the issue is an
``Alert``, an update an ``Update`` and the lift a ``Cancel``, each ``references`` naming the
message of the record it changes. Each town is an ``<area>`` with its polygon(s) (a town of
several parts, 野水一丁目, has several) and two geocodes: the town code (町丁目コード, e-Stat
KEY_CODE) and the municipality (全国地方公共団体コード). urgency / severity / certainty follow the
level (:data:`LEVEL_ALERT`); a lift is Past / Minor / Observed. The drill's records are sent
with status Exercise. Every message is validated against the CAP 1.2 XSD before it leaves.

**Open data** — :func:`evacuation_opendata_csv`: one row per town under evacuation information
at a time, with its level, hazard, since when, the order's issue time and the reason.
"""

from __future__ import annotations

import re

import pandas as pd
import shapely
from lxml import etree

from geodata import evacuation, vocab
from geodata.export.cap import CAP_NS, GEOCODE_NAME, element, serialize
from geodata.export.common import (
    ExportResult,
    audit_export,
    check_digit,
    iso_jst,
    jst_label,
    municipality,
    parse_time,
    stamp,
)
from geodata.export.public import PublicView

EVENT = "避難情報"
TOWN_GEOCODE = "町丁目コード"  # e-Stat 国勢調査 小地域 KEY_CODE (11 digits)
MSG_TYPES = {"issue": "Alert", "update": "Update", "lift": "Cancel"}
# level -> (urgency, severity, certainty): 5 = the disaster is happening or imminent
LEVEL_ALERT = {
    5: ("Immediate", "Extreme", "Observed"),
    4: ("Immediate", "Severe", "Likely"),
    3: ("Expected", "Moderate", "Likely"),
}
LIFTED_ALERT = ("Past", "Minor", "Observed")
# What residents are told to do (内閣府 避難情報に関するガイドライン, the wording of each level).
INSTRUCTIONS = {
    3: "危険な場所から高齢者等は避難してください。",
    4: "危険な場所から全員避難してください。",
    5: "命の危険 直ちに安全確保！",
}
SIMPLIFY_DEG = 0.00002  # ~2 m: town outlines keep their shape, messages stay small
OPEN_DATA_COLUMNS = (
    "全国地方公共団体コード", "地方公共団体名", "町丁目コード", "町丁目名", "警戒レベル", "避難情報",
    "災害種別", "発令日時", "この町丁目の発令日時", "理由", "時点",
)  # fmt: skip


def message_id(code6: str, record: dict) -> str:
    """A CAP identifier (no spaces, commas, < or &): one per record of an order."""
    safe = re.sub(r"[^A-Za-z0-9._:-]", "_", str(record["order_id"]))
    return f"evacuation-{code6}-{safe}-v{int(record['version'])}"


def _polygons(geometry) -> list[str]:
    """CAP polygons (``lat,lon`` pairs, closed) of a town's outline(s)."""
    if geometry is None or geometry.is_empty:
        return []
    geometry = shapely.simplify(geometry, SIMPLIFY_DEG, preserve_topology=True)
    parts = getattr(geometry, "geoms", [geometry])
    out = []
    for part in parts:
        ring = list(part.exterior.coords)
        if len(ring) >= 4:
            out.append(" ".join(f"{y:.6f},{x:.6f}" for x, y in ring))
    return out


def cap_message(
    record: dict, previous: dict | None, towns: pd.DataFrame, *, sender: str, code6: str,
    city_name: str, exercise: bool,
) -> tuple[str, bytes]:  # fmt: skip
    """One CAP 1.2 message for one record of an order (see the module docstring).

    ``towns``: the towns layer (town_code, name, geometry). Returns (identifier, xml bytes).
    """
    ident = message_id(code6, record)
    sent = iso_jst(record["at"])
    action = record["action"]
    level = int(record["level"])
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    element(root, "identifier", ident)
    element(root, "sender", sender)
    element(root, "sent", sent)
    element(root, "status", "Exercise" if exercise else "Actual")
    element(root, "msgType", MSG_TYPES[action])
    element(root, "scope", "Public")
    if exercise:
        element(root, "note", "訓練（Exercise）")
    if previous is not None:
        ref = f"{sender},{message_id(code6, previous)},{iso_jst(previous['at'])}"
        element(root, "references", ref)
    urgency, severity, certainty = LIFTED_ALERT if action == "lift" else LEVEL_ALERT[level]
    hazard = vocab.HAZARDS.label(record["hazard"])
    title = evacuation.level_title(level)
    codes = list(record["towns"] or [])
    mine = towns[towns["town_code"].isin(codes)].drop_duplicates("town_code")
    names = dict(zip(mine["town_code"], mine["name"], strict=True))
    info = element(root, "info")
    element(info, "language", "ja-JP")
    element(info, "category", "Safety")
    element(info, "event", EVENT)
    element(info, "responseType", "None" if action == "lift" else "Evacuate")
    element(info, "urgency", urgency)
    element(info, "severity", severity)
    element(info, "certainty", certainty)
    element(info, "effective", sent)
    element(info, "senderName", f"{city_name} 災害対策本部")
    where = "市内全域" if record.get("whole_city") else f"{len(codes)}町丁目"
    lifted = "解除" if action == "lift" else ("変更" if action == "update" else "発令")
    element(info, "headline", f"{title}{lifted}（{hazard}）{city_name} {where}")
    listed = "、".join(names.get(c, c) for c in codes)
    when = jst_label(record["at"])
    text = f"{city_name}は{when}、{listed}に{evacuation.level_label(level)}（{hazard}）を{lifted}しました。"
    if record.get("reason"):
        text += f"理由：{record['reason']}"
    element(info, "description", text)
    if action != "lift":
        element(info, "instruction", INSTRUCTIONS[level])
    params = [
        ("alertLevel", level), ("evacuationLevel", evacuation.level_label(level)),
        ("hazard", record["hazard"]), ("orderId", record["order_id"]),
        ("version", int(record["version"])), ("action", action),
        ("issuedAt", iso_jst(record["issued_at"])), ("towns", len(codes)),
    ]  # fmt: skip
    for key, value in params:
        param = element(info, "parameter")
        element(param, "valueName", key)
        element(param, "value", value)
    for code in codes:
        area = element(info, "area")
        element(area, "areaDesc", f"{city_name}{names.get(code, code)}")
        row = mine[mine["town_code"] == code]
        for polygon in _polygons(row.geometry.iloc[0] if len(row) else None):
            element(area, "polygon", polygon)
        for name, value in ((TOWN_GEOCODE, code), (GEOCODE_NAME, code6)):
            geocode = element(area, "geocode")
            element(geocode, "valueName", name)
            element(geocode, "value", value)
    return ident, serialize(root, ident)


def evacuation_cap_messages(
    store, *, since=None, until=None, sender: str | None = None, exercise: bool | None = None,
    who: str | None = None,
) -> list[ExportResult]:  # fmt: skip
    """CAP messages for the records of evacuation information made in [since, until).

    Parameters are those of :func:`geodata.export.cap.cap_messages`; ``exercise`` None sends the
    drill's records as Exercise. Returns one ExportResult per message (``<identifier>.xml``),
    oldest first; ``info``: identifier, order_id, version, action, level, towns.
    """
    store = PublicView(store)
    code, _, city = municipality(store)
    code6 = code + check_digit(code)
    sender = sender or f"{code6}.bosai-dashboard"
    if re.search(r"[\s,<&]", sender):
        raise ValueError("a CAP sender may not contain spaces, commas, < or &")
    since_ts, until_ts = parse_time(since), parse_time(until)
    records = store.read("evacuations").sort_values(["order_id", "version"])
    towns = store.read("towns", columns=["town_code", "name", "geometry"])
    results = []
    for _oid, chain in records.groupby("order_id", sort=False):
        previous = None
        for rec in chain.to_dict("records"):
            t = rec["at"]
            if (since_ts is None or t >= since_ts) and (until_ts is None or t < until_ts):
                drill = rec.get("source") == "drill"
                ident, xml = cap_message(
                    rec, previous, towns, sender=sender, code6=code6, city_name=city,
                    exercise=drill if exercise is None else exercise,
                )  # fmt: skip
                info = {
                    "identifier": ident, "order_id": rec["order_id"],
                    "version": int(rec["version"]), "action": rec["action"],
                    "level": int(rec["level"]), "towns": list(rec["towns"] or []),
                }  # fmt: skip
                results.append(
                    (t, ExportResult(xml, f"{ident}.xml", "application/cap+xml", 1, info))
                )
            previous = rec
    results = [r for _, r in sorted(results, key=lambda pair: pair[0])]
    audit_export(store, who, "cap", "evacuations", {"messages": len(results), "sender": sender})
    return results


def evacuation_opendata_frame(store, *, as_of=None) -> pd.DataFrame:
    """The towns under evacuation information at ``as_of`` (default now), as published."""
    store = PublicView(store)
    code, _, city = municipality(store)
    code6 = code + check_digit(code)
    at = parse_time(as_of) or pd.Timestamp.now(tz="UTC")
    found = evacuation.in_force(store, at)
    towns = store.read("towns", columns=["town_code", "name"]).drop_duplicates("town_code")
    names = dict(zip(towns["town_code"], towns["name"], strict=True))
    rows = [
        {
            "全国地方公共団体コード": code6, "地方公共団体名": city, "町丁目コード": r["town_code"],
            "町丁目名": names.get(r["town_code"], ""), "警戒レベル": int(r["level"]),
            "避難情報": evacuation.level_label(r["level"]),
            "災害種別": vocab.HAZARDS.label(r["hazard"]), "発令日時": iso_jst(r["issued_at"]),
            "この町丁目の発令日時": iso_jst(r["since"]), "理由": r["reason"] or "",
            "時点": iso_jst(at),
        }
        for r in found.to_dict("records")
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(OPEN_DATA_COLUMNS))


def evacuation_opendata_csv(store, *, as_of=None, who: str | None = None) -> ExportResult:
    """The open-data CSV of evacuation information in force (UTF-8 with BOM, CRLF)."""
    table = evacuation_opendata_frame(store, as_of=as_of)
    code = municipality(store)[0]
    name = f"{code}{check_digit(code)}_evacuation_info_{stamp(parse_time(as_of))}.csv"
    data = table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    audit_export(store, who, "evacuation-opendata", "evacuations", {"rows": len(table)})
    info = {"towns": table["町丁目コード"].tolist()}
    return ExportResult(data, name, "text/csv", len(table), info)
