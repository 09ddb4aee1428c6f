"""Shelter count exports (避難所の開設状況・避難者数) and field survey reports (職員の現地調査).

Shelters open progressively: the riverside ones with the 高齢者等避難 at T+2 h and fill first,
the others with the 避難指示 at T+6 h / T+9 h, welfare shelters (福祉避難所) on demand from
T+10 h. A few riverside shelters go over capacity. After the peak the others close.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from geodata.shelters import CLOSED, FULL, NOT_OPEN, OPEN, is_open
from ingest.drill import texts as tx
from ingest.drill.posts import CAT_MIX, CATS, FLOOD_BIAS, phase_of
from ingest.drill.world import FLOOD_TOWN_SHARE, World, points_in_towns

REPORT_HOURS = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 17.0, 20.0, 23.5)
OPENDATA_HOUR = 6.0
PEAK_H = 13.0
STATUS_COLUMNS = ["共通ID", "施設名", "開設状況", "避難者数", "世帯数", "必要物資", "報告日時"]
FIELD_COLUMNS = [
    "報告ID",
    "報告日時",
    "緯度",
    "経度",
    "種別",
    "深刻度",
    "内容",
    "写真URL",
    "報告者",
]
NEEDS_JA = {"water": "水", "food": "食料", "blankets": "毛布", "toilets": "簡易トイレ",
            "milk": "粉ミルク", "power": "電源", "medicine": "医薬品", "staff": "人員"}  # fmt: skip
SEVERITY_JA = {3: "高", 2: "中", 1: "低"}


def _jst(t0: pd.Timestamp, hours) -> pd.DatetimeIndex:
    return t0.tz_convert("Asia/Tokyo") + pd.to_timedelta(np.asarray(hours, dtype=float), unit="h")


def _plan(world: World, rng: np.random.Generator) -> pd.DataFrame:
    """Per shelter: when it opens, how full it gets at the peak, when it closes."""
    sh = world.shelters.copy()
    n = len(sh)
    riverside, welfare = sh["riverside"].to_numpy(), sh["welfare"].to_numpy()
    open_h = np.where(riverside, 2.0, np.where(rng.random(n) < 0.5, 6.0, 9.0))
    open_h = np.where(welfare, np.where(rng.random(n) < 0.4, 10.0, np.inf), open_h)
    peak = np.where(riverside, rng.uniform(0.6, 1.0, n), rng.uniform(0.1, 0.5, n))
    peak = np.where(welfare, rng.uniform(0.5, 1.0, n), peak)
    general_riverside = np.flatnonzero(riverside & ~welfare)
    over = rng.choice(general_riverside, size=min(3, len(general_riverside)), replace=False)
    peak[over] = rng.uniform(1.1, 1.35, len(over))
    close_h = np.where(~riverside & (peak < 0.3), 20.0, np.inf)
    sh["open_h"], sh["peak"], sh["close_h"] = open_h, peak, close_h
    sh["hh_size"] = rng.uniform(1.8, 2.5, n)
    return sh


def _evacuees(sh: pd.DataFrame, hour: float) -> np.ndarray:
    open_h, peak = sh["open_h"].to_numpy(), sh["peak"].to_numpy()
    rise = np.clip((hour - open_h) / np.maximum(PEAK_H - open_h, 1.0), 0.0, 1.0) ** 0.7
    fall = np.clip(1.0 - (hour - 16.0) / 12.0, 0.25, 1.0)
    share = np.where(hour < open_h, 0.0, rise * np.where(hour > 16.0, fall, 1.0))
    return np.round(sh["capacity"].to_numpy() * peak * share).astype(int)


def _needs(hour: float, full: bool, riverside: bool, u: np.ndarray) -> list[str]:
    needs = []
    if hour >= 8 and u[0] < 0.6:
        needs.append("water")
    if hour >= 10 and (full or u[1] < 0.5):
        needs.append("blankets")
    if hour >= 10 and u[2] < 0.5:
        needs.append("food")
    if hour >= 12 and riverside and u[3] < 0.4:
        needs.append("toilets")
    if u[4] < 0.05:
        needs.append("milk")
    return needs


def shelter_exports(
    world: World, t0: pd.Timestamp, rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """The shelter system's exports, one frame per report time, keyed by file name.

    ``status-YYYYMMDDHHMM.csv``: every designated shelter, columns STATUS_COLUMNS; times are JST
    without offset (as such systems write them); a few rows carry only the name, no 共通ID.
    ``opendata-YYYYMMDDHHMM.csv``: the published open-data shape at T+6 h, whose evacuee column
    header carries the time (「人数_令和8年10月12日午後6時時点」).
    """
    plan = _plan(world, rng)
    files: dict[str, pd.DataFrame] = {}
    riverside = plan["riverside"].to_numpy()
    for hour in REPORT_HOURS:
        evac = _evacuees(plan, hour)
        cap = plan["capacity"].to_numpy()
        closed = hour >= plan["close_h"].to_numpy()
        opened = hour >= plan["open_h"].to_numpy()
        status = np.where(
            ~opened, NOT_OPEN, np.where(closed, CLOSED, np.where(evac >= cap, FULL, OPEN))
        )
        evac = np.where(opened & ~closed, evac, 0)
        hh = np.round(evac / plan["hh_size"].to_numpy()).astype(int)
        u = rng.random((len(plan), 5))
        needs = [
            "; ".join(NEEDS_JA[k] for k in _needs(hour, s == FULL, r, u[i])) if is_open(s) else ""
            for i, (s, r) in enumerate(zip(status, riverside, strict=True))
        ]
        lag = rng.uniform(0, 25, len(plan))
        at = _jst(t0, hour - lag / 60).strftime("%Y/%m/%d %H:%M")
        ids = np.where(rng.random(len(plan)) < 0.05, "", plan["common_id"].to_numpy())
        frame = pd.DataFrame(
            {
                "共通ID": ids,
                "施設名": plan["name"].to_numpy(),
                "開設状況": status,
                "避難者数": np.where(opened, evac.astype(str), ""),
                "世帯数": np.where(opened, hh.astype(str), ""),
                "必要物資": needs,
                "報告日時": at,
            }
        )
        files[f"status-{_jst(t0, [hour])[0]:%Y%m%d%H%M}.csv"] = frame
    files[_opendata_name(t0)] = _opendata(plan, t0)
    return files


def _opendata_name(t0: pd.Timestamp) -> str:
    return f"opendata-{_jst(t0, [OPENDATA_HOUR])[0]:%Y%m%d%H%M}.csv"


def reiwa_label(ts: pd.Timestamp) -> str:
    """「令和8年10月12日午後6時」 for a JST time (whole hours).

    Examples
    --------
    >>> reiwa_label(pd.Timestamp("2026-10-12 18:00", tz="Asia/Tokyo"))
    '令和8年10月12日午後6時'
    """
    ts = ts.tz_convert("Asia/Tokyo")
    half = "午前" if ts.hour < 12 else "午後"
    return f"令和{ts.year - 2018}年{ts.month}月{ts.day}日{half}{ts.hour % 12}時"


def _opendata(plan: pd.DataFrame, t0: pd.Timestamp) -> pd.DataFrame:
    at = _jst(t0, [OPENDATA_HOUR])[0].floor("h")
    evac = _evacuees(plan, OPENDATA_HOUR)
    opened = OPENDATA_HOUR >= plan["open_h"].to_numpy()
    return pd.DataFrame(
        {
            "全国地方公共団体コード": "132080",
            "ID": plan["common_id"].to_numpy(),
            "名称": plan["name"].to_numpy(),
            "所在地_連結表記": plan["address"].to_numpy(),
            "緯度": plan["lat"].to_numpy(),
            "経度": plan["lon"].to_numpy(),
            "開設状況": np.where(opened, OPEN, NOT_OPEN),
            f"人数_{reiwa_label(at)}時点": np.where(opened, evac, 0),
        }
    )


def field_reports(world: World, n: int, t0: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """The survey tool's export: one row per report (FIELD_COLUMNS) plus truth columns
    ``_category`` and ``_town_code`` (dropped when written)."""
    if n <= 0:
        return pd.DataFrame(columns=FIELD_COLUMNS + DAMAGE_COLUMNS + ["_category", "_town_code"])
    hours = np.sort(rng.uniform(4.0, 23.8, n))
    phase = phase_of(hours * 3600)
    mix = CAT_MIX.copy()
    mix[:, CATS.index(tx.OTHER)] *= 0.2
    mix /= mix.sum(axis=1, keepdims=True)
    cum = np.cumsum(mix, axis=1)
    cat = (rng.random(n)[:, None] > cum[phase]).sum(axis=1).clip(0, len(CATS) - 1)
    towns = world.towns
    pop = towns["population"].to_numpy(float)
    flood_w = np.where(towns["flood_share"] >= FLOOD_TOWN_SHARE, pop + 300, 0.0)
    to_flood = (cat == CATS.index(tx.FLOOD)) & (rng.random(n) < FLOOD_BIAS[phase])
    town = np.where(
        to_flood,
        rng.choice(len(towns), size=n, p=flood_w / flood_w.sum()),
        rng.choice(len(towns), size=n, p=pop / pop.sum()),
    )
    lon, lat = points_in_towns(world, town, to_flood, rng)
    severity = np.where(cat == CATS.index(tx.RESCUE), 3, np.where(rng.random(n) < 0.4, 2, 1))
    severity = np.where(to_flood & (phase >= 2), 3, severity)
    teams = rng.integers(1, 6, n)
    surname = rng.integers(len(tx.SURNAMES), size=n)
    photo = rng.random(n) < 0.6
    text_pick = rng.random(n)
    ids = [
        str(uuid.UUID(bytes=bytes(b), version=4))
        for b in rng.integers(0, 256, (n, 16), dtype=np.uint8)
    ]
    names = towns["name"].to_numpy()[town]
    cats = [CATS[c] for c in cat]
    return pd.DataFrame(
        {
            "報告ID": ids,
            "報告日時": _jst(t0, hours).strftime("%Y-%m-%d %H:%M:%S"),
            "緯度": np.round(lat, 6),
            "経度": np.round(lon, 6),
            "種別": cats,
            "深刻度": [SEVERITY_JA[s] for s in severity],
            "内容": [
                f"{tx.FIELD_TEXTS[c][int(p * len(tx.FIELD_TEXTS[c]))]}（{nm}）"
                for c, p, nm in zip(cats, text_pick, names, strict=True)
            ],
            "写真URL": [
                f"https://survey.example/attachments/{i}.jpg" if p else ""
                for i, p in zip(ids, photo, strict=True)
            ],
            "報告者": [
                f"第{t}調査班 {tx.SURNAMES[s][0]}" for t, s in zip(teams, surname, strict=True)
            ],
            **damage_figures(cat, rng),
            "_category": cats,
            "_town_code": towns["town_code"].to_numpy()[town],
        }
    )


# The damage columns of the survey export (第4号様式's items; geodata/damage.py reads them).
DAMAGE_COLUMNS = [
    "確認状況",
    "死者",
    "行方不明者",
    "重傷",
    "軽傷",
    *[f"{k}({u})" for k in ("全壊", "半壊", "一部破損", "床上浸水", "床下浸水")
      for u in ("棟", "世帯", "人")],
    "道路",
    "崖くずれ",
    "水道",
    "電気",
    "火災(建物)",
]  # fmt: skip
VERIFIED_SHARE = 0.75  # the HQ has verified about three in four reports by the drill's end


def damage_figures(cat: np.ndarray, rng: np.random.Generator) -> dict[str, list]:
    """The damage a report states, by its category (drawn after every other column, so the
    rest of the export is what it was before these columns existed)."""
    n = len(cat)
    draw = rng.random((n, 4))
    size = rng.integers(1, 6, n)
    cols: dict[str, list] = {c: [""] * n for c in DAMAGE_COLUMNS}
    cols["確認状況"] = ["確認済" if d < VERIFIED_SHARE else "未確認" for d in draw[:, 0]]

    def put(column: str, i: int, value: int) -> None:
        cols[column][i] = str(int(value))

    for i, c in enumerate(cat):
        category = CATS[c]
        if category == tx.BUILDING:
            kind = "全壊" if draw[i, 1] < 0.1 else "半壊" if draw[i, 1] < 0.35 else "一部破損"
            put(f"{kind}(棟)", i, 1)
            put(f"{kind}(世帯)", i, 1)
            put(f"{kind}(人)", i, size[i])
        elif category == tx.FLOOD:
            kind = "床上浸水" if draw[i, 1] < 0.3 else "床下浸水"
            put(f"{kind}(棟)", i, size[i])
            put(f"{kind}(世帯)", i, size[i])
            put(f"{kind}(人)", i, 2 * size[i])
        elif category == tx.RESCUE:
            put("軽傷", i, int(draw[i, 1] * 3))
            put("重傷", i, int(draw[i, 2] < 0.2))
        elif category == tx.FIRE:
            put("火災(建物)", i, 1)
        elif category == tx.ROAD:
            put("道路", i, 1)
        elif category == tx.SLIDE:
            put("崖くずれ", i, 1)
        elif category == tx.POWER:
            put("電気", i, 10 * size[i] * (1 + int(draw[i, 3] * 10)))
        elif category == tx.WATER:
            put("水道", i, 10 * size[i] * (1 + int(draw[i, 3] * 5)))
    return cols
