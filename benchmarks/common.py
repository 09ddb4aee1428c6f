"""What every benchmark shares: scales, figures, timing, and the stores the scenarios run on.

A benchmark is a function ``run(ws: Workspace, scales: list[Scale]) -> list[Figure]``. Each
:class:`Figure` holds one measured value *and* the baseline measured in the same run; the
report shows ``ratio = value / baseline``. Timings are the median of ``ws.repeats`` runs.

Stores are built once per run and scale in the workspace folder: the 調布市 reference layers
(``python -m ingest reference --no-download``), shelters padded with synthetic ones up to the
scale's count, then the drill (``ingest.drill.scenario.generate``): roster, LINE replies, shelter
status and field reports through ``load_into_store`` (the field reports then joined to incidents
as the survey source does), and the SNS posts through the real ingest runner
(``ingest.runner.run_all`` with the real source classes, window by window: geocoded,
classified, copies marked as reposts, linked into incidents) — the store a real ingest fills, not
one with posts and no incidents. Anchored at the run's start (now floored to 10 minutes) so that
the dashboard's 1 h / 24 h windows hold the drill.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SEED = 0


@dataclass(frozen=True)
class Scale:
    """One scenario size: SNS posts of the 24 h drill, roster residents, shelters."""

    name: str
    posts: int
    roster: int
    shelters: int


SCALES = {
    "10k": Scale("10k", 10_000, 2_000, 80),
    "100k": Scale("100k", 100_000, 20_000, 500),
    "1m": Scale("1m", 1_000_000, 20_000, 500),
}
# --quick: a smoke check of every benchmark in a minute or two.
QUICK_SCALES = {"2k": Scale("2k", 2_000, 300, 80), "5k": Scale("5k", 5_000, 500, 80)}
TINY = Scale("tiny", 300, 60, 80)  # tests/test_benchmarks_smoke.py


def parse_scales(text: str | None, quick: bool) -> list[Scale]:
    """Scales from ``10k,100k,1m`` (or the quick ones); unknown names raise ValueError."""
    known = {**SCALES, **QUICK_SCALES, "tiny": TINY}
    if not text:
        return list((QUICK_SCALES if quick else SCALES).values())
    out = []
    for name in text.split(","):
        name = name.strip().lower()
        if name not in known:
            raise ValueError(f"unknown scale {name!r}; known: {', '.join(known)}")
        out.append(known[name])
    return out


@dataclass
class Figure:
    """One measured figure and its in-run baseline.

    ``better`` says which direction is good for ``value`` ("higher" for throughput, "lower" for
    time, bytes, memory). ``target`` is the issue's absolute target in ``unit`` (None: none);
    ``met`` is whether ``value`` meets it.
    """

    benchmark: str
    scale: str
    metric: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str
    better: str = "lower"
    target: float | None = None
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or self.value is None:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["met"] = self.met
        return out


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call, with the cyclic GC collected before."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float], object]:
    """Median seconds of ``repeats`` calls, every sample, and the last result."""
    samples, result = [], None
    for _ in range(max(1, repeats)):
        seconds, result = timed(fn)
        samples.append(seconds)
    return statistics.median(samples), samples, result


def env_info() -> dict:
    """Where and on what the figures were measured."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    return {
        "commit": commit + ("+dirty" if dirty else ""),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": [round(x, 2) for x in load],
    }


# -- stores -------------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def copy_sqlite(src: Path, dst: Path) -> None:
    """Copy a SQLite store file (checkpointed first, so the copy needs no -wal file)."""
    import sqlite3

    con = sqlite3.connect(src)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o600)  # app.py refuses to start on a store other users can read


def load_reference(url: str) -> None:
    """The 調布市 reference layers, through the ``ingest reference`` command (no download)."""
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", "reference", "--municipality", "13208",
         "--no-download", "--db", url, "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"ingest reference failed: {proc.stderr[-2000:]}")


