"""クロノロジー: the HQ's time-ordered record — reports, instructions, decisions, tasks, system events.

Staff write entries (:func:`add_entry`); a correction is a new entry naming the one it corrects
(:func:`correct`), so the original stays readable. An 指示 or 要請 can be a task with an
assignee (部署), a due time and a state whose every change is a new row of ``task_states``
(:func:`set_task_state`).

System events are written by the dashboard itself, **exactly once each**: :func:`record_event`
derives the entry's id from a key naming what caused it (``shelter:S1:v7:shelter_opened``), and
the store inserts an id once (a retry, a re-run or two dashboard servers write one entry). The
events on main and where they are written:

- a shelter opened / full / closed — by the store's shelter-status writes, in their transaction
  (:func:`shelter_events`);
- a warning issued / lifted — by the ingest of 気象庁防災情報XML, in the batch's transaction
  (:func:`sync_warning_events`, from :func:`geodata.warnings.timeline`);
- an incident verified at the highest urgency — by the triage of the feed
  (:func:`incident_verified`);
- a situation map exported — by :func:`geodata.export.map.situation_map`;
- a source failing for longer than its stale limit — by the ingest runner when a run fails
  (:func:`sync_source_events`);
- a damage report (第N報) fixed — by :func:`geodata.damage.fix_report`.

Evacuation information (``evacuation_issued`` / ``evacuation_lifted``) and LINE campaigns
(``campaign_started``) add theirs with one call of :func:`record_event` (docs/chronology.md).
:func:`sync_system_events` derives every event that stored history implies (a database filled
before this module, a missed hook) and is safe to run at any time.

Over ~400 lines on purpose: the chronology's entries, tasks, system events and views are one
question of the HQ, read top to bottom.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from geodata import settings, vocab
from geodata.access import privacy
from geodata.schema import now_utc, to_utc
from geodata.shelters import CLOSED, FULL, OPEN, OPEN_STATES

SYSTEM = "system"  # kind and entered_by of system entries
SYSTEM_UNIT = "システム"  # from_unit of system entries
TASK_KINDS = ("指示", "要請")
OPEN_TASK = "未着手"
DONE = "完了"
# Warning kinds written to the chronology: 警報 and above (advisories change too often).
_SKIPPED_WARNING_GRADE = "_advisory"
VIEW_COLUMNS = [
    "entry_id",
    "at",
    "kind",
    "event",
    "from_unit",
    "to_unit",
    "text",
    "links",
    "corrects",
    "task",
    "assignee",
    "due_at",
    "entered_by",
    "entered_at",
    "state",
    "overdue",
    "corrected_by",
]


def departments() -> tuple[str, ...]:
    """The HQ's 部署: the lines of ``BOSAI_DEPARTMENTS_FILE``, else the default list."""
    path = settings.get("BOSAI_DEPARTMENTS_FILE")
    if not path:
        return vocab.DEFAULT_DEPARTMENTS
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    found = tuple(dict.fromkeys(x.strip() for x in lines if x.strip() and not x.startswith("#")))
    if not found:
        raise ValueError(f"{path}: no 部署 listed")
    return found


def entry_id_for(event_key: str) -> str:
    """The entry id of a system event: the same cause always gives the same id.

    Examples
    --------
    >>> entry_id_for("shelter:S1:3:shelter_opened") == entry_id_for("shelter:S1:3:shelter_opened")
    True
    """
    return "sys-" + hashlib.sha256(event_key.encode("utf-8")).hexdigest()[:24]


def _links(links: dict | None) -> dict:
    out = {}
    for kind, ids in (links or {}).items():
        if kind not in vocab.CHRONO_LINKS:
            raise ValueError(
                f"unknown link {kind!r}; links are {', '.join(vocab.CHRONO_LINKS.codes)}"
            )
        ids = [ids] if isinstance(ids, str) else list(ids)
        if ids:
            out[kind] = [str(i) for i in ids]
    return out


