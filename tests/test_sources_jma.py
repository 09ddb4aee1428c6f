"""The JMA source against a loopback server that answers like JMA's feed and data folders.

The fixtures (tests/payloads/jma/) are messages shaped like JMA's published samples (see
docs/warnings.md) with 調布市 / 多摩川 content: 大雨 advisory → warning, 土砂 warning → danger
→ withdrawn (取消), 土砂災害警戒情報, 多摩川 レベル４氾濫危険警報, 記録的短時間大雨情報, a malformed
message, the same message under a second entry id; then the lifts (extra_l_later.xml).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from werkzeug import Request, Response

from geodata import warnings
from geodata.http import make_session
from ingest.runner import run_source
from ingest.sources.jma import JmaSource

JMA = Path(__file__).parent / "payloads" / "jma"
LAST_MODIFIED = {"extra_l.xml": "Mon, 12 Oct 2026 08:00:30 GMT",
                 "extra_l_later.xml": "Mon, 12 Oct 2026 14:00:30 GMT"}  # fmt: skip
CHOFU = ["13208008001", "13208008003", "13208014002"]
FLOOD_TOWN = "13208008003"  # 国領町三丁目: the only town in the flood-hazard area


def jst(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-10-12 {text}", tz="Asia/Tokyo")


class FakeJma:
    """JMA's feed and data folders: ``phase`` picks the feed file; messages can be withheld."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.base = httpserver.url_for("").rstrip("/")
        self.phase = "extra_l.xml"
        self.down = False
        self.missing: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        httpserver.expect_request(re.compile(r"/developer/xml/.*")).respond_with_handler(
            self.handle
        )

    def handle(self, request: Request) -> Response:
        self.requests.append((request.path, request.headers.get("If-Modified-Since")))
        name = request.path.rsplit("/", 1)[-1]
        if request.path.startswith("/developer/xml/feed/"):
            if self.down:
                return Response("busy", status=503)
            modified = LAST_MODIFIED[self.phase]
            if request.headers.get("If-Modified-Since") == modified:
                return Response(status=304)
            text = (JMA / self.phase).read_text("utf-8").replace("{base}", self.base)
            return Response(text, content_type="application/atom+xml",
                            headers={"Last-Modified": modified})  # fmt: skip
        if name == "vpww55_warning_copy.xml":
            name = "vpww55_warning.xml"
        path = JMA / "data" / name
        if name in self.missing or not path.exists():
            return Response("not found", status=404)
        return Response(path.read_bytes(), content_type="application/xml")

    def fetched(self) -> list[str]:
        return [p.rsplit("/", 1)[-1] for p, _ in self.requests if "/data/" in p]


@pytest.fixture
def jma(httpserver):
    return FakeJma(httpserver)


@pytest.fixture
def town_store(store):
    towns = gpd.GeoDataFrame(
        {
            "town_code": [*CHOFU, "13206001001"],
            "city_code": ["13208", "13208", "13208", "13206"],
            "name": ["国領町一丁目", "国領町三丁目", "布田二丁目", "府中町一丁目"],
        },
        geometry=[
            shapely.box(139.544, 35.645, 139.550, 35.650),
            shapely.box(139.550, 35.645, 139.556, 35.650),
            shapely.box(139.538, 35.648, 139.544, 35.653),
            shapely.box(139.470, 35.665, 139.480, 35.675),
        ],
        crs=4326,
    )
    store.upsert("towns", towns, source="test")
    flood = gpd.GeoDataFrame(
        {"id": ["A31:1"], "kind": ["flood"], "rank": ["3.0m以上5.0m未満"], "source": ["test"]},
        geometry=[shapely.box(139.551, 35.640, 139.560, 35.646)],  # inside 国領町三丁目 only
        crs=4326,
    )
    store.upsert("hazard_areas", flood, source="test")
    return store


def source(jma: FakeJma, **kw) -> JmaSource:
    return JmaSource(
        "jma",
        base_url=f"{jma.base}/developer/xml/feed/",
        feeds=kw.pop("feeds", ["extra_l.xml"]),
        catch_up_feeds=kw.pop("catch_up_feeds", ["extra_l.xml"]),
        municipality="13208",
        region_codes=["130010"],
        rivers=["多摩川"],
        prefecture="東京都",
        session=make_session(retries=0, timeout=(2, 5)),
        **kw,
    )


