"""Warm the server's caches when it starts, so the first session after a restart is as fast as
the next.

``streamlit run app.py`` starts :func:`start` from the app's lifespan (``app.py``): a daemon
thread imports what the pages import (geopandas, folium: seconds on the HQ's machine) and fills the overview's cached loaders — the reference layers and the common picture,
public (viewers, wall screens) and internal — through the very ``st.cache_data`` functions the
pages call, with the same keys, once Streamlit's runtime exists: for every municipality the
store serves (its towns' municipalities), the configured one (``BOSAI_MUNICIPALITY``) first.
When the store serves several municipalities, the area view's rows are computed too, one per
city (:class:`geodata.area.AreaCache`, shared by every area user). A session that arrives while
the thread still works waits on the same cache entry, not twice as long. Off with
``BOSAI_WARM_CACHES=0``; a failure is logged and changes nothing (the pages compute on demand).
"""

from __future__ import annotations

import threading
import time

from streamlit.logger import get_logger

log = get_logger(__name__)  # the server's log (streamlit's handler and level)
_STARTED = threading.Event()
RUNTIME_WAIT_S = 60.0


def enabled() -> bool:
    from dashboard import settings

    return str(settings.get("BOSAI_WARM_CACHES")).strip().lower() not in ("0", "false", "no", "")


def start() -> threading.Thread | None:
    """Start the warm-up thread once per process (None when off or already started)."""
    if _STARTED.is_set() or not enabled():
        return None
    _STARTED.set()
    thread = threading.Thread(target=_run, name="bosai-warm-caches", daemon=True)
    thread.start()
    return thread


def _runtime_ready(timeout: float = RUNTIME_WAIT_S) -> bool:
    from streamlit.runtime import Runtime

    deadline = time.monotonic() + timeout
    while not Runtime.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _run() -> None:
    started = time.perf_counter()
    try:
        if not _runtime_ready():
            log.warning("cache warm-up skipped: no Streamlit runtime after %.0f s", RUNTIME_WAIT_S)
            return
        done = warm()
        log.info("caches warmed in %.1f s: %s", time.perf_counter() - started, ", ".join(done))
    except Exception as exc:  # noqa: BLE001 - a failed warm-up only means a slower first session
        log.warning("cache warm-up failed: %s: %s", type(exc).__name__, exc)


def served_municipalities(store) -> list[str]:
    """The municipalities the deployment serves: the configured one (``BOSAI_MUNICIPALITY``)
    first, then every other municipality whose reference layers (towns) the store holds."""
    from geodata import settings
    from geodata.schema import MUNICIPALITY

    configured = settings.municipality()
    codes = store.read("towns", columns=[MUNICIPALITY])[MUNICIPALITY].dropna().astype(str)
    return [configured, *sorted(set(codes) - {configured})]


def warm(url: str | None = None) -> list[str]:
    """Fill the overview's caches for every municipality the store ``url`` (default
    ``BOSAI_DB_URL``) serves, the configured one first (:func:`served_municipalities`): each
    through the store scoped to it, with the keys its pages use. Returns what was done."""
    from dashboard import data, settings
    from geodata.store.core import scoped_url, split_scoped_url

    base, _scope = split_scoped_url(url or settings.db_url())
    done = []
    served = served_municipalities(data.get_store(base))
    for code in served:
        done += [f"{code} {part}" for part in warm_city(scoped_url(base, [code]), code)]
    if len(served) > 1:
        from dashboard import area as area_view
        from geodata.schema import now_utc

        store = data.get_store(scoped_url(base, served))
        area_view.cache(base).summary(store, now_utc())
        done.append(f"area view of {len(served)} municipalities")
    return done


def warm_city(url: str, code: str) -> list[str]:
    """Fill the overview's caches of municipality ``code`` (``url``: the store scoped to it)."""
    import pandas as pd

    from dashboard import data
    from dashboard import picture_data as common
    from dashboard.maps import layers  # noqa: F401 - folium, branca, the map layers
    from geodata.schema import now_utc

    # Not streamlit_folium (nor a module importing it: dashboard.kiosk, widgets, picture): a
    # component imported outside a script run is never registered and its frame answers 404.

    store = data.get_store(url)
    version = store.data_version()  # the city's own: keys its pages' entries
    ref = data.reference_layers(url, version, code)
    done = ["reference layers"]
    if ref.empty:
        return done
    # the key the overview uses (app_pages/overview.py): the 24 h window in 10-minute steps
    minute = pd.Timestamp(now_utc()).floor("10min").isoformat()
    for public in (True, False):
        common.load(url, version, public, minute, None)
        done.append("public picture" if public else "internal picture")
    return done
