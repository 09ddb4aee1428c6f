"""The overview's evacuation pieces: warnings banner, KPI tile, decision support, issue / lift.

Everything the HQ is shown comes from the core (:mod:`geodata.warnings`,
:mod:`geodata.evacuation`, :mod:`geodata.evacuation_criteria`); the writes go through
:func:`geodata.evacuation.issue` / ``lift``, which check the role on the server whatever this
page shows. Issuing and lifting need a ticked confirmation in the same form: one confirmed
action.
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from dashboard import auth, data
from dashboard.i18n import t
from geodata import evacuation, vocab, warnings
from geodata.access.roles import Forbidden
from geodata.evacuation_criteria import CriteriaError, proposals
from geodata.schema import now_utc
from geodata.store.errors import StaleVersion

_E = html.escape
_FLASH = "evac_flash"
_COLUMNS = {
    "name": "evac.col.name", "households": "measure.households",
    "population": "measure.population", "residents": "evac.proposal.residents",
    "unconfirmed": "evac.proposal.unconfirmed", "in_force": "evac.col.in_force",
}  # fmt: skip


_SHELTER_COLUMNS = {
    "name": "shelters.col.name", "status": "shelters.col.status",
    "capacity": "measure.capacity", "evacuees": "shelters.col.evacuees",
}  # fmt: skip


def _jst(value, fmt: str = "%m/%d %H:%M") -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert("Asia/Tokyo").strftime(fmt)


def _badge(level, text: str) -> str:
    level = int(level) if level is not None and not pd.isna(level) else 2
    bg = evacuation.LEVEL_COLOURS.get(level, "#666666")
    fg = evacuation.LEVEL_TEXT_COLOURS.get(level, "#ffffff")
    return (
        f'<span class="bosai-badge bosai-badge-{level}" style="background:{bg};color:{fg};'
        f'padding:0.1em 0.5em;border-radius:0.3em;margin:0 0.3em 0.2em 0;display:inline-block">'
        f"{_E(text)}</span>"
    )


def banner(url: str, lang: str) -> None:
    """The warnings in force with their time, and the feed's age when it is stale."""
    store = data.get_store(url)
    found = warnings.in_force(store)
    items = []
    for w in found.to_dict("records"):
        area = w.get("river") or w.get("area_name") or ""
        text = t("evac.banner.item", lang=lang, label=w["label"], area=area,
                 time=_jst(w["issued_at"]))  # fmt: skip
        items.append(_badge(w["level"], text))
    body = "".join(items) if items else _E(t("evac.banner.none", lang=lang))
    feeds = warnings.feed_status(store)
    stale = [f for f in feeds if f["stale"]]
    note = ""
    if stale:
        age = stale[0]["age"]
        minutes = int(age.total_seconds() // 60) if age is not None else None
        note = (
            t(
                "evac.banner.stale",
                lang=lang,
                age=f"{minutes} min" if lang == "en" else f"{minutes}分",
            )
            if minutes is not None
            else t("evac.banner.never", lang=lang)
        )
        note = f'<div class="bosai-feed-stale" style="color:#b00020">{_E(note)}</div>'
    st.html(f'<div class="bosai-warnings">{body}{note}</div>')


def kpi_tile(url: str, lang: str, container=None) -> None:
    """「避難指示 N町丁目 / 対象人口 M」 (towns at level 4 or 5)."""
    k = evacuation.kpi(data.get_store(url))
    value = (
        t("evac.kpi.value", lang=lang, towns=k["towns"], population=f"{k['population']:,}")
        if k["towns"]
        else t("evac.kpi.none", lang=lang)
    )
    (container or st).metric(t("evacuation_level.4", lang=lang), value)


def _flash() -> None:
    message = st.session_state.pop(_FLASH, None)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)(text)


