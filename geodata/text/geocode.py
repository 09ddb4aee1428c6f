"""Offline gazetteer geocoding: place names and addresses in post text -> point + town.

One regex, built once as a trie of every spelling of every town, shelter and landmark of the
municipality, scans a whole batch of texts in a single pass (:func:`Gazetteer.geocode_many`).
Each match becomes a candidate; per text the most specific candidate wins::

    address (国領町3-1-2) > 丁目 (国領町3丁目) = shelter (第二小学校) > town (国領町)
        > landmark (調布駅) > river / area (多摩川, つつじヶ丘)

Two different places at the top level (国領町3丁目と布田2丁目) give ``"ambiguous"`` with no
point: the geocoder never guesses. Names after another municipality (府中市若松町) are skipped.
A geotag always beats the text (:meth:`Gazetteer.resolve_location`).

Over ~400 lines on purpose: one class, :class:`Gazetteer`, whose trie, candidate ranking and
context checks share private state built once per municipality; split, each part would
reach into the others' internals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.reference.files import find_reference_files
from geodata.reference.layers import load_shelters, load_towns
from geodata.text import gazetteer as gz

METHODS = ("address", "town", "shelter", "landmark", "geotag", "ambiguous", "none")

# Candidate ranks: the most specific wins.
_RANK_ADDRESS, _RANK_CHOME, _RANK_TOWN, _RANK_LANDMARK, _RANK_AREA = 5, 4, 3, 2, 1

_CONF_ADDRESS = 0.95
_CONF_CHOME = 0.9
_CONF_SHORT_CHOME = 0.85  # 町 omitted: 国領3丁目
_CONF_FAMILY_CHOME = 0.6  # only one of several towns has that 丁目: つつじヶ丘4丁目
_CONF_SHELTER = 0.85
_CONF_TOWN = 0.6  # a town of several 丁目: the point is only the middle of the town
_CONF_TOWN_SINGLE = 0.8  # a town with one polygon (西町)
_CONF_AMBIGUOUS = 0.2
_CONFLICT_FACTOR = 0.8  # a less specific place elsewhere in the text
_CACHE_LIMIT = 200_000  # matched texts / text signatures remembered between calls
_SAME_PLACE_DEG = 0.003  # ~300 m: shelters closer than this are one place for a shared alias


@dataclass(frozen=True)
class GeocodeResult:
    """Where a text (or a geotag) puts a post.

    Attributes
    ----------
    point : shapely Point in EPSG:4326, or None (nothing found, or ambiguous).
    town_code : e-Stat KEY_CODE of the 町丁目, or None (several 丁目, ambiguous, river...).
    town_name : S_NAME of the 町丁目 (国領町三丁目) or the town as a whole (国領町), or None.
    method : address, town, shelter, landmark, geotag, ambiguous or none.
    confidence : 0..1; geotag 1.0, address 0.95, ambiguous <= 0.3, none 0.
    matched : the matched text (normalized: ASCII digits, lower case); ``|``-joined when
        ambiguous.
    geo_source : geotag, gazetteer or none (the posts layer's column).
    """

    point: shapely.Point | None
    town_code: str | None
    town_name: str | None
    method: str
    confidence: float
    matched: str | None
    geo_source: str = "none"


NO_PLACE = GeocodeResult(None, None, None, "none", 0.0, None, "none")


@dataclass(frozen=True)
class _Town:
    """One town (all its 丁目): base name, 丁目 number -> code, and the town's own point."""

    base: str
    chome: dict  # int | None -> town_code
    point: shapely.Point
    single_code: str | None


@dataclass(frozen=True)
class _Entry:
    """What a dictionary key stands for."""

    kind: str  # town, shelter, landmark, foreign
    towns: tuple[str, ...] = ()  # base names for kind "town" (several for a family)
    relation: str = "full"  # full, short, family
    bare: tuple = ("none",)  # without 丁目: ("town", base) | ("landmark", i) | ("none",)
    ref: int = -1  # shelter or landmark index
    short: bool = False  # nickname that must not follow a kanji (二小)


@dataclass(frozen=True, eq=False)  # cached per matched text: identity hash for the memo
class _Candidate:
    rank: int
    key: tuple
    codes: frozenset
    result: GeocodeResult
    prio: int = 0


class Gazetteer:
    """Towns, shelters and landmarks of one municipality, matched in text.

    Build it with :meth:`from_layers` (store layers) or :meth:`from_reference` (open-data files).
    """

    def __init__(
        self,
        towns: pd.DataFrame,
        shelters: pd.DataFrame,
        landmarks,
        city_code: str,
        city_name: str = "",
    ):
        self.city_code = city_code
        self.city_name = city_name
        self._build_towns(towns)
        self._landmarks = list(landmarks)
        self._build_shelters(shelters)
        self._build_pattern()
        self._memo: dict = {}  # candidates of a text -> result
        self._candidates: dict = {}  # matched text -> (candidate or False, context check)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_layers(
        cls,
        towns_gdf: gpd.GeoDataFrame,
        shelters_gdf: gpd.GeoDataFrame | None = None,
        landmarks: Sequence[gz.Landmark] | None = None,
    ) -> Gazetteer:
        """Build from the ``towns`` and ``shelters`` layers (see :mod:`geodata.schema`).

        Parameters
        ----------
        towns_gdf : columns town_code, name (S_NAME), optionally city_code / city_name; polygons.
            Rows sharing a town_code are merged.
        shelters_gdf : columns shelter_id, name, optionally town_code (else found by point).
        landmarks : :class:`geodata.text.gazetteer.Landmark` records; None takes the built-in table of
            the municipality (:data:`geodata.text.gazetteer.LANDMARKS`), ``()`` none.

        Examples
        --------
        >>> import shapely
        >>> towns = gpd.GeoDataFrame({"town_code": ["13208008003"], "name": ["国領町三丁目"]},
        ...     geometry=[shapely.box(139.55, 35.64, 139.56, 35.65)], crs=4326)
        >>> Gazetteer.from_layers(towns, landmarks=()).geocode("国領町3-1-2").method
        'address'
        """
        towns = (
            towns_gdf.to_crs(4326)
            if towns_gdf.crs and not towns_gdf.crs.equals(4326)
            else towns_gdf
        )
        codes = towns["town_code"].astype(str)
        if "city_code" in towns and towns["city_code"].notna().any():
            city_code = str(towns["city_code"].dropna().iloc[0])[:5]
        else:
            city_code = codes.iloc[0][:5] if len(codes) else ""
        city_name = ""
        if "city_name" in towns and towns["city_name"].notna().any():
            city_name = str(towns["city_name"].dropna().iloc[0])
        if landmarks is None:
            landmarks = gz.LANDMARKS.get(city_code, ())
        frame = pd.DataFrame(
            {"town_code": codes, "name": towns["name"], "geometry": towns.geometry}
        )
        shelters = _shelter_frame(shelters_gdf)
        return cls(frame, shelters, landmarks, city_code, city_name or _city_name(city_code))

    @classmethod
    def from_reference(cls, reference_dir: str | Path, city_code: str = "13208") -> Gazetteer:
        """Build straight from the reference files (no store needed).

        Uses the same readers as ``python -m ingest reference`` (towns dissolved by KEY_CODE,
        GSI / open-data shelters merged, so shelter ids match the store's).

        Examples
        --------
        >>> from geodata.settings import reference_dir
        >>> g = Gazetteer.from_reference(reference_dir(), "13208")  # doctest: +SKIP
        """
        files = find_reference_files(city_code, reference_dir)
        if files.towns is None:
            raise FileNotFoundError(f"no town file of {files.municipality} under {reference_dir}")
        towns, _ = load_towns(files.towns, files.municipality)
        shelters = None
        if files.shelters:
            shelters, _ = load_shelters(files.shelters, files.municipality, towns=towns)
        return cls.from_layers(towns, shelters)

    def _build_towns(self, towns: pd.DataFrame) -> None:
        merged = (
            gpd.GeoDataFrame(towns, geometry="geometry", crs=4326)
            .dissolve(by="town_code", aggfunc="first")
            .reset_index()
        )
        self._codes = merged["town_code"].tolist()
        self._names = dict(zip(merged["town_code"], merged["name"], strict=True))
        polygons = merged.geometry.values
        self._polygons = np.asarray(polygons, dtype=object)
        self._tree = shapely.STRtree(self._polygons)
        self._chome_point = {
            code: shapely.Point(p.x, p.y)
            for code, p in zip(self._codes, shapely.point_on_surface(self._polygons), strict=True)
        }
        groups: dict[str, dict] = {}
        for code, name in zip(self._codes, merged["name"], strict=True):
            base, chome = gz.split_chome(str(name))
            groups.setdefault(gz.canonical(gz.normalize_text(base)), {})[chome] = code
        self._towns: dict[str, _Town] = {}
        self._display: dict[str, str] = {}
        for base, chome in groups.items():
            geoms = [self._polygons[self._codes.index(c)] for c in chome.values()]
            point = shapely.point_on_surface(shapely.union_all(geoms))
            single = next(iter(chome.values())) if len(chome) == 1 else None
            self._towns[base] = _Town(base, chome, point, single)
            name = self._names[next(iter(chome.values()))]
            self._display[base] = gz.split_chome(str(name))[0]

    def _build_shelters(self, shelters: pd.DataFrame) -> None:
        self._shelters = []
        for row in shelters.itertuples(index=False):
            point = row.geometry
            if point is None or point.is_empty:
                continue
            code = row.town_code if isinstance(row.town_code, str) and row.town_code else None
            code = code or self.town_at(point)
            self._shelters.append((str(row.shelter_id), str(row.name), point, code))

    def _build_pattern(self) -> None:
        entries: dict[str, _Entry] = {}
        bare_short = set(gz.BARE_SHORT.get(self.city_code, ()))
        families: dict[str, list[str]] = {}
        for base in self._towns:
            for variant, relation in gz.town_variants(base):
                key = gz.canonical(variant)
                if relation == "family":
                    families.setdefault(key, []).append(base)
                    continue
                bare = ("town", base) if relation == "full" or variant in bare_short else ("none",)
                entries[key] = _Entry("town", (base,), relation, bare)
        for key, bases in families.items():
            if key not in entries and len(bases) > 1:
                entries[key] = _Entry("town", tuple(bases), "family")
        for base, spellings in gz.TOWN_ROMAJI.get(self.city_code, {}).items():
            base_key = gz.canonical(base)
            if base_key in self._towns:
                for spelling in spellings:
                    entries.setdefault(
                        spelling, _Entry("town", (base_key,), "full", ("town", base_key))
                    )
        # Landmarks: their own names, and the bare meaning of a town-like key (多摩川 = river).
        for i, mark in enumerate(self._landmarks):
            for name in (mark.name, *mark.aliases):
                key = gz.canonical(gz.normalize_text(name))
                old = entries.get(key)
                if old is not None and old.kind == "town":
                    entries[key] = replace(old, bare=("landmark", i))
                else:
                    entries[key] = _Entry("landmark", ref=i)
        # Shelters: never shadow a town; an alias shared by shelters far apart is dropped (an
        # emergency site named after the school next door keeps the school's alias).
        before_shelters = dict(entries)
        owners: dict[str, list] = {}
        for i, (_, name, _, _) in enumerate(self._shelters):
            for alias, short in gz.shelter_aliases(name, self.city_name):
                key = gz.canonical(alias)
                old = entries.get(key)
                if old is not None and old.kind == "town":
                    continue
                owners.setdefault(key, []).append(i)
                if old is None or old.kind == "landmark":
                    entries[key] = _Entry("shelter", ref=i, short=short)
        for key, who in owners.items():
            points = shapely.multipoints([self._shelters[i][2] for i in who])
            minx, miny, maxx, maxy = points.bounds
            if max(maxx - minx, maxy - miny) > _SAME_PLACE_DEG:
                entries.pop(key)
                if key in before_shelters:
                    entries[key] = before_shelters[key]
                continue
            # The shelter that bears the name beats an emergency site named after it
            # (上ノ原小学校, not 神代中学校・上ノ原小学校周辺).
            names = {i: gz.canonical(gz.normalize_text(self._shelters[i][1])) for i in who}
            single = [i for i in who if not re.search("・|及び|周辺", names[i])]
            best = next((i for i in who if names[i] == key), single[0] if single else who[0])
            entries[key] = replace(entries[key], ref=best)
        for name in gz.OTHER_MUNICIPALITIES:
            if name != self.city_name:
                entries[gz.canonical(name)] = _Entry("foreign")
        for name in gz.NEIGHBOUR_PLACES.get(self.city_code, ()):
            entries[gz.canonical(name)] = _Entry("foreign")
        self._entries = entries
        # Two scans are ~3x faster than one: a trie mixing ASCII and CJK first characters
        # makes the regex engine try many more alternatives at every position.
        suffix = "(?:(?P<tail>" + gz.TAIL + ")|(?<=[市区])(?P<run>" + gz.PLACE_RUN + "))?"
        self._patterns = [
            re.compile("(?P<name>" + gz.trie_regex(group) + ")" + suffix, re.VERBOSE)
            for group in (
                [k for k in entries if not k[0].isascii()],
                [k for k in entries if k[0].isascii()],
            )
            if group
        ]

    # ------------------------------------------------------------------ lookup
    def town_at(self, point) -> str | None:
        """The town_code of the 町丁目 containing ``point`` (EPSG:4326), or None outside."""
        if point is None or point.is_empty:
            return None
        hits = self._tree.query(point, predicate="intersects")
        return self._codes[int(min(hits))] if len(hits) else None

    def towns_at(self, points) -> list[str | None]:
        """Vectorized :meth:`town_at` for a sequence of points (None allowed)."""
        geoms = np.asarray([p if p is not None else shapely.Point() for p in points], dtype=object)
        out: list[str | None] = [None] * len(geoms)
        if len(geoms):
            idx, tree_idx = self._tree.query(geoms, predicate="intersects")
            for i, t in zip(idx[::-1], tree_idx[::-1], strict=True):
                out[int(i)] = self._codes[int(t)]
        return out

    def geocode(self, text: str | None) -> GeocodeResult:
        """Geocode one text.

        Examples
        --------
        >>> g.geocode("国領町３丁目で冠水").town_name  # doctest: +SKIP
        '国領町三丁目'
        """
        return self._resolve_batch([text])[0]

    def geocode_many(self, texts, geotags=None) -> pd.DataFrame:
        """Geocode many texts in one regex pass.

        Parameters
        ----------
        texts : sequence or Series of str (None allowed).
        geotags : optional sequence of shapely Points (None where the post has none); a geotag
            beats the text.

        Returns
        -------
        DataFrame indexed like ``texts`` with columns point, town_code, town_name, method,
        confidence, matched, geo_source.
        """
        index = texts.index if isinstance(texts, pd.Series) else None
        texts = list(texts)
        results = self._resolve_batch(texts)
        if geotags is not None:
            geotags = list(geotags)
            tagged = [i for i, p in enumerate(geotags) if _is_point(p)]
            for i, code in zip(tagged, self.towns_at([geotags[i] for i in tagged]), strict=True):
                results[i] = self._geotag_result(geotags[i], code)
        columns = {
            "point": [r.point for r in results],
            "town_code": [r.town_code for r in results],
            "town_name": [r.town_name for r in results],
            "method": [r.method for r in results],
            "confidence": np.fromiter((r.confidence for r in results), float, len(results)),
            "matched": [r.matched for r in results],
            "geo_source": [r.geo_source for r in results],
        }
        # object columns keep None (pandas 3 would infer a string dtype holding NaN)
        return pd.DataFrame(
            {k: v if k == "confidence" else pd.Series(v, dtype=object) for k, v in columns.items()}
        ).set_axis(index if index is not None else range(len(results)))

    def resolve_location(self, geotag_point, text: str | None) -> GeocodeResult:
        """Where a post is: its geotag when it has one, else the gazetteer on its text.

        Examples
        --------
        >>> g.resolve_location(shapely.Point(139.544, 35.6518), "国領町で冠水").method  # doctest: +SKIP
        'geotag'
        """
        if _is_point(geotag_point):
            return self._geotag_result(geotag_point, self.town_at(geotag_point))
        return self.geocode(text)

    def _geotag_result(self, point, code: str | None) -> GeocodeResult:
        name = self._names.get(code) if code else None
        return GeocodeResult(point, code, name, "geotag", 1.0, None, "geotag")

    # ------------------------------------------------------------------ matching
    def _resolve_batch(self, texts: list) -> list[GeocodeResult]:
        joined, starts = gz.normalize_batch(texts)
        positions: list[int] = []
        found: list[_Candidate] = []
        cache = self._candidates
        for pattern in self._patterns:
            for match in pattern.finditer(joined):
                hit = cache.get(match.group())
                if hit is None:
                    if len(cache) > _CACHE_LIMIT:
                        cache.clear()
                        self._memo.clear()
                    hit = cache[match.group()] = self._analyse(match)
                cand, check = hit
                if check and not _context_ok(check, joined, match.start(), match.end("name")):
                    continue
                if cand:
                    found.append(cand)
                    positions.append(match.start())
        results = [NO_PLACE] * len(texts)
        if not found:
            return results
        positions_arr = np.asarray(positions)
        order = np.argsort(positions_arr, kind="stable")
        owners = np.searchsorted(starts, positions_arr[order], side="right") - 1
        per_text: dict[int, list] = {}
        for owner, i in zip(owners.tolist(), order.tolist(), strict=True):
            per_text.setdefault(owner, []).append(found[i])
        memo = self._memo
        for i, cands in per_text.items():
            key = tuple(cands)
            result = memo.get(key)
            if result is None:
                result = self._decide(cands)
                if len(memo) < _CACHE_LIMIT:
                    memo[key] = result
            results[i] = result
        return results

    def _analyse(self, match: re.Match) -> tuple:
        """(candidate or False, context check) for a matched text; cached by that text."""
        name = match.group("name")
        entry = self._entries.get(gz.canonical(name))
        if entry is None or entry.kind == "foreign":
            return False, 0
        if name[0].isascii():
            check = _CHECK_WORD
        elif entry.short:
            check = _CHECK_NICKNAME
        else:
            check = 0
        chome = None
        if entry.kind == "town" and match.group("tail"):
            chome = gz.kanji_number(match.group("ck") or match.group("cd"))
        elif not check:
            check = _CHECK_PERSON
        block = bool(match.group("b1") or match.group("b2") or match.group("b3"))
        return self._make_candidate(entry, chome, block, name, match.group().strip()), check

    def _make_candidate(self, entry: _Entry, chome, block: bool, name: str, full: str):
        if entry.kind == "shelter":
            sid, _, point, code = self._shelters[entry.ref]
            conf = round(_CONF_SHELTER - (0.05 if entry.short else 0.0), 3)
            result = GeocodeResult(
                point, code, self._names.get(code), "shelter", conf, name, "gazetteer"
            )
            return _Candidate(
                _RANK_CHOME, ("shelter", sid), frozenset([code] if code else ()), result, 2
            )
        if entry.kind == "landmark":
            return self._landmark_candidate(entry.ref, name)
        if chome is not None:
            holders = [b for b in entry.towns if chome in self._towns[b].chome]
            if holders:
                return self._chome_candidate(entry, holders, chome, block, full)
        if entry.bare[0] == "landmark":
            return self._landmark_candidate(entry.bare[1], name)
        if entry.bare[0] == "town":
            return self._town_candidate(self._towns[entry.bare[1]], name, chome is not None)
        return False  # a stem that needs a 丁目 (富士見, 石原): no place

    def _chome_candidate(self, entry, holders, chome, block, matched):
        codes = [self._towns[b].chome[chome] for b in holders]
        if len(codes) > 1:
            result = GeocodeResult(None, None, None, "ambiguous", _CONF_AMBIGUOUS, matched, "none")
            return _Candidate(_RANK_CHOME, ("ambiguous", tuple(codes)), frozenset(codes), result)
        code = codes[0]
        if entry.relation == "family":
            conf = _CONF_FAMILY_CHOME
        elif block:
            conf = _CONF_ADDRESS
        else:
            conf = _CONF_SHORT_CHOME if entry.relation == "short" else _CONF_CHOME
        method = "address" if block else "town"
        rank = _RANK_ADDRESS if block else _RANK_CHOME
        result = GeocodeResult(
            self._chome_point[code], code, self._names[code], method, conf, matched, "gazetteer"
        )
        return _Candidate(rank, ("chome", code), frozenset([code]), result, 1 + block * 2)

    def _town_candidate(self, town: _Town, matched: str, bad_chome: bool):
        code = town.single_code
        conf = _CONF_TOWN_SINGLE if code else _CONF_TOWN
        if bad_chome:
            conf = round(conf - 0.1, 3)
        name = self._names[code] if code else self._display[town.base]
        result = GeocodeResult(town.point, code, name, "town", conf, matched, "gazetteer")
        return _Candidate(_RANK_TOWN, ("town", town.base), frozenset(town.chome.values()), result)

    def _landmark_candidate(self, i: int, matched: str):
        mark = self._landmarks[i]
        point = shapely.Point(mark.lon, mark.lat)
        code = None
        if mark.town is not None:
            code = next((c for c, n in self._names.items() if n == mark.town), None)
            code = code or self.town_at(point)
        rank = _RANK_LANDMARK if mark.town is not None else _RANK_AREA
        result = GeocodeResult(
            point, code, self._names.get(code), "landmark", mark.confidence, matched, "gazetteer"
        )
        return _Candidate(rank, ("landmark", mark.name), frozenset([code] if code else ()), result)

    def _decide(self, cands: list[_Candidate]) -> GeocodeResult:
        """Pick the most specific candidate, or ``ambiguous`` when the top ones disagree."""
        unique: dict = {}
        for cand in cands:
            unique.setdefault(cand.key, cand)
        top_rank = max(c.rank for c in unique.values())
        top = [c for c in unique.values() if c.rank == top_rank]
        others = [c for c in unique.values() if c.rank != top_rank]
        specific = [c for c in top if c.result.point is not None]
        best = None
        if len(top) == 1 and specific:
            best = top[0]
        elif all(c.codes for c in top):
            common = frozenset.intersection(*(c.codes for c in top))
            if len(common) == 1 and specific:  # a shelter named with its own 丁目
                best = max(specific, key=lambda c: c.prio)
            elif not specific and len(top) == 1:  # つつじヶ丘2丁目: another mention may settle it
                hints = frozenset().union(*(c.codes for c in others)) if others else frozenset()
                narrowed = common & hints
                if len(narrowed) == 1:
                    code = next(iter(narrowed))
                    return GeocodeResult(
                        self._chome_point[code],
                        code,
                        self._names[code],
                        "town",
                        _CONF_FAMILY_CHOME,
                        top[0].result.matched,
                        "gazetteer",
                    )
        if best is None:
            matched = "|".join(dict.fromkeys(c.result.matched for c in top if c.result.matched))
            return GeocodeResult(None, None, None, "ambiguous", _CONF_AMBIGUOUS, matched, "none")
        result = best.result
        if best.codes and any(c.codes and not (c.codes & best.codes) for c in others):
            result = replace(result, confidence=round(result.confidence * _CONFLICT_FACTOR, 3))
        return result


