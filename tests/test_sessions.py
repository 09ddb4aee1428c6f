"""Server-side login sessions (geodata/access/sessions.py), their endpoints and the secret keys.

Reported: the session was an HMAC token signed with a key kept in the store's ``meta`` table, set
from JavaScript (not HttpOnly), valid 12 h and still valid after logout and after a password
change. Now a session is a row in the store, the browser holds a random token (stored only as its
hash) in an HttpOnly cookie, and logout, a password change, disabling the account and "sign out
everywhere" end it at once.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest
import sqlalchemy as sa

from geodata.access import accounts, files, keys, privacy, sessions
from geodata.schema import now_utc

GOOD = "kaigan-dori 7 typhoon"
POLICY = sessions.SessionPolicy(idle=timedelta(minutes=10), lifetime=timedelta(hours=1))


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _login(store, username: str, now=None) -> tuple[sessions.Session, str]:
    session, handoff = sessions.create(store, username, policy=POLICY, now=now)
    found = sessions.redeem(store, handoff, policy=POLICY, now=now)
    assert found is not None
    return found


def test_the_store_keeps_only_a_hash_of_the_cookie_token(store):
    t0 = now_utc()
    session, handoff = sessions.create(store, "tanaka", policy=POLICY, now=t0)
    assert sessions.resume(store, handoff, policy=POLICY, now=t0) is None  # not a cookie
    found, token = sessions.redeem(store, handoff, policy=POLICY, now=t0)
    assert found.id == session.id and len(token) >= 40
    assert sessions.redeem(store, handoff, policy=POLICY, now=t0) is None  # single use
    with store._read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(store.tables["sessions"])).mappings()]
    assert len(rows) == 1 and rows[0]["token_hash"] == sessions.token_hash(token)
    assert token not in json.dumps(rows, default=str) and handoff not in json.dumps(
        rows, default=str
    )
    assert sessions.resume(store, token, policy=POLICY, now=t0).username == "tanaka"
    for junk in (None, "", "x" * 500, token[:-1]):
        assert sessions.resume(store, junk, policy=POLICY, now=t0) is None


def test_a_handoff_code_expires_after_a_minute(store):
    t0 = now_utc()
    _, handoff = sessions.create(store, "tanaka", policy=POLICY, now=t0)
    late = t0 + timedelta(seconds=sessions.HANDOFF_SECONDS + 1)
    assert sessions.redeem(store, handoff, policy=POLICY, now=late) is None


def test_idle_timeout_and_absolute_lifetime(store):
    t0 = now_utc()
    session, token = _login(store, "tanaka", now=t0)
    # Used every 9 minutes it stays (each use moves last_seen_at) ...
    for minutes in (9, 18, 27, 36, 45, 54):
        assert sessions.resume(store, token, policy=POLICY, now=t0 + timedelta(minutes=minutes))
    # ... until its lifetime (1 h here) ends it, however active.
    assert sessions.resume(store, token, policy=POLICY, now=t0 + timedelta(minutes=61)) is None
    # Unused for longer than the idle timeout it ends too.
    _, idle_token = _login(store, "sato", now=t0)
    assert sessions.check(store, None, policy=POLICY) is None
    assert sessions.resume(store, idle_token, policy=POLICY, now=t0 + timedelta(minutes=11)) is None


def test_the_default_policy_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("BOSAI_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("BOSAI_SESSION_HOURS", "8")
    assert sessions.SessionPolicy.from_settings() == sessions.SessionPolicy(
        idle=timedelta(minutes=15), lifetime=timedelta(hours=8)
    )
    monkeypatch.setenv("BOSAI_SESSION_HOURS", "forever")
    with pytest.raises(ValueError, match="BOSAI_SESSION_HOURS"):
        sessions.SessionPolicy.from_settings()


def test_logout_password_change_disable_and_sign_out_everywhere_end_sessions(store):
    accounts.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    accounts.add_user(store, "sato", "viewer", GOOD, actor="cli:test")
    first, first_token = _login(store, "tanaka")
    _, second_token = _login(store, "tanaka")
    _, sato_token = _login(store, "sato")

    assert sessions.revoke(store, first.id)  # log-out ends that session only
    assert sessions.resume(store, first_token, policy=POLICY) is None
    assert sessions.resume(store, second_token, policy=POLICY) is not None

    accounts.set_password(store, "tanaka", GOOD + "!", actor="cli:test")
    assert sessions.resume(store, second_token, policy=POLICY) is None
    assert sessions.resume(store, sato_token, policy=POLICY) is not None

    accounts.disable_user(store, "sato", actor="cli:test")
    assert sessions.resume(store, sato_token, policy=POLICY) is None

    accounts.enable_user(store, "sato", actor="cli:test")
    tokens = [_login(store, name)[1] for name in ("tanaka", "sato", "sato")]
    assert accounts.sign_out_everywhere(store, "SATO", actor="admin") == 2
    assert [sessions.resume(store, tok, policy=POLICY) is not None for tok in tokens] == [
        True,
        False,
        False,
    ]
    assert accounts.sign_out_everywhere(store, None, actor="admin") == 1
    assert sessions.live_sessions(store, policy=POLICY) == []
    audit = store.read_audit(layer="users")
    signed = audit[audit["action"] == "users:sign-out"]
    assert len(signed) == 2 and set(signed["who"]) == {"admin"}


def test_sign_out_everywhere_reaches_single_sign_on_logins(store):
    issued = now_utc() - timedelta(minutes=5)
    assert not sessions.signed_out_after(store, "a@city.example.lg.jp", issued)
    accounts.sign_out_everywhere(store, "a@city.example.lg.jp", actor="admin")
    assert sessions.signed_out_after(store, "a@city.example.lg.jp", issued)
    assert not sessions.signed_out_after(store, "b@city.example.lg.jp", issued)
    assert not sessions.signed_out_after(
        store, "a@city.example.lg.jp", now_utc() + timedelta(seconds=5)
    )  # a new login at the provider is fine
    accounts.sign_out_everywhere(store, None, actor="admin")
    assert sessions.signed_out_after(store, "b@city.example.lg.jp", issued)


# -- the endpoints (dashboard/server.py) -----------------------------------------------------------


@pytest.fixture
def client(store, store_url, monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from dashboard import server

    monkeypatch.setenv("BOSAI_DB_URL", store_url)
    with TestClient(Starlette(routes=server.routes()), base_url="http://127.0.0.1:8501") as c:
        yield c


def test_the_endpoint_sets_an_httponly_strict_cookie_once(client, store):
    session, handoff = sessions.create(store, "tanaka")
    same = {"Origin": "http://127.0.0.1:8501"}
    answer = client.post("/bosai/session", content=handoff, headers=same)
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert cookie.startswith(f"{sessions.COOKIE}=")
    assert {"httponly", "samesite", "path"} <= parts and "max-age" not in parts
    assert "samesite=strict" in cookie.lower() and "secure" not in parts  # plain http here
    token = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.resume(store, token).id == session.id
    again = client.post("/bosai/session", content=handoff, headers=same)
    assert again.status_code == 403 and "set-cookie" not in again.headers


def test_the_endpoints_refuse_other_origins_and_mark_https_cookies_secure(client, store):
    _, handoff = sessions.create(store, "tanaka")
    evil = client.post(
        "/bosai/session", content=handoff, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    proxied = client.post(
        "/bosai/session",
        content=handoff,
        headers={"Origin": "http://127.0.0.1:8501", "X-Forwarded-Proto": "https"},
    )
    assert proxied.status_code == 204 and "secure" in proxied.headers["set-cookie"].lower()


def test_the_logout_endpoint_revokes_and_deletes_the_cookie(client, store):
    token = _login(store, "tanaka")[1]
    client.cookies.set(sessions.COOKIE, token)
    answer = client.post("/bosai/logout", headers={"Origin": "http://127.0.0.1:8501"})
    assert answer.status_code == 204
    assert "max-age=0" in answer.headers["set-cookie"].lower()
    assert sessions.resume(store, token) is None


# -- secrets out of the data file ----------------------------------------------------------------


def test_the_store_holds_no_secret_and_old_keys_move_to_the_key_file(
    store_url, monkeypatch, tmp_path
):
    from geodata.store.core import open_store

    monkeypatch.setenv("BOSAI_KEY_FILE", str(tmp_path / "keys" / "bosai.key"))
    store = open_store(store_url)
    legacy = "ab" * 32
    with store._write() as conn:
        meta = store.tables["meta"]
        conn.execute(meta.insert().values(key="privacy_displacement_key", value=legacy))
        conn.execute(meta.insert().values(key="session_key", value="cd" * 32))
        conn.execute(meta.update().where(meta.c.key == "schema_version").values(value="6"))
    store.dispose()
    store = open_store(store_url)  # migration 7
    with store._read() as conn:
        meta = dict(conn.execute(sa.text("SELECT key, value FROM meta")).all())
    assert set(meta) == {"schema_version"}
    # Points stay where they were shown: the old key is kept, now in the key file.
    assert privacy.displacement_key(store) == bytes.fromhex(legacy)
    key_file = tmp_path / "keys" / "bosai.key"
    assert json.loads(key_file.read_text()) == {"displacement": legacy}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    store.dispose()


def test_a_key_file_readable_by_others_is_refused_with_the_chmod(monkeypatch, tmp_path):
    path = tmp_path / "bosai.key"
    monkeypatch.setenv("BOSAI_KEY_FILE", str(path))
    key = keys.secret("displacement")
    assert len(key) == 32 and keys.secret("displacement") == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(files.InsecureFile) as caught:
        keys.secret("displacement")
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert f"chmod 600 {path}" in message and "0644" in message


def test_the_keys_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BOSAI_KEY_FILE", str(tmp_path / "unused.key"))
    monkeypatch.setenv("BOSAI_SECRET_KEY", "x" * 48)
    first = keys.secret("displacement")
    assert len(first) == 32 and first == keys.secret("displacement")
    assert first != keys.secret("other")
    assert not (tmp_path / "unused.key").exists()
    monkeypatch.setenv("BOSAI_SECRET_KEY", "short")
    with pytest.raises(ValueError, match="at least 32"):
        keys.secret("displacement")


def test_a_new_sqlite_store_and_its_wal_are_owner_only(tmp_path):
    from geodata.store.core import open_store

    folder = tmp_path / "var"
    url = f"sqlite:///{folder / 'bosai.sqlite'}"
    store = open_store(url)
    accounts.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")  # the WAL has data
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files.sqlite_files(url)}
    assert modes == {"bosai.sqlite": 0o600, "bosai.sqlite-wal": 0o600, "bosai.sqlite-shm": 0o600}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    store.dispose()
    # A store file made readable by others is what the dashboard refuses to start with.
    os.chmod(folder / "bosai.sqlite", 0o644)
    problems = files.startup_problems(url, [])
    assert [p.path.name for p in problems] == ["bosai.sqlite"]
    assert f"chmod 600 {folder / 'bosai.sqlite'}" in str(problems[0])


# -- the gate (dashboard/auth.py) through AppTest -------------------------------------------------


def _gate_app():
    import streamlit as st

    from dashboard import auth as gate

    user = gate.gate()
    gate.user_badge(st.sidebar)
    st.markdown(f"identity: {user.label} / {user.role}")


@pytest.fixture
def gate_app(sqlite_url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from geodata.store.core import open_store

    monkeypatch.setenv("BOSAI_DB_URL", sqlite_url)
    store = open_store(sqlite_url)
    accounts.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")

    def login():
        at = AppTest.from_function(_gate_app, default_timeout=30)
        at.secrets["bosai_auth"] = {}
        at.run()
        at.text_input[0].input("tanaka")
        at.text_input[1].input(GOOD)
        at.button[0].click().run()
        assert "identity: tanaka / operator" in _texts(at)
        return at

    yield login, store
    store.dispose()


def _texts(at) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.info, *at.error])


def _html(at) -> str:
    return "\n".join(e.proto.body for e in at.get("html"))


def test_the_login_form_makes_a_server_session_and_hands_it_to_the_endpoint(gate_app):
    login, store = gate_app
    at = login()
    sid = at.session_state["bosai_auth_session"]["sid"]
    assert [s.id for s in sessions.live_sessions(store)] == [sid]
    html = _html(at)
    assert "fetch('/bosai/session'" in html and "document.cookie" not in html
    at.run()
    assert "/bosai/session" not in _html(at)  # the one-time code is posted once


def test_a_password_change_ends_an_open_dashboard_session_at_the_next_run(gate_app):
    login, store = gate_app
    at = login()
    accounts.set_password(store, "tanaka", GOOD + "?", actor="cli:admin")
    at.run()
    text = _texts(at)
    assert "identity:" not in text and "有効期限が切れました" in text
    assert len(at.text_input) == 2


def test_an_idle_session_ends_at_the_next_run(gate_app):
    login, store = gate_app
    at = login()
    t = store.tables["sessions"]
    stale = (now_utc() - timedelta(minutes=61)).replace(tzinfo=None)
    with store._write() as conn:
        conn.execute(t.update().values(last_seen_at=stale))
    at.run()
    assert "identity:" not in _texts(at) and len(at.text_input) == 2


def test_logout_revokes_the_session_and_has_the_endpoint_drop_the_cookie(gate_app):
    login, store = gate_app
    at = login()
    sid = at.session_state["bosai_auth_session"]["sid"]
    at.sidebar.button[0].click().run()
    assert len(at.text_input) == 2 and "identity:" not in _texts(at)
    assert sessions.check(store, sid) is None
    assert "fetch('/bosai/logout'" in _html(at)
    audit = store.read_audit(layer="users")
    assert "logout" in set(audit["action"])


def _admin_app():
    from dashboard import auth as gate
    from dashboard import sessions_admin

    gate.gate()
    sessions_admin.panel()


def test_an_admin_signs_a_user_out_everywhere_from_the_admin_page(sqlite_url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from geodata.store.core import open_store
    from tests.accounts import login_apptest

    monkeypatch.setenv("BOSAI_DB_URL", sqlite_url)
    store = open_store(sqlite_url)
    accounts.add_user(store, "boss", "admin", GOOD, actor="cli:test")
    accounts.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    tablet = _login(store, "tanaka")[1]
    at = login_apptest(AppTest.from_function(_admin_app, default_timeout=30), "boss")
    at.secrets["bosai_auth"] = {}
    at.run()
    listed = at.dataframe[0].value
    assert sorted(listed.iloc[:, 0]) == ["boss", "tanaka"]
    at.selectbox[0].set_value("tanaka")
    at.button(key="bosai_sign_out_user").click().run()
    assert "1 件のセッションを終了しました" in at.success[0].value
    assert sessions.resume(store, tablet) is None
    assert [s.username for s in sessions.live_sessions(store)] == ["boss"]
    # A viewer gets no panel at all.
    accounts.add_user(store, "wall", "viewer", GOOD, actor="cli:test")
    viewer = login_apptest(AppTest.from_function(_admin_app, default_timeout=30), "wall")
    viewer.secrets["bosai_auth"] = {}
    viewer.run()
    assert len(viewer.button) == 0 and len(viewer.dataframe) == 0
    store.dispose()


def test_cli_users_sign_out(sqlite_url, monkeypatch, capsys):
    from geodata.store.core import open_store
    from ingest import cli as ingest_cli
    from ingest.commands import users

    monkeypatch.setattr(users, "install_log_redaction", lambda: None)
    store = open_store(sqlite_url)
    accounts.add_user(store, "tanaka", "operator", GOOD, actor="cli:test")
    tokens = [_login(store, name)[1] for name in ("tanaka", "tanaka", "sato")]
    code = ingest_cli.main(["users", "sign-out", "tanaka", "--db", sqlite_url, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["sessions_ended"] == 2 and out["user"] == "tanaka"
    assert [sessions.resume(store, tok) is None for tok in tokens] == [True, True, False]
    assert ingest_cli.main(["users", "sign-out", "--all", "--db", sqlite_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sessions_ended"] == 1
    with pytest.raises(SystemExit):  # a name or --all, not both
        ingest_cli.main(["users", "sign-out", "tanaka", "--all", "--db", sqlite_url])
    store.dispose()