def in_force_section(url: str, lang: str) -> None:
    """The orders in force; a lift form and a change-level form for each when the user may
    issue."""
    store = data.get_store(url)
    orders = evacuation.orders_in_force(store)
    st.markdown(f"#### {t('evac.in_force', lang=lang)}")
    _flash()
    if orders.empty:
        st.caption(t("evac.in_force.none", lang=lang))
        return
    may = auth.can("overview", "issue_evacuation")
    for o in orders.to_dict("records"):
        line = t(
            "evac.order.line", lang=lang, title=evacuation.level_title(o["level"], lang),
            hazard=vocab.HAZARDS.label(o["hazard"], lang), n=len(o["towns"] or []),
            time=_jst(o["issued_at"]), who=o["issued_by"],
        )  # fmt: skip
        st.html(_badge(o["level"], line))
        if not may:
            continue
        oid = o["order_id"]
        left, right = st.columns(2)
        with left, st.form(f"evac_lift_{oid}", border=False):
            ok = st.checkbox(t("evac.lift.confirm", lang=lang), key=f"evac_lift_ok_{oid}")
            if st.form_submit_button(t("evac.lift.submit", lang=lang)):
                _lift(url, o, ok, lang)
        with right, st.form(f"evac_change_{oid}", border=False):
            others = [lvl for lvl in evacuation.LEVELS if lvl != int(o["level"])]
            level = st.radio(
                t("evac.change.level", lang=lang), options=others, horizontal=True,
                format_func=lambda v: evacuation.level_title(v, lang), key=f"evac_change_lv_{oid}",
            )  # fmt: skip
            ok = st.checkbox(t("evac.change.confirm", lang=lang), key=f"evac_change_ok_{oid}")
            if st.form_submit_button(t("evac.change.submit", lang=lang)):
                _change(url, o, level, ok, lang)


def _change(url: str, order: dict, level: int, confirmed: bool, lang: str) -> None:
    """Raise or lower an order's level: a new record referencing the one shown (an update)."""
    if not confirmed:
        st.error(t("evac.issue.unconfirmed", lang=lang))
        return
    if _write(lang, lambda user: evacuation.update(
        data.get_store(url), order["order_id"], level=level, user=user,
        base_version=int(order["version"]),
    )) is None:  # fmt: skip
        return
    title = evacuation.level_title(level, lang)
    st.session_state[_FLASH] = ("ok", t("evac.change.done", lang=lang, title=title,
                                        order=order["order_id"]))  # fmt: skip
    st.rerun()


def _write(lang: str, write):
    """Run one evacuation write as the checked user; its record, or None with the reason shown.

    The role is checked on the server right before the write (and again in the core).
    """
    try:
        return write(auth.check("overview", "issue_evacuation"))
    except Forbidden:
        st.error(t("evac.forbidden", lang=lang))
    except StaleVersion:
        st.error(t("evac.stale", lang=lang))
    except evacuation.EvacuationError as exc:
        st.error(t("evac.error", lang=lang, error=str(exc)))
    return None


def _lift(url: str, order: dict, confirmed: bool, lang: str) -> None:
    if not confirmed:
        st.error(t("evac.issue.unconfirmed", lang=lang))
        return
    if _write(lang, lambda user: evacuation.lift(
        data.get_store(url), order["order_id"], user=user, base_version=int(order["version"]),
    )) is None:  # fmt: skip
        return
    st.session_state[_FLASH] = ("ok", t("evac.lift.done", lang=lang, order=order["order_id"]))
    st.rerun()


@st.cache_data(ttl=30, show_spinner=False, max_entries=8)
def _proposals(url: str, version: int, minute: str):
    del version, minute  # cache keys: a write or a new minute computes them again
    return proposals(data.get_store(url))


