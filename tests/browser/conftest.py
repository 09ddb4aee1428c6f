"""Browser-test harness: a store with the 調布市 reference layers, a Streamlit server, Chromium.

Chromium (Debian's /usr/bin/chromium) is driven by Playwright with every request routed: only
loopback hosts are allowed; any other request is aborted and recorded, so a test can assert the
dashboard works with the internet down.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
ARTIFACTS = ROOT / "test-artifacts"
MUNICIPALITY = "13208"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_reference(db_url: str, reference_dir: Path) -> dict:
    """Fill the store with the 調布市 reference layers.

    Uses ``python -m ingest reference`` when that command exists, else a minimal loader of the
    same files (towns, flood-hazard areas in the town area, designated shelters).
    """
    if (ROOT / "ingest" / "commands" / "reference.py").exists():
        env = {**os.environ, "BOSAI_REFERENCE_DIR": str(reference_dir)}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ingest",
                "reference",
                "--municipality",
                MUNICIPALITY,
                "--db",
                db_url,
                "--json",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode == 0:
            return {"loader": "ingest reference", "output": proc.stdout.strip()[-500:]}
        raise RuntimeError(f"ingest reference failed: {proc.stderr[-2000:]}")
    return _minimal_reference_load(db_url, reference_dir)


# Shelter reports covering every colour of the map: (status, share of capacity).
SHELTER_REPORTS = (
    ("開設", 0.1),
    ("開設", 0.45),
    ("開設", 0.7),
    ("開設", 0.9),
    ("満員", 1.0),
    ("閉鎖", 0.0),
)


def add_shelter_reports(db_url: str) -> dict[str, dict]:
    """Report a status for the first shelters with a capacity; returns shelter_id -> report."""
    import pandas as pd

    from geodata.store.core import open_store

    store = open_store(db_url)
    try:
        shelters = store.read("shelters", order="shelter_id")
        shelters = shelters[shelters["capacity"].notna()].head(len(SHELTER_REPORTS))
        now = pd.Timestamp.now(tz="UTC")
        rows = [
            {
                "shelter_id": sid,
                "reported_at": now,
                "status": status,
                "evacuees": int(round(capacity * share)),
                "source_id": f"browser-test-{i}",
            }
            for i, ((status, share), sid, capacity) in enumerate(
                zip(SHELTER_REPORTS, shelters["shelter_id"], shelters["capacity"], strict=False)
            )
        ]
        result = store.append_shelter_status(pd.DataFrame(rows), source="test:browser")
        assert result.rejected == 0, store.read_rejections(limit=5)
        return {r["shelter_id"]: r for r in rows}
    finally:
        store.dispose()


def _one_row_per_town(towns):
    """e-Stat splits some towns into several polygons with one KEY_CODE: make one MultiPolygon."""
    import geopandas as gpd
    import shapely

    rows = []
    for _, group in towns.groupby("town_code", sort=False):
        row = group.iloc[0].to_dict()
        parts = [p for g in group.geometry for p in getattr(g, "geoms", [g])]
        row["geometry"] = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        for col in ("population", "households", "area_m2"):
            row[col] = group[col].sum()
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=towns.crs)


def _minimal_reference_load(db_url: str, reference_dir: Path) -> dict:
    import geopandas as gpd
    import pandas as pd

    from geodata.store.core import open_store

    store = open_store(db_url)
    towns = gpd.read_file(reference_dir / "chofu" / "towns_r2ka13208.geojson")
    towns = towns.rename(
        columns={
            "KEY_CODE": "town_code",
            "S_NAME": "name",
            "JINKO": "population",
            "SETAI": "households",
            "CITY_NAME": "city_name",
            "AREA": "area_m2",
        }
    )
    towns["city_code"] = towns["town_code"].astype(str).str[:5]
    towns = _one_row_per_town(towns)
    counts = {"towns": store.upsert("towns", towns, source="test:reference").inserted}
    area = towns.union_all()
    flood = gpd.read_file(
        reference_dir / "hazard" / "flood_A31-12_13" / "A31-12_13.shp",
        bbox=tuple(gpd.GeoSeries([area], crs=4326).to_crs(4612).total_bounds),
    )
    flood = flood.to_crs(4326)
    flood = flood[flood.intersects(area)].reset_index(drop=True)
    flood["id"] = [f"A31-12_13:{i}" for i in flood.index]
    flood["kind"] = "flood"
    flood["source"] = "国土数値情報 A31-12_13"
    counts["hazard_areas"] = store.upsert("hazard_areas", flood, source="test:reference").inserted
    frames = []
    for kind, stem in (("shelter", "evacuation"), ("emergency_site", "emergency")):
        gdf = gpd.read_file(reference_dir / "shelters_gsi" / f"{stem}_132080.json")
        gdf = gdf.rename(
            columns={"共通ID": "shelter_id", "施設・場所名": "name", "住所": "address"}
        )
        gdf["kind"] = kind
        frames.append(gdf)
    shelters = pd.concat(frames, ignore_index=True)
    both = shelters.duplicated("shelter_id", keep=False)
    shelters.loc[both, "kind"] = "both"
    shelters = gpd.GeoDataFrame(shelters.drop_duplicates("shelter_id"), crs=4326)
    shelters["city_code"] = MUNICIPALITY
    counts["shelters"] = store.upsert("shelters", shelters, source="test:reference").inserted
    store.dispose()
    return {"loader": "minimal", **counts}


@pytest.fixture(scope="session")
def reference_store(tmp_path_factory) -> dict:
    """A SQLite store in a temporary folder holding the 調布市 reference layers."""
    from geodata import settings

    reference_dir = Path(settings.get("BOSAI_REFERENCE_DIR"))
    if not (reference_dir / "chofu").exists():
        pytest.skip(f"no reference data in {reference_dir} (../shared/data)")
    db = tmp_path_factory.mktemp("store") / "bosai.sqlite"
    url = f"sqlite:///{db}"
    summary = load_reference(url, reference_dir)
    statuses = add_shelter_reports(url)
    from tests.accounts import ensure_accounts

    passwords = ensure_accounts(url, shelter_ids=sorted(statuses)[:1])
    return {
        "url": url,
        "reference_dir": reference_dir,
        "summary": summary,
        "statuses": statuses,
        "passwords": passwords,
    }


@pytest.fixture(scope="session")
def vendored_assets() -> None:
    """static/vendor filled (scripts/vendor_assets.py is idempotent: fast when current)."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_assets.py")], cwd=ROOT, check=True
    )


