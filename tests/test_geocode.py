"""Gazetteer geocoding: spelling rules, ambiguity, other cities, geotags, and the labelled set."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata.settings import reference_dir
from geodata.text import gazetteer as gz
from geodata.text.geocode import NO_PLACE, Gazetteer

LABELLED = Path(__file__).parent / "labelled" / "geocode_chofu.tsv"


@pytest.fixture(scope="module")
def chofu() -> Gazetteer:
    root = reference_dir()
    if not (root / "chofu" / "towns_r2ka13208.geojson").exists():
        pytest.skip(f"reference data not found in {root}")
    return Gazetteer.from_reference(root, "13208")


@pytest.fixture(scope="module")
def towns(chofu) -> gpd.GeoDataFrame:
    raw = gpd.read_file(reference_dir() / "chofu" / "towns_r2ka13208.geojson")
    return raw.dissolve(by="S_NAME")


def _town(chofu, text):
    result = chofu.geocode(text)
    return result.town_name, result.method


# ---------------------------------------------------------------- spelling rules
@pytest.mark.parametrize(
    "text",
    [
        "国領町三丁目",  # kanji numerals
        "国領町3丁目",  # Arabic
        "国領町３丁目",  # full-width
        "国領町3",  # no 丁目
        "国領町３で冠水",
        "国領町 3丁目",
        "国領3丁目",  # 町 omitted
        "東京都調布市国領町三丁目",
        "調布市国領町3丁目",
    ],
)
def test_chome_spellings(chofu, text):
    result = chofu.geocode(text)
    assert (result.town_name, result.town_code, result.method) == (
        "国領町三丁目",
        "13208008003",
        "town",
    )
    assert result.confidence >= 0.85


@pytest.mark.parametrize(
    "text",
    [
        "国領町3-1-2",
        "国領町３－１－２",
        "国領町3−1−2",
        "国領町3の1",
        "国領3-8",
        "国領町3丁目1番2号",
    ],
)
def test_address_spellings(chofu, text):
    result = chofu.geocode(text)
    assert (result.town_name, result.method) == ("国領町三丁目", "address")
    assert result.confidence == 0.95


@pytest.mark.parametrize(
    "text, expected",
    [
        ("緑ヶ丘2丁目", "緑ケ丘二丁目"),
        ("緑ケ丘2丁目", "緑ケ丘二丁目"),
        ("緑が丘2丁目", "緑ケ丘二丁目"),
        ("東つつじが丘1丁目", "東つつじケ丘一丁目"),
        ("西つつじヶ丘4-1", "西つつじケ丘四丁目"),
        ("調布が丘3丁目", "調布ケ丘三丁目"),
    ],
)
def test_ga_ke_variants(chofu, text, expected):
    assert chofu.geocode(text).town_name == expected


@pytest.mark.parametrize("text", ["上ノ原小学校", "上の原小学校", "上之原小"])
def test_no_variants(chofu, text):
    result = chofu.geocode(text)
    assert (result.town_name, result.method) == ("柴崎二丁目", "shelter")


def test_chome_point_is_inside_the_polygon(chofu, towns):
    for text, name in [("多摩川7丁目", "多摩川七丁目"), ("深大寺東町8丁目", "深大寺東町八丁目")]:
        result = chofu.geocode(text)
        assert towns.geometry[name].contains(result.point)


def test_town_without_chome_is_the_whole_town(chofu, towns):
    result = chofu.geocode("国領町で冠水")
    assert (result.town_name, result.town_code, result.method) == ("国領町", None, "town")
    assert result.confidence == 0.6
    whole = shapely.union_all([towns.geometry[f"国領町{n}丁目"] for n in "一二三四五六七八"])
    assert whole.contains(result.point)
    assert _town(chofu, "国領の方やばい") == ("国領町", "town")


def test_single_polygon_town_keeps_its_code(chofu):
    result = chofu.geocode("調布市西町で停電")
    assert (result.town_name, result.town_code, result.confidence) == ("西町", "132080200", 0.8)


def test_chome_that_does_not_exist_falls_back_to_the_town(chofu):
    result = chofu.geocode("国領町9丁目")
    assert (result.town_name, result.town_code, result.confidence) == ("国領町", None, 0.5)


@pytest.mark.parametrize("text", ["国領町30分待ち", "国領町3時頃"])
def test_numbers_that_are_not_chome(chofu, text):
    assert chofu.geocode(text).town_name == "国領町"


# ---------------------------------------------------------------- shelters and landmarks
@pytest.mark.parametrize(
    "text", ["第二小学校", "第2小学校", "調布市立第二小学校", "第二小", "二小の体育館", "調布二小"]
)
def test_shelter_name_variants(chofu, text):
    result = chofu.geocode(text)
    assert (result.town_name, result.method) == ("国領町四丁目", "shelter")
    assert result.point.equals(shapely.Point(139.556446, 35.646406))


def test_shelter_name_containing_a_town_name(chofu):
    assert _town(chofu, "布田小学校に避難") == ("染地一丁目", "shelter")


def test_nickname_glued_to_a_kanji_is_not_a_shelter(chofu):
    assert chofu.geocode("十二小節").method == "none"


@pytest.mark.parametrize(
    "text, town",
    [
        ("調布駅前", "布田四丁目"),
        ("布田駅", "国領町五丁目"),
        ("味スタ", "西町"),
        ("深大寺の境内", "深大寺元町五丁目"),
        ("西調布駅", "上石原一丁目"),
        ("Chofu Station", "布田四丁目"),
    ],
)
def test_landmarks(chofu, text, town):
    result = chofu.geocode(text)
    assert (result.town_name, result.method) == (town, "landmark")


@pytest.mark.parametrize(
    "text", ["西調布の辺り", "京王多摩川で冠水", "深大寺のあたり", "つつじヶ丘で"]
)
def test_station_or_temple_name_as_an_area_gives_no_town(chofu, text):
    result = chofu.geocode(text)
    assert (result.method, result.town_code, result.confidence) == ("landmark", None, 0.4)
    assert result.point is not None


def test_river_gives_a_low_confidence_point_without_town(chofu):
    result = chofu.geocode("多摩川が氾濫しそう")
    assert (result.method, result.town_code, result.confidence) == ("landmark", None, 0.3)
    assert result.point is not None


def test_more_specific_beats_landmark_and_town(chofu):
    assert _town(chofu, "国領町五丁目の布田駅寄り") == ("国領町五丁目", "town")
    assert _town(chofu, "国領町の国領町3-1-2") == ("国領町三丁目", "address")
    assert _town(chofu, "多摩川3丁目") == ("多摩川三丁目", "town")


def test_conflicting_less_specific_place_lowers_confidence(chofu):
    result = chofu.geocode("調布駅前、国領町3丁目")
    assert (result.town_name, result.confidence) == ("国領町三丁目", 0.72)


# ---------------------------------------------------------------- ambiguity and negatives
@pytest.mark.parametrize(
    "text",
    [
        "つつじヶ丘2丁目",  # 東 and 西 both have it
        "深大寺3丁目",
        "国領町3丁目と布田2丁目で冠水",
        "国領と柴崎で停電",
        "調布駅と国領駅の間",
        "第二小学校と第三小学校",
    ],
)
def test_ambiguous_never_guesses(chofu, text):
    result = chofu.geocode(text)
    assert (result.method, result.point, result.town_code) == ("ambiguous", None, None)
    assert result.confidence <= 0.3


def test_ambiguous_chome_settled_by_another_mention(chofu):
    assert chofu.geocode("つつじヶ丘2丁目、東つつじヶ丘の辺り").town_name == "東つつじケ丘二丁目"


def test_chome_held_by_one_town_of_a_family(chofu):
    result = chofu.geocode("つつじヶ丘4丁目")
    assert (result.town_name, result.confidence) == ("西つつじケ丘四丁目", 0.6)


@pytest.mark.parametrize(
    "text",
    [
        "府中市若松町で冠水",
        "狛江市岩戸北",
        "狛江市西野川",
        "西野川で冠水",
        "大田区多摩川2丁目",
        "立川市柴崎町3丁目",
        "府中市立第二小学校",
        "府中市役所",
        "調布市内各所で停電",
        "3丁目の交差点",
        "柴崎さんの家",
        "fudai",
    ],
)
def test_other_cities_and_non_places(chofu, text):
    assert chofu.geocode(text) == NO_PLACE


def test_other_city_does_not_hide_a_later_chofu_place(chofu):
    assert chofu.geocode("府中市若松町3-1で冠水、調布市若葉町も").town_name == "若葉町"


@pytest.mark.parametrize("text", ["", None, float("nan"), "   ", "🌀🌀🌀"])
def test_empty_text(chofu, text):
    assert chofu.geocode(text) == NO_PLACE


def test_html_escaped_and_emoji_text(chofu):
    assert chofu.geocode("&lt;b&gt;国領町3丁目&lt;/b&gt; &amp; 🌀💦").town_name == "国領町三丁目"
    assert chofu.geocode("🌀🌀国領町３丁目💦💦#台風").town_name == "国領町三丁目"


def test_romaji(chofu):
    assert _town(chofu, "KOKURYO 3-chome flooded") == ("国領町三丁目", "town")
    assert _town(chofu, "power out in Sengawa") == ("仙川町", "town")


# ---------------------------------------------------------------- geotags and batches
def test_geotag_beats_text(chofu):
    result = chofu.resolve_location(shapely.Point(139.5440, 35.6518), "国領町3丁目で冠水")
    assert (result.geo_source, result.method, result.confidence) == ("geotag", "geotag", 1.0)
    assert (result.town_code, result.town_name) == ("13208006004", "布田四丁目")
    fallback = chofu.resolve_location(None, "国領町3丁目で冠水")
    assert (fallback.geo_source, fallback.town_name) == ("gazetteer", "国領町三丁目")
    outside = chofu.resolve_location(shapely.Point(139.70, 35.69), "国領町")
    assert (outside.geo_source, outside.town_code) == ("geotag", None)


def test_geocode_many_matches_geocode(chofu):
    texts = pd.Series(
        ["国領町3-1-2", None, "多摩川が氾濫", "府中市", "第二小"], index=[10, 11, 12, 13, 14]
    )
    frame = chofu.geocode_many(texts)
    assert list(frame.index) == [10, 11, 12, 13, 14]
    assert list(frame.columns) == [
        "point", "town_code", "town_name", "method", "confidence", "matched", "geo_source"
    ]  # fmt: skip
    assert frame["method"].tolist() == ["address", "none", "landmark", "none", "shelter"]
    assert frame["town_code"].tolist() == ["13208008003", None, None, None, "13208008004"]
    for text, (_, row) in zip(texts, frame.iterrows(), strict=True):
        single = chofu.geocode(text)
        assert (row.town_code, row.method, row.confidence) == (
            single.town_code,
            single.method,
            single.confidence,
        )


def test_geocode_many_with_geotags(chofu):
    frame = chofu.geocode_many(
        ["国領町3丁目", "国領町3丁目"], geotags=[shapely.Point(139.5440, 35.6518), None]
    )
    assert frame["geo_source"].tolist() == ["geotag", "gazetteer"]
    assert frame["town_name"].tolist() == ["布田四丁目", "国領町三丁目"]


def test_texts_containing_the_batch_separator(chofu):
    frame = chofu.geocode_many(["国領町3丁目\x00布田", "西町"])
    assert frame["town_name"].tolist() == ["国領町三丁目", "西町"]


def test_from_layers_with_hand_built_layers():
    towns = gpd.GeoDataFrame(
        {
            "town_code": ["13208008001", "13208008002", "13208008002", "132080200"],
            "name": ["国領町一丁目", "国領町二丁目", "国領町二丁目", "西町"],
            "city_name": ["調布市"] * 4,
        },
        geometry=[
            shapely.box(0, 0, 1, 1),
            shapely.box(1, 0, 2, 1),
            shapely.box(1, 1, 2, 2),  # a second polygon of the same 丁目 is merged
            shapely.box(5, 5, 6, 6),
        ],
        crs=4326,
    )
    shelters = gpd.GeoDataFrame(
        {"shelter_id": ["S1"], "name": ["第二小学校"], "town_code": [None]},
        geometry=[shapely.Point(1.5, 1.5)],
        crs=4326,
    )
    g = Gazetteer.from_layers(towns, shelters, landmarks=())
    assert g.geocode("国領町2丁目").point.within(shapely.box(1, 0, 2, 2))
    assert (g.geocode("二小").town_code, g.geocode("二小").method) == ("13208008002", "shelter")
    assert g.geocode("西町").town_code == "132080200"
    assert g.geocode("調布駅").method == "none"  # no landmarks given
    assert g.town_at(shapely.Point(0.5, 0.5)) == "13208008001"


def test_trie_regex_prefers_the_longest_word():
    import re

    pattern = re.compile(gz.trie_regex(["国領", "国領町", "国領駅", "緑ヶ丘"]))
    assert pattern.findall("国領町 国領駅 国領 緑が丘 緑ケ丘") == [
        "国領町", "国領駅", "国領", "緑が丘", "緑ケ丘"
    ]  # fmt: skip


# ---------------------------------------------------------------- the labelled set
def _consistent(expected: str, got: str | None) -> bool:
    return got is not None and (got.startswith(expected) or expected.startswith(got))


def test_labelled_set_accuracy(chofu):
    with LABELLED.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) >= 200
    frame = chofu.geocode_many([r["text"] for r in rows])
    named = right = wrong = 0
    negatives = false_places = 0
    ambiguous = ambiguous_ok = 0
    points = points_ok = 0
    for row, (_, got) in zip(rows, frame.iterrows(), strict=True):
        expected = row["expected"]
        if expected == "none":
            negatives += 1
            false_places += got["point"] is not None or got["town_name"] is not None
        elif expected == "ambiguous":
            ambiguous += 1
            ambiguous_ok += got["method"] == "ambiguous"
        elif expected == "point":
            points += 1
            points_ok += got["point"] is not None and got["town_name"] is None
        else:
            named += 1
            right += got["town_name"] == expected
            wrong += got["town_name"] is not None and not _consistent(expected, got["town_name"])
    print(
        f"\ngeocoding: {named} texts naming a town: right {right / named:.1%}, "
        f"wrong town {wrong / named:.1%}; negatives {negatives}: given a place "
        f"{false_places / negatives:.1%}; ambiguous {ambiguous_ok}/{ambiguous}; "
        f"point-only {points_ok}/{points}"
    )
    assert negatives / len(rows) >= 0.19
    assert right / named >= 0.90
    assert wrong / named <= 0.02
    assert false_places / negatives <= 0.05
    assert ambiguous_ok / ambiguous >= 0.8
    assert points_ok == points


# ---------------------------------------------------------------- the command
def test_geocode_command(chofu, capsys):
    import argparse

    from ingest.commands import geocode as command

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    command.add_arguments(parser)
    args = parser.parse_args(
        ["国領町3丁目で冠水", "府中市若松町", "--classify", "--reference-dir", str(reference_dir())]
    )
    summary = command.run(args)
    assert summary == {"municipality": "13208", "texts": 2, "located": 1, "ambiguous": 0}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[1:4] == ["town=国領町三丁目", "method=town", "confidence=0.90"]
    assert "categories=浸水・冠水" in lines[0]
    assert lines[1].split("\t")[1:3] == ["town=-", "method=none"]
    args = parser.parse_args(["二小", "--json", "--reference-dir", str(reference_dir())])
    result = command.run(args)["results"][0]
    assert (result["town_code"], result["method"], result["lon"]) == (
        "13208008004",
        "shelter",
        139.556446,
    )
