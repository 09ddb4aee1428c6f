"""Baseline app of the map benchmarks: every post as a folium Marker in a MarkerCluster.

``streamlit run benchmarks/apps/marker_cluster.py`` with ``BENCH_POINTS`` naming an ``.npz``
file of ``lat`` / ``lon`` arrays. The map goes through ``st_folium`` like the dashboard's maps,
with the same vendored (offline) Leaflet assets, so the two are compared like for like.
"""

import os

import folium
import numpy as np
import streamlit as st
from folium.plugins import MarkerCluster
from streamlit_folium import st_folium

from benchmarks.bench_overview import marker_cluster_base
from dashboard.maps import offline

st.set_page_config(page_title="MarkerCluster baseline", layout="wide")
offline.install()
points = np.load(os.environ["BENCH_POINTS"])
lat, lon = points["lat"], points["lon"]
m = marker_cluster_base(float(lat.mean()), float(lon.mean()))
cluster = MarkerCluster(name="posts").add_to(m)
for y, x in zip(lat.tolist(), lon.tolist(), strict=True):
    folium.Marker([y, x]).add_to(cluster)
st_folium(m, height=640, use_container_width=True, returned_objects=[], key="map")
