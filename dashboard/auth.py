"""The login gate and the permission checks of the dashboard (the Streamlit side of geodata.access.accounts).

Two ways in, chosen by ``.streamlit/secrets.toml`` (docs/security.md):

- **single sign-on** when an ``[auth]`` section is configured: Streamlit's ``st.login`` with an
  OpenID Connect provider (Microsoft Entra ID, Google Workspace...). The ID-token claims in
  ``st.user`` are mapped to a role by ``[bosai_auth]``; an identity that nothing maps gets *no
  access* (a message and a log-out button), never a default role unless one is configured;
- **local accounts** (``python -m ingest users``) otherwise, or in addition when
  ``[bosai_auth] local_login = true`` (a break-glass login for when the identity provider cannot
  be reached — the internet often goes first in a disaster).

Every check runs on the server on every script run: the session is looked up in the store
(geodata/access/sessions.py: revoked by log-out, a password change, disabling the account or
"sign out everywhere"; ended after ``BOSAI_SESSION_IDLE_MINUTES`` unused or
``BOSAI_SESSION_HOURS`` in any case), the account is re-read (a changed role takes effect at the
next rerun), and :func:`require` / :func:`check` consult :func:`geodata.access.roles.allowed` —
hiding a widget is never the only protection. A page reload finds the session again through an
``HttpOnly`` cookie set by the endpoint of dashboard/server.py, never by JavaScript.

The frame calls :func:`gate` once; pages call :func:`require_page` first thing, :func:`mask` on
every frame they show, and :func:`check` right before every write.

Over ~400 lines on purpose: the login screen, the session cookie hand-off, SSO claims and the
permission checks share the session state they read; apart, a check could read a half-set login.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from dashboard import pages, server
from geodata.access import accounts, privacy, roles, sessions
from geodata.access.roles import Forbidden, User

log = logging.getLogger(__name__)

SESSION_KEY = "bosai_auth_session"
_AUDITED_KEY = "bosai_auth_audited"
_HANDOFF_KEY = "bosai_auth_handoff"
_LOGGED_OUT_KEY = "bosai_auth_logged_out"

_TEXT = {
    "title": ("防災ダッシュボード ログイン", "Disaster dashboard — log in"),
    "sso": ("組織アカウントでログイン", "Log in with your organization account"),
    "sso_named": ("{name} でログイン", "Log in with {name}"),
    "username": ("ユーザー名", "Username"),
    "password": ("パスワード", "Password"),
    "submit": ("ログイン", "Log in"),
    "failed": (
        "ユーザー名またはパスワードが正しくないか、アカウントがロックまたは無効になっています"
        "（5回続けて失敗すると15分間ロックされます）。",
        "Wrong username or password, or the account is locked or disabled "
        "(5 failures in a row lock it for 15 minutes).",
    ),
    "no_accounts": (
        "アカウントがまだありません。管理者が `python -m ingest users add 名前 --role admin` で"
        "最初のアカウントを作成してください。",
        "No accounts yet: an administrator makes the first one with "
        "`python -m ingest users add NAME --role admin`.",
    ),
    "no_access": (
        "{who} としてログインしましたが、このダッシュボードの権限が割り当てられていません。"
        "管理者に連絡してください。",
        "You are logged in as {who}, but no role is assigned to you on this dashboard. "
        "Please contact an administrator.",
    ),
    "expired": (
        "ログインの有効期限が切れました。もう一度ログインしてください。",
        "Your session has expired. Please log in again.",
    ),
    "denied": (
        "権限がありません：{role} は「{page}」の {action} ができません。",
        "Not allowed: the {role} role may not {action} on “{page}”.",
    ),
    "logout": ("ログアウト", "Log out"),
    "unavailable": (
        "アカウントを確認できません（データベースに接続できません）。",
        "Cannot check accounts (the database is unreachable).",
    ),
}


def _t(key: str, **kw) -> str:
    try:
        from dashboard.i18n import current_lang

        lang = current_lang()
    except Exception:  # noqa: BLE001 - outside the frame (tests): Japanese
        lang = "ja"
    ja, en = _TEXT[key]
    return (en if lang == "en" else ja).format(**kw)


# -- configuration -------------------------------------------------------------------------------


def _secrets(name: str) -> dict:
    try:
        section = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return {}
    if section is None:
        return {}
    return section.to_dict() if hasattr(section, "to_dict") else dict(section)


def config() -> dict:
    """The ``[bosai_auth]`` section of secrets.toml (role mapping, session length...)."""
    return _secrets("bosai_auth")


def oidc_configured() -> bool:
    """Whether single sign-on is configured (an ``[auth]`` section in secrets.toml)."""
    return bool(_secrets("auth"))


def oidc_providers() -> list[str | None]:
    """The providers to offer: named ``[auth.NAME]`` sections, else the default (None)."""
    section = _secrets("auth")
    named = [
        k
        for k, v in section.items()
        if isinstance(v, Mapping) and ("client_id" in v or "server_metadata_url" in v)
    ]
    if named:
        return named
    return [None] if section.get("client_id") else []


def local_login_enabled() -> bool:
    """Local accounts are used without SSO, and with it only when ``local_login = true``."""
    return not oidc_configured() or bool(config().get("local_login", False))


def policy() -> sessions.SessionPolicy:
    """Session limits: the settings, with ``[bosai_auth] session_hours`` as an override."""
    policy = sessions.SessionPolicy.from_settings()
    hours = config().get("session_hours")
    if hours is None:
        return policy
    try:
        lifetime = timedelta(hours=max(float(hours), 0.1))
    except (TypeError, ValueError):
        return policy
    return sessions.SessionPolicy(idle=policy.idle, lifetime=lifetime)


def _store():
    from dashboard.data import db_url, get_store

    return get_store(db_url())


# -- who is logged in ----------------------------------------------------------------------------


def _oidc_claims() -> dict:
    if not oidc_configured():
        return {}
    try:
        info = dict(st.user.to_dict())
    except Exception:  # noqa: BLE001 - st.user unavailable outside a session
        return {}
    return info if info.get("is_logged_in") else {}


def _oidc_expired(claims: Mapping) -> bool:
    issued = claims.get("iat")
    if not isinstance(issued, (int, float)):
        return False
    return time.time() - float(issued) > policy().lifetime.total_seconds()


def _oidc_signed_out(user: User, claims: Mapping) -> bool:
    """Whether an administrator signed this SSO identity out after its login."""
    issued = claims.get("iat")
    if not isinstance(issued, (int, float)):
        return False
    try:
        when = datetime.fromtimestamp(float(issued), UTC)
        return sessions.signed_out_after(_store(), user.username, when)
    except Exception:  # noqa: BLE001 - fail closed when the store is unreachable
        log.exception("cannot check the sign-out cut-off")
        return True


def _session_from_cookie() -> dict | None:
    """The server-side session named by this browser's HttpOnly cookie (survives a reload)."""
    try:
        token = st.context.cookies.get(sessions.COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (AppTest, bare mode)
        return None
    if not token:
        return None
    try:
        found = sessions.resume(_store(), token, policy=policy())
    except Exception:  # noqa: BLE001 - fail closed: the login screen says the store is down
        log.exception("cannot look up the session")
        return None
    if found is None:
        return None
    return {"sid": found.id, "username": found.username}


def _local_user() -> User | None:
    session = st.session_state.get(SESSION_KEY)
    if not session:
        session = _session_from_cookie()
        if session:
            st.session_state[SESSION_KEY] = session
            st.session_state[_AUDITED_KEY] = session["username"]  # logged in an earlier session
    if not session:
        return None
    try:
        store = _store()
        live = sessions.check(store, session.get("sid"), policy=policy())
        user = accounts.get_user(store, session["username"]) if live else None
    except Exception:  # noqa: BLE001 - fail closed when the store is unreachable
        log.exception("cannot read the session or the account")
        return None
    if live is None:  # revoked, unused too long, or past its lifetime
        st.session_state.pop(SESSION_KEY, None)
        st.session_state["bosai_auth_expired"] = True
        return None
    if user is None or user.disabled:
        st.session_state.pop(SESSION_KEY, None)
        return None
    return user


def current_user() -> User | None:
    """The logged-in user with their role, or None (not logged in, no access, expired)."""
    claims = _oidc_claims()
    if claims and not _oidc_expired(claims):
        user = accounts.user_from_claims(claims, config())
        if user is not None and not _oidc_signed_out(user, claims):
            return user
    return _local_user() if local_login_enabled() else None


# -- the gate --------------------------------------------------------------------------------------


def gate(before_login: Callable[[], None] | None = None) -> User:
    """Stop the script unless someone with a role is logged in; returns the user.

    Call it in ``streamlit_app.py`` right after ``st.set_page_config`` and before
    ``st.navigation``. A visitor who is not logged in sees only the login screen; an SSO
    identity without a role sees a message and a log-out button. ``before_login`` runs before
    the login screen is drawn (the frame keeps the page the URL asks for:
    :func:`dashboard.pages.keep_requested_page`).
    """
    user = current_user()
    if user is not None:
        _audit_login_once(user)
        handoff = st.session_state.pop(_HANDOFF_KEY, None)
        if handoff:
            _post_to_server(server.SESSION_ROUTE, handoff)
        return user
    if st.session_state.pop(_LOGGED_OUT_KEY, False):
        _post_to_server(server.LOGOUT_ROUTE, "")
    if before_login is not None:
        before_login()
    _login_screen()
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() raises; keeps type checkers honest


def _post_to_server(route: str, body: str) -> None:
    """Have the page POST ``body`` to one of the endpoints of dashboard/server.py.

    The login's handoff code (single use, 60 s) goes through JavaScript; the session token the
    endpoint answers with stays in an HttpOnly cookie that JavaScript cannot read.
    """
    assert all(c.isalnum() or c in "-_" for c in body)  # a token_urlsafe code: safe in JS
    url = server.endpoint(route)
    st.html(
        f"<script>fetch({url!r}, {{method: 'POST', body: {body!r}, credentials: 'same-origin',"
        " headers: {'Content-Type': 'text/plain'}});</script>",
        unsafe_allow_javascript=True,
    )


def _login_screen() -> None:
    st.title(_t("title"))
    claims = _oidc_claims()
    if claims and not _oidc_expired(claims):
        who = claims.get("email") or claims.get("name") or claims.get("sub")
        st.warning(_t("no_access", who=who))
        if st.button(_t("logout"), key="bosai_logout_noaccess"):
            st.logout()
        return
    if (claims and _oidc_expired(claims)) or st.session_state.pop("bosai_auth_expired", False):
        st.info(_t("expired"))
    providers = oidc_providers() if oidc_configured() else []
    for provider in providers:
        label = _t("sso") if provider is None else _t("sso_named", name=provider)
        if st.button(label, key=f"bosai_login_{provider or 'default'}", type="primary"):
            st.login(provider)
    if local_login_enabled():
        _local_login_form()


def _local_login_form() -> None:
    try:
        store = _store()
        if not accounts.has_users(store):
            st.info(_t("no_accounts"))
            return
    except Exception:  # noqa: BLE001 - fail closed, say why
        log.exception("cannot reach the store for the login")
        st.error(_t("unavailable"))
        return
    with st.form("bosai_login", clear_on_submit=True):
        username = st.text_input(_t("username"), autocomplete="username")
        password = st.text_input(_t("password"), type="password", autocomplete="current-password")
        submitted = st.form_submit_button(_t("submit"), type="primary")
    if not submitted:
        return
    result = accounts.authenticate(store, username or "", password or "")
    if result.ok:
        session, handoff = sessions.create(store, result.user.username, policy=policy())
        st.session_state[SESSION_KEY] = {"sid": session.id, "username": result.user.username}
        st.session_state[_AUDITED_KEY] = result.user.username  # authenticate() logged it
        st.session_state.pop(_LOGGED_OUT_KEY, None)
        st.session_state[_HANDOFF_KEY] = handoff  # the next run has the page redeem it
        st.rerun()
    time.sleep(0.5)  # slows password spraying across many accounts a little more
    st.error(_t("failed"))


def _audit_login_once(user: User) -> None:
    if st.session_state.get(_AUDITED_KEY) == user.username:
        return
    st.session_state[_AUDITED_KEY] = user.username
    try:
        detail = {"role": user.role, "name": user.display_name or None}
        _store().log_action(user.username, f"login:{user.source}", accounts.AUDIT_LAYER, detail)
    except Exception:  # noqa: BLE001 - never lock the HQ out because the audit write failed
        log.exception("cannot audit-log the login of %s", user.username)


def logout() -> None:
    """Log the current user out (ends the SSO cookie, or the local session)."""
    user = current_user()
    session = st.session_state.pop(SESSION_KEY, None) or {}
    st.session_state.pop(_AUDITED_KEY, None)
    st.session_state[_LOGGED_OUT_KEY] = True  # the login screen has the endpoint drop the cookie
    if session.get("sid"):
        try:
            sessions.revoke(_store(), session["sid"], reason="logout")
        except Exception:  # noqa: BLE001 - the cookie is still deleted by the endpoint
            log.exception("cannot revoke the session")
    if user is not None:
        try:
            _store().log_action(user.username, "logout", accounts.AUDIT_LAYER, None)
        except Exception:  # noqa: BLE001
            log.exception("cannot audit-log the logout")
    if user is not None and user.source == "oidc":
        st.logout()
    else:
        st.rerun()


def user_badge(container=None) -> None:
    """The user's name and role, and a log-out button (the frame puts it in the sidebar)."""
    user = current_user()
    if user is None:
        return
    where = container if container is not None else st.sidebar
    where.caption(f"{user.label}（{user.role}）")
    if where.button(_t("logout"), key="bosai_logout"):
        logout()


# -- permission checks ---------------------------------------------------------------------------


def can(page: str, action: str = "view", target: str | None = None) -> bool:
    """Whether the current user may do ``action`` on ``page`` (see geodata.access.roles.allowed)."""
    return roles.allowed(current_user(), page, action, target)


def require(page: str, action: str = "view", target: str | None = None) -> User:
    """Stop the page with a clear message unless the current user may do ``action``.

    Call it first thing in every page (``require("safety")``) and before any section that
    needs more (``require("safety", "view_personal")``). Returns the user.
    """
    user = current_user()
    if roles.allowed(user, page, action, target):
        return user
    role = user.role if user is not None else "—"
    st.error(_t("denied", role=role, page=page, action=action))
    st.stop()
    raise RuntimeError("unreachable")


def require_page(script: str, action: str = "view") -> User:
    """:func:`require` for the page of ``script`` (a page passes its ``__file__``, or a page key).

    The page's key comes from :data:`dashboard.pages.PAGES`, the one table of pages.
    """
    return require(pages.key_of(script), action)


def check(page: str, action: str, target: str | None = None) -> User:
    """Raise :class:`~geodata.access.roles.Forbidden` unless allowed; call it right before a write.

    Works in widget callbacks too (where ``st.stop`` does not belong). Returns the user, whose
    ``username`` is the ``actor`` to pass to the store.
    """
    user = current_user()
    roles.check(user, page, action, target)
    return user


def visible_pages() -> list[str]:
    """The pages the current user may open (the frame lists only these in st.navigation)."""
    return roles.visible_pages(current_user())


@st.cache_resource(show_spinner=False)
def _mask_key(url: str) -> bytes:
    from dashboard.data import get_store

    return privacy.displacement_key(get_store(url))


@st.cache_resource(show_spinner=False, max_entries=2)
def _roster_terms(url: str, version: int) -> privacy.PersonalTerms:
    from dashboard.data import get_store

    del version  # the cache key: a new roster means new terms
    roster = get_store(url).read("roster", columns=["name", "kana", "address", "supporter"])
    return privacy.PersonalTerms.from_roster(roster)


def mask(layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` of ``layer`` as the current user may see it (unchanged for operator/admin).

    Viewers and shelter staff get personal columns blanked, person points displaced, and the
    roster's names and addresses redacted from free text (see geodata.access.privacy).
    """
    return mask_as(current_user(), layer, frame)


def mask_as(who: User | str | None, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`mask` for a given user or role name (None: masked), e.g. inside a cached loader."""
    if not privacy.needs_masking(who):
        return frame
    key, terms = None, None
    try:
        from dashboard.data import db_url

        url = db_url()
        key = _mask_key(url)
        if privacy.TEXT_COLUMNS.get(layer):
            terms = _roster_terms(url, _store().data_version("roster"))
    except Exception:  # noqa: BLE001 - without the key, points are dropped instead
        log.exception("masking without the displacement key or roster terms")
        if privacy.TEXT_COLUMNS.get(layer):
            raise  # never show free text unscrubbed
    return privacy.mask_frame(layer, frame, who, key=key, terms=terms)


def audit(action: str, layer: str | None = None, detail=None) -> None:
    """Audit-log an action of the current user (an export, a view of a personal-data list)."""
    user = current_user()
    _store().log_action(user.username if user else "anonymous", action, layer, detail)


__all__ = [
    "Forbidden",
    "User",
    "mask_as",
    "audit",
    "can",
    "check",
    "config",
    "current_user",
    "gate",
    "logout",
    "mask",
    "oidc_configured",
    "require",
    "require_page",
    "user_badge",
    "visible_pages",
]
