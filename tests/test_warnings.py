"""geodata/warnings.py and the message reader: streams, merging, bases, exercises, refusals."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import vocab, warnings
from ingest.sources import jma, jmaxml
from ingest.sources.jma import JmaSource

DATA = Path(__file__).parent / "payloads" / "jma" / "data"
TARGETS = jmaxml.Targets("13208", ("1320800",), ("130010",), ("多摩川",))


def jst(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-10-12 {text}", tz="Asia/Tokyo")


def load(store, files: list[str], *, received: dict | None = None, edit=None) -> None:
    """Store fixture messages as the JMA source would (received at their report time)."""
    src = JmaSource("jma", municipality="13208", region_codes=["130010"], rivers=["多摩川"])
    records = []
    for name in files:
        text = (DATA / name).read_text("utf-8")
        if edit:
            text = edit(name, text)
        parsed = jmaxml.parse_message(text.encode(), TARGETS)
        at = (received or {}).get(name, parsed["report_at"])
        entry = {"id": f"urn:test:{name}", "url": f"https://jma.example/{name}",
                 "title": parsed["title"], "updated": at}  # fmt: skip
        records.append({"entry": entry, "feed": "https://jma.example/extra_l.xml",
                        "received_at": at, "xml": text, "size": len(text.encode()),
                        "digest": jmaxml.digest(text)})  # fmt: skip
    frame, rejected = src.normalize(records)
    assert rejected == []
    store.upsert("warnings", frame, source="jma")


@pytest.fixture
def towns():
    return gpd.GeoDataFrame(
        {"town_code": ["13208008001", "13208008003"], "city_code": ["13208", "13208"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=4326,
    )


def test_the_transitional_vpww54_and_vpww55_say_one_warning(store, towns):
    later = {"vpww54_warning.xml": jst("12:01")}  # both report 12:00; VPWW54 arrives later
    load(store, ["vpww55_advisory.xml", "vpww55_warning.xml", "vpww54_warning.xml"],
         received=later)  # fmt: skip
    found = warnings.in_force(store, jst("12:30"), towns=towns).set_index("kind")
    assert set(found.index) == {"heavy_rain_warning", "flood_warning", "other_advisory"}
    both = found.loc["heavy_rain_warning", "message_ids"]
    assert both == ["urn:test:vpww54_warning.xml", "urn:test:vpww55_warning.xml"]
    assert found.loc["heavy_rain_warning", "label"] == "レベル３大雨警報"  # not VPWW54's 大雨警報
    assert found.loc["flood_warning", "label"] == "洪水警報"
    assert found.loc["other_advisory", "label"] == "雷注意報"
    assert pd.isna(found.loc["other_advisory", "level"])
    assert found.loc["heavy_rain_warning", "level"] == 3
    assert found.loc["flood_warning", "towns"] == ["13208008001", "13208008003"]


def test_received_basis_shows_what_the_hq_knew(store, towns):
    late = {"vpww55_warning.xml": jst("12:40")}  # reported 12:00, arrived 12:40
    load(store, ["vpww55_advisory.xml", "vpww55_warning.xml"], received=late)
    by_report = warnings.in_force(store, jst("12:30"), towns=towns)
    by_receipt = warnings.in_force(store, jst("12:30"), basis="received", towns=towns)
    assert list(by_report["kind"]) == ["heavy_rain_warning"]
    assert list(by_receipt["kind"]) == ["heavy_rain_advisory"]
    with pytest.raises(ValueError, match="basis"):
        warnings.in_force(store, basis="sent")


def test_exercise_messages_are_kept_but_never_in_force(store, towns):
    load(store, ["vpww55_advisory.xml"],
         edit=lambda n, t: t.replace("<Status>通常</Status>", "<Status>訓練</Status>"))  # fmt: skip
    assert store.count("warnings") == 1
    assert warnings.in_force(store, jst("11:00"), towns=towns).empty
    drill = warnings.in_force(store, jst("11:00"), exercises=True, towns=towns)
    assert list(drill["kind"]) == ["heavy_rain_advisory"]


def test_a_withdrawal_with_nothing_before_it_leaves_nothing(store, towns):
    load(store, ["vpww56_danger.xml", "vpww56_withdraw.xml"])
    assert list(warnings.in_force(store, jst("13:10"), towns=towns)["kind"]) == ["landslide_danger"]
    assert warnings.in_force(store, jst("13:30"), towns=towns).empty
    story = warnings.timeline(store, until=jst("14:00"))
    assert list(zip(story["event"], story["kind"], strict=True)) == [
        ("issued", "landslide_danger"), ("lifted", "landslide_danger")
    ]  # fmt: skip
    assert story["message_id"].iloc[-1] == "urn:test:vpww56_withdraw.xml"


def test_a_flood_forecast_maps_to_the_towns_of_the_rivers_flood_areas(store, towns):
    load(store, ["vxko_tama_danger.xml"])
    areas = gpd.GeoDataFrame(
        {"id": ["a", "b"], "kind": ["flood", "flood"], "river": ["多摩川", "野川"]},
        geometry=[shapely.box(0.5, 0.2, 0.8, 0.4), shapely.box(1.2, 0.2, 1.4, 0.4)],
        crs=4326,
    )
    found = warnings.in_force(store, jst("16:00"), towns=towns, hazard_areas=areas)
    assert found["towns"].iloc[0] == ["13208008001"]  # only the 多摩川 area counts
    unnamed = areas.assign(river=None)
    found = warnings.in_force(store, jst("16:00"), towns=towns, hazard_areas=unnamed)
    assert found["towns"].iloc[0] == ["13208008001", "13208008003"]
    touching = areas.assign(river=None, geometry=[shapely.box(2, 0, 3, 1)] * 2)
    found = warnings.in_force(store, jst("16:00"), towns=towns, hazard_areas=touching)
    assert found["towns"].iloc[0] == []  # sharing an edge is not being in the area


def test_every_kind_has_a_hazard_and_labels():
    for kind in vocab.WARNING_KINDS.codes:
        assert vocab.WARNING_KIND_HAZARD[kind] in vocab.WARNING_HAZARDS
        assert vocab.WARNING_KINDS.label(kind, "en")
    assert vocab.WARNING_KIND_LEVEL["landslide_danger"] == 4
    assert vocab.WARNING_KIND_LEVEL["record_rain"] is None
    for kind in jmaxml.VPWW_KINDS.values():
        assert kind in vocab.WARNING_KINDS


def test_the_reader_refuses_what_is_not_a_jma_message():
    with pytest.raises(jmaxml.JmaFormatError, match="document type declaration"):
        jmaxml.parse_message(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><r/>', TARGETS)
    with pytest.raises(jmaxml.JmaFormatError, match="not a JMA report"):
        jmaxml.parse_message(b"<feed/>", TARGETS)
    text = (DATA / "vpww55_warning.xml").read_text("utf-8")
    with pytest.raises(jmaxml.JmaFormatError, match="InfoType"):
        jmaxml.parse_message(text.replace("<InfoType>発表", "<InfoType>号外").encode(), TARGETS)
    with pytest.raises(jmaxml.JmaFormatError, match="市町村等"):
        body = text.replace('type="気象警報・注意報（市町村等）"', 'type="x"')
        jmaxml.parse_message(body.encode(), TARGETS)
    with pytest.raises(jmaxml.JmaFormatError, match="府県天気予報"):
        jmaxml.parse_message(text.replace("気象警報・注意報（Ｒ０６）（大雨）",
                                          "府県天気予報（Ｒ１）").encode(), TARGETS)  # fmt: skip


def test_type_codes_come_from_the_url_then_the_title():
    url = "https://www.data.jma.go.jp/developer/xml/data/20261012030010_0_VPWW56_130000.xml"
    assert jmaxml.type_code(url, None) == "VPWW56"
    assert jmaxml.type_code("https://x/a.xml", "指定河川洪水予報") == "VXKOii"
    assert jmaxml.type_code("https://x/a.xml", "何か") is None


def test_an_atom_feed_written_here_reads_back():
    entry = {"id": "tag:x,2026:1", "title": "土砂災害警戒情報", "updated": "2026-10-12T04:10:14Z",
             "url": "../data/1.xml", "content": "【東京都レベル４土砂災害危険警報】"}  # fmt: skip
    data = jma.atom_feed([entry], feed_id="https://h/feed/extra_l.xml", title="高頻度（随時）",
                            updated="2026-10-12T04:11:00Z")  # fmt: skip
    (back,) = jma.parse_feed(data, "https://h/feed/extra_l.xml")
    assert back["url"] == "https://h/data/1.xml" and back["title"] == "土砂災害警戒情報"
    assert jma.is_wanted(back, jmaxml.TITLES, ("東京都",))
    assert not jma.is_wanted(back, jmaxml.TITLES, ("大阪府",))
