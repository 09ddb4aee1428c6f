"""防災ダッシュボード — the frame around every page: page config, offline maps, language, navigation.

The pages, their titles, icons, sections and URLs are listed once in :mod:`dashboard.pages`.

Pages live in ``app_pages/``, not ``pages/``: with a ``pages/`` folder next to this file Streamlit
runs the first session after a server start in its legacy multipage mode, which opens
``/overview`` as the bare page script — without this frame, so without the offline map assets.

Run: ``python scripts/vendor_assets.py && streamlit run app.py`` (see README): app.py serves this
frame plus the endpoints that set the HttpOnly session cookie (dashboard/server.py).
"""

from pathlib import Path

import streamlit as st

from dashboard import auth, data, pages, widgets
from dashboard.maps import offline
from geodata.access.privacy import install_log_redaction

st.set_page_config(
    page_title="防災ダッシュボード",
    # A local file: an emoji or :material/...: favicon is fetched from a font CDN.
    page_icon=str(Path(__file__).parent / "static" / "favicon.png"),
    layout="wide",
    # collapsed at first on a portrait tablet (<= 768 px), narrow on a landscape one (touch.py)
    initial_sidebar_state="auto",
)
offline.install()
install_log_redaction()
widgets.init_session()


def _before_login() -> None:
    """The login screen keeps the page the URL asks for and offers the language switch."""
    pages.keep_requested_page()
    widgets.language_switch()


# The login screen and st.stop() until someone with a role is logged in; the URL's page is kept.
user = auth.gate(before_login=_before_login)
data.use_user(user)  # every page's store is scoped to the user's municipality (dashboard/data.py)

kiosk = widgets.is_kiosk()
widgets.apply_style()  # the wall's stylesheet, or the desk's with its tablet layout
if not kiosk:
    widgets.language_switch()
    widgets.municipality_switch()

if not kiosk:
    auth.user_badge(st.sidebar)
# Only the pages the user's role may open (each page checks again, server-side).
navigation = pages.navigation(auth.visible_pages())
st.navigation(navigation, position="hidden" if kiosk else "sidebar").run()
