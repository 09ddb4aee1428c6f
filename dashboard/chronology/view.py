"""The chronology page's pieces: the tablet entry form, filters, the timeline, tasks, printing.

Every rule (what a task is, what is overdue, what the wall may show) is in
:mod:`geodata.chronology`; this module draws and collects input. The wall screen (and a viewer)
gets :func:`geodata.chronology.wall_view`: no person in it.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard import auth, data
from dashboard.chronology import as_of as as_of_view
from dashboard.i18n import current_lang, t
from dashboard.shelters.board import JST
from geodata import chronology, vocab
from geodata.access import privacy
from geodata.export.chronology import chronology_pdf

FLASH_KEY = "chronology_flash"
GEN_KEY = "chronology_form_gen"
DESK_ROWS = 200  # entries shown; the PDF and the filters reach the rest
# Touch targets of at least 44 px (WCAG 2.5.5) for the tablet at the HQ's desk.
TABLET_CSS = """
<style>
  .st-key-chrono-entry button, .st-key-chrono-entry [data-baseweb="select"] > div,
  .st-key-chrono-entry input, .st-key-chrono-entry [data-testid="stSegmentedControl"] button {
      min-height: 48px !important; font-size: 1.05rem !important; }
  .st-key-chrono-entry textarea { font-size: 1.1rem !important; }
  .st-key-chrono-tasks button { min-height: 48px !important; }
