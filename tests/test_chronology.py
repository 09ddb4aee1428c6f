"""クロノロジー: entries, corrections, tasks, system events written exactly once, the wall view."""

from __future__ import annotations

import threading

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import chronology, feed, vocab, warnings
from geodata.export.map import situation_map
from geodata.store.core import open_store
from tests.test_shelters import _shelters
from tests.test_warnings import jst
from tests.test_warnings import load as load_warnings

T0 = pd.Timestamp("2026-10-12 09:00", tz="Asia/Tokyo").tz_convert("UTC")


def _system(store, event=None) -> pd.DataFrame:
    frame = store.read("chronology", where={"kind": "system"})
    return frame if event is None else frame[frame["event"] == event]


def test_a_staff_entry_and_its_correction_keep_the_original(store):
    first = chronology.add_entry(store, "報告", "国領町で道路冠水 深さ30cm", actor="sato",
                                 from_unit="建設部", to_unit="本部長室", at=T0,
                                 links={"town": ["13208008001"]})  # fmt: skip
    fixed = chronology.correct(store, first["entry_id"], "国領町で道路冠水 深さ50cm", actor="sato")
    frame = chronology.timeline(store)
    assert len(frame) == 2
    original = frame.set_index("entry_id").loc[first["entry_id"]]
    assert original["text"] == "国領町で道路冠水 深さ30cm"  # nothing is edited away
    assert original["corrected_by"] == [fixed["entry_id"]]
    correction = frame.set_index("entry_id").loc[fixed["entry_id"]]
    assert correction["corrects"] == first["entry_id"]
    assert correction["kind"] == "報告" and correction["from_unit"] == "建設部"
    assert correction["links"] == {"town": ["13208008001"]}
    audit = store.read_audit(layer="chronology")
    assert len(audit) == 2 and set(audit["who"]) == {"sato"}
    with pytest.raises(ValueError, match="append-only"):
        store.upsert("chronology", frame.drop(columns=["state", "overdue", "corrected_by"]))


def test_a_task_s_state_changes_are_logged_and_an_open_task_past_due_is_overdue(store):
    task = chronology.add_entry(store, "指示", "第二小学校に毛布200枚を搬送", actor="kato",
                                from_unit="本部長室", to_unit="福祉部", assignee="福祉部",
                                at=T0, due_at=T0 + pd.Timedelta(hours=1))  # fmt: skip
    note = chronology.add_entry(store, "連絡", "記者発表は15時", actor="kato", at=T0)
    assert task["task"] and not note["task"]
    chronology.set_task_state(store, task["entry_id"], "対応中", actor="suzuki", note="出発")
    later = T0 + pd.Timedelta(hours=2)
    frame = chronology.timeline(store, now=later).set_index("entry_id")
    assert frame.loc[task["entry_id"], "state"] == "対応中"
    assert bool(frame.loc[task["entry_id"], "overdue"]) is True
    assert bool(frame.loc[note["entry_id"], "overdue"]) is False
    chronology.set_task_state(store, task["entry_id"], "完了", actor="suzuki", note="搬送済")
    history = chronology.task_history(store, task["entry_id"])
    assert history["state"].tolist() == ["未着手", "対応中", "完了"]
    assert history["changed_by"].tolist() == ["kato", "suzuki", "suzuki"]
    assert history["note"].tolist()[1:] == ["出発", "搬送済"]
    frame = chronology.timeline(store, now=later).set_index("entry_id")
    assert frame.loc[task["entry_id"], "state"] == "完了"
    assert bool(frame.loc[task["entry_id"], "overdue"]) is False
    assert len(store.read_audit(layer="task_states")) == 3
    with pytest.raises(ValueError, match="task state"):
        chronology.set_task_state(store, task["entry_id"], "保留", actor="suzuki")
    with pytest.raises(KeyError):
        chronology.set_task_state(store, note["entry_id"], "完了", actor="suzuki")
    with pytest.raises(ValueError, match="task"):
        chronology.add_entry(store, "報告", "x", actor="kato", assignee="福祉部")


