"""被害報: the damage report the city owes the prefecture (災害報告取扱要領 第4号様式), and 第N報.

Every count of その2 (被害状況即報) is a query over the field reports (現地調査) and the incidents
they belong to (:func:`counts`):

- **確定** counts come only from reports the HQ verified (``triage`` ``verified`` or ``handled``);
  **未確認** counts from reports nobody has verified yet (``new`` or no triage). A dismissed report
  counts nowhere. A count shows the reports behind it (``evidence``), one click away.
- Reports of one incident describe the same damage: per incident each item counts its largest
  figure among the incident's reports, not their sum (two teams reporting one collapsed house
  count one house). A report without an incident counts alone.
- り災世帯数 and り災者数 are 全壊 + 半壊 + 床上浸水 (世帯 and 人), as the 様式 defines them.

その1 (災害概況即報) adds the HQ's set-up (entered when the report is fixed), the shelters open and
their evacuees at the report's time (:func:`geodata.shelters.status_at`), and the evacuation
information in force when that module exists.

:func:`fix_report` fixes a 第N報 at a time: the number is the next one, the figures are stored as
they were (a later verification changes the next 報, never this one), the chronology records it,
and :func:`difference` gives what changed since the previous 報. docs/damage-report.md cites
the 様式's items and layout.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from geodata import chronology, evacuation, shelters, vocab
from geodata.schema import now_utc, to_utc

CONFIRMED, UNCONFIRMED = vocab.DAMAGE_CERTAINTY.codes  # 確定, 未確認
VERIFIED = ("verified", "handled")
UNVERIFIED = ("new", None)
ITEMS = vocab.DAMAGE_ITEMS.codes
COLUMNS = [f"dmg_{c}" for c in ITEMS]
# り災世帯数 / り災者数: 全壊 + 半壊 + 床上浸水 (世帯 / 人).
AFFECTED = {
    "affected_hh": (
        "り災世帯数",
        "世帯",
        ("house_total_hh", "house_half_hh", "house_above_floor_hh"),
    ),
    "affected_ppl": (
        "り災者数",
        "人",
        ("house_total_ppl", "house_half_ppl", "house_above_floor_ppl"),
    ),
}
# Column headers a survey export may use for each item (NFKC; the code form always works).
_HOUSE_JA = {"total": "全壊", "half": "半壊", "partial": "一部破損", "above_floor": "床上浸水",
             "below_floor": "床下浸水"}  # fmt: skip
_UNIT_JA = {"bldg": "棟", "hh": "世帯", "ppl": "人"}
FILE_HEADERS: dict[str, tuple[str, ...]] = {
    "dead": ("死者",),
    "missing": ("行方不明者", "行方不明"),
    "injured_serious": ("重傷", "負傷者(重傷)", "重傷者"),
    "injured_minor": ("軽傷", "負傷者(軽傷)", "軽傷者"),
    **{
        f"house_{k}_{u}": (f"{ja}({uja})", f"住家{ja}({uja})", f"住家 {ja}({uja})")
        for k, ja in _HOUSE_JA.items()
        for u, uja in _UNIT_JA.items()
    },
    "nonres_public": ("非住家(公共建物)", "非住家 公共建物", "公共建物"),
    "nonres_other": ("非住家(その他)", "非住家 その他"),
    "road": ("道路",),
    "bridge": ("橋りょう", "橋梁"),
    "river": ("河川",),
    "cliff": ("崖くずれ", "がけ崩れ"),
    "water": ("水道", "断水戸数"),
    "power": ("電気", "停電戸数"),
    "gas": ("ガス",),
    "phone": ("電話",),
    "fire_building": ("火災(建物)", "火災発生 建物"),
    "fire_hazmat": ("火災(危険物)", "火災発生 危険物"),
    "fire_other": ("火災(その他)", "火災発生 その他"),
}
TRIAGE_HEADERS = ("triage", "確認状況", "確認", "status")
TRIAGE_WORDS = {"確認済": "verified", "確認済み": "verified", "verified": "verified",
                "対応済": "handled", "未確認": "new", "new": "new", "対象外": "dismissed"}  # fmt: skip


def parse_damage(record: dict) -> dict:
    """``dmg_*`` counts and ``triage`` from a survey export's row (headers NFKC-normalized).

    Empty cells are None (not stated); a count that is not a whole number ≥ 0 is a ValueError.

    Examples
    --------
    >>> parse_damage({"全壊(棟)": "2", "死者": "", "確認状況": "確認済"})["dmg_house_total_bldg"]
    2
    """
    cells = {unicodedata.normalize("NFKC", str(k)).strip(): v for k, v in record.items()}
    out: dict = {}
    for code, headers in FILE_HEADERS.items():
        value = None
        for header in (f"dmg_{code}", *headers):
            if header in cells and not _empty(cells[header]):
                value = cells[header]
                break
        out[f"dmg_{code}"] = _count(value, code)
    triage = next((cells[h] for h in TRIAGE_HEADERS if h in cells and not _empty(cells[h])), None)
    if triage is not None:
        word = unicodedata.normalize("NFKC", str(triage)).strip()
        if word not in TRIAGE_WORDS:
            raise ValueError(f"unknown verification state {triage!r}")
        out["triage"] = TRIAGE_WORDS[word]
    return out


def _empty(value) -> bool:
    return (
        value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""
    )


def _count(value, code: str) -> int | None:
    if value is None:
        return None
    number = float(unicodedata.normalize("NFKC", str(value)).replace(",", ""))
    if number < 0 or number != int(number):
        raise ValueError(f"{vocab.DAMAGE_ITEMS.label(code)}: {value!r} is not a count")
    return int(number)


def _reports(store, as_of) -> pd.DataFrame:
    until = to_utc(as_of) + pd.Timedelta(microseconds=1) if as_of is not None else None
    cols = ["reported_at", "category", "incident_id", "triage", "town_code", *COLUMNS]
    return store.read("field_reports", until=until, columns=cols)


def counts(store, as_of=None) -> pd.DataFrame:
    """Every item of その2 with its 確定 and 未確認 count at ``as_of`` (default now).

    Returns
    -------
    DataFrame indexed by item code (:data:`geodata.vocab.DAMAGE_ITEMS`, then ``affected_hh`` and
    ``affected_ppl``) with ``label``, ``unit``, ``confirmed``, ``unconfirmed`` and the evidence:
    ``confirmed_reports`` / ``unconfirmed_reports`` (``source:source_id`` of the reports that
    state the item).
    """
    reports = _reports(store, as_of)
    reports["key"] = reports["source"].astype(str) + ":" + reports["source_id"].astype(str)
    triage = reports["triage"].astype(object).where(reports["triage"].notna(), None)
    parts = {
        "confirmed": reports[triage.isin(VERIFIED)],
        "unconfirmed": reports[triage.isin(["new"]) | triage.isna()],
    }
    rows = {code: {"label": vocab.DAMAGE_ITEMS.label(code), "unit": vocab.DAMAGE_UNITS[code]}
            for code in ITEMS}  # fmt: skip
    for name, part in parts.items():
        group = part["incident_id"].astype(object).where(part["incident_id"].notna(), part["key"])
        for code in ITEMS:
            values = pd.to_numeric(part[f"dmg_{code}"], errors="coerce")
            stated = values.notna() & (values > 0)
            rows[code][name] = int(values[stated].groupby(group[stated]).max().sum())
            rows[code][f"{name}_reports"] = sorted(part.loc[stated, "key"])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    for code, (label, unit, items) in AFFECTED.items():
        frame.loc[code, ["label", "unit"]] = [label, unit]
        for name in parts:
            frame.loc[code, name] = int(frame.loc[list(items), name].sum())
            evidence = sorted({k for i in items for k in frame.loc[i, f"{name}_reports"]})
            frame.at[code, f"{name}_reports"] = evidence
    frame[["confirmed", "unconfirmed"]] = frame[["confirmed", "unconfirmed"]].astype(int)
    return frame


def overview(store, as_of=None, *, hq_setup: str | None = None) -> dict:
    """その1's HQ and evacuation lines at ``as_of``: the set-up, shelters open, evacuees."""
    at = to_utc(as_of) if as_of is not None else pd.Timestamp(now_utc())
    summary = shelters.summary(shelters.status_at(store, at))
    out = {
        "hq_setup": hq_setup or "",
        "shelters_open": summary["open"],
        "evacuees": summary["evacuees"],
        "evacuation": _evacuation(store, at),
    }
    return out