</style>
"""


@st.cache_data(show_spinner=False, ttl=1800, max_entries=16)
def load_timeline(url: str, version: int, as_of) -> pd.DataFrame:
    """The whole timeline at ``as_of`` (None: now), cached per data version."""
    del version  # cache key
    return chronology.timeline(data.get_store(url), as_of=as_of)


@st.cache_data(show_spinner=False, ttl=1800, max_entries=4)
def shelter_names(url: str, version: int) -> dict[str, str]:
    del version
    frame = data.get_store(url).read("shelters", columns=["name"], order="name")
    return dict(zip(frame["shelter_id"], frame["name"], strict=True))


def flash() -> None:
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(text)


def entry_form(url: str, names: dict[str, str]) -> None:
    """Quick entry from a tablet: kind, from, to, text, an assignee and due time for a task."""
    st.html(TABLET_CSS)
    depts = list(chronology.departments())
    staff_kinds = [k for k in vocab.CHRONO_KINDS.codes if k != chronology.SYSTEM]
    lang = current_lang()
    gen = st.session_state.setdefault(GEN_KEY, 0)
    with st.container(key="chrono-entry"):
        st.markdown(f"### {t('chronology.new')}")
        with st.form(f"chrono-form-{gen}", clear_on_submit=False, border=True):
            kind = st.segmented_control(t("chronology.kind"), staff_kinds, default="報告",
                                        format_func=lambda k: vocab.CHRONO_KINDS.label(k, lang),
                                        key=f"chrono-kind-{gen}")  # fmt: skip
            left, right = st.columns(2)
            from_unit = left.selectbox(t("chronology.from"), [""] + depts, key=f"chrono-from-{gen}")
            to_unit = right.selectbox(t("chronology.to"), [""] + depts, key=f"chrono-to-{gen}")
            text = st.text_area(t("chronology.text"), height=110, key=f"chrono-text-{gen}")
            left, right = st.columns(2)
            assignee = left.selectbox(t("chronology.assignee"), [""] + depts,
                                      format_func=lambda d: d or t("chronology.no_assignee"),
                                      key=f"chrono-assignee-{gen}")  # fmt: skip
            due = right.time_input(t("chronology.due"), value=None, step=900,
                                   key=f"chrono-due-{gen}")  # fmt: skip
            shelters = st.multiselect(t("chronology.shelters"), list(names),
                                      format_func=lambda s: names.get(s, s),
                                      key=f"chrono-shelters-{gen}")  # fmt: skip
            sent = st.form_submit_button(t("chronology.submit"), type="primary",
                                         use_container_width=True)  # fmt: skip
    if not sent:
        return
    if not (text or "").strip():
        st.error(t("chronology.text_missing"))
        return
    user = auth.check("chronology", "record")
    due_at = None
    if due is not None and assignee:
        today = pd.Timestamp.now(tz=JST).date()
        due_at = pd.Timestamp(datetime.combine(today, due), tz=JST)
    try:
        chronology.add_entry(
            data.get_store(url), kind or "報告", text, actor=user.username,
            from_unit=from_unit, to_unit=to_unit, links={"shelter": shelters} if shelters else None,
            assignee=assignee if kind in chronology.TASK_KINDS else None, due_at=due_at,
        )  # fmt: skip
    except ValueError as exc:
        st.error(str(exc))
        return
    st.session_state[FLASH_KEY] = [("success", t("chronology.saved"))]
    st.session_state[GEN_KEY] = gen + 1  # a fresh, empty form
    st.rerun()


def filters(names: dict[str, str]) -> tuple[list[str] | None, str | None, str | None, object]:
    """Kind, 部署, shelter and as-of filters (above the timeline)."""
    lang = current_lang()
    cols = st.columns([3, 2, 2, 2])
    kinds = cols[0].multiselect(t("chronology.filter.kinds"), list(vocab.CHRONO_KINDS.codes),
                                format_func=lambda k: vocab.CHRONO_KINDS.label(k, lang),
                                key="chrono-f-kinds")  # fmt: skip
    dept = cols[1].selectbox(t("chronology.filter.department"), [""] + list(chronology.departments()),
                             format_func=lambda d: d or t("chronology.filter.all"),
                             key="chrono-f-dept")  # fmt: skip
    shelter = cols[2].selectbox(t("chronology.filter.link"), [""] + list(names),
                                format_func=lambda s: names.get(s, s) if s else t("chronology.filter.all"),
                                key="chrono-f-shelter")  # fmt: skip
    with cols[3]:
        as_of = as_of_view.choose("chrono-f", "chronology.as_of")
    return kinds or None, dept or None, shelter or None, as_of


def select(frame: pd.DataFrame, kinds, dept, shelter) -> pd.DataFrame:
    """The rows of ``frame`` (a timeline) that the filters keep (the rule of chronology.timeline)."""
    if kinds:
        frame = frame[frame["kind"].isin(kinds)]
    if dept:
        frame = frame[(frame["from_unit"] == dept) | (frame["to_unit"] == dept)
                      | (frame["assignee"] == dept)]  # fmt: skip
    if shelter:
        frame = frame[[shelter in (links or {}).get("shelter", []) for links in frame["links"]]]
    return frame


def table(frame: pd.DataFrame, *, masked: bool) -> pd.DataFrame:
    """The timeline as a display table (JST times, labels in the UI language)."""
    lang = current_lang()
    rows = []
    for r in frame.to_dict("records"):
        if r["kind"] == chronology.SYSTEM:
            kind = vocab.SYSTEM_EVENTS.label(r.get("event"), lang)
        else:
            kind = vocab.CHRONO_KINDS.label(r["kind"], lang)
        text = r["text"] or ""
        if isinstance(r.get("corrects"), str):
            text = t("chronology.correction") + text
        if r.get("corrected_by"):
            text += t("chronology.corrected")
        task = ""
        if r.get("task"):
            due = r.get("due_at")
            due_text = (
                "" if due is None or pd.isna(due) else f" {pd.Timestamp(due).tz_convert(JST):%H:%M}"
            )
            state = vocab.TASK_STATES.label(r.get("state"), lang)
            task = f"{r.get('assignee') or ''}{due_text} {state}"
            if r.get("overdue"):
                task = "⚠ " + task + f" {t('chronology.overdue')}"
        route = " → ".join(
            x for x in (r.get("from_unit"), r.get("to_unit")) if isinstance(x, str) and x
        )
        row = {
            t("chronology.col.at"): pd.Timestamp(r["at"]).tz_convert(JST).strftime("%m/%d %H:%M"),
            t("chronology.col.kind"): kind,
            t("chronology.col.route"): route,
            t("chronology.col.text"): text,
            t("chronology.col.task"): task,
        }
        if not masked:
            row[t("chronology.col.by")] = r.get("entered_by") or ""
        rows.append(row)
    return pd.DataFrame(rows)


def timeline(frame: pd.DataFrame, *, masked: bool) -> None:
    if frame.empty:
        st.info(t("chronology.empty"))
        return
    frame = frame.head(DESK_ROWS).reset_index(drop=True)
    shown = table(frame, masked=masked)
    overdue = frame["overdue"].fillna(False).astype(bool).to_numpy()

    def colour(row):
        return ["background-color: #fde0dc" if overdue[row.name] else ""] * len(row)

    styled = shown.reset_index(drop=True).style.apply(colour, axis=1).hide(axis="index")
    # An HTML table (texts wrap; the wall screen's type applies), the newest DESK_ROWS entries.
    with st.container(key="wall-chronology" if masked else "desk-chronology"):
        st.table(styled)


WALL_ROWS = 9  # the newest entries that fit a 1080p wall at 32 px, two lines each at most


def wall(url: str, version: int, terms) -> None:
    """The masked, read-only timeline of the wall screen: the newest entries (nobody scrolls a
    wall; the older ones are on the desk and in print)."""
    frame = load_timeline(url, version, None)
    timeline(chronology.wall_view(frame, terms).head(WALL_ROWS), masked=True)


def roster_terms(url: str) -> privacy.PersonalTerms:
    """The roster's names and addresses, redacted from texts on the masked view."""
    return _terms(url, data.get_store(url).data_version("roster"))