def test_filters_by_kind_department_and_object_and_as_of(store):
    chronology.add_entry(store, "報告", "A", actor="a", from_unit="消防", at=T0,
                         links={"shelter": ["S1"]})  # fmt: skip
    chronology.add_entry(
        store, "決定", "B", actor="a", from_unit="本部長室", at=T0 + pd.Timedelta(hours=1)
    )
    chronology.add_entry(
        store, "要請", "C", actor="a", to_unit="消防", at=T0 + pd.Timedelta(hours=2)
    )
    assert chronology.timeline(store)["text"].tolist() == ["C", "B", "A"]  # newest first
    assert chronology.timeline(store, kinds=["決定"])["text"].tolist() == ["B"]
    assert chronology.timeline(store, department="消防")["text"].tolist() == ["C", "A"]
    assert chronology.timeline(store, link=("shelter", "S1"))["text"].tolist() == ["A"]
    as_of = T0 + pd.Timedelta(minutes=90)
    assert chronology.timeline(store, as_of=as_of)["text"].tolist() == ["B", "A"]


def test_shelter_opened_full_closed_each_once_from_staff_and_file_writes(store):
    _shelters(store, ("S1", "S2"))
    store.update_shelter_status("S1", {"status": "開設", "evacuees": 10}, base_version=0,
                                actor="sato", reported_at=T0)  # fmt: skip
    store.update_shelter_status("S1", {"evacuees": 40}, base_version=1, actor="sato",
                                reported_at=T0 + pd.Timedelta(minutes=30))  # fmt: skip
    store.update_shelter_status("S1", {"status": "満員", "evacuees": 500}, base_version=2,
                                actor="sato", reported_at=T0 + pd.Timedelta(hours=1))  # fmt: skip
    batch = pd.DataFrame({
        "shelter_id": ["S2", "S2", "S1"], "source_id": ["a", "b", "c"],
        "reported_at": [T0, T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(hours=3)],
        "status": ["開設", "閉鎖", "閉鎖"], "evacuees": [5, 0, 0],
    })  # fmt: skip
    store.append_shelter_status(batch, source="city")
    store.append_shelter_status(batch, source="city")  # a re-run: stored once, no new event
    events = _system(store).sort_values(["at", "event"])
    shelters = [links["shelter"][0] for links in events["links"]]
    assert sorted(zip(events["event"], shelters, strict=True)) == [
        ("shelter_closed", "S1"), ("shelter_closed", "S2"), ("shelter_full", "S1"),
        ("shelter_opened", "S1"), ("shelter_opened", "S2"),
    ]  # fmt: skip
    opened = events[(events["event"] == "shelter_opened")].set_index(
        events[events["event"] == "shelter_opened"]["links"].map(lambda x: x["shelter"][0])
    )
    assert opened.loc["S1", "text"] == "避難所S1 避難所開設（避難者 10人）"
    assert opened.loc["S1", "at"] == T0
    # the whole derivation again (a second server, a sync after a restart) writes nothing
    assert chronology.sync_system_events(store) == 0
    assert len(_system(store)) == 5


def test_a_late_report_is_judged_against_the_report_before_it_and_nothing_earlier_changes(store):
    """Only the reports from the earliest new one on are read, with the one before them: that one
    sets what the new report follows and gets no event of its own."""
    _shelters(store, ("S1",))
    at = [T0 + pd.Timedelta(minutes=m) for m in (0, 30, 60, 90, 120)]
    store.update_shelter_status("S1", {"status": "開設", "evacuees": 10}, base_version=0,
                                actor="sato", reported_at=at[0])  # fmt: skip
    store.update_shelter_status("S1", {"evacuees": 30}, base_version=1, actor="sato",
                                reported_at=at[1])  # fmt: skip
    store.update_shelter_status("S1", {"status": "閉鎖", "evacuees": 0}, base_version=2,
                                actor="sato", reported_at=at[4])  # fmt: skip
    late = pd.DataFrame({"shelter_id": ["S1"], "source_id": ["x"], "reported_at": [at[2]],
                         "status": ["満員"], "evacuees": [300]})  # fmt: skip
    store.append_shelter_status(late, source="city")  # arrives after the close, reported before
    events = _system(store).sort_values("at")
    assert list(zip(events["event"], events["at"], strict=True)) == [
        ("shelter_opened", at[0]), ("shelter_full", at[2]), ("shelter_closed", at[4]),
    ]  # fmt: skip
    assert [k.split(":")[2] for k in events["event_key"]] == ["1", "4", "3"]
    for base, minutes in ((3, 1), (5, 2)):  # reopened (an event), then an update (none)
        store.update_shelter_status("S1", {"status": "開設", "evacuees": minutes}, actor="sato",
                                    base_version=base, reported_at=at[4] + pd.Timedelta(minutes=minutes))  # fmt: skip
    assert (
        _system(store, "shelter_opened")["event_key"].tolist()[-1] == "shelter:S1:5:shelter_opened"
    )
    assert len(_system(store)) == 4 and chronology.sync_system_events(store) == 0