def _evacuation(store, at) -> list[str]:
    """Evacuation information in force at ``at``, one line per order (geodata.evacuation):
    ``【警戒レベル4】避難指示（洪水）12町丁目 06/01 14:05発令``."""
    lines = []
    for order in evacuation.orders_in_force(store, at).to_dict("records"):
        where = "全域" if order["whole_city"] else f"{len(order['towns'] or [])}町丁目"
        since = to_utc(order["issued_at"]).tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M")
        hazard = vocab.HAZARDS.label(order["hazard"])
        lines.append(f"{evacuation.level_title(order['level'])}（{hazard}）{where} {since}発令")
    return lines


def fix_report(store, *, actor: str, as_of=None, disaster_name: str = "",
               hq_setup: str | None = None) -> dict:  # fmt: skip
    """Fix the next 第N報 at ``as_of`` (default now): store its figures and evidence, record it in
    the chronology; returns the stored report (with ``number``)."""
    at = to_utc(as_of) if as_of is not None else pd.Timestamp(now_utc())
    table = counts(store, at)
    figures = {code: {"confirmed": int(r["confirmed"]), "unconfirmed": int(r["unconfirmed"])}
               for code, r in table.iterrows()}  # fmt: skip
    evidence = {code: {"confirmed": r["confirmed_reports"], "unconfirmed": r["unconfirmed_reports"]}
                for code, r in table.iterrows()}  # fmt: skip
    record = {"as_of": at, "disaster_name": disaster_name, "figures": figures,
              "evidence": evidence, "overview": overview(store, at, hq_setup=hq_setup)}  # fmt: skip
    with store.transaction():
        stored = store.append_damage_report(record, actor=actor)
        number = stored["number"]
        jst = at.tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M")
        dead, missing = figures["dead"]["confirmed"], figures["missing"]["confirmed"]
        text = f"被害報 第{number}報（{jst}現在）確定: 死者{dead}人 行方不明者{missing}人"
        chronology.record_event(store, "damage_report", text, {"damage_report": [str(number)]},
                                key=f"damage_report:{number}", at=stored["fixed_at"])  # fmt: skip
    return stored


