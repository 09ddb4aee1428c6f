"""Source health on the wall screen and the admin page (AppTest): a failing source, one backing
off and a stale one are visible in the kiosk mode of the overview and shelters pages, in Japanese
and English, with the age of each source's newest record."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.source_health import strip_markup
from geodata import health
from geodata.schema import now_utc
from geodata.store.core import open_store
from tests.accounts import ensure_accounts, login_apptest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(scope="module")
def health_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('wall') / 'bosai.sqlite'}"
    store = open_store(url)
    now = pd.Timestamp(now_utc())
    store.record_health("jma", ok=True, kind="jma", newest_record_at=now - timedelta(minutes=42))
    store.record_health("mastodon-chofu", ok=True, kind="sns")
    store.record_health(
        "mastodon-chofu",
        ok=False,
        kind="sns",
        error="SourceDeadline: the fetch did not finish within the source's deadline of 180 s",
    )
    store.record_health(
        "bluesky", ok=False, kind="sns", error="HTTP 429", backoff_until=now + timedelta(hours=1)
    )
    store.record_health("shelter-csv", ok=True, kind="shelter_status", stale_after_seconds=600)
    row = store.get("source_health", "shelter-csv")
    row["last_success_at"] = now - timedelta(hours=2)
    store.upsert("source_health", pd.DataFrame([row]), source="store")
    store.dispose()
    ensure_accounts(url)
    return url


def _run(monkeypatch, url, page=None, user="viewer", **query) -> AppTest:
    monkeypatch.setenv("BOSAI_DB_URL", url)
    monkeypatch.setenv("BOSAI_TILES", "none")
    monkeypatch.setenv("BOSAI_LANG", "ja")
    at = AppTest.from_file(APP, default_timeout=120)
    login_apptest(at, user)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception
    return at


def _strip(at: AppTest) -> str:
    found = [m.value for m in at.markdown if "bosai-sources" in m.value]
    assert len(found) == 1
    return found[0]


def _chips(markup: str) -> list[tuple[str, str]]:
    """(state, text) of each chip, tags removed."""
    return [
        (state, re.sub(r"<[^>]+>", "", inner))
        for state, inner in re.findall(r'data-state="(\w+)"[^>]*>(.*?)</span>', markup)
    ]


def test_the_overview_wall_screen_shows_each_source_worst_first(monkeypatch, health_url):
    at = _run(monkeypatch, health_url, kiosk="1")
    chips = _chips(_strip(at))
    assert [state for state, _ in chips] == ["backing_off", "failing", "stale", "ok"]
    texts = dict(chips)
    assert texts["failing"] == "mastodon-chofu 取得失敗 · 記録なし"
    assert texts["ok"] == "jma 正常 · 最新 42分前"
    assert texts["stale"] == "shelter-csv 更新遅延 · 記録なし"
    assert re.fullmatch(
        r"bluesky 取得待機（\d\d/\d\d \d\d:\d\dまで） · 記録なし", texts["backing_off"]
    )
    assert ">データ取得元<" in _strip(at)


def test_the_shelters_wall_screen_in_english(monkeypatch, health_url):
    at = _run(monkeypatch, health_url, "app_pages/shelters.py", kiosk="1", lang="en")
    texts = dict(_chips(_strip(at)))
    assert texts["failing"] == "mastodon-chofu Failing · no records"
    assert texts["ok"] == "jma OK · newest 42 min ago"
    assert texts["backing_off"].startswith("bluesky Backing off (until ")


def test_no_strip_outside_the_wall_screen(monkeypatch, health_url):
    at = _run(monkeypatch, health_url)
    assert not [m for m in at.markdown if "bosai-sources" in m.value]


def test_the_admin_page_shows_the_core_states_and_the_error(monkeypatch, health_url):
    at = _run(monkeypatch, health_url, "app_pages/admin.py", user="admin")
    # the sources tab of the admin room (its table has the source column)
    table = next(d.value for d in at.dataframe if {"取得元", "状態"} <= set(d.value.columns))
    table = table.set_index("取得元")
    assert table.loc["mastodon-chofu", "状態"] == "取得失敗"
    assert "deadline of 180 s" in table.loc["mastodon-chofu", "最後のエラー"]
    assert table.loc["bluesky", "状態"] == "取得待機" and table.loc["bluesky", "待機期限"]
    assert table.loc["shelter-csv", "状態"] == "更新遅延"
    assert table.loc["shelter-csv", "遅延とみなす時間"] == "10分"
    assert table.loc["jma", "最新レコード"] == "42分前"


def test_the_strip_escapes_names_and_says_when_nothing_ran():
    states = health.source_states(
        pd.DataFrame([{"source": "<b>x</b>", "state": "ok", "last_success_at": now_utc()}])
    )
    markup = strip_markup(states, "ja")
    assert "&lt;b&gt;x&lt;/b&gt;" in markup and "<b>x</b>" not in markup
    empty = strip_markup(health.source_states(pd.DataFrame()), "en")
    assert "No source has run yet" in empty
