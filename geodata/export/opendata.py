"""Shelter status as open data: one CSV per kind of designation, each in its own layout.

指定緊急避難場所 (where to flee from a given hazard) and 指定避難所 (where to stay) are different
designations (災害対策基本法 第49条の4 / 第49条の7), and a facility of kind ``both`` is each:

- ``emergency_sites`` — 指定緊急避難場所一覧: the columns of the デジタル庁
  自治体標準オープンデータセット sheet 「03.指定緊急避難場所一覧」, where an empty 災害種別_* column
  means "not designated for that hazard". Only emergency sites (and ``both``) are listed here.
- ``shelters`` — 指定避難所一覧: the standard dataset has no sheet for 指定避難所, so the file takes
  sheet 03's common columns (identity, address, position, contact, 想定収容人数, 備考) without its
  災害種別_* columns (a 指定避難所 is not designated per hazard; empty columns would read "not
  for floods"), plus the columns of 国土地理院's 指定避難所データ that an app needs:
  指定緊急避難場所との重複 and 受入対象者, and 福祉避難所 (``1`` for a welfare shelter: 要配慮者
  only, an app must not send the public there).

Both end with 開設状況, 避難者数 and 時点 (the time of the status record, ISO 8601 +09:00); 指定避難所
add 要配慮者数 (people needing care, one total per shelter, 3人未満 below the small-count
threshold, empty when not counted: :mod:`geodata.export.care`). What
is not known stays unknown: a shelter without any status record is 「報告なし」 with an empty
避難者数 and 時点 (never 未開設 / 0 / the export time, an observation nobody made); a report
without a count has an empty 避難者数. Estimated capacities are not published as 想定収容人数.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geodata import shelters as core
from geodata.export.common import (
    ExportResult,
    audit_export,
    check_digit,
    iso_jst,
    municipality,
    parse_time,
    stamp,
)
from geodata.export.data import cp932_safe
from geodata.export.public import PublicView

HAZARD_COLUMNS = {
    "災害種別_洪水": "flood",
    "災害種別_崖崩れ、土石流及び地滑り": "landslide",
    "災害種別_高潮": "storm_surge",
    "災害種別_地震": "earthquake",
    "災害種別_津波": "tsunami",
    "災害種別_大規模な火事": "large_fire",
    "災害種別_内水氾濫": "inland_flood",
    "災害種別_火山現象": "volcano",
}
IDENTITY_COLUMNS = (
    "全国地方公共団体コード", "ID", "名称", "名称_カナ", "名称_英字", "所在地_全国地方公共団体コード",
    "町字ID", "所在地_連結表記", "所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下",
    "建物名等(方書)", "緯度", "経度", "標高", "電話番号", "内線番号", "連絡先メールアドレス",
    "連絡先FormURL", "連絡先備考（その他、SNSなど）", "郵便番号", "市区町村コード", "地方公共団体名",
)  # fmt: skip
TAIL_COLUMNS = ("想定収容人数", "対象となる町会・自治会", "URL", "画像", "画像_ライセンス", "備考")
STATUS_COLUMNS = ("開設状況", "避難者数", "時点")
# 自治体標準オープンデータセット 03.指定緊急避難場所一覧, then the status.
EMERGENCY_SITE_COLUMNS = (
    IDENTITY_COLUMNS + tuple(HAZARD_COLUMNS) + ("指定避難所との重複",) + TAIL_COLUMNS
)
# Sheet 03's common columns + 国土地理院 指定避難所データ's, then the status.
SHELTER_COLUMNS = (
    IDENTITY_COLUMNS + ("指定緊急避難場所との重複", "受入対象者", "福祉避難所") + TAIL_COLUMNS
)
# 要配慮者 counted at a 指定避難所 (one total; fewer than the threshold as 3人未満; empty: not
# counted): geodata.export.care.
CARE_COLUMN = "要配慮者数"
ESTIMATED_NOTE = "想定収容人数は未公表"
WELFARE_NOTE = "福祉避難所（要配慮者のための避難所）"


@dataclass(frozen=True)
class Dataset:
    """One open-data file: its title, the shelter kinds it lists, its columns, its file name."""

    title: str
    kinds: tuple[str, ...]
    columns: tuple[str, ...]
    file_stem: str


DATASETS: dict[str, Dataset] = {
    "emergency_sites": Dataset(
        "指定緊急避難場所一覧",
        ("emergency_site", "both"),
        EMERGENCY_SITE_COLUMNS + STATUS_COLUMNS,
        "evacuation_space_status",
    ),
    "shelters": Dataset(
        "指定避難所一覧",
        ("shelter", "both"),
        SHELTER_COLUMNS + (CARE_COLUMN,) + STATUS_COLUMNS,
        "designated_shelter_status",
    ),
}


def shelters_opendata_frame(
    store, *, dataset: str, as_of=None, city_code: str | None = None
) -> pd.DataFrame:
    """The open-data table of ``dataset`` (all values as text, in its columns), sorted by ID.

    Parameters
    ----------
    store : the store.
    dataset : ``"emergency_sites"`` or ``"shelters"`` (see :data:`DATASETS`).
    as_of : the status at this time (default: the current status).
    city_code : the municipality (default: the BOSAI_MUNICIPALITY setting).
    """
    spec = _dataset(dataset)
    as_of_ts = parse_time(as_of)
    store = PublicView(store)  # the public-output policy: shelter facts, no staff notes
    code, pref, city = municipality(store, city_code)
    code6 = code + check_digit(code)
    frame = core.status_at(store, as_of_ts)
    if len(frame) and frame["city_code"].notna().any():
        mine = frame["city_code"].astype(str).str[:5] == code
        frame = frame[mine] if mine.any() else frame
    frame = frame[frame["kind"].isin(spec.kinds)]
    rows = []
    for s in frame.sort_values("shelter_id").to_dict("records"):
        row = dict.fromkeys(spec.columns, "")
        row.update(_identity(s, code6, pref, city))
        row.update(_status(s))
        if dataset == "emergency_sites":
            hazards = set(s["hazards"] or [])
            for column, hazard in HAZARD_COLUMNS.items():
                row[column] = "1" if hazard in hazards else ""
            row["指定避難所との重複"] = "1" if s["kind"] == "both" else ""
        else:
            welfare = core.is_welfare(s)
            row["指定緊急避難場所との重複"] = "1" if s["kind"] == "both" else ""
            row["受入対象者"] = s["target"] if isinstance(s["target"], str) else ""
            row["福祉避難所"] = "1" if welfare else ""
            if welfare:
                row["備考"] = "、".join(n for n in (WELFARE_NOTE, row["備考"]) if n)
            care = s.get(core.PUBLIC_CARE)
            row[CARE_COLUMN] = care if isinstance(care, str) else _count_text(care)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(spec.columns))


def _dataset(dataset: str) -> Dataset:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


def _identity(s: dict, code6: str, pref: str, city: str) -> dict:
    """The columns every layout shares: identity, address, position, capacity, notes."""
    estimated = bool(s["capacity_estimated"]) if pd.notna(s["capacity_estimated"]) else False
    text = s["capacity_text"] if isinstance(s["capacity_text"], str) else ""
    capacity = text or ("" if estimated or pd.isna(s["capacity"]) else str(int(s["capacity"])))
    note = s["note"] if isinstance(s["note"], str) else ""
    notes = [n for n in (note, ESTIMATED_NOTE if estimated and not text else None) if n]
    point = s["geometry"]
    located = point is not None and not point.is_empty
    return {
        "全国地方公共団体コード": code6, "ID": s["shelter_id"], "名称": s["name"],
        "名称_カナ": s["kana"] or "", "所在地_全国地方公共団体コード": code6,
        "所在地_連結表記": s["address"] or "", "所在地_都道府県": pref, "所在地_市区町村": city,
        "緯度": f"{point.y:.6f}" if located else "", "経度": f"{point.x:.6f}" if located else "",
        "市区町村コード": code6, "地方公共団体名": f"{pref}{city}",
        "想定収容人数": capacity, "備考": "、".join(notes),
    }  # fmt: skip


def _status(s: dict) -> dict:
    """開設状況 / 避難者数 / 時点 as reported; 報告なし and empty cells where nothing was."""
    if s["status"] is None:
        return {"開設状況": core.NO_REPORT, "避難者数": "", "時点": ""}
    evacuees = core.to_number(s["evacuees"])
    return {
        "開設状況": s["status"],
        "避難者数": "" if evacuees is None else str(int(evacuees)),
        "時点": iso_jst(s["reported_at"]),
    }


def shelters_opendata_csv(
    store,
    *,
    dataset: str,
    as_of=None,
    encoding: str = "utf-8-sig",
    who: str | None = None,
) -> ExportResult:
    """The open-data CSV of one dataset.

    Parameters
    ----------
    store : the store.
    dataset : ``"emergency_sites"`` (指定緊急避難場所一覧) or ``"shelters"`` (指定避難所一覧).
    as_of : the status at this time (default: the current status).
    encoding : "utf-8-sig" (UTF-8 with BOM, the default) or "cp932" (Shift_JIS for older
        systems; characters it lacks become 〓, reported in ``info["replaced"]``; the file name
        ends in ``_sjis``).
    who : the user, for the audit log.

    Returns
    -------
    ExportResult with one row per listed facility; ``info``: ``dataset``, ``open`` (rows whose
    開設状況 is an open state), ``open_ids``, ``ids``.
    """
    if encoding not in ("utf-8-sig", "utf-8", "cp932"):
        raise ValueError("encoding must be utf-8-sig, utf-8 or cp932")
    spec = _dataset(dataset)
    table = shelters_opendata_frame(store, dataset=dataset, as_of=as_of)
    opened = table["開設状況"].isin(core.OPEN_STATES)
    info: dict = {
        "dataset": dataset,
        "open": int(opened.sum()),
        "open_ids": sorted(table.loc[opened, "ID"]),
        "ids": sorted(table["ID"]),
    }
    if encoding == "cp932":
        table, info["replaced"] = cp932_safe(table)
    data = table.to_csv(index=False, lineterminator="\r\n").encode(encoding)
    code = municipality(store)[0]
    code6 = code + check_digit(code)
    suffix = "_sjis" if encoding == "cp932" else ""
    name = f"{code6}_{spec.file_stem}_{stamp(parse_time(as_of))}{suffix}.csv"
    audit_export(
        store,
        who,
        "shelters-opendata",
        "shelters",
        {"dataset": dataset, "rows": len(table), "encoding": encoding},
    )
    return ExportResult(data, name, "text/csv", len(table), info)


def shelters_opendata(
    store, *, as_of=None, encoding: str = "utf-8-sig", who: str | None = None
) -> list[ExportResult]:
    """Both open-data CSVs (指定緊急避難場所一覧, 指定避難所一覧); see :func:`shelters_opendata_csv`."""
    return [
        shelters_opendata_csv(store, dataset=d, as_of=as_of, encoding=encoding, who=who)
        for d in DATASETS
    ]


def _count_text(value) -> str:
    number = core.to_number(value)
    return "" if number is None else str(int(number))
