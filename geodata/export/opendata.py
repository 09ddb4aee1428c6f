"""Shelter status as open data: the 自治体標準オープンデータセット shelter columns plus status.

One row per shelter with the standard columns of 指定緊急避難場所一覧 (全国地方公共団体コード, ID,
名称, 名称_カナ, 所在地_連結表記, 緯度, 経度, 災害種別_*, 想定収容人数 …), followed by 開設状況,
避難者数 and 時点 (the time of the status, ISO 8601 +09:00). Columns the store has no value for
are left empty, as the standard allows. Estimated capacities are not published as 想定収容人数.
"""

from __future__ import annotations

import pandas as pd

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
from geodata.export.situation import shelter_status_at
from geodata.schema import now_utc

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
STANDARD_COLUMNS = (
    "全国地方公共団体コード", "ID", "名称", "名称_カナ", "名称_英字", "所在地_全国地方公共団体コード",
    "町字ID", "所在地_連結表記", "所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下",
    "建物名等(方書)", "緯度", "経度", "標高", "電話番号", "内線番号", "連絡先メールアドレス",
    "連絡先FormURL", "連絡先備考（その他、SNSなど）", "郵便番号", "市区町村コード", "地方公共団体名",
    *HAZARD_COLUMNS, "指定避難所との重複", "想定収容人数", "対象となる町会・自治会", "URL", "画像",
    "画像_ライセンス", "備考",
)  # fmt: skip
STATUS_COLUMNS = ("開設状況", "避難者数", "時点")
COLUMNS = STANDARD_COLUMNS + STATUS_COLUMNS
ESTIMATED_NOTE = "想定収容人数は未公表"


def shelters_opendata_frame(store, *, as_of=None, city_code: str | None = None) -> pd.DataFrame:
    """The open-data table (all values as text, in :data:`COLUMNS` order), sorted by ID."""
    as_of_ts = parse_time(as_of)
    store = PublicView(store)  # the public-output policy: shelter facts, no staff notes
    code, pref, city = municipality(store, city_code)
    code6 = code + check_digit(code)
    shelters = shelter_status_at(store, as_of_ts)
    if len(shelters) and shelters["city_code"].notna().any():
        mine = shelters["city_code"].astype(str).str[:5] == code
        shelters = shelters[mine] if mine.any() else shelters
    when = iso_jst(as_of_ts if as_of_ts is not None else now_utc())
    rows = []
    for _, s in shelters.sort_values("shelter_id").iterrows():
        hazards = set(s["hazards"] or [])
        estimated = bool(s["capacity_estimated"]) if pd.notna(s["capacity_estimated"]) else False
        capacity = s["capacity_text"] or (
            "" if estimated or pd.isna(s["capacity"]) else str(int(s["capacity"]))
        )
        notes = [
            n
            for n in (s["note"], ESTIMATED_NOTE if estimated and not s["capacity_text"] else None)
            if n
        ]
        point = s.geometry
        row = dict.fromkeys(COLUMNS, "")
        row.update({
            "全国地方公共団体コード": code6, "ID": s["shelter_id"], "名称": s["name"],
            "名称_カナ": s["kana"] or "", "所在地_全国地方公共団体コード": code6,
            "所在地_連結表記": s["address"] or "", "所在地_都道府県": pref, "所在地_市区町村": city,
            "緯度": f"{point.y:.6f}" if point is not None else "",
            "経度": f"{point.x:.6f}" if point is not None else "",
            "市区町村コード": code6, "地方公共団体名": f"{pref}{city}",
            "指定避難所との重複": "1" if s["kind"] == "both" else "",
            "想定収容人数": capacity, "備考": "、".join(notes),
            "開設状況": s["status"], "避難者数": str(int(s["evacuees"] or 0)),
            "時点": iso_jst(s["reported_at"]) if pd.notna(s["reported_at"]) else when,
        })  # fmt: skip
        for column, hazard in HAZARD_COLUMNS.items():
            row[column] = "1" if hazard in hazards else ""
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def shelters_opendata_csv(
    store,
    *,
    as_of=None,
    encoding: str = "utf-8-sig",
    who: str | None = None,
) -> ExportResult:
    """The open-data CSV of shelter status.

    Parameters
    ----------
    store : the store.
    as_of : the status at this time (default: the current status).
    encoding : "utf-8-sig" (UTF-8 with BOM, the default) or "cp932" (Shift_JIS for older
        systems; characters it lacks become 〓, reported in ``info["replaced"]``).
    who : the user, for the audit log.

    Returns
    -------
    ExportResult with one row per shelter.
    """
    if encoding not in ("utf-8-sig", "utf-8", "cp932"):
        raise ValueError("encoding must be utf-8-sig, utf-8 or cp932")
    table = shelters_opendata_frame(store, as_of=as_of)
    info: dict = {"open": int(table["開設状況"].isin(("開設", "満員")).sum())}
    if encoding == "cp932":
        table, info["replaced"] = cp932_safe(table)
    data = table.to_csv(index=False, lineterminator="\r\n").encode(encoding)
    code = table["全国地方公共団体コード"].iloc[0] if len(table) else "000000"
    name = f"{code}_evacuation_space_status_{stamp(parse_time(as_of))}.csv"
    audit_export(
        store, who, "shelters-opendata", "shelters", {"rows": len(table), "encoding": encoding}
    )
    return ExportResult(data, name, "text/csv", len(table), info)
