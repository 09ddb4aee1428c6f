"""The personal part of the 安否確認 page: the visit list with its downloads and follow-up form,
and the matching of unmatched replies (``safety/view_personal``, checked on the server).

The list is :func:`geodata.safety.visit_list` (cached by :mod:`dashboard.safety.data`), shown in
its order with its numbers; the downloads print that same list (:mod:`geodata.export.visits`).
Each write (follow-up, match) calls :func:`dashboard.auth.check` right before the store
(:mod:`geodata.follow_ups`); each view and export of the list is audit-logged.
"""

from __future__ import annotations

import functools
import hashlib
import html

import pandas as pd
import streamlit as st

from dashboard import auth, data
from dashboard.export import files as export_page
from dashboard.i18n import t
from dashboard.reports.cards import when_text
from dashboard.safety import data as safety_data
from dashboard.safety.view import MSG_KEY, Context
from geodata import follow_ups, safety
from geodata.access.roles import Forbidden
from geodata.export import visits
from geodata.vocab import FOLLOW_UP_ACTIONS, FOLLOW_UP_OUTCOMES, SAFETY_STATUSES

LOGGED_KEY = "safety_list_logged"
RESIDENT_KEY = "safety_fu_resident"
REPLY_KEY = "safety_unmatched_reply"


# -- the visit list ----------------------------------------------------------------------------


def visit_list(ctx: Context, town_codes) -> pd.DataFrame:
    """The list (personal: call only after the permission check)."""
    auth.require("safety", "view_personal")
    codes = tuple(town_codes) if town_codes else None
    return safety_data.visit_list(ctx.url, ctx.code, ctx.key, ctx.towns_version, codes, ctx.lang)


def town_filter(ctx: Context) -> list[str] | None:
    """Towns to list (None = all), with the number of residents to reach in each."""
    lang = ctx.lang
    everyone = visit_list(ctx, None)
    counts = everyone["town_code"].fillna("").value_counts()
    names = dict(zip(ctx.towns["town_code"], ctx.towns["name"], strict=False))
    options = sorted(counts.index, key=lambda c: (c == "", c))
    chosen = st.multiselect(
        t("safety.list.towns", lang=lang),
        options=options,
        format_func=lambda c: t(
            "safety.list.town_option",
            lang=lang,
            town=names.get(c, safety.UNKNOWN_TOWN) if c else safety.UNKNOWN_TOWN,
            n=int(counts.get(c, 0)),
        ),
        placeholder=t("safety.list.all_towns", lang=lang),
        key="safety_towns_filter",
    )
    # Roll-call starts from the evacuation information: only the towns under it.
    evac = safety_data.evacuation_levels(ctx.url, ctx.key[3])
    only = st.toggle(
        t("safety.list.evacuation_only", lang=lang, n=len(evac)),
        key="safety_evacuation_only",
        disabled=not evac,
    )
    if only and evac:
        return sorted(c for c in (chosen or evac) if c in evac) or sorted(evac)
    return list(chosen) if chosen else None


def _audit_view(ctx: Context, people: pd.DataFrame, town_codes) -> None:
    """One audit row per session and filter for the view of the personal list."""
    seen = st.session_state.setdefault(LOGGED_KEY, set())
    marker = (tuple(sorted(town_codes)) if town_codes else ("*",), len(people))
    if marker in seen:
        return
    follow_ups.log_list_view(
        ctx.store, ctx.user.username if ctx.user else "anonymous", people, town_codes
    )
    seen.add(marker)


def downloads(ctx: Context, people: pd.DataFrame, town_codes) -> None:
    """Visit list as CSV (Excel) and printable PDF; generated and audit-logged on click."""
    lang = ctx.lang
    if not ctx.can_export:
        return
    user, store = ctx.user, ctx.store

    def _csv() -> bytes:
        who = export_page.check(store, user, public=False).username
        return visits.visit_list_csv(store, people=people, who=who, town_codes=town_codes).data

    def _pdf() -> bytes:
        who = export_page.check(store, user, public=False).username
        return visits.visit_list_pdf(store, people=people, who=who, town_codes=town_codes).data

    c1, c2 = st.columns(2)
    c1.download_button(
        t("safety.list.csv", lang=lang),
        data=_csv,
        file_name=visits.filename("csv"),
        mime="text/csv",
        key="safety_dl_csv",
        on_click="ignore",
        width="stretch",
        icon=":material/table_view:",
    )
    c2.download_button(
        t("safety.list.pdf", lang=lang),
        data=_pdf,
        file_name=visits.filename("pdf"),
        mime="application/pdf",
        key="safety_dl_pdf",
        on_click="ignore",
        width="stretch",
        icon=":material/print:",
        type="primary",
    )


def _pick_row(list_key: str, ids: list[str]) -> None:
    """Callback of the list: the clicked row becomes the resident of the follow-up form."""
    state = st.session_state.get(list_key)
    rows = getattr(getattr(state, "selection", None), "rows", None) or (
        state.get("selection", {}).get("rows", []) if isinstance(state, dict) else []
    )
    if rows and rows[0] < len(ids):
        st.session_state[RESIDENT_KEY] = ids[rows[0]]


