"""Local-account login in Chromium: the form, a session that survives a reload, and log-out."""

from __future__ import annotations


def _overview_title(page):
    return page.get_by_text("概況 — 調布市")


def test_login_survives_a_reload_and_logout_ends_it(make_page, app_server):
    page = make_page(user=None)
    page.goto(app_server["url"], wait_until="domcontentloaded")
    page.get_by_label("ユーザー名").fill("operator")
    page.get_by_label("パスワード").fill(app_server["store"]["passwords"]["operator"])
    page.get_by_role("button", name="ログイン").click()
    _overview_title(page).wait_for(timeout=60_000)
    assert page.get_by_text("operator").first.is_visible()

    page.wait_for_function(
        "document.cookie.includes('bosai_session=')", timeout=30_000
    )  # the signed session cookie was set
    page.reload(wait_until="domcontentloaded")
    _overview_title(page).wait_for(timeout=60_000)  # still logged in after a reload

    page.get_by_role("button", name="ログアウト").click()
    page.get_by_label("パスワード").wait_for(timeout=60_000)
    page.wait_for_function("!document.cookie.includes('bosai_session=')", timeout=30_000)
    page.reload(wait_until="domcontentloaded")
    page.get_by_label("パスワード").wait_for(timeout=60_000)  # logged out for good
    assert _overview_title(page).count() == 0
    assert page.offline.blocked == []


def test_wrong_password_is_refused(make_page, app_server):
    page = make_page(user=None)
    page.goto(app_server["url"], wait_until="domcontentloaded")
    page.get_by_label("ユーザー名").fill("admin")
    page.get_by_label("パスワード").fill("not the password at all")
    page.get_by_role("button", name="ログイン").click()
    page.get_by_text("ユーザー名またはパスワードが正しくない", exact=False).wait_for(timeout=60_000)
    assert _overview_title(page).count() == 0
