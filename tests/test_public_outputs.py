"""Every public output, built from the drill, against every rule of the public-output policy.

The drill (``ingest reference`` + ``ingest demo``) is loaded into a SQLite file; staff then triage
a share of the posts (verified / handled / dismissed), including every located post near a
resident's home and every post in an incident a safety reply joined, so each rule has something
to refuse. Then every public kind is exported through the command line — the situation map PDF,
``export layer <every layer> --public`` in every format, the shelter open data and CAP — and
each file is read back (pdftotext, geopandas/pyogrio, pandas, lxml, sqlite3) and checked:

- no roster name, address, phone or chat id, no reply sender; no post author, handle, URL,
  ``did:``/``at://`` or post id;
- reports only verified/handled posts, field reports, and incidents made of them (never of a
  safety reply);
- no report point within 30 m of a roster home or a safety-reply location;
- no per-town count of persons below 3 shown as a number, and none derivable by subtraction;
- the rule is stated on the outputs that carry counts; personal layers refuse ``--public``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from lxml import etree

from geodata.export.public import (
    NO_PUBLIC,
    PRIVACY_RADIUS_M,
    ROW_IDENTITIES,
    SMALL,
    THRESHOLD,
    WITHHELD,
)
from geodata.export.suppression import exposed
from geodata.incidents import with_members
from geodata.schema import LAYERS
from ingest.cli import main
from tests.test_export_map import pdf_text, squash

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
ANCHOR = "2026-10-12T21:00"
METRIC = "EPSG:6677"
PUBLIC_TRIAGE = ("verified", "handled")
REPORT_LAYERS = ("posts", "field_reports", "incidents")
PERSONAL = ("roster", "safety_replies", "follow_ups")
COUNTS = ("residents", "replied", "needs_help", "reached", "unconfirmed")
COUNT_LABELS = {"residents": "要支援者数", "replied": "回答数", "needs_help": "要救助・負傷",
                "reached": "フォローで確認", "unconfirmed": "未確認"}  # fmt: skip
TOTAL_KEYS = {"residents": "roster_total", "replied": "replied", "needs_help": "needs_help",
              "reached": "reached", "unconfirmed": "unconfirmed"}  # fmt: skip
FORMATS = ("geojson", "csv", "csv-sjis", "kml", "gpkg")
KML = "{http://www.opengis.net/kml/2.2}"
# Namespace and schema URIs a file format itself requires; no other URL may appear.
FORMAT_URIS = (
    "http://www.opengis.net/",
    "http://www.w3.org/",
    "http://www.geopackage.org/",
    "https://www.geopackage.org/",
    "http://gdal.org",
)


def export(*argv) -> int:
    return main(["export", *argv])


@pytest.fixture(scope="module")
def drill(tmp_path_factory, reference_dir):
    """The drill in a SQLite file, with staff triage; yields (url, store facts, out folder)."""
    from geodata.store.core import open_store

    tmp = tmp_path_factory.mktemp("public")
    url = f"sqlite:///{tmp / 'drill.sqlite'}"
    ref = ["--reference-dir", str(reference_dir)]
    assert main(["reference", "--municipality", "13208", "--no-download", "--db", url, *ref]) == 0
    assert main(["demo", "--seed", "1", "--anchor", ANCHOR, "--db", url, *ref]) == 0
    store = open_store(url)
    try:
        facts = triage_and_read(store)
    finally:
        store.dispose()
    out = tmp / "out"
    out.mkdir()
    return url, facts, out


def private_points(roster: gpd.GeoDataFrame, replies: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Roster homes and safety-reply locations, in metres."""
    points = pd.concat([roster.geometry, replies.geometry], ignore_index=True)
    points = points[points.notna() & ~points.is_empty]
    return gpd.GeoSeries(list(points), crs=4326).to_crs(METRIC)