def event_entry(event: str, text: str, links: dict | None, *, key: str, at=None) -> dict:
    """The chronology row of a system event (see :func:`record_event`)."""
    if event not in vocab.SYSTEM_EVENTS:
        raise ValueError(f"unknown system event {event!r}")
    now = now_utc()
    return {
        "entry_id": entry_id_for(key),
        "at": to_utc(at) if at is not None else now,
        "kind": SYSTEM,
        "event": event,
        "event_key": key,
        "from_unit": SYSTEM_UNIT,
        "text": text,
        "links": _links(links),
        "task": False,
        "entered_by": SYSTEM,
        "entered_at": now,
    }


def record_event(store, event: str, text: str, links: dict | None = None, *, key: str,
                 at=None, conn=None) -> bool:  # fmt: skip
    """Write one system event to the chronology, once: the one call other modules make.

    Parameters
    ----------
    store : the store.
    event : a code of :data:`geodata.vocab.SYSTEM_EVENTS` (``evacuation_issued``, …).
    text : what the entry says (Japanese; no personal data: the wall screen shows it).
    links : what it is about, ``{"shelter": ["S1"], "town": [...]}`` (kinds of
        :data:`geodata.vocab.CHRONO_LINKS`).
    key : what caused it, unique per event (``"evacuation:E12:issued"``): the same key is
        written once, however often it is recorded.
    at : when it happened (default now).
    conn : the open write connection of the caller's own write (the store's internal
        writes); inside ``store.transaction()`` it is not needed: the write joins it.

    Returns
    -------
    True when the entry was written, False when it was there already.
    """
    frame = pd.DataFrame([event_entry(event, text, links, key=key, at=at)])
    if conn is not None:
        return store._insert_chronology(conn, frame).inserted == 1
    return store.append_chronology(frame).inserted == 1


def add_entry(store, kind: str, text: str, *, actor: str, at=None, from_unit=None, to_unit=None,
              links=None, assignee=None, due_at=None) -> dict:  # fmt: skip
    """Write a staff entry (報告 / 指示 / 決定 / 要請 / 連絡); returns it.

    An 指示 or 要請 with an ``assignee`` (部署) is a task: its state starts 未着手.
    """
    if kind not in vocab.CHRONO_KINDS or kind == SYSTEM:
        raise ValueError(f"unknown entry kind {kind!r}")
    if not (text or "").strip():
        raise ValueError("an entry needs a text")
    if not actor:
        raise ValueError("an entry needs the staff member who enters it")
    task = bool(assignee) and kind in TASK_KINDS
    if assignee and not task:
        raise ValueError(f"only {' / '.join(TASK_KINDS)} can be a task with an assignee")
    now = now_utc()
    entry = {
        "entry_id": uuid.uuid4().hex,
        "at": to_utc(at) if at is not None else now,
        "kind": kind,
        "from_unit": (from_unit or "").strip() or None,
        "to_unit": (to_unit or "").strip() or None,
        "text": text.strip(),
        "links": _links(links),
        "task": task,
        "assignee": assignee if task else None,
        "due_at": to_utc(due_at) if task and due_at is not None else None,
        "entered_by": actor,
        "entered_at": now,
    }
    with store.transaction():
        store.append_chronology(pd.DataFrame([entry]))
        if task:
            # the task exists from the entry's time (an entry may be written after the fact)
            store.append_task_state(entry["entry_id"], OPEN_TASK, actor=actor, at=entry["at"])
    return entry


