"""物資要請: supply requests from shelters, answered once (the board, the wall, the situation
map and the exports all read them through here).

A request is one item (:data:`geodata.vocab.SUPPLY_ITEMS`) with a quantity, a unit and an
urgency (至急 / 本日中 / 通常). It is stored as an append-only history (layer
``supply_requests``): every change of state is a new version, so the HQ can say who arranged a
delivery and when. The current state of a request is its highest version (:func:`current`).

Who may do what (:mod:`geodata.access.roles` decides, this module asks):

- a request is made by whoever may update the shelter (``update_shelter``: shelter staff for
  their assigned shelters only, HQ operators for any);
- HQ operators (``arrange_supplies``) move it forward: requested → arranged → delivered (or
  straight to delivered); an arrangement that fell through goes back to requested;
- a delivered request is closed: only an administrator (``reopen_supplies``) reopens it (a
  delivery recorded by mistake).

Examples
--------
>>> allowed_transition("requested", "arranged"), allowed_transition("delivered", "requested")
(True, False)
>>> allowed_transition("delivered", "arranged", reopen=True)
True
"""

from __future__ import annotations

import secrets

import pandas as pd

from geodata.access.roles import Forbidden, User, check
from geodata.schema import SUPPLY_REQUESTS, empty_frame, now_utc
from geodata.store.codec import stored_time
from geodata.vocab import SUPPLY_ITEMS, SUPPLY_STATES, SUPPLY_URGENCIES

REQUESTED, ARRANGED, DELIVERED = SUPPLY_STATES.codes
OPEN_STATES = (REQUESTED, ARRANGED)  # not yet at the shelter
URGENT = SUPPLY_URGENCIES.codes[0]
# The way forward; anything else is going back (an administrator's correction).
FORWARD: dict[str, tuple[str, ...]] = {
    REQUESTED: (ARRANGED, DELIVERED),
    ARRANGED: (DELIVERED, REQUESTED),  # back to requested: the arrangement fell through
    DELIVERED: (),
}
# The unit a request of an item is counted in unless staff say otherwise.
DEFAULT_UNITS = {
    "water": "本",
    "food": "食",
    "blankets": "枚",
    "portable_toilets": "個",
    "diapers": "枚",
    "formula": "缶",
    "medicine": "箱",
    "sanitary": "個",
    "cardboard_beds": "台",
    "other": "個",
}
# A shelter report's old needs (vocab.SHELTER_NEEDS) as requests: item and, for "other", text.
NEED_ITEMS: dict[str, tuple[str, str | None]] = {
    "water": ("water", None),
    "food": ("food", None),
    "blankets": ("blankets", None),
    "toilets": ("portable_toilets", None),
    "milk": ("formula", None),
    "medicine": ("medicine", None),
    "medical": ("other", "医療"),
    "power": ("other", "電源"),
    "staff": ("other", "応援職員"),
}
COLUMNS = tuple(SUPPLY_REQUESTS.columns)


class TransitionError(ValueError):
    """A state change the request's state machine does not allow."""


def allowed_transition(state: str, to: str, *, reopen: bool = False) -> bool:
    """Whether a request in ``state`` may move to ``to``.

    ``reopen``: the user may reopen a delivered request (an administrator): any move to
    another state is allowed then.
    """
    if to not in SUPPLY_STATES or state not in SUPPLY_STATES or to == state:
        return False
    if to in FORWARD[state]:
        return True
    return reopen and state == DELIVERED