REFRESH_SECONDS = 5  # the smallest interval settings.refresh_seconds() allows


@contextlib.contextmanager
def serve(db_url: str, workdir: Path, script: str = "streamlit_app.py", **env) -> Iterator[str]:
    """``streamlit run script`` on a free loopback port for ``db_url``; yields its URL.

    ``script``: ``streamlit_app.py`` (the frame) or ``app.py`` (the server ``make demo`` runs, with
    the session-cookie and tile routes). ``env`` overrides the settings below.
    """
    if shutil.which("streamlit", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("streamlit is not installed in this environment")
    port = _free_port()
    log = workdir / "server.log"
    environ = {
        **os.environ,
        "BOSAI_DB_URL": db_url,
        "BOSAI_TILES": "none",
        "BOSAI_TILE_URL": "",
        "BOSAI_LANG": "ja",
        "BOSAI_KIOSK": "0",
        "BOSAI_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "BOSAI_UPLOADS_DIR": str(workdir / "uploads"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **env,
    }
    cmd = [str(Path(sys.executable).parent / "streamlit"), "run", script,
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--server.fileWatcherType", "none"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def app_server(reference_store, vendored_assets, tmp_path_factory):
    """``streamlit run app.py`` on a free loopback port, tiles off; yields its base URL."""
    workdir = tmp_path_factory.mktemp("streamlit")
    with serve(reference_store["url"], workdir, script="app.py") as base:
        yield {"url": base, "log": workdir / "server.log", "store": reference_store}


def pick_options(page, select, names) -> None:
    """Pick ``names`` in the multiselect ``select`` with the mouse, as a user does, then close it.

    On a loaded machine the typed filter can lag the keys and the list be redrawn as it catches
    up: a pick that did not land is tried once more.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect

    for name in names:
        for attempt in range(2):
            select.locator("input").click()
            page.keyboard.type(name)
            option = page.get_by_role("option", name=name).first
            try:
                option.wait_for(timeout=30_000)
                option.click(timeout=15_000)
                expect(select).to_contain_text(name, timeout=15_000)
                break
            except (AssertionError, PlaywrightTimeoutError):
                if attempt:
                    raise
                page.keyboard.press("Escape")
    page.keyboard.press("Escape")


class Offline:
    """Requests the page tried to send off this machine, and console errors."""

    def __init__(self):
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.bad_responses: list[str] = []

    def route(self, route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")


@pytest.fixture
def make_page(browser, app_server):
    """Factory of pages logged in as a test account (admin unless ``user=`` says otherwise).

    ``user=None`` gives a page with no session (the login screen).
    """
    contexts = []

    def make(user: str | None = "admin", width: int = 1920, height: int = 1080):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP")
        contexts.append(context)
        if user:
            from tests.accounts import session_cookie

            context.add_cookies(
                [session_cookie(app_server["store"]["url"], user, app_server["url"])]
            )
        return _instrument(context)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_page):
    """A 1920×1080 page logged in as admin whose only network is loopback (``page.offline``)."""
    return make_page("admin")


def _instrument(context):
    """A new page of ``context`` whose only network is loopback; ``page.offline`` records the rest."""
    offline = Offline()
    context.route("**/*", offline.route)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: offline.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("requestfailed", lambda req: offline.failed.append(f"{req.url} {req.failure}"))
    page.on(
        "response",
        lambda resp: (
            offline.bad_responses.append(f"{resp.status} {resp.url}")
            if resp.status >= 400
            else None
        ),
    )
    page.offline = offline
    ARTIFACTS.mkdir(exist_ok=True)
    return page
