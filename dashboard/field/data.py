"""Field-report reads (cached by data version), the gazetteer, and the write."""

from __future__ import annotations

from datetime import timedelta

import geopandas as gpd
import shapely
import streamlit as st

from dashboard import auth, data
from dashboard.field.report import Place
from geodata.incidents import link_and_store
from geodata.store.errors import UpsertResult
from geodata.text.geocode import Gazetteer

_TTL = timedelta(minutes=30)
RECENT_LIMIT = 200


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=16)
def load_recent(
    url: str, version: int, categories: tuple[str, ...] = (), limit: int = RECENT_LIMIT
) -> gpd.GeoDataFrame:
    """The newest field reports (of ``categories`` when given), newest first."""
    del version
    where = {"category": list(categories)} if categories else None
    return data.get_store(url).read(
        "field_reports", where=where, order="reported_at DESC", limit=limit
    )


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=4)
def count_reports(url: str, version: int) -> int:
    """How many field reports the store holds."""
    del version
    return data.get_store(url).count("field_reports")


@st.cache_resource(show_spinner=False, max_entries=2)
def gazetteer(url: str, version: int) -> Gazetteer:
    """Towns, shelters and landmarks of the municipality (rebuilt when those layers change)."""
    del version
    store = data.get_store(url)
    code = data.municipality_code()
    towns = store.read("towns", where={"city_code": code}) if code else None
    if towns is None or towns.empty:
        towns = store.read("towns")
    return Gazetteer.from_layers(towns, store.read("shelters"))


def reference_version(url: str) -> int:
    """The data version of the layers the gazetteer is made of."""
    store = data.get_store(url)
    return store.data_version("towns") + store.data_version("shelters")


def find_place(url: str, text: str) -> Place | None:
    """The place an address or place name stands for, or None."""
    result = gazetteer(url, reference_version(url)).geocode(text)
    if result.point is None:
        return None
    return Place(
        point=result.point,
        town_code=result.town_code,
        label=result.town_name or result.matched or text,
        method=result.method,
        confidence=float(result.confidence),
    )


def clicked_place(url: str, lat: float, lng: float, town_names: dict[str, str]) -> Place:
    """The place of a map click, with the town it falls in."""
    point = shapely.Point(round(float(lng), 6), round(float(lat), 6))
    code = gazetteer(url, reference_version(url)).town_at(point)
    return Place(point, code, town_names.get(code or "", "") or "–", "map")


def save_report(url: str, frame: gpd.GeoDataFrame) -> UpsertResult:
    """Upsert one report as the logged-in user (audit-logged); checks the permission first.

    The report joins the incident of its category at its place (or starts one), as a report
    read from a survey file does, and in the same way: the incident and the report commit in
    one transaction.
    """
    user = auth.check("field", "add_report")
    frame = frame.assign(reported_by=user.username)
    store = data.get_store(url)
    with store.transaction():
        valid, rejected = link_and_store(store, "field_reports", frame)
        return store.upsert(
            "field_reports", valid, source="dashboard", actor=user.username, rejected=rejected
        )
