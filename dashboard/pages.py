"""The pages of the dashboard, listed once: navigation, roles and each page's own check read this.

A page's key is the name :mod:`geodata.access.roles` gives it (``PAGES`` and the permission
matrix); it is written here and nowhere else. :func:`navigation` builds what ``st.navigation``
shows from :data:`PAGES`; a page script finds its own key from its file
(``auth.require_page(__file__)``), so the same check runs whether the page is opened through the
frame (``/shelters?kiosk=1``) or on its own (``AppTest.from_file("app_pages/shelters.py")``).
A test (tests/test_pages.py) asserts that this table, the roles and the files in ``app_pages/``
agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.i18n import t


@dataclass(frozen=True)
class Page:
    """One page of the dashboard.

    Attributes
    ----------
    key : the page in :data:`geodata.access.roles.PAGES` (permissions are asked by this name).
    file : the page script, relative to the folder of ``streamlit_app.py``.
    title : the catalogue key of the page's title in the navigation.
    icon : a Material icon (``:material/…:``; an emoji would be fetched from a font CDN).
    section : the catalogue key of the navigation section the page is listed under.
    url_path : the page's path (``/shelters``); the default page is served at ``/`` too.
    default : the page a visitor lands on.
    """

    key: str
    file: str
    title: str
    icon: str
    section: str
    url_path: str
    default: bool = False


_SITUATION, _ADMIN = "nav.section.situation", "nav.section.admin"

# THE TABLE, in navigation order.
PAGES: tuple[Page, ...] = (
    Page("overview", "app_pages/overview.py", "page.overview", ":material/map:", _SITUATION,
         "overview", default=True),
    Page("shelters", "app_pages/shelters.py", "shelters.page", ":material/night_shelter:",
         _SITUATION, "shelters"),
    Page("field", "app_pages/field.py", "field.page", ":material/assignment:", _SITUATION,
         "field"),
    Page("safety", "app_pages/safety.py", "page.safety", ":material/diversity_1:", _SITUATION,
         "safety"),
    Page("reports", "app_pages/reports.py", "page.reports", ":material/campaign:", _SITUATION,
         "reports"),
    Page("chronology", "app_pages/chronology.py", "chronology.page", ":material/history_edu:",
         _SITUATION, "chronology"),
    Page("export", "app_pages/export.py", "page.export", ":material/download:", _ADMIN, "export"),
    Page("admin", "app_pages/admin.py", "page.admin", ":material/settings:", _ADMIN, "admin"),
)  # fmt: skip
_BY_KEY = {p.key: p for p in PAGES}
_BY_NAME = {Path(p.file).name: p for p in PAGES}


def page(key: str) -> Page:
    """The page called ``key`` (KeyError names the known pages)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown page {key!r}; pages are {', '.join(_BY_KEY)}") from None


def page_of(script: str | Path) -> Page:
    """The page whose script is ``script`` (a page passes its ``__file__``).

    Raises
    ------
    KeyError : ``script`` is not a page of the table (a new page must be added to it).

    Examples
    --------
    >>> page_of("/srv/bosai/app_pages/shelters.py").key
    'shelters'
    """
    name = Path(script).name
    if name not in _BY_NAME:
        raise KeyError(f"{script} is not in dashboard.pages.PAGES")
    return _BY_NAME[name]


def key_of(page_or_script: str | Path) -> str:
    """The page key of a page key or a page script (``"shelters"`` or ``__file__``)."""
    text = str(page_or_script)
    return text if text in _BY_KEY else page_of(text).key


def navigation(visible: Iterable[str]) -> dict[str, list]:
    """The ``st.navigation`` argument: every page by section, in table order; only the
    ``visible`` ones are listed.

    The others are there but hidden, so that their URL still names a page: a deep link
    (``/shelters?kiosk=1``) survives the login screen, and a role that may not open a page gets
    that page's own refusal in its language instead of Streamlit's "Page not found". A section
    with no visible page goes to the end, where its hidden pages list nothing.
    """
    shown = set(visible)
    listed = [p.key for p in PAGES if p.key in shown]
    home = next((p.key for p in PAGES if p.default), PAGES[0].key)
    if listed and home not in shown:  # land on the first page the role may open
        home = listed[0]
    sections: dict[str, list] = {}
    hidden: list = []
    for p in PAGES:
        entry = st.Page(
            p.file,
            title=t(p.title),
            icon=p.icon,
            url_path=p.url_path,
            default=p.key == home,
            visibility="visible" if p.key in shown else "hidden",
        )
        if p.key in shown:
            sections.setdefault(t(p.section), []).append(entry)
        else:
            hidden.append(entry)
    if hidden:
        sections.setdefault("", []).extend(hidden)
    return sections


def keep_requested_page() -> None:
    """Before the login screen: tell Streamlit the page the URL names (none is run), so the
    URL, and the page asked for, stay as they are through the login."""
    st.navigation(navigation(()), position="hidden")