def resident_list(ctx: Context, people: pd.DataFrame) -> None:
    """The personal list: click a row to fill the follow-up form."""
    lang = ctx.lang
    # what a caller needs first; the rest (and the full details) beside the list
    cols = ["no", "care_priority", "name", "town", "reply", "phone", "last_follow_up", "attempts",
            "care_needs", "address", "supporter", "kana"]  # fmt: skip
    ids = people["resident_id"].tolist()
    # The key changes with the list, so a selection never points at another resident.
    list_key = "safety_list_" + hashlib.sha1("|".join(ids).encode()).hexdigest()[:12]
    numbers = ("no", "care_priority", "attempts")
    text = [c for c in cols if c not in numbers]
    shown = people[cols].copy()
    shown[text] = shown[text].astype(object).where(shown[text].notna(), "")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=420,
        selection_mode="single-row",
        on_select=functools.partial(_pick_row, list_key, ids),
        key=list_key,
        column_config={
            c: st.column_config.Column(
                t(f"safety.list.col.{c}", lang=lang),
                width="small" if c in numbers else None,
            )
            for c in cols
        },
    )


def _labels(people: pd.DataFrame, lang: str) -> dict[str, str]:
    """resident_id -> ``No. · [要救助 ·] priority · name · town`` for the follow-up form's picker."""
    prios = ["–" if pd.isna(p) else str(int(p)) for p in people["care_priority"]]
    status = [SAFETY_STATUSES.label(s, lang) + " · " if s else "" for s in people["status"]]
    return {
        rid: f"{no}. {st_}{prio} · {name} · {town}"
        for rid, no, st_, prio, name, town in zip(
            people["resident_id"], people["no"], status, prios, people["name"], people["town"],
            strict=True,
        )
    }  # fmt: skip


def _save_follow_up(url: str, rid_key: str, prefix: str) -> None:
    """Callback of the follow-up form: permission, then an audited insert into follow_ups."""
    rid = st.session_state.get(rid_key)
    try:
        user = auth.check("safety", "follow_up")
        follow_ups.record_follow_up(
            data.get_store(url),
            rid,
            st.session_state[f"{prefix}_action"],
            st.session_state[f"{prefix}_outcome"],
            st.session_state.get(f"{prefix}_note"),
            actor=user.username,
        )
    except (Forbidden, ValueError) as exc:
        st.session_state[MSG_KEY] = ("error", str(exc))
        return
    outcome = st.session_state[f"{prefix}_outcome"]
    key = "safety.fu.saved_reached" if outcome in safety.REACHED else "safety.fu.saved"
    st.session_state[MSG_KEY] = ("success", t(key))
    st.session_state.pop(rid_key, None)
    st.session_state[f"{prefix}_note"] = ""
    st.session_state[f"{prefix}_outcome"] = None


def follow_up_form(ctx: Context, people: pd.DataFrame) -> None:
    """Record a phone call, visit or reminder for one resident of the list."""
    lang = ctx.lang
    st.markdown(f"**{t('safety.fu.title', lang=lang)}**")
    if people.empty:
        st.info(t("safety.list.none", lang=lang))
        return
    ids = people["resident_id"].tolist()
    if st.session_state.get(RESIDENT_KEY) not in ids:
        st.session_state[RESIDENT_KEY] = ids[0]
    st.selectbox(
        t("safety.fu.resident", lang=lang),
        options=ids,
        format_func=_labels(people, lang).get,
        key=RESIDENT_KEY,
    )
    row = people.set_index("resident_id").loc[st.session_state[RESIDENT_KEY]]
    details = [
        (t("safety.list.col.reply", lang=lang), row["reply"] or "–"),
        (t("safety.list.col.address", lang=lang), row["address"]),
        (t("safety.list.col.phone", lang=lang), row["phone"]),
        (t("safety.list.col.care_needs", lang=lang), row["care_needs"]),
        (t("safety.list.col.supporter", lang=lang), row["supporter"]),
        (t("safety.list.col.last_follow_up", lang=lang), row["last_follow_up"] or "–"),
    ]
    st.html(
        '<div class="bosai-resident">'
        + "".join(
            f"<div><b>{_esc(k)}</b>: {_esc(v if isinstance(v, str) else '–')}</div>"
            for k, v in details
        )
        + "</div>"
    )
    if not ctx.can_follow_up:
        return
    prefix = "safety_fu"
    st.segmented_control(
        t("safety.fu.action", lang=lang),
        options=list(FOLLOW_UP_ACTIONS.codes),
        format_func=lambda a: FOLLOW_UP_ACTIONS.label(a, lang),
        default="phone",
        required=True,
        key=f"{prefix}_action",
    )
    outcome = st.radio(
        t("safety.fu.outcome", lang=lang),
        options=list(FOLLOW_UP_OUTCOMES.codes),
        format_func=lambda o: FOLLOW_UP_OUTCOMES.label(o, lang),
        index=None,
        key=f"{prefix}_outcome",
        horizontal=True,
    )
    st.text_area(t("safety.fu.note", lang=lang), key=f"{prefix}_note", height=80, max_chars=500)
    st.button(
        t("safety.fu.save", lang=lang),
        type="primary",
        on_click=_save_follow_up,
        args=(ctx.url, RESIDENT_KEY, prefix),
        key=f"{prefix}_save",
        disabled=outcome is None,
        width="stretch",
    )


