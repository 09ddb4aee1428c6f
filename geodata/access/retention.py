"""Retention: remove personal data after the disaster, keep every aggregate count.

:func:`purge_personal` (``python -m ingest purge --personal``) works in one transaction:

- roster (避難行動要支援者名簿): name, kana, address, phone, chat user id, care needs, supporter
  nulled; the home point moved to a representative point of the resident's town;
- safety replies (安否確認): needs text and sender id nulled; the point moved to a representative
  point of the town it lies in (dropped when it lies in none);
- follow-ups: the note nulled; posts: the author and the URL (which names the account) nulled;
- the campaigns' delivery log: the LINE user id / phone number each message went to nulled;
- resident ids replaced everywhere by pseudonyms (``purged:…``) made with a one-time key that
  is thrown away, so the joins between roster, replies and follow-ups still hold but no longer
  lead back to the municipality's register;
- free texts (post texts, field-report descriptions, shelter notes) lose the roster's names and
  addresses, phone numbers and @handles;
- the audit log's old/new records of those layers lose the same fields; rejected raw records
  of those layers (and of unknown layers) are dropped, other raw records, every rejection reason
  and the sources' last error texts are redacted.

Before writing, the aggregate counts (:func:`aggregate_counts`: residents, replies per town and
status, non-responders per town, latest status per town, posts per category, follow-ups per
action and outcome, every campaign's figures) are computed on the purged frames and compared with the stored ones; any
difference stops the purge with nothing written. ``dry_run`` reports what would change.
A second purge changes nothing. Stop the roster and safety sources first: a source that runs
again after the purge brings its personal data back.

Over ~400 lines on purpose: the purge, its dry run and the check that town-level counts are
unchanged are one procedure on the same frames; kept together so no step can be run alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections import Counter
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa

from geodata.access.privacy import (
    TEXT_COLUMNS,
    PersonalTerms,
    personal_columns,
    redact_text,
    replies_by_town,
)
from geodata.campaigns import EVERYONE
from geodata.safety import resident_states, town_table
from geodata.schema import LAYERS, now_utc
from geodata.store.codec import db_time
from geodata.text.fingerprints import text_digest

PURGE_LAYERS = ("roster", "safety_replies", "follow_ups", "posts", "deliveries")
PSEUDONYM_PREFIX = "purged:"
_META_PURGED = "personal_data_purged_at"


class PurgeError(RuntimeError):
    """The purge would have changed an aggregate count; nothing was written."""


@dataclass
class PurgeReport:
    """What a purge changed (or, with ``dry_run``, would change).

    Attributes
    ----------
    dry_run : True when nothing was written.
    nulled : layer -> column -> number of values removed.
    moved_points : layer -> points moved to a town's representative point or dropped.
    redacted_texts : layer -> free texts that lost names, addresses, phones or handles.
    pseudonymized : resident ids replaced by pseudonyms.
    audit_rows : audit-log rows scrubbed.
    rejections : rejected records whose raw text was dropped or redacted.
    health_errors : source error texts redacted.
    aggregates : the aggregate counts (identical before and after).
    verified : after a real purge, the stored aggregates were read back and equal.
    """

    dry_run: bool
    nulled: dict[str, dict[str, int]] = field(default_factory=dict)
    moved_points: dict[str, int] = field(default_factory=dict)
    redacted_texts: dict[str, int] = field(default_factory=dict)
    pseudonymized: int = 0
    audit_rows: int = 0
    rejections: int = 0
    health_errors: int = 0
    aggregates: dict = field(default_factory=dict)
    verified: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            any(v for cols in self.nulled.values() for v in cols.values())
            or any(self.moved_points.values())
            or any(self.redacted_texts.values())
            or self.pseudonymized
            or self.audit_rows
            or self.rejections
            or self.health_errors
        )

    def summary(self) -> dict:
        """Counts only (no values), for ``--json`` and the audit log."""
        return {
            "dry_run": self.dry_run,
            "nulled": self.nulled,
            "moved_points": self.moved_points,
            "redacted_texts": self.redacted_texts,
            "pseudonymized": self.pseudonymized,
            "audit_rows": self.audit_rows,
            "rejections": self.rejections,
            "health_errors": self.health_errors,
            "aggregates_unchanged": True,
            "verified": self.verified,
        }


# -- aggregates -----------------------------------------------------------------------------------


def _campaign_figures(campaigns: pd.DataFrame, deliveries: pd.DataFrame, replies) -> dict:
    """Every campaign's figures (geodata/campaigns.py counts): they join deliveries and replies
    on resident ids, so the pseudonyms must keep them."""
    from geodata.campaigns import counts

    return {
        str(c["id"]): counts(c, deliveries, replies).as_dict() for c in campaigns.to_dict("records")
    }


def _aggregates(roster, replies, towns, posts, follow_ups, campaigns=None, deliveries=None) -> dict:
    by_status = replies_by_town(replies, roster, towns)
    states = resident_states(roster, replies, follow_ups)
    per_town = town_table(states, towns.assign(name=towns["town_code"]))
    categories: Counter = Counter()
    for cats in posts["categories"]:
        for cat in cats if isinstance(cats, list) else ([cats] if cats else []):
            categories[str(cat)] += 1
    actions = Counter(
        f"{a}|{o}" for a, o in zip(follow_ups["action"], follow_ups["outcome"], strict=True)
    )
    town = per_town.set_index(per_town["town_code"].fillna("(none)"))
    return {
        "residents": int(len(roster)),
        "replies": int(len(replies)),
        "posts": int(len(posts)),
        "follow_ups": int(len(follow_ups)),
        "replies_by_town_status": {
            f"{t or '(none)'}|{s}": int(n)
            for t, s, n in by_status[["town_code", "status", "replies"]].itertuples(index=False)
        },
        "residents_by_town": {k: int(v) for k, v in town["registered"].items()},
        "non_responders_by_town": {k: int(v) for k, v in town["not_replied"].items()},
        "latest_status_by_town": {
            f"{k}|{s}": int(town.loc[k, s])
            for k in town.index
            for s in ("無事", "負傷", "要救助", "不明")
            if int(town.loc[k, s])
        },
        "posts_by_category": dict(sorted(categories.items())),
        "follow_ups_by_action_outcome": dict(sorted(actions.items())),
        "campaign_figures": (
            _campaign_figures(campaigns, deliveries, replies) if campaigns is not None else {}
        ),
    }


def _frames(store) -> dict[str, pd.DataFrame]:
    return {
        "roster": store.read("roster"),
        "safety_replies": store.read("safety_replies"),
        "follow_ups": store.read("follow_ups"),
        "posts": store.read("posts", columns=["categories", "author", "url", "text"]),
        "towns": store.read("towns", columns=["town_code", "geometry"]),
        "campaigns": store.read("campaigns"),
        "deliveries": store.read("deliveries"),
    }


def aggregate_counts(store) -> dict:
    """The counts a purge must keep, read from the store (see the module docstring)."""
    f = _frames(store)
    return _aggregates(f["roster"], f["safety_replies"], f["towns"], f["posts"], f["follow_ups"],
                       f["campaigns"], f["deliveries"])  # fmt: skip


# -- the purge ------------------------------------------------------------------------------------


def _pseudonym(key: bytes, resident_id: str) -> str:
    digest = hmac.new(key, resident_id.encode(), hashlib.sha256).hexdigest()[:24]
    return PSEUDONYM_PREFIX + digest


def _town_points(towns: gpd.GeoDataFrame) -> dict:
    if towns.empty:
        return {}
    reps = towns.geometry.representative_point()
    return dict(zip(towns["town_code"], reps, strict=True))


def _containing_town(points: gpd.GeoSeries, towns: gpd.GeoDataFrame) -> pd.Series:
    out = pd.Series([None] * len(points), index=points.index, dtype=object)
    if towns.empty or points.empty:
        return out
    has = points.notna() & ~points.is_empty
    if not has.any():
        return out
    pts = gpd.GeoDataFrame(geometry=points[has], crs=points.crs)
    hit = gpd.sjoin(pts, towns[["town_code", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    out.loc[hit.index] = hit["town_code"].astype(object).where(hit["town_code"].notna(), None)
    return out


def _texts(store, layer: str) -> pd.DataFrame:
    return store.read(layer, columns=list(TEXT_COLUMNS[layer]))


def _same_point(a, b) -> bool:
    if a is None or (hasattr(a, "is_empty") and a.is_empty):
        return b is None or (hasattr(b, "is_empty") and b.is_empty)
    return b is not None and not b.is_empty and a.equals_exact(b, 1e-12)


def _moved_to(points: list, moved: list):
    """For :func:`_scrub_people`: a moved row's point becomes its town's representative point."""

    def extra(i, old, new) -> dict:
        if not moved[i]:
            return {}
        return {"geometry": points[i], "located_by": "town" if points[i] is not None else "none"}

    return extra


def _scrub_people(frame, layer: str, remap, extra=None) -> tuple[list, pd.DataFrame]:
    """The updates that null ``layer``'s personal columns and pseudonymise its resident ids,
    and the frame as it then is. ``extra(i, old id, new id)`` adds a row's other changes
    (keyed by the row's stored key, read before any change)."""
    cols = list(personal_columns(layer))
    key = LAYERS[layer].key
    new_ids = remap(frame["resident_id"])
    rows = []
    for i in range(len(frame)):
        values = {c: None for c in cols if frame[c].iloc[i] is not None}
        old, new = frame["resident_id"].iloc[i], new_ids.iloc[i]
        if new != old and old is not None:
            values["resident_id"] = new
        if extra is not None:
            values.update(extra(i, old, new))
        if values:
            rows.append((tuple(frame[k].iloc[i] for k in key), values))
    frame = frame.copy()
    for c in cols:
        frame[c] = None
    frame["resident_id"] = new_ids
    return rows, frame


def _count_nonnull(frame: pd.DataFrame, cols) -> dict[str, int]:
    return {c: int(frame[c].notna().sum()) for c in cols if c in frame.columns}


@dataclass
class _Plan:
    frames: dict
    updates: dict  # layer -> list of (key tuple, {column: value})
    audit: list  # (id, old, new)
    rejections: list  # (id, raw, reason)
    health: list  # (source, last_error)
    report: PurgeReport


def _plan(store, dry_run: bool) -> _Plan:
    f = _frames(store)
    before = _aggregates(f["roster"], f["safety_replies"], f["towns"], f["posts"], f["follow_ups"],
                         f["campaigns"], f["deliveries"])  # fmt: skip
    report = PurgeReport(dry_run=dry_run)
    key = secrets.token_bytes(32)  # one-time: pseudonyms cannot be recomputed afterwards
    ids = set()
    for layer in ("roster", "safety_replies", "follow_ups", "deliveries"):
        ids |= {
            r for r in f[layer]["resident_id"].dropna() if not str(r).startswith(PSEUDONYM_PREFIX)
        }
    ids.discard(EVERYONE)  # a broadcast's row names nobody
    mapping = {r: _pseudonym(key, str(r)) for r in ids}
    report.pseudonymized = len(mapping)
    town_points = _town_points(f["towns"])
    updates: dict[str, list] = {}
    new_frames = dict(f)

    def remap(series: pd.Series) -> pd.Series:
        return series.astype(object).map(lambda r: mapping.get(r, r) if r is not None else None)

    # roster: personal columns, resident id, home point -> the town's representative point
    roster = f["roster"]
    report.nulled["roster"] = _count_nonnull(roster, personal_columns("roster"))
    homes = [town_points.get(t) for t in roster["town_code"]]
    moved = [not _same_point(a, b) for a, b in zip(roster.geometry, homes, strict=True)]
    report.moved_points["roster"] = int(sum(moved))
    updates["roster"], roster = _scrub_people(roster, "roster", remap, _moved_to(homes, moved))
    roster = roster.set_geometry(gpd.GeoSeries(homes, index=roster.index, crs=roster.crs))
    new_frames["roster"] = roster

    # safety replies: needs text, sender id, resident id, point -> town's representative point
    replies = f["safety_replies"]
    report.nulled["safety_replies"] = _count_nonnull(replies, personal_columns("safety_replies"))
    towns_of = _containing_town(replies.geometry, f["towns"])
    snapped = [town_points.get(t) if t is not None else None for t in towns_of]
    moved = [not _same_point(a, b) for a, b in zip(replies.geometry, snapped, strict=True)]
    report.moved_points["safety_replies"] = int(sum(moved))
    updates["safety_replies"], replies = _scrub_people(
        replies, "safety_replies", remap, _moved_to(snapped, moved)
    )
    replies = replies.set_geometry(gpd.GeoSeries(snapped, index=replies.index, crs=replies.crs))
    new_frames["safety_replies"] = replies

    # follow-ups: note and resident id
    fol = f["follow_ups"]
    report.nulled["follow_ups"] = _count_nonnull(fol, personal_columns("follow_ups"))
    updates["follow_ups"], fol = _scrub_people(fol, "follow_ups", remap)
    new_frames["follow_ups"] = fol

    # the delivery log: the LINE user id / phone each message went to, and the resident id
    sent = f["deliveries"]
    report.nulled["deliveries"] = _count_nonnull(sent, personal_columns("deliveries"))

    def renamed(i, old, new):  # the id ends in the resident's: campaign:channel:kind:round:resident
        row_id = str(sent["id"].iloc[i])
        if new != old and old is not None and row_id.endswith(str(old)):
            return {"id": row_id[: -len(str(old))] + new}
        return {}

    updates["deliveries"], sent = _scrub_people(sent, "deliveries", remap, renamed)
    new_frames["deliveries"] = sent  # (ids are not read by the aggregates)

    # posts: author and URL nulled; free texts (posts, field reports, shelter notes) lose the
    # roster's names and addresses, phone numbers and @handles
    terms = PersonalTerms.from_roster(f["roster"])
    posts = f["posts"].copy()
    cols = list(personal_columns("posts"))
    report.nulled["posts"] = _count_nonnull(posts, cols)
    texts = {layer: _texts(store, layer) for layer in TEXT_COLUMNS if TEXT_COLUMNS[layer]}
    texts["posts"] = posts
    for layer, frame in texts.items():
        spec = LAYERS[layer]
        rows = []
        redacted = 0
        for i in range(len(frame)):
            nulls = cols if layer == "posts" else ()
            values = {c: None for c in nulls if frame[c].iloc[i] is not None}
            for c in TEXT_COLUMNS[layer]:
                old_text = frame[c].iloc[i]
                new_text = redact_text(terms.redact(old_text), handles=layer == "posts")
                if isinstance(old_text, str) and new_text != old_text:
                    values[c] = new_text
                    redacted += 1
            if values:
                rows.append((tuple(frame[k].iloc[i] for k in spec.key), values))
        updates[layer] = rows
        report.redacted_texts[layer] = redacted
    for c in cols:
        posts[c] = None
    new_frames["posts"] = posts

    after = _aggregates(
        new_frames["roster"],
        new_frames["safety_replies"],
        f["towns"],
        posts,
        new_frames["follow_ups"],
        f["campaigns"],
        new_frames["deliveries"],
    )
    if after != before:
        changed = sorted(k for k in before if before[k] != after.get(k))
        raise PurgeError(f"the purge would change aggregate counts ({', '.join(changed)})")
    report.aggregates = before
    audit = _plan_audit(store, mapping, terms)
    rejections = _plan_rejections(store, terms)
    health = _plan_health(store, terms)
    report.audit_rows = len(audit)
    report.rejections = len(rejections)
    report.health_errors = len(health)
    return _Plan(new_frames, updates, audit, rejections, health, report)


def _scrub_record(layer: str, text: str | None, mapping: dict, terms: PersonalTerms) -> str | None:
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return redact_text(terms.redact(text))
    if not isinstance(record, dict):
        return text
    for col in personal_columns(layer):
        if col in record:
            record[col] = None
    for col in TEXT_COLUMNS.get(layer, ()):
        if isinstance(record.get(col), str):
            record[col] = redact_text(terms.redact(record[col]), handles=layer == "posts")
    if "resident_id" in record and record["resident_id"] in mapping:
        record["resident_id"] = mapping[record["resident_id"]]
    if layer in ("roster", "safety_replies") and "geometry" in record:
        record["geometry"] = None
    return json.dumps(record, ensure_ascii=False)


def _plan_audit(store, mapping: dict, terms: PersonalTerms) -> list:
    t = store.tables["audit_log"]
    with store._read() as conn:
        rows = conn.execute(
            sa.select(t.c.id, t.c.layer, t.c.record_key, t.c.old, t.c.new).where(
                t.c.layer.in_(PURGE_LAYERS + tuple(TEXT_COLUMNS))
            )
        ).all()
    out = []
    for rid, layer, record_key, old, new in rows:
        s_old = _scrub_record(layer, old, mapping, terms)
        s_new = _scrub_record(layer, new, mapping, terms)
        s_key = mapping.get(record_key, record_key) if layer == "roster" else record_key
        if (s_old, s_new, s_key) != (old, new, record_key):
            out.append((rid, s_old, s_new, s_key))
    return out


def _plan_rejections(store, terms: PersonalTerms) -> list:
    """(id, raw, reason) to write: raw records of personal layers (or of no layer) dropped, the
    others and every reason redacted."""
    t = store.tables["rejections"]
    with store._read() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c.layer, t.c.raw, t.c.reason)).all()
    out = []
    for rid, layer, raw, reason in rows:
        new_raw = None if layer in PURGE_LAYERS or layer is None else _redact(terms, raw)
        new_reason = _redact(terms, reason)
        if (new_raw, new_reason) != (raw, reason):
            out.append((rid, new_raw, new_reason))
    return out