def test_messages_are_stored_once_with_their_raw_xml_and_the_malformed_one_is_rejected(
    town_store, jma
):
    result = run_source(town_store, source(jma))
    assert result["ok"], result["error"]
    # 10 wanted entries: the copy of the warning is a duplicate; Osaka and the forecast are
    # not fetched at all.
    assert (result["fetched"], result["inserted"], result["rejected"]) == (9, 9, 1)
    assert result["duplicates"] == 1
    assert "osaka_vpww55.xml" not in jma.fetched() and "forecast.xml" not in jma.fetched()
    stored = town_store.read("warnings").set_index("message_id")
    warning = stored.loc[f"{jma.base}/developer/xml/data/vpww55_warning.xml"]
    assert warning["raw_xml"] == (JMA / "data/vpww55_warning.xml").read_text("utf-8").strip()
    assert warning["size"] == len((JMA / "data/vpww55_warning.xml").read_bytes())
    assert warning["type_code"] == "VPWW55" and warning["info_type"] == "発表"
    assert warning["report_at"] == jst("12:00")
    assert warning["entry_updated"] == pd.Timestamp("2026-10-12T03:00:10Z")
    assert pd.Timestamp(warning["received_at"]) <= pd.Timestamp.now(tz="UTC")
    assert [(i["kind"], i["status"], i["area_code"]) for i in warning["items"]] == [
        ("heavy_rain_warning", "issued", "1320800")
    ]  # 府中市 is not ours
    assert f"{jma.base}/developer/xml/data/vpww55_warning_copy.xml" not in stored.index
    bad = stored.loc[f"{jma.base}/developer/xml/data/malformed.xml"]
    assert "not well-formed" in bad["error"] and bad["items"] == []
    assert bad["raw_xml"] == (JMA / "data/malformed.xml").read_text("utf-8").strip()
    rejections = town_store.read_rejections(source="jma")
    assert len(rejections) == 1
    assert "malformed.xml" in rejections["reason"].iloc[0]
    assert "not well-formed" in rejections["reason"].iloc[0]


def test_in_force_gives_the_warnings_and_their_towns_at_each_time(town_store, jma):
    assert run_source(town_store, source(jma))["ok"]

    def kinds(at):
        found = warnings.in_force(town_store, jst(at))
        return {(r.kind, r.area_code or r.river): r.towns for r in found.itertuples()}

    assert kinds("09:00") == {}
    assert kinds("11:00") == {("heavy_rain_advisory", "1320800"): CHOFU}  # not 府中町
    assert set(kinds("12:10")) == {("heavy_rain_warning", "1320800")}  # the advisory is replaced
    assert set(kinds("13:05")) == {("heavy_rain_warning", "1320800"),
                                   ("landslide_danger", "1320800")}  # fmt: skip
    # 13:20 withdraws the 13:00 土砂 message: its 12:30 レベル３ applies again, and the 土砂災害
    # 警戒情報 of 13:10 still says レベル４.
    at_14 = warnings.in_force(town_store, jst("14:00")).set_index("kind")
    assert set(at_14.index) == {"heavy_rain_warning", "landslide_danger", "landslide_warning"}
    assert at_14.loc["landslide_danger", "issued_at"] == jst("13:00")
    assert at_14.loc["landslide_warning", "issued_at"] == jst("13:20")
    assert at_14.loc["landslide_danger", "label"] == "土砂災害警戒情報"
    assert at_14.loc["heavy_rain_warning", "label"] == "レベル３大雨警報"
    assert list(at_14["level"]) == [4, 3, 3]  # highest first
    at_16 = warnings.in_force(town_store, jst("16:00")).set_index("kind")
    assert at_16.loc["river_flood_danger", "towns"] == [FLOOD_TOWN]
    assert at_16.loc["river_flood_danger", "river"] == "多摩川"
    assert ("record_rain", "130010") in kinds("16:45")
    assert ("record_rain", "130010") not in kinds("17:45")  # an hour after its report
    towns = warnings.towns_in_force(town_store, jst("16:00"), min_level=4)
    assert sorted(zip(towns["town_code"], towns["hazard"], towns["level"], strict=True)) == [
        *[(t, "landslide", 4) for t in CHOFU[:2]],
        (FLOOD_TOWN, "river_flood", 4),
        (CHOFU[2], "landslide", 4),
    ]


def test_a_second_run_changes_nothing_and_sends_if_modified_since(town_store, jma):
    src = source(jma, feeds=["extra.xml"])
    first = run_source(town_store, src)
    assert first["ok"] and first["inserted"] == 9
    assert [p for p, _ in jma.requests if "/feed/" in p] == ["/developer/xml/feed/extra_l.xml"]
    version = town_store.data_version("warnings")
    cursor = json.loads(town_store.get_cursor("jma"))
    assert cursor["last_modified"] == {
        f"{jma.base}/developer/xml/feed/extra_l.xml": LAST_MODIFIED["extra_l.xml"]
    }
    jma.requests.clear()
    # Within catch_up_minutes: the short feed; every entry it lists is stored already.
    second = run_source(town_store, src)
    assert second["ok"] and (second["fetched"], second["inserted"], second["updated"]) == (0, 0, 0)
    assert jma.fetched() == []
    third = run_source(town_store, src)
    assert third["ok"] and third["fetched"] == 0
    assert jma.requests[-1] == ("/developer/xml/feed/extra.xml", LAST_MODIFIED["extra_l.xml"])
    assert town_store.data_version("warnings") == version
    assert len(town_store.read_rejections(source="jma")) == 1
    assert len(town_store.read("warnings")) == 9
    # The copy of a stored message is remembered: never downloaded again.
    assert "vpww55_warning_copy.xml" not in jma.fetched()


