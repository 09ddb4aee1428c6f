"""One colour scheme for shelter statuses and occupancy: the board's table (desk and wall), the
interactive map and the printed situation map take each class's colour from one palette."""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from dashboard.maps import layers as maps
from dashboard.shelters import board as shelters_board
from dashboard.shelters import table as shelters_table
from geodata.export.map_style import SHELTER_CLASSES, SHELTER_PALETTE, SHELTER_STYLE

NOW = datetime(2026, 10, 12, 3, 0, tzinfo=UTC)
# class -> (status, evacuees, capacity) of a shelter of that class
CASES = {
    "occupancy_0": ("開設", 10, 100),
    "occupancy_1": ("開設", 40, 100),
    "occupancy_2": ("開設", 70, 100),
    "occupancy_3": ("開設", 90, 100),
    "open_unknown": ("開設", 10, None),
    "満員": ("満員", 100, 100),
    "閉鎖": ("閉鎖", 0, 100),
    "未開設": ("未開設", 0, 100),
    "報告なし": (None, None, 100),
}


def _board() -> pd.DataFrame:
    ids = list(CASES)
    shelters = gpd.GeoDataFrame(
        {
            "shelter_id": ids,
            "name": ids,
            "capacity": [c[2] for c in CASES.values()],
            "capacity_estimated": False,
        },
        geometry=[shapely.Point(139.55, 35.65)] * len(ids),
        crs=4326,
    )
    reported = [(k, c) for k, c in CASES.items() if c[0] is not None]
    status = pd.DataFrame(
        {
            "shelter_id": [k for k, _ in reported],
            "status": [c[0] for _, c in reported],
            "evacuees": [c[1] for _, c in reported],
            "reported_at": NOW,
            "version": 1,
        }
    )
    return shelters, status, shelters_board.board(shelters, status, NOW)


def test_every_class_is_a_case():
    assert set(CASES) == set(SHELTER_CLASSES)


@pytest.mark.parametrize("kiosk", [False, True])
def test_the_tables_colour_of_each_class_is_the_maps(kiosk):
    _, _, board = _board()
    css = shelters_table.cell_styles(board)
    html = shelters_table.styled(board, kiosk=kiosk).to_html()  # desk / wall table as drawn
    for i, rec in enumerate(board.to_dict("records")):
        cls = rec["shelter_id"]
        status_code = CASES[cls][0]
        fill = SHELTER_PALETTE[cls]["fill"]
        assert f"background-color: {fill};" in css["status"][i], (cls, css["status"][i])
        assert f"background-color: {fill}" in html, cls
        # the interactive map (and the wall's map) paints the marker the same
        occ = rec["occupancy"]
        occ = None if pd.isna(occ) else int(occ)
        assert maps.shelter_colour(status_code, occ) == fill, cls
        # the printed situation map too
        assert SHELTER_STYLE[cls]["color"] == fill, cls
        if cls.startswith("occupancy_"):
            assert f"background-color: {fill};" in css["rate"][i]


def test_the_map_features_carry_the_palettes_colours():
    shelters, status, _ = _board()
    group = maps.shelters_layer(shelters, status)
    layer = next(iter(group._children.values()))
    fills = {f["id"]: f["properties"]["fill"] for f in layer.data["features"]}
    assert fills == {cls: SHELTER_PALETTE[cls]["fill"] for cls in CASES}


def test_open_is_no_longer_a_blue_of_its_own():
    # The table painted 開設 solid blue while blue on the map meant "open, capacity unknown".
    _, _, board = _board()
    css = shelters_table.cell_styles(board)
    by_id = dict(zip(board["shelter_id"], css["status"], strict=True))
    blue = SHELTER_PALETTE["open_unknown"]["fill"]
    assert [cls for cls, style in by_id.items() if blue in style] == ["open_unknown"]


def test_the_wall_shows_care_and_supplies_columns_once_a_shelter_has_them():
    shelters, status, board = _board()
    wall = shelters_table.display_frame(board, kiosk=True)
    assert "要配慮者" not in wall.columns and "物資要請" not in wall.columns
    counted = status.assign(care_elderly=[12] + [None] * (len(status) - 1))
    requests = pd.DataFrame(
        [{"request_id": "r1", "version": 1, "shelter_id": "occupancy_2", "item": "water",
          "item_text": None, "quantity": 50, "unit": "本", "urgency": "urgent",
          "state": "requested", "requested_at": NOW, "source": "staff"}]
    )  # fmt: skip
    board = shelters_board.board(shelters, counted, NOW, requests=requests)
    wall = shelters_table.display_frame(board, kiosk=True)
    assert list(wall.columns)[5:7] == ["要配慮者", "物資要請"]  # after 収容率
    row = dict(zip(board["shelter_id"], wall.to_dict("records"), strict=True))
    assert row["occupancy_0"]["要配慮者"] == "12"
    assert row["occupancy_2"]["物資要請"] == "水 50本（至急）"
    css = shelters_table.cell_styles(board)
    by_id = dict(zip(board["shelter_id"], css["supplies"], strict=True))
    assert "#b30000" in by_id["occupancy_2"] and by_id["occupancy_1"] == ""
