"""A deterministic 調布市 drill: a typhoon, and the 多摩川 overflowing into its flood-hazard areas.

``generate`` plays the scenario and returns a :class:`Drill` holding the raw payloads the real
sources would send (Mastodon statuses, Bluesky search pages, a generic posts file, LINE webhook
bodies, the roster CSV, shelter count CSVs, a field-survey export) and the ground truth.
``write_payloads`` writes them in the layout of docs/drill.md; ``load_into_store`` normalizes
them into the layers and upserts them.

Timeline (hours after T0; the anchor is T0 + 24 h, the drill's "now")::

    T+0   大雨警報・洪水警報                 T+9   多摩川 氾濫発生 (警戒レベル5)
    T+2   高齢者等避難, riverside shelters   T+10  2nd 安否確認, 福祉避難所
    T+3   1st 安否確認 (LINE)                T+12  peak
    T+6   避難指示, other shelters           T+16  water recedes; T+24 recovery (anchor)

The official warnings of that typhoon (大雨注意報 → 大雨警報 → 土砂災害警戒情報 → 多摩川
氾濫危険警報 → 氾濫発生 → lifts) and the 多摩川 level at 石原 are in ``ingest/drill/jma.py``.

Same seed + same anchor give identical payloads. Record ids depend on the seed only, so a
re-run with another anchor moves the same records in time instead of adding new ones.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from geodata import settings
from ingest.drill import bluesky as sky
from ingest.drill import jma as drill_jma
from ingest.drill import payloads as pay
from ingest.drill.load import load_into_store  # noqa: F401  (part of this module's API)
from ingest.drill.people import generate_replies, generate_roster, line_bodies, roster_csv
from ingest.drill.posts import HOURS, PHASES, generate_posts
from ingest.drill.shelters import DAMAGE_COLUMNS, FIELD_COLUMNS, field_reports, shelter_exports
from ingest.drill.world import load_world

FIXED_ANCHOR = pd.Timestamp("2026-10-13T12:00:00+09:00")  # tests: T0 = 2026-10-12 12:00 JST
ANCHOR_STEP = "10min"
TIMELINE = (
    (0.0, "warning", "大雨警報・洪水警報 発表"),
    (2.0, "evacuate_elderly", "高齢者等避難（警戒レベル3）発令、多摩川沿いの避難所を開設"),
    (3.0, "safety_check", "避難行動要支援者へ安否確認（LINE）1回目"),
    (6.0, "evacuate", "避難指示（警戒レベル4）発令、全避難所を開設"),
    (9.0, "overflow", "多摩川 氾濫発生、浸水想定区域で浸水（緊急安全確保・警戒レベル5）"),
    (10.0, "safety_check", "安否確認 2回目（未回答者へ）、福祉避難所を開設"),
    (12.0, "peak", "浸水・救助要請のピーク"),
    (16.0, "recede", "多摩川の水位低下"),
    (24.0, "recovery", "復旧・片付け（アンカー時刻）"),
)
# Independent random streams, so that changing --posts leaves the roster as it was.
_STREAMS = {"posts": 1, "roster": 2, "replies": 3, "line": 4, "shelters": 5, "field": 6}


def default_anchor(now: datetime | None = None) -> pd.Timestamp:
    """The anchor of a live demo: now (UTC) floored to 10 minutes.

    A re-run within the same 10 minutes gives the same payloads (nothing changes in the store);
    a later re-run moves the same records in time (their ids stay).

    Examples
    --------
    >>> default_anchor(datetime(2026, 10, 13, 3, 7, 59)).isoformat()
    '2026-10-13T03:00:00+00:00'
    """
    ts = pd.Timestamp(now) if now is not None else pd.Timestamp.now(tz="UTC")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.floor(ANCHOR_STEP)


def parse_anchor(value) -> pd.Timestamp:
    """An anchor from ISO text / datetime / Timestamp; naive times are JST. None -> now."""
    if value is None:
        return default_anchor()
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("Asia/Tokyo")
    return ts.tz_convert("UTC").as_unit("ns")


@dataclass(eq=False)
class Drill:
    """The payloads of one drill run and their ground truth.

    Attributes
    ----------
    seed, anchor : the inputs (anchor = end of the timeline, UTC).
    posts : one row per SNS post, columnar, with the truth (see ``drill_posts.generate_posts``).
    roster : the residents (English column names, home lon/lat).
    replies : one row per LINE message event with its truth status.
    line_bodies : LINE webhook request bodies, chronological.
    shelter_files : shelter CSV exports by file name (frames with the files' columns).
    field_reports : the survey export (plus ``_category``/``_town_code`` truth columns).
    """

    seed: int
    anchor: pd.Timestamp
    posts: pd.DataFrame
    roster: pd.DataFrame
    replies: pd.DataFrame
    line_bodies: list[dict]
    shelter_files: dict[str, pd.DataFrame]
    field_reports: pd.DataFrame
    reference_dir: str = field(default="", repr=False)

    @property
    def t0(self) -> pd.Timestamp:
        """Start of the timeline (warnings), UTC."""
        return self.anchor - pd.Timedelta(hours=HOURS)

    @property
    def timeline(self) -> list[dict]:
        """The scenario's events with their times (ISO, JST)."""
        jst = self.t0.tz_convert("Asia/Tokyo")
        return [
            {
                "hour": h,
                "at": (jst + pd.Timedelta(hours=h)).isoformat(),
                "event": key,
                "label": label,
            }
            for h, key, label in TIMELINE
        ]

    @cached_property
    def mastodon(self) -> list[dict]:
        """Mastodon Status entities, oldest first (pages: ``drill_payloads.mastodon_pages``)."""
        return pay.mastodon_statuses(self.posts, self.seed, self.t0)

    @cached_property
    def bluesky(self) -> list[dict]:
        """Bluesky PostViews, oldest first (pages: ``drill_bluesky.bluesky_pages``)."""
        return sky.bluesky_posts(self.posts, self.seed, self.t0)

    @cached_property
    def posts_file(self) -> list[dict]:
        """Records of the generic posts file (JSON lines with lat/lon)."""
        return pay.file_records(self.posts, self.seed, self.t0)

    @property
    def roster_csv(self) -> pd.DataFrame:
        """The roster as the municipal export (Japanese headers)."""
        return roster_csv(self.roster)

    @property
    def non_responders(self) -> pd.DataFrame:
        """Roster rows with no LINE reply at all: the residents the HQ must follow up."""
        answered = set(self.replies["resident_id"].dropna())
        return self.roster[~self.roster["resident_id"].isin(answered)]

    def post_truth(self) -> pd.DataFrame:
        """Ground truth per post, keyed by (platform, post_id) as the posts layer stores them.

        ``town_code`` is what a perfect geocoder returns (None when neither the text nor a
        geotag locates the post); ``categories`` what a perfect classifier returns.
        """
        ids = np.empty(len(self.posts), dtype=object)
        plat = self.posts["platform"].to_numpy()
        ids[plat == "mastodon"] = [s["id"] for s in self.mastodon]
        ids[plat == "bluesky"] = [v["uri"] for v in self.bluesky]
        ids[np.isin(plat, ["x", "threads"])] = [r["id"] for r in self.posts_file]
        p = self.posts
        ref = np.append(ids, None)  # position -1 -> None
        return pd.DataFrame(
            {
                "platform": p["platform"],
                "post_id": ids,
                "posted_at": self.t0 + pd.to_timedelta(p["offset_s"], unit="s"),
                "phase": [PHASES[i] for i in p["phase"]],
                "town_code": p["town_code"],
                "event_town": p["event_town"],
                "categories": [list(c) for c in p["categories"]],
                "urgency": p["urgency"],
                "place": p["place"],
                "place_level": p["place_level"],
                "place_name": p["place_name"],
                "lang": p["lang"],
                "hearsay": p["hearsay"],
                "negated": p["negated"],
                "rumour": p["rumour"],
                "copy_of": ref[p["copy_of"].to_numpy()],
                "repost_of": ref[p["repost_of"].to_numpy()],
                "geotagged": p["lat"].notna(),
            }
        )


def generate(
    seed: int = 0,
    posts: int = 2000,
    roster: int = 300,
    anchor=None,
    reference_dir: str | Path | None = None,
) -> Drill:
    """Play the drill.

    Parameters
    ----------
    seed : random seed; the same seed and anchor give identical payloads.
    posts : number of SNS posts (Mastodon ~55% incl. boosts, Bluesky ~40%, posts file ~5%).
    roster : number of residents in the 避難行動要支援者名簿.
    anchor : end of the timeline (ISO text, datetime; naive = JST). None: now floored to 10 min.
    reference_dir : the reference open data (default ``geodata.settings.reference_dir()``).

    Returns
    -------
    Drill

    Examples
    --------
    >>> d = generate(seed=1, posts=50, roster=10, anchor=FIXED_ANCHOR)
    >>> len(d.posts), len(d.roster)
    (50, 10)
    """
    ref = str(reference_dir or settings.reference_dir())
    world = load_world(ref)
    at = parse_anchor(anchor)
    t0 = at - pd.Timedelta(hours=HOURS)

    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng([seed, _STREAMS[name]])

    post_table = generate_posts(world, posts, rng("posts"))
    people = generate_roster(world, roster, rng("roster"))
    replies = generate_replies(world, people, rng("replies"))
    bodies = line_bodies(replies, people, seed, t0, rng("line"))
    n_field = max(10, min(2000, posts // 40))
    return Drill(
        seed=seed,
        anchor=at,
        posts=post_table,
        roster=people,
        replies=replies,
        line_bodies=bodies,
        shelter_files=shelter_exports(world, t0, rng("shelters")),
        field_reports=field_reports(world, n_field, t0, rng("field")),
        reference_dir=ref,
    )


ROSTER_ENCODING = "utf-8-sig"  # UTF-8 with BOM: Excel opens it, and no name is lost to cp932
OPENDATA_ENCODING = "cp932"  # the published open-data file, as many municipalities publish it


def write_payloads(
    drill: Drill, out_dir: str | Path, roster_encoding: str = ROSTER_ENCODING
) -> dict:
    """Write the payload files (layout in docs/drill.md); returns counts of files and records.

    Files of an earlier run in the drill's folders (``mastodon/``, ``bluesky/``, ``line/``,
    ``shelters/``, ``truth/``) are replaced.
    """
    out = Path(out_dir)
    for sub in ("mastodon", "bluesky", "line", "shelters", "truth", "jma", "river"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    masto = pay.mastodon_pages(drill.mastodon)
    for i, page in enumerate(masto, 1):
        _dump(out / "mastodon" / f"page-{i:05d}.json", page)
    bsky_pages = sky.bluesky_pages(drill.bluesky)
    for i, page in enumerate(bsky_pages, 1):
        _dump(out / "bluesky" / f"page-{i:05d}.json", page)
    with open(out / "posts.jsonl", "w", encoding="utf-8") as fh:
        for record in drill.posts_file:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    # Named as ingest.line_webhook spools them (<time_ns>-<uuid>.json): line/ is a spool folder.
    uuids = np.random.default_rng([drill.seed, 8]).integers(0, 256, (len(drill.line_bodies), 16))
    for body, raw in zip(drill.line_bodies, uuids, strict=True):
        received_ns = (body["events"][0]["timestamp"] + 300) * 1_000_000
        _dump(out / "line" / f"{received_ns:020d}-{bytes(raw.astype(np.uint8)).hex()}.json", body)
    drill.roster_csv.to_csv(out / "roster.csv", index=False, encoding=roster_encoding)
    for name, frame in drill.shelter_files.items():
        enc = OPENDATA_ENCODING if name.startswith("opendata-") else "utf-8-sig"
        frame.to_csv(out / "shelters" / name, index=False, encoding=enc)
    drill.field_reports[FIELD_COLUMNS + DAMAGE_COLUMNS].to_csv(
        out / "field_reports.csv", index=False, encoding="utf-8-sig"
    )
    truth = drill.post_truth()
    truth["posted_at"] = truth["posted_at"].map(pd.Timestamp.isoformat)
    truth.to_json(out / "truth" / "posts.jsonl", orient="records", lines=True, force_ascii=False)
    replies = drill.replies.assign(
        message_id=[e["message"]["id"] for b in drill.line_bodies for e in b["events"]]
    )
    replies.to_csv(out / "truth" / "line_replies.csv", index=False)
    drill.non_responders[["resident_id", "town_code", "care_priority"]].to_csv(
        out / "truth" / "non_responders.csv", index=False
    )
    drill.field_reports.to_csv(out / "truth" / "field_reports.csv", index=False)
    counts = {
        "mastodon_pages": len(masto),
        "mastodon_statuses": len(drill.mastodon),
        "bluesky_pages": len(bsky_pages),
        "bluesky_posts": len(drill.bluesky),
        "posts_file_records": len(drill.posts_file),
        "line_bodies": len(drill.line_bodies),
        "line_events": len(drill.replies),
        "roster": len(drill.roster),
        "shelter_files": len(drill.shelter_files),
        "field_reports": len(drill.field_reports),
        **drill_jma.write(out, drill.t0, drill.anchor),
    }
    manifest = {
        "seed": drill.seed,
        "anchor": drill.anchor.isoformat(),
        "t0": drill.t0.isoformat(),
        "timeline": drill.timeline,
        "counts": counts,
    }
    _dump(out / "manifest.json", manifest, indent=1)
    return counts


def _dump(path: Path, data, indent: int | None = None) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