def fixed_reports(store) -> pd.DataFrame:
    """Every fixed 報, 第1報 first."""
    return store.read("damage_reports", order="number")


def report(store, number: int) -> dict | None:
    """The 第``number``報 as stored, or None."""
    return store.get("damage_reports", number)


def difference(current: dict, previous: dict | None) -> pd.DataFrame:
    """Per item: this 報's 確定 and 未確認 counts and the change since ``previous`` (第N-1報).

    Without a previous 報 every change is the count itself.
    """
    rows = []
    before = (previous or {}).get("figures") or {}
    for code, now in current["figures"].items():
        old = before.get(code, {"confirmed": 0, "unconfirmed": 0})
        label = vocab.DAMAGE_ITEMS.label(code) if code in vocab.DAMAGE_ITEMS else AFFECTED[code][0]
        unit = vocab.DAMAGE_UNITS.get(code) or AFFECTED[code][1]
        rows.append({
            "item": code, "label": label, "unit": unit,
            "confirmed": now["confirmed"], "unconfirmed": now["unconfirmed"],
            "change": now["confirmed"] - old["confirmed"],
            "unconfirmed_change": now["unconfirmed"] - old["unconfirmed"],
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("item")


def verify_report(store, key: tuple[str, str], *, actor: str, dismiss: bool = False) -> dict:
    """The HQ verifies (or dismisses) a field report: its damage counts become 確定 (or none).

    A verified report of the highest severity is recorded in the chronology (once per incident).
    """
    state = "dismissed" if dismiss else "verified"
    record = store.update("field_reports", tuple(key), {"triage": state}, actor=actor)
    if not dismiss:
        chronology.incident_verified(store, record, layer="field_reports")
    return record