@st.cache_resource(show_spinner=False, max_entries=2)
def _terms(url: str, version: int) -> privacy.PersonalTerms:
    del version  # cache key: a new roster gives new terms
    roster = data.get_store(url).read("roster", columns=["name", "kana", "address", "supporter"])
    return privacy.PersonalTerms.from_roster(roster)


def tasks(url: str, frame: pd.DataFrame) -> None:
    """Open tasks, overdue first, with a state change (logged as a new state row)."""
    lang = current_lang()
    open_ = frame[frame["task"].fillna(False).astype(bool) & (frame["state"] != chronology.DONE)]
    st.markdown(f"### {t('chronology.tasks')}")
    if open_.empty:
        st.caption(t("chronology.no_tasks"))
        return
    open_ = open_.sort_values(["overdue", "due_at"], ascending=[False, True])
    labels = {r["entry_id"]: f"{'⚠ ' if r['overdue'] else ''}{r.get('assignee')}: {r['text'][:40]}"
              for r in open_.to_dict("records")}  # fmt: skip
    with st.container(key="chrono-tasks"):
        with st.form("chrono-task-form", border=True):
            entry = st.selectbox(t("chronology.tasks"), list(labels), format_func=labels.get)
            state = st.segmented_control(t("chronology.task_state"), list(vocab.TASK_STATES.codes),
                                         default="対応中",
                                         format_func=lambda s: vocab.TASK_STATES.label(s, lang))  # fmt: skip
            note = st.text_input(t("chronology.task_note"))
            if st.form_submit_button(t("chronology.task_save"), use_container_width=True):
                user = auth.check("chronology", "record")
                chronology.set_task_state(data.get_store(url), entry, state or "対応中",
                                          actor=user.username, note=note or None)  # fmt: skip
                st.session_state[FLASH_KEY] = [("success", t("chronology.saved"))]
                st.rerun()


def correction(url: str, frame: pd.DataFrame) -> None:
    staff = frame[frame["kind"] != chronology.SYSTEM].head(50)
    if staff.empty:
        return
    with st.expander(t("chronology.correct")):
        labels = {r["entry_id"]: f"{pd.Timestamp(r['at']).tz_convert(JST):%H:%M} {r['text'][:40]}"
                  for r in staff.to_dict("records")}  # fmt: skip
        with st.form("chrono-correct"):
            entry = st.selectbox(
                t("chronology.correct_which"), list(labels), format_func=labels.get
            )
            text = st.text_area(t("chronology.correct_text"))
            if st.form_submit_button(t("chronology.correct_save")) and text.strip():
                user = auth.check("chronology", "record")
                chronology.correct(data.get_store(url), entry, text, actor=user.username)
                st.session_state[FLASH_KEY] = [("success", t("chronology.saved"))]
                st.rerun()


def printing(url: str, as_of) -> None:
    with st.expander(t("chronology.print")):
        cols = st.columns(3)
        meeting = cols[0].number_input(t("chronology.meeting"), min_value=1, value=1, step=1)
        paper = cols[1].segmented_control(t("chronology.paper"), ["A4", "A3"], default="A4")
        if cols[2].button(t("chronology.make_pdf")):
            user = auth.check("chronology", "view")
            result = chronology_pdf(data.get_store(url), meeting=int(meeting), as_of=as_of,
                                    paper=paper or "A4", who=user.username)  # fmt: skip
            st.download_button(t("chronology.download"), result.data, file_name=result.filename,
                               mime=result.media_type)  # fmt: skip