def pad_shelters(store, count: int, seed: int = SEED) -> int:
    """Add synthetic shelters (random points in the towns) until the store holds ``count``.

    Returns the number added. Names are 「<town>第<n>避難所」 so the gazetteer grows with them, as
    it would with a real list of that size.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    have = store.count("shelters")
    missing = count - have
    if missing <= 0:
        return 0
    towns = store.read("towns")
    rng = np.random.default_rng([seed, 77])
    picks = rng.integers(0, len(towns), missing)
    rows, points = [], []
    for i, t in enumerate(picks):
        town = towns.iloc[int(t)]
        minx, miny, maxx, maxy = town.geometry.bounds
        for _ in range(100):
            p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if town.geometry.contains(p):
                break
        rows.append(
            {
                "shelter_id": f"BENCH{i + 1:05d}",
                "city_code": "13208",
                "name": f"{town['name']}第{i + 1}避難所",
                "kind": "shelter",
                "capacity": int(rng.integers(50, 800)),
                "capacity_estimated": True,
                "town_code": town["town_code"],
                "source": "benchmark",
            }
        )
        points.append(p)
    frame = gpd.GeoDataFrame(rows, geometry=points, crs=4326)
    store.upsert("shelters", frame, source="benchmark")
    return missing


def link_field_reports(store) -> int:
    """Join the stored field reports to incidents, as the survey source and the field form do
    (``geodata.incidents.link_and_store`` in one transaction with the upsert)."""
    from geodata.incidents import link_stored

    result = link_stored(store, "field_reports", source="benchmark")
    return 0 if result is None else result.inserted + result.updated + result.unchanged


def count_reposts(url: str) -> int:
    """Posts stored as a copy of another (``repost_of`` set by the ingest's dedupe)."""
    import sqlite3

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return int(
            con.execute("SELECT count(*) FROM posts WHERE repost_of IS NOT NULL").fetchone()[0]
        )
    finally:
        con.close()


@dataclass
class ScenarioStore:
    """A store filled with the drill at one scale."""

    scale: Scale
    url: str
    anchor: object  # pandas Timestamp (UTC): the drill's "now"
    seconds_to_build: float
    counts: dict


class Workspace:
    """Temporary files, stores and the PostGIS cluster of one benchmark run."""

    def __init__(self, root: Path | None = None, repeats: int = 3, budget: float = 120.0,
                 quick: bool = False, log: Callable[[str], None] | None = None,
                 reuse: bool = False, options: dict | None = None):  # fmt: skip
        self.reuse = reuse  # reuse SQLite scenario stores a kept earlier run left in ``root``
        # options of single benchmarks (``--cities``, ``--sessions`` of the area benchmark)
        self.options = dict(options or {})
        self.root = Path(root or tempfile.mkdtemp(prefix="bosai-bench-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.repeats = repeats
        self.budget = budget  # seconds a benchmark may spend on one slow measurement
        self.quick = quick
        self._log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._reference: Path | None = None
        self._stores: dict[tuple[str, str], ScenarioStore] = {}
        self._pg = None
        self._pg_error: str | None = None
        from ingest.drill.scenario import default_anchor

        self.anchor = default_anchor()
        if reuse:  # the drills of this run must line up with the reused stores
            for sidecar in sorted(self.root.glob("drill-*.json")):
                import pandas as pd

                self.anchor = pd.Timestamp(json.loads(sidecar.read_text("utf-8"))["anchor"])
                break

    def log(self, msg: str) -> None:
        self._log(f"[bench {time.strftime('%H:%M:%S')}] {msg}")

    # -- reference layers ---------------------------------------------------------------------

    def reference_sqlite(self) -> Path:
        """A SQLite file holding only the reference layers (copy it, never write to it)."""
        if self._reference is None:
            path = self.root / "reference.sqlite"
            self.log("loading the 調布市 reference layers")
            load_reference(sqlite_url(path))
            self._reference = path
        return self._reference

    def fresh_sqlite(self, name: str, shelters: int | None = None) -> str:
        """URL of a new SQLite store with the reference layers (and padded shelters)."""
        path = self.root / f"{name}.sqlite"
        copy_sqlite(self.reference_sqlite(), path)
        url = sqlite_url(path)
        if shelters:
            from geodata.store.core import open_store

            store = open_store(url)
            pad_shelters(store, shelters)
            store.dispose()
        return url

    def fresh_copy(self, url: str, name: str) -> str:
        """URL of a private copy of the SQLite store at ``url`` (for benchmarks that write)."""
        path = self.root / f"{name}.sqlite"
        copy_sqlite(Path(url.removeprefix("sqlite:///")), path)
        return sqlite_url(path)

    # -- PostGIS ------------------------------------------------------------------------------

    def postgis_url(self, owner_role: bool = False) -> str | None:
        """URL of a new empty PostGIS database (None when PostgreSQL/PostGIS is missing).

        ``owner_role``: the database is owned by, and the URL logs in as, a role without
        superuser (as in production: row-level security holds for it), when the cluster is the
        throwaway one (with ``BOSAI_TEST_PG_URL`` the URL's own role)."""
        if self._pg is None and self._pg_error is None:
            sys.path.insert(0, str(ROOT))
            try:
                from tests.pg_cluster import PgCluster

                self.log("starting a throwaway PostGIS cluster")
                self._pg = PgCluster.start()
            except Exception as exc:  # noqa: BLE001 - reported in the results
                self._pg_error = f"{type(exc).__name__}: {exc}"
        if self._pg is None:
            return None
        if owner_role and self._pg.proc_dir is not None:
            return self._pg.database_of_ordinary_role(postgis=True)
        return self._pg.new_database()

    @property
    def postgis_error(self) -> str | None:
        return self._pg_error

    # -- scenario stores ------------------------------------------------------------------------

    def scenario(self, scale: Scale, backend: str = "sqlite") -> ScenarioStore | None:
        """The store of ``scale`` on ``backend`` ("sqlite" or "postgis"), built on first use."""
        key = (scale.name, backend)
        if key not in self._stores:
            if backend == "sqlite":
                self._stores[key] = self._build_sqlite(scale)
            else:
                built = self._build_postgis(scale)
                if built is None:
                    return None
                self._stores[key] = built
        return self._stores[key]

    def _build_sqlite(self, scale: Scale) -> ScenarioStore:
        from geodata.store.core import open_store
        from ingest.drill.scenario import generate, load_into_store

        sidecar = self.root / f"drill-{scale.name}.json"
        if self.reuse and sidecar.exists():
            import pandas as pd

            saved = json.loads(sidecar.read_text("utf-8"))
            self.log(f"reusing the {scale.name} drill store (anchor {saved['anchor']})")
            return ScenarioStore(scale, saved["url"], pd.Timestamp(saved["anchor"]),
                                 saved["seconds"], saved["counts"])  # fmt: skip
        started = time.perf_counter()
        url = self.fresh_sqlite(f"drill-{scale.name}", scale.shelters)
        self.log(f"building the {scale.name} drill store ({scale.posts:,} posts)")
        drill = generate(SEED, scale.posts, scale.roster, anchor=self.anchor)
        store = open_store(url)
        # Everything but the posts as the drill's loader writes it; the field reports then
        # joined to incidents as the survey source does (link_and_store) ...
        results = load_into_store(drill, store, posts=False)
        link_field_reports(store)
        store.dispose()
        # ... and the posts through the real ingest runner (normalize, geocode, classify, dedupe
        # into reposts, incidents), window by window, as `python -m ingest run` would store them.
        from benchmarks.bench_ingest import run_pipeline

        fed = run_pipeline(url, drill)
        store = open_store(url)
        counts = {layer: store.count(layer) for layer in ("posts", "incidents", "roster",
                                                          "shelters", "safety_replies",
                                                          "shelter_status", "field_reports")}  # fmt: skip
        store.dispose()
        counts["reposts"] = count_reposts(url)
        del drill
        gc.collect()
        seconds = time.perf_counter() - started
        rejected = sum(r.get("rejected", 0) for r in results.values())
        self.log(
            f"  built in {seconds:.0f} s (runner {fed['seconds']:.0f} s for {fed['posts']:,} "
            f"posts{'; failures: ' + '; '.join(fed['failures']) if fed['failures'] else ''}): "
            f"{counts}, rejected {rejected}"
        )
        write_json(sidecar, {"url": url, "anchor": self.anchor.isoformat(), "seconds": seconds,
                             "counts": counts})  # fmt: skip
        return ScenarioStore(scale, url, self.anchor, seconds, counts)

    def _build_postgis(self, scale: Scale) -> ScenarioStore | None:
        """The PostGIS twin of the SQLite scenario: reference layers, shelters and posts."""
        import pandas as pd

        from geodata.store.core import open_store

        url = self.postgis_url()
        if url is None:
            return None
        source = self.scenario(scale, "sqlite")
        started = time.perf_counter()
        self.log(f"copying the {scale.name} posts into PostGIS")
        load_reference(url)
        src, dst = open_store(source.url), open_store(url)
        pad = src.read("shelters", where={"source": "benchmark"})
        if len(pad):
            dst.upsert("shelters", pad, source="benchmark")
        t0 = source.anchor - pd.Timedelta(hours=25)
        step = pd.Timedelta(hours=1)
        for h in range(26):
            part = src.read("posts", since=t0 + h * step, until=t0 + (h + 1) * step)
            if len(part):
                dst.upsert("posts", part, source="benchmark")
        counts = {"posts": dst.count("posts"), "shelters": dst.count("shelters")}
        src.dispose()
        dst.dispose()
        seconds = time.perf_counter() - started
        self.log(f"  copied in {seconds:.0f} s: {counts}")
        return ScenarioStore(scale, url, source.anchor, seconds, counts)

    def close(self, keep: bool = False) -> None:
        """Stop PostGIS and remove the temporary files (unless ``keep``)."""
        if self._pg is not None:
            self._pg.stop()
            self._pg = None
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8")
