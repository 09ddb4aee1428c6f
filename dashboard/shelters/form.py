"""The tablet form that updates a shelter, and the conflict screen when someone was faster.

The form remembers the report it was opened on (version and values). Saving sends that version;
if another update came in meanwhile the store refuses (:class:`~geodata.store.core.StaleVersion`)
and the page shows the newer values beside the user's input, merged field by field by
:func:`geodata.shelters.merge_edit`: a status or count both changed is chosen per field, notes
of both are kept with author and time. Save the merge on top of the newer report, or discard the
input. Nothing is lost and nothing is overwritten without the user seeing it.

Supplies are asked for in one way only: the structured supply requests under the form
(:mod:`dashboard.shelters.supplies`). The form has no needs list; a report's stored needs (an
import, a report from before the requests) carry over unchanged to the report it saves, and the
board shows them marked as old.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.i18n import current_lang, t
from dashboard.shelters import board as shelters
from dashboard.shelters.data import current_record, save_update
from dashboard.shelters.table import markdown_safe
from dashboard.shelters.view import Board
from geodata.access.roles import Forbidden
from geodata.schema import CARE_COLUMNS, SHELTER_STATUSES, now_utc
from geodata.shelters import OPEN, merge_edit, to_number
from geodata.store.core import StaleVersion, UnknownRecord

CONFLICT_KEY = "shelters_conflict"  # {"sid", "base", "mine", "current"} while a conflict is shown
FLASH_KEY = "shelters_flash"  # [(kind, text)] shown after the rerun that follows a write
BASE_KEY = "shelters_base"  # shelter_id -> the version the open form is based on
BASE_RECORD_KEY = "shelters_base_record"  # shelter_id -> its values (the merge's common base)
PICK_KEY = "shelters_pick_{}"  # the per-field choice of a conflict (radio)
CONTAINER_KEY = "shelter-form"  # CSS class st-key-shelter-form: the big tablet inputs

# Touch targets of at least ~48 px and 1.3rem type inside the form (a gloved finger, a tablet
# held at arm's length in a gym hall).
_TABLET_CSS = """
<style>
  .st-key-shelter-form input, .st-key-shelter-form textarea { font-size: 1.35rem !important; }
  .st-key-shelter-form [data-testid="stNumberInput"] input { min-height: 3rem; }
  .st-key-shelter-form [data-testid="stNumberInputStepDown"],
  .st-key-shelter-form [data-testid="stNumberInputStepUp"] { width: 3rem !important; }
  .st-key-shelter-form [data-testid="stWidgetLabel"] p { font-size: 1.15rem !important;
      font-weight: 600; }
  .st-key-shelter-form button[data-variant="segmented_control"],
  .st-key-shelter-form button[data-variant="pills"] {
      min-height: 3rem; min-width: 5.5rem; font-size: 1.2rem !important; }
  .st-key-shelter-form button[data-variant="pills"][data-selected="true"],
  .st-key-shelter-form button[data-variant="pills"][aria-pressed="true"] {
      background: #1f4e9c !important; color: #fff !important; border-color: #1f4e9c !important; }
  .st-key-shelter-form [data-testid="stFormSubmitButton"] button,
  .st-key-shelter-conflict button { min-height: 3.4rem; font-size: 1.3rem !important; }
</style>
"""


def _wkey(shelter_id: str, name: str) -> str:
    return f"shf_{shelter_id}_{name}"


def flash() -> None:
    """Show the messages of the last write (kept across the rerun that refreshes the board)."""
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(text)


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text))


def choose(b: Board, editable: list[str]) -> str:
    """The shelter to update and chart: the user's own shelters first, then the others."""
    names = dict(zip(b.board["shelter_id"], b.board["name"], strict=True))
    others = sorted((s for s in names if s not in set(editable)), key=lambda s: names[s])
    options = [s for s in editable if s in names] + others
    return st.selectbox(
        t("shelters.update.choose"),
        options=options,
        format_func=lambda s: f"{names.get(s, s)}（{s}）",
        key="shelters_selected",
    )


def _forget(shelter_id: str) -> None:
    """Drop the form's state: the next run reloads it from the newest report."""
    for name in shelters.FIELDS:
        st.session_state.pop(_wkey(shelter_id, name), None)
    st.session_state.get(BASE_KEY, {}).pop(shelter_id, None)
    st.session_state.get(BASE_RECORD_KEY, {}).pop(shelter_id, None)


def _open(shelter_id: str, record: dict | None) -> None:
    """Fill the form from ``record`` and remember its version (the form is 'opened' now)."""
    rec = record or {}
    st.session_state[_wkey(shelter_id, "status")] = rec.get("status") or OPEN
    evacuees = to_number(rec.get("evacuees"))
    households = to_number(rec.get("households"))
    st.session_state[_wkey(shelter_id, "evacuees")] = int(evacuees or 0)
    st.session_state[_wkey(shelter_id, "households")] = (
        None if households is None else int(households)
    )
    for column in CARE_COLUMNS:  # None: not counted (the input stays blank)
        count = to_number(rec.get(column))
        st.session_state[_wkey(shelter_id, column)] = None if count is None else int(count)
    st.session_state[_wkey(shelter_id, "note")] = rec.get("note") or ""
    st.session_state.setdefault(BASE_KEY, {})[shelter_id] = int(rec.get("version") or 0)
    st.session_state.setdefault(BASE_RECORD_KEY, {})[shelter_id] = (
        {name: rec.get(name) for name in shelters.FIELDS} if record else None
    )


def section(b: Board, shelter_id: str, may_update: bool) -> None:
    """The update form of one shelter (or the conflict screen, or a view-only note)."""
    conflict = st.session_state.get(CONFLICT_KEY)
    if conflict and conflict["sid"] == shelter_id:
        conflict_screen(b, conflict)
        return
    if not may_update:
        st.info(t("shelters.update.none_allowed"))
        return
    form(b, shelter_id)


def form(b: Board, shelter_id: str) -> None:
    """The big-input form; validates, saves on the remembered version, or opens a conflict."""
    lang = current_lang()
    row = b.board[b.board["shelter_id"] == shelter_id].iloc[0]
    record = current_record(b.status, shelter_id)
    if _wkey(shelter_id, "status") not in st.session_state:
        _open(shelter_id, record)
    base = st.session_state.get(BASE_KEY, {}).get(shelter_id, 0)
    st.html(_TABLET_CSS)
    with st.container(key=CONTAINER_KEY):
        if base:
            st.caption(
                shelters.md_text(
                    t(
                        "shelters.update.base",
                        version=base,
                        time=row["reported_label"],
                        by=row["reported_by"] or "–",
                    )
                )
            )
        else:
            st.caption(t("shelters.update.first"))
        with st.form(f"shelter_update_{shelter_id}", border=True):
            status = st.segmented_control(
                t("shelters.field.status"),
                options=list(SHELTER_STATUSES),
                format_func=lambda s: t(f"shelter_status.{s}"),
                key=_wkey(shelter_id, "status"),
            )
            cols = st.columns(2)
            evacuees = cols[0].number_input(
                t("shelters.field.evacuees"), step=1, key=_wkey(shelter_id, "evacuees")
            )
            households = cols[1].number_input(
                t("shelters.field.households"), step=1, key=_wkey(shelter_id, "households")
            )
            st.caption(t("shelters.capacity_hint", capacity=row["capacity_label"]))
            st.markdown(f"**{t('care.title')}**")
            st.caption(t("care.hint"))
            care = {}
            care_cols = st.columns(3)
            for i, column in enumerate(CARE_COLUMNS):
                care[column] = care_cols[i % 3].number_input(
                    shelters.field_label(column), min_value=0, step=1, value=None,
                    key=_wkey(shelter_id, column),
                )  # fmt: skip
            note = st.text_area(t("shelters.field.note"), key=_wkey(shelter_id, "note"), height=90)
            sent = st.form_submit_button(t("shelters.submit"), type="primary", width="stretch")
    if not sent:
        return
    fields = {
        "status": status,
        "evacuees": evacuees,
        "households": households,
        **{c: (None if v is None else int(v)) for c, v in care.items()},
        "note": (note or "").strip() or None,
    }
    check = shelters.check_update(fields, row["capacity"], _estimated(b, shelter_id), lang)
    if not check.ok:
        for message in check.errors:
            st.error(message)
        return
    fields["evacuees"] = int(fields["evacuees"])
    if fields["households"] is not None:
        fields["households"] = int(fields["households"])
    base_record = st.session_state.get(BASE_RECORD_KEY, {}).get(shelter_id)
    _save(b, shelter_id, str(row["name"]), fields, base, check.warnings, base_record)


def _estimated(b: Board, shelter_id: str):
    est = b.ref.shelters.loc[b.ref.shelters["shelter_id"] == shelter_id, "capacity_estimated"]
    return est.iloc[0] if len(est) else None


def _save(
    b: Board, shelter_id: str, name: str, fields: dict, base: int, warnings, base_record=None
) -> None:
    try:
        new = save_update(b.url, shelter_id, fields, base)
    except StaleVersion as exc:
        for field in shelters.FIELDS:
            st.session_state.pop(PICK_KEY.format(field), None)
        st.session_state[CONFLICT_KEY] = {
            "sid": shelter_id,
            "name": name,
            "base": base_record,
            "mine": fields,
            "current": exc.current,
            "warnings": list(warnings),
        }
        st.rerun()
    except Forbidden:
        st.error(t("shelters.denied"))
        return
    except (ValueError, UnknownRecord) as exc:
        st.error(t("shelters.write_failed", error=str(exc)[:200]))
        return
    _forget(shelter_id)
    st.session_state.pop(CONFLICT_KEY, None)
    _flash("success", t("shelters.saved", name=name, version=new["version"]))
    for message in warnings:
        _flash("warning", message)
    st.rerun()


def conflict_screen(b: Board, conflict: dict) -> None:
    """The newer report beside the user's input, merged per field; save the merge, or discard."""
    lang = current_lang()
    current = conflict["current"] or {}
    version = int(current.get("version") or 0)
    user = auth.current_user()
    with st.container(key="shelter-conflict", border=True):
        st.warning(t("shelters.conflict.title"))
        st.markdown(
            shelters.md_text(
                t(
                    "shelters.conflict.explain",
                    version=version,
                    time=shelters.format_time(current.get("reported_at")),
                    by=current.get("reported_by") or current.get("source") or "–",
                )
            )
        )
        rows = shelters.conflict_rows(current, conflict["mine"], lang)
        st.table(_conflict_styled(rows, lang))
        first = merge_edit(conflict.get("base"), conflict["mine"], current)
        choices = {}
        if first.conflicts:
            st.markdown(f"**{t('shelters.conflict.choose')}**")
        for name in first.conflicts:
            theirs_text = shelters.show_value(name, current.get(name), lang)
            mine_text = shelters.show_value(name, conflict["mine"].get(name), lang)
            choices[name] = st.radio(
                shelters.field_label(name),
                options=["theirs", "mine"],
                index=None,
                horizontal=True,
                key=PICK_KEY.format(name),
                format_func=lambda o, a=theirs_text, m=mine_text: (
                    t("shelters.conflict.pick_current", value=a)
                    if o == "theirs"
                    else t("shelters.conflict.pick_mine", value=m)
                ),
            )
        merged = merge_edit(
            conflict.get("base"),
            conflict["mine"],
            current,
            choices,
            mine_by=user.username if user else None,
            mine_at=now_utc(),
        )
        st.markdown(f"**{t('shelters.conflict.result')}**")
        st.table(_result_table(merged, lang))
        if merged.unresolved:
            names = "、".join(shelters.field_label(n) for n in merged.unresolved)
            st.caption(t("shelters.conflict.unresolved", fields=names))
        confirm = st.button(
            t("shelters.conflict.confirm", version=version),
            type="primary",
            width="stretch",
            key="shelters_conflict_confirm",
            disabled=bool(merged.unresolved),
        )
        discard = st.button(
            t("shelters.conflict.discard"),
            width="stretch",
            key="shelters_conflict_discard",
        )
    sid = conflict["sid"]
    if confirm and not merged.unresolved:
        # Saved on top of the newer report; if yet another came in, it becomes the new base.
        _save(b, sid, conflict.get("name", sid), merged.fields, version, conflict["warnings"],
              {name: current.get(name) for name in shelters.FIELDS})  # fmt: skip
    elif discard:
        st.session_state.pop(CONFLICT_KEY, None)
        _forget(sid)
        _flash("info", t("shelters.conflict.discarded", version=version))
        st.rerun()


def _result_table(merged, lang: str):
    """Field, the value to be saved, and where it comes from."""
    frame = pd.DataFrame(
        {
            t("shelters.conflict.field", lang=lang): [
                shelters.field_label(n, lang) for n in shelters.FIELDS
            ],
            t("shelters.conflict.value", lang=lang): [
                shelters.show_value(n, merged.fields.get(n), lang) for n in shelters.FIELDS
            ],
            t("shelters.conflict.from", lang=lang): [
                t(f"shelters.conflict.from.{merged.origin[n]}", lang=lang) for n in shelters.FIELDS
            ],
        }
    )
    return markdown_safe(frame).style.hide(axis="index")


def _conflict_styled(rows: pd.DataFrame, lang: str):
    headers = {
        "field": t("shelters.conflict.field", lang=lang),
        "current": t("shelters.conflict.current", lang=lang),
        "mine": t("shelters.conflict.mine", lang=lang),
    }
    shown = markdown_safe(rows[["field", "current", "mine"]]).rename(columns=headers)
    marks = ["background-color: #fff3b0; font-weight: 700" if d else "" for d in rows["differs"]]
    return shown.style.apply(lambda col: marks, axis=0).hide(axis="index")
