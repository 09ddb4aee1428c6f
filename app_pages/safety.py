"""安否確認 Safety check: replies of the 要支援者 roster, and who has not been heard from yet."""

import streamlit as st

from dashboard import auth, kiosk
from dashboard.i18n import t
from dashboard.safety import campaign as safety_campaign
from dashboard.safety import form as safety_form
from dashboard.safety import view as safety_view
from dashboard.safety import wall as safety_wall

auth.require_page(__file__)
if kiosk.enabled():  # the wall: counts as the public may see them, refreshed in place
    kiosk.live(safety_wall.wall, __file__, layers=safety_wall.LAYERS)
    st.stop()
ctx = safety_view.context()
if ctx is None:
    st.stop()

st.subheader(t("safety.title", city=ctx.city))
safety_view.show_message()
safety_view.kpi_row(ctx)

town_codes = None
left, right = st.columns([5, 6], gap="medium")
with left:
    safety_view.reply_chart(ctx)
    table = safety_view.town_table(ctx)
if ctx.personal:
    safety_campaign.section(ctx)
    town_codes = safety_form.non_responder_section(ctx)
    safety_form.unmatched_section(ctx)
else:
    st.info(t("safety.viewer_note"))
with right:
    safety_view.reply_map(ctx, table, town_codes)