def decision_section(url: str, version: int, towns: pd.DataFrame, lang: str) -> None:
    """For a chosen hazard: what the criteria propose, what is at stake, and the issue form."""
    st.markdown(f"#### {t('evac.decide', lang=lang)}")
    try:
        found = _proposals(url, version, pd.Timestamp(now_utc()).strftime("%Y%m%d%H%M"))
    except CriteriaError as exc:
        st.error(t("evac.criteria_error", lang=lang, error=str(exc)))
        return
    if not found:
        return
    by_hazard = {p.hazard: p for p in found}
    hazard = st.segmented_control(
        t("evac.hazard", lang=lang), options=list(by_hazard),
        format_func=lambda h: vocab.HAZARDS.label(h, lang), default=found[0].hazard,
        key="evac_hazard", required=True,
    )  # fmt: skip
    p = by_hazard[hazard or found[0].hazard]
    if p.level is None:
        st.info(t("evac.proposal.none", lang=lang, hazard=vocab.HAZARDS.label(p.hazard, lang)))
    else:
        title = evacuation.level_title(p.level, lang)
        st.html(_badge(p.level, t("evac.proposal.level", lang=lang, title=title)))
        grounds = "".join(f"<li>{_E(x['label'])} {_E(x['detail'])}（{_jst(x['at'])}）</li>"
                          for x in p.triggers)  # fmt: skip
        st.html(f"<b>{_E(t('evac.proposal.triggers', lang=lang))}</b><ul>{grounds}</ul>")
    if p.note:
        st.warning(p.note)
    stakes = "　".join(
        f"{_E(t(key, lang=lang))} <b>{value:,}</b>"
        for key, value in (
            ("evac.proposal.towns", len(p.towns)),
            ("measure.households", p.total("households")),
            ("measure.population", p.total("population")),
            ("evac.proposal.residents", p.total("residents")),
            ("evac.proposal.unconfirmed", p.total("unconfirmed")),
        )
    )
    st.html(f'<div class="bosai-stakes">{stakes}</div>')
    if not p.towns.empty:
        shown = p.towns.assign(
            in_force=[evacuation.level_label(v, lang) for v in p.towns["in_force"]]
        )
        # st.table in a scrolling box, not st.dataframe: the overview then loads no data-grid
        # JavaScript (1.2 MB of a first visit, docs/benchmarks.md)
        with st.container(height=240, key="evac_towns"):
            st.table(
                shown[list(_COLUMNS)]
                .rename(columns={c: t(key, lang=lang) for c, key in _COLUMNS.items()})
                .set_index(t(_COLUMNS[next(iter(_COLUMNS))], lang=lang))
            )
    opened = int(p.shelters["open"].sum()) if len(p.shelters) else 0
    st.caption(f"{t('evac.proposal.shelters', lang=lang)}: "
               f"{t('evac.proposal.shelters_open', lang=lang, open=opened, total=len(p.shelters))}")  # fmt: skip
    if len(p.shelters):
        shelters = p.shelters[["name", "status", "capacity", "evacuees"]].assign(
            status=[t(f"shelter_status.{v}", lang=lang) if v else "" for v in p.shelters["status"]]
        )
        with st.container(height=160, key="evac_shelters"):
            st.table(
                shelters.rename(
                    columns={c: t(key, lang=lang) for c, key in _SHELTER_COLUMNS.items()}
                ).set_index(t("shelters.col.name", lang=lang))
            )
    if auth.can("overview", "issue_evacuation"):
        issue_form(url, p, towns, lang)


def issue_form(url: str, p, towns: pd.DataFrame, lang: str) -> None:
    """Level, towns (the proposal's by default), reason; a ticked confirmation issues it."""
    names = dict(zip(towns["town_code"], towns["name"], strict=False))
    options = sorted(names)
    default = [c for c in p.to_issue if c in names]
    st.markdown(f"##### {t('evac.issue.title', lang=lang)}")
    with st.form(f"evac_issue_{p.hazard}", border=True):
        level = st.radio(
            t("evac.issue.level", lang=lang), options=list(evacuation.LEVELS),
            index=list(evacuation.LEVELS).index(p.level or 4),
            format_func=lambda v: evacuation.level_title(v, lang), horizontal=True,
            key=f"evac_level_{p.hazard}",
        )  # fmt: skip
        chosen = st.multiselect(
            t("evac.issue.towns", lang=lang), options=options, default=default,
            format_func=lambda c: names.get(c, c), key=f"evac_towns_{p.hazard}",
        )  # fmt: skip
        whole = st.checkbox(t("evac.issue.whole_city", lang=lang), key=f"evac_whole_{p.hazard}")
        reason = st.text_input(t("evac.issue.reason", lang=lang), value=p.reason,
                               key=f"evac_reason_{p.hazard}")  # fmt: skip
        ok = st.checkbox(t("evac.issue.confirm", lang=lang), key=f"evac_ok_{p.hazard}")
        if st.form_submit_button(t("evac.issue.submit", lang=lang), type="primary"):
            _issue(url, p, level, chosen, whole, reason, ok, lang)


def _issue(url, p, level, chosen, whole, reason, confirmed, lang) -> None:
    if not confirmed:
        st.error(t("evac.issue.unconfirmed", lang=lang))
        return
    rec = _write(lang, lambda user: evacuation.issue(
        data.get_store(url), level=level, hazard=p.hazard, towns=chosen, whole_city=whole,
        reason=reason, warning_ids=p.warning_ids, user=user,
    ))  # fmt: skip
    if rec is None:
        return
    title = evacuation.level_title(level, lang)
    text = t("evac.issue.done", lang=lang, title=title, n=len(rec["towns"]), order=rec["order_id"])
    st.session_state[_FLASH] = ("ok", text)
    st.rerun()
