"""The situation map: KPIs, then the PDF and PNG read back with poppler and PIL.

The PDFs are read with pdftotext/pdfinfo (poppler-utils), the PNG with PIL; renderings are
saved to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pyproj
import pytest
from PIL import Image

from geodata import tile_prefetch
from geodata.export import fonts
from geodata.export.basemap import choose_basemap, local_basemap
from geodata.export.map import map_bounds, render_situation_map, situation_map
from geodata.export.situation import collect_situation
from geodata.http import make_session
from geodata.tiles import SOURCES, local_tiles
from tests.test_export_world import AS_OF, AS_OF_LABEL, EXPECTED, ROSTER, open_world
from tests.tile_server import TileServer, tile_png

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ATTRIBUTION_LINES = (
    "出典：政府統計の総合窓口(e-Stat) 国勢調査町丁・字等別境界データ、CODH Geoshape を加工",
    "国土交通省『国土数値情報（行政区域データ）』をもとにNIIが加工",
    "出典：国土地理院 指定緊急避難場所・指定避難所データ",
    "国土数値情報（浸水想定区域データ）国土交通省",
)
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)


@pytest.fixture
def world_store(sqlite_url):
    yield from open_world(sqlite_url)


def pdf_text(data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-raw", *args, str(path), "-"], capture_output=True, check=True
    )
    return out.stdout.decode("utf-8")


def pdf_info(data: bytes, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "info.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True).stdout.decode()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def save_rendering(data: bytes, name: str) -> Path:
    """Save the PDF and its PNG rendering (pdftoppm) to test-artifacts/ for a human look."""
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(pdf), str(ARTIFACTS / name)], check=True)
    return pdf


def squash(text: str) -> str:
    return "".join(text.split())


def test_kpis_at_as_of(world_store):
    situation = collect_situation(world_store, as_of=AS_OF)
    for key, value in EXPECTED.items():
        assert situation.kpis[key] == value, key
    # The internal version lists the two residents needing help, rescue first.
    assert list(situation.needs_help["name"]) == ["佐藤 ハナ", "髙橋 和子"]
    assert situation.kpis["reports_by_category"] == {
        "浸水・冠水": 1, "火災": 1, "建物被害": 1, "道路・交通": 1,
    }  # fmt: skip


def test_public_situation_holds_no_person(world_store):
    situation = collect_situation(world_store, as_of=AS_OF, public=True)
    assert situation.needs_help.empty
    # Only posts checked by staff are published: the unverified fire post is left out.
    assert situation.kpis["reports_by_category"] == {
        "浸水・冠水": 1,
        "建物被害": 1,
        "道路・交通": 1,
    }
    # Small counts are suppressed in public (the exact counts stay in the internal version).
    towns = situation.towns.set_index("name")
    # 8 residents over 12 towns: every count is below 3, so the table is withheld whole
    assert towns.loc["多摩川三丁目", "residents"] == "秘匿"
    assert towns.loc["多摩川三丁目", "unconfirmed"] == "秘匿"
    internal = collect_situation(world_store, as_of=AS_OF).towns.set_index("name")
    assert internal.loc["多摩川三丁目", "residents"] == 2
    assert internal.loc["多摩川三丁目", "unconfirmed"] == 1
    # city totals: 8 registered, 3 replied, 5 unconfirmed are published; 2 needing help and
    # 0 reached are not numbers below 3 (0 is shown: nobody in the city)
    assert situation.kpis["roster_total"] == 8 and situation.kpis["unconfirmed"] == 5
    assert situation.kpis["needs_help"] == "3人未満" and situation.kpis["reached"] == 0


def test_status_after_as_of_is_ignored(world_store):
    now = collect_situation(world_store)  # the 21:30 update counts now
    assert now.kpis["evacuees"] == EXPECTED["evacuees"] + 30


@needs_poppler
def test_internal_pdf(world_store, tmp_path):
    (result,) = situation_map(world_store, as_of=AS_OF, who="tester")
    assert result.filename.endswith("-internal-20261012-2100.pdf")
    save_rendering(result.data, "situation-map-internal")
    text = pdf_text(result.data, tmp_path)
    flat = squash(text)
    assert squash("調布市 災害対策本部 状況図") in flat
    assert squash(f"{AS_OF_LABEL} 現在") in flat
    for line in ATTRIBUTION_LINES:
        assert squash(line) in flat, line
    assert "第三小学校" in flat and "120/500人" in flat
    assert "35/約700人" in flat  # estimated capacity marked
    assert "755人／1,800人" in flat and "3か所（1）／6か所" in flat
    # residents needing help are listed with name, address and phone in the internal version
    assert "佐藤ハナ" in flat and "042-481-0002" in flat
    info = pdf_info(result.data, tmp_path)
    assert info["Page size"].startswith("1190.55 x 841.89 pts")
    assert info["Title"] == "調布市 災害対策本部 状況図"
    audit = world_store.read_audit(limit=5)
    assert audit.iloc[0]["action"] == "export:situation-map" and audit.iloc[0]["who"] == "tester"


@needs_poppler
def test_public_pdf_has_no_personal_data(world_store, tmp_path):
    (result,) = situation_map(world_store, as_of=AS_OF, public=True)
    save_rendering(result.data, "situation-map-public")
    flat = squash(pdf_text(result.data, tmp_path))
    assert "公開用" in flat and squash(f"{AS_OF_LABEL} 現在") in flat
    assert "755人／1,800人" in flat
    raw = result.data.decode("latin-1")
    info = pdf_info(result.data, tmp_path)
    metadata = " ".join(info.values())
    for _, name, kana, address, phone, *_ in ROSTER:
        for value in (name, kana, address, phone):
            assert squash(value) not in flat, value
            assert value not in metadata
        assert phone not in raw
    assert "tamagawa_taro" not in flat


def test_png_is_a3_at_300_dpi(world_store):
    situation = collect_situation(world_store, as_of=AS_OF, public=True)
    png = render_situation_map(situation, formats=("png",))["png"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "situation-map-public.png").write_bytes(png)
    image = Image.open(io.BytesIO(png))
    assert abs(image.size[0] - 4961) <= 2 and abs(image.size[1] - 3508) <= 2
    dpi = image.info["dpi"]
    assert abs(dpi[0] - 300) < 1 and abs(dpi[1] - 300) < 1


class _TileServer:
    """A session that serves a plain tile for every URL, counting requests."""

    def __init__(self):
        self.requests = 0
        buf = io.BytesIO()
        Image.new("RGB", (256, 256), (200, 220, 240)).save(buf, format="PNG")
        self.tile = buf.getvalue()

    def get(self, url, timeout=None):
        self.requests += 1
        resp = type("R", (), {})()
        resp.content = self.tile
        resp.raise_for_status = lambda: None
        return resp


class _Offline:
    def __init__(self):
        self.requests = 0

    def get(self, url, timeout=None):
        self.requests += 1
        raise ConnectionError("offline")


@needs_poppler
def test_basemap_tiles_used_and_attributed(world_store, tmp_path):
    session = _TileServer()
    (result,) = situation_map(
        world_store, as_of=AS_OF, public=True, tile_session=session,
        tile_url=SOURCES["gsi_pale"].url,
    )  # fmt: skip
    assert session.requests > 0 and result.info["basemap"] is True
    assert result.info["basemap_origin"] == "online"
    assert "地理院タイル" in pdf_text(result.data, tmp_path)


@needs_poppler
def test_custom_tile_url_credits_its_host_not_gsi(world_store, tmp_path):
    session = _TileServer()
    (result,) = situation_map(
        world_store, as_of=AS_OF, public=True, tile_session=session,
        tile_url="http://tiles.hq.example.lg.jp:8080/std/{z}/{x}/{y}.png",
    )  # fmt: skip
    assert session.requests > 0 and result.info["basemap"] is True
    assert result.info["basemap_credit"] == "背景地図：tiles.hq.example.lg.jp"
    text = pdf_text(result.data, tmp_path)
    assert "背景地図：tiles.hq.example.lg.jp" in text and "地理院タイル" not in text


@needs_poppler
def test_offline_basemap_falls_back_and_credits_nothing(world_store, tmp_path):
    (result,) = situation_map(world_store, as_of=AS_OF, tile_session=_Offline())
    assert result.info["basemap"] is False and result.data.startswith(b"%PDF")
    assert result.info["basemap_note"] == "online tiles unreachable (see the log)"
    text = pdf_text(result.data, tmp_path)
    assert "地理院タイル" not in text and "背景地図" not in text


def _prefetched(world_store, path: Path) -> None:
    """An MBTiles file of gsi_pale tiles (loopback server) covering the world's map, z12-14."""
    situation = collect_situation(world_store, as_of=AS_OF, public=True)
    minx, miny, maxx, maxy = map_bounds(situation)
    to_ll = pyproj.Transformer.from_crs("EPSG:6677", "EPSG:4326", always_xy=True)
    lons, lats = to_ll.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    bounds = (min(lons), min(lats), max(lons), max(lats))
    with TileServer() as ts:
        plan = tile_prefetch.make_plan(bounds, range(12, 15), "gsi_pale", url=ts.url, margin=0)
        session = make_session(retries=0)
        result = tile_prefetch.prefetch(plan, path, session, rate=1000)
    assert result.fetched == plan.count


