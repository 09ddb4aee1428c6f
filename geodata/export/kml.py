"""KML 2.2 for Google Earth, written with lxml (every text escaped by the serializer).

One Placemark per row: ``name`` a human name (the layer's name column; a hazard area by its kind
and river, e.g. 浸水想定区域（多摩川）; a post whose text is withheld by its categories),
``description`` an HTML table of the fields with Japanese labels and coded values labelled from
:mod:`geodata.vocab` (values HTML-escaped before lxml XML-escapes the whole, so a post text can
never inject markup into the balloon), ``ExtendedData`` with the English field names and the
stored codes for other systems, and the geometry with coordinates in KML's ``lon,lat`` order.
The document carries ``atom:author`` (the HQ) and a description with the attribution lines of
its sources and, for public files, the policy it follows.
"""

from __future__ import annotations

import html
import json

import geopandas as gpd
import pandas as pd
import shapely
from lxml import etree

from geodata import vocab
from geodata.export.common import JST, PUBLIC_MASK
from geodata.export.labels import column_label, value_label

KML_NS = "http://www.opengis.net/kml/2.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
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


def _el(parent, tag: str, text: str | None = None, ns: str = KML_NS, **attrs):
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
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


def placemark_name(row, name: str, columns) -> str:
    """A human name for the placemark of ``row`` (cut to 40 characters)."""
    if name == "hazard_areas":
        title = vocab.HAZARD_AREA_KINDS.label(row.get("kind"))
        extra = [_text(row.get(c)) for c in ("river", "rank") if c in columns]
        extra = [e for e in extra if e]
        title = f"{title}（{'・'.join(extra)}）" if extra else title
    else:
        col = NAME_COLUMNS.get(name)
        title = _text(row.get(col)) if col in columns else ""
        if name == "posts" and title in ("", PUBLIC_MASK):
            title = value_label("categories", row.get("categories"), name) or ""
    return (title[:40] + "…") if len(title) > 40 else title


def _shown(row, column: str, name: str) -> str:
    value = row[column]
    label = value_label(column, value, name) if _text(value) else None
    return label if label is not None else _text(value)


def frame_to_kml(
    frame: gpd.GeoDataFrame, *, name: str, description: str = "", author: str = ""
) -> bytes:
    """A KML document with one Placemark per row of ``frame`` (any CRS; written in lon/lat).

    Parameters
    ----------
    frame : the rows.
    name : the layer (titles, labels, placemark names).
    description : the document's description (attribution lines, the public policy).
    author : who made the document (``atom:author``), e.g. 調布市 災害対策本部.

    Examples
    --------
    >>> gdf = gpd.GeoDataFrame({"name": ["第三小学校"]}, geometry=[shapely.Point(139.53, 35.65)],
    ...                        crs=4326)
    >>> b"<coordinates>139.5300000,35.6500000</coordinates>" in frame_to_kml(gdf, name="shelters")
    True
    """
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    root = etree.Element(f"{{{KML_NS}}}kml", nsmap={None: KML_NS, "atom": ATOM_NS})
    doc = _el(root, "Document")
    _el(doc, "name", LAYER_TITLES.get(name, name))
    if author:
        _el(_el(doc, "author", ns=ATOM_NS), "name", author, ns=ATOM_NS)
    if description:
        _el(doc, "description", description)
    style = _el(doc, "Style", id="feature")
    line = _el(style, "LineStyle")
    _el(line, "color", "ff1f5fbf")
    _el(line, "width", "1.5")
    _el(_el(style, "PolyStyle"), "color", "4dbf5f1f")
    fields = [c for c in frame.columns if c != frame.geometry.name]
    for _, row in frame.iterrows():
        mark = _el(doc, "Placemark")
        _el(mark, "name", placemark_name(row, name, frame.columns))
        cells = "".join(
            f"<tr><th>{html.escape(column_label(c, layer=name))}</th>"
            f"<td>{html.escape(_shown(row, c, name))}</td></tr>"
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