def test_cancellations_end_warnings_and_the_timeline_tells_the_story(town_store, jma):
    assert run_source(town_store, source(jma))["ok"]
    jma.phase = "extra_l_later.xml"
    later = run_source(town_store, source(jma))
    assert later["ok"] and later["inserted"] == 4  # four lifts; nothing else fetched again
    assert warnings.in_force(town_store, jst("23:30")).empty
    at_2130 = warnings.in_force(town_store, jst("21:30"))
    # 土砂 lifted at 20:00 and 21:00; 多摩川 stays at レベル４ until 22:00.
    assert list(at_2130["kind"]) == ["river_flood_danger", "heavy_rain_warning"]
    story = warnings.timeline(town_store, until=jst("23:59"))
    got = [(t.tz_convert("Asia/Tokyo").strftime("%H:%M"), e, k)
           for t, e, k in zip(story["at"], story["event"], story["kind"], strict=True)]  # fmt: skip
    assert got == [
        ("10:00", "issued", "heavy_rain_advisory"),
        ("12:00", "issued", "heavy_rain_warning"),
        ("12:00", "lifted", "heavy_rain_advisory"),
        ("12:30", "issued", "landslide_warning"),
        ("13:00", "issued", "landslide_danger"),
        ("13:00", "lifted", "landslide_warning"),
        ("13:20", "issued", "landslide_warning"),
        ("15:50", "issued", "river_flood_danger"),
        ("16:30", "issued", "record_rain"),
        ("17:30", "expired", "record_rain"),
        ("20:00", "lifted", "landslide_danger"),
        ("21:00", "lifted", "landslide_warning"),
        ("22:00", "lifted", "river_flood_danger"),
        ("23:00", "lifted", "heavy_rain_warning"),
    ]
    lift = story[story["kind"] == "landslide_danger"].iloc[-1]
    assert lift["message_id"].endswith("/vxww50_lift.xml")


def test_an_unreachable_feed_keeps_the_last_messages_and_shows_their_age(town_store, jma):
    assert run_source(town_store, source(jma))["ok"]
    before = warnings.in_force(town_store, jst("16:00"))
    jma.down = True
    failed = run_source(town_store, source(jma))
    assert not failed["ok"] and "HTTP 503" in failed["error"]
    after = warnings.in_force(town_store, jst("16:00"))
    pd.testing.assert_frame_equal(before, after)
    (status,) = warnings.feed_status(town_store)
    assert status["source"] == "jma" and not status["ok"] and status["stale"]
    assert "HTTP 503" in status["last_error"]
    assert status["last_success_at"] <= status["last_error_at"]
    later = status["last_success_at"] + pd.Timedelta(minutes=25)
    (aged,) = warnings.feed_status(town_store, now=later)
    assert aged["age"] == pd.Timedelta(minutes=25)
    jma.down = False
    assert run_source(town_store, source(jma))["ok"]
    (fresh,) = warnings.feed_status(town_store)
    assert fresh["ok"] and not fresh["stale"] and fresh["last_error"] is None


def test_a_message_that_cannot_be_downloaded_is_fetched_on_the_next_run(town_store, jma):
    jma.missing.add("vxko_tama_danger.xml")
    first = run_source(town_store, source(jma))
    assert first["ok"] and first["inserted"] == 8
    reasons = town_store.read_rejections(source="jma")["reason"]
    assert any("vxko_tama_danger.xml: could not fetch the message (HTTP 404)" in r for r in reasons)
    assert json.loads(town_store.get_cursor("jma"))["last_modified"] == {}  # feed not done
    jma.missing.clear()
    second = run_source(town_store, source(jma))
    assert second["ok"] and second["inserted"] == 1
    assert "river_flood_danger" in set(warnings.in_force(town_store, jst("16:00"))["kind"])


def test_a_feed_that_is_not_atom_fails_the_run_and_writes_nothing(town_store, httpserver):
    httpserver.expect_request("/developer/xml/feed/extra_l.xml").respond_with_data(
        "<html><body>maintenance</body></html>", content_type="text/html"
    )
    src = JmaSource("jma", base_url=httpserver.url_for("/developer/xml/feed/"),
                    municipality="13208", session=make_session(retries=0))  # fmt: skip
    result = run_source(town_store, src)
    assert not result["ok"] and "not an Atom feed" in result["error"]
    assert town_store.count("warnings") == 0 and town_store.get_cursor("jma") is None


def test_configuration_errors_are_clear():
    with pytest.raises(ValueError, match="5-digit"):
        JmaSource("jma", municipality="132080")
    with pytest.raises(ValueError, match="unknown message types"):
        JmaSource("jma", municipality="13208", message_types=["府県天気予報"])
    chofu = JmaSource("jma", municipality="13208", rivers=["多摩川"])
    assert chofu.targets.area_codes == ("1320800",)
    assert chofu.words == ("東京都", "多摩川")  # the prefecture from the municipality code
    assert JmaSource("jma", municipality="01100").words == ("北海道",)
    with pytest.raises(ValueError, match="5-digit"):
        JmaSource("jma", municipality="99999")
