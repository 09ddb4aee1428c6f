"""A wall table turns one page per refresh (dashboard/kiosk.py ``turn_page``): from the clock
when a screen opens it, then the next page at every refresh, whether its timer fires early or
late — the clock alone skipped a page when a refresh ran late and showed one twice when it ran
early."""

from __future__ import annotations

import random

import pytest

from dashboard.kiosk import turn_page

REFRESH = 30.0
T0 = 1_791_702_000.0  # 2026-10-11, a multiple of 60 intervals: page 0 of 2 to 6 pages


def _shown(times: list[float], pages: int) -> list[int]:
    last, out = None, []
    for seconds in times:
        page = turn_page(seconds, REFRESH, pages, last)
        last = (seconds, page, pages)
        out.append(page)
    return out


def _clock_only(times: list[float], pages: int) -> list[int]:
    return [int(s // REFRESH) % pages for s in times]


def _turns_one_by_one(shown: list[int], pages: int) -> bool:
    return all(b == (a + 1) % pages for a, b in zip(shown, shown[1:], strict=False))


@pytest.mark.parametrize("seed", range(5))
def test_refreshes_that_fire_early_or_late_show_every_page_in_turn(seed):
    rng = random.Random(seed)
    pages = 4
    # a screen whose refreshes fire near the clock's page boundary, each up to 0.4 s early or
    # late (a busy server, a slow rerun)
    times = [T0 + k * REFRESH + rng.uniform(-0.4, 0.4) for k in range(1, 41)]
    shown = _shown(times, pages)
    assert shown[0] == _clock_only(times, pages)[0]  # opened: the clock's page
    assert _turns_one_by_one(shown, pages), shown
    # the clock alone skips and repeats pages for the same refreshes
    assert not _turns_one_by_one(_clock_only(times, pages), pages)


def test_a_timer_that_drifts_later_every_refresh_never_skips_a_page():
    """A timer that starts again after each rerun: a 0.7 s rerun makes each interval 30.7 s.
    From the clock alone, about every 43rd refresh skipped a page."""
    pages = 3
    times = [T0 + 5 + k * (REFRESH + 0.7) for k in range(100)]
    shown = _shown(times, pages)
    assert _turns_one_by_one(shown, pages)
    clock = _clock_only(times, pages)
    assert any(b == (a + 2) % pages for a, b in zip(clock, clock[1:], strict=False))


def test_screens_opened_together_show_the_same_page_and_a_pause_or_new_count_takes_the_clock():
    pages = 5
    # two screens opened within one interval, their timers a few seconds apart
    a = _shown([T0 + 61 + k * REFRESH for k in range(6)], pages)
    b = _shown([T0 + 64 + k * REFRESH for k in range(6)], pages)
    assert a == b == [2, 3, 4, 0, 1, 2]
    # a rerun between refreshes keeps the page
    assert turn_page(T0 + 70, REFRESH, pages, last=(T0 + 61, 2, pages)) == 2
    # back after a pause (the screen slept, the server restarted): the clock's page
    assert turn_page(T0 + 300, REFRESH, pages, last=(T0 + 61, 2, pages)) == 0
    # the table grew to 6 pages: the clock's page of 6
    assert turn_page(T0 + 91, REFRESH, 6, last=(T0 + 61, 2, pages)) == 3
    # a clock set back: the clock's page
    assert turn_page(T0 + 31, REFRESH, pages, last=(T0 + 61, 2, pages)) == 1
