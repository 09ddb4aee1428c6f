"""The safety wall's town table (``dashboard.safety.wall.town_rows``) on public counts.

Residents asking for rescue replied, so they are confirmed: a town of four rescue requests and
「3人未満」 unconfirmed used to be folded into 「ほか…（3人未満または秘匿）」 while the map beside
the table labelled it 「要救助 4」.
"""

from __future__ import annotations

import pandas as pd

from dashboard.safety.wall import town_rows

SMALL, WITHHELD = "3人未満", "秘匿"
TOWNS = pd.DataFrame(
    [  # town_code, name, residents, replied, needs_help, unconfirmed (as published)
        ("132080010", "国領町一丁目", 12, 9, SMALL, 3),
        ("132080020", "布田二丁目", WITHHELD, 9, 4, SMALL),  # rescue requests, few unconfirmed
        ("132080030", "小島町三丁目", 20, 10, SMALL, 10),
        ("132080040", "下石原一丁目", 9, 9, SMALL, SMALL),  # small counts only
        ("132080050", "染地二丁目", 8, 8, 0, 0),  # nothing to say
        ("132080060", "多摩川五丁目", 15, 8, 3, 7),
        ("132080070", "入間町一丁目", WITHHELD, WITHHELD, WITHHELD, WITHHELD),
    ],
    columns=["town_code", "name", "residents", "replied", "needs_help", "unconfirmed"],
)


def test_towns_asking_for_rescue_come_first_then_the_most_unconfirmed():
    rows = town_rows(TOWNS, "ja")
    assert list(rows.columns) == ["町丁目", "名簿登録者", "回答あり", "要救助・負傷", "安否未確認"]
    assert rows["町丁目"].tolist() == [
        "布田二丁目",  # 4 asking for rescue
        "多摩川五丁目",  # 3 asking for rescue
        "小島町三丁目",  # 10 unconfirmed
        "国領町一丁目",  # 3 unconfirmed
        "ほか 2町丁目（3人未満または秘匿）",  # 下石原一丁目 and 入間町一丁目; not 染地二丁目
    ]
    assert rows.iloc[0].tolist() == ["布田二丁目", WITHHELD, "9", "4", SMALL]
    assert rows.iloc[-1].tolist()[1:] == ["", "", "", ""]


def test_in_english_and_without_any_small_count():
    published = TOWNS[TOWNS["name"].isin(["多摩川五丁目", "染地二丁目"])]
    rows = town_rows(published, "en")
    assert rows.iloc[:, 0].tolist() == ["多摩川五丁目"]  # no "more towns" row, no zero row
    assert rows.iloc[0, 3:].tolist() == ["3", "7"]
    assert rows.columns[3] == "Rescue / injured"