def test_two_servers_writing_the_same_event_at_once_store_it_once(store_url):
    stores = [open_store(store_url) for _ in range(2)]
    results = []

    def write(s):
        results.append(chronology.record_event(s, "evacuation_issued", "高齢者等避難 発令",
                                               {"town": ["13208008001"]}, key="evacuation:E1:issued"))  # fmt: skip

    threads = [threading.Thread(target=write, args=(s,)) for s in stores for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert len(_system(stores[0], "evacuation_issued")) == 1
    for s in stores:
        s.dispose()


def test_warnings_issued_and_lifted_each_once(store):
    load_warnings(store, ["vpww55_advisory.xml", "vpww55_warning.xml", "vpww55_lift.xml"])
    changes = warnings.timeline(store, until=jst("23:59"))
    expected = changes[~changes["kind"].str.endswith("_advisory")]
    assert len(expected) >= 2  # a 警報 issued and lifted
    written = chronology.sync_warning_events(store, until=jst("23:59"))
    assert written == len(expected)
    assert chronology.sync_warning_events(store, until=jst("23:59")) == 0
    issued = _system(store, "warning_issued")
    assert len(issued) == (expected["event"] == "issued").sum()
    assert len(_system(store, "warning_lifted")) == (expected["event"] != "issued").sum()
    assert any("レベル３大雨警報 発表" in t for t in issued["text"])


def test_the_runner_writes_warning_events_with_the_batch(store):
    from ingest.runner import write_batch
    from ingest.sources.jma import JmaSource

    src = JmaSource("jma", municipality="13208", region_codes=["130010"], rivers=["多摩川"])
    load_warnings(store, ["vpww55_warning.xml"])
    frame = store.read("warnings")
    store.upsert("warnings", frame.iloc[:0])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM warnings")
    with store.transaction():
        write_batch(store, src, frame, [], None)
    assert len(_system(store, "warning_issued")) >= 1
    with store.transaction():
        write_batch(store, src, frame, [], None)  # the same batch again: no new event
    assert len(_system(store, "warning_issued")) == len(
        warnings.timeline(store).query("event == 'issued' and not kind.str.endswith('_advisory')")
    )


def _post(urgency: int, post_id: str, incident: str | None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "platform": ["mastodon"], "post_id": [post_id], "text": ["国領町で家屋倒壊 閉じ込め"],
        "posted_at": [T0], "urgency": [urgency], "categories": [["救助要請"]],
        "triage": ["new"], "incident_id": [incident], "town_code": ["13208008001"],
    }, geometry=[shapely.Point(139.55, 35.65)], crs=4326)  # fmt: skip


def test_an_incident_verified_at_the_highest_urgency_is_written_once(store):
    store.upsert(
        "posts", pd.concat([_post(3, "1", "I1"), _post(3, "2", "I1"), _post(2, "3", "I2")])
    )
    feed.triage(store, [("mastodon", "1"), ("mastodon", "3")], "verify", actor="sato")
    feed.triage(store, [("mastodon", "2")], "verify", actor="kato")  # the same incident
    feed.triage(store, [("mastodon", "1")], "verify", actor="sato")  # verified again
    events = _system(store, "incident_verified")
    assert len(events) == 1
    assert events.iloc[0]["links"] == {"incident": ["I1"], "town": ["13208008001"]}
    assert events.iloc[0]["text"] == "救助要請 緊急度3 確認"


