"""安否確認の記録: what staff write while working the list — follow-ups (電話・訪問・再通知), the
match of an unmatched reply to a resident, and the audit row of a view of the personal list.

The rules these records feed (who is confirmed, who is on the visit list) are in
:mod:`geodata.safety`; a follow-up or a match moves a data version, so every list is computed
again from the store.
"""

from __future__ import annotations

import uuid

import geopandas as gpd
import pandas as pd

from geodata.geometry import utm_crs
from geodata.schema import now_utc
from geodata.vocab import FOLLOW_UP_ACTIONS, FOLLOW_UP_OUTCOMES


def unmatched_replies(replies: pd.DataFrame) -> pd.DataFrame:
    """Replies not matched to a resident (resident_id null), newest first."""
    rows = replies[replies["resident_id"].isna()]
    return rows.sort_values("replied_at", ascending=False, kind="stable").reset_index(drop=True)


def match_candidates(reply: dict, roster: gpd.GeoDataFrame, limit: int | None = None) -> list[str]:
    """Resident ids to offer for an unmatched reply: nearest homes first when it has a point.

    A reply located by its message (a LINE location) is most likely from someone living near
    that point; without a point the roster comes in kana order.
    """
    point = reply.get("geometry")
    ordered = roster.sort_values(["kana", "resident_id"], kind="stable")
    if point is not None and not getattr(point, "is_empty", True) and len(ordered):
        metric = utm_crs(point.x, point.y)
        homes = gpd.GeoSeries(ordered.geometry.values, crs="EPSG:4326").to_crs(metric)
        here = gpd.GeoSeries([point], crs="EPSG:4326").to_crs(metric).iloc[0]
        dist = homes.distance(here).fillna(float("inf"))
        ordered = ordered.assign(_d=dist.values).sort_values(["_d", "kana"], kind="stable")
    ids = ordered["resident_id"].tolist()
    return ids[:limit] if limit else ids


def follow_up_frame(
    resident_id: str, action: str, outcome: str, note: str | None, by: str, at=None
) -> pd.DataFrame:
    """One follow-up record ready for ``store.upsert("follow_ups", ...)``."""
    if action not in FOLLOW_UP_ACTIONS:
        raise ValueError(f"unknown follow-up action {action!r}")
    if outcome not in FOLLOW_UP_OUTCOMES:
        raise ValueError(f"unknown follow-up outcome {outcome!r}")
    return pd.DataFrame(
        [
            {
                "id": f"fu-{uuid.uuid4().hex}",
                "resident_id": str(resident_id),
                "action": action,
                "outcome": outcome,
                "note": (note or "").strip() or None,
                "by": by,
                "at": pd.Timestamp(at if at is not None else now_utc()),
            }
        ]
    )


def record_follow_up(
    store, resident_id: str, action: str, outcome: str, note: str | None, *, actor: str
) -> str:
    """Write a follow-up (audit-logged under ``actor``); returns its id."""
    if store.get("roster", str(resident_id)) is None:
        raise ValueError(f"unknown resident {resident_id!r}")
    frame = follow_up_frame(resident_id, action, outcome, note, by=actor)
    result = store.upsert("follow_ups", frame, source="dashboard:safety", actor=actor)
    if result.rejected:
        raise ValueError("the follow-up was rejected (see the rejections)")
    return str(frame.iloc[0]["id"])


def match_reply(store, key: tuple[str, str], resident_id: str, *, actor: str) -> dict:
    """Attach an unmatched reply to a resident (an audit-logged staff edit)."""
    if store.get("roster", str(resident_id)) is None:
        raise ValueError(f"unknown resident {resident_id!r}")
    return store.update(
        "safety_replies", tuple(key), {"resident_id": str(resident_id)}, actor=actor
    )


def log_list_view(store, who: str, people: pd.DataFrame, town_codes) -> None:
    """Audit that ``who`` looked at the personal non-responder list (which towns, how many)."""
    store.log_action(
        who,
        "view:non-responders",
        "roster",
        {"residents": len(people), "towns": sorted(town_codes) if town_codes else "all"},
    )