def new_request(
    user: User,
    shelter_id: str,
    *,
    item: str,
    quantity: int | None,
    unit: str | None = None,
    urgency: str = "normal",
    item_text: str | None = None,
    note: str | None = None,
    at=None,
) -> dict:
    """A new request's record (version 1), checked: the user may update the shelter.

    Raises
    ------
    Forbidden : the user may not update ``shelter_id`` (shelter staff: not theirs).
    ValueError : an unknown item or urgency, a quantity below 1, "other" without a text.
    """
    check(user, "shelters", "update_shelter", shelter_id)
    if item not in SUPPLY_ITEMS:
        raise ValueError(f"unknown item {item!r}")
    if urgency not in SUPPLY_URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    if quantity is not None and (int(quantity) != quantity or quantity < 1):
        raise ValueError("quantity: a whole number of at least 1")
    text = (item_text or "").strip() or None
    if item == "other" and not text:
        raise ValueError("an item of 'other' needs a text saying what")
    when = at or now_utc()
    return {
        "request_id": f"sup-{shelter_id}-{secrets.token_hex(4)}",
        "shelter_id": str(shelter_id),
        "item": item,
        "item_text": text,
        "quantity": None if quantity is None else int(quantity),
        "unit": (unit or "").strip() or DEFAULT_UNITS[item],
        "urgency": urgency,
        "state": REQUESTED,
        "note": (note or "").strip() or None,
        "requested_by": user.username,
        "requested_at": when,
        "updated_by": user.username,
        "updated_at": when,
        "source": "staff",
    }


def create(store, user: User, shelter_id: str, **fields) -> dict:
    """Store a new request (see :func:`new_request`); returns the record written."""
    record = new_request(user, shelter_id, **fields)
    return store.append_version("supply_requests", record, actor=user.username, base_version=0)


def move(store, user: User, current: dict, to: str, *, note: str | None = None, at=None) -> dict:
    """Move a request to state ``to`` as the next version, based on the version ``current``.

    Parameters
    ----------
    store : the store.
    user : who moves it: ``arrange_supplies`` (HQ operators); a delivered request only with
        ``reopen_supplies`` (administrators).
    current : the request as the user saw it (its ``version`` is checked: when someone moved it
        meanwhile, :class:`~geodata.store.errors.StaleVersion` is raised and nothing written).
    to : the new state.
    note : replaces the request's note when given.

    Raises
    ------
    Forbidden : the user may not make this move.
    TransitionError : the state machine does not allow it.
    """
    state = current["state"]
    reopening = state == DELIVERED
    check(user, "shelters", "reopen_supplies" if reopening else "arrange_supplies")
    if not allowed_transition(state, to, reopen=reopening):
        raise TransitionError(f"a request {state} cannot become {to}")
    record = {k: current.get(k) for k in COLUMNS if k != "version"}
    record.update(state=to, updated_by=user.username, updated_at=at or now_utc())
    if note is not None:
        record["note"] = note.strip() or None
    return store.append_version(
        "supply_requests", record, actor=user.username, base_version=int(current["version"])
    )


def current(history: pd.DataFrame) -> pd.DataFrame:
    """The current version of every request in ``history`` (the ``supply_requests`` layer)."""
    if history is None or history.empty:
        return empty_frame(SUPPLY_REQUESTS)
    ordered = history.sort_values(["request_id", "version"], kind="stable")
    return ordered.drop_duplicates("request_id", keep="last").reset_index(drop=True)


def open_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """Requests not yet delivered, most urgent first, then the oldest request first."""
    if requests is None or requests.empty:
        return empty_frame(SUPPLY_REQUESTS)
    still = requests[requests["state"].isin(OPEN_STATES)]
    return sort_by_urgency(still)


def sort_by_urgency(requests: pd.DataFrame) -> pd.DataFrame:
    """Open before delivered, then urgent first (至急, 本日中, 通常), then the oldest first."""
    rank = {code: i for i, code in enumerate(SUPPLY_URGENCIES.codes)}
    work = requests.assign(
        _d=~requests["state"].isin(OPEN_STATES),
        _u=requests["urgency"].map(rank).fillna(len(rank)),
        _t=pd.to_datetime(requests["requested_at"], utc=True),
    )
    work = work.sort_values(["_d", "_u", "_t", "request_id"], kind="stable")
    return work.drop(columns=["_d", "_u", "_t"]).reset_index(drop=True)


def item_label(row: dict, lang: str = "ja") -> str:
    """``水`` / ``その他（電源）`` / ``紙おむつ（L）``: the item and its text."""
    label = SUPPLY_ITEMS.label(row.get("item"), lang)
    text = row.get("item_text")
    if isinstance(text, str) and text.strip():
        return f"{label}（{text.strip()}）" if lang == "ja" else f"{label} ({text.strip()})"
    return label


