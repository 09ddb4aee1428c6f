"""管理 Admin: store, source health and rejected records."""

import streamlit as st

from dashboard import auth, data, sessions_admin, source_health, widgets
from dashboard.i18n import t

auth.require_page(__file__)
st.subheader(t("admin.title"))
opened = widgets.open_store()
if opened is None:
    st.stop()
url, version = opened.url, opened.version

st.caption(
    t("admin.store", url=widgets.redact_url(url)) + " · " + t("admin.data_version", version=version)
)

st.markdown(f"#### {t('admin.source_health')}")
health = source_health.table()  # the core's states (geodata/health.py)
if health.empty:
    st.info(t("admin.no_sources"))
else:
    st.dataframe(health, hide_index=True, use_container_width=True)

st.markdown(f"#### {t('admin.rejections')}")
rejections = data.load_rejections(url, version)
if rejections.empty:
    st.info(t("admin.no_rejections"))
else:
    st.dataframe(rejections, hide_index=True, use_container_width=True)

sessions_admin.panel()

st.markdown(f"#### {t('admin.layer_counts')}")
counts = data.layer_counts(url, version).rename(
    columns={"layer": t("admin.layer"), "rows": t("admin.rows")}
)
st.dataframe(counts, hide_index=True)