def triage_and_read(store) -> dict:
    """Triage posts as staff would, and read what the checks compare against."""
    roster = store.read("roster")
    replies = store.read("safety_replies")
    posts = store.read("posts")
    incidents = with_members(store, store.read("incidents"))
    private = private_points(roster, replies)
    tree = shapely.STRtree(list(private))
    located = posts[posts.geometry.notna() & ~posts.geometry.is_empty]
    metric = located.to_crs(METRIC).geometry
    near = set(tree.query(list(metric), predicate="dwithin", distance=PRIVACY_RADIUS_M)[0])
    near_keys = {(located.iloc[i]["platform"], located.iloc[i]["post_id"]) for i in near}
    with_reply = set()
    for members in incidents["members"]:
        if any(layer == "safety_replies" for layer, _ in members):
            with_reply |= {tuple(key.split(":", 1)) for layer, key in members if layer == "posts"}
    assert near_keys and with_reply, "the drill must give the rules something to refuse"
    triage = {}
    for i, (platform, post_id) in enumerate(
        zip(located["platform"], located["post_id"], strict=True)
    ):
        key = (platform, post_id)
        if key in near_keys or key in with_reply or i % 4 == 0:
            triage[key] = "verified"
        elif i % 9 == 1:
            triage[key] = "handled"
        elif i % 5 == 2:
            triage[key] = "dismissed"
    # One transaction: store.update (one audited edit per post, ~60 ms each) would take a minute.
    table = store.tables["posts"]
    stmt = (
        table.update()
        .where(table.c.platform == sa.bindparam("p"), table.c.post_id == sa.bindparam("i"))
        .values(triage=sa.bindparam("t"))
    )
    with store.engine.begin() as conn:
        conn.execute(stmt, [{"p": p, "i": i, "t": t} for (p, i), t in triage.items()])
    posts = store.read("posts")
    stored = zip(
        zip(posts["platform"], posts["post_id"], strict=True), posts["triage"], strict=True
    )
    assert dict(stored).items() >= triage.items()
    public_posts = {f"{p}:{i}" for (p, i), s in triage.items() if s in PUBLIC_TRIAGE}
    public_incidents = set()
    for inc_id, members in zip(incidents["incident_id"], incidents["members"], strict=True):
        layers = [layer for layer, _ in members]
        confirmed = any(
            layer == "field_reports" or (layer == "posts" and key in public_posts)
            for layer, key in members
        )
        if confirmed and "safety_replies" not in layers:
            public_incidents.add(inc_id)
    # Staff reach some residents who never replied (phone follow-ups), so "reached" counts too.
    silent = roster[~roster["resident_id"].isin(replies["resident_id"])]["resident_id"]
    follow = pd.DataFrame(
        {
            "id": [f"fu-test-{i}" for i in range(len(silent))][::7],
            "resident_id": list(silent)[::7],
            "action": "phone",
            "outcome": "reached_safe",
            "by": "安否班",
            "at": pd.Timestamp("2026-10-12T20:00", tz="Asia/Tokyo"),
        }
    )
    assert len(follow) >= 5
    store.upsert("follow_ups", follow, source="test")
    # The per-town truth: the exact counts of the internal export (counted by geodata.safety),
    # checked here against a count of the roster and the newest reply of each resident.
    from geodata.export.data import read_layer

    exact, _ = read_layer(store, "safety_by_town")
    truth = exact.set_index("town_code")[list(COUNTS)].astype(int)
    last = replies[replies["resident_id"].notna()].sort_values("replied_at")
    last = last.drop_duplicates("resident_id", keep="last").set_index("resident_id")["status"]
    people = roster[["resident_id", "town_code"]].copy()
    people["replied"] = people["resident_id"].isin(last.index)
    counted = people.groupby("town_code").agg(
        residents=("resident_id", "size"), replied=("replied", "sum")
    )  # fmt: skip
    for col in ("residents", "replied"):
        assert (truth[col].reindex(counted.index) == counted[col]).all(), col
    assert (truth["residents"] == truth[["replied", "reached", "unconfirmed"]].sum(axis=1)).all()
    return {
        "roster": roster,
        "replies": replies,
        "posts": posts,
        "private": private,
        "public_posts": public_posts,
        "public_incidents": public_incidents,
        "incidents": incidents,
        "truth": truth,
        "near_keys": near_keys,
        "with_reply": with_reply,
    }


