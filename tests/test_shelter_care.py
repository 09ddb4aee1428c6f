"""要配慮者 counted per shelter report and 福祉避難所 kept for the people they are for.

A blank count is "not counted", never 0; totals add only what was counted; the public sees one
total per shelter, small ones marked; the chat's nearest-shelter answer leaves welfare shelters
out for the public.
"""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import guidance, shelters
from geodata.export.care import published_care
from geodata.export.data import export_layer, read_layer
from geodata.export.opendata import shelters_opendata_csv
from geodata.export.public import SMALL, PublicView
from geodata.schema import CARE_COLUMNS
from geodata.shelters import care_counts, care_summary, care_total, merge_edit, status_at

IDS = ("S1", "S2", "S3", "S4")


def _shelters(store, ids=IDS, target=None):
    gdf = gpd.GeoDataFrame(
        {
            "shelter_id": list(ids),
            "city_code": "13208",
            "name": [f"避難所{i}" for i in ids],
            "kind": ["shelter"] * len(ids),
            "capacity": [500] * len(ids),
            "capacity_estimated": [False] * len(ids),
            "target": target or [None] * len(ids),
        },
        geometry=[shapely.Point(139.55 + 0.001 * i, 35.65) for i in range(len(ids))],
        crs=4326,
    )
    store.upsert("shelters", gdf)


def test_a_blank_care_count_is_not_zero_and_totals_add_only_what_was_counted(store):
    _shelters(store)
    store.update_shelter_status(
        "S1",
        {"status": "開設", "evacuees": 80, "care_elderly": 12, "care_infants": 0},
        base_version=0,
        actor="sato",
    )
    store.update_shelter_status(
        "S2", {"status": "開設", "evacuees": 40, "care_elderly": 5}, base_version=0, actor="ito"
    )
    store.update_shelter_status("S3", {"status": "開設", "evacuees": 30}, base_version=0, actor="x")
    store.update_shelter_status(  # a closed shelter's last count is not counted
        "S4", {"status": "閉鎖", "evacuees": 0, "care_elderly": 50}, base_version=0, actor="y"
    )
    current = store.current_shelter_status().set_index("shelter_id")
    assert current.loc["S1", "care_infants"] == 0  # counted: none
    assert pd.isna(current.loc["S1", "care_pregnant"])  # not counted
    assert pd.isna(current.loc["S3", "care_elderly"])
    s1 = current.loc["S1"].to_dict()
    assert care_counts(s1) == {
        "elderly": 12,
        "disabled": None,
        "infants": 0,
        "pregnant": None,
        "foreign": None,
        "other": None,
    }
    assert care_total(s1) == 12
    assert care_total(current.loc["S3"].to_dict()) is None  # not 0

    summary = care_summary(status_at(store))
    assert summary["care"]["elderly"] == 17  # S1 + S2; closed S4 not counted
    assert summary["care"]["infants"] == 0  # S1 counted none
    assert summary["care"]["pregnant"] is None  # nobody counted: not 0
    assert summary["care_total"] == 17
    assert summary["care_counted"] == 2  # S3 counted nothing: the total covers S1 and S2 only


def test_a_care_count_carries_over_like_the_other_fields_and_cannot_be_negative(store):
    _shelters(store, ("S1",))
    store.update_shelter_status(
        "S1", {"status": "開設", "evacuees": 10, "care_disabled": 3}, base_version=0, actor="a"
    )
    new = store.update_shelter_status("S1", {"evacuees": 12}, base_version=1, actor="a")
    assert new["care_disabled"] == 3 and new["evacuees"] == 12
    with pytest.raises(ValueError, match="care_disabled"):
        store.update_shelter_status("S1", {"care_disabled": -1}, base_version=2, actor="a")
    assert len(store.shelter_status_history("S1")) == 2


def test_a_stale_edit_of_care_counts_is_merged_per_field():
    base = {"status": "開設", "evacuees": 40, "care_elderly": 5, "care_infants": None}
    mine = {**base, "care_elderly": 7}
    theirs = {**base, "care_infants": 2, "reported_by": "suzuki"}
    m = merge_edit(base, mine, theirs, mine_by="sato")
    assert (m.fields["care_elderly"], m.fields["care_infants"]) == (7, 2)
    both = merge_edit(base, mine, {**theirs, "care_elderly": 9}, mine_by="sato")
    assert both.conflicts == ("care_elderly",) and both.fields["care_elderly"] == 9


def test_published_care_is_one_total_per_shelter_with_small_ones_marked():
    frame = pd.DataFrame(
        {
            "shelter_id": ["A", "B", "C", "D"],
            "care_elderly": [4, 1, None, 0],
            "care_pregnant": [1, 1, None, 0],
        }
    )
    out = published_care(frame)
    assert not any(c in out.columns for c in CARE_COLUMNS)  # no group published
    assert out["care_total"].tolist() == [5, SMALL, None, SMALL]  # 0 counted is small, not blank