_CHECK_WORD, _CHECK_NICKNAME, _CHECK_PERSON = 1, 2, 3


def _context_ok(check: int, text: str, start: int, name_end: int) -> bool:
    """Whether a match is a place in its context.

    Romaji must be a whole word (fuda, not fudai); a nickname such as 二小 must not be glued
    to a kanji (十二小節) unless after 調布 or 市立; a bare name followed by an honorific
    (柴崎さん) is a person.
    """
    before = text[start - 1] if start else ""
    if check == _CHECK_WORD:
        after = text[name_end : name_end + 1]
        return not (before.isascii() and before.isalnum()) and not (
            after.isascii() and after.isalpha()
        )
    if check == _CHECK_NICKNAME:
        return not _is_kanji(before) or text[max(0, start - 2) : start] in ("調布", "市立")
    return not text.startswith(gz.HONORIFICS, name_end)


def _is_kanji(char: str) -> bool:
    return bool(char) and ("一" <= char <= "鿿" or char in "々〆")


def _is_point(value) -> bool:
    if value is None or not isinstance(value, shapely.Point) or value.is_empty:
        return False
    return math.isfinite(value.x) and math.isfinite(value.y)


def _shelter_frame(shelters: gpd.GeoDataFrame | None) -> pd.DataFrame:
    columns = ["shelter_id", "name", "town_code", "geometry"]
    if shelters is None or not len(shelters):
        return pd.DataFrame(columns=columns)
    if shelters.crs and not shelters.crs.equals(4326):
        shelters = shelters.to_crs(4326)
    frame = pd.DataFrame(
        {
            "shelter_id": shelters["shelter_id"].astype(str),
            "name": shelters["name"].astype(str),
            "town_code": shelters["town_code"] if "town_code" in shelters else None,
            "geometry": shelters.geometry.values,
        }
    )
    return frame[columns]


def _city_name(code5: str) -> str:
    return {"13208": "調布市", "13211": "小平市", "13210": "小金井市", "13214": "国分寺市"}.get(
        code5, ""
    )