def gpkg_text(path: Path) -> str:
    """Every text value of every table of a GeoPackage (SQLite), for the identity checks."""
    con = sqlite3.connect(path)
    try:
        parts = []
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                parts.extend(str(v) for v in row if isinstance(v, str))
        return "\n".join(parts)
    finally:
        con.close()


def file_text(path: Path, tmp_path: Path) -> str:
    """The text a reader of the file sees; coordinates left out (numbers, and many of them)."""
    data = path.read_bytes()
    if path.suffix == ".pdf":
        return pdf_text(data, tmp_path)
    if path.suffix == ".gpkg":
        return gpkg_text(path)
    if path.suffix == ".geojson":
        doc = json.loads(data)
        for feature in doc.get("features", []):
            feature.pop("geometry", None)
        return json.dumps(doc, ensure_ascii=False)
    if path.suffix == ".kml":
        return re.sub(r"<coordinates>[^<]*</coordinates>", "", data.decode("utf-8"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:  # the Shift_JIS files
        return data.decode("cp932")


@pytest.fixture(scope="module")
def outputs(drill, tmp_path_factory):
    """Every public output of the drill: {label: path}."""
    url, _, out = drill
    files: dict[str, Path] = {}

    def run(label, *argv):
        target = out / label
        target.mkdir()
        assert export(*argv, "--db", url, "--out", str(target)) == 0, label
        written = sorted(target.iterdir())
        assert written, label
        for i, path in enumerate(written):
            files[f"{label}#{i}" if len(written) > 1 else label] = path

    run("situation-map", "situation-map", "--public", "--no-tiles", "--as-of", ANCHOR)
    # Layers without a public version (the roster, replies, follow-ups, campaigns, deliveries,
    # source health) refuse --public; every other layer is exported and checked.
    layers = [name for name in LAYERS if name not in PERSONAL and name not in NO_PUBLIC]
    for layer in [*layers, "safety_by_town"]:
        for fmt in FORMATS:
            if fmt == "kml" and layer != "safety_by_town" and LAYERS[layer].geometry is None:
                continue
            run(f"{layer}.{fmt}", "layer", layer, "--format", fmt, "--public")
    run("opendata.csv", "shelters-opendata")
    run("opendata.csv-sjis", "shelters-opendata", "--format", "csv-sjis")
    run("cap", "cap", "--since", "2026-10-12T15:00")
    run("evacuation-cap", "evacuation-cap")  # the drill's 避難情報: issue, 3 updates, lift
    run("evacuation-opendata.csv", "evacuation-opendata", "--as-of", "2026-10-12T04:00")  # T+7
    return files


@pytest.fixture(scope="module")
def texts(outputs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdf")
    return {label: file_text(path, tmp) for label, path in outputs.items()}


def test_every_kind_was_exported(outputs):
    kinds = {label.split("#")[0] for label in outputs}
    for layer in ("posts", "incidents", "field_reports", "shelters", "safety_by_town"):
        for fmt in FORMATS:
            assert f"{layer}.{fmt}" in kinds
    assert {"situation-map", "opendata.csv", "opendata.csv-sjis"} <= kinds
    assert sum(1 for label in outputs if label.startswith("cap")) > 10
    assert sum(1 for label in outputs if label.startswith("evacuation-cap")) == 5
    assert "evacuation-opendata.csv" in kinds and "evacuations.csv" in kinds


def test_no_person_and_no_account_in_any_output(drill, texts):
    _, facts, _ = drill
    roster, replies, posts = facts["roster"], facts["replies"], facts["posts"]
    # Japanese values are looked for as substrings (spaces removed: pdftotext drops them);
    # codes, handles, ids and phones as whole tokens, which a set lookup finds at once.
    written = {
        squash(str(v))
        for col in ("name", "kana", "address", "supporter")
        for v in roster[col].dropna()
        if len(squash(str(v))) >= 4
    }
    tokens = {str(v) for v in roster["phone"].dropna()} | set(roster["chat_user_id"].dropna())
    tokens |= {v for col in ("sender_id", "source_id") for v in replies[col].dropna()}
    tokens |= set(posts["author"].dropna()) | set(posts["post_id"].dropna())
    tokens |= set(posts["url"].dropna()) | set(posts["repost_of"].dropna())
    tokens = {t for t in tokens if len(t) >= 6}
    for label, text in texts.items():
        flat = squash(text)
        for value in written:
            assert value not in flat, (label, value)
        found = set(re.findall(r"[A-Za-z0-9_.@:/+%=-]+", text)) & tokens
        assert not found, (label, sorted(found)[:5])
        handles = set(re.findall(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+", text)) & tokens
        assert not handles, (label, sorted(handles)[:5])
        assert "did:" not in text and "at://" not in text, label
        for url in re.findall(r"(?:https?|at)://[^\s\"'<>]+", text):
            assert url.startswith(FORMAT_URIS), (label, url)


def _geo_outputs(outputs, layer) -> dict[str, gpd.GeoDataFrame]:
    frames = {}
    for fmt in ("geojson", "gpkg"):
        frames[fmt] = gpd.read_file(outputs[f"{layer}.{fmt}"])
    frames["kml"] = _kml_frame(outputs[f"{layer}.kml"])
    csv = pd.read_csv(outputs[f"{layer}.csv"], encoding="utf-8-sig", dtype=str)
    located = csv[csv["経度"].notna()]
    frames["csv"] = gpd.GeoDataFrame(
        located,
        geometry=gpd.points_from_xy(located["経度"].astype(float), located["緯度"].astype(float)),
        crs=4326,
    )
    return frames


def _kml_frame(path: Path) -> gpd.GeoDataFrame:
    root = etree.parse(str(path)).getroot()
    rows, geoms = [], []
    for mark in root.iter(f"{KML}Placemark"):
        rows.append({
            d.get("name"): d.findtext(f"{KML}value") for d in mark.iter(f"{KML}Data")
        })  # fmt: skip
        coords = [c.text.split() for c in mark.iter(f"{KML}coordinates")]
        points = [shapely.Point(*map(float, xy.split(",")[:2])) for c in coords for xy in c]
        geoms.append(shapely.MultiPoint(points) if points else None)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def test_only_verified_or_handled_reports(drill, outputs):
    _, facts, _ = drill
    n_public = len(facts["public_posts"])
    for fmt, frame in _geo_outputs(outputs, "posts").items():
        if fmt == "csv":
            assert set(frame["確認状況"]) <= set(PUBLIC_TRIAGE)
            full = pd.read_csv(outputs["posts.csv"], encoding="utf-8-sig", dtype=str)
            assert len(full) == n_public
            continue
        assert set(frame["triage"].dropna()) <= set(PUBLIC_TRIAGE), fmt
        assert len(frame) == n_public, fmt
    expected = facts["public_incidents"]
    assert 0 < len(expected) < len(facts["incidents"]) / 2
    for fmt, frame in _geo_outputs(outputs, "incidents").items():
        column = "事案ID" if fmt == "csv" else "incident_id"
        if fmt == "csv":
            frame = pd.read_csv(outputs["incidents.csv"], encoding="utf-8-sig", dtype=str)
        assert set(frame[column]) == expected, fmt
    # no incident a safety reply joined, even when a verified post is in it
    with_reply = facts["incidents"][
        [any(layer == "safety_replies" for layer, _ in m) for m in facts["incidents"]["members"]]
    ]
    assert not set(with_reply["incident_id"]) & expected


def test_public_situation_reports(drill):
    from geodata.export.situation import collect_situation
    from geodata.store.core import open_store

    url, facts, _ = drill
    store = open_store(url)
    try:
        situation = collect_situation(store, as_of=ANCHOR, public=True)
    finally:
        store.dispose()
    assert situation.needs_help.empty
    assert situation.kpis["reports_total"] == len(
        facts["incidents"][
            facts["incidents"]["incident_id"].isin(facts["public_incidents"])
            & (facts["incidents"]["last_seen"] <= pd.Timestamp(ANCHOR, tz="Asia/Tokyo"))
        ]
    )
    _assert_far(situation.reports, facts["private"], "situation-map")
    _assert_counts_suppressed(situation.towns, facts, "situation-map", totals=situation.kpis)


def _assert_far(frame: gpd.GeoDataFrame, private: gpd.GeoSeries, label: str) -> None:
    geoms = frame.geometry[frame.geometry.notna() & ~frame.geometry.is_empty]
    if geoms.crs is None:
        geoms = geoms.set_crs(4326)
    metric = geoms.to_crs(METRIC)
    tree = shapely.STRtree(list(private))
    hits = tree.query(list(metric), predicate="dwithin", distance=PRIVACY_RADIUS_M)
    assert hits.shape[1] == 0, f"{label}: {hits.shape[1]} points within 30 m of a person"


def test_no_report_point_near_a_home_or_reply(drill, outputs):
    _, facts, _ = drill
    assert facts["near_keys"]  # verified posts near homes exist: the rule has work to do
    for layer in REPORT_LAYERS:
        for fmt, frame in _geo_outputs(outputs, layer).items():
            assert len(frame), (layer, fmt)
            _assert_far(frame, facts["private"], f"{layer}.{fmt}")


def _value(cell):
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return None
    text = str(cell).strip()
    if text in (SMALL, WITHHELD):
        return text
    return int(float(text))


def _assert_counts_suppressed(frame, facts, label, totals=None) -> None:
    """No count below 3 as a number; no hidden cell derivable from its row or column."""
    truth = facts["truth"]
    codes = frame["town_code"] if "town_code" in frame else frame["町丁目コード"]
    hidden = {c: [] for c in COUNTS}
    for i, code in enumerate(codes):
        true = truth.loc[code] if code in truth.index else dict.fromkeys(COUNTS, 0)
        row = {}
        for col in COUNTS:
            key = col if col in frame else COUNT_LABELS[col]
            value = _value(frame[key].iloc[i])
            row[col] = value
            if isinstance(value, int):
                assert value >= THRESHOLD, (label, code, col, value)
                assert value == true[col], (label, code, col)
            else:
                assert value in (SMALL, WITHHELD), (label, code, col, value)
                assert value != SMALL or true[col] < THRESHOLD, (label, code, col)
                hidden[col].append(code)
        # a town's registered minus its shown parts never isolates one hidden count of 1-2
        # (a zero may be worked out: it counts no one)
        group = ("residents", "replied", "reached", "unconfirmed")
        alone = [c for c in group if not isinstance(row[c], int)]
        assert len(alone) != 1 or true[alone[0]] == 0, (label, code, row)
    for col in COUNTS:
        # the city total minus the shown towns never isolates one hidden count of 1-2
        lone = hidden[col]
        assert len(lone) != 1 or truth[col].get(lone[0], 0) == 0, (label, col, lone)
    if totals is not None:
        for key in TOTAL_KEYS.values():
            shown = totals[key]
            assert not isinstance(shown, int) or shown == 0 or shown >= THRESHOLD, (label, key)


def test_town_counts_are_suppressed(drill, outputs):
    _, facts, _ = drill
    assert (facts["truth"]["residents"] < THRESHOLD).any()  # small towns exist in the drill
    frames = _geo_outputs(outputs, "safety_by_town")
    frames["csv"] = pd.read_csv(outputs["safety_by_town.csv"], encoding="utf-8-sig", dtype=str)
    frames["csv-sjis"] = pd.read_csv(
        outputs["safety_by_town.csv-sjis"], encoding="cp932", dtype=str
    )
    for fmt, frame in frames.items():
        assert len(frame) > 50, fmt
        _assert_counts_suppressed(frame, facts, f"safety_by_town.{fmt}")
    # and by the policy's own full reasoning (rows, columns, totals together): nothing pinned
    frame = frames["geojson"].set_index("town_code")
    truth = facts["truth"].reindex(frame.index).fillna(0).astype(int)
    hidden = frame[list(COUNTS)].map(lambda v: _value(v) in (SMALL, WITHHELD))
    totals = {c: int(truth[c].sum()) for c in COUNTS}
    assert not exposed(truth, hidden, totals, ROW_IDENTITIES, THRESHOLD)


def test_the_rule_is_stated_on_the_outputs(outputs, texts):
    flat = squash(texts["situation-map"])
    assert "1〜2人" not in flat  # the public legend has no class below the threshold
    assert squash(SMALL) in flat and squash(WITHHELD) in flat
    doc = json.loads(outputs["safety_by_town.geojson"].read_bytes())
    policy = doc["public_policy"]
    assert (
        policy["threshold"] == THRESHOLD and SMALL in policy["ja"] and "fewer than" in policy["en"]
    )
    for fmt in ("csv", "csv-sjis"):
        text = texts[f"safety_by_town.{fmt}"]
        assert text.splitlines()[0].split(",")[-1].strip() in ("注記", "出典")
        assert SMALL in text.splitlines()[1] or "3人未満" in text
    assert SMALL in texts["safety_by_town.kml"] and SMALL in texts["safety_by_town.gpkg"]
    info = pyogrio.read_info(outputs["safety_by_town.gpkg"])
    assert "3人未満" in json.dumps(info.get("layer_metadata") or {}, ensure_ascii=False)


@pytest.mark.parametrize("layer", [*PERSONAL, "chronology", "task_states", "damage_reports"])
def test_personal_layers_refuse_public(drill, layer, tmp_path, capsys):
    url, _, _ = drill
    code = export("layer", layer, "--public", "--db", url, "--out", str(tmp_path))
    err = capsys.readouterr().err
    assert code == 2 and "no public version" in err and layer in err
    assert not list(tmp_path.iterdir())


def test_public_view_refuses_personal_reads(drill):
    from geodata.export.common import PersonalDataError
    from geodata.export.public import PublicView
    from geodata.store.core import open_store

    url, _, _ = drill
    store = open_store(url)
    try:
        view = PublicView(store)
        for layer in PERSONAL:
            with pytest.raises(PersonalDataError):
                view.read(layer)
        posts = view.read("posts")
        assert set(posts["triage"]) <= set(PUBLIC_TRIAGE)
        assert set(posts["author"].dropna()) <= {"非公開"} and set(posts["text"].dropna()) <= {
            "非公開"
        }
    finally:
        store.dispose()


def test_opendata_and_cap_name_no_staff(drill, texts):
    """Shelter status notes and the staff who reported them stay inside the HQ."""
    url, _, _ = drill
    from geodata.store.core import open_store

    store = open_store(url)
    try:
        staff = {v for v in store.read("shelter_status")["reported_by"].dropna() if len(v) >= 3}
        staff |= {v for v in store.read("field_reports")["reported_by"].dropna() if len(v) >= 3}
        staff |= {v for v in store.read("evacuations")["issued_by"].dropna() if len(v) >= 3}
        warning_ids = {i for ids in store.read("evacuations")["warning_ids"] for i in ids or []}
    finally:
        store.dispose()
    assert staff and "drill-commander" in staff and warning_ids
    for label, text in texts.items():
        for name in staff | warning_ids:
            assert name not in text, (label, name)


def test_geojson_is_read_back_as_json(outputs):
    doc = json.loads(io.BytesIO(outputs["posts.geojson"].read_bytes()).read())
    assert doc["type"] == "FeatureCollection" and doc["public_policy"]["ja"]
