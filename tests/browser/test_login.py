"""Local-account login in Chromium: the form, an HttpOnly session that survives a reload, log-out.

Reported: the session cookie was set from JavaScript (readable by any script on the page) and
still opened the dashboard after logout and after a password change.
"""

from __future__ import annotations

from playwright.sync_api import expect

from geodata.access import accounts
from geodata.store.core import open_store


def _overview_title(page):
    return page.get_by_text("概況 — 調布市")


def _session_cookies(context) -> list[dict]:
    return [c for c in context.cookies() if c["name"] == "bosai_session"]


def _wait_for_cookie(page, present: bool) -> None:
    for _ in range(60):
        if bool(_session_cookies(page.context)) == present:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"session cookie {'never set' if present else 'still there'}")


def test_login_survives_a_reload_and_logout_ends_it(make_page, app_server):
    page = make_page(user=None)
    page.goto(app_server["url"], wait_until="domcontentloaded")
    page.get_by_label("ユーザー名").fill("operator")
    page.get_by_label("パスワード").fill(app_server["store"]["passwords"]["operator"])
    page.get_by_role("button", name="ログイン").click()
    _overview_title(page).wait_for(timeout=60_000)
    assert page.get_by_text("operator").first.is_visible()

    _wait_for_cookie(page, present=True)  # set by the login endpoint's answer
    [cookie] = _session_cookies(page.context)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["expires"] == -1  # ends with the browser; the server ends it earlier
    # No script on the page can read the token, nor overwrite it.
    assert "bosai_session" not in page.evaluate("document.cookie")
    page.evaluate("document.cookie = 'bosai_session=forged; path=/'")
    assert [c["value"] for c in _session_cookies(page.context)] == [cookie["value"]]

    page.reload(wait_until="domcontentloaded")
    _overview_title(page).wait_for(timeout=60_000)  # still logged in after a reload

    page.get_by_role("button", name="ログアウト").click()
    page.get_by_label("パスワード").wait_for(timeout=60_000)
    _wait_for_cookie(page, present=False)  # the logout endpoint deleted it
    page.reload(wait_until="domcontentloaded")
    page.get_by_label("パスワード").wait_for(timeout=60_000)  # logged out for good
    assert _overview_title(page).count() == 0

    # A copy of the old cookie (taken before the logout) opens nothing: the session is revoked.
    thief = make_page(user=None)
    thief.context.add_cookies(
        [
            {
                "name": "bosai_session",
                "value": cookie["value"],
                "url": app_server["url"],
                "sameSite": "Strict",
            }
        ]
    )
    thief.goto(app_server["url"] + "/safety", wait_until="domcontentloaded")
    thief.get_by_label("パスワード").wait_for(timeout=60_000)
    assert _overview_title(thief).count() == 0
    assert page.offline.blocked == [] and thief.offline.blocked == []


def test_a_password_change_ends_the_sessions_of_the_account(make_page, app_server):
    page = make_page(user="viewer")
    page.goto(app_server["url"], wait_until="domcontentloaded")
    _overview_title(page).wait_for(timeout=60_000)
    store = open_store(app_server["store"]["url"])
    try:
        password = app_server["store"]["passwords"]["viewer"][::-1] + "!"
        accounts.set_password(store, "viewer", password, actor="tests")
        app_server["store"]["passwords"]["viewer"] = password
    finally:
        store.dispose()
    page.reload(wait_until="domcontentloaded")
    page.get_by_label("パスワード").wait_for(timeout=60_000)
    assert _overview_title(page).count() == 0


def test_a_new_browser_without_the_cookie_sees_only_the_login(make_page, app_server):
    page = make_page(user=None)
    page.goto(app_server["url"] + "/safety", wait_until="domcontentloaded")
    page.get_by_label("パスワード").wait_for(timeout=60_000)
    assert _overview_title(page).count() == 0


def test_wrong_password_is_refused(make_page, app_server):
    page = make_page(user=None)
    page.goto(app_server["url"], wait_until="domcontentloaded")
    page.get_by_label("ユーザー名").fill("admin")
    page.get_by_label("パスワード").fill("not the password at all")
    page.get_by_role("button", name="ログイン").click()
    page.get_by_text("ユーザー名またはパスワードが正しくない", exact=False).wait_for(timeout=60_000)
    assert _overview_title(page).count() == 0


def test_the_page_asked_for_survives_the_login(make_page, app_server):
    """A wall screen opened at /shelters?kiosk=1 lands there after the login, not on /."""
    page = make_page(user=None)
    page.goto(app_server["url"] + "/shelters?kiosk=1", wait_until="domcontentloaded")
    page.get_by_label("ユーザー名").fill("operator")
    page.get_by_label("パスワード").fill(app_server["store"]["passwords"]["operator"])
    page.get_by_role("button", name="ログイン").click()
    page.get_by_text("避難所", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_function("() => location.pathname.endsWith('/shelters')", timeout=30_000)
    page.locator(
        '[data-testid="stMetric"], .bosai-board, [data-testid="stDataFrame"]'
    ).first.wait_for(timeout=60_000)
    assert page.evaluate("location.pathname").endswith("/shelters")
    assert "kiosk=1" in page.evaluate("location.search")
    assert _overview_title(page).count() == 0
    # and a viewer asking for a page the role may not open gets a message in Japanese
    viewer = make_page(user="viewer")
    viewer.goto(app_server["url"] + "/admin", wait_until="domcontentloaded")
    viewer.get_by_text("権限がありません", exact=False).wait_for(timeout=60_000)
    assert viewer.get_by_text("Page not found").count() == 0


def test_the_login_screen_switches_to_english(make_page, app_server):
    """A visitor who reads no Japanese can switch the login screen (and the session) to English."""
    page = make_page(user=None)
    page.goto(app_server["url"], wait_until="domcontentloaded")
    page.get_by_label("ユーザー名").wait_for(timeout=60_000)
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.get_by_label("Username").wait_for(timeout=60_000)
    # the Japanese form goes when the rerun ends (it may linger a moment as a stale element)
    expect(page.get_by_label("ユーザー名")).to_have_count(0, timeout=30_000)
    page.get_by_label("Username").fill("operator")
    page.get_by_role("textbox", name="Password").fill(app_server["store"]["passwords"]["operator"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Overview", exact=False).first.wait_for(timeout=60_000)  # still English
    assert _overview_title(page).count() == 0
