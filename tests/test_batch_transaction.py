"""One ingest batch is one transaction: posts, the incidents they make, rejections and the
source's health and cursor commit together (both backends).

A child process runs a real batch (posts file -> runner) and is killed with SIGKILL while it is
inside its write: the child's store pauses at a chosen point (after the incidents were written,
before the posts; or after everything, before the commit), tells the test, and waits to be
killed. Then the store must be consistent, and the next run must link exactly as a clean run of
the same input does.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata.incidents import with_members
from geodata.store.core import Store, open_store
from ingest.base import IngestContext
from ingest.runner import run_source
from ingest.sources.posts_file import PostsFileSource

T0 = pd.Timestamp("2024-01-09T06:00:00Z")
N_POSTS = 3_000
PLACES = [(139.520 + 0.006 * (i % 8), 35.640 + 0.005 * (i // 8)) for i in range(24)]
TEXTS = [
    "{n}番地の前の道路が冠水しています、車が通れない",
    "この先で火事です、煙がすごい {n}",
    "倒木で道がふさがっている {n}",
    "停電しています、信号も消えてる {n}",
    "川があふれそう、水位上昇 {n}",
]


def _posts_file(path: Path) -> Path:
    """N_POSTS posts over ~8 h at 24 places, five kinds of damage: many incidents."""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(N_POSTS):
            lon, lat = PLACES[(i * 7) % len(PLACES)]
            jitter = ((i * 37) % 21 - 10) * 0.0001  # within ~100 m of the place
            record = {
                "id": f"k{i:05d}",
                "text": TEXTS[(i // 3) % len(TEXTS)].format(n=i),
                "created_at": (T0 + pd.Timedelta(seconds=10 * i)).isoformat(),
                "lat": round(lat + jitter, 6),
                "lon": round(lon - jitter, 6),
                "author": f"user{i % 97}",
                "platform": "x",
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _source(path: Path) -> PostsFileSource:
    return PostsFileSource("kill-test", path=str(path), platform="x")


def _run(url: str, path: Path) -> dict:
    store = open_store(url)
    try:
        return run_source(store, _source(path), context=IngestContext(store))
    finally:
        store.dispose()


def _killable_batch(url: str, path: str, flag: str, pause: str) -> None:
    """The child: one batch that stops at ``pause`` inside its write and waits to be killed."""

    def wait_for_the_kill() -> None:
        Path(flag).write_text(pause)
        time.sleep(600)

    upsert, record_healths = Store.upsert, Store.record_healths

    def paused_upsert(self, layer, frame, **kwargs):
        if layer == "posts" and pause == "incidents_written":
            wait_for_the_kill()
        return upsert(self, layer, frame, **kwargs)

    def paused_health(self, runs):  # (record_health writes through it too)
        if any(kw.get("ok") for _, kw in runs) and pause == "all_written":
            wait_for_the_kill()
        return record_healths(self, runs)

    Store.upsert, Store.record_healths = paused_upsert, paused_health
    store = open_store(url, migrate=False)
    run_source(store, _source(Path(path)), context=IngestContext(store))


def _kill_inside_the_write(url: str, path: Path, tmp_path: Path, pause: str) -> None:
    flag = tmp_path / f"paused-{pause}"
    proc = mp.get_context("spawn").Process(
        target=_killable_batch, args=(url, str(path), str(flag), pause)
    )
    proc.start()
    deadline = time.time() + 180
    while time.time() < deadline and not flag.exists() and proc.is_alive():
        time.sleep(0.05)
    assert flag.exists(), f"the batch never reached {pause} (exit code {proc.exitcode})"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL


def _state(url: str) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
    store = open_store(url)
    try:
        posts = store.read("posts", columns=["incident_id"])
        incidents = with_members(store, store.read("incidents", columns=["category"]))
        return posts, incidents, store.get_cursor("kill-test")
    finally:
        store.dispose()


def _assert_consistent(posts: pd.DataFrame, incidents: pd.DataFrame) -> None:
    stored = {f"{p}:{i}" for p, i in zip(posts["platform"], posts["post_id"], strict=True)}
    members = {key for ms in incidents["members"] for layer, key in ms if layer == "posts"}
    assert members - stored == set(), "incident members whose post was never stored"
    linked = {i for i in posts["incident_id"] if isinstance(i, str)}
    assert linked - set(incidents["incident_id"]) == set(), "posts naming a missing incident"


def _links(posts: pd.DataFrame, incidents: pd.DataFrame) -> tuple[set, set]:
    """Incidents (id, category, members) and post -> incident, as sets."""
    found = {
        (i, c, frozenset(tuple(m) for m in ms))
        for i, c, ms in zip(
            incidents["incident_id"], incidents["category"], incidents["members"], strict=True
        )
    }
    post_links = set(zip(posts["post_id"], posts["incident_id"], strict=True))
    return found, post_links


@pytest.fixture
def clean_url(store_url, request, tmp_path) -> str:
    """A second empty store on the same backend, for the clean run."""
    if store_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'clean.sqlite'}"
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.mark.parametrize("pause", ["incidents_written", "all_written"])
def test_a_batch_killed_inside_its_write_leaves_nothing_and_the_rerun_links_as_a_clean_run(
    pause, store, store_url, clean_url, tmp_path
):
    path = _posts_file(tmp_path / "posts.jsonl")
    clean = _run(clean_url, path)
    assert clean["ok"], clean["error"]
    clean_posts, clean_incidents, _ = _state(clean_url)
    assert len(clean_posts) == N_POSTS
    assert len(clean_incidents) > 50  # the input makes many incidents

    _kill_inside_the_write(store_url, path, tmp_path, pause)
    posts, incidents, cursor = _state(store_url)
    _assert_consistent(posts, incidents)
    # The whole batch rolled back: no posts, no incidents, no cursor.
    assert (len(posts), len(incidents), cursor) == (0, 0, None)

    _kill_inside_the_write(store_url, path, tmp_path, pause)  # killed again: still nothing
    assert tuple(map(len, _state(store_url)[:2])) == (0, 0)

    rerun = _run(store_url, path)
    assert rerun["ok"], rerun["error"]
    assert rerun["inserted"] == N_POSTS
    posts, incidents, cursor = _state(store_url)
    _assert_consistent(posts, incidents)
    assert cursor is not None
    assert _links(posts, incidents) == _links(clean_posts, clean_incidents)


def test_the_field_form_writes_a_report_and_its_incident_together(store, monkeypatch):
    # dashboard/field/data.py save_report: the incident commits with the report or not at all.
    from dashboard.field import data as field_data

    monkeypatch.setattr(field_data.auth, "check", lambda *_: SimpleNamespace(username="sato"))
    monkeypatch.setattr(field_data.data, "get_store", lambda _url: store)
    report = gpd.GeoDataFrame(
        {
            "source": ["dashboard"],
            "source_id": ["r1"],
            "category": ["浸水・冠水"],
            "severity": [3],
            "reported_at": [T0],
            "town_code": ["13208008003"],
        },
        geometry=[shapely.Point(139.5605, 35.6505)],
        crs=4326,
    )
    upsert = store.upsert

    def upsert_failing_on_reports(layer, frame, **kwargs):
        if layer == "field_reports":
            raise RuntimeError("disk full")
        return upsert(layer, frame, **kwargs)

    monkeypatch.setattr(store, "upsert", upsert_failing_on_reports)
    with pytest.raises(RuntimeError, match="disk full"):
        field_data.save_report("unused", report)
    assert (store.count("incidents"), store.count("field_reports")) == (0, 0)

    monkeypatch.setattr(store, "upsert", upsert)
    assert field_data.save_report("unused", report).inserted == 1
    [incident_id] = store.read("field_reports")["incident_id"].tolist()
    incidents = with_members(store, store.read("incidents"))
    assert incidents["incident_id"].tolist() == [incident_id]
    assert incidents["members"].tolist() == [[["field_reports", "dashboard:r1"]]]
    assert store.read_audit(layer="field_reports")["who"].tolist() == ["sato"]


# -- the store's transaction ----------------------------------------------------------------


def _one_post(post_id: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"platform": ["x"], "post_id": [post_id], "text": ["冠水"], "posted_at": [T0]},
        geometry=[shapely.Point(139.55, 35.65)],
        crs=4326,
    )


def test_writes_in_a_transaction_commit_together_or_not_at_all(store):
    with pytest.raises(RuntimeError, match="stop"):
        with store.transaction() as tx:
            tx.upsert("posts", _one_post("a"))
            tx.add_rejections("s", [("raw", "bad")])
            assert store.count("posts") == 1  # a read inside sees the transaction's writes
            raise RuntimeError("stop")
    assert (store.count("posts"), len(store.read_rejections())) == (0, 0)
    before = store.data_version("posts")
    with store.transaction():
        store.upsert("posts", _one_post("a"))
        with store.transaction():  # a block inside another is a savepoint of it
            store.upsert("posts", _one_post("b"))
        with pytest.raises(RuntimeError, match="inner"):
            with store.transaction():
                store.upsert("posts", _one_post("c"))
                raise RuntimeError("inner")
        store.record_health("s", ok=True, cursor="c1")
    assert sorted(store.read("posts")["post_id"]) == ["a", "b"]
    assert store.get_cursor("s") == "c1"
    assert store.data_version("posts") == before + 2


def test_a_failed_write_inside_a_transaction_undoes_only_itself(store):
    from geodata.store.core import StaleVersion

    store.upsert(
        "shelters",
        gpd.GeoDataFrame(
            {"shelter_id": ["S1"], "name": ["第二小学校"], "kind": ["shelter"]},
            geometry=[shapely.Point(139.55, 35.65)],
            crs=4326,
        ),
    )
    with store.transaction():
        store.update_shelter_status("S1", {"evacuees": 5}, base_version=0, actor="a")
        with pytest.raises(StaleVersion):
            store.update_shelter_status("S1", {"evacuees": 9}, base_version=0, actor="b")
        store.upsert("posts", _one_post("a"))
    history = store.shelter_status_history("S1")
    assert history["evacuees"].tolist() == [5]
    assert store.count("posts") == 1


def test_another_thread_does_not_join_a_transaction(store):
    import threading

    seen = []
    with store.transaction():
        store.upsert("posts", _one_post("a"))
        reader = threading.Thread(target=lambda: seen.append(store.count("posts")))
        reader.start()
        reader.join(30)
    assert seen == [0]  # it read what was committed, not this thread's open transaction
    assert store.count("posts") == 1


def test_lock_needs_a_transaction(store):
    with pytest.raises(RuntimeError, match="transaction"):
        store.lock("incidents")


def test_the_layer_declares_how_it_is_written(store):
    from geodata.schema import LAYERS
    from ingest.runner import ENRICHMENTS

    for layer in LAYERS.values():
        assert set(layer.enrich) <= set(ENRICHMENTS), layer.name
        if layer.write == "append":
            # its own append_<layer>, or a versioned history written by store.append_version
            versioned = layer.key[-1] == "version"
            writer = store.append_version if versioned else getattr(store, f"append_{layer.name}")
            assert callable(writer), layer.name
            with pytest.raises(ValueError, match="append-only"):
                store.upsert(layer.name, pd.DataFrame())
    assert [n for n, layer in LAYERS.items() if layer.write == "append"] == [
        "shelter_status", "supply_requests", "evacuations", "chronology", "task_states",
        "damage_reports"]  # fmt: skip
    assert {n for n, layer in LAYERS.items() if layer.incident_role} == {
        "posts",
        "safety_replies",
        "field_reports",
    }
