"""The drill's SNS posts as one columnar table: when, where, what, and the ground truth.

Vectorized with numpy: times from an intensity curve, categories from a per-phase mix, towns
from population (flood posts from the flood-hazard towns during the overflow), then the text
from templates. The payload builders (``drill_payloads``) turn rows into API-shaped records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.drill import texts as tx
from ingest.drill.world import FLOOD_TOWN_SHARE, World, points_in_towns

HOURS = 24.0  # the timeline: T0 (warnings) .. T0 + 24 h (the anchor)
PHASE_STARTS = np.array([0.0, 6.0, 9.0, 12.0, 16.0])  # warn, rain, overflow, peak, recovery
PHASES = ("warning", "heavy_rain", "overflow", "peak", "recovery")
CATS = (tx.FLOOD, tx.SLIDE, tx.FIRE, tx.BUILDING, tx.ROAD, tx.POWER, tx.WATER, tx.RESCUE,
        tx.SHELTER, tx.OTHER)  # fmt: skip
# Category mix per phase (rows follow PHASES, columns CATS).
CAT_MIX = np.array([
    [0.03, 0.01, 0.01, 0.04, 0.20, 0.02, 0.00, 0.00, 0.20, 0.49],
    [0.25, 0.06, 0.01, 0.06, 0.15, 0.06, 0.01, 0.02, 0.14, 0.24],
    [0.40, 0.04, 0.01, 0.05, 0.10, 0.08, 0.02, 0.08, 0.12, 0.10],
    [0.35, 0.03, 0.02, 0.07, 0.10, 0.10, 0.05, 0.08, 0.10, 0.10],
    [0.12, 0.02, 0.02, 0.06, 0.15, 0.12, 0.12, 0.02, 0.12, 0.25],
])  # fmt: skip
# Posts per hour, relative: (hour, rate) knots.
INTENSITY = ((0, 1.0), (3, 1.5), (6, 2.5), (8, 3.5), (9, 6.0), (11, 8.0), (13, 7.0),
             (16, 4.5), (20, 2.5), (24, 1.5))  # fmt: skip
# Share of flood / rescue posts placed in flood towns, per phase.
FLOOD_BIAS = np.array([0.0, 0.35, 0.85, 0.85, 0.6])
RESCUE_BIAS = np.array([0.0, 0.3, 0.8, 0.8, 0.4])
KINDS = ("chome", "town", "landmark", "shelter", "area", "none")
KIND_MIX_JA = np.array([0.30, 0.17, 0.15, 0.08, 0.12, 0.18])
KIND_MIX_EN = np.array([0.25, 0.35, 0.25, 0.0, 0.0, 0.15])
PLATFORM_SHARE = {"mastodon": 0.55, "bluesky": 0.40, "file": 0.05}
BOOST_SHARE = 0.08  # of Mastodon statuses
RUMOUR_SHARE = 0.03
EN_SHARE = 0.10


def _has(categories: np.ndarray, category: str) -> np.ndarray:
    """Whether each post's categories include ``category`` (vectorized over unique tuples)."""
    codes, uniq = pd.factorize(pd.Series(categories, dtype=object))
    return np.array([category in cs for cs in uniq], dtype=bool)[codes]


def _obj(items: list) -> np.ndarray:
    """An object array holding ``items`` as they are (tuples stay elements)."""
    return np.fromiter(items, dtype=object, count=len(items))


