"""出力 Export: situation map, layer data, visit list, shelter open data and CAP messages."""

import streamlit as st

from dashboard import auth
from dashboard.export import view as export_page_view
from dashboard.i18n import t

auth.require_page(__file__)
st.subheader(t("export.title"))
export_page_view.page()
