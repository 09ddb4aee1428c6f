"""A child process whose peak RSS is measured: ``python -m benchmarks.rss_probe MODE URL``.

MODE ``idle`` imports what the app imports (Streamlit, AppTest, the dashboard) and stops;
``pages`` then runs every page of the navigation through AppTest, logged in as the benchmark
admin, twice (the second round is served from the caches, as a rerun is) — the app's own code
loads what each page shows, so the probe follows the pages as they change. Prints one JSON line:
``{"mode", "peak_rss_mb", "rss_after_import_mb", "pages", "errors"}``.
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
    mode, url = argv[0], argv[1]
    os.environ.update(BOSAI_DB_URL=url, BOSAI_TILES="none", BOSAI_TILE_URL="", BOSAI_LANG="ja")
    import geopandas  # noqa: F401
    import streamlit  # noqa: F401
    from streamlit.testing.v1 import AppTest

    import dashboard.data  # noqa: F401
    from benchmarks import app_server
    from benchmarks.bench_pages import page_files
    from benchmarks.common import ROOT

    after_import = _status_mb("VmRSS")
    pages, errors = page_files(), []
    if mode == "pages":
        for _ in range(2):
            at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=3600)
            app_server.login_apptest(at)
            at.run()
            for page in pages:
                at.switch_page(page)
                at.run()
                errors += [f"{page}: {e.value}"[:200] for e in at.exception]
    print(
        json.dumps(
            {
                "mode": mode,
                "peak_rss_mb": _peak_mb(),
                "rss_after_import_mb": after_import,
                "pages": pages,
                "errors": errors,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