@needs_poppler
def test_local_mbtiles_drawn_without_network_and_credited(world_store, tmp_path, monkeypatch):
    path = tmp_path / "basemap.mbtiles"
    _prefetched(world_store, path)
    monkeypatch.setenv("BOSAI_MBTILES", str(path))
    offline = _Offline()
    (result,) = situation_map(
        world_store, as_of=AS_OF, public=True, tile_session=offline, formats=("pdf",)
    )
    assert offline.requests == 0  # the local file, not the network
    assert result.info["basemap"] is True and result.info["basemap_origin"] == "local"
    assert result.info["basemap_credit"] == "背景地図：地理院タイル（国土地理院）"
    assert "背景地図：地理院タイル（国土地理院）" in pdf_text(result.data, tmp_path)
    (none,) = situation_map(world_store, as_of=AS_OF, public=True, basemap="none")
    assert none.info["basemap"] is False and "背景地図" not in pdf_text(none.data, tmp_path)


def test_local_basemap_pixels_come_from_the_file(world_store, tmp_path, monkeypatch):
    path = tmp_path / "basemap.mbtiles"
    _prefetched(world_store, path)
    situation = collect_situation(world_store, as_of=AS_OF, public=True)
    drawn = local_basemap(map_bounds(situation), local_tiles(path))
    assert drawn.zoom == 14 and drawn.tiles > 0 and drawn.origin == "local"
    colours = {tuple(c) for c in drawn.image.reshape(-1, 3)[::997]}
    expected = {tuple(Image.open(io.BytesIO(tile_png(14, x, y))).getpixel((128, 128)))
                for x in range(14540, 14546) for y in range(6450, 6458)}  # fmt: skip
    assert colours & expected  # the tiles' own colours, not paper or black
    monkeypatch.setenv("BOSAI_MBTILES", str(path))
    chosen, note = choose_basemap(map_bounds(situation), "local")
    assert chosen is not None and note == ""
    monkeypatch.setenv("BOSAI_MBTILES", str(tmp_path / "absent.mbtiles"))
    chosen, note = choose_basemap(map_bounds(situation), "local")
    assert chosen is None and note.startswith("no local tiles at ")