def _esc(value) -> str:
    return html.escape(str(value))


def non_responder_section(ctx: Context) -> list[str] | None:
    """The personal part: list, downloads, follow-up form. Returns the towns the list is
    narrowed to (None: all)."""
    lang = ctx.lang
    auth.require("safety", "view_personal")
    st.markdown(f"### {t('safety.list.title', lang=lang)}")
    st.caption(t("safety.list.caption", lang=lang))
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    with c1:
        town_codes = town_filter(ctx)
    people = visit_list(ctx, town_codes)
    _audit_view(ctx, people, town_codes)
    with c2:
        downloads(ctx, people, town_codes)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        urgent = int((people["section"] == safety.URGENT).sum())
        st.markdown(f"**{t('safety.list.count', lang=lang, n=len(people), urgent=urgent)}**")
        if len(people):
            resident_list(ctx, people)
    with right:
        follow_up_form(ctx, people)
    return town_codes


# -- unmatched replies -------------------------------------------------------------------------


def _match(url: str) -> None:
    """Callback of the match button: permission, then an audited update of the reply."""
    key = st.session_state.get(REPLY_KEY)
    rid = st.session_state.get("safety_match_resident")
    if not key or not rid:
        return
    try:
        user = auth.check("safety", "follow_up")
        follow_ups.match_reply(
            data.get_store(url), tuple(key.split("\x1f", 1)), rid, actor=user.username
        )
    except (Forbidden, ValueError) as exc:
        st.session_state[MSG_KEY] = ("error", str(exc))
        return
    st.session_state[MSG_KEY] = ("success", t("safety.match.saved"))
    st.session_state.pop(REPLY_KEY, None)
    st.session_state.pop("safety_match_resident", None)


def unmatched_section(ctx: Context) -> None:
    """Replies from senders the roster does not know: pick the resident they came from."""
    lang = ctx.lang
    auth.require("safety", "view_personal")
    loose = safety_data.unmatched(ctx.url, ctx.key)
    st.markdown(f"### {t('safety.match.title', lang=lang, n=len(loose))}")
    if loose.empty:
        st.caption(t("safety.match.none", lang=lang))
        return
    st.caption(t("safety.match.caption", lang=lang))
    table = pd.DataFrame(
        {
            t("safety.match.col.replied_at", lang=lang): [
                when_text(v) for v in loose["replied_at"]
            ],
            t("safety.match.col.channel", lang=lang): loose["channel"],
            t("safety.match.col.status", lang=lang): [
                SAFETY_STATUSES.label(s, lang) for s in loose["status"]
            ],
            t("safety.match.col.sender", lang=lang): loose["sender_id"],
            t("safety.match.col.needs", lang=lang): loose["needs_text"],
            t("safety.match.col.located", lang=lang): loose["located_by"],
        }
    )
    left, right = st.columns([3, 2], gap="medium")
    left.dataframe(table, hide_index=True, width="stretch", key="safety_unmatched")
    if not ctx.can_follow_up:
        return
    keys = [f"{s}\x1f{i}" for s, i in zip(loose["source"], loose["source_id"], strict=True)]
    labels = dict(
        zip(
            keys,
            [
                f"{when_text(r)} · {c} · {SAFETY_STATUSES.label(s, lang)} · {sid or '–'}"
                for r, c, s, sid in zip(
                    loose["replied_at"],
                    loose["channel"],
                    loose["status"],
                    loose["sender_id"],
                    strict=True,
                )
            ],
            strict=True,
        )
    )
    with right:
        if st.session_state.get(REPLY_KEY) not in keys:
            st.session_state[REPLY_KEY] = keys[0]
        st.selectbox(
            t("safety.match.reply", lang=lang),
            options=keys,
            format_func=labels.get,
            key=REPLY_KEY,
        )
        candidates = safety_data.match_candidates(ctx.url, ctx.key, st.session_state[REPLY_KEY])
        who = safety_data.resident_labels(ctx.url, ctx.key)
        st.selectbox(
            t("safety.match.resident", lang=lang),
            options=candidates,
            index=None,
            format_func=who.get,
            placeholder=t("safety.match.resident_placeholder", lang=lang),
            key="safety_match_resident",
        )
        st.button(
            t("safety.match.save", lang=lang),
            on_click=_match,
            args=(ctx.url,),
            disabled=not st.session_state.get("safety_match_resident"),
            key="safety_match_save",
            width="stretch",
        )
