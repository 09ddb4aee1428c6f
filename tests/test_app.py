"""The Streamlit frame and pages through AppTest (the map itself is checked in tests/browser)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import CATALOGUE, LANGUAGES, t
from geodata import settings
from tests.accounts import ensure_accounts, login_apptest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogue_has_every_language_with_the_same_placeholders():
    for key, entry in CATALOGUE.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        assert _fields(entry["ja"]) == _fields(entry["en"]), key


def test_t_formats_and_falls_back():
    assert t("overview.title", lang="en", city="調布市") == "Overview — 調布市"
    assert t("map.persons", lang="ja", n="1,200") == "1,200人"
    assert t("no.such.key", lang="en") == "no.such.key"


def test_pages_are_not_in_a_pages_folder():
    # A pages/ folder next to the entry script makes Streamlit run the first session after a
    # start in legacy multipage mode: /overview would run without the frame (no offline assets).
    assert not (ROOT / "pages").exists()


@pytest.fixture(scope="module")
def reference_url(tmp_path_factory) -> str:
    from tests.browser.conftest import load_reference

    reference_dir = Path(settings.get("BOSAI_REFERENCE_DIR"))
    if not (reference_dir / "chofu").exists():
        pytest.skip(f"no reference data in {reference_dir}")
    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'bosai.sqlite'}"
    load_reference(url, reference_dir)
    return url


def _run(monkeypatch, url: str, user: str | None = "admin", **query) -> AppTest:
    monkeypatch.setenv("BOSAI_DB_URL", url)
    monkeypatch.setenv("BOSAI_TILES", "none")
    monkeypatch.setenv("BOSAI_LANG", "ja")
    at = AppTest.from_file(APP, default_timeout=120)
    if user:
        ensure_accounts(url)
        login_apptest(at, user)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_overview_shows_the_reference_layers(monkeypatch, reference_url):
    at = _run(monkeypatch, reference_url)
    assert not at.exception
    assert at.subheader[0].value == "概況 — 調布市"
    # the live tiles of the common picture (geodata.picture), not figures that never change
    # in a disaster (towns, population, hazard polygons)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "開設中の避難所": "0 / 78",
        "避難者数": "0",
        "安否未確認": "0",
        "命に関わる通報": "0",
        "避難情報": "0町丁目",
    }
    assert [c.value for c in at.caption][:5] == [
        "満員 0", "収容人数不明", "–", "24時間", "発令なし"
    ]  # fmt: skip
    assert at.sidebar.button_group[0].value == "ja"
    # st_folium shows up as a custom component (an unknown element to AppTest).
    assert any(el.type == "component_instance" for el in at.main.get("component_instance"))


def test_english(monkeypatch, reference_url):
    at = _run(monkeypatch, reference_url, lang="en")
    assert not at.exception
    assert at.subheader[0].value == "Overview — 調布市"
    assert [m.label for m in at.metric][:2] == ["Open shelters", "Evacuees"]


def test_kiosk_mode_hides_the_sidebar_widgets(monkeypatch, reference_url):
    at = _run(monkeypatch, reference_url, kiosk="1")
    assert not at.exception
    assert len(at.sidebar.button_group) == 0
    assert len(at.main.button_group) == 0  # no measure switch on the wall screen
    assert len(at.metric) == 5  # the five live tiles of the common picture


def test_empty_store_says_which_command_to_run(monkeypatch, tmp_path):
    at = _run(monkeypatch, f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert not at.exception
    assert len(at.info) == 1
    assert "python -m ingest reference --municipality 13208" in at.info[0].value


def test_unreachable_store_is_an_error_message(monkeypatch):
    at = _run(monkeypatch, "postgresql+psycopg://bosai:secret@127.0.0.1:1/none", user=None)
    assert not at.exception
    assert len(at.error) == 1
    assert "secret" not in at.error[0].value
    assert "データベースに接続できません" in at.error[0].value  # fails closed, says why


def test_no_session_sees_only_the_login_form(monkeypatch, reference_url):
    ensure_accounts(reference_url)
    at = _run(monkeypatch, reference_url, user=None)
    assert not at.exception
    assert not at.subheader and not at.metric  # nothing of the overview
    assert [ti.label for ti in at.text_input] == ["ユーザー名", "パスワード"]


def test_login_form_logs_in_and_a_viewer_gets_no_admin_page(monkeypatch, reference_url):
    passwords = ensure_accounts(reference_url)
    at = _run(monkeypatch, reference_url, user=None)
    at.text_input[0].input("viewer")
    at.text_input[1].input(passwords["viewer"])
    at.button[0].click().run()
    assert not at.exception
    assert at.subheader[0].value == "概況 — 調布市"
    assert at.sidebar.caption[0].value.startswith("viewer")  # who is logged in, and the role
    # The admin page is not listed for a viewer, but its URL still names it: opening it runs
    # the page's own check, which refuses in the UI language (not Streamlit's "Page not found").
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "権限がありません：viewer は「admin」の view ができません。"
    ]
    assert [s.value for s in at.subheader] == []  # nothing of the admin page was drawn


def test_admin_page_lists_layers(monkeypatch, reference_url):
    at = _run(monkeypatch, reference_url)
    at.switch_page("app_pages/admin.py").run()
    assert not at.exception
    assert at.subheader[0].value == "管理"
    counts = next(d.value for d in at.dataframe if "レイヤー" in d.value.columns)
    rows = dict(zip(counts["レイヤー"], counts["件数"], strict=True))
    assert rows["towns"] == 103 and rows["shelters"] == 78 and rows["hazard_areas"] == 40


def test_measure_then_language_switch(monkeypatch, reference_url):
    at = _run(monkeypatch, reference_url)
    at.main.button_group[0].set_value("density").run()
    assert not at.exception
    assert at.main.button_group[0].value == "density"
    at.sidebar.button_group[0].set_value("en").run()
    assert not at.exception
    assert at.subheader[0].value == "Overview — 調布市"
    assert at.sidebar.button_group[0].value == "en"
    assert [m.label for m in at.metric][0] == "Open shelters"
    assert at.main.button_group[0].value == "density"  # the choice survives the switch


def test_overview_decision_support_issues_for_a_commander_only(monkeypatch, reference_url):
    from geodata import evacuation
    from geodata.access import accounts
    from geodata.store.core import open_store

    store = open_store(reference_url)
    if accounts.get_user(store, "honbucho") is None:
        accounts.add_user(store, "honbucho", "commander", "kaigi-shitsu-2026", actor="tests")
    store.dispose()
    at = _run(monkeypatch, reference_url, user="operator")
    assert not at.exception
    assert not [b for b in at.button if b.label == "発令する"]  # operators see no issue form
    at = _run(monkeypatch, reference_url, user="honbucho")
    assert not at.exception
    form_towns = next(m for m in at.multiselect if m.label == "対象町丁目")
    codes = form_towns.options[:2]
    form_towns.set_value(codes)
    next(c for c in at.checkbox if c.label.startswith("上記の町丁目")).check()
    next(b for b in at.button if b.label == "発令する").click()
    at.run()
    assert not at.exception
    store = open_store(reference_url)
    try:
        found = evacuation.in_force(store)
        assert len(found) == 2 and set(found["level"]) == {4}
        assert evacuation.history(store)["issued_by"].tolist() == ["honbucho"]
    finally:
        store.dispose()
    # the order in force can be raised to 緊急安全確保 from the same view: an update record
    assert any(
        s.value.startswith("【警戒レベル4】避難指示を2町丁目に発令しました") for s in at.success
    )
    next(r for r in at.radio if r.label == "レベルを変更").set_value(5)
    next(c for c in at.checkbox if c.label == "変更を確認しました").check()
    next(b for b in at.button if b.label == "変更する").click()
    at.run()
    assert not at.exception
    store = open_store(reference_url)
    try:
        assert set(evacuation.in_force(store)["level"]) == {5}
        assert evacuation.history(store)["action"].tolist() == ["issue", "update"]
        for order in evacuation.orders_in_force(store)["order_id"]:
            evacuation.lift(store, order, user=accounts.get_user(store, "honbucho"))
    finally:
        store.dispose()
