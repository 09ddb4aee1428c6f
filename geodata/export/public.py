"""The public-output policy: what may leave the HQ, decided and applied in this one place.

Every public output — the public situation map, ``export layer … --public`` in every format, the
shelter open data and CAP — reads its data through a :class:`PublicView` of the store, never
through the store itself, so no output can carry what the view does not let out. The rules
(written for people in docs/security.md, "Public outputs"):

1. **Only confirmed reports.** Posts only when staff triaged them ``verified`` or ``handled``;
   field reports (made by staff); incidents only when at least one of their pieces is such a
   post or a field report, and never when a safety reply is one of their pieces (a rescue reply
   is anchored on the resident's home). An incident's ``counts`` count its confirmed pieces only.
2. **No point from a person.** Nothing derived from the roster or the safety replies is drawn
   at a point. As a second guard, a report point within :data:`PRIVACY_RADIUS_M` of any roster
   home or safety-reply location is withheld (the row keeps its town, loses its point), so a
   post or field report about a resident's house cannot point at it either.
3. **No account and no author.** Post ids (a Bluesky ``at://did:…`` id names the account; a
   Mastodon/Misskey id is part of the post's URL), ``repost_of``, authors, handles, URLs and the
   post text (searchable on the platform, so it identifies the author) are withheld: the column
   stays, its values read ``非公開``. Free text staff wrote for the HQ (field-report and shelter
   notes), photo paths and staff names are withheld the same way, and so are the addresses the
   HQ fetched official warnings from and their raw messages.
4. **No person row.** Layers whose rows are persons or notes about persons (:data:`NO_PUBLIC`)
   have no public version; residents appear only as town-level counts (``safety_by_town``).
5. **Small counts suppressed.** Every per-town count of persons (registered, replied, needing
   help, reached by a follow-up, unconfirmed — the terms of :mod:`geodata.safety`) below
   :data:`THRESHOLD` is shown as 「3人未満」; cells hidden so that no such count can be worked
   out from the rest (row: residents = replied + reached + unconfirmed; column: the published
   city total minus the shown towns) are shown as 「秘匿」 (complementary suppression,
   :mod:`geodata.export.suppression`). City totals below the threshold are 「3人未満」 too. The rule is
   stated on every output that carries such counts (:data:`SUPPRESSION_NOTE`). People needing
   care counted at a shelter leave only as one total per report, small ones marked
   (:mod:`geodata.export.care`).

Reference layers (towns, boundary, shelters, hazard areas) are published as they are: they are
open data about places, not about persons.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.export.care import published_care
from geodata.export.common import PUBLIC_MASK, PersonalDataError
from geodata.export.suppression import suppress
from geodata.geometry import utm_crs
from geodata.incidents import post_key, with_members
from geodata.schema import LAYERS

THRESHOLD = 3
SMALL = f"{THRESHOLD}人未満"
SMALL_EN = f"fewer than {THRESHOLD}"
WITHHELD = "秘匿"
WITHHELD_EN = "withheld"
# A house lot plus the error of a geocoded address or a phone's position.
PRIVACY_RADIUS_M = 30.0
PUBLIC_TRIAGE = ("verified", "handled")
TOWN_COUNTS = "safety_by_town"
# Rule 2's index of residents' homes and reply locations, per store and the data versions of
# the roster and the replies it was built from (a write to either gives a new key: never
# stale). At 20,000 residents building it takes seconds; the overview's wall reads reports
# through a new view at every refresh.
_PRIVATE_LAYERS = ("roster", "safety_replies")
_PRIVATE_CACHE: dict[tuple, tuple[shapely.STRtree, str] | None] = {}
_PRIVATE_CACHE_SIZE = 4
PERSON_COUNTS = ("residents", "replied", "needs_help", "reached", "unconfirmed")
# The published city total of each count column (keys of the situation's KPIs).
TOTAL_KEYS = {
    "residents": "roster_total",
    "replied": "replied",
    "needs_help": "needs_help",
    "reached": "reached",
    "unconfirmed": "unconfirmed",
}
# In every town: residents = replied + reached + unconfirmed (geodata.safety.totals).
ROW_IDENTITIES = (("residents", ("replied", "reached", "unconfirmed")),)
REPORT_LAYERS = ("posts", "field_reports", "incidents")
NO_PUBLIC: dict[str, str] = {
    "roster": "its rows are the registered residents (名簿)",
    "safety_replies": "its rows are residents' safety replies",
    "follow_ups": "its rows are staff notes about residents",
    "campaigns": "it is internal operations data (who sent what to which towns)",
    "deliveries": "its rows are messages sent to residents (LINE user ids, phone numbers)",
    "source_health": "it is internal operations data (errors, cursors, feed addresses)",
    "chronology": "it is the HQ's internal record (staff names, free texts, what caused each "
    "event); the public picture is the evacuation information, shelters and verified reports",
    "task_states": "its rows are the HQ's internal tasks and the staff who changed them",
    "damage_reports": "each 第N報 holds the reports behind its counts and the staff who fixed "
    "it; its figures go to the prefecture in the 第4号様式 files",
    "incident_members": "its rows name the posts (accounts' post ids), safety replies and field "
    "reports behind each incident; the public incidents carry their counts",
}
WITHHELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "posts": ("post_id", "author", "text", "url", "repost_of", "assigned_to"),
    "field_reports": ("description", "photo_url", "reported_by"),
    "shelter_status": ("note", "reported_by"),
    # official warnings are public, but not where the HQ fetched them from (feed and message
    # addresses, maybe an internal mirror) nor the raw messages and fetch errors
    "warnings": ("message_id", "feed", "url", "raw_xml", "error"),
    # evacuation information is public; not the staff account that wrote it, nor the addresses
    # of the warning messages that triggered it
    "evacuations": ("issued_by", "warning_ids"),
    # supply requests are public as what a shelter needs; not who asked or arranged, nor notes
    "supply_requests": ("requested_by", "updated_by", "note"),
}
SUPPRESSION_NOTE = {
    "ja": (
        f"町丁目別の人数（登録・回答・要救助/負傷・フォローで確認・未確認）は、{THRESHOLD}人未満を「{SMALL}」、"
        f"他の欄との差し引きで{THRESHOLD}人未満の欄が分かる欄を「{WITHHELD}」と表示しています。"
    ),
    "en": (
        "Per-town counts of persons (registered, replied, needing help, reached, unconfirmed) below "
        f"{THRESHOLD} are shown as 「{SMALL}」 ({SMALL_EN}); a count from which such a cell could "
        f"be derived by subtraction is shown as 「{WITHHELD}」 ({WITHHELD_EN})."
    ),
}
PUBLIC_NOTE = {
    "ja": (
        "公開用：職員が確認した報告のみ掲載。氏名・住所・電話・アカウント・投稿本文・URLは含まず、"
        f"要支援者の自宅・安否回答の位置から{PRIVACY_RADIUS_M:.0f}m以内の地点は表示しません。"
    ),
    "en": (
        "Public version: only reports confirmed by staff; no names, addresses, phones, accounts, "
        f"post texts or URLs; no point within {PRIVACY_RADIUS_M:.0f} m of a registered "
        "resident's home or a safety-reply location."
    ),
}


def policy_metadata() -> dict:
    """The policy as plain values, for file metadata (GeoJSON member, GeoPackage metadata)."""
    return {
        "threshold": THRESHOLD,
        "small": SMALL,
        "withheld": WITHHELD,
        "privacy_radius_m": PRIVACY_RADIUS_M,
        "ja": f"{PUBLIC_NOTE['ja']}{SUPPRESSION_NOTE['ja']}",
        "en": f"{PUBLIC_NOTE['en']} {SUPPRESSION_NOTE['en']}",
    }


def refuse(layer: str) -> PersonalDataError:
    """The error for a public read of a layer that has no public version."""
    return PersonalDataError(
        f"{layer} has no public version: {NO_PUBLIC[layer]}; the public version of the roster "
        f"and safety replies is the town-level counts (export layer {TOWN_COUNTS} --public)"
    )


def withhold_columns(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """A copy of ``frame`` with personal columns dropped and withheld columns masked 非公開."""
    masked = WITHHELD_COLUMNS.get(layer, ())
    spec = LAYERS.get(layer)
    personal = spec.personal if spec is not None else ()
    drop = [c for c in personal if c in frame.columns and c not in masked]
    out = frame.drop(columns=drop).copy()
    for col in masked:
        if col in out.columns:
            out[col] = [
                None if v is None or (np.ndim(v) == 0 and pd.isna(v)) else PUBLIC_MASK
                for v in out[col].astype(object)
            ]
    return out


# -- small counts -------------------------------------------------------------------------------


def suppress_counts(
    values: pd.DataFrame, totals: dict[str, int] | None = None
) -> tuple[pd.DataFrame, dict]:
    """Per-town counts of persons as they may be published (rule 5).

    Counts below :data:`THRESHOLD` read :data:`SMALL`; cells hidden so that no small count can
    be worked out from the rest (rows: :data:`ROW_IDENTITIES`; columns: the published totals)
    read :data:`WITHHELD` — see :mod:`geodata.export.suppression`.

    Parameters
    ----------
    values : integer counts, one row per town, columns among :data:`PERSON_COUNTS`.
    totals : the published total of each column (as the KPI table prints it); None when no total
        is published with the cells.

    Returns
    -------
    (cells, shown_totals) : ``cells`` with the same index and columns, each value an int of at
        least ``THRESHOLD`` or one of the two marks; ``shown_totals`` the totals as published
        (an int, :data:`SMALL` below the threshold, :data:`WITHHELD` when withheld).

    Examples
    --------
    >>> v = pd.DataFrame({"residents": [5, 9], "replied": [1, 6], "unconfirmed": [4, 3]})
    >>> cells, shown = suppress_counts(v, {"residents": 14, "replied": 7, "unconfirmed": 7})
    >>> cells.to_dict("list")["replied"], shown["replied"]
    (['3人未満', '秘匿'], 7)
    """
    values = values.fillna(0).astype(int)
    totals = {c: int(t) for c, t in (totals or {}).items()}
    hidden, hidden_totals, blank = suppress(
        values, {c: t for c, t in totals.items() if c in values.columns}, ROW_IDENTITIES,
        threshold=THRESHOLD, keep=("needs_help", "unconfirmed"),
    )  # fmt: skip
    cells = values.astype(object)
    for col in values.columns:
        cells.loc[hidden[col], col] = WITHHELD
        if not blank:  # a blank table hides small and large cells under one mark
            cells.loc[values[col] < THRESHOLD, col] = SMALL
    shown_totals = {
        c: (SMALL if t < THRESHOLD else WITHHELD)
        if c in hidden_totals
        else (SMALL if 0 < t < THRESHOLD else t)
        for c, t in totals.items()
    }
    return cells, shown_totals


def check_counts(frame: pd.DataFrame) -> None:
    """Refuse a frame whose person counts show a number below the threshold.

    Raises
    ------
    PersonalDataError : a count column holds an int below :data:`THRESHOLD`.
    """
    for col in PERSON_COUNTS:
        if col not in frame.columns:
            continue
        for value in frame[col]:
            if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                if value < THRESHOLD:
                    raise PersonalDataError(f"{col}: a count below {THRESHOLD} in a public output")


# -- the view -----------------------------------------------------------------------------------


class PublicView:
    """The store as the public may see it: every read applies the policy of this module.

    Public builders take a view instead of the store (``collect_situation(..., public=True)``,
    ``read_layer(..., public=True)``, the open data and CAP wrap the store in one first), so what
    they can read is what the policy lets out. The view offers the reads those builders use:
    :meth:`read`, :meth:`current_shelter_status`, :meth:`town_counts`, and passes
    :meth:`log_action` through for the audit log.

    Parameters
    ----------
    store : a :class:`geodata.store.core.Store` (or another view, which is unwrapped).
    """

    def __init__(self, store):
        self._store = store._store if isinstance(store, PublicView) else store
        self._private: tuple[shapely.STRtree, str] | None | bool = False
        self._incident_ids: set[str] | None = None

    def log_action(self, who, action, layer=None, detail=None) -> None:
        """Audit an export (the store's audit log)."""
        self._store.log_action(who, action, layer, detail)

    def append_chronology(self, frame, *, source=None):
        """Record a system event (an export) in the HQ's chronology (the store's)."""
        return self._store.append_chronology(frame, source=source)

    # -- reads --------------------------------------------------------------------------------

    def read(
        self,
        layer: str,
        *,
        since=None,
        until=None,
        bbox=None,
        where: dict | None = None,
        columns=None,
        order: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """``store.read`` with the policy applied (see the module docstring).

        Raises
        ------
        PersonalDataError : a layer of :data:`NO_PUBLIC`.
        """
        if layer in NO_PUBLIC:
            raise refuse(layer)
        where = dict(where or {})
        if layer == "posts":
            asked = where.get("triage", list(PUBLIC_TRIAGE))
            asked = asked if isinstance(asked, (list, tuple)) else [asked]
            triage = [t for t in asked if t in PUBLIC_TRIAGE]
            if not triage:
                return withhold_columns(self._store.read(layer, limit=0), layer)
            where["triage"] = triage
        frame = self._store.read(
            layer, since=since, until=until, bbox=bbox, where=where or None, order=order,
            limit=limit,
        )  # fmt: skip
        if layer == "incidents":
            frame = self._confirmed_incidents(frame)
        if layer in ("posts", "field_reports") and "incident_id" in frame.columns:
            public_ids = self.public_incident_ids()
            frame = frame.copy()
            frame["incident_id"] = [
                v if v in public_ids else None for v in frame["incident_id"].astype(object)
            ]
        if layer in REPORT_LAYERS:
            frame = self.withhold_near(frame)
        frame = withhold_columns(frame, layer)
        if layer == "shelter_status":  # 要配慮者: one total per report, small ones marked
            frame = published_care(frame)
        if columns is not None:
            keep = [c for c in frame.columns if c in set(columns) | {"geometry"}]
            frame = frame[keep]
        return frame.reset_index(drop=True)

    def current_shelter_status(self) -> pd.DataFrame:
        """The current status of each shelter, staff notes and names withheld, the 要配慮者
        as one total per shelter (:func:`geodata.export.care.published_care`)."""
        current = withhold_columns(self._store.current_shelter_status(), "shelter_status")
        return published_care(current)

    def town_counts(self, towns: gpd.GeoDataFrame, *, since=None, until=None, as_of=None):
        """Per-town counts of residents as they may be published, and the city totals.

        Parameters
        ----------
        towns : the town polygons the counts are given for.
        since, until : the window of safety replies and follow-ups counted (``since`` <= t <
            ``until``).
        as_of : the time the states are taken at (see :func:`geodata.safety.resident_states`).

        Returns
        -------
        (towns, totals) : ``towns`` with :data:`PERSON_COUNTS` suppressed by
            :func:`suppress_counts`; ``totals`` the KPI totals (roster_total, replied, needs_help,
            reached, unconfirmed) as published.
        """
        from geodata.export.situation import safety_counts  # situation builds on this module

        window = {"since": since, "until": until}
        counted, _, totals = safety_counts(
            self._store.read("roster"), self._store.read("safety_replies", **window),
            self._store.read("follow_ups", **window), towns, public=True, as_of=as_of,
        )  # fmt: skip
        by_column = {c: totals[k] for c, k in TOTAL_KEYS.items()}
        cells, shown = suppress_counts(counted[list(PERSON_COUNTS)], by_column)
        out = counted.drop(columns=list(PERSON_COUNTS))
        for col in PERSON_COUNTS:
            out[col] = cells[col]
        check_counts(out)
        return out, {TOTAL_KEYS[c]: v for c, v in shown.items()}

    # -- the rules ----------------------------------------------------------------------------

    def public_incident_ids(self) -> set[str]:
        """Ids of the incidents the public may see (rule 1)."""
        if self._incident_ids is None:
            incidents = self._store.read("incidents", columns=["incident_id"])
            self._incident_ids = set(self._confirmed_incidents(incidents)["incident_id"])
        return self._incident_ids

    def _confirmed_incidents(self, incidents: pd.DataFrame) -> pd.DataFrame:
        if incidents.empty:
            return incidents
        posts = self._store.read(
            "posts", where={"triage": list(PUBLIC_TRIAGE)}, columns=["platform", "post_id"]
        )
        confirmed_posts = set(map(post_key, posts["platform"], posts["post_id"]))
        keep, counts = [], []
        for members in with_members(self._store, incidents)["members"]:
            layers = {layer for layer, _ in members}
            n_posts = sum(1 for lr, key in members if lr == "posts" and key in confirmed_posts)
            n_field = sum(1 for lr, _ in members if lr == "field_reports")
            keep.append("safety_replies" not in layers and (n_posts + n_field) > 0)
            counts.append({k: n for k, n in (("posts", n_posts), ("field_reports", n_field)) if n})
        out = incidents[keep].copy()
        if "counts" in out.columns:
            out["counts"] = [c for c, k in zip(counts, keep, strict=True) if k]
        return out

    def withhold_near(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Rule 2: rows whose geometry lies within the radius of a person lose their point."""
        if not isinstance(frame, gpd.GeoDataFrame) or frame.empty:
            return frame
        geoms = frame.geometry
        located = geoms.notna() & ~geoms.is_empty
        private = self._private_points()
        if private is None or not located.any():
            return frame
        tree, crs = private
        metric = geoms[located].to_crs(crs)
        hits = tree.query(np.asarray(metric.values), predicate="dwithin", distance=PRIVACY_RADIUS_M)
        near = metric.index[np.unique(hits[0])]
        if not len(near):
            return frame
        out = frame.copy()
        out.loc[near, out.geometry.name] = None
        if "matched_place" in out.columns:
            out.loc[near, "matched_place"] = None
        return out

    def _private_points(self) -> tuple[shapely.STRtree, str] | None:
        """Roster homes and safety-reply locations, in a metric CRS (read once per view, and
        kept per store until the roster or the replies are written to)."""
        if self._private is False:
            key = self._private_key()
            if key is not None and key in _PRIVATE_CACHE:
                self._private = _PRIVATE_CACHE[key]
                return self._private
            self._private = self._read_private_points()
            if key is not None:
                while len(_PRIVATE_CACHE) >= _PRIVATE_CACHE_SIZE:
                    _PRIVATE_CACHE.pop(next(iter(_PRIVATE_CACHE)))
                _PRIVATE_CACHE[key] = self._private
        return self._private

    def _private_key(self) -> tuple | None:
        """(store, roster version, replies version), read before the points (a write in
        between gives the next read a new key); None for a store without data versions."""
        version = getattr(self._store, "data_version", None)
        engine = getattr(self._store, "engine", None)
        if version is None or engine is None:
            return None
        return (str(engine.url), id(engine), *(version(layer) for layer in _PRIVATE_LAYERS))

    def _read_private_points(self) -> tuple[shapely.STRtree, str] | None:
        points = [
            self._store.read(layer, columns=["geometry"]).geometry for layer in _PRIVATE_LAYERS
        ]
        allp = pd.concat(points, ignore_index=True)
        allp = allp[allp.notna() & ~allp.is_empty]
        if allp.empty:
            return None
        allp = gpd.GeoSeries(allp, crs=points[0].crs)
        centre = allp.union_all().centroid
        crs = utm_crs(centre.x, centre.y)
        return shapely.STRtree(np.asarray(allp.to_crs(crs).values)), crs
