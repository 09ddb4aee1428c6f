"""管理 Admin: the admin room — status, audit log, users, sources, purge (admin role only)."""

import pandas as pd
import streamlit as st

from dashboard import auth, data, sessions_admin, widgets
from dashboard.admin import audit_view, common, purge, sources, users
from dashboard.i18n import t

auth.require_page(__file__)
st.subheader(t("admin.title"))
opened = widgets.open_store()
if opened is None:
    st.stop()
url, version = opened.url, opened.version
store = data.get_store(url)

st.caption(
    t("admin.store", url=widgets.redact_url(url)) + " · " + t("admin.data_version", version=version)
)
common.show_flash()

status, audit_tab, users_tab, sources_tab, purge_tab = st.tabs(
    [t("adm.tab.status"), t("adm.tab.audit"), t("adm.tab.users"), t("adm.tab.sources"),
     t("adm.tab.purge")]
)  # fmt: skip

with status:
    st.markdown(f"#### {t('admin.rejections')}")
    rejections = data.load_rejections(url, version)
    if rejections.empty:
        st.info(t("admin.no_rejections"))
    else:
        shown = pd.DataFrame(
            {
                t("adm.rej.at"): [common.when(v) for v in rejections["at"]],
                t("adm.rej.source"): [common.shown(v) for v in rejections["source"]],
                t("adm.rej.layer"): [common.shown(v) for v in rejections["layer"]],
                t("adm.rej.reason"): [common.shown(v) for v in rejections["reason"]],
                t("adm.rej.raw"): [common.shown(str(v)[:200]) for v in rejections["raw"]],
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch")
    st.markdown(f"#### {t('admin.layer_counts')}")
    counts = data.layer_counts(url, version).rename(
        columns={"layer": t("admin.layer"), "rows": t("admin.rows")}
    )
    st.dataframe(counts, hide_index=True)

with audit_tab:
    audit_view.panel(store)

with users_tab:
    users.panel(store)
    sessions_admin.panel()

with sources_tab:
    st.markdown(f"#### {t('admin.source_health')}")
    sources.panel(store)

with purge_tab:
    purge.panel(store)
