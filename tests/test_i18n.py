"""The UI catalogue takes the domain's terms from geodata/vocab.py, one entry per term, and the
pages show data values in the UI language wherever a vocabulary exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import CATALOGUE, t
from geodata import follow_ups, safety
from geodata.store.core import open_store
from geodata.vocab import VOCABULARIES
from tests.accounts import login_apptest
from tests.test_safety_page import APP, make_world

ROOT = Path(__file__).resolve().parent.parent
# Keys that hold the same word as a vocabulary term for another concept (not a second entry
# of the term): a column of phone numbers, the triage buttons (verbs in English), the 避難所
# page, layer and name column (the category 避難所 is reports about shelters), the shelter
# form's field labels (keyed by the form's field names), the town map's "no colouring" option
# (なし, the word of a warning status too) and the hazard_areas layer's name (浸水想定区域, the
# word of one kind of hazard area too: the layer holds every kind); the safety page's 未確認
# column (residents not reached; a damage count is 未確認 when no verified report backs it) and
# the map tooltip's 河川 (a river's name; the damage item 河川 counts damaged river sites).
SAME_WORD_OTHER_CONCEPT = {
    "safety.list.col.phone",
    "reports.action.verify",
    "reports.action.handled",
    "reports.action.dismiss",
    "kpi.shelters",
    "layer.shelters",
    "export.layer.name.shelters",
    "shelters.page",
    "shelters.col.name",
    "field.method.shelter",
    "shelters.field.households",
    "measure.none",
    "kpi.hazard_areas",
    "layer.hazard",
    "export.layer.name.hazard_areas",
    "safety.col.unconfirmed",
    "map.river",
}


def test_every_vocabulary_term_is_one_catalogue_entry():
    # two vocabularies may share a word (土砂災害: a damage category and a warning's hazard);
    # what may not happen is a page's catalogue defining a term again
    vocab_keys = {v.key(code) for v in VOCABULARIES.values() for code in v.terms}
    for vocab in VOCABULARIES.values():
        for code, (ja, en) in vocab.terms.items():
            assert CATALOGUE[vocab.key(code)] == {"ja": ja, "en": en}
            again = [
                k
                for k, entry in CATALOGUE.items()
                if entry["ja"] == ja and k not in vocab_keys and k not in SAME_WORD_OTHER_CONCEPT
            ]
            assert again == [], (vocab.key(code), again)


@pytest.mark.parametrize(
    "word", ["避難者数", "開設", "満員", "閉鎖", "無事", "負傷", "要救助", "未処理"]
)
def test_domain_words_have_one_key(word):
    assert len([k for k, e in CATALOGUE.items() if e["ja"] == word]) == 1


def test_area_catalogues_define_no_domain_terms_of_their_own():
    for path in sorted((ROOT / "dashboard" / "i18n").glob("*.py")):
        text = path.read_text("utf-8")
        assert "_CATEGORY_EN" not in text and "CATEGORIES" not in text, path.name
    assert t("category.救助要請", lang="en") == "Rescue request"
    assert t("measure.evacuees", lang="ja") == "避難者数"
    assert t("shelter_status.開設", lang="en") == "Open"


def test_follow_up_text_is_worded_by_the_vocabularies_in_either_language():
    at = "2026-10-12T11:40:00Z"
    assert safety.follow_up_text("visit", "not_home", at) == "訪問 不在 20:40"
    assert safety.follow_up_text("phone", "moved", at, lang="en") == "Phone Moved away 20:40"
    assert safety.follow_up_text("phone", None, at, lang="en") == "Phone 20:40"


@pytest.fixture
def world(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'world.sqlite'}"
    make_world(url)
    store = open_store(url)
    follow_ups.record_follow_up(store, "R2", "phone", "not_home", None, actor="sato")
    store.dispose()
    return url


def _safety_page(monkeypatch, url: str, lang: str) -> AppTest:
    monkeypatch.setenv("BOSAI_DB_URL", url)
    monkeypatch.setenv("BOSAI_TILES", "none")
    monkeypatch.setenv("BOSAI_MUNICIPALITY", "132080")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    login_apptest(at, "operator")
    at.run()
    at.switch_page("app_pages/safety.py").run()
    assert not at.exception
    return at


def _cells(at: AppTest, column: str) -> list[str]:
    return [str(v) for d in at.dataframe if column in d.value for v in d.value[column]]


def test_english_safety_page_shows_statuses_and_follow_ups_in_english(monkeypatch, world):
    at = _safety_page(monkeypatch, world, "en")
    follow_ups = [v for v in _cells(at, "last_follow_up") if v]
    assert len(follow_ups) == 1
    assert re.fullmatch(r"Phone Not home \d\d:\d\d", follow_ups[0])
    assert _cells(at, "Status") == ["Safe"]  # the unmatched reply (stored as 無事)
    assert all(" · Safe · " in o for o in at.selectbox(key="safety_unmatched_reply").options)
    assert [m.label for m in at.metric][2:4] == ["Needs rescue", "Injured"]

    at = _safety_page(monkeypatch, world, "ja")
    assert re.fullmatch(r"電話 不在 \d\d:\d\d", [v for v in _cells(at, "last_follow_up") if v][0])
    assert _cells(at, "状況") == ["無事"]


def test_hazard_tooltips_name_the_kind_from_its_vocabulary():
    import geopandas as gpd
    from shapely.geometry import box

    from dashboard.maps.layers import hazard_layer

    areas = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "kind": ["flood", "landslide", "meteor"]},
        geometry=[box(0, 0, 1, 1)] * 3,
        crs=4326,
    )
    for lang, want in [
        ("ja", ["浸水想定区域", "土砂災害警戒区域", "災害想定区域（meteor）"]),
        ("en", ["Flood inundation area", "Landslide warning area", "Hazard area (meteor)"]),
    ]:
        layer = hazard_layer(areas, lang=lang)
        labels = [f["properties"]["label"] for f in layer.data["features"]]
        assert labels == [f"<b>{w}</b>" for w in want]
