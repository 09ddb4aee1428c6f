"""The warm-up at server start (dashboard/warm.py) fills the overview's caches of every
municipality the store serves, the configured one first, with the keys the pages use: after it,
a city's map layers and common picture are served without reading the store."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from geodata import area
from geodata.schema import LAYERS
from geodata.store.core import open_store, scoped_url
from tests.test_municipalities import CHOFU, KOGANEI, _area_store


def _layer_reads(engine, call) -> int:
    found = []

    def seen(_conn, _cursor, statement, *_args):
        text = statement.lower()
        if text.lstrip().startswith("select") and any(f"from {n}" in text for n in LAYERS):
            found.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    return len(found)


def test_every_served_city_is_warmed_the_configured_one_first(sqlite_url, monkeypatch):
    from dashboard import area as area_view
    from dashboard import data, warm
    from dashboard import picture_data as common
    from geodata.schema import now_utc

    store = open_store(sqlite_url)
    _area_store(store)
    store.dispose()
    monkeypatch.setenv("BOSAI_DB_URL", sqlite_url)
    monkeypatch.setenv("BOSAI_MUNICIPALITY", KOGANEI)
    data.load_towns.clear()
    data.load_layer.clear()
    data.load_shelter_status.clear()
    common.load.clear()
    area_view.cache.clear()
    served = warm.served_municipalities(data.get_store(sqlite_url))
    assert served == [KOGANEI, CHOFU]  # the configured city first, then the store's others

    done = warm.warm()
    assert [d.split()[0] for d in done if d.endswith("reference layers")] == [KOGANEI, CHOFU]
    assert f"{CHOFU} internal picture" in done and f"{KOGANEI} public picture" in done

    minute = pd.Timestamp(now_utc()).floor("10min").isoformat()
    engine = data.get_store(sqlite_url).engine
    for code in served:
        url = scoped_url(sqlite_url, [code])
        version = data.get_store(url).data_version()

        def page(url=url, version=version, code=code):  # what the overview of the city reads
            ref = data.reference_layers(url, version, code)
            assert set(ref.towns["town_code"].str[:5]) == {code}
            for public in (True, False):
                common.load(url, version, public, minute, None)

        assert _layer_reads(engine, page) == 0, code  # served from the warmed caches
    # a city whose entries were not warmed reads the store (the count above means something)
    other = scoped_url(sqlite_url, [CHOFU, KOGANEI])
    assert _layer_reads(engine, lambda: common.load(other, 0, True, minute, None)) > 0
    # the area view's rows: an area user's first look computes no city
    assert done[-1] == "area view of 2 municipalities"
    cached = area_view.cache(sqlite_url)
    cached.summary(data.get_store(other), now_utc())
    assert cached.last == []
    cold = area.AreaCache()  # not warmed: both cities computed (the check above means something)
    cold.summary(data.get_store(other), now_utc())
    assert cold.last == [CHOFU, KOGANEI]
