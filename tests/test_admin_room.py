"""The admin room through AppTest: each write's effect in the store, its audit row, and the same
write refused on the server for operator and viewer (dashboard/admin/actions.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from geodata import audit, source_control
from geodata.access import accounts, sessions
from geodata.store.core import open_store
from tests.accounts import ensure_accounts, login_apptest
from tests.test_retention import _fill
from tests.test_shelters import _shelters

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")

# Every write of dashboard/admin/actions.py, with sample arguments.
WRITES = {
    "add_user": lambda a, s: a.add_user(s, "newcomer", "viewer"),
    "set_role": lambda a, s: a.set_role(s, "target", "operator"),
    "disable_user": lambda a, s: a.disable_user(s, "target"),
    "enable_user": lambda a, s: a.enable_user(s, "target"),
    "unlock_user": lambda a, s: a.unlock_user(s, "target"),
    "reset_password": lambda a, s: a.reset_password(s, "target"),
    "sign_out": lambda a, s: a.sign_out(s, "target"),
    "pause_source": lambda a, s: a.pause_source(s, "mastodon"),
    "resume_source": lambda a, s: a.resume_source(s, "mastodon"),
    "run_source_now": lambda a, s: a.run_source_now(s, "mastodon"),
    "purge_dry_run": lambda a, s: a.purge(s, dry_run=True),
    "purge": lambda a, s: a.purge(s, dry_run=False),
    "sign_out_all": lambda a, s: a.sign_out(s, None),  # last: it ends the admin's session too
}


@pytest.fixture
def url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'bosai.sqlite'}"
    store = open_store(url)
    try:
        _fill(store)  # a roster, replies, posts, follow-ups: personal data to purge
        _shelters(store, ("S1", "S2"))
        accounts.add_user(store, "target", "shelter_staff", accounts.new_password(),
                          actor="tests", shelter_ids=["S1"])  # fmt: skip
    finally:
        store.dispose()
    ensure_accounts(url)
    monkeypatch.setenv("BOSAI_DB_URL", url)
    monkeypatch.setenv("BOSAI_TILES", "none")
    monkeypatch.setenv("BOSAI_LANG", "ja")
    monkeypatch.chdir(tmp_path)  # the default LINE spool folder (var/line_spool) is the test's
    return url


@pytest.fixture
def store(url):
    s = open_store(url)
    yield s
    s.dispose()


def _admin_page(user: str = "admin") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    login_apptest(at, user)
    at.run()
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception, at.exception
    return at


def _audit(store, action: str) -> pd.DataFrame:
    log = store.read_audit()
    return log[log["action"] == action]


def _frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def _frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(f for f in _frames(at) if column in f.columns)


def test_every_cell_is_japanese_jst_and_never_none(url, store):
    at = _admin_page()
    for frame in _frames(at):
        for col in frame.columns:
            assert not str(col).islower() or str(col) in ("mastodon",), col  # no raw names
            text = frame[col].astype(str)
            assert not text.isin(["None", "NaT", "nan", "<NA>"]).any(), (col, list(text))
            assert not text.str.contains(r"\+00:00").any(), col
    rejections = _frame_with(at, "理由")
    assert rejections["日時"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    assert "missing 整理番号" in set(rejections["理由"])


def test_add_user_shows_the_password_once_and_audits(url, store):
    at = _admin_page()
    at.text_input(key="adm_new_name").input("Tanaka")
    at.selectbox(key="adm_new_role").set_value("operator")
    at.button(key="adm_add").click().run()
    assert not at.exception, at.exception
    (password,) = [c.value for c in at.code]
    assert accounts.authenticate(store, "tanaka", password).ok
    assert accounts.get_user(store, "tanaka").role == "operator"
    row = _audit(store, "users:add").iloc[0]
    assert row["who"] == "admin" and '"username": "tanaka"' in row["new"]
    assert password not in row["new"]
    at.run()  # shown once
    assert [c.value for c in at.code] == []


def test_role_shelters_disable_enable_unlock_reset_sign_out(url, store):
    at = _admin_page()
    at.selectbox(key="adm_user_pick").set_value("target").run()
    at.multiselect(key="adm_shelters_target").set_value(["S1", "S2"])
    at.button(key="adm_save_role").click().run()
    assert not at.exception, at.exception
    assert accounts.get_user(store, "target").shelter_ids == frozenset({"S1", "S2"})
    assert '"shelter_ids": ["S1", "S2"]' in _audit(store, "users:set-role").iloc[0]["new"]

    at.button(key="adm_disable").click().run()
    assert accounts.get_user(store, "target").disabled
    assert len(_audit(store, "users:disable")) == 1
    at.button(key="adm_enable").click().run()
    assert not accounts.get_user(store, "target").disabled
    assert len(_audit(store, "users:enable")) == 1

    with store._write() as conn:
        t = store.tables["users"]
        until = pd.Timestamp.now("UTC") + pd.Timedelta(minutes=10)
        conn.execute(sa.update(t).where(t.c.username == "target")
                     .values(failed_attempts=5, locked_until=until.to_pydatetime()
                             .replace(tzinfo=None)))  # fmt: skip
    at.run()
    users = _frame_with(at, "ログイン失敗回数")
    assert users.loc[users["ユーザー名"] == "target", "状態"].iloc[0].startswith("ロック中")
    at.button(key="adm_unlock").click().run()
    assert accounts.list_users(store)[-2]["locked_until"] is None  # sorted: ..., target, viewer
    assert len(_audit(store, "users:unlock")) == 1

    sessions.create(store, "target")
    at.button(key="adm_reset").click().run()
    (password,) = [c.value for c in at.code]
    assert accounts.authenticate(store, "target", password).ok
    assert "target" not in {s.username for s in sessions.live_sessions(store)}  # ended
    assert len(_audit(store, "users:passwd")) == 1

    sessions.create(store, "target")
    at.button(key="adm_sign_out").click().run()
    assert any("1件のセッションを終了" in s.value for s in at.success)
    row = _audit(store, "users:sign-out").iloc[0]
    assert row["who"] == "admin" and '"sessions": 1' in row["new"]


def test_an_admin_cannot_disable_or_demote_themselves(url, store):
    at = _admin_page()
    at.selectbox(key="adm_user_pick").set_value("admin").run()
    at.button(key="adm_disable").click().run()
    assert not accounts.get_user(store, "admin").disabled
    assert any("own account" in e.value for e in at.error)


def test_source_pause_resume_run_now(url, store):
    at = _admin_page()
    sources_table = _frame_with(at, "取得")
    assert "line" in set(sources_table["取得元"])
    assert any("取得ループ" in w.value for w in at.warning)  # no loop listening: said so
    at.selectbox(key="adm_source_pick").set_value("line")
    at.button(key="adm_source_pause").click().run()
    assert source_control.controls(store)["line"].paused
    assert _frame_with(at, "取得").iloc[0]["取得"].startswith("一時停止中（admin、")
    at.button(key="adm_source_run").click().run()
    assert source_control.controls(store)["line"].run_requested_by == "admin"
    at.button(key="adm_source_resume").click().run()
    assert not source_control.controls(store)["line"].paused
    actions = list(store.read_audit(layer="sources")["action"])
    assert actions == ["sources:resume", "sources:run-now", "sources:pause"]


def test_the_dry_run_counts_are_what_the_purge_does(url, store):
    spool = Path("var/line_spool")
    spool.mkdir(parents=True)
    (spool / "1.json").write_text("{}")
    at = _admin_page()
    at.button(key="adm_purge_dry").click().run()
    assert not at.exception, at.exception
    dry = _frame_with(at, "項目")
    counts = dict(zip(dry["項目"], dry["件数"], strict=True))
    assert counts["roster.name を消去"] == 5 and counts["LINE受信ファイル（var/line_spool）"] == 1
    assert store.count("roster") == 5 and _audit(store, "purge:personal").empty  # nothing written
    assert at.button(key="adm_purge_go").disabled  # the word first
    at.text_input(key="adm_purge_word").input("削除").run()
    at.button(key="adm_purge_go").click().run()
    assert not at.exception, at.exception
    done = _frame_with(at, "項目")
    assert done.equals(dry)
    assert store.read("roster")["name"].isna().all()
    assert not (spool / "1.json").exists()
    row = _audit(store, "purge:personal").iloc[0]
    assert row["who"] == "admin" and '"dry_run": false' in row["new"]
    assert _audit(store, "purge:spool").iloc[0]["new"] == '{"files": 1}'


def test_audit_viewer_filters_pages_and_shows_jst(url, store):
    for i in range(60):
        store.log_action("kato", "export:csv", "posts", {"n": i, "token": "s3cr3t"})
    at = _admin_page()
    log = _frame_with(at, "操作者")
    assert list(log.columns) == ["日時", "操作者", "操作", "対象レイヤー", "対象キー",
                                 "内容（変更前 → 変更後）"]  # fmt: skip
    assert len(log) == 50 and log["操作者"].iloc[0] == "kato"  # newest first
    assert '"n": 59' in log.iloc[0, 5] and "s3cr3t" not in " ".join(log.iloc[:, 5])
    assert '"token": "[redacted]"' in log.iloc[0, 5]
    assert log["日時"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    at.number_input(key="adm_audit_page").set_value(2).run()
    second = _frame_with(at, "操作者")
    total = audit.read_page(store).total
    assert len(second) == total - 50
    at.selectbox(key="adm_audit_action").set_value("users:").run()
    users = _frame_with(at, "操作者")
    assert set(users["操作"]) <= {"users:add", "users:passwd"} and len(users) >= 4
    assert at.number_input(key="adm_audit_page").value == 1  # new filter, first page
    at.selectbox(key="adm_audit_who").set_value("kato").run()  # kato changed no account
    assert any("該当する記録はありません" in i.value for i in at.info)
    assert not [f for f in _frames(at) if "操作者" in f.columns]


def _try_every_write(user: str, url: str) -> dict[str, str]:
    def script(names):
        import streamlit as st

        from dashboard import data
        from dashboard.admin import actions
        from geodata.access.roles import Forbidden
        from tests.test_admin_room import WRITES

        store = data.get_store(data.db_url())
        for name in names:
            try:
                WRITES[name](actions, store)
                st.text(f"{name}: done")
            except Forbidden:
                st.text(f"{name}: forbidden")

    at = AppTest.from_function(script, args=(list(WRITES),), default_timeout=60)
    login_apptest(at, user, url)
    at.run()
    assert not at.exception, at.exception
    return dict(el.value.split(": ") for el in at.text)


@pytest.mark.parametrize("user", ["operator", "viewer", "staff"])
def test_every_write_is_refused_on_the_server_for_other_roles(url, store, user):
    before_users = accounts.list_users(store)
    before_audit = len(store.read_audit())
    roster = store.read("roster")
    outcome = _try_every_write(user, url)
    assert outcome == {name: "forbidden" for name in WRITES}
    assert accounts.list_users(store) == before_users
    assert source_control.controls(store) == {}
    assert store.read("roster").equals(roster)
    assert len(store.read_audit()) == before_audit  # nothing written, nothing audited


def test_the_same_writes_pass_for_an_admin(url, store):
    outcome = _try_every_write("admin", url)
    assert outcome == {name: "done" for name in WRITES}
    assert accounts.get_user(store, "newcomer").role == "viewer"
    assert accounts.get_user(store, "target").role == "operator"
