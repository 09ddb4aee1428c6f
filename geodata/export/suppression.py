"""Small-count suppression of a table of counts (primary and complementary cell suppression).

The public-output policy (:mod:`geodata.export.public`) publishes per-town counts of persons only
when no count from 1 to ``threshold - 1`` can be read or worked out from what is published. This
module decides which cells to hide:

- **primary**: every cell below ``threshold`` (zero included) is hidden, shown as the small mark;
- **complementary**: a reader knows more than the shown cells — each row's identity (the whole
  equals the sum of its parts, e.g. residents = replied + reached + unconfirmed), each column's
  published total, and that a small-marked cell lies in ``[0, threshold - 1]`` and a withheld
  one is at least ``threshold``. :func:`exposed` works out the range of every hidden cell from
  all of these together (interval propagation over the equations, repeated until nothing
  narrows); a hidden cell whose range shrinks to one value is exposed when that value is a small
  non-zero count. For each exposed cell one more cell of the equation that pinned it is hidden
  (else of its other equation; else a rectangle — a row partner, a partner row and their
  corner, the hypercube method of statistical offices): the smallest shown cell of at least
  ``2 * threshold - 2``, so the pair can shift by one within what the marks allow, the columns
  the reader needs most (``keep``) last. Repeated until nothing is exposed; a column with
  nothing left to give has its total withheld. A table with nothing left shown, or that still
  gives a count away (only tiny tables of small counts do), is hidden whole under one mark.

A zero that can be worked out is allowed, as statistical offices allow it: it counts no one.
(It can still tell something about a group — a published city total of 0 reached by follow-ups
says that nobody in any town was reached — which the HQ accepts by publishing that total.)
"""

from __future__ import annotations

import pandas as pd

Cell = tuple  # (row label, column) or ("total", column)


def suppress(
    values: pd.DataFrame,
    totals: dict[str, int],
    identities: tuple[tuple[str, tuple[str, ...]], ...],
    *,
    threshold: int,
    keep: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, set[str], bool]:
    """Which cells of ``values`` to hide, and which totals.

    Parameters
    ----------
    values : non-negative integer counts (one row per town).
    totals : the published total of some columns (as exact numbers; a total below
        ``threshold`` is taken as published as "fewer than threshold").
    identities : (whole, parts) column names with ``whole == sum(parts)`` in every row.
    threshold : counts below it are small.
    keep : columns to hide as complements only when no other will do, most important last
        (the figure a reader needs most stays shown where it can).

    Returns
    -------
    (hidden, hidden_totals, blank) : a boolean frame like ``values``, the columns whose total
        must be withheld too, and whether the table could not be protected cell by cell (a tiny
        table of small counts): then every cell is hidden under one mark that says nothing of
        its size, and the caller must not show small cells apart from the others.

    Examples
    --------
    >>> v = pd.DataFrame({"n": [5, 9], "a": [1, 6], "b": [4, 3]})
    >>> hidden, _, _ = suppress(v, {"n": 14, "a": 7, "b": 7}, (("n", ("a", "b")),), threshold=3)
    >>> hidden.to_dict("list")
    {'n': [True, False], 'a': [True, True], 'b': [True, True]}
    >>> exposed(v, hidden, {"n": 14, "a": 7, "b": 7}, (("n", ("a", "b")),), threshold=3)
    []
    """
    small = values < threshold
    hidden = small.copy()
    hidden_totals: set[str] = set()
    for _ in range(values.size):
        found = exposed(values, hidden, totals, identities, threshold, hidden_totals)
        if not found:
            break
        touched: set = set()
        for (row, column), pinned_by in found:
            if row in touched:
                continue  # this row changed in this pass: look again first
            cells = _give_way(values, hidden, pinned_by, threshold, keep)
            if not cells:
                other = _equation_of(values, totals, identities, row, column, not_=pinned_by)
                cells = _give_way(values, hidden, other, threshold, keep) if other else []
            if not cells:
                cells = _rectangle(values, hidden, row, column, identities, threshold, keep)
            if cells:
                for cell in cells:
                    hidden.at[cell] = True
                touched |= {cell[0] for cell in cells} | {row}
            else:  # nothing left to give in the table: withhold a total it is tied to
                ties = [
                    column,
                    *(c for w, ps in identities if column in (w, *ps) for c in (w, *ps)),
                ]
                spare = [c for c in ties if c in totals and c not in hidden_totals]
                if spare:
                    hidden_totals.add(spare[0])
                    touched.add(row)
        if not touched:
            break
    # Nothing shown (or a count still given away): the marks would only tell sizes apart.
    nothing_shown = bool(hidden.to_numpy().all())
    if nothing_shown or exposed(values, hidden, totals, identities, threshold, hidden_totals):
        return pd.DataFrame(True, index=values.index, columns=values.columns), hidden_totals, True
    return hidden, hidden_totals, False


