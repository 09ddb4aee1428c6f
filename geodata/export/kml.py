"""KML 2.2 for Google Earth, written with lxml (every text escaped by the serializer).

One Placemark per row: ``name`` from the layer's name column, ``description`` an HTML table of
the fields with Japanese labels (values HTML-escaped before lxml XML-escapes the whole, so a
post text can never inject markup into the balloon), ``ExtendedData`` with the English field
names for other systems, and the geometry with coordinates in KML's ``lon,lat`` order.
"""

from __future__ import annotations

import html
import json

import geopandas as gpd
import pandas as pd
import shapely
from lxml import etree

from geodata.export.common import JST
from geodata.export.labels import column_label

KML_NS = "http://www.opengis.net/kml/2.2"
NAME_COLUMNS = {
    "towns": "name",
    "boundaries": "city_name",
    "hazard_areas": "kind",
    "shelters": "name",
    "roster": "name",
    "safety_replies": "status",
    "posts": "text",
    "field_reports": "category",
    "incidents": "category",
    "safety_by_town": "name",
}
LAYER_TITLES = {
    "towns": "町丁目",
    "boundaries": "行政区域",
    "hazard_areas": "災害想定区域",
    "shelters": "避難所",
    "roster": "避難行動要支援者",
    "safety_replies": "安否確認の回答",
    "posts": "SNS投稿",
    "field_reports": "現地調査報告",
    "incidents": "事案",
    "safety_by_town": "町丁目別 安否確認状況",
}


def _el(parent, tag: str, text: str | None = None, **attrs):
    el = etree.SubElement(parent, f"{{{KML_NS}}}{tag}", **attrs)
    if text is not None:
        el.text = text
    return el


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        return value.tz_convert(JST).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _coords(coords) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in coords)


def kml_geometry(parent, geom) -> None:
    """Append the KML element of a shapely geometry (lon,lat order) to ``parent``."""
    if geom is None or geom.is_empty:
        return
    if isinstance(geom, shapely.Point):
        _el(_el(parent, "Point"), "coordinates", _coords(geom.coords))
    elif isinstance(geom, shapely.LineString):
        _el(_el(parent, "LineString"), "coordinates", _coords(geom.coords))
    elif isinstance(geom, shapely.Polygon):
        poly = _el(parent, "Polygon")
        ring = _el(_el(poly, "outerBoundaryIs"), "LinearRing")
        _el(ring, "coordinates", _coords(geom.exterior.coords))
        for interior in geom.interiors:
            ring = _el(_el(poly, "innerBoundaryIs"), "LinearRing")
            _el(ring, "coordinates", _coords(interior.coords))
    else:  # Multi* and collections
        multi = _el(parent, "MultiGeometry")
        for part in geom.geoms:
            kml_geometry(multi, part)


def frame_to_kml(frame: gpd.GeoDataFrame, *, name: str) -> bytes:
    """A KML document with one Placemark per row of ``frame`` (any CRS; written in lon/lat).

    Examples
    --------
    >>> gdf = gpd.GeoDataFrame({"name": ["第三小学校"]}, geometry=[shapely.Point(139.53, 35.65)],
    ...                        crs=4326)
    >>> b"<coordinates>139.5300000,35.6500000</coordinates>" in frame_to_kml(gdf, name="shelters")
    True
    """
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    root = etree.Element(f"{{{KML_NS}}}kml", nsmap={None: KML_NS})
    doc = _el(root, "Document")
    _el(doc, "name", LAYER_TITLES.get(name, name))
    style = _el(doc, "Style", id="feature")
    line = _el(style, "LineStyle")
    _el(line, "color", "ff1f5fbf")
    _el(line, "width", "1.5")
    _el(_el(style, "PolyStyle"), "color", "4dbf5f1f")
    name_col = NAME_COLUMNS.get(name)
    fields = [c for c in frame.columns if c != frame.geometry.name]
    for _, row in frame.iterrows():
        mark = _el(doc, "Placemark")
        title = _text(row.get(name_col)) if name_col in frame.columns else ""
        _el(mark, "name", (title[:40] + "…") if len(title) > 40 else title)
        cells = "".join(
            f"<tr><th>{html.escape(column_label(c, layer=name))}</th><td>{html.escape(_text(row[c]))}</td></tr>"
            for c in fields
        )
        _el(mark, "description", f"<table>{cells}</table>")
        _el(mark, "styleUrl", "#feature")
        extended = _el(mark, "ExtendedData")
        for c in fields:
            data = _el(extended, "Data", name=str(c))
            _el(data, "displayName", column_label(c, layer=name))
            _el(data, "value", _text(row[c]))
        kml_geometry(mark, row.geometry)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
