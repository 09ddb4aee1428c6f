"""The drill's evacuation information (避難情報), issued through the same core functions as staff.

The HQ of the drill issues, for the towns in 多摩川's flood-hazard areas (浸水想定区域):

- T+2   高齢者等避難 (レベル３氾濫警報 since T+1:50),
- T+6   避難指示 (石原 at 氾濫危険水位 since T+5:40, レベル４氾濫危険警報 at T+5:50),
- T+9   緊急安全確保 (レベル５氾濫特別警報: 氾濫発生),
- T+16  back to 避難指示 as the water recedes, and
- T+20  lifted (recovery; JMA has lifted its warnings by then).

One order, updated: each step is a record referencing the one before, written by the drill's
commander account through :func:`geodata.evacuation.issue` / ``update`` / ``lift`` (role check,
audit log). The order's id carries the drill's start, so a second run with the same anchor
writes nothing and a later anchor adds its own order.
"""

from __future__ import annotations

import pandas as pd

from geodata import evacuation, warnings
from geodata.access.roles import User
from geodata.evacuation_criteria import Criterion, hazard_towns
from ingest.drill import jma as drill_jma

DRILL_COMMANDER = User("drill-commander", "commander", display_name="訓練 本部長")
# (hours after T0, action, level, reason)
STEPS = (
    (2.0, "issue", 3, f"{drill_jma.RIVER}にレベル３氾濫警報、水位上昇のため"),
    (6.0, "update", 4, f"{drill_jma.RIVER}（石原）が氾濫危険水位に到達、レベル４氾濫危険警報"),
    (9.0, "update", 5, f"{drill_jma.RIVER} 氾濫発生（レベル５氾濫特別警報）"),
    (16.0, "update", 4, f"{drill_jma.RIVER}の水位低下、氾濫は継続のおそれ"),
    (20.0, "lift", 4, f"{drill_jma.RIVER}の水位が低下し、洪水予報が解除されたため"),
)


def order_id(t0: pd.Timestamp) -> str:
    """The drill order's id: one per drill start."""
    return f"drill-flood-{pd.Timestamp(t0).tz_convert('Asia/Tokyo'):%Y%m%dT%H%M}"


def play_evacuations(store, t0: pd.Timestamp) -> dict:
    """Write the drill's evacuation information (see the module docstring).

    Returns
    -------
    {"inserted": records written, "unchanged": records already stored, "towns": n}
    """
    oid = order_id(t0)
    stored = len(evacuation.history(store, oid))
    towns = hazard_towns(store, Criterion("flood", "flood", (), river=drill_jma.RIVER))
    if not towns:
        return {"inserted": 0, "unchanged": stored, "towns": 0}
    written = 0
    for n, (hours, action, level, reason) in enumerate(STEPS, start=1):
        if n <= stored:
            continue
        at = pd.Timestamp(t0) + pd.Timedelta(hours=hours)
        ids = _river_warnings(store, at)
        kw = {"user": DRILL_COMMANDER, "at": at}
        if action == "issue":
            evacuation.issue(store, level=level, hazard="flood", towns=towns, reason=reason,
                             warning_ids=ids, source="drill", order_id=oid, **kw)  # fmt: skip
        elif action == "update":
            evacuation.update(store, oid, level=level, reason=reason, warning_ids=ids,
                              base_version=n - 1, **kw)  # fmt: skip
        else:
            evacuation.lift(store, oid, reason=reason, base_version=n - 1, **kw)
        written += 1
    return {"inserted": written, "unchanged": stored, "towns": len(towns)}


def _river_warnings(store, at) -> list[str]:
    found = warnings.in_force(store, at)
    found = found[found["hazard"] == "river_flood"]
    return sorted({i for ids in found["message_ids"] for i in ids})