def test_map_bounds_keep_frame_ratio(world_store):
    minx, miny, maxx, maxy = map_bounds(collect_situation(world_store, as_of=AS_OF))
    assert (maxx - minx) / (maxy - miny) == pytest.approx((0.655 * 420) / (0.82 * 297), rel=1e-6)
    assert 4000 < maxx - minx < 8000  # metres: the 4 km grid plus margins


def test_missing_font_names_the_package(monkeypatch):
    monkeypatch.setattr(fonts, "_FILES", ("NoSuchFont-Regular.ttc",))
    with pytest.raises(fonts.FontNotFound, match="fonts-noto-cjk"):
        fonts.find_font_files()


def test_a_named_tile_server_wins_over_the_local_file(world_store, tmp_path, monkeypatch):
    path = tmp_path / "basemap.mbtiles"
    _prefetched(world_store, path)
    monkeypatch.setenv("BOSAI_MBTILES", str(path))
    monkeypatch.setenv("BOSAI_TILE_URL", "http://tiles.hq.example.lg.jp/{z}/{x}/{y}.png")
    session = _TileServer()
    (result,) = situation_map(world_store, as_of=AS_OF, public=True, tile_session=session)
    assert session.requests > 0 and result.info["basemap_origin"] == "online"
    assert result.info["basemap_credit"] == "背景地図：tiles.hq.example.lg.jp"
