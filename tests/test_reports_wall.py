"""The 通報・SNS wall's table (dashboard/reports/wall.py ``table_section``): the most urgent
reports head every page and the next ones take turns below them, one page per refresh; a big
storm's hundreds of reports no longer take the wall half an hour to go round, and the note says
how many there are in all."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

T0 = pd.Timestamp("2026-10-12T03:00:00Z")


def _script():
    import geopandas as gpd
    import pandas as pd
    import streamlit as st

    from dashboard.reports import view, wall

    n = 100  # ranked: the i-th has 100 - i pieces
    incidents = pd.DataFrame({
        "category": ["浸水・冠水"] * n, "town_code": [None] * n,
        "urgency": [3] * 3 + [2] * (n - 3), "counts": [{"posts": n - i} for i in range(n)],
        "last_seen": [pd.Timestamp("2026-10-12T02:00:00Z")] * n,
    })  # fmt: skip
    empty = gpd.GeoDataFrame(geometry=[], crs=4326)
    ctx = view.Context(url="", towns=empty, boundaries=empty, names={}, lang="ja",
                       can_triage=False, show_author=False)  # fmt: skip
    wall.table_section(ctx, incidents, now=st.session_state["now"])


def test_the_most_urgent_head_every_page_and_the_next_sixty_take_turns():
    from dashboard.i18n import t
    from dashboard.reports import wall

    at = AppTest.from_function(_script, default_timeout=30)
    pieces = t("wall.col.pieces", lang="ja")
    pages, notes = [], []
    for k in range(11):  # eleven refreshes, 30 s apart
        at.session_state["now"] = T0 + pd.Timedelta(seconds=30 * k)
        at.run()
        assert not at.exception
        shown = [int(v) for v in at.table[0].value[pieces]]
        pages.append(shown)
        notes.append(at.markdown[-1].value)
    for shown in pages:
        assert shown[: wall.WALL_PINNED] == [100, 99, 98]  # the most urgent, on every page
        assert len(shown) == wall.WALL_ROWS
    turning = [shown[wall.WALL_PINNED :] for shown in pages]
    seen = [p for page in turning[:10] for p in page]
    # one round of ten pages shows the next sixty once each, and none beyond them
    assert sorted(seen) == list(range(38, 98)) and len(set(seen)) == 60
    assert turning[10] == turning[0]  # the eleventh refresh starts the round again
    assert "/ 10 ページ" in notes[0] and "上位63件（全100件）" in notes[0]