def _redact(terms: PersonalTerms, text: str | None) -> str | None:
    return redact_text(terms.redact(text)) if isinstance(text, str) else text


def _plan_health(store, terms: PersonalTerms) -> list:
    """(source, last_error) to write: error texts of the sources, redacted."""
    t = store.tables["source_health"]
    with store._read() as conn:
        rows = conn.execute(sa.select(t.c.source, t.c.last_error)).all()
    return [(src, _redact(terms, err)) for src, err in rows if _redact(terms, err) != err]


def _geometry_values(geom) -> dict:
    if geom is None or geom.is_empty:
        return {"geometry": None, "minx": None, "miny": None, "maxx": None, "maxy": None}
    minx, miny, maxx, maxy = geom.bounds
    wkb = shapely.to_wkb(geom)
    return {"geometry": bytes(wkb), "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def _write_plan(store, plan: _Plan) -> None:
    stamp = db_time(now_utc(), store.postgres)
    with store._write() as conn:
        for layer, rows in plan.updates.items():
            if not rows:
                continue
            spec = LAYERS[layer]
            table = store.tables[layer]
            for key, values in rows:
                values = dict(values)
                if "geometry" in values:
                    values.update(_geometry_values(values.pop("geometry")))
                values["row_hash"] = None
                values["stored_at"] = stamp  # readers that follow changes see the scrub
                if layer == "posts" and "text" in values:
                    values["text_fp"] = text_digest(values["text"])
                cond = [table.c[k] == v for k, v in zip(spec.key, key, strict=True)]
                conn.execute(sa.update(table).where(*cond).values(**values))
            store._bump(conn, layer)
        audit = store.tables["audit_log"]
        for rid, old, new, record_key in plan.audit:
            conn.execute(
                sa.update(audit)
                .where(audit.c.id == rid)
                .values(old=old, new=new, record_key=record_key)
            )
        rej = store.tables["rejections"]
        for rid, raw, reason in plan.rejections:
            conn.execute(sa.update(rej).where(rej.c.id == rid).values(raw=raw, reason=reason))
        if plan.rejections:
            store._bump(conn, "rejections")
        health = store.tables["source_health"]
        for source, error in plan.health:
            conn.execute(
                sa.update(health).where(health.c.source == source).values(last_error=error)
            )
        if plan.health:
            store._bump(conn, "source_health")
        meta = store.tables["meta"]
        conn.execute(sa.delete(meta).where(meta.c.key == _META_PURGED))
        conn.execute(sa.insert(meta).values(key=_META_PURGED, value=now_utc().isoformat()))


def purge_personal(store, *, dry_run: bool = False, actor: str) -> PurgeReport:
    """Remove personal data from the store, keeping every aggregate count (module docstring).

    Parameters
    ----------
    dry_run : compute and report what would change; write nothing (not even the audit log).
    actor : who runs the purge (audit log).

    Returns
    -------
    PurgeReport : counts of what was (or would be) removed, and the aggregates.

    Raises
    ------
    PurgeError : the purged data would not give the same aggregate counts (nothing written).
    """
    plan = _plan(store, dry_run)
    report = plan.report
    if dry_run:
        return report
    if report.changed:
        _write_plan(store, plan)
    after = aggregate_counts(store)
    report.verified = after == report.aggregates
    store.log_action(actor, "purge:personal", None, report.summary())
    if not report.verified:
        raise PurgeError("aggregate counts read back after the purge differ")
    return report
