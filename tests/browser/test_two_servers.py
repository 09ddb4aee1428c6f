"""Two dashboard servers behind one load balancer, reading one PostGIS store (issue 20).

A browser may reach either server: its login session (a random token stored hashed in the
store) must hold on both, and a write through one server must be on the other server's wall
screen within one refresh — the caches are keyed by data versions read from the store, not by
anything one server keeps to itself. No load balancer is needed to show it: cookies are per host,
not per port, so one browser context sends the same session to both loopback servers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from geodata import settings
from tests.accounts import ensure_accounts, session_cookie
from tests.browser.conftest import _instrument, add_shelter_reports, load_reference
from tests.browser.test_shelters import (
    REFRESH_SECONDS,
    STAFF_SHELTER,
    STAFF_SHELTER_NAME,
    evacuees_input,
    form_of,
    serve,
    submit_update,
)

pytestmark = pytest.mark.postgis
SLACK_SECONDS = 3  # the write must be on the other wall within one refresh + this


def _evacuees_kpi(page) -> int:
    """The shelters wall's total evacuees (its second KPI tile)."""
    value = page.get_by_test_id("stMetricValue").nth(1)
    value.wait_for(timeout=90_000)
    return int(value.inner_text().replace(",", "").strip())


def test_a_write_through_one_server_is_on_the_other_servers_wall_within_a_refresh(
    browser, pg_url, vendored_assets, tmp_path
):
    load_reference(pg_url, Path(settings.get("BOSAI_REFERENCE_DIR")))
    reports = add_shelter_reports(pg_url)
    ensure_accounts(pg_url, shelter_ids=[STAFF_SHELTER])
    before = int(reports[STAFF_SHELTER]["evacuees"])
    shared = {"BOSAI_SECRET_KEY": "two-servers-" + "k" * 40}  # as several hosts set it
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        serve(pg_url, tmp_path / "a", **shared) as server_a,
        serve(pg_url, tmp_path / "b", **shared) as server_b,
    ):
        # the wall screen is served by B, as a viewer
        wall_context = browser.new_context(viewport={"width": 1920, "height": 1080})
        wall_context.add_cookies([session_cookie(pg_url, "viewer", server_b)])
        wall = _instrument(wall_context)
        wall.goto(server_b + "/shelters?kiosk=1", wait_until="domcontentloaded")
        total = _evacuees_kpi(wall)
        assert total >= before

        # shelter staff on a tablet reach A; their one session holds on B as well
        staff_context = browser.new_context(viewport={"width": 1024, "height": 768})
        staff_context.add_cookies([session_cookie(pg_url, "staff", server_a)])
        tablet = _instrument(staff_context)
        tablet.goto(server_a + "/shelters", wait_until="domcontentloaded")
        form_of(tablet).get_by_role("button", name="更新する").wait_for(timeout=90_000)
        evacuees_input(tablet, STAFF_SHELTER).wait_for(timeout=60_000)
        submit_update(tablet, STAFF_SHELTER, before + 500)
        tablet.get_by_text(f"{STAFF_SHELTER_NAME} を更新しました", exact=False).wait_for(
            timeout=60_000
        )
        written = time.monotonic()

        # B never saw the write, yet its wall shows it within one refresh
        deadline = written + REFRESH_SECONDS + SLACK_SECONDS
        shown = total
        while time.monotonic() < deadline and shown != total + 500:
            wall.wait_for_timeout(250)
            shown = _evacuees_kpi(wall)
        assert shown == total + 500, (total, shown)

        # the staff session made for A opens B's shelter form too (no second login)
        other = staff_context.new_page()
        other.goto(server_b + "/shelters", wait_until="domcontentloaded")
        form_of(other).get_by_role("button", name="更新する").wait_for(timeout=90_000)
        assert other.locator("input[type=password]").count() == 0
        assert wall.offline.blocked == [] and tablet.offline.blocked == []
        wall_context.close()
        staff_context.close()