def correct(store, entry_id: str, text: str, *, actor: str, **changes) -> dict:
    """Correct an entry: a new entry of the same kind naming ``entry_id``; the original stays.

    ``changes`` may give ``at``, ``from_unit``, ``to_unit``, ``links`` (default: the original's).
    """
    original = store.get("chronology", entry_id)
    if original is None:
        raise KeyError(f"no chronology entry {entry_id}")
    now = now_utc()
    entry = {
        "entry_id": uuid.uuid4().hex,
        "at": changes.get("at") or original["at"],
        "kind": original["kind"],
        "event": original.get("event"),
        "from_unit": changes.get("from_unit", original.get("from_unit")),
        "to_unit": changes.get("to_unit", original.get("to_unit")),
        "text": text.strip(),
        "links": _links(changes.get("links", original.get("links"))),
        "corrects": entry_id,
        "task": False,
        "entered_by": actor,
        "entered_at": now,
    }
    store.append_chronology(pd.DataFrame([entry]))
    return entry


def set_task_state(
    store, entry_id: str, state: str, *, actor: str, note: str | None = None
) -> dict:
    """Change a task's state (未着手 / 対応中 / 完了): a new, audited row of its history."""
    if state not in vocab.TASK_STATES:
        raise ValueError(f"unknown task state {state!r}")
    return store.append_task_state(entry_id, state, actor=actor, note=note)


def task_history(store, entry_id: str) -> pd.DataFrame:
    """Every state of one task, oldest first (who changed it, when, with what note)."""
    return store.read("task_states", where={"entry_id": entry_id}, order="version")


# -- reading --------------------------------------------------------------------------------------


