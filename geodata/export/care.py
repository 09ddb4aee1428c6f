"""要配慮者 (people needing care) counted at shelters, as they may be published.

A shelter's count of people needing care is a count of persons: published only above the
small-count threshold of the public-output policy (:data:`geodata.export.public.THRESHOLD`).
Publicly there is one figure per shelter report, the total (``care_total``); the counts per group
(高齢者, 乳幼児, 妊産婦 …) stay internal, because a total beside its parts lets a reader work
out a small part (5 in all, 4 elderly: the fifth is the one pregnant woman of that shelter).
With no parts published, primary suppression (:func:`geodata.export.suppression.suppress` with
no identities) is all it takes. A report that counted nobody in any group stays blank: "not
counted" is not "fewer than 3".

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"care_elderly": [4, 1, None], "care_infants": [2, 1, None]})
>>> published_care(f)["care_total"].tolist()
[6, '3人未満', None]
"""

from __future__ import annotations

import pandas as pd

from geodata.export.suppression import suppress
from geodata.schema import CARE_COLUMNS
from geodata.shelters import care_total

PUBLIC_COLUMN = "care_total"


def published_care(frame: pd.DataFrame, *, threshold: int | None = None) -> pd.DataFrame:
    """``frame`` (shelter reports) with the per-group counts replaced by the published total.

    Parameters
    ----------
    frame : rows with ``care_*`` columns (shelter_status, or shelters with their status).
    threshold : counts below it read :data:`geodata.export.public.SMALL` (default: the policy's).

    Returns
    -------
    A copy without the ``care_<group>`` columns and with ``care_total``: an int of at least the
    threshold, the small mark, or None (not counted).
    """
    from geodata.export.public import SMALL, THRESHOLD

    threshold = THRESHOLD if threshold is None else threshold
    present = [c for c in CARE_COLUMNS if c in frame.columns]
    if not present:
        return frame
    totals = [care_total(rec) for rec in frame[present].to_dict("records")]
    counted = pd.Series([t is not None for t in totals], index=frame.index)
    values = pd.DataFrame({PUBLIC_COLUMN: [t or 0 for t in totals]}, index=frame.index)
    hidden, _, _ = suppress(values, {}, (), threshold=threshold)
    cells = [
        None if not ok else (SMALL if hide else int(v))
        for ok, hide, v in zip(counted, hidden[PUBLIC_COLUMN], values[PUBLIC_COLUMN], strict=True)
    ]
    out = frame.drop(columns=present).copy()
    out[PUBLIC_COLUMN] = pd.Series(cells, index=frame.index, dtype=object)
    return out
