"""Finding the stored shelter a row of another system's file is about.

In order: the shelter's id (``shelter_id``, one of its ``source_ids``, or the GSI 共通ID stem),
then the normalized name and address, then the name alone when only one shelter has it, then
the nearest shelter within ``NEAR_M`` metres of the row's position. Nothing else: a row no rule
matches is an unknown shelter (reported, never invented).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import shapely

from geodata.reference.values import normalize_address
from ingest.sources.files import clean_key

NEAR_M = 100.0
_M_PER_DEG = 111_320.0


def _id_forms(value) -> list[str]:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    forms = [text]
    if text.isdigit():
        forms.append(text.lstrip("0") or "0")  # 001 written as 1 by a spreadsheet
    if len(text) >= 11 and text[0] == "E" and text[1:].isdigit():
        forms.append(text[:11])  # GSI 共通ID -> facility stem
    return forms


def name_key(name) -> str | None:
    """A shelter-name key: width-folded, lower case, no spaces or punctuation, ヶ folded."""
    key = clean_key(name)
    return key.replace("ヶ", "ケ").replace("ヵ", "ケ") if key else None


class ShelterMatcher:
    """Look up stored shelters by what a status row carries.

    Parameters
    ----------
    shelters : the shelters layer (shelter_id, name, address, source_ids, kind, geometry).
    """

    def __init__(self, shelters: pd.DataFrame):
        self.ids: dict[str, str] = {}
        self.by_name_address: dict[tuple, str] = {}
        self.by_name: dict[str, list[str]] = {}
        self.names: dict[str, str] = {}
        self._points: list = []
        self._point_ids: list[str] = []
        if shelters is None or not len(shelters):
            return
        geoms = shelters.geometry if "geometry" in shelters else [None] * len(shelters)
        # Shelters before emergency sites: a shared local number means the shelter.
        order = {"shelter": 0, "both": 0, "emergency_site": 1}
        recs = sorted(
            zip(shelters.to_dict("records"), geoms, strict=False),
            key=lambda rg: order.get(rg[0].get("kind"), 0),
        )
        for rec, geom in recs:
            sid = rec["shelter_id"]
            self.names[sid] = rec.get("name") or sid
            others = rec.get("source_ids") if isinstance(rec.get("source_ids"), list) else []
            for value in [sid, *others]:
                for form in _id_forms(value):
                    self.ids.setdefault(form, sid)
            nk = name_key(rec.get("name"))
            if nk:
                self.by_name.setdefault(nk, []).append(sid)
                ak = normalize_address(rec.get("address"))
                if ak:
                    self.by_name_address.setdefault((nk, ak), sid)
            if geom is not None and not geom.is_empty:
                self._points.append(geom)
                self._point_ids.append(sid)
        self._tree = shapely.STRtree(self._points) if self._points else None

    def match(self, *, shelter_id=None, name=None, address=None, point=None):
        """(shelter_id, how) of the first rule that matches, else (None, None)."""
        if shelter_id is not None and str(shelter_id).strip():
            for form in _id_forms(shelter_id):
                if form in self.ids:
                    return self.ids[form], "id"
        nk = name_key(name)
        if nk:
            ak = normalize_address(address) if address else None
            if ak and (nk, ak) in self.by_name_address:
                return self.by_name_address[(nk, ak)], "name_address"
            candidates = self.by_name.get(nk, [])
            if len(candidates) == 1:
                return candidates[0], "name"
        if point is not None and self._tree is not None:
            lat = point.y
            radius = NEAR_M / (_M_PER_DEG * max(np.cos(np.radians(lat)), 0.1))
            hits = self._tree.query(point.buffer(radius))
            if len(hits):
                best = min(hits, key=lambda i: self._points[i].distance(point))
                return self._point_ids[int(best)], "near"
        return None, None
