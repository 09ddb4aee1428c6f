"""Single sign-on end to end: Chromium logs in through oidc-provider-mock, the gate maps the claims.

Proves that st.login with the [auth] settings of secrets.toml works against a real OIDC
provider, that dashboard.auth maps the ID token's roles claim / subject to a role, that an
unmapped identity gets no access, that a logged-out visitor sees only the login button, and
that require() stops a page server-side.
"""

from __future__ import annotations

import re

from tests.oidc.conftest import OPERATOR, STRANGER, VIEWER

LOGIN = "組織アカウントでログイン"
TIMEOUT = 45_000


def _app_requests_blocked(page, app: dict) -> list[str]:
    return [url for url, origin in page.blocked if origin.startswith(app["url"])]


def _main(page):
    return page.locator('[data-testid="stMain"]')


def _login(page, app: dict, sub: str) -> None:
    page.goto(app["url"])
    page.get_by_role("button", name=LOGIN).click(timeout=TIMEOUT)
    page.wait_for_url(re.compile(r"/oauth2/authorize"), timeout=TIMEOUT)
    page.get_by_role("button", name=sub, exact=True).click()
    page.wait_for_url(re.compile(re.escape(app["url"]) + r"/?$"), timeout=TIMEOUT)


def test_a_logged_out_visitor_sees_only_the_login_button(oidc_app, page):
    page.goto(oidc_app["url"])
    button = page.get_by_role("button", name=LOGIN)
    button.wait_for(timeout=TIMEOUT)
    main = _main(page)
    assert main.locator("button").count() == 1
    assert main.locator("input").count() == 0  # no local-account form: SSO only
    text = main.inner_text()
    assert "identity:" not in text and "PERSONAL-DATA-SECTION" not in text
    assert _app_requests_blocked(page, oidc_app) == []


def test_an_operator_logs_in_and_sees_name_role_and_personal_section(oidc_app, page):
    _login(page, oidc_app, OPERATOR["sub"])
    main = _main(page)
    main.get_by_text("PERSONAL-DATA-SECTION").wait_for(timeout=TIMEOUT)
    main.get_by_text("権限がありません", exact=False).wait_for(timeout=TIMEOUT)  # the run ended
    text = main.inner_text()
    assert f"identity: {OPERATOR['name']}" in text
    assert "role: operator" in text
    assert "source: oidc" in text
    assert "ADMIN-SECTION" not in text  # require("admin", ...) stopped the page
    assert "権限がありません" in text
    page.screenshot(path=str(oidc_app["log"].parent / "operator.png"))
    # The login is in the audit log under the verified e-mail.
    from geodata.store.core import open_store

    store = open_store(oidc_app["db"])
    audit = store.read_audit(layer="users")
    assert ((audit["who"] == OPERATOR["email"]) & (audit["action"] == "login:oidc")).any()
    store.dispose()
    # Logging out ends the provider's session too (its end_session page), then the app shows
    # the login button only, and the identity cookie is gone.
    main.get_by_role("button", name="ログアウト").click()
    page.wait_for_url(re.compile(r"/oauth2/end_session"), timeout=TIMEOUT)
    page.get_by_role("button", name="End session").click()
    page.get_by_role("button", name=LOGIN).wait_for(timeout=TIMEOUT)
    assert not [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    assert "identity:" not in _main(page).inner_text()
    assert _app_requests_blocked(page, oidc_app) == []


def test_a_viewer_is_stopped_before_personal_data(oidc_app, page):
    _login(page, oidc_app, VIEWER["sub"])
    main = _main(page)
    main.get_by_text("role: viewer").wait_for(timeout=TIMEOUT)
    main.get_by_text("権限がありません", exact=False).wait_for(timeout=TIMEOUT)
    text = main.inner_text()
    assert f"identity: {VIEWER['name']}" in text
    assert "PERSONAL-DATA-SECTION" not in text and "ADMIN-SECTION" not in text
    assert "権限がありません" in text


def test_an_identity_without_a_role_gets_no_access(oidc_app, page):
    _login(page, oidc_app, STRANGER["sub"])
    main = _main(page)
    main.get_by_text("権限が割り当てられていません", exact=False).wait_for(timeout=TIMEOUT)
    text = main.inner_text()
    assert STRANGER["email"] in text
    assert "identity:" not in text and "role:" not in text
    logout = main.get_by_role("button", name="ログアウト")
    logout.wait_for(timeout=TIMEOUT)  # drawn after the message, in the same run
    assert logout.count() == 1
