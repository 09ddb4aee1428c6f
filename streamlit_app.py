"""防災ダッシュボード — the frame around every page: page config, offline maps, language, navigation.

Pages live in ``app_pages/``, not ``pages/``: with a ``pages/`` folder next to this file Streamlit
runs the first session after a server start in its legacy multipage mode, which opens
``/overview`` as the bare page script — without this frame, so without the offline map assets.

Run: ``python scripts/vendor_assets.py && streamlit run app.py`` (see README): app.py serves this
frame plus the endpoints that set the HttpOnly session cookie (dashboard/server.py).
"""

from pathlib import Path

import streamlit as st

from dashboard import auth, widgets
from dashboard.i18n import t
from dashboard.maps import offline
from geodata.access.privacy import install_log_redaction

st.set_page_config(
    page_title="防災ダッシュボード",
    # A local file: an emoji or :material/...: favicon is fetched from a font CDN.
    page_icon=str(Path(__file__).parent / "static" / "favicon.png"),
    layout="wide",
    initial_sidebar_state="expanded",
)
offline.install()
install_log_redaction()
widgets.init_session()
user = auth.gate()  # the login screen and st.stop() until someone with a role is logged in

kiosk = widgets.is_kiosk()
if kiosk:
    widgets.apply_kiosk_style()
else:
    widgets.language_switch()

pages = {
    t("nav.section.situation"): [
        st.Page(
            "app_pages/overview.py",
            title=t("page.overview"),
            icon=":material/map:",
            default=True,
        ),
        st.Page(
            "app_pages/shelters.py",
            title=t("shelters.page"),
            icon=":material/night_shelter:",
            url_path="shelters",
        ),
        st.Page(
            "app_pages/field.py",
            title=t("field.page"),
            icon=":material/assignment:",
            url_path="field",
        ),
        st.Page(
            "app_pages/safety.py",
            title=t("page.safety"),
            icon=":material/diversity_1:",
            url_path="safety",
        ),
        st.Page(
            "app_pages/reports.py",
            title=t("page.reports"),
            icon=":material/campaign:",
            url_path="reports",
        ),
    ],
    t("nav.section.admin"): [
        st.Page(
            "app_pages/export.py",
            title=t("page.export"),
            icon=":material/download:",
            url_path="export",
        ),
        st.Page(
            "app_pages/admin.py",
            title=t("page.admin"),
            icon=":material/settings:",
            url_path="admin",
        ),
    ],
}
# Only the pages the user's role may open (each page checks again, server-side).
visible = set(auth.visible_pages())
pages = {
    section: [p for p in entries if (p.url_path or "overview") in visible]
    for section, entries in pages.items()
}
pages = {section: entries for section, entries in pages.items() if entries}
if not kiosk:
    auth.user_badge(st.sidebar)
st.navigation(pages, position="hidden" if kiosk else "sidebar").run()
