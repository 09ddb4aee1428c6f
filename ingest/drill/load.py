"""Load a drill into the store: normalize each payload kind into its layer and upsert it.

One small normalizer per source (``_mastodon_rows``, ``_bluesky_rows``, ``_posts_file_rows``,
``_line_rows``, ``_roster_rows``, ``_shelter_status_rows``, ``_opendata_rows``,
``_field_report_rows``): they read only the raw payloads, as the ingest sources do, so they can
move into ``ingest/sources/*.py`` and ``load_into_store`` then go through the sources.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.damage import parse_damage
from geodata.schema import STORE_CRS, to_utc
from geodata.store.errors import UpsertResult

if TYPE_CHECKING:
    from ingest.drill.scenario import Drill

CHUNK = 50_000  # posts per upsert transaction
SOURCES = {  # layer -> source names used for rejections and source_health
    "mastodon": "drill:mastodon",
    "bluesky": "drill:bluesky",
    "posts_file": "drill:posts_file",
    "line": "drill:line",
    "roster": "drill:roster_csv",
    "shelter_csv": "drill:shelter_csv",
    "opendata": "drill:shelter_opendata",
    "field": "drill:field_reports",
}
_NEEDS = {"水": "water", "食料": "food", "毛布": "blankets", "簡易トイレ": "toilets",
          "トイレ": "toilets", "粉ミルク": "milk", "ミルク": "milk", "電源": "power",
          "医薬品": "medicine", "薬": "medicine", "人員": "staff"}  # fmt: skip
_SEVERITY = {"高": 3, "中": 2, "低": 1}
_TAG = re.compile(r"<[^>]+>")


def _html_text(markup: str) -> str:
    """Mastodon content to plain text: <br> and paragraphs as newlines, tags dropped."""
    text = markup.replace("<br />", "\n").replace("<br>", "\n").replace("</p><p>", "\n\n")
    return html.unescape(_TAG.sub("", text)).strip()


def _frame(rows: list[dict], lon=None, lat=None) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    if lon is None:
        geoms = np.full(len(frame), None, dtype=object)
    else:
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        ok = ~(np.isnan(lon) | np.isnan(lat))
        geoms = np.full(len(frame), None, dtype=object)
        geoms[ok] = shapely.points(lon[ok], lat[ok])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS)


def _post(platform, post_id, author, text, url, posted_at, lang, repost_of=None) -> dict:
    return {
        "platform": platform,
        "post_id": post_id,
        "author": author,
        "text": text,
        "url": url,
        "posted_at": posted_at,
        "lang": lang,
        "geo_source": "none",
        "triage": "new",
        "repost_of": repost_of,
    }


def _mastodon_rows(statuses: list[dict]) -> gpd.GeoDataFrame:
    """Mastodon Status entities -> posts rows; a boost carries the boosted text and repost_of."""
    rows = []
    for s in statuses:
        shown = s["reblog"] or s
        rows.append(
            _post(
                "mastodon",
                s["id"],
                s["account"]["acct"],
                _html_text(shown["content"]),
                s["url"],
                s["created_at"],
                shown.get("language"),
                s["reblog"]["id"] if s["reblog"] else None,
            )  # fmt: skip
        )
    return _frame(rows)


def _bluesky_rows(views: list[dict]) -> gpd.GeoDataFrame:
    """Bluesky PostViews -> posts rows; post_id is the at:// URI."""
    rows = []
    for v in views:
        handle, rkey = v["author"]["handle"], v["uri"].rsplit("/", 1)[-1]
        rec = v["record"]
        rows.append(
            _post(
                "bluesky",
                v["uri"],
                handle,
                rec["text"],
                f"https://bsky.app/profile/{handle}/post/{rkey}",
                rec["createdAt"],
                (rec.get("langs") or [None])[0],
            )  # fmt: skip
        )
    return _frame(rows)


def _posts_file_rows(records: list[dict]) -> gpd.GeoDataFrame:
    """Generic posts-file records -> posts rows; lat/lon become a geotag."""
    rows, lon, lat = [], [], []
    for r in records:
        row = _post(
            r["platform"], r["id"], r.get("author"), r["text"], r.get("url"), r["created_at"], None
        )
        has_point = r.get("lat") is not None and r.get("lon") is not None
        if has_point:
            row.update(geo_source="geotag", geo_confidence=1.0)
        rows.append(row)
        lon.append(r["lon"] if has_point else np.nan)
        lat.append(r["lat"] if has_point else np.nan)
    return _frame(rows, lon, lat)