def timeline(store, *, as_of=None, now=None, kinds: Iterable[str] | None = None,
             department: str | None = None, link: tuple[str, str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The chronology newest first, as it stood at ``as_of`` (default: everything).

    Parameters
    ----------
    as_of : entries that happened after it are left out and task states are those of then.
    now : what "past due" is measured against (default ``as_of``, else now).
    kinds : only these kinds (:data:`geodata.vocab.CHRONO_KINDS`).
    department : only entries from, to or assigned to this 部署.
    link : ``(kind, id)``: only entries about this object (``("shelter", "S1")``).

    Returns
    -------
    DataFrame with :data:`VIEW_COLUMNS`: ``state`` (a task's state then), ``overdue`` (an
    open task past its due time) and ``corrected_by`` (ids of the entries correcting it).
    """
    as_of = to_utc(as_of) if as_of is not None else None
    until = as_of + pd.Timedelta(microseconds=1) if as_of is not None else None
    frame = store.read("chronology", until=until)
    corrections = frame.dropna(subset=["corrects"]).groupby("corrects")["entry_id"].agg(list)
    frame["corrected_by"] = [corrections.get(i, []) for i in frame["entry_id"]]
    states = task_states(store, as_of=as_of)
    is_task = frame["task"].fillna(False).astype(bool)
    state = frame["entry_id"].astype(object).map(states).astype(object)
    frame["state"] = state.where(state.notna(), OPEN_TASK).where(is_task, None)
    ref = to_utc(now) if now is not None else (as_of or pd.Timestamp(now_utc()))
    due = pd.to_datetime(frame["due_at"], utc=True)
    frame["overdue"] = (
        frame["task"].fillna(False).astype(bool)
        & (frame["state"] != DONE)
        & due.notna()
        & (due < ref)
    )
    if kinds is not None:
        frame = frame[frame["kind"].isin(list(kinds))]
    if department:
        frame = frame[
            (frame["from_unit"] == department)
            | (frame["to_unit"] == department)
            | (frame["assignee"] == department)
        ]
    if link is not None:
        kind, ident = link
        frame = frame[[str(ident) in (links or {}).get(kind, []) for links in frame["links"]]]
    frame = frame.sort_values(["at", "entered_at"], ascending=False, kind="stable")
    return frame[VIEW_COLUMNS].reset_index(drop=True)


def task_states(store, *, as_of=None) -> dict[str, str]:
    """entry_id -> the task's state at ``as_of`` (default: now)."""
    until = to_utc(as_of) + pd.Timedelta(microseconds=1) if as_of is not None else None
    history = store.read("task_states", until=until)
    if history.empty:
        return {}
    newest = history.sort_values(["entry_id", "version"]).drop_duplicates("entry_id", keep="last")
    return dict(zip(newest["entry_id"], newest["state"], strict=True))


def open_tasks(store, *, as_of=None, now=None) -> pd.DataFrame:
    """Tasks not 完了, overdue first, then by due time."""
    frame = timeline(store, as_of=as_of, now=now)
    frame = frame[frame["task"].fillna(False).astype(bool) & (frame["state"] != DONE)]
    return frame.sort_values(["overdue", "due_at"], ascending=[False, True]).reset_index(drop=True)


def wall_view(frame: pd.DataFrame, terms: privacy.PersonalTerms | None = None) -> pd.DataFrame:
    """The timeline as the wall screen may show it: no person in it.

    Who entered an entry is left out; a from / to that is not a 部署 (a person's name) is
    hidden; texts lose phone numbers, LINE ids, handles and the roster's names and addresses.
    """
    out = privacy.mask_frame("chronology", frame, "viewer", terms=terms)
    units = set(departments()) | {SYSTEM_UNIT}
    for col in ("from_unit", "to_unit", "assignee"):
        if col in out:
            out[col] = [v if v in units else (None if v is None else privacy.REDACTED)
                        for v in out[col].astype(object).where(out[col].notna(), None)]  # fmt: skip
    if "text" in out:
        out["text"] = [privacy.redact_text(t, handles=True) for t in out["text"]]
    return out


# -- system events --------------------------------------------------------------------------------


def shelter_events(history: pd.DataFrame, names: dict[str, str] | None = None) -> list[dict]:
    """The open / full / closed events a shelter-status history implies, as chronology rows.

    A shelter *opens* when a report says 開設 after none or 閉鎖/未開設, is *full* when a report
    says 満員 after another status, *closes* when 閉鎖 follows 開設 or 満員. Reports are taken in
    the order that makes one current (report time, then version); each event is keyed by the
    report that caused it.
    """
    if history.empty:
        return []
    names = names or {}
    rows = []
    ordered = history.sort_values(["shelter_id", "reported_at", "version"], kind="stable")
    for shelter_id, reports in ordered.groupby("shelter_id", sort=False):
        before = None
        for rec in reports.to_dict("records"):
            status = rec.get("status")
            event = None
            if status == OPEN and before not in OPEN_STATES:
                event = "shelter_opened"
            elif status == FULL and before != FULL:
                event = "shelter_full"
            elif status == CLOSED and before in OPEN_STATES:
                event = "shelter_closed"
            before = status
            if event is None:
                continue
            name = names.get(shelter_id, shelter_id)
            evacuees = rec.get("evacuees")
            text = f"{name} {vocab.SYSTEM_EVENTS.label(event)}"
            if event != "shelter_closed" and evacuees is not None and not pd.isna(evacuees):
                text += f"（避難者 {int(evacuees)}人）"
            key = f"shelter:{shelter_id}:{int(rec['version'])}:{event}"
            links = {"shelter": [shelter_id]}
            rows.append(event_entry(event, text, links, key=key, at=rec["reported_at"]))
    return rows


def _warning_text(row: dict) -> str:
    where = row.get("area_name") or row.get("river") or ""
    what = "解除" if row["event"] != "issued" else "発表"
    return f"{vocab.WARNING_KINDS.label(row['kind'])} {what}（{where}）".replace("（）", "")


def sync_warning_events(store, *, until=None) -> int:
    """Write the 警報 issued / lifted events of the stored warnings (the ingest calls it)."""
    from geodata import warnings

    changes = warnings.timeline(store, until=until)
    written = 0
    for row in changes.to_dict("records"):
        if str(row["kind"]).endswith(_SKIPPED_WARNING_GRADE):
            continue
        event = "warning_issued" if row["event"] == "issued" else "warning_lifted"
        area = row.get("area_code") or row.get("river") or ""
        key = f"warning:{row['event']}:{row['kind']}:{area}:{row['message_id']}"
        links = {"warning": [row["message_id"]]}
        written += record_event(store, event, _warning_text(row), links, key=key, at=row["at"])
    return written


def incident_verified(store, post_or_report: dict, *, layer: str = "posts") -> bool:
    """Record that an incident of the highest urgency was verified (once per incident).

    Called by the triage after a post (or a field report) was verified; anything below the
    highest urgency writes nothing.
    """
    urgency = post_or_report.get("urgency" if layer == "posts" else "severity")
    if urgency is None or pd.isna(urgency) or int(urgency) < 3:
        return False
    incident = post_or_report.get("incident_id")
    if layer == "posts":
        own = f"{post_or_report.get('platform')}:{post_or_report.get('post_id')}"
        category = next(iter(post_or_report.get("categories") or []), "その他")
    else:
        own = f"{post_or_report.get('source')}:{post_or_report.get('source_id')}"
        category = post_or_report.get("category") or "その他"
    key = f"incident:{incident or own}:verified"
    links = {"incident": [incident]} if incident else {}
    town = post_or_report.get("town_code")
    if town:
        links["town"] = [town]
    text = f"{vocab.CATEGORIES.label(category)} 緊急度3 確認"
    return record_event(store, "incident_verified", text, links, key=key)


def map_exported(store, *, as_of, public: bool, who: str | None) -> bool:
    """Record a situation map exported for a meeting (once per map: its as-of and version)."""
    stamp = pd.Timestamp(to_utc(as_of))
    label = "公開用" if public else "内部用"
    jst = stamp.tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M")
    key = f"export:situation-map:{'public' if public else 'internal'}:{stamp.isoformat()}"
    text = f"状況図（{label}、{jst}現在）出力"
    return record_event(store, "map_exported", text, {"export": [key.split(":", 1)[1]]}, key=key)


def sync_source_events(store, now=None) -> int:
    """Write a source that has failed for longer than its stale limit (once per outage).

    The limit is the source's own (:func:`geodata.health.stale_after`: ``stale_minutes`` in
    sources.toml, else ``BOSAI_SOURCE_STALE_MINUTES``). An outage is keyed by the source's last
    success: the next outage after a recovery is a new event.
    """
    from geodata import health as source_health

    now = to_utc(now) if now is not None else pd.Timestamp(now_utc())
    health = store.health()
    written = 0
    for row in health.to_dict("records"):
        ok_at = _ts(row.get("last_success_at"))
        err_at = _ts(row.get("last_error_at"))
        if err_at is None or (ok_at is not None and ok_at >= err_at):
            continue  # not failing now
        limit = source_health.stale_after(row)
        since = ok_at if ok_at is not None else err_at
        if now - since <= limit:
            continue
        key = f"source:{row['source']}:{since.isoformat() if ok_at is not None else 'never'}"
        minutes = int(limit.total_seconds() // 60)
        text = f"情報源 {row['source']} が{minutes}分以上取得できていません"
        links = {"source": [row["source"]]}
        written += record_event(store, "source_stale", text, links, key=key, at=since + limit)
    return written


def _ts(value) -> pd.Timestamp | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return to_utc(value)


def sync_system_events(store, now=None) -> int:
    """Write every system event the stored history implies that is not written yet.

    Safe to run any time and from several servers (each event is stored once); the hooks of
    the writes make it needed only for a database filled before them.
    """
    written = 0
    history = store.read("shelter_status", columns=["reported_at", "status", "evacuees"])
    names = dict(store.read("shelters", columns=["name"])[["shelter_id", "name"]].values)
    rows = shelter_events(history, names)
    if rows:
        written += store.append_chronology(pd.DataFrame(rows)).inserted
    written += sync_warning_events(store)
    written += sync_source_events(store, now)
    return written