def test_the_public_never_reads_care_counts_per_group(store):
    _shelters(store)
    store.update_shelter_status(
        "S1",
        {"status": "開設", "evacuees": 80, "care_elderly": 12, "care_pregnant": 1},
        base_version=0,
        actor="sato",
    )
    store.update_shelter_status(
        "S2", {"status": "開設", "evacuees": 20, "care_infants": 2}, base_version=0, actor="ito"
    )
    store.update_shelter_status("S3", {"status": "開設", "evacuees": 9}, base_version=0, actor="x")
    public = PublicView(store)
    current = public.current_shelter_status().set_index("shelter_id")
    assert not any(c in current.columns for c in CARE_COLUMNS)
    assert current.loc["S1", "care_total"] == 13
    assert current.loc["S2", "care_total"] == SMALL
    assert current.loc["S3", "care_total"] is None
    history = public.read("shelter_status")
    assert not any(c in history.columns for c in CARE_COLUMNS)

    # the shelters export: internal with every group, public with the total only
    internal, _ = read_layer(store, "shelters")
    assert internal.set_index("shelter_id").loc["S1", "care_pregnant"] == 1
    res = export_layer(store, "shelters", "csv", public=True)
    text = res.data.decode("utf-8-sig")
    assert "高齢者" not in text.splitlines()[0] and "care_elderly" not in text
    table = pd.read_csv(io.BytesIO(res.data), encoding="utf-8-sig", dtype=str, comment="#")
    assert [c for c in table.columns if "要配慮者" in c] == ["要配慮者数"]
    by_id = table.set_index("避難所ID")
    assert by_id.loc["S1", "要配慮者数"] == "13"
    assert by_id.loc["S2", "要配慮者数"] == SMALL
    assert pd.isna(by_id.loc["S3", "要配慮者数"])

    # open data: 要配慮者数 per 指定避難所, small ones marked, blank when not counted
    data = shelters_opendata_csv(store, dataset="shelters").data
    opendata = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str).set_index("ID")
    assert opendata.loc["S1", "要配慮者数"] == "13"
    assert opendata.loc["S2", "要配慮者数"] == SMALL
    assert pd.isna(opendata.loc["S3", "要配慮者数"])
    assert pd.isna(opendata.loc["S4", "要配慮者数"])  # no report


def _open_world(store):
    # S1 nearest, a 福祉避難所 (受入対象者 要配慮者); S2 next, an ordinary shelter.
    _shelters(store, ("S1", "S2"), target=["要配慮者", None])
    for sid in ("S1", "S2"):
        store.update_shelter_status(
            sid, {"status": "開設", "evacuees": 5}, base_version=0, actor="a"
        )
    return status_at(store)


def test_welfare_shelters_are_left_out_of_the_public_answer_unless_the_person_needs_care(store):
    frame = _open_world(store)
    assert shelters.is_welfare(frame.set_index("shelter_id").loc["S1"].to_dict())
    public = guidance.nearest_open(frame, 139.5499, 35.65)
    assert public["shelter_id"].tolist() == ["S2"]
    cared = guidance.nearest_open(frame, 139.5499, 35.65, needs_care=True)
    assert cared["shelter_id"].tolist() == ["S1", "S2"]  # nearest first


def test_the_situation_map_counts_care_and_lists_urgent_supply_requests(store):
    from geodata import supplies
    from geodata.access.roles import User
    from geodata.export.situation import collect_situation

    _shelters(store)
    store.update_shelter_status(
        "S1", {"status": "開設", "evacuees": 80, "care_elderly": 12}, base_version=0, actor="a"
    )
    store.update_shelter_status(
        "S2", {"status": "開設", "evacuees": 20, "care_infants": 1}, base_version=0, actor="b"
    )
    hq = User("ito", "operator")
    supplies.create(store, hq, "S1", item="water", quantity=200, urgency="urgent")
    supplies.create(store, hq, "S2", item="blankets", quantity=20, urgency="normal")
    done = supplies.create(store, hq, "S2", item="food", quantity=9, urgency="urgent")
    supplies.move(store, hq, done, "delivered")
    internal = collect_situation(store)
    assert (internal.kpis["care_total"], internal.kpis["care_counted"]) == (13, 2)
    assert (internal.kpis["supplies_urgent"], internal.kpis["supplies_open"]) == (1, 2)
    assert internal.supplies[["name", "item"]].values.tolist() == [
        ["避難所S1", "water"],
        ["避難所S2", "blankets"],
    ]
    public = collect_situation(store, public=True)
    assert public.kpis["care_total"] is None  # beside per-shelter totals it could expose one
    assert public.kpis["supplies_urgent"] == 1
    assert set(public.supplies["requested_by"].dropna()) <= {"非公開"}


def test_the_chat_answers_a_roster_resident_with_the_welfare_shelter_too(store):
    import time
    from types import SimpleNamespace

    from ingest.outbound.guidance import GuidanceResponder

    frame = _open_world(store)
    sent = []

    class Client:  # the LINE reply API, recorded
        def reply(self, token, messages, received=None):
            sent.append((token, messages))
            return SimpleNamespace(ok=True, http_status=200, request_id="r")

    homes = {"U-roster": (139.5499, 35.65)}
    responder = GuidanceResponder(Client(), lambda: frame, homes=lambda: homes)
    try:
        ask = {"type": "message", "message": {"type": "text", "text": "避難所"}}
        for user, token in (("U-roster", "t1"), ("U-public", "t2")):
            event = {**ask, "replyToken": token, "source": {"userId": user}}
            if user == "U-public":  # not on the roster: sends the same point as a location
                event["message"] = {"type": "location", "latitude": 35.65, "longitude": 139.5499}
            assert responder.answer(event, time.monotonic()) == "answered"
    finally:
        responder.close()
    pins = {token: [m["title"] for m in messages[1:]] for token, messages in sent}
    assert pins == {"t1": ["避難所S1", "避難所S2"], "t2": ["避難所S2"]}