def sample_offsets(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` sorted times in seconds after T0, following the INTENSITY curve."""
    hours, rates = np.array(INTENSITY).T
    grid = np.linspace(0.0, HOURS, 24 * 60 + 1)
    rate = np.interp(grid, hours, rates)
    cdf = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2)])
    cdf /= cdf[-1]
    return np.sort(np.interp(rng.random(n), cdf, grid) * 3600.0)


def phase_of(offset_s: np.ndarray) -> np.ndarray:
    """Phase index (into PHASES) of times in seconds after T0."""
    return np.searchsorted(PHASE_STARTS, np.asarray(offset_s) / 3600.0, side="right") - 1


def _pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One choice per element from the distribution ``probs[rows[i]]`` (vectorized)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1)


def _weights(world: World) -> dict[str, np.ndarray]:
    towns = world.towns
    pop = towns["population"].to_numpy(float)
    flood = np.where(
        towns["flood_share"] >= FLOOD_TOWN_SHARE, (pop + 300) * towns["flood_share"], 0
    )
    slope = np.where(towns["slope"], pop, 0.0)
    general = world.shelters[~world.shelters["welfare"]]
    per_town = general["town_code"].value_counts()
    shelter = towns["town_code"].map(per_town).fillna(0).to_numpy(float)
    out = {"pop": pop, "flood": flood, "slope": slope, "shelter": shelter}
    return {k: v / v.sum() if v.sum() else pop / pop.sum() for k, v in out.items()}


def _event_towns(world, rng, phase, cat) -> np.ndarray:
    """The town each post is about (row position in world.towns)."""
    w = _weights(world)
    n = len(phase)
    which = np.zeros(n, dtype=np.int8)  # 0 pop, 1 flood, 2 slope, 3 shelter
    u = rng.random(n)
    which[(cat == CATS.index(tx.FLOOD)) & (u < FLOOD_BIAS[phase])] = 1
    which[(cat == CATS.index(tx.RESCUE)) & (u < RESCUE_BIAS[phase])] = 1
    which[cat == CATS.index(tx.SLIDE)] = 2
    which[(cat == CATS.index(tx.SHELTER)) & (u < 0.8)] = 3
    town = np.empty(n, dtype=np.int64)
    for code, key in enumerate(("pop", "flood", "slope", "shelter")):
        sel = np.flatnonzero(which == code)
        town[sel] = rng.choice(len(w[key]), size=len(sel), p=w[key])
    return town


def _candidates(world: World) -> dict[tuple[int, str, str], list[tuple[str, str, str]]]:
    """Per (town row, kind, lang): the place phrases (surface, level, canonical name)."""
    out: dict = {}
    towns = world.towns
    pos = {c: i for i, c in enumerate(towns["town_code"])}
    for i, (base, chome, name) in enumerate(
        zip(towns["base"], towns["chome"], towns["name"], strict=True)
    ):
        ja = tx.town_spellings(base, int(chome))
        en = tx.town_spellings_en(base, int(chome))
        out[i, "chome", "ja"] = [(s, lv, name) for s, lv in ja if lv == "chome"]
        out[i, "town", "ja"] = [(s, lv, name) for s, lv in ja if lv == "town"]
        out[i, "chome", "en"] = [(s, lv, name) for s, lv in en if lv == "chome"]
        out[i, "town", "en"] = [(s, lv, name) for s, lv in en if lv == "town"]
        out[i, "area", "ja"] = [(a, "area", a) for a, bases in tx.AREAS.items() if base in bases]
    for row in world.landmarks.itertuples():
        i = pos[row.town_code]
        for s in tx.LANDMARK_SPELLINGS.get(row.name, [row.name]):
            out.setdefault((i, "landmark", "ja"), []).append((s, "landmark", row.name))
        out.setdefault((i, "landmark", "en"), []).append((row.name_en, "landmark", row.name))
    for row in world.shelters.itertuples():
        if row.town_code not in pos:
            continue
        for s in tx.shelter_spellings(row.name):
            out.setdefault((pos[row.town_code], "shelter", "ja"), []).append(
                (s, "shelter", row.name)
            )
    return {k: v for k, v in out.items() if v}


def _places(world, rng, town, kind, lang) -> tuple[list, list, list]:
    """Place phrase, level and canonical name per post; falls back chome -> town."""
    cands = _candidates(world)
    n = len(town)
    surface = np.empty(n, dtype=object)
    level = np.empty(n, dtype=object)
    canon = np.empty(n, dtype=object)
    none = kind == KINDS.index("none")
    for lg, phrases in (("ja", tx.NO_PLACE_JA), ("en", tx.NO_PLACE_EN)):
        sel = np.flatnonzero(none & (lang == lg))
        surface[sel] = np.array(phrases, dtype=object)[rng.integers(len(phrases), size=len(sel))]
        level[sel] = "none"
    key = town * 16 + kind * 2 + (lang == "en")
    order = np.argsort(key, kind="stable")
    uniq, starts = np.unique(key[order], return_index=True)
    bounds = np.append(starts, n)
    for j, k in enumerate(uniq):
        t, kd, lg = int(k // 16), int(k % 16 // 2), ("en" if k % 2 else "ja")
        if KINDS[kd] == "none":
            continue
        idx = order[bounds[j] : bounds[j + 1]]
        options = (
            cands.get((t, KINDS[kd], lg)) or cands.get((t, "chome", lg)) or cands[t, "town", lg]
        )
        pick = rng.integers(len(options), size=len(idx))
        surface[idx] = [options[p][0] for p in pick]
        level[idx] = [options[p][1] for p in pick]
        canon[idx] = [options[p][2] for p in pick]
    return surface, level, canon


def generate_posts(world: World, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """The drill's posts, sorted by time: one row per post with payload fields and truth.

    Columns: offset_s (seconds after T0), phase, platform (mastodon, bluesky, x, threads),
    lang, body (text without hashtags/link), emoji, tags (hashtag names), link, photo,
    place, place_level (chome, town, area, landmark, shelter, none), place_name,
    event_town (the town the post is about), town_code (what a perfect geocoder returns: the
    event town, or None when neither the text nor a geotag locates it), categories (truth),
    urgency, hearsay, negated, rumour (group, -1), copy_of / repost_of (row, -1), author
    (per platform), lon, lat (geotag; only in the generic posts file).
    """
    if n <= 0:
        return pd.DataFrame()
    offset = sample_offsets(n, rng)
    phase = phase_of(offset)
    cat = _pick(rng, CAT_MIX, phase)
    lang = np.where(rng.random(n) < EN_SHARE, "en", "ja")
    town = _event_towns(world, rng, phase, cat)
    kind_mix = np.vstack([KIND_MIX_JA, KIND_MIX_EN])
    kind = _pick(rng, kind_mix, (lang == "en").astype(int))
    shelter_cat = (cat == CATS.index(tx.SHELTER)) & (lang == "ja") & (rng.random(n) < 0.8)
    kind[shelter_cat] = KINDS.index("shelter")
    kind[(cat == CATS.index(tx.RESCUE)) & (kind == KINDS.index("none"))] = KINDS.index("chome")
    place, level, canon = _places(world, rng, town, kind, lang)

    style = np.zeros(n, dtype=np.int8)  # 0 plain, 1 hearsay, 2 negated
    u = rng.random(n)
    hearsay_ok = np.isin(cat, [CATS.index(c) for c in tx.HEARSAY]) & (lang == "ja")
    style[hearsay_ok & (u < 0.12)] = 1
    style[(u > 0.97)] = 2
    tpl_u = rng.random(n)
    body = np.empty(n, dtype=object)
    cats_out = np.empty(n, dtype=object)
    for ci, c in enumerate(CATS):
        for lg, table in (("ja", tx.JA), ("en", tx.EN)):
            sel = np.flatnonzero((cat == ci) & (lang == lg) & (style == 0))
            tpls = table[c]
            pick = (tpl_u[sel] * len(tpls)).astype(int)
            body[sel] = [tpls[k][0].format(p=place[i]) for k, i in zip(pick, sel, strict=True)]
            cats_out[sel] = _obj([(c, *tpls[k][1]) for k in pick])
        if c in tx.HEARSAY:
            sel = np.flatnonzero((cat == ci) & (style == 1))
            tpls = tx.HEARSAY[c]
            pick = (tpl_u[sel] * len(tpls)).astype(int)
            body[sel] = [tpls[k].format(p=place[i]) for k, i in zip(pick, sel, strict=True)]
            cats_out[sel] = _obj([(c,)] * len(sel))
    for lg, tpls in (("ja", tx.NEGATED_JA), ("en", tx.NEGATED_EN)):
        sel = np.flatnonzero((style == 2) & (lang == lg))
        pick = (tpl_u[sel] * len(tpls)).astype(int)
        body[sel] = [tpls[k].format(p=place[i]) for k, i in zip(pick, sel, strict=True)]
        cats_out[sel] = _obj([(tx.OTHER,)] * len(sel))

    c = {
        "offset_s": np.round(offset, 3),
        "phase": phase,
        "lang": lang,
        "body": body,
        "place": place,
        "place_level": level,
        "place_name": canon,
        "event_town": town,
        "categories": cats_out,
        "hearsay": style == 1,
        "negated": style == 2,
        "rumour": np.full(n, -1),
        "copy_of": np.full(n, -1),
        "repost_of": np.full(n, -1),
    }
    _add_rumours(c, world, rng)
    _add_platforms(c, rng)
    _add_decorations(c, rng)
    _add_geotags(c, world, rng)
    c["urgency"] = _urgency(c["categories"], c["hearsay"], c["negated"])
    codes = world.towns["town_code"].to_numpy(object)
    c["event_town"] = codes[c["event_town"]]
    locatable = (c["place_level"] != "none") | ~np.isnan(c["lat"])
    c["town_code"] = np.where(locatable, c["event_town"], None)
    # Object columns, not Arrow strings: building and iterating those is slow at 1M rows.
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object) if v.dtype == object else v for k, v in c.items()}
    )


def _urgency(categories: np.ndarray, hearsay: np.ndarray, negated: np.ndarray) -> np.ndarray:
    """Truth urgency: the most urgent category; one less for hearsay, 0 for a negation."""
    codes, uniq = pd.factorize(pd.Series(categories, dtype=object))
    top = np.array([max(tx.URGENCY[k] for k in cs) for cs in uniq], dtype=int)
    single = np.array([len(cs) == 1 for cs in uniq], dtype=bool)
    urgency = top[codes] - (hearsay & single[codes])
    return np.where(negated, 0, urgency)


def _add_rumours(c: dict, world: World, rng: np.random.Generator) -> None:
    """Turn a few posts into copy-paste rumours: groups of near-identical texts."""
    n = len(c["body"])
    cand = np.flatnonzero((c["phase"] >= 1) & (c["lang"] == "ja"))
    k = min(int(round(n * RUMOUR_SHARE)), len(cand))
    if k < 2:
        return
    rows = np.sort(rng.choice(cand, size=k, replace=False))
    groups = max(1, k // 25)
    group = rng.integers(groups, size=k)
    towns = world.towns
    # "多摩川の堤防が多摩川で" reads wrong: rumours name the other riverside towns.
    flood_towns = np.flatnonzero(
        (towns["flood_share"] >= FLOOD_TOWN_SHARE) & (towns["base"] != "多摩川")
    )
    g_tpl = rng.integers(len(tx.RUMOURS), size=groups)
    g_town = rng.choice(flood_towns, size=groups)
    prefix = rng.integers(len(tx.RUMOUR_PREFIXES), size=k)
    suffix = rng.integers(len(tx.RUMOUR_SUFFIXES), size=k)
    bases = world.towns["base"].to_numpy(object)[g_town[group]]
    c["body"][rows] = [
        tx.RUMOUR_PREFIXES[prefix[j]] + tx.RUMOURS[g_tpl[g]][0].format(p=bases[j])
        + tx.RUMOUR_SUFFIXES[suffix[j]]
        for j, g in enumerate(group)
    ]  # fmt: skip
    c["place"][rows] = bases
    c["place_name"][rows] = bases
    c["place_level"][rows] = "town"
    c["event_town"][rows] = g_town[group]
    c["categories"][rows] = _obj([tx.RUMOURS[g_tpl[g]][1] for g in group])
    c["hearsay"][rows] = True
    c["negated"][rows] = False
    c["rumour"][rows] = group
    # The earliest post of a group is the original; the others copy it.
    _, first_pos = np.unique(group, return_index=True)
    first_row = np.full(groups, -1)
    first_row[group[first_pos]] = rows[first_pos]
    copy_of = first_row[group]
    c["copy_of"][rows] = np.where(copy_of == rows, -1, copy_of)


def _add_platforms(c: dict, rng: np.random.Generator) -> None:
    n = len(c["body"])
    u = rng.random(n)
    share = PLATFORM_SHARE
    platform = np.where(u < share["mastodon"], "mastodon", "bluesky").astype(object)
    file_rows = u >= 1 - share["file"]
    platform[file_rows] = np.where(rng.random(int(file_rows.sum())) < 0.7, "x", "threads")
    c["platform"] = platform
    # Boosts: Mastodon statuses that re-share a recent earlier status.
    masto = np.flatnonzero(platform == "mastodon")
    boost = masto[rng.random(len(masto)) < BOOST_SHARE]
    originals = np.setdiff1d(masto, boost)
    before = np.searchsorted(originals, boost)
    back = np.minimum(rng.geometric(0.05, size=len(boost)), np.maximum(before, 1)) - 1
    ok = before > 0
    boost, target = boost[ok], originals[(before - 1 - back)[ok]]
    for col in ("body", "place", "place_level", "place_name", "event_town", "categories",
                "hearsay", "negated", "rumour", "lang"):  # fmt: skip
        c[col][boost] = c[col][target]
    c["repost_of"][boost] = target
    c["copy_of"][boost] = -1
    authors = np.zeros(n, dtype=np.int64)
    for name in ("mastodon", "bluesky", "x", "threads"):
        sel = np.flatnonzero(platform == name)
        pool = max(20, len(sel) // 5)
        authors[sel] = (pool * rng.random(len(sel)) ** 2).astype(np.int64)
    c["author"] = authors


def _add_decorations(c: dict, rng: np.random.Generator) -> None:
    """Hashtags, emoji, a link, a photo: the noise around the words."""
    n = len(c["body"])
    ja = c["lang"] == "ja"
    u = rng.random((n, 5))
    emoji = np.array(tx.EMOJI, dtype=object)[rng.integers(len(tx.EMOJI), size=n)]
    c["emoji"] = np.where(u[:, 0] < np.where(ja, 0.25, 0.1), emoji, "").astype(object)
    n_tags = np.where(u[:, 1] < 0.4, 1 + (u[:, 2] * 3).astype(int), 0)
    first = rng.integers(len(tx.HASHTAGS) - 1, size=n)
    flood = _has(c["categories"], tx.FLOOD)
    # A post's tags depend on (language, first tag, how many, flood): a small lookup table.
    pools = {1: tx.HASHTAGS, 0: ("Chofu", "typhoon", "Tamagawa")}
    key = ((ja.astype(int) * len(tx.HASHTAGS) + first) * 4 + n_tags) * 2 + (flood & ja)
    uniq, inverse = np.unique(key, return_inverse=True)
    table = []
    for k in uniq:
        k, fl = divmod(int(k), 2)
        k, count = divmod(k, 4)
        lang_ja, start = divmod(k, len(tx.HASHTAGS))
        pool = pools[lang_ja]
        chosen = [pool[(start + j) % len(pool)] for j in range(min(count, len(pool)))]
        if fl and chosen and "多摩川" not in chosen:
            chosen[-1] = "多摩川"
        table.append(tuple(dict.fromkeys(chosen)))
    tags = _obj(table)[inverse.ravel()]
    c["tags"] = tags
    link = np.full(n, "", dtype=object)
    sel = np.flatnonzero(u[:, 3] < 0.05)
    kinds = rng.integers(len(tx.URLS), size=len(sel))
    ids = rng.integers(16**8, size=len(sel))
    link[sel] = [
        tx.URLS[k] + (f"{i:08x}" if tx.URLS[k].endswith("/p/") else "")
        for k, i in zip(kinds, ids, strict=True)
    ]
    c["link"] = link
    damage = np.zeros(n, dtype=bool)
    for cat in (tx.FLOOD, tx.BUILDING, tx.SLIDE, tx.FIRE):
        damage |= _has(c["categories"], cat)
    c["photo"] = damage & (u[:, 4] < 0.15)


def _add_geotags(c: dict, world: World, rng: np.random.Generator) -> None:
    """Points for the generic-file posts (~90% of them): inside the event town, and inside its
    flood-assumed part for flood posts from the overflow on."""
    n = len(c["body"])
    c["lon"] = np.full(n, np.nan)
    c["lat"] = np.full(n, np.nan)
    is_file = np.isin(c["platform"], ["x", "threads"])
    rows = np.flatnonzero(is_file & (rng.random(n) < 0.9))
    if not len(rows):
        return
    flood = _has(c["categories"][rows], tx.FLOOD)
    in_flood = flood & (c["phase"][rows] >= 2)
    lon, lat = points_in_towns(world, c["event_town"][rows].astype(np.int64), in_flood, rng)
    c["lon"][rows] = np.round(lon, 6)
    c["lat"][rows] = np.round(lat, 6)
