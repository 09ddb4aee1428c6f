"""The campaign panel of the safety page (AppTest): an operator queues a campaign for two towns,
the table shows its figures from geodata.campaigns, a viewer gets no form."""

from __future__ import annotations

import pandas as pd

from geodata import campaigns
from geodata.store.core import open_store
from tests.test_safety_page import run_page, world  # noqa: F401 - the fixture is used


def _campaign_table(at) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if "reminders" in d.value.columns]
    assert frames, "no campaign table on the page"
    return frames[0]


def test_operator_queues_a_campaign_for_two_towns_and_sees_its_figures(monkeypatch, world):  # noqa: F811
    at = run_page(monkeypatch, world["url"], "safety")
    store = open_store(world["url"])
    try:
        towns = sorted(store.read("towns")["town_code"])[:2]
        roster = store.read("roster")
    finally:
        store.dispose()
    at.multiselect(key="campaign_towns").set_value(towns)
    at.button[[b.label for b in at.button].index("安否確認を送信")].click().run()
    assert any("確認欄" in w.value for w in at.warning)  # not confirmed: nothing queued
    at.checkbox(key="campaign_confirm").check()
    at.button[[b.label for b in at.button].index("安否確認を送信")].click().run()
    assert not at.exception, at.exception
    assert any("送信待ち" in s.value for s in at.success)
    store = open_store(world["url"])
    try:
        (campaign,) = store.read("campaigns").to_dict("records")
        people = roster[roster["town_code"].isin(towns)]
        figures = campaigns.counts(campaign, store.read("deliveries"), store.read("safety_replies"))
    finally:
        store.dispose()
    assert campaign["towns"] == towns and campaign["status"] == "queued"
    assert campaign["recipients"] + campaign["without_line"] == len(people)
    row = _campaign_table(at).iloc[0]
    assert (row["status"], row["recipients"], row["sent"]) == ("送信待ち", figures.recipients, 0)
    assert row["not_replied"] == figures.not_replied


def test_a_viewer_gets_no_campaign_form(monkeypatch, world):  # noqa: F811
    at = run_page(monkeypatch, world["url"], "safety", user="viewer")
    assert "安否確認を送信" not in [b.label for b in at.button]


def test_a_commander_is_offered_the_evacuation_notice_and_sends_it_after_confirming(
    monkeypatch,
    world,  # noqa: F811
):
    from geodata import evacuation, notices
    from geodata.access.roles import User

    store = open_store(world["url"])
    try:
        towns = sorted(store.read("towns")["town_code"])[:2]
        record = evacuation.issue(store, level=4, hazard="flood", towns=towns,
                                  user=User("admin", "admin"))  # fmt: skip
        roster = store.read("roster")
    finally:
        store.dispose()
    at = run_page(monkeypatch, world["url"], "overview", user="admin")
    key = f"{record['order_id']}_1"
    preview = at.text_area(key=f"notice_text_{key}").value
    assert preview.startswith("【警戒レベル4】避難指示（洪水）")
    people = roster[roster["town_code"].isin(towns)]
    line = int(people["chat_user_id"].notna().sum())
    label = at.checkbox(key=f"notice_ok_{key}").label
    assert f"{line} 人にLINEで送信し、LINEのない {len(people) - line} 人" in label
    send = [b.label for b in at.button].index("住民に送信")
    at.button[send].click().run()
    assert any("確認欄" in e.value for e in at.error)  # not confirmed: nothing queued
    store = open_store(world["url"])
    try:
        assert store.read("campaigns").empty
    finally:
        store.dispose()
    at.checkbox(key=f"notice_ok_{key}").check()
    at.button[send].click().run()
    assert not at.exception, at.exception
    assert any("送信を予約しました" in s.value for s in at.success)
    assert "住民に送信" not in [b.label for b in at.button]  # sent: no longer offered
    store = open_store(world["url"])
    try:
        rows = store.read("campaigns").set_index("id")
    finally:
        store.dispose()
    notice, cast = notices.notice_ids(record)
    assert (
        rows.loc[notice, "kind"] == "evacuation_notice"
        and rows.loc[cast, "kind"] == "evacuation_broadcast"
    )
    assert rows.loc[notice, "question"] == preview
    assert rows.loc[notice, "recipients"] == line


def test_an_operator_is_not_offered_the_evacuation_notice(monkeypatch, world):  # noqa: F811
    from geodata import evacuation
    from geodata.access.roles import User

    store = open_store(world["url"])
    try:
        towns = sorted(store.read("towns")["town_code"])[:1]
        evacuation.issue(store, level=3, hazard="flood", towns=towns, user=User("admin", "admin"))
    finally:
        store.dispose()
    at = run_page(monkeypatch, world["url"], "overview", user="operator")
    assert "住民に送信" not in [b.label for b in at.button]


def test_the_towns_under_evacuation_information_are_chosen_in_one_click(monkeypatch, world):  # noqa: F811
    from geodata import evacuation
    from geodata.access.roles import User

    store = open_store(world["url"])
    try:
        towns = sorted(store.read("towns")["town_code"])[1:3]
        evacuation.issue(store, level=4, hazard="flood", towns=towns, user=User("admin", "admin"))
        roster = store.read("roster")
    finally:
        store.dispose()
    at = run_page(monkeypatch, world["url"], "safety")
    at.button(key="campaign_evac_towns").click().run()
    assert at.multiselect(key="campaign_towns").value == towns
    people = roster[roster["town_code"].isin(towns)]
    line = int(people["chat_user_id"].notna().sum())
    assert at.checkbox(key="campaign_confirm").label.startswith(f"対象 {line} 人にLINEで送信し")