def quantity_label(row: dict) -> str:
    """``200本`` (``–`` when no quantity was stated)."""
    quantity = row.get("quantity")
    if quantity is None or pd.isna(quantity):
        return "–"
    unit = row.get("unit") if isinstance(row.get("unit"), str) else ""
    return f"{int(quantity):,}{unit}"


def request_label(row: dict, lang: str = "ja") -> str:
    """One request in a few words: ``水 200本（至急）``."""
    urgency = SUPPLY_URGENCIES.label(row.get("urgency"), lang)
    qty = quantity_label(row)
    body = item_label(row, lang) + ("" if qty == "–" else f" {qty}")
    return f"{body}（{urgency}）" if lang == "ja" else f"{body} ({urgency})"


def per_shelter(requests: pd.DataFrame, lang: str = "ja") -> pd.DataFrame:
    """Per shelter with open requests: ``open``, ``urgent`` (open and 至急) and ``label``
    (the open requests, most urgent first, joined by ``・`` / ``; ``)."""
    cols = ["shelter_id", "open", "urgent", "label"]
    still = open_requests(requests)
    if still.empty:
        return pd.DataFrame(columns=cols)
    sep = "・" if lang == "ja" else "; "
    rows = []
    for shelter_id, group in still.groupby("shelter_id", sort=False):
        recs = group.to_dict("records")
        rows.append(
            {
                "shelter_id": shelter_id,
                "open": len(recs),
                "urgent": sum(r["urgency"] == URGENT for r in recs),
                "label": sep.join(request_label(r, lang) for r in recs),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def migrated_reports(requests: pd.DataFrame | None) -> set[tuple[str, int]]:
    """(shelter_id, report version) of the reports whose needs list :func:`from_needs` turned
    into requests (their request ids say so): their needs are shown as requests, not twice."""
    if requests is None or requests.empty:
        return set()
    out = set()
    for rec in requests[requests["source"] == "needs"].to_dict("records"):
        rest = str(rec["request_id"]).removeprefix(f"needs-{rec['shelter_id']}-")
        version = rest.split("-", 1)[0]
        if version.isdigit():
            out.add((str(rec["shelter_id"]), int(version)))
    return out


def from_needs(reports: pd.DataFrame) -> pd.DataFrame:
    """The old needs lists of shelter reports as supply requests (the v11 migration).

    One request per need of each shelter's *current* report (an older report's needs were
    already replaced by a newer report), state requested, urgency 通常, no quantity (none was
    ever stated), requested by whoever made the report and when. The request id is derived
    from the report (``needs-<shelter>-<version>-<need>``): migrating twice writes nothing new.
    A need code outside :data:`NEED_ITEMS` becomes "other" with the code as its text.
    """
    rows = []
    for rec in reports.to_dict("records"):
        needs = rec.get("needs")
        if not isinstance(needs, (list, tuple)):
            continue
        at = stored_time(rec.get("reported_at"))
        by = rec.get("reported_by") or rec.get("source") or "—"
        for need in needs:
            item, text = NEED_ITEMS.get(str(need), ("other", str(need)))
            rows.append(
                {
                    "request_id": f"needs-{rec['shelter_id']}-{int(rec['version'])}-{need}",
                    "version": 1,
                    "shelter_id": rec["shelter_id"],
                    "item": item,
                    "item_text": text,
                    "quantity": None,
                    "unit": DEFAULT_UNITS[item],
                    "urgency": "normal",
                    "state": REQUESTED,
                    "note": "報告の「必要物資」から移行",
                    "requested_by": by,
                    "requested_at": at,
                    "updated_by": by,
                    "updated_at": at,
                    "source": "needs",
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


__all__ = [
    "Forbidden",
    "TransitionError",
    "create",
    "current",
    "from_needs",
    "move",
    "open_requests",
    "per_shelter",
]
