"""避難所案内 in the chat: the nearest open shelters for a resident's point, and the words of the
answer.

A resident who sends 「避難所」 or their location to the city's LINE account is answered
(ingest/outbound/guidance.py, through the reply API) with the :data:`NEAREST` nearest *open*
shelters (:data:`geodata.shelters.OPEN_STATES`; a 満員 shelter is still named, marked full, so
nobody walks to it unwarned) suited to the current hazard when one is known (the
``hazards`` column of the shelters layer, see :func:`suits`; ``flood`` in the drill), each with how full it is in
the occupancy classes of :mod:`geodata.shelters`. Distances are straight-line metres (UTM), not
walking routes: the text says so.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geodata.geometry import utm_crs
from geodata.shelters import FULL, OPEN_STATES, is_welfare, occupancy_class, occupancy_rate
from geodata.vocab import HAZARDS

NEAREST = 3
KEYWORDS = ("避難所", "避難場所", "ひなんじょ", "shelter")
# How full a shelter is, in the resident's words, by occupancy class (0–3) of geodata.shelters.
FULLNESS = {0: "空きあり", 1: "やや混雑", 2: "混雑", 3: "ほぼ満員"}
FULLNESS_UNKNOWN = "混雑状況不明"


def asks_for_shelters(text: str | None) -> bool:
    """Whether a chat text asks where to go (「避難所」, 「避難場所」 …).

    Examples
    --------
    >>> asks_for_shelters("近くの避難所は？"), asks_for_shelters("無事です")
    (True, False)
    """
    if not isinstance(text, str):
        return False
    lowered = text.strip().lower()
    return any(k in lowered for k in KEYWORDS)


def suits(hazards, hazard: str | None) -> bool:
    """Whether a shelter designated for ``hazards`` suits ``hazard`` (None: any shelter).

    A shelter designated for no hazard at all suits every hazard: the GSI data lists hazards for
    指定緊急避難場所 only, so every 指定避難所 has none (調布市: 68 of 78). An emergency site
    designated for other hazards does not suit (多摩川河川敷, an earthquake and fire site, is no
    place to go in a flood).

    Examples
    --------
    >>> suits(["earthquake", "large_fire"], "flood"), suits([], "flood"), suits(["flood"], "flood")
    (False, True, True)
    """
    if not hazard:
        return True
    if isinstance(hazards, str) or not hasattr(hazards, "__iter__"):
        return True
    listed = list(hazards)
    return not listed or hazard in listed


def nearest_open(
    shelters: gpd.GeoDataFrame,
    lon: float,
    lat: float,
    *,
    hazard: str | None = None,
    n: int = NEAREST,
    needs_care: bool = False,
) -> pd.DataFrame:
    """The ``n`` nearest open shelters to (lon, lat), suited to ``hazard``.

    A 福祉避難所 (:func:`geodata.shelters.is_welfare`) is for people who need care, not the
    public: it is left out unless ``needs_care`` (a resident on the roster of people who need
    help to evacuate asks). Sending the public there fills the places meant for them.

    Parameters
    ----------
    shelters : shelters with their current status (:func:`geodata.shelters.status_at`).
    lon, lat : the resident's point (EPSG:4326).
    hazard : a code of :data:`geodata.vocab.HAZARDS` (None: any open shelter).
    n : how many.
    needs_care : the person needs care (要配慮者): welfare shelters are answered too.

    Returns
    -------
    DataFrame with shelter_id, name, address, status, evacuees, capacity, occupancy_class
    (None when the capacity is unknown), distance_m (rounded), lon, lat; nearest first
    (ties by shelter id).
    """
    open_now = shelters[shelters["status"].isin(OPEN_STATES)]
    suited = pd.Series([suits(h, hazard) for h in open_now["hazards"]], index=open_now.index)
    open_now = open_now[suited.astype(bool)]
    if not needs_care and len(open_now):
        public = [not is_welfare(rec) for rec in open_now.to_dict("records")]
        open_now = open_now[pd.Series(public, index=open_now.index, dtype=bool)]
    open_now = open_now[open_now.geometry.notna() & ~open_now.geometry.is_empty]
    if open_now.empty:
        return pd.DataFrame(
            columns=["shelter_id", "name", "address", "status", "evacuees", "capacity",
                     "occupancy_class", "distance_m", "lon", "lat"]
        )  # fmt: skip
    metric = utm_crs(lon, lat)
    here = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326").to_crs(metric).iloc[0]
    points = open_now.geometry.to_crs(metric)
    out = pd.DataFrame(
        {
            "shelter_id": open_now["shelter_id"].astype(str).to_numpy(),
            "name": open_now["name"].to_numpy(),
            "address": open_now.get("address", pd.Series(None, index=open_now.index)).to_numpy(),
            "status": open_now["status"].to_numpy(),
            "evacuees": open_now["evacuees"].to_numpy(),
            "capacity": open_now["capacity"].to_numpy(),
            "distance_m": points.distance(here).round().to_numpy(),
            "lon": open_now.geometry.x.to_numpy(),
            "lat": open_now.geometry.y.to_numpy(),
        }
    )
    out["occupancy_class"] = [
        occupancy_class(occupancy_rate(e, c))
        for e, c in zip(out["evacuees"], out["capacity"], strict=True)
    ]
    out = out.sort_values(["distance_m", "shelter_id"], kind="stable").head(n)
    return out.reset_index(drop=True)


def fullness(row: dict) -> str:
    """How full a shelter is, in the words of the answer (満員 when reported full)."""
    if row.get("status") == FULL:
        return "満員"
    level = row.get("occupancy_class")
    if level is None or pd.isna(level):
        return FULLNESS_UNKNOWN
    return FULLNESS[int(level)]


def distance_text(metres: float) -> str:
    """``約350m`` / ``約1.2km``.

    Examples
    --------
    >>> distance_text(349.6), distance_text(1234)
    ('約350m', '約1.2km')
    """
    if metres < 1000:
        return f"約{int(round(metres / 10.0) * 10)}m"
    return f"約{metres / 1000:.1f}km"


def answer_text(nearest: pd.DataFrame, hazard: str | None = None) -> str:
    """The text of the answer: the shelters, how far (straight line) and how full each is."""
    if nearest.empty:
        return (
            "現在、近くで開設中の避難所はありません。市の災害対策本部の案内をお待ちください。"
            "危険が迫っているときは、近くの安全な高い場所へ移動してください。"
        )
    head = "近くの開設中の避難所"
    if hazard:
        head += f"（{HAZARDS.label(hazard)}に対応）"
    lines = [f"{head}です（距離は直線距離）。"]
    for i, row in enumerate(nearest.to_dict("records"), start=1):
        lines.append(f"{i}. {row['name']} {distance_text(row['distance_m'])} {fullness(row)}")
    return "\n".join(lines)