def reply_status(text: str) -> str:
    """The safety status a LINE reply means (menu numbers 1/2/3, or keywords).

    Examples
    --------
    >>> reply_status("助けて、1階が浸水"), reply_status("１"), reply_status("足をけがしました")
    ('要救助', '無事', '負傷')
    """
    t = unicodedata.normalize("NFKC", text or "").strip()
    if t in ("1", "2", "3"):
        return ("無事", "負傷", "要救助")[int(t) - 1]
    if any(k in t for k in ("助けて", "救助", "動けません", "動けない", "取り残")):
        return "要救助"
    if any(k in t for k in ("けが", "怪我", "ケガ", "負傷", "痛")):
        return "負傷"
    if any(
        k in t
        for k in (
            "無事",
            "ぶじ",
            "大丈夫",
            "避難所にいます",
            "避難しました",
            "移動しました",
            "水が引き",
        )
    ):
        return "無事"
    return "不明"


def _line_rows(bodies: list[dict], roster: pd.DataFrame) -> gpd.GeoDataFrame:
    """LINE webhook bodies -> safety_replies rows, matched to residents by LINE userId.

    A location message is placed where it says; a text from a known resident at the roster home.
    """
    by_user = {}
    if len(roster):
        known = roster[roster["chat_user_id"].notna()]
        by_user = {
            u: (rid, g)
            for u, rid, g in zip(
                known["chat_user_id"], known["resident_id"], known.geometry, strict=True
            )
        }
    rows, geoms = [], []
    for body in bodies:
        for ev in body.get("events", []):
            if ev.get("type") != "message":
                continue
            msg, user = ev["message"], ev["source"].get("userId")
            rid, home = by_user.get(user, (None, None))
            point, located = (home, "roster_home") if home is not None else (None, "none")
            needs = msg.get("text")
            if msg["type"] == "location":
                point = shapely.Point(msg["longitude"], msg["latitude"])
                located, needs = "message_location", msg.get("address")
            status = reply_status(msg["text"]) if msg["type"] == "text" else "不明"
            rows.append({"source": "line", "source_id": msg["id"], "resident_id": rid, "channel": "line",
                         "status": status, "needs_text": needs, "sender_id": user, "located_by": located,
                         "replied_at": pd.Timestamp(ev["timestamp"], unit="ms", tz="UTC")})  # fmt: skip
            geoms.append(point)
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS)


def _roster_rows(csv: pd.DataFrame) -> gpd.GeoDataFrame:
    """The municipal roster export (Japanese headers) -> roster rows with the home point."""
    from ingest.drill.texts import CARE_NEEDS

    priority = dict(CARE_NEEDS)
    rows = [
        {
            "resident_id": r["整理番号"],
            "name": r["氏名"],
            "kana": r["氏名カナ"],
            "address": r["住所"],
            "phone": r["電話番号"] or None,
            "chat_user_id": r["LINEユーザーID"] or None,
            "town_code": r["町丁目コード"],
            "care_needs": r["要配慮事項"],
            "care_priority": min(
                (priority.get(x, 3) for x in str(r["要配慮事項"]).split(";")), default=3
            ),
            "supporter": r["避難支援等関係者"] or None,
            "located_by": "roster_coordinates",
        }
        for r in csv.to_dict("records")
    ]
    return _frame(rows, csv["経度"], csv["緯度"])


def shelter_lookup(shelters: pd.DataFrame) -> dict[str, str]:
    """共通ID and facility name -> the shelters layer's shelter_id."""
    out: dict[str, str] = {}
    for sid, name, ids in zip(
        shelters["shelter_id"], shelters["name"], shelters["source_ids"], strict=True
    ):
        out.setdefault(unicodedata.normalize("NFKC", name or ""), sid)
        for raw in ids or []:
            out[raw] = sid
    return out


def _needs(text) -> list[str]:
    parts = re.split(r"[;；、,，/・\s]+", str(text or ""))
    return list(dict.fromkeys(_NEEDS[p] for p in parts if p in _NEEDS))


def _shelter_status_rows(name: str, frame: pd.DataFrame, lookup: dict[str, str]) -> pd.DataFrame:
    """A shelter-system export -> shelter_status rows; source_id = file name + row number."""
    rows = []
    for i, r in enumerate(frame.to_dict("records"), 1):
        key = r["共通ID"] or unicodedata.normalize("NFKC", r["施設名"])
        rows.append({"shelter_id": lookup.get(key, key), "reported_at": to_utc(r["報告日時"]), "status": r["開設状況"],
                     "evacuees": r["避難者数"] or None, "households": r["世帯数"] or None, "needs": _needs(r["必要物資"]),
                     "reported_by": "shelter_system", "source_id": f"{name}:{i}"})  # fmt: skip
    return pd.DataFrame(rows)


