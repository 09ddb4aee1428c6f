"""防災ダッシュボード — the frame around every page: page config, offline maps, language, navigation.

Pages live in ``app_pages/``, not ``pages/``: with a ``pages/`` folder next to this file Streamlit
runs the first session after a server start in its legacy multipage mode, which opens
``/overview`` as the bare page script — without this frame, so without the offline map assets.

Run: ``python scripts/vendor_assets.py && streamlit run streamlit_app.py`` (see README).
"""

from pathlib import Path

import streamlit as st

from dashboard import offline, widgets
from dashboard.i18n import t

st.set_page_config(
    page_title="防災ダッシュボード",
    # A local file: an emoji or :material/...: favicon is fetched from a font CDN.
    page_icon=str(Path(__file__).parent / "static" / "favicon.png"),
    layout="wide",
    initial_sidebar_state="expanded",
)
offline.install()
widgets.init_session()

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
    ],
    t("nav.section.admin"): [
        st.Page(
            "app_pages/admin.py",
            title=t("page.admin"),
            icon=":material/settings:",
            url_path="admin",
        ),
    ],
}
st.navigation(pages, position="hidden" if kiosk else "sidebar").run()
