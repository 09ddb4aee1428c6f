"""避難所: the board helpers (plain pytest) and the shelters page through AppTest.

The rules the board shows (occupancy, staleness, report age) are tested in tests/test_shelters.py.

The page tests run on a copy of a store with the 調布市 reference layers, six shelter reports
(tests/browser/conftest.SHELTER_REPORTS) and the test accounts.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest
from streamlit_folium import _get_map_string, generate_js_hash

from dashboard.shelters import board as shelters
from dashboard.shelters import map as shelters_map
from dashboard.shelters import table as shelters_table
from dashboard.shelters.board import check_update, format_age, format_capacity
from geodata import settings
from geodata.store.core import open_store
from tests.accounts import ensure_accounts, run_page_as

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
PAGE = "app_pages/shelters.py"
NOW = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)  # 12:00 JST


# -- plain helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "ja", "en"),
    [
        (timedelta(seconds=0), "1分未満", "<1 min ago"),
        (timedelta(seconds=59), "1分未満", "<1 min ago"),
        (timedelta(minutes=1), "1分前", "1 min ago"),
        (timedelta(minutes=42, seconds=59), "42分前", "42 min ago"),
        (timedelta(minutes=60), "1時間前", "1 h ago"),
        (timedelta(hours=3, minutes=5), "3時間5分前", "3 h 5 min ago"),
        (timedelta(hours=23, minutes=59), "23時間59分前", "23 h 59 min ago"),
        (timedelta(hours=49), "2日前", "2 d ago"),
        (None, "報告なし", "no report"),
    ],
)
def test_format_age(age, ja, en):
    assert format_age(age, lang="ja") == ja
    assert format_age(age, lang="en") == en


def test_capacity_is_marked_approximate_when_estimated():
    assert format_capacity(5000, True) == "約5,000"
    assert format_capacity(5000, True, lang="en") == "~5,000"
    assert format_capacity(480, False) == "480"
    assert format_capacity(480, pd.NA) == "480"
    assert format_capacity(None, True) == "–"


def test_time_is_shown_in_japan_time():
    assert shelters.format_time(pd.Timestamp("2026-09-01 15:30", tz="UTC")) == "09/02 00:30"


def _shelters_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "shelter_id": ["S1", "S2", "S3", "S4", "S5"],
            "name": ["第一小学校", "第二中学校", "公民館", "体育館", "<b>集会所</b>"],
            "capacity": [100, 200, 50, None, 80],
            "capacity_estimated": [True, False, False, False, True],
            "source": ["gsi"] * 5,  # the shelters layer has a source column too
        },
        geometry=[shapely.Point(139.55 + i / 100, 35.65) for i in range(5)],
        crs=4326,
    )


def _status_frame() -> pd.DataFrame:
    at = pd.Timestamp(NOW)
    return pd.DataFrame(
        {
            "shelter_id": ["S1", "S2", "S3", "S4"],
            "version": [3, 1, 2, 1],
            "reported_at": [
                at - timedelta(minutes=42),
                at - timedelta(hours=4),
                at - timedelta(hours=5),
                at - timedelta(minutes=5),
            ],
            "status": ["開設", "開設", "閉鎖", "開設"],
            "evacuees": [80, 30, 0, 12],
            "households": [30, None, None, 5],
            "needs": [["water", "milk"], [], None, ["staff"]],
            "note": [None, None, None, None],
            "reported_by": ["sato", None, "suzuki", "tanaka"],
            "source": ["staff", "csv:city", "staff", "staff"],
            "source_id": [None, "r1", None, None],
        }
    )


def test_board_rows_carry_rate_class_age_and_labels():
    board = shelters.board(_shelters_frame(), _status_frame(), NOW)
    rows = board.set_index("shelter_id")
    assert list(board["shelter_id"]) == ["S1", "S2", "S4", "S3", "S5"]  # open first, fullest
    s1 = rows.loc["S1"]
    assert (s1["rate"], s1["occupancy"], s1["capacity_label"]) == (0.8, 3, "約100")
    assert (s1["age_label"], s1["stale"], s1["reported_label"]) == ("42分前", False, "09/01 11:18")
    assert (s1["needs_label"], s1["reported_by"], s1["version"]) == ("水・粉ミルク", "sato", 3)
    s2 = rows.loc["S2"]
    assert (s2["occupancy"], s2["stale"], s2["age_label"]) == (0, True, "4時間前")
    assert s2["reported_by"] == "csv:city"  # a system report names its source
    s3 = rows.loc["S3"]  # closed: no rate, never stale
    assert pd.isna(s3["rate"]) and pd.isna(s3["occupancy"]) and not s3["stale"]
    s4 = rows.loc["S4"]  # open, capacity unknown
    assert pd.isna(s4["rate"]) and s4["capacity_label"] == "–"
    s5 = rows.loc["S5"]  # no report
    assert pd.isna(s5["status"]) and s5["status_label"] == "報告なし" and s5["version"] == 0
    assert pd.isna(s5["evacuees"]) and s5["age_label"] == ""


def test_board_filters_sorting_and_summary():
    board = shelters.board(_shelters_frame(), _status_frame(), NOW)
    pick = shelters.filter_board
    assert list(pick(board, statuses=["閉鎖", "none"])["shelter_id"]) == ["S3", "S5"]
    assert list(pick(board, classes=[3])["shelter_id"]) == ["S1"]
    assert list(pick(board, stale_only=True)["shelter_id"]) == ["S2"]
    assert list(pick(board, search="中学")["shelter_id"]) == ["S2"]
    oldest = shelters.sort_board(board, "oldest")
    assert list(oldest["shelter_id"])[:3] == ["S2", "S1", "S4"]
    assert list(shelters.sort_board(board, "evacuees")["shelter_id"])[:3] == ["S1", "S2", "S4"]
    assert shelters.summary(board) == {
        "open": 3,
        "full": 0,
        "shelters": 5,
        "evacuees": 122,
        "stale": 1,
    }
    with pytest.raises(ValueError, match="unknown order"):
        shelters.sort_board(board, "random")


def test_board_table_colours_and_escaping():
    board = shelters.board(_shelters_frame(), _status_frame(), NOW)
    css = shelters_table.cell_styles(board)
    by_id = dict(zip(board["shelter_id"], range(len(board)), strict=True))
    assert "#d73027" in css["rate"][by_id["S1"]]  # ≥80 %: red
    assert "#1a9850" in css["rate"][by_id["S2"]]  # 15 %: green
    assert css["rate"][by_id["S3"]] == ""  # closed: no class colour
    assert "#ffd400" in css["age"][by_id["S2"]] and css["age"][by_id["S1"]] == ""  # stale
    # closed: the map's grey (one palette; the table had a darker grey of its own)
    assert "#8c8c8c" in css["status"][by_id["S3"]]
    desk = shelters_table.display_frame(board)
    assert list(desk.columns) == [
        "避難所",
        "福祉",
        "状況",
        "避難者",
        "要配慮者",
        "収容人数",
        "収容率",
        "物資要請",
        "最終報告",
        "経過",
        "報告者",
    ]
    wall = shelters_table.display_frame(board, kiosk=True)
    assert "報告者" not in wall.columns and "最終報告" not in wall.columns
    # st.table renders cells as markdown: outside text is escaped there.
    assert r"\<b\>集会所\</b\>" in list(wall["避難所"])
    html = shelters_table.styled(board).to_html()
    assert ">80%<" in html and ">15%<" in html and ">約100<" in html


def test_check_update_errors_and_warnings():
    ok = check_update({"status": "開設", "evacuees": 50, "households": 20}, capacity=100)
    assert ok.ok and ok.warnings == []
    negative = check_update({"status": "開設", "evacuees": -1, "households": -2}, capacity=100)
    assert negative.errors == [
        "避難者数に負の数は入力できません。",
        "世帯数に負の数は入力できません。",
    ]
    assert check_update({"status": None, "evacuees": 1}).errors == ["状況を選んでください。"]
    assert check_update({"status": "開設", "evacuees": None}).errors[0].startswith("避難者数を入力")
    assert check_update({"status": "開設", "evacuees": 2.5}).errors == [
        "避難者数は整数で入力してください。"
    ]
    assert check_update({"status": "開設", "evacuees": 1, "needs": ["gold"]}).errors == [
        "不明な物資: gold"
    ]
    over = check_update({"status": "開設", "evacuees": 130}, capacity=120, estimated=True)
    assert over.ok  # accepted, but flagged
    assert over.warnings == [
        "避難者数 130人が収容人数 約120人を超えています。保存しましたが、"
        "「満員」への変更や他の避難所への案内を検討してください。"
    ]
    closed = check_update({"status": "閉鎖", "evacuees": 3, "households": 5})
    assert closed.warnings == [
        "状況が「閉鎖」ですが避難者数が0ではありません。",
        "世帯数が避難者数より多くなっています。",
    ]


def test_conflict_rows_put_the_newer_values_beside_the_input():
    current = {"status": "満員", "evacuees": 120, "households": 40, "needs": ["water"]}
    mine = {"status": "開設", "evacuees": 95, "households": 40, "needs": [], "note": "体育館"}
    rows = shelters.conflict_rows(current, mine).set_index("field")
    assert rows.loc["状況", ["current", "mine", "differs"]].tolist() == ["満員", "開設", True]
    assert rows.loc["避難者数（人）", ["current", "mine"]].tolist() == ["120", "95"]
    assert not rows.loc["世帯数", "differs"]
    assert "必要物資（タップで選択）" not in rows.index  # not on the form: supply requests are
    assert rows.loc["メモ", ["current", "mine"]].tolist() == ["–", "体育館"]


def test_history_frame_is_in_japan_time_oldest_first():
    history = _status_frame().iloc[[0, 3]].assign(shelter_id="S1", version=[2, 1])
    frame = shelters.history_frame(history)
    assert list(frame["version"]) == [2, 1]  # 11:18 before 11:55
    assert list(frame["time"]) == [
        pd.Timestamp("2026-09-01 11:18"),
        pd.Timestamp("2026-09-01 11:55"),
    ]
    assert list(frame["status"]) == ["開設", "開設"] and list(frame["reported_by"]) == [
        "sato",
        "tanaka",
    ]
    assert list(frame.columns) == [
        "time",
        "evacuees",
        "households",
        "status",
        "reported_by",
        "version",
    ]


def test_md_text_escapes_markdown_images_and_directives():
    assert (
        shelters.md_text("![x](http://e.example/a.png)") == r"\!\[x\]\(http\://e\.example/a\.png\)"
    )
    assert shelters.md_text(":red[警報]") == r"\:red\[警報\]"


# -- the map: a fixed context map and live layers -------------------------------------------


def _towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"town_code": ["T1"], "name": ["国領町一丁目"], "population": [100], "households": [50]},
        geometry=[shapely.box(139.54, 35.64, 139.62, 35.66)],
        crs=4326,
    )


def test_context_map_script_is_stable_and_live_layers_carry_the_counts():
    def script(status):
        m = shelters_map.context_map(_towns(), None, None, tiles="none")
        layers = shelters_map.live_layers(_shelters_frame(), status)
        return _get_map_string(m), layers

    first, layers = script(_status_frame())
    changed = _status_frame().assign(evacuees=[99, 30, 0, 12])
    second, layers2 = script(changed)
    # streamlit-folium keys the browser map by this hash: the same hash keeps the map (and its
    # pan/zoom) when the counts change; only the live layers are swapped.
    assert generate_js_hash(first, "k") == generate_js_hash(second, "k")
    assert "paddingBottomRight" in first and "bosai-legend" in first
    counts1, labels1 = _properties(layers)
    counts2, _ = _properties(layers2)
    assert counts1["S1"] == "80人" and counts2["S1"] == "99人"
    assert "&lt;b&gt;集会所&lt;/b&gt;" in labels1["S5"] and "<b>集会所</b>" not in labels1["S5"]


def _properties(layers) -> tuple[dict, dict]:
    """shelter id -> count label and tooltip of the live shelter layer."""
    counts, labels = {}, {}
    for child in layers[0]._children.values():
        for feature in getattr(child, "data", {}).get("features", []):
            props = feature["properties"]
            counts[props["fid"]] = props.get("count")
            labels[props["fid"]] = props.get("label")
    return counts, labels


def _render(layers) -> str:
    import folium

    m = folium.Map(tiles=None)
    for layer in layers:
        layer.add_to(m)
    return m.get_root().render()


def test_marker_and_point_layers_escape_labels():
    marker = shelters_map.marker_layer(shapely.Point(139.55, 35.65), "<img src=x>")
    points = shelters_map.points_layer(
        gpd.GeoDataFrame({"t": ["<script>"]}, geometry=[shapely.Point(139.5, 35.6)], crs=4326),
        lambda row: row["t"],
    )
    html = _render([marker, points])
    assert "&lt;img src=x&gt;" in html and "<img src=x>" not in html
    assert "&lt;script&gt;" in html and "bosai-picked" in html and "bosai-point" in html


# -- the page through AppTest ---------------------------------------------------------------

STAFF_SHELTER = "E1320800003"  # 開設, 45 of about 100 (the browser-test reports)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    from tests.browser.conftest import add_shelter_reports, load_reference

    reference_dir = Path(settings.get("BOSAI_REFERENCE_DIR"))
    if not (reference_dir / "chofu").exists():
        pytest.skip(f"no reference data in {reference_dir}")
    path = tmp_path_factory.mktemp("shelters") / "base.sqlite"
    url = f"sqlite:///{path}"
    load_reference(url, reference_dir)
    statuses = add_shelter_reports(url)
    assert STAFF_SHELTER in statuses
    ensure_accounts(url, shelter_ids=[STAFF_SHELTER])
    return path


@pytest.fixture
def store_url(base_store, tmp_path) -> str:
    """A private copy of the base store for one test."""
    target = tmp_path / "bosai.sqlite"
    with sqlite3.connect(base_store) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def _page(monkeypatch, url: str, user: str = "operator", **query) -> AppTest:
    return run_page_as(monkeypatch, url, PAGE, user, **query)


def _choose(at: AppTest, shelter_id: str) -> AppTest:
    at.selectbox(key="shelters_selected").set_value(shelter_id)
    return at.run()


def _fill(at: AppTest, sid: str, status=None, evacuees=None, households=None):
    if status is not None:
        at.button_group(key=f"shf_{sid}_status").set_value(status)
    if evacuees is not None:
        at.number_input(key=f"shf_{sid}_evacuees").set_value(evacuees)
    if households is not None:
        at.number_input(key=f"shf_{sid}_households").set_value(households)
    return at


def _submit(at: AppTest) -> AppTest:
    [button] = [b for b in at.button if b.label == "更新する"]
    return button.click().run()


def _history(url: str, sid: str) -> pd.DataFrame:
    store = open_store(url)
    try:
        return store.shelter_status_history(sid)
    finally:
        store.dispose()


def test_board_shows_the_reports(monkeypatch, store_url):
    at = _page(monkeypatch, store_url)
    assert not at.exception
    assert at.subheader[0].value == "避難所 — 調布市"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "開設中": "5 / 78",
        "避難者数": "5,145",
        "満員": "1",
        "3時間以上報告なし": "0",
        "要配慮者": "–",  # nobody counted: not 0
        "至急の物資要請": "0 / 0",
    }
    board = at.dataframe[0].value
    top = board.iloc[0]
    assert (top["状況"], top["避難者"], top["収容人数"], top["収容率"]) == (
        "満員",
        5000,
        "約5,000",
        1.0,
    )
    assert set(board.loc[board["状況"] == "開設", "収容率"].round(2)) == {0.9, 0.7, 0.45, 0.1}
    assert (board["状況"] == "報告なし").sum() == 72
    # filters: only full shelters
    at.button_group(key="shelters_filter_status").set_value(["満員"]).run()
    assert list(at.dataframe[0].value["避難所"]) == ["大町スポーツ施設・調和小学校周辺"]


def test_negative_count_is_refused_with_a_message(monkeypatch, store_url):
    at = _choose(_page(monkeypatch, store_url), STAFF_SHELTER)
    _submit(_fill(at, STAFF_SHELTER, evacuees=-5, households=-1))
    assert not at.exception
    assert [e.value for e in at.error] == [
        "避難者数に負の数は入力できません。",
        "世帯数に負の数は入力できません。",
    ]
    assert len(_history(store_url, STAFF_SHELTER)) == 1  # nothing written


def test_over_capacity_is_saved_and_flagged(monkeypatch, store_url):
    at = _choose(_page(monkeypatch, store_url), STAFF_SHELTER)
    _fill(at, STAFF_SHELTER, status="開設", evacuees=130, households=50)
    _submit(at)
    assert not at.exception
    assert [s.value for s in at.success] == ["下石原地域福祉センター を更新しました（第2版）。"]
    assert [w.value for w in at.warning] == [
        "避難者数 130人が収容人数 約100人を超えています。保存しましたが、"
        "「満員」への変更や他の避難所への案内を検討してください。"
    ]
    history = _history(store_url, STAFF_SHELTER)
    last = history.iloc[-1]
    assert (last["version"], last["evacuees"], last["households"]) == (2, 130, 50)
    assert last["reported_by"] == "operator"
    board = at.dataframe[0].value.set_index("避難所")
    assert board.loc["下石原地域福祉センター", "収容率"] == pytest.approx(1.3)


def test_the_form_asks_for_supplies_only_as_requests_and_keeps_an_imported_needs_list(
    monkeypatch, store_url
):
    # a needs list from another system's file (an import: no base version)
    store = open_store(store_url)
    store.update_shelter_status(
        STAFF_SHELTER, {"needs": ["water", "blankets"]}, base_version=None, actor="import"
    )
    store.dispose()
    at = _page(monkeypatch, store_url, user="staff")
    assert not at.exception
    # one way to ask for supplies on the form: no needs pills, the supply-request form
    keys = [w.key or "" for w in at.button_group]
    assert not [k for k in keys if k.endswith("_needs")], keys
    assert f"sup_item_{STAFF_SHELTER}" in keys
    assert "必要物資（タップで選択）" not in [w.label for w in at.button_group]
    # the board shows the stored list, marked as the report's (not tracked requests)
    [board] = [d.value.set_index("避難所") for d in at.dataframe if "物資要請" in d.value.columns]
    assert board.loc["下石原地域福祉センター", "物資要請"] == "報告：水・毛布"
    # a staff update keeps it
    _submit(_fill(at, STAFF_SHELTER, evacuees=48))
    assert not at.exception
    last = _history(store_url, STAFF_SHELTER).iloc[-1]
    assert (last["evacuees"], list(last["needs"]), last["reported_by"]) == (
        48, ["water", "blankets"], "staff",
    )  # fmt: skip
    # a supply request asked through the form is stored as a supply_requests row
    at.button_group(key=f"sup_item_{STAFF_SHELTER}").set_value("blankets")
    at.number_input(key=f"sup_qty_{STAFF_SHELTER}").set_value(20)
    at.button_group(key=f"sup_urgency_{STAFF_SHELTER}").set_value("urgent")
    [send] = [b for b in at.button if b.label == "要請を送信"]
    send.click().run()
    assert not at.exception
    store = open_store(store_url)
    try:
        requests = store.read("supply_requests")
    finally:
        store.dispose()
    assert requests[["shelter_id", "item", "quantity", "urgency", "state"]].values.tolist() == [
        [STAFF_SHELTER, "blankets", 20, "urgent", "requested"]
    ]


def test_stale_version_shows_the_conflict_and_confirm_keeps_both(monkeypatch, store_url):
    at = _choose(_page(monkeypatch, store_url), STAFF_SHELTER)  # form opened on version 1
    store = open_store(store_url)
    store.update_shelter_status(
        STAFF_SHELTER, {"status": "満員", "evacuees": 100}, base_version=1, actor="staff"
    )
    store.dispose()
    _submit(_fill(at, STAFF_SHELTER, status="開設", evacuees=60))
    assert not at.exception
    assert [w.value for w in at.warning] == ["この避難所は、フォームを開いた後に更新されました"]
    conflict = at.table[0].value.set_index("項目")
    assert conflict.loc["状況"].tolist() == ["満員", "開設"]
    assert conflict.loc["避難者数（人）"].tolist() == ["100", "60"]
    assert len(_history(store_url, STAFF_SHELTER)) == 2  # nothing written yet
    # Both changed the count: it is chosen per field; the status only staff changed is theirs.
    assert at.button(key="shelters_conflict_confirm").disabled
    at.radio(key="shelters_pick_evacuees").set_value("mine").run()
    result = at.table[1].value.set_index("項目")
    assert result.loc["状況"].tolist() == ["満員", "最新の値"]
    assert result.loc["避難者数（人）"].tolist() == ["60", "あなたの入力"]
    at.button(key="shelters_conflict_confirm").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["下石原地域福祉センター を更新しました（第3版）。"]
    history = _history(store_url, STAFF_SHELTER)
    assert history[["version", "status", "evacuees", "reported_by"]].values.tolist() == [
        [1, "開設", 45, None],
        [2, "満員", 100, "staff"],
        [3, "満員", 60, "operator"],  # before: 開設, the status staff set was overwritten unseen
    ]
    # the form now stands on version 3
    assert at.number_input(key=f"shf_{STAFF_SHELTER}_evacuees").value == 60


def test_stale_version_discard_keeps_the_newer_report(monkeypatch, store_url):
    at = _choose(_page(monkeypatch, store_url), STAFF_SHELTER)
    store = open_store(store_url)
    store.update_shelter_status(STAFF_SHELTER, {"evacuees": 77}, base_version=1, actor="staff")
    store.dispose()
    _submit(_fill(at, STAFF_SHELTER, evacuees=50))
    at.button(key="shelters_conflict_discard").click().run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        "入力を破棄しました。フォームには最新の値（第2版）が入っています。"
    ]
    assert at.number_input(key=f"shf_{STAFF_SHELTER}_evacuees").value == 77
    assert _history(store_url, STAFF_SHELTER)["evacuees"].tolist() == [45, 77]


def test_shelter_staff_update_only_their_shelter(monkeypatch, store_url):
    at = _page(monkeypatch, store_url, user="staff")
    assert not at.exception
    assert at.selectbox(key="shelters_selected").value == STAFF_SHELTER  # their own first
    assert len([b for b in at.button if b.label == "更新する"]) == 1
    _choose(at, "E1320800002")
    assert [b for b in at.button if b.label == "更新する"] == []
    assert "更新できる避難所が割り当てられていません（閲覧のみ）。" in [i.value for i in at.info]


def test_staff_write_is_checked_right_before_the_write(monkeypatch, store_url):
    from dashboard.shelters import data as shelters_data
    from geodata.access.roles import Forbidden, User

    staff = User("staff", "shelter_staff", shelter_ids=frozenset({STAFF_SHELTER}))
    monkeypatch.setattr("dashboard.auth.current_user", lambda: staff)
    with pytest.raises(Forbidden):  # whatever the page showed, another shelter is refused
        shelters_data.save_update(store_url, "E1320800002", {"evacuees": 1}, 1)
    assert len(_history(store_url, "E1320800002")) == 1
    new = shelters_data.save_update(store_url, STAFF_SHELTER, {"evacuees": 46}, 1)
    assert (new["version"], new["reported_by"]) == (2, "staff")


def test_viewer_sees_no_form(monkeypatch, store_url):
    at = _page(monkeypatch, store_url, user="viewer")
    assert not at.exception
    assert [b for b in at.button if b.label == "更新する"] == []
    assert "更新できる避難所が割り当てられていません（閲覧のみ）。" in [i.value for i in at.info]


def test_kiosk_shows_open_shelters_big_and_no_form(monkeypatch, store_url):
    at = _page(monkeypatch, store_url, user="viewer", kiosk="1")
    assert not at.exception
    assert len(at.dataframe) == 0 and len(at.selectbox) == 0
    table = at.table[0].value
    assert list(table.columns) == [
        "避難所",
        "状況",
        "避難者",
        "収容人数",
        "収容率",
        "経過",
    ]
    assert len(table) == 5  # the open and full shelters only
    assert table.iloc[0][["避難所", "状況", "避難者", "収容人数", "収容率"]].tolist() == [
        "大町スポーツ施設・調和小学校周辺",
        "満員",
        5000,
        "約5,000",
        1.0,
    ]
    assert any(m.value.startswith("最終更新") for m in at.markdown)
