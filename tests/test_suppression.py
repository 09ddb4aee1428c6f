"""Small-count suppression: no count of 1–2 persons can be worked out from a published table.

Checked two ways: with the module's own reasoning (:func:`exposed`) and, on small tables, by
brute force — every table of counts that agrees with what is published is enumerated, and each
hidden count of 1–2 must take at least two values among them.
"""

from __future__ import annotations

import random

import pandas as pd

from geodata.export.public import SMALL, WITHHELD, suppress_counts
from geodata.export.suppression import exposed, suppress

ROWS = (("residents", ("replied", "unconfirmed")),)


def table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["residents", "replied", "unconfirmed"])


def totals_of(frame: pd.DataFrame) -> dict[str, int]:
    return {c: int(frame[c].sum()) for c in frame.columns}


def readings(frame, hidden, totals, marks=None) -> dict[tuple, set[int]]:
    """Every value each hidden cell takes over all tables agreeing with the published facts.

    Facts: shown cells; a hidden cell below 3 is 3人未満 (0–2), another is 秘匿 (3 or more);
    residents = replied + unconfirmed in every row; the published column totals (one below 3 is
    known only to be 1 or 2). Cells are bounded by the true number of residents (a reader knows
    less, so this reader is if anything stronger). Rows are combined by dynamic programming over
    the column sums of replied and unconfirmed.
    """
    cap = int(frame["residents"].sum())

    def allowed(i, c):
        value = int(frame.at[i, c])
        if not hidden.at[i, c]:
            return range(value, value + 1)
        if marks is not None and marks.at[i, c] == WITHHELD and value < 3:
            return range(0, cap + 1)  # a table hidden whole: the mark says nothing of size
        if marks is not None and (marks == WITHHELD).to_numpy().all():
            return range(0, cap + 1)
        return range(0, 3) if value < 3 else range(3, cap + 1)

    options = []  # per row: the (replied, unconfirmed) it may hold
    for i in frame.index:
        residents = allowed(i, "residents")
        options.append(
            [
                (r, u)
                for r in allowed(i, "replied")
                for u in allowed(i, "unconfirmed")
                if r + u in residents
            ]
        )

    def fits(total, value):
        return total is None or (0 < value < 3 if 0 < total < 3 else value == total)

    n = len(options)
    forward = [{(0, 0)}]
    for row in options:
        forward.append(
            {
                (a + r, b + u)
                for a, b in forward[-1]
                for r, u in row
                if a + r <= cap and b + u <= cap
            }
        )
    backward = [set() for _ in range(n + 1)]
    backward[n] = {
        (a, b)
        for a, b in forward[n]
        if fits(totals.get("replied"), a)
        and fits(totals.get("unconfirmed"), b)
        and fits(totals.get("residents"), a + b)
    }
    for k in range(n - 1, -1, -1):
        backward[k] = {
            (a, b)
            for a, b in forward[k]
            for r, u in options[k]
            if (a + r, b + u) in backward[k + 1]
        }
    seen: dict[tuple, set[int]] = {}
    for k, i in enumerate(frame.index):
        for r, u in options[k]:
            if any((a + r, b + u) in backward[k + 1] for a, b in forward[k]):
                for column, value in (("replied", r), ("unconfirmed", u), ("residents", r + u)):
                    if hidden.at[i, column]:
                        seen.setdefault((i, column), set()).add(value)
    return seen


def test_a_lone_small_count_in_a_row_is_exposed_and_then_protected():
    frame = table([[5, 1, 4], [9, 6, 3], [8, 4, 4]])
    totals = totals_of(frame)
    only_primary = frame < 3
    assert exposed(frame, only_primary, totals, ROWS, 3)  # 5 - 4 = 1
    hidden, hidden_totals, _ = suppress(frame, totals, ROWS, threshold=3)
    assert not exposed(frame, hidden, totals, ROWS, 3, hidden_totals)
    values = readings(frame, hidden, totals)
    assert len(values[0, "replied"]) >= 2


def test_a_column_total_of_zero_does_not_expose_a_row():
    # nobody was reached by a follow-up anywhere: every town's 0 is known, so each town's
    # replied + unconfirmed = residents; the lone small replied must still be hidden in pairs
    frame = pd.DataFrame(
        {
            "residents": [5, 9, 8, 6],
            "replied": [1, 6, 4, 3],
            "reached": [0, 0, 0, 0],
            "unconfirmed": [4, 3, 4, 3],
        }
    )
    rows = (("residents", ("replied", "reached", "unconfirmed")),)
    totals = totals_of(frame)
    hidden, hidden_totals, _ = suppress(frame, totals, rows, threshold=3)
    assert hidden.at[0, "replied"] and hidden["reached"].all()
    assert not exposed(frame, hidden, totals, rows, 3, hidden_totals)
    cells, shown = suppress_counts(frame, totals)
    assert cells.at[0, "replied"] == SMALL and shown["reached"] == 0


def test_random_tables_by_brute_force():
    rng = random.Random(14)
    checked = 0
    for _ in range(80):
        rows = []
        for _ in range(rng.choice((2, 3, 4))):
            replied, unconfirmed = rng.randint(0, 5), rng.randint(0, 4)
            rows.append([replied + unconfirmed, replied, unconfirmed])
        frame = table(rows)
        totals = totals_of(frame)
        cells, shown = suppress_counts(frame, totals)
        hidden = cells.map(lambda v: isinstance(v, str))
        for value in cells.to_numpy().ravel():
            assert value in (SMALL, WITHHELD) or value >= 3
        published = {c: t for c, t in totals.items() if shown[c] != WITHHELD}
        published = {c: t for c, t in published.items() if not (shown[c] == SMALL and t == 0)}
        for (i, c), values in readings(frame, hidden, published, cells).items():
            if 0 < frame.at[i, c] < 3:
                assert len(values) >= 2, (rows, i, c, values)
                checked += 1
    assert checked > 30