def exposed(values, hidden, totals, identities, threshold, hidden_totals=()):
    """Hidden cells a reader can pin to one value that must not be known, with the equation
    that pinned each: a list of ((row, column), equation)."""
    equations = _equations(values, totals, identities, hidden_totals)
    lo, hi = _ranges(values, hidden, totals, threshold, hidden_totals)
    pinned_by: dict[Cell, list] = {}
    for _ in range(50):
        changed = False
        for eq in equations:
            plus, minus, const = eq
            p_lo, p_hi = sum(lo[v] for v in plus), sum(hi[v] for v in plus)
            m_lo, m_hi = sum(lo[v] for v in minus), sum(hi[v] for v in minus)
            bounds = [
                (v, const + m_lo - (p_hi - hi[v]), const + m_hi - (p_lo - lo[v])) for v in plus
            ]
            bounds += [
                (v, p_lo - const - (m_hi - hi[v]), p_hi - const - (m_lo - lo[v])) for v in minus
            ]
            for v, new_lo, new_hi in bounds:
                if new_lo > lo[v] or new_hi < hi[v]:
                    lo[v], hi[v] = max(lo[v], new_lo), min(hi[v], new_hi)
                    changed = True
                    if lo[v] == hi[v] and v not in pinned_by:
                        pinned_by[v] = eq
        if not changed:
            break
    out = []
    for (row, column), eq in pinned_by.items():
        if row == "total" or not hidden.at[row, column]:
            continue
        if 0 < int(values.at[row, column]) < threshold:
            out.append(((row, column), eq))
    return out


def _equations(values, totals, identities, hidden_totals) -> list:
    """Each known sum as (plus cells, minus cells, constant): sum(plus) - sum(minus) = const.

    Every column sums to its total (a variable: known when published); each identity holds in
    every row and therefore between the totals too, so a withheld total that the other totals
    give away is seen as known.
    """
    eqs = []
    for w, parts in identities:
        parts = [p for p in parts if p in values.columns]
        if w in values.columns and parts:
            eqs += [([(i, w)], [(i, p) for p in parts], 0) for i in values.index]
            eqs.append(([("total", w)], [("total", p) for p in parts], 0))
    for column in values.columns:
        eqs.append(([(i, column) for i in values.index], [("total", column)], 0))
    return eqs


def _ranges(values, hidden, totals, threshold, hidden_totals):
    """What a reader knows of each cell and total before any reasoning: [lo, hi]."""
    big = int(values.to_numpy().sum()) + sum(totals.values()) + 1
    lo: dict[Cell, int] = {}
    hi: dict[Cell, int] = {}
    for row in values.index:
        for column in values.columns:
            value = int(values.at[row, column])
            if not hidden.at[row, column]:
                lo[row, column] = hi[row, column] = value
            elif value < threshold:
                lo[row, column], hi[row, column] = 0, threshold - 1
            else:
                lo[row, column], hi[row, column] = threshold, big
    for column in values.columns:
        total = totals.get(column)
        if total is None:
            lo["total", column], hi["total", column] = 0, big
        elif column in hidden_totals:  # read as 秘匿 (3 or more) or, when small, 3人未満
            small = total < threshold
            lo["total", column] = 0 if small else threshold
            hi["total", column] = threshold - 1 if small else big
        elif 0 < total < threshold:
            lo["total", column], hi["total", column] = 1, threshold - 1
        else:
            lo["total", column] = hi["total", column] = int(total)
    return lo, hi


def _rectangle(values, hidden, row, column, identities, threshold, keep=()) -> list:
    """Cells to hide with ``(row, column)``: a row partner, a column partner and their corner."""
    pair_low = 2 * threshold - 2

    def rank(cell):
        """Cells that can give way by one in both directions first, the smallest of them."""
        value = int(values.at[cell])
        if value >= pair_low:
            return (1, value) if hidden.at[cell] else (0, value)
        if value >= threshold:
            return (2, value)
        return (3, value) if hidden.at[cell] and value > 0 else (4, value)

    same_row = [
        c
        for whole, parts in identities
        if column in (whole, *parts)
        for c in (whole, *parts)
        if c != column and c in values.columns
    ]

    def weight(c):  # the columns to keep shown come last
        return keep.index(c) + 1 if c in keep else 0

    partner = min(
        same_row, key=lambda c: (rank((row, c))[0], weight(c), rank((row, c))[1]), default=None
    )
    others = [r for r in values.index if r != row]
    wanted = [r for r in others if not hidden.at[r, column] or values.at[r, column] >= threshold]

    def row_rank(r):
        first = rank((r, column))
        corner = rank((r, partner)) if partner is not None else (0, 0)
        return (first[0] + corner[0], first[1] + corner[1])

    mate = min(wanted or others, key=row_rank, default=None)
    cells = [(row, partner)] if partner is not None else []
    if mate is not None:
        cells.append((mate, column))
        if partner is not None:
            cells.append((mate, partner))
    return [c for c in cells if not hidden.at[c]]


def _give_way(values, hidden, equation, threshold, keep) -> list:
    """One shown cell of ``equation`` to hide (empty when it has none): the smallest that can
    move by one both ways (at least ``2 * threshold - 2``), the columns of ``keep`` last."""
    plus, minus, _ = equation
    shown = [v for v in (*plus, *minus) if v[0] != "total" and not hidden.at[v]]
    if not shown:
        return []

    def rank(cell):
        value = int(values.at[cell])
        weight = keep.index(cell[1]) + 1 if cell[1] in keep else 0
        return (0 if value >= 2 * threshold - 2 else 1, weight, value)

    return [min(shown, key=rank)]


def _equation_of(values, totals, identities, row, column, not_):
    """Another equation holding the cell (its row's or its column's), or None."""
    for eq in _equations(values, totals, identities, ()):
        if eq is not_ or eq == not_:
            continue
        if (row, column) in eq[0] or (row, column) in eq[1]:
            return eq
    return None
