"""Every page of the navigation works with the internet down.

Chromium may reach only loopback (tests/browser/conftest.py aborts and records every other
request). As an admin (who sees every page) the test opens each page listed in the sidebar,
checks that its title and, where it has one, its map render, that no exception is shown, and
that not a single request tried to leave the machine.
"""

from __future__ import annotations

import pytest

from dashboard.i18n import t

# url path -> (title shown on the page, whether the page has a map)
PAGES = {
    "": (t("overview.title", lang="ja", city="調布市"), True),
    "shelters": (t("shelters.title", lang="ja", city="調布市"), True),
    "field": (t("field.title", lang="ja", city="調布市"), True),
    "safety": (t("safety.title", lang="ja", city="調布市"), True),
    "reports": (t("reports.title", lang="ja", city="調布市"), True),
    "chronology": (t("chronology.title", lang="ja", city="調布市"), False),
    "export": (t("export.title", lang="ja"), False),
    "admin": (t("admin.title", lang="ja"), False),
}
MAP = 'iframe[title="streamlit_folium.st_folium"]'


def _nav_paths(page) -> list[str]:
    hrefs = page.locator('[data-testid="stSidebarNav"] a').evaluate_all(
        "links => links.map(a => new URL(a.href).pathname)"
    )
    return [h.strip("/") for h in hrefs]


def test_every_page_renders_offline(make_page, app_server):
    page = make_page("admin")
    page.goto(app_server["url"])
    page.get_by_role("heading", name=PAGES[""][0]).wait_for(timeout=60_000)
    paths = _nav_paths(page)
    assert sorted(paths) == sorted(PAGES), paths  # the admin sees every page of the app
    for path in paths:
        title, has_map = PAGES[path]
        page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first.click()
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)
        if has_map:
            page.wait_for_selector(MAP, timeout=30_000)
            frame = page.frame_locator(MAP).first
            frame.locator(".leaflet-container").wait_for(timeout=30_000)
            frame.locator("path.bosai-town").first.wait_for(timeout=30_000)
            assert frame.locator("path.bosai-town").count() == 103, path
        else:
            page.wait_for_timeout(1000)
            assert page.locator(MAP).count() == 0, path
        assert page.locator('[data-testid="stException"]').count() == 0, path
    assert page.offline.blocked == []
    assert not [f for f in page.offline.failed if "127.0.0.1" not in f]


@pytest.mark.parametrize(
    "user, pages", [("viewer", {"", "shelters", "field", "safety", "reports", "chronology"})]
)
def test_a_viewer_sees_only_the_pages_of_the_role(make_page, app_server, user, pages):
    page = make_page(user)
    page.goto(app_server["url"])
    page.get_by_role("heading", name=PAGES[""][0]).wait_for(timeout=60_000)
    assert set(_nav_paths(page)) == pages
    page.goto(f"{app_server['url']}/safety")
    page.get_by_role("heading", name=PAGES["safety"][0]).wait_for(timeout=60_000)
    # no roster in the shared store: counts only, and never the personal list
    assert page.get_by_text(t("safety.list.title", lang="ja")).count() == 0
    assert page.offline.blocked == []
