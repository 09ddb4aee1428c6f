"""Several ingest processes against one PostGIS store make what one process makes.

Three worker processes (one per group of the drill's sources, as ``python -m ingest run --loop
--sources …`` runs them) ingest the drill at once; a single process ingests the same drill into
a fresh database. Posts, ``repost_of``, incidents and their members must be equal as sets.
Incident ids are part of the comparison: they are derived from each incident's first piece in
time order, so they are equal too.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from pathlib import Path

import pytest

from geodata.incidents import with_members
from geodata.store.core import open_store
from ingest.cli import main
from ingest.drill.ingest import PREFIX, DrillAPIServer, drill_sources
from ingest.drill.scenario import FIXED_ANCHOR, generate, write_payloads
from ingest.runner import run_all
from tests.test_runner import _write_config

FIRST = [f"{PREFIX}roster", f"{PREFIX}shelter-status"]  # looked up by the others
GROUPS = [
    [f"{PREFIX}mastodon", f"{PREFIX}line"],
    [f"{PREFIX}bluesky", f"{PREFIX}field-reports", f"{PREFIX}jma"],
    [f"{PREFIX}posts-file", f"{PREFIX}river-levels"],
]


def _run_group(url: str, out: str, api_url: str, names: list[str], start=None) -> list[dict]:
    """Run the drill sources ``names`` into the store at ``url`` (a worker's whole life)."""
    store = open_store(url, migrate=False)
    try:
        sources = [s for s in drill_sources(Path(out), api_url) if s.name in names]
        if start is not None:
            start.wait(60)
        return run_all(store, sources, from_start=True)
    finally:
        store.dispose()


def _worker(url, out, api_url, names, start, results) -> None:
    results.put([(r["source"], r["ok"], r.get("error")) for r in
                 _run_group(url, out, api_url, names, start)])  # fmt: skip


def state(url: str) -> dict[str, set]:
    """What the comparison looks at, as sets."""
    store = open_store(url, migrate=False)
    try:
        posts = store.read("posts", columns=["repost_of", "incident_id", "text"])
        incidents = with_members(store, store.read("incidents"))
        replies = store.read("safety_replies", columns=["status"])
        reports = store.read("field_reports", columns=["incident_id"])
    finally:
        store.dispose()
    return {
        "posts": set(zip(posts["platform"], posts["post_id"], strict=True)),
        "repost_of": {
            (p, i, r if isinstance(r, str) else None)
            for p, i, r in zip(
                posts["platform"], posts["post_id"], posts["repost_of"], strict=True
            )  # fmt: skip
        },
        "post_incident": {
            (p, i, r if isinstance(r, str) else None)
            for p, i, r in zip(
                posts["platform"], posts["post_id"], posts["incident_id"], strict=True
            )  # fmt: skip
        },
        "report_incident": set(zip(reports["source_id"], reports["incident_id"], strict=True)),
        "replies": set(zip(replies["source"], replies["source_id"], strict=True)),
        "incidents": {
            (i, c, str(f), str(la), u if u == u else None)
            for i, c, f, la, u in zip(
                incidents["incident_id"],
                incidents["category"],
                incidents["first_seen"],
                incidents["last_seen"],
                incidents["urgency"],
                strict=True,
            )  # fmt: skip
        },
        "members": {
            (i, layer, key)
            for i, ms in zip(incidents["incident_id"], incidents["members"], strict=True)
            for layer, key in ms
        },
    }


def differences(one: dict[str, set], many: dict[str, set]) -> dict[str, tuple[int, int]]:
    """Per compared set: (only in the single run, only in the parallel run)."""
    return {k: (len(one[k] - many[k]), len(many[k] - one[k])) for k in one}


def consistency(url: str) -> dict[str, int]:
    """Posts naming an incident whose members lack them, and members naming another incident."""
    store = open_store(url, migrate=False)
    try:
        posts = store.read("posts", columns=["incident_id"])
        incidents = with_members(store, store.read("incidents", columns=["category"]))
    finally:
        store.dispose()
    member_of = {}
    for inc, ms in zip(incidents["incident_id"], incidents["members"], strict=True):
        for layer, key in ms:
            if layer == "posts":
                member_of.setdefault(key, set()).add(inc)
    lacking = sum(
        1
        for p, i, inc in zip(
            posts["platform"], posts["post_id"], posts["incident_id"], strict=True
        )  # fmt: skip
        if isinstance(inc, str) and inc not in member_of.get(f"{p}:{i}", ())
    )
    twice = sum(1 for incs in member_of.values() if len(incs) > 1)
    return {"posts_missing_from_members": lacking, "posts_in_two_incidents": twice}


def _fresh(pg_cluster, reference_dir, capsys) -> str:
    url = pg_cluster.new_database()
    args = ["reference", "--municipality", "13208", "--no-download", "--db", url,
            "--reference-dir", str(reference_dir)]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    return url


@pytest.mark.postgis
def test_three_workers_make_what_one_process_makes(pg_cluster, reference_dir, tmp_path, capsys):
    drill = generate(seed=0, posts=2000, roster=300, anchor=FIXED_ANCHOR,
                     reference_dir=reference_dir)  # fmt: skip
    out = tmp_path / "drill"
    write_payloads(drill, out)
    one_url = _fresh(pg_cluster, reference_dir, capsys)
    many_url = _fresh(pg_cluster, reference_dir, capsys)
    server = DrillAPIServer(out)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        names = FIRST + [n for g in GROUPS for n in g]
        single = _run_group(one_url, str(out), server.url, names)
        assert all(r["ok"] for r in single), [r["error"] for r in single if not r["ok"]]
        first = _run_group(many_url, str(out), server.url, FIRST)
        assert all(r["ok"] for r in first)
        ctx = mp.get_context("spawn")
        start, results = ctx.Barrier(len(GROUPS)), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(many_url, str(out), server.url, g, start, results))
            for g in GROUPS
        ]
        for p in procs:
            p.start()
        got = [results.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert all(ok for run in got for _, ok, _ in run), got
    one, many = state(one_url), state(many_url)
    assert len(one["posts"]) == 2000 and len(one["incidents"]) > 100
    assert consistency(many_url) == {"posts_missing_from_members": 0, "posts_in_two_incidents": 0}
    diff = differences(one, many)
    print("differences (only single, only parallel):", diff)
    assert diff == dict.fromkeys(one, (0, 0))


def test_run_sources_runs_only_the_named_sources(tmp_path, sqlite_url, capsys):
    config = _write_config(tmp_path)
    base = ["run", "--config", str(config), "--db", sqlite_url, "--json"]
    assert main([*base, "--sources", "survey"]) == 0
    store = open_store(sqlite_url)
    assert list(store.health()["source"]) == ["survey"]  # needs-a-token never ran
    assert store.count("field_reports") == 2
    store.dispose()
    capsys.readouterr()
    assert main([*base, "--sources", "survey, nope"]) != 0
    assert "no enabled source named nope" in capsys.readouterr().err


def _hold_the_lock(url: str, start, queue, scope=None, delay=0.0) -> None:
    store = open_store(url, migrate=False)
    if scope is not None:
        store = store.scoped(scope)
    start.wait(60)
    time.sleep(delay)
    with store.transaction():
        store.lock("incidents")
        got = time.time()
        store.record_health(f"holder-{got}", ok=True)  # a write: SQLite's lock is the writer's
        time.sleep(1.0)
        queue.put((scope, got, time.time()))
    store.dispose()


def test_the_incidents_lock_serialises_processes(store, store_url):
    ctx = mp.get_context("spawn")
    start, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_hold_the_lock, args=(store_url, start, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    spans = sorted(queue.get(timeout=120)[1:] for _ in procs)
    for p in procs:
        p.join(30)
    (_, first_released), (second_got, _) = spans
    assert second_got >= first_released - 0.05  # the second waited for the first's commit


@pytest.mark.postgis
def test_the_incidents_lock_is_per_municipality(pg_url):
    """Ingest workers of two cities link at once; two of one city take turns; a writer over
    every city (unscoped) waits for all of them, and they for it."""
    open_store(pg_url).dispose()
    ctx = mp.get_context("spawn")
    holders = [(["13208"], 0.0), (["13209"], 0.3), (["13208"], 0.3), (None, 0.6)]
    start, queue = ctx.Barrier(len(holders)), ctx.Queue()
    procs = [ctx.Process(target=_hold_the_lock, args=(pg_url, start, queue, scope, delay))
             for scope, delay in holders]  # fmt: skip
    for p in procs:
        p.start()
    spans = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    chofu = sorted((got, released) for scope, got, released in spans if scope == ["13208"])
    (komae,) = [(got, released) for scope, got, released in spans if scope == ["13209"]]
    (everyone,) = [(got, released) for scope, got, released in spans if scope is None]
    first, second = chofu
    assert komae[0] < first[1] - 0.3  # the other city did not wait for 調布市's linking
    assert second[0] >= first[1] - 0.05  # the same city waited
    for got, released in (*chofu, komae):  # the unscoped writer held it alone
        assert everyone[0] >= released - 0.05 or everyone[1] <= got + 0.05