def test_a_situation_map_export_is_written_once_per_map(sqlite_url):
    from tests.test_export_world import AS_OF, open_world

    for store in open_world(sqlite_url):
        situation_map(store, as_of=AS_OF, who="sato")
        situation_map(store, as_of=AS_OF, who="kato")  # the same map printed again
        situation_map(store, as_of=AS_OF, public=True, who="kato")  # another map
        events = _system(store, "map_exported").sort_values("text")
        label = pd.Timestamp(AS_OF).tz_convert("Asia/Tokyo").strftime("%m/%d %H:%M")
        assert events["text"].tolist() == [
            f"状況図（公開用、{label}現在）出力",
            f"状況図（内部用、{label}現在）出力",
        ]


def test_a_source_down_longer_than_its_limit_is_written_once_per_outage(store):
    store.record_health("jma", ok=True, kind="warnings", stale_after_seconds=600)
    store.record_health("jma", ok=False, kind="warnings", error="timeout")
    now = pd.Timestamp.now(tz="UTC")
    assert chronology.sync_source_events(store, now) == 0  # not down for 10 minutes yet
    later = now + pd.Timedelta(minutes=11)
    assert chronology.sync_source_events(store, later) == 1
    assert chronology.sync_source_events(store, later + pd.Timedelta(minutes=5)) == 0
    store.record_health("jma", ok=True, kind="warnings")  # recovered, then down again
    store.record_health("jma", ok=False, kind="warnings", error="timeout")
    assert chronology.sync_source_events(store, later + pd.Timedelta(hours=1)) == 1
    events = _system(store, "source_stale")
    assert len(events) == 2
    assert events.iloc[0]["text"] == "情報源 jma が10分以上取得できていません"


def test_every_system_event_has_a_label_and_unknown_ones_are_refused(store):
    assert all(vocab.SYSTEM_EVENTS.label(e) != e for e in vocab.SYSTEM_EVENTS.codes)
    with pytest.raises(ValueError, match="unknown system event"):
        chronology.record_event(store, "something", "x", key="k")
    with pytest.raises(ValueError, match="unknown link"):
        chronology.record_event(store, "campaign_started", "x", {"person": ["p"]}, key="k")


def test_the_wall_view_shows_no_personal_data(store):
    from geodata.access.privacy import PersonalTerms

    chronology.add_entry(store, "報告", "山田花子さん（090-1234-5678）が自宅に取り残され @yamada",
                         actor="sato", from_unit="山田太郎", to_unit="消防", at=T0)  # fmt: skip
    frame = chronology.timeline(store)
    wall = chronology.wall_view(frame, PersonalTerms(["山田花子"]))
    row = wall.iloc[0]
    assert row["entered_by"] is None
    assert row["from_unit"] == "[redacted]"  # a person, not a 部署
    assert row["to_unit"] == "消防"
    assert (
        "山田花子" not in row["text"] and "090" not in row["text"] and "@yamada" not in row["text"]
    )
    assert row["text"].startswith("[redacted]さん")
    assert frame.iloc[0]["entered_by"] == "sato"  # operators see it


def test_departments_come_from_the_settings_file(tmp_path, monkeypatch):
    assert chronology.departments()[:3] == ("本部長室", "総務部", "危機管理課")
    path = tmp_path / "departments.txt"
    path.write_text("# 本部\n本部長室\n土木班\n\n土木班\n", encoding="utf-8")
    monkeypatch.setenv("BOSAI_DEPARTMENTS_FILE", str(path))
    assert chronology.departments() == ("本部長室", "土木班")


def test_a_campaign_start_is_written_once(store):
    from geodata import campaigns
    from tests.test_campaigns import QUESTION, _towns, roster

    store.upsert("towns", _towns(), source="test")
    store.upsert("roster", roster(12), source="test")
    cid = campaigns.create_campaign(store, towns=None, question=QUESTION, actor="op")
    events = _system(store, "campaign_started")
    assert len(events) == 1 and events.iloc[0]["links"]["campaign"] == [cid]
    assert events.iloc[0]["text"].startswith("安否確認配信 開始（全域、LINE ")
    assert (
        chronology.record_event(store, "campaign_started", "x", key=f"campaign:{cid}:started")
        is False
    )
