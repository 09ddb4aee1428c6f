"""A child process whose peak RSS is measured: ``python -m benchmarks.rss_probe MODE URL HOURS``.

MODE ``idle`` imports what the dashboard imports and stops; ``dashboard`` then loads the store's
layers through ``dashboard.data`` as the pages do — every loader the pages call, with the widest
time window (``HOURS``), twice (the second call is a cache hit, as on a rerun). Prints one JSON
line: ``{"mode", "peak_rss_mb", "rss_after_import_mb", "rows"}``.
"""

from __future__ import annotations

import json
import os
import resource
import sys


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def _peak_mb() -> float:
    # VmHWM belongs to this process image. getrusage's ru_maxrss does not: after fork + exec
    # it starts from the parent's RSS at the fork (a benchmark parent holding a 1M drill).
    try:
        return _status_mb("VmHWM")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    mode, url, hours = argv[0], argv[1], float(argv[2])
    os.environ["BOSAI_DB_URL"] = url
    import geopandas  # noqa: F401
    import streamlit  # noqa: F401

    from dashboard import data

    after_import = _status_mb("VmRSS")
    rows: dict[str, int] = {}
    if mode == "dashboard":
        for _ in range(2):
            version = data.data_version(url)
            towns = data.load_towns(url, data.municipality_code(), version)
            area = tuple(float(v) for v in towns.total_bounds)
            rows["towns"] = len(towns)
            rows["hazard_areas"] = len(data.load_layer(url, "hazard_areas", None, version, area))
            rows["shelters"] = len(data.load_layer(url, "shelters", None, version, area))
            rows["shelter_status"] = len(data.load_shelter_status(url, version))
            for layer in ("posts", "safety_replies", "field_reports", "incidents"):
                rows[layer] = len(data.load_layer(url, layer, hours, version))
            rows["roster"] = len(data.load_layer(url, "roster", None, version))
    print(
        json.dumps(
            {
                "mode": mode,
                "peak_rss_mb": _peak_mb(),
                "rss_after_import_mb": after_import,
                "rows": rows,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
