"""A tiny app for the single sign-on test: the gate, then the identity, then two permission checks.

Run by tests/oidc/test_oidc_login.py from a temporary folder holding .streamlit/secrets.toml.
"""

import streamlit as st

from dashboard import auth

st.set_page_config(page_title="bosai auth test")
user = auth.gate()
st.markdown(f"identity: **{user.label}**")
st.markdown(f"role: **{user.role}**")
st.markdown(f"source: **{user.source}**")
auth.user_badge(st.container())
auth.require("safety", "view_personal")
st.markdown("PERSONAL-DATA-SECTION")
auth.require("admin", "manage_users")
st.markdown("ADMIN-SECTION")
