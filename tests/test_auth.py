"""Local accounts: hashing, password rules, lock-out, audit; the CLI; OIDC claim mapping; the gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from geodata.access import accounts as auth
from geodata.access.roles import User
from geodata.schema import now_utc

ROOT = Path(__file__).resolve().parent.parent
GOOD = "kaigan-dori 7 typhoon"  # 21 characters
ACTOR = "cli:test"


@pytest.fixture(autouse=True)
def fast_hasher(monkeypatch):
    """Cheap argon2id parameters: the rules are what is tested here, not the cost."""
    monkeypatch.setattr(
        auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


# -- passwords ------------------------------------------------------------------------------------


def test_the_default_hasher_is_argon2id_with_rfc9106_low_memory_parameters():
    from argon2 import Type

    hasher = PasswordHasher()
    assert hasher.type is Type.ID
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)


def test_hash_is_argon2id_salted_and_verifies():
    h1, h2 = auth.hash_password(GOOD), auth.hash_password(GOOD)
    assert h1.startswith("$argon2id$") and h1 != h2  # salted
    assert auth.verify_password(h1, GOOD)
    assert not auth.verify_password(h1, GOOD + "x")
    assert not auth.verify_password("not a hash", GOOD)
    assert not auth.verify_password(None, GOOD)


@pytest.mark.parametrize(
    "password, reason",
    [
        ("short", "at least 12"),
        ("elevenchars", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "repeated"),
        ("my-tanaka-password", "username"),
        ("x" * 1025 + "y", "at most"),
    ],
)
def test_weak_passwords_are_rejected(password, reason):
    with pytest.raises(auth.WeakPassword, match=reason):
        auth.check_password_strength(password, "tanaka")


def test_twelve_characters_are_enough_and_japanese_counts_per_character():
    auth.check_password_strength("abcdefghijk1", "tanaka")
    auth.check_password_strength("台風十九号の夜に避難所を開設", "tanaka")
    with pytest.raises(auth.WeakPassword):
        auth.check_password_strength("台風十九号の夜に避難", "tanaka")  # 10 characters


# -- accounts -------------------------------------------------------------------------------------


def test_a_new_store_has_no_accounts_and_no_default_password(store):
    assert auth.list_users(store) == []
    assert not auth.has_users(store)
    for name in ("admin", "root", "bosai"):
        for password in ("admin", "password", "bosai", "changeme"):
            assert not auth.authenticate(store, name, password).ok


def test_add_list_and_the_hash_never_leaves_the_module(store):
    user = auth.add_user(
        store,
        " Sato ",
        "shelter_staff",
        GOOD,
        actor=ACTOR,
        display_name="佐藤",
        shelter_ids=["S2", "S1"],
    )
    assert user == User("sato", "shelter_staff", "佐藤", frozenset({"S1", "S2"}))
    listed = auth.list_users(store)
    assert [u["username"] for u in listed] == ["sato"]
    assert listed[0]["shelter_ids"] == ["S1", "S2"]
    assert "password_hash" not in listed[0]
    assert auth.get_user(store, "SATO") == user
    with pytest.raises(auth.AccountError, match="already exists"):
        auth.add_user(store, "sato", "viewer", GOOD, actor=ACTOR)
    with pytest.raises(ValueError, match="unknown role"):
        auth.add_user(store, "kato", "superuser", GOOD, actor=ACTOR)
    with pytest.raises(auth.AccountError, match="only a shelter_staff"):
        auth.add_user(store, "kato", "operator", GOOD, actor=ACTOR, shelter_ids=["S1"])
    with pytest.raises(auth.AccountError, match="invalid username"):
        auth.add_user(store, "bad name!", "viewer", GOOD, actor=ACTOR)


def test_admin_actions_are_audit_logged_without_secrets(store):
    auth.add_user(store, "tanaka", "viewer", GOOD, actor=ACTOR)
    auth.set_role(store, "tanaka", "shelter_staff", actor=ACTOR, shelter_ids=["S9"])
    auth.disable_user(store, "tanaka", actor=ACTOR)
    auth.enable_user(store, "tanaka", actor=ACTOR)
    auth.unlock_user(store, "tanaka", actor=ACTOR)
    auth.set_password(store, "tanaka", GOOD + "!", actor=ACTOR)
    audit = store.read_audit(layer="users")
    actions = list(reversed(audit["action"].tolist()))
    assert actions == [
        "users:add",
        "users:set-role",
        "users:disable",
        "users:enable",
        "users:unlock",
        "users:passwd",
    ]
    assert set(audit["who"]) == {ACTOR}
    text = audit.to_json(force_ascii=False)
    assert GOOD not in text and "$argon2" not in text
    assert auth.get_user(store, "tanaka").shelter_ids == frozenset({"S9"})
    # Changing to another role drops the shelters.
    assert auth.set_role(store, "tanaka", "operator", actor=ACTOR)["shelter_ids"] == []


# -- login and lock-out -----------------------------------------------------------------------


def test_login_lockout_after_five_failures_for_fifteen_minutes(store):
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR)
    t0 = now_utc()
    for i in range(4):
        assert auth.authenticate(store, "tanaka", "wrong password!", now=t0).reason == "invalid"
        assert auth.list_users(store)[0]["failed_attempts"] == i + 1
    assert auth.authenticate(store, "tanaka", "wrong password!", now=t0).reason == "invalid"
    account = auth.list_users(store)[0]
    assert account["locked_until"] is not None
    # Locked: even the right password fails, until 15 minutes have passed.
    assert (
        auth.authenticate(store, "tanaka", GOOD, now=t0 + timedelta(minutes=14)).reason == "locked"
    )
    ok = auth.authenticate(store, "tanaka", GOOD, now=t0 + timedelta(minutes=15, seconds=1))
    assert ok.ok and ok.user.role == "operator"
    assert auth.list_users(store)[0]["failed_attempts"] == 0
    actions = store.read_audit(layer="users")["action"].tolist()
    assert "login:locked-out" in actions and "login:ok" in actions


def test_the_lockout_policy_is_configurable_and_unlock_ends_it(store):
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR)
    policy = auth.LockoutPolicy(max_attempts=2, lockout=timedelta(hours=1))
    for _ in range(2):
        auth.authenticate(store, "tanaka", "nope nope nope", policy=policy)
    assert auth.authenticate(store, "tanaka", GOOD, policy=policy).reason == "locked"
    auth.unlock_user(store, "tanaka", actor="cli:admin")
    assert auth.authenticate(store, "tanaka", GOOD, policy=policy).ok


def test_a_success_resets_the_failure_count(store):
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR)
    for _ in range(4):
        auth.authenticate(store, "tanaka", "nope nope nope")
    assert auth.authenticate(store, "tanaka", GOOD).ok
    for _ in range(4):
        auth.authenticate(store, "tanaka", "nope nope nope")
    assert auth.authenticate(store, "tanaka", GOOD).ok  # 4 + 4 failures, never 5 in a row


def test_disabled_accounts_cannot_log_in(store):
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR)
    auth.disable_user(store, "tanaka", actor=ACTOR)
    assert auth.authenticate(store, "tanaka", GOOD).reason == "disabled"
    auth.enable_user(store, "tanaka", actor=ACTOR)
    assert auth.authenticate(store, "tanaka", GOOD).ok


def test_unknown_users_cost_one_verification_like_known_ones(store, monkeypatch):
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR)
    calls = []

    class Counting(PasswordHasher):
        def verify(self, hash_, password):
            calls.append(hash_)
            return super().verify(hash_, password)

    monkeypatch.setattr(auth, "HASHER", Counting(time_cost=1, memory_cost=1024, parallelism=1))
    auth.set_password(store, "tanaka", GOOD, actor=ACTOR)  # a hash of the counting hasher
    for name in ("tanaka", "nobody", "", "bad name!"):
        calls.clear()
        result = auth.authenticate(store, name, "wrong password!")
        assert not result.ok and result.reason == "invalid"
        assert len(calls) == 1, name  # known or not: one argon2 verification
    audit = store.read_audit(layer="users")
    assert "nobody" not in audit.to_json()  # unknown names are not recorded


def test_an_old_hash_is_upgraded_at_login(store, monkeypatch):
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR)
    old = (
        store.engine.connect()
        .exec_driver_sql("SELECT password_hash FROM users WHERE username = 'tanaka'")
        .scalar()
    )
    monkeypatch.setattr(
        auth, "HASHER", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    )
    assert auth.authenticate(store, "tanaka", GOOD).ok
    with store.engine.connect() as conn:
        new = conn.exec_driver_sql(
            "SELECT password_hash FROM users WHERE username = 'tanaka'"
        ).scalar()
    assert new != old and "m=2048" in new


def test_an_older_database_gets_the_users_table(store_url):
    from geodata.store.core import open_store

    store = open_store(store_url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE users")
        conn.exec_driver_sql("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    store.dispose()
    upgraded = open_store(store_url)
    assert upgraded.schema_version() >= 4
    auth.add_user(upgraded, "tanaka", "admin", GOOD, actor=ACTOR)
    assert auth.authenticate(upgraded, "tanaka", GOOD).ok
    upgraded.dispose()


# -- the command line -------------------------------------------------------------------------


def _cli(args: list[str], db: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BOSAI_DB_URL": db, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


@pytest.fixture
def cli(sqlite_url, monkeypatch, capsys):
    """Run ``python -m ingest`` in this process (fast); returns (exit code, stdout, stderr)."""
    import io

    from ingest import cli as ingest_cli
    from ingest.commands import users

    # The redaction filter would stay on the root logger for the rest of the test session.
    monkeypatch.setattr(users, "install_log_redaction", lambda: None)

    def run(args: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = ingest_cli.main([args[0], "--db", sqlite_url, *args[1:]])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_users_add_through_python_m_ingest(sqlite_url):
    args = ["users", "add", "suzuki", "--role", "shelter_staff", "--shelter", "S1"]
    added = _cli([*args, "--password-stdin", "--json"], sqlite_url, stdin=GOOD + "\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["added"] == "suzuki"
    assert GOOD not in added.stdout + added.stderr
    no_tty = _cli(["users", "add", "kato", "--role", "viewer"], sqlite_url, "")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr


def test_cli_users_list_set_role_disable_unlock(cli, sqlite_url):
    args = ["users", "add", "suzuki", "--role", "shelter_staff", "--shelter", "S1"]
    code, out, _ = cli([*args, "--password-stdin", "--json"], GOOD + "\n")
    assert code == 0 and json.loads(out)["shelters"] == ["S1"]
    code, _, err = cli(["users", "add", "kato", "--role", "viewer", "--password-stdin"], "short\n")
    assert code == 2 and "at least 12" in err
    code, _, err = cli(["users", "add", "kato", "--role", "viewer"])
    assert code == 2 and "--password-stdin" in err  # never a prompt without a terminal
    assert cli(["users", "set-role", "suzuki", "--role", "operator"])[0] == 0
    assert cli(["users", "disable", "suzuki"])[0] == 0
    assert cli(["users", "unlock", "suzuki"])[0] == 0
    code, out, _ = cli(["users", "list", "--json"])
    listed = json.loads(out)["users"]
    assert [(u["username"], u["role"], u["disabled"]) for u in listed] == [
        ("suzuki", "operator", True)
    ]
    assert "hash" not in json.dumps(listed)
    code, out, _ = cli(["users", "list"])
    assert code == 0 and "suzuki" in out and "operator" in out
    code, _, err = cli(["users", "disable", "nobody"])
    assert code == 2 and "no user nobody" in err
    code, _, _ = cli(["users", "passwd", "suzuki", "--password-stdin"], GOOD + "?\n")
    assert code == 0
    from geodata.store.core import open_store

    store = open_store(sqlite_url)
    assert auth.authenticate(store, "suzuki", GOOD + "?").reason == "disabled"
    who = set(store.read_audit(layer="users")["who"]) - {"suzuki"}
    assert len(who) == 1 and next(iter(who)).startswith("cli")
    store.dispose()


# -- single sign-on: claims -> role -------------------------------------------------------------

ENTRA = {
    "require": {"tid": "tenant-1"},
    "role_claim": "roles",
    "claim_roles": {
        "bosai.operator": "operator",
        "bosai.admin": "admin",
        "bosai.staff": "shelter_staff",
    },
    "email_roles": {"Wall@City.example.jp": "viewer"},
    "subject_roles": {"sub-9": "viewer"},
    "shelters": {"sub-5": ["S5"], "staff@city.example.jp": ["S6"]},
}


def _claims(**kw):
    return {"sub": "sub-1", "tid": "tenant-1", "is_logged_in": True, **kw}


def test_roles_claim_maps_and_the_most_trusted_role_wins():
    user = auth.user_from_claims(
        _claims(roles=["bosai.operator", "bosai.admin"], name="田中"), ENTRA
    )
    assert (user.role, user.display_name, user.source) == ("admin", "田中", "oidc")


def test_unmapped_identities_get_no_access_unless_a_default_role_is_set():
    assert auth.user_from_claims(_claims(roles=["something-else"]), ENTRA) is None
    assert auth.user_from_claims(_claims(), {**ENTRA, "default_role": "viewer"}).role == "viewer"
    assert auth.user_from_claims(_claims(), {**ENTRA, "default_role": "root"}) is None
    assert auth.user_from_claims({}, ENTRA) is None
    assert auth.user_from_claims(_claims(roles=["bosai.admin"]), None) is None


def test_the_required_tenant_is_enforced():
    assert auth.user_from_claims(_claims(roles=["bosai.admin"], tid="other"), ENTRA) is None
    no_tid = {k: v for k, v in _claims(roles=["bosai.admin"]).items() if k != "tid"}
    assert auth.user_from_claims(no_tid, ENTRA) is None


def test_email_maps_only_when_verified_and_is_case_insensitive():
    claims = _claims(email="wall@city.example.jp")
    assert auth.user_from_claims(claims, ENTRA) is None
    user = auth.user_from_claims({**claims, "email_verified": True}, ENTRA)
    assert (user.role, user.username) == ("viewer", "wall@city.example.jp")
    assert auth.user_from_claims(_claims(sub="sub-9"), ENTRA).username == "sub-9"


def test_shelter_staff_get_their_shelters_from_the_mapping():
    user = auth.user_from_claims(_claims(sub="sub-5", roles=["bosai.staff"]), ENTRA)
    assert (user.role, user.shelter_ids) == ("shelter_staff", frozenset({"S5"}))
    by_mail = auth.user_from_claims(
        _claims(roles=["bosai.staff"], email="staff@city.example.jp", email_verified=True), ENTRA
    )
    assert by_mail.shelter_ids == frozenset({"S6"})
    unverified = auth.user_from_claims(
        _claims(roles=["bosai.staff"], email="staff@city.example.jp"), ENTRA
    )
    assert unverified.shelter_ids == frozenset()


# -- the Streamlit gate (local accounts) ----------------------------------------------------------


def _gate_app():
    import streamlit as st

    from dashboard import auth as gate

    user = gate.gate()
    st.markdown(f"identity: {user.label} / {user.role}")
    gate.require("safety", "view_personal")
    st.markdown("PERSONAL-SECTION")


@pytest.fixture
def gate_app(sqlite_url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BOSAI_DB_URL", sqlite_url)
    from geodata.store.core import open_store

    store = open_store(sqlite_url)

    def make():
        at = AppTest.from_function(_gate_app, default_timeout=30)
        at.secrets["bosai_auth"] = {"session_hours": 12}  # no [auth]: local accounts only
        return at

    yield make, store
    store.dispose()


def _texts(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(e.value for e in at.error)


def test_gate_without_accounts_says_how_to_make_the_first(gate_app):
    make, _ = gate_app
    at = make().run()
    assert "python -m ingest users add" in "\n".join(i.value for i in at.info)
    assert "identity:" not in _texts(at)
    assert len(at.text_input) == 0


def test_gate_local_login_wrong_then_right_password(gate_app):
    make, store = gate_app
    auth.add_user(store, "tanaka", "operator", GOOD, actor=ACTOR, display_name="田中")
    at = make().run()
    assert len(at.text_input) == 2 and "identity:" not in _texts(at)
    at.text_input[0].input("tanaka")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert "identity:" not in _texts(at)
    assert at.error and "ユーザー名またはパスワード" in at.error[0].value
    at.text_input[0].input("tanaka")
    at.text_input[1].input(GOOD)
    at.button[0].click().run()
    assert "identity: 田中 / operator" in _texts(at)
    assert "PERSONAL-SECTION" in _texts(at)


def test_gate_require_stops_a_viewer_and_a_disabled_account_loses_access(gate_app):
    make, store = gate_app
    auth.add_user(store, "wall", "viewer", GOOD, actor=ACTOR)
    at = make().run()
    at.text_input[0].input("wall")
    at.text_input[1].input(GOOD)
    at.button[0].click().run()
    text = _texts(at)
    assert "identity: wall / viewer" in text
    assert "PERSONAL-SECTION" not in text and "権限がありません" in text
    auth.disable_user(store, "wall", actor="cli:admin")
    at.run()  # the next rerun re-reads the account on the server
    assert "identity:" not in _texts(at)
    assert len(at.text_input) == 2