def _opendata_rows(name: str, frame: pd.DataFrame, lookup: dict[str, str]) -> pd.DataFrame:
    """The published open-data list -> shelter_status rows, the time read from the 人数 header."""
    column = next(c for c in frame.columns if c.startswith("人数_"))
    at = _reiwa_time(column)
    rows = [
        {"shelter_id": lookup.get(r["ID"], r["ID"]), "reported_at": at, "status": r["開設状況"],
         "evacuees": r[column], "needs": [], "reported_by": "opendata", "source_id": f"{name}:{i}"}
        for i, r in enumerate(frame.to_dict("records"), 1)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _reiwa_time(header: str) -> pd.Timestamp:
    """「人数_令和8年10月12日午後6時時点」 -> 2026-10-12 18:00 JST as UTC."""
    m = re.search(
        r"令和(\d+)年(\d+)月(\d+)日(午前|午後)(\d+)時", unicodedata.normalize("NFKC", header)
    )
    if not m:
        raise ValueError(f"no 令和 time in {header!r}")
    year, month, day, half, hour = m.groups()
    h = int(hour) % 12 + (12 if half == "午後" else 0)
    return to_utc(pd.Timestamp(int(year) + 2018, int(month), int(day), h))


def _field_report_rows(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """The survey export -> field_reports rows."""
    rows = [
        {"source": "survey", "source_id": r["報告ID"], "category": r["種別"], "severity": _SEVERITY.get(r["深刻度"]),
         "description": r["内容"], "photo_url": r["写真URL"] or None, "reported_by": r["報告者"],
         "reported_at": to_utc(r["報告日時"]), **parse_damage(r)}
        for r in frame.to_dict("records")
    ]  # fmt: skip
    return _frame(rows, frame["経度"], frame["緯度"])


def _with_towns(frame: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """town_code of rows with a point, from the store's towns (left as is without towns)."""
    if not len(towns) or not len(frame):
        return frame
    from geodata.reference.layers import assign_towns

    has = frame.geometry.notna() & ~frame.geometry.is_empty
    if not has.any():
        return frame
    frame = frame.copy()
    codes = assign_towns(frame[has], towns)["town_code"]
    frame["town_code"] = pd.Series(None, index=frame.index, dtype=object)
    frame.loc[has, "town_code"] = codes.to_numpy()
    return frame


def stored_shelter_history(store, sources) -> int:
    """Rows of the drill's shelter history already in the store (written by ``sources``).

    Shelter status is append-only history: a drill played again later (a new anchor moves its
    report times, so they are new records to the store) must not be appended a second time.
    The other layers are keyed and move in time instead; the shelter history of the first run
    stays as it was.
    """
    return store.count("shelter_status", where={"source": list(sources)})


def load_into_store(
    drill: Drill,
    store,
    enrich: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame] | None = None,
    *,
    posts: bool = True,
) -> dict[str, dict]:
    """Normalize the drill's payloads and upsert them; returns per-layer counts.

    Parameters
    ----------
    drill : from :func:`ingest.drill.scenario.generate`.
    store : a :class:`geodata.store.core.Store`. Load the reference layers first: shelter status
        rows for shelters the store does not know are rejected.
    enrich : optional ``posts frame -> posts frame`` run before each posts upsert (geocoding,
        classification).
    posts : False leaves the SNS posts out (benchmarks feed them through the ingest runner,
        which also links them into incidents).

    Returns
    -------
    {layer: {"inserted", "updated", "unchanged", "rejected"}}. A second load of the same drill
    returns only ``unchanged``.
    """
    towns = store.read("towns")
    results: dict[str, dict] = {}

    def add(layer: str, res) -> None:
        acc = results.setdefault(
            layer, {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        )
        for k, v in res.as_dict().items():
            acc[k] += v

    roster = _roster_rows(drill.roster_csv)
    add("roster", store.upsert("roster", roster, source=SOURCES["roster"]))
    for key, payloads, rows in (
        ("mastodon", drill.mastodon if posts else [], _mastodon_rows),
        ("bluesky", drill.bluesky if posts else [], _bluesky_rows),
        ("posts_file", drill.posts_file if posts else [], _posts_file_rows),
    ):
        for start in range(0, len(payloads), CHUNK):
            frame = rows(payloads[start : start + CHUNK])
            frame = _with_towns(frame, towns)
            if enrich is not None:
                frame = enrich(frame)
            add("posts", store.upsert("posts", frame, source=SOURCES[key]))
    replies = _line_rows(drill.line_bodies, roster)
    add("safety_replies", store.upsert("safety_replies", replies, source=SOURCES["line"]))
    lookup = shelter_lookup(store.read("shelters"))
    shelter_sources = (SOURCES["opendata"], SOURCES["shelter_csv"])
    loaded = stored_shelter_history(store, shelter_sources)
    if loaded:
        add("shelter_status", UpsertResult(unchanged=loaded))
    for name, frame in [] if loaded else sorted(drill.shelter_files.items()):
        if name.startswith("opendata-"):
            rows, source = _opendata_rows(name, frame, lookup), SOURCES["opendata"]
        else:
            rows, source = _shelter_status_rows(name, frame, lookup), SOURCES["shelter_csv"]
        add("shelter_status", store.append_shelter_status(rows, source=source))
    fields = _with_towns(_field_report_rows(drill.field_reports), towns)
    add("field_reports", store.upsert("field_reports", fields, source=SOURCES["field"]))
    return results
