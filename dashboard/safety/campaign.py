"""The 安否確認 campaign panel of the safety page: start a LINE safety check (operators and
admins, confirmed) and watch its figures rise (a fragment re-run every few seconds).

Every figure comes from :func:`geodata.campaigns.counts`; the campaign is queued here and sent
by ``python -m ingest campaigns --loop`` (the dashboard never talks to LINE).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, kiosk
from dashboard.i18n import t
from geodata import campaigns, evacuation, notices
from geodata.export.common import jst_label
from geodata.vocab import CAMPAIGN_KINDS

REFRESH_SECONDS = 3
# Columns named by a vocabulary term (one catalogue entry per term: tests/test_i18n.py).
_COLUMN_KEYS = {"reminders": "follow_up_action.reminder"}
COLUMNS = ("id", "kind", "created_at", "status", "recipients", "sent", "errors", "replied",
           "not_replied", "reminders", "without_line", "reason")  # fmt: skip
# The newest campaign's figures as tiles (readable at a glance, and by the browser test).
TILES = ("sent", "errors", "replied", "not_replied")


def start_form(ctx) -> None:
    """The form that queues a campaign (needs ``safety/follow_up``)."""
    lang = ctx.lang
    towns = ctx.towns.sort_values("town_code")
    names = dict(zip(towns["town_code"], towns["name"], strict=False))
    roster = ctx.store.read("roster", columns=["resident_id", "town_code", "chat_user_id"])
    under = sorted(c for c in evacuation.in_force(ctx.store)["town_code"] if c in names)
    if under:  # the towns under evacuation information, in one click
        st.button(
            t("campaign.evacuation_towns", lang=lang, n=len(under)), key="campaign_evac_towns",
            on_click=lambda: st.session_state.update(campaign_towns=under),
        )  # fmt: skip
    # Outside the form: choosing towns reruns the page, so the confirmation states the
    # numbers of the towns chosen (inside a form it would state those of the last run).
    codes = st.multiselect(
        t("campaign.towns", lang=lang), list(names), format_func=lambda c: names.get(c, c),
        key="campaign_towns",
    )  # fmt: skip
    with st.form("campaign_form"):
        question = st.text_area(
            t("campaign.question", lang=lang),
            campaigns.DEFAULT_QUESTION.format(city=ctx.city),
            key="campaign_question",
        )
        cols = st.columns(3)
        after = cols[0].number_input(
            t("campaign.remind_after", lang=lang), 0, 1440, 30, key="campaign_after"
        )
        every = cols[1].number_input(
            t("campaign.remind_every", lang=lang), 0, 1440, 0, key="campaign_every"
        )
        most = cols[2].number_input(
            t("campaign.reminders_max", lang=lang), 0, 10, 1, key="campaign_max"
        )
        people = campaigns.targets(roster, codes)
        line = int(campaigns.has_line(people).sum())
        confirmed = st.checkbox(
            t("campaign.confirm", lang=lang, line=line, phone=len(people) - line),
            key="campaign_confirm",
        )  # fmt: skip
        submitted = st.form_submit_button(t("campaign.start", lang=lang), type="primary")
    if not submitted:
        return
    if not confirmed:
        st.warning(t("campaign.must_confirm", lang=lang))
        return
    auth.require("safety", "follow_up")
    try:
        cid = campaigns.create_campaign(
            ctx.store, towns=codes, question=question, actor=ctx.user.username if ctx.user else "?",
            remind_after_min=int(after) or None, remind_every_min=int(every),
            reminders_max=int(most),
        )  # fmt: skip
    except ValueError as exc:
        st.error(str(exc))
        return
    st.success(t("campaign.started", lang=lang, id=cid))


def table(store, lang: str) -> pd.DataFrame:
    """The newest campaigns with their figures (one row each)."""
    rows = store.read("campaigns", order="created_at")
    if rows.empty:
        return pd.DataFrame(columns=[*COLUMNS, "broadcast"])
    rows = rows.sort_values("created_at", ascending=False).head(10)
    deliveries = store.read("deliveries", where={"campaign_id": rows["id"].tolist()})
    replies = store.read("safety_replies", columns=["resident_id", "replied_at"])
    out = []
    for campaign in rows.to_dict("records"):
        figures = campaigns.counts(campaign, deliveries, replies).as_dict()
        out.append(
            {
                "id": campaign["id"],
                "kind": CAMPAIGN_KINDS.label(campaign.get("kind"), lang),
                "broadcast": campaign.get("kind") == notices.EVACUATION_BROADCAST,
                "created_at": jst_label(campaign["created_at"]),
                "status": t(f"campaign.status.{campaign['status']}", lang=lang),
                **{k: figures[k] for k in COLUMNS if k in figures},
                "reason": campaign.get("reason") or "",
            }
        )
    return pd.DataFrame(out, columns=[*COLUMNS, "broadcast"])


def live_status(ctx) -> None:
    """The newest campaign's figures, the campaign table and the newest campaign's phone list,
    refreshed every few seconds."""

    def body() -> None:
        lang = ctx.lang
        frame = table(ctx.store, lang)
        if frame.empty:
            st.info(t("campaign.none", lang=lang))
            return
        # a broadcast has no residents: the tiles and the phone list follow the newest campaign
        # sent to residents
        to_residents = frame[~frame.pop("broadcast").astype(bool)]
        newest = (to_residents if len(to_residents) else frame).iloc[0]
        with st.container(key="campaign_tiles"):
            tiles = st.columns(len(TILES))
            for col, key in zip(tiles, TILES, strict=True):
                col.metric(t(f"campaign.col.{key}", lang=lang), int(newest[key]))
        st.dataframe(
            frame, hide_index=True, width="stretch", key="campaign_table",
            column_config={c: t(_COLUMN_KEYS.get(c, f"campaign.col.{c}"), lang=lang) for c in COLUMNS},
        )  # fmt: skip
        if ctx.personal:
            calls = campaigns.phone_list(ctx.store, newest["id"])
            with st.expander(t("campaign.phone_list", lang=lang, n=len(calls))):
                cols = [
                    c
                    for c in ("no", "town", "name", "phone", "care_needs", "contact")
                    if c in calls
                ]
                st.dataframe(calls[cols], hide_index=True, width="stretch")

    kiosk.polled(body, "safety", REFRESH_SECONDS)


def section(ctx) -> None:
    """The panel: the form (operators and admins) and the live figures."""
    st.markdown(f"**{t('campaign.title', lang=ctx.lang)}**")
    if ctx.can_follow_up:
        start_form(ctx)
    live_status(ctx)
