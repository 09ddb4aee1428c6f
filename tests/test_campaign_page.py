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
