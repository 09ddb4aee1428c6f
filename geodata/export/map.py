"""The 状況図 for the HQ meeting: an A3 landscape PDF and a 300 dpi PNG drawn with matplotlib.

The map is drawn in EPSG:6677 (JGD2011 plane-rectangular zone IX) so that the scale bar is true
in metres. The sheet has a title band (title, municipality, "as of" time in JST, internal or
public mark), the map (towns shaded by residents not yet heard from, hatched hazard areas,
damage reports by category, shelters by status with evacuees / capacity), a legend, a KPI
table, a list (internal: residents needing help; public: towns by count) and the sources.

The public version draws from a :class:`~geodata.export.situation.Situation` collected with
``public=True`` — read through the public-output policy (:mod:`geodata.export.public`), so it
holds no personal data at all — and refuses to draw one whose town counts show a number below
the suppression threshold. It states the policy in its footer; the PDF metadata names only the HQ.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pyproj  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from geodata import chronology  # noqa: E402
from geodata.evacuation import LEVEL_COLOURS  # noqa: E402
from geodata.export import fonts  # noqa: E402
from geodata.export import public as policy  # noqa: E402
from geodata.export.basemap import Basemap, choose_basemap  # noqa: E402
from geodata.export.common import (  # noqa: E402
    APP_NAME,
    ATTRIBUTIONS,
    ExportResult,
    audit_export,
    jst_label,
    stamp,
)
from geodata.export.map_labels import label, place_labels  # noqa: E402
from geodata.export.map_panels import draw_kpis, draw_legend, draw_list  # noqa: E402
from geodata.export.map_style import (  # noqa: E402
    CATEGORY_STYLE,
    NOT_REPLIED_CLASSES,
    SHELTER_STYLE,
    WELFARE_RING,
    not_replied_color,
    shelter_class,
)
from geodata.export.situation import Situation, collect_situation  # noqa: E402
from geodata.schema import now_utc  # noqa: E402
from geodata.shelters import (  # noqa: E402
    OPEN_STATES,
    is_welfare,
    occupancy_class,
    occupancy_rate,
)

MAP_CRS = "EPSG:6677"  # JGD2011 / Japan Plane Rectangular CS IX (Tokyo)
A3_LANDSCAPE_IN = (420 / 25.4, 297 / 25.4)
MAP_AXES = (0.012, 0.075, 0.655, 0.82)  # left, bottom, width, height (figure fraction)
PANEL_X = 0.682
PANEL_W = 0.306
MEDIA = {"pdf": "application/pdf", "png": "image/png"}


def situation_map(
    store,
    *,
    formats: tuple[str, ...] = ("pdf",),
    public: bool = False,
    as_of=None,
    since=None,
    tile_session=None,
    tile_url: str | None = None,
    who: str | None = None,
    basemap: str = "auto",
) -> list[ExportResult]:
    """Collect the situation from ``store`` and draw the situation map.

    Parameters
    ----------
    store : the store.
    formats : any of "pdf" (A3 landscape, vector) and "png" (A3 at 300 dpi).
    public : the public version (no personal data).
    as_of, since : see :func:`geodata.export.situation.collect_situation`.
    tile_session : a requests session for online basemap tiles; None: no online tiles.
    tile_url : online tile URL template (default from the settings).
    who : the user, for the audit log.
    basemap : ``auto`` (the prefetched MBTiles file when it exists, else online tiles when
        ``tile_session`` is given), ``local``, ``online`` or ``none``; see
        :func:`geodata.export.basemap.choose_basemap`. The footer credits what was drawn.

    Returns
    -------
    One :class:`~geodata.export.common.ExportResult` per format (``info`` holds the KPIs).

    Examples
    --------
    >>> pdf, = situation_map(store, public=True)  # doctest: +SKIP
    >>> pdf.write("var/exports/")  # doctest: +SKIP
    """
    situation = collect_situation(store, as_of=as_of, since=since, public=public)
    drawn, note = choose_basemap(map_bounds(situation), basemap, tile_session, tile_url)
    rendered = render_situation_map(situation, formats=formats, basemap=drawn)
    version = "public" if public else "internal"
    results = []
    for fmt, data in rendered.items():
        name = f"situation-map-{situation.city_code}-{version}-{stamp(situation.as_of)}.{fmt}"
        info = {"public": public, "as_of": jst_label(situation.as_of), "basemap": bool(drawn)}
        info["basemap_origin"] = drawn.origin if drawn else None
        info["basemap_credit"] = drawn.credit if drawn else None
        info["basemap_note"] = note
        info["kpis"] = situation.kpis
        results.append(ExportResult(data, name, MEDIA[fmt], len(situation.shelters), info))
    chronology.map_exported(store, as_of=situation.as_of, public=public, who=who)
    audit_export(
        store,
        who,
        "situation-map",
        None,
        {"formats": list(formats), "public": public, "as_of": situation.as_of.isoformat()},
    )
    return results


def render_situation_map(
    situation: Situation,
    *,
    formats: tuple[str, ...] = ("pdf",),
    basemap: Basemap | None = None,
    dpi: int = 300,
) -> dict[str, bytes]:
    """Draw ``situation`` once and save it in each of ``formats`` ("pdf", "png").

    Returns
    -------
    dict format -> file bytes. The PNG is A3 at ``dpi`` (4961 x 3508 px at 300 dpi).
    """
    unknown = set(formats) - set(MEDIA)
    if unknown:
        raise ValueError(f"unknown map format(s) {sorted(unknown)}; use pdf or png")
    if situation.public:
        if len(situation.needs_help):
            raise policy.PersonalDataError("a public situation map lists no residents")
        policy.check_counts(situation.towns)
    with plt.rc_context(fonts.rc_params()):
        fig = build_figure(situation, basemap=basemap)
        out = {}
        for fmt in formats:
            # A PDF embeds the basemap as it is (the viewer scales it): resampling it to 300 dpi
            # first made the PDF take seconds longer for the same look.
            for image in fig.axes[0].images:
                image.set_interpolation("none" if fmt == "pdf" else "bilinear")
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(situation, fmt))
            out[fmt] = buf.getvalue()
    return out


def _metadata(situation: Situation, fmt: str) -> dict:
    version = "公開用" if situation.public else "内部用"
    subject = f"{jst_label(situation.as_of)} 現在（{version}）"
    if fmt == "pdf":
        return {
            "Title": situation.title,
            "Subject": subject,
            "Author": f"{situation.city_name} 災害対策本部",
            "Creator": APP_NAME,
            "Keywords": "public" if situation.public else "internal",
        }
    return {"Title": situation.title, "Description": subject, "Software": APP_NAME}


def map_bounds(situation: Situation, pad: float = 0.04) -> tuple[float, float, float, float]:
    """The map extent in EPSG:6677, padded and stretched to the map frame's aspect ratio."""
    for layer in (situation.boundary, situation.towns, situation.shelters):
        if len(layer) and layer.geometry.notna().any():
            minx, miny, maxx, maxy = layer.to_crs(MAP_CRS).total_bounds
            break
    else:
        raise ValueError("nothing to draw: the store has no towns, boundary or shelters")
    w, h = max(maxx - minx, 500.0), max(maxy - miny, 500.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    w, h = w * (1 + 2 * pad), h * (1 + 2 * pad)
    frame_ratio = (MAP_AXES[2] * A3_LANDSCAPE_IN[0]) / (MAP_AXES[3] * A3_LANDSCAPE_IN[1])
    if w / h < frame_ratio:
        w = h * frame_ratio
    else:
        h = w / frame_ratio
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def build_figure(situation: Situation, *, basemap: Basemap | None = None) -> Figure:
    """The A3 figure of the situation map (call inside ``rc_context(fonts.rc_params())``)."""
    fig = plt.figure(figsize=A3_LANDSCAPE_IN)
    _header(fig, situation)
    ax = fig.add_axes(MAP_AXES)
    bounds = map_bounds(situation)
    _draw_map(ax, situation, bounds, basemap)
    _scale_bar(ax, bounds)
    _north_arrow(ax, bounds)
    panel = fig.add_axes((PANEL_X, 0.535, PANEL_W, 0.36))
    draw_legend(panel, situation)
    draw_kpis(fig.add_axes((PANEL_X, 0.30, PANEL_W, 0.225)), situation)
    draw_list(fig.add_axes((PANEL_X, 0.075, PANEL_W, 0.215)), situation)
    _footer(fig, situation, basemap.credit if basemap is not None else None)
    return fig


def _header(fig: Figure, s: Situation) -> None:
    fig.text(0.012, 0.958, s.title, fontsize=28, fontweight="bold", va="center")
    place = f"{s.pref_name}{s.city_name}" if s.pref_name else s.city_name
    fig.text(0.012, 0.918, f"{place}　　{jst_label(s.as_of)} 現在", fontsize=17, va="center")
    if s.public:
        mark, color = "公開用（個人情報は含みません）", "#1b7f3b"
    else:
        mark, color = "内部用　個人情報を含む・取扱注意", "#c0392b"
    fig.text(
        0.988, 0.955, mark, fontsize=15, fontweight="bold", color="white", ha="right",
        va="center", bbox={"boxstyle": "round,pad=0.45", "fc": color, "ec": color},
    )  # fmt: skip
    fig.add_artist(plt.Line2D([0.012, 0.988], [0.902, 0.902], color="#333", lw=1.2))


def _draw_map(ax, s: Situation, bounds, basemap: Basemap | None) -> None:
    minx, miny, maxx, maxy = bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(1.2)
    towns = s.towns.to_crs(MAP_CRS)
    if len(towns):
        colors = [to_rgba(not_replied_color(n)) for n in towns["unconfirmed"]]
        towns.plot(ax=ax, color=colors, edgecolor="none", zorder=1)
    hazard = s.hazard_areas.to_crs(MAP_CRS)
    if len(hazard) and len(s.boundary):
        # Flood areas run on beyond the city along the river: show only the city's part.
        hazard = gpd.clip(hazard, s.boundary.to_crs(MAP_CRS).union_all())
    if len(hazard):
        hazard.plot(ax=ax, color="#5b9bd5", alpha=0.22, edgecolor="none", zorder=2)
        hazard.plot(ax=ax, facecolor="none", edgecolor="#2f6fb0", hatch="////", lw=0, zorder=2)
    if len(towns):
        towns.boundary.plot(ax=ax, color="#8a8a8a", lw=0.45, zorder=3)
    _evacuation(ax, s.evacuation.to_crs(MAP_CRS))
    if len(towns):
        _town_labels(ax, towns)
    if len(s.boundary):
        s.boundary.to_crs(MAP_CRS).boundary.plot(ax=ax, color="#222", lw=2.0, zorder=4)
    _reports(ax, s.reports.to_crs(MAP_CRS))
    if len(s.needs_help):
        _needs_help(ax, s.needs_help.to_crs(MAP_CRS))
    _shelters(ax, s.shelters.to_crs(MAP_CRS))
    if basemap is not None:
        # Added last, drawn first (zorder 0): geopandas redraws the whole figure after each of
        # its plots (draw_idle on Agg), and with the basemap already there each redraw resampled
        # the image, seconds per export.
        ax.imshow(basemap.image, extent=basemap.extent, zorder=0, interpolation="bilinear")
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
    ax.set_xlabel("")
    ax.set_ylabel("")


def _evacuation(ax, towns: gpd.GeoDataFrame) -> None:
    """Towns under evacuation information: a veil and a thick outline in the 警戒レベル colour
    (geodata.evacuation.LEVEL_COLOURS), the highest level drawn last."""
    for level in sorted(set(towns["level"].dropna().astype(int))):
        mine = towns[towns["level"] == level]
        colour = LEVEL_COLOURS[level]
        mine.plot(ax=ax, color=colour, alpha=0.18, edgecolor="none", zorder=3)
        mine.boundary.plot(ax=ax, color=colour, lw=2.2, zorder=3.5)


def _town_labels(ax, towns: gpd.GeoDataFrame) -> None:
    points = towns.geometry.representative_point()
    for name, pt in zip(towns["name"], points, strict=True):
        if name and pt is not None:
            label(ax, name, (pt.x, pt.y), halo=1.5, fontsize=6, color="#555", ha="center",
                  va="center", zorder=3.5)  # fmt: skip


def _reports(ax, reports: gpd.GeoDataFrame) -> None:
    for category, style in CATEGORY_STYLE.items():
        rows = reports[(reports["category"] == category) & reports.geometry.notna()]
        if len(rows):
            ax.scatter(
                rows.geometry.x, rows.geometry.y, marker=style["marker"], s=style["size"],
                c=style["color"], edgecolors="white", linewidths=0.7, zorder=6,
            )  # fmt: skip


def _needs_help(ax, people: gpd.GeoDataFrame) -> None:
    people = people[people.geometry.notna() & ~people.geometry.is_empty]
    ax.scatter(
        people.geometry.x, people.geometry.y, marker="o", s=130, c="#ffffff",
        edgecolors="#c0392b", linewidths=2.2, zorder=7,
    )  # fmt: skip
    for no, pt in zip(people["no"], people.geometry, strict=True):
        ax.text(pt.x, pt.y, str(no), fontsize=6.5, fontweight="bold", color="#c0392b",
                ha="center", va="center", zorder=7.5)  # fmt: skip


def _shelters(ax, shelters: gpd.GeoDataFrame) -> None:
    shelters = shelters[shelters.geometry.notna()]
    drawn = pd.Series(
        [
            shelter_class(r.get("status"), occupancy_class(occupancy_rate(r.get("evacuees"),
                                                                          r.get("capacity"))))
            for r in shelters.to_dict("records")
        ],
        index=shelters.index,
        dtype=object,
    )  # fmt: skip
    for cls, style in SHELTER_STYLE.items():
        rows = shelters[drawn == cls]
        if len(rows):
            ax.scatter(
                rows.geometry.x, rows.geometry.y, marker=style["marker"], s=style["size"],
                c=style["color"], edgecolors=style["edge"], linewidths=1.0, zorder=8,
            )  # fmt: skip
    welfare = shelters[[is_welfare(r) for r in shelters.to_dict("records")]]
    if len(welfare):  # a ring around each 福祉避難所 (the legend says for whom)
        ax.scatter(
            welfare.geometry.x, welfare.geometry.y, marker="o", s=230, facecolors="none",
            edgecolors=WELFARE_RING, linewidths=2.0, zorder=7.9,
        )  # fmt: skip
    place_labels(ax, shelters[shelters["status"].isin(OPEN_STATES)])


def _scale_bar(ax, bounds) -> None:
    minx, miny, maxx, maxy = bounds
    width = maxx - minx
    length = max(v for v in (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000) if v <= width / 5)
    x0, y0 = minx + 0.03 * width, miny + 0.035 * (maxy - miny)
    h = 0.009 * (maxy - miny)
    ax.add_patch(
        plt.Rectangle((x0 - 0.012 * width, y0 - 3.6 * h), length + 0.05 * width, 7.2 * h,
                      fc="white", ec="#999", lw=0.6, alpha=0.9, zorder=10)
    )  # fmt: skip
    for i in range(4):
        ax.add_patch(
            plt.Rectangle((x0 + i * length / 4, y0), length / 4, h,
                          fc="#222" if i % 2 == 0 else "white", ec="#222", lw=0.8, zorder=11)
        )  # fmt: skip
    for value in (0, length / 2, length):
        text = f"{value / 1000:g} km" if value == length and length >= 1000 else f"{value:g}"
        if value == length and length < 1000:
            text += " m"
        ax.text(x0 + value, y0 + 1.6 * h, text, fontsize=9, ha="center", va="bottom", zorder=11)
    paper_m = ax.get_position().width * A3_LANDSCAPE_IN[0] * 0.0254
    ratio = width / paper_m
    nice = round(ratio, -int(math.floor(math.log10(ratio))) + 1)
    ax.text(x0, y0 - 1.4 * h, f"縮尺 約1:{nice:,.0f}（A3 原寸印刷時）", fontsize=8.5,
            va="top", zorder=11)  # fmt: skip


def _north_arrow(ax, bounds) -> None:
    """A north arrow pointing to true north (grid north differs by the meridian convergence)."""
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    to_ll = pyproj.Transformer.from_crs(MAP_CRS, "EPSG:4326", always_xy=True)
    to_map = pyproj.Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_map.transform(lon, lat + 0.01)
    angle = math.atan2(nx - cx, ny - cy)
    x, y = maxx - 0.05 * (maxx - minx), maxy - 0.13 * (maxy - miny)
    length = 0.07 * (maxy - miny)
    tip = (x + length * math.sin(angle), y + length * math.cos(angle))
    ax.annotate(
        "", xy=tip, xytext=(x, y), zorder=12,
        arrowprops={"arrowstyle": "-|>,head_length=1.2,head_width=0.6", "lw": 2.5, "color": "#222"},
    )  # fmt: skip
    label(ax, "N", (tip[0], tip[1] + 0.012 * (maxy - miny)), fontsize=18, fontweight="bold",
          ha="center", va="bottom", zorder=12)  # fmt: skip


def _footer(fig: Figure, s: Situation, tile_credit: str | None) -> None:
    lines = [ATTRIBUTIONS[k] for k in ("towns", "boundaries", "shelters", "hazard_areas")]
    if tile_credit:  # exactly what was drawn: GSI, the custom server's host, the local file's
        lines.append(tile_credit)
    half = (len(lines) + 1) // 2
    for col, chunk in enumerate((lines[:half], lines[half:])):
        fig.text(0.012 + col * 0.33, 0.058, "\n".join(chunk), fontsize=8, va="top",
                 linespacing=1.5)  # fmt: skip
    created = f"作成：{APP_NAME}　出力 {jst_label(now_utc())}"
    if s.public:
        notes = [*_wrap(policy.PUBLIC_NOTE["ja"], 44), *_wrap(policy.SUPPRESSION_NOTE["ja"], 44)]
        fig.text(0.988, 0.058, "\n".join([*notes, created]), fontsize=7, ha="right", va="top",
                 linespacing=1.4)  # fmt: skip
        return
    note = "内部用：要配慮者の個人情報を含みます。会議終了後は回収・廃棄してください。"
    fig.text(0.988, 0.058, f"{note}\n{created}", fontsize=8, ha="right", va="top",
             linespacing=1.5)  # fmt: skip


def _wrap(text: str, width: int) -> list[str]:
    """Japanese text cut into lines of ``width`` characters (no spaces to break at)."""
    return [text[i : i + width] for i in range(0, len(text), width)]


def legend_classes() -> list[tuple[str, str]]:
    """(label, colour) of the not-replied classes, for legends elsewhere."""
    return [(label, color) for _, _, label, color in NOT_REPLIED_CLASSES]
