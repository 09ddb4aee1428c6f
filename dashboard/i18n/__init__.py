"""UI text in Japanese (first) and English: ``t(key, **kw)`` and the catalogue.

Every string a user sees lives in :data:`CATALOGUE`; pages and map builders never hold literal UI
text. The language is the session's choice (sidebar switch), else ``BOSAI_LANG``.

The domain's terms are one entry each, taken from :mod:`geodata.vocab` and keyed
``{vocabulary}.{code}``: ``shelter_status.開設``, ``safety_status.無事``,
``follow_up_outcome.not_home``, ``triage.verified``, ``category.火災``, ``measure.evacuees``
(避難者数) … — a page never defines them again.
"""

from __future__ import annotations

from geodata import settings
from geodata.vocab import VOCABULARIES

LANGUAGES = ("ja", "en")
_SESSION_KEY = "lang"

CATALOGUE: dict[str, dict[str, str]] = {
    # frame
    "app.title": {"ja": "防災ダッシュボード", "en": "Disaster dashboard"},
    "app.language": {"ja": "言語 / Language", "en": "言語 / Language"},
    "app.municipality": {"ja": "表示する市区町村", "en": "Municipality shown"},
    "app.kiosk_hint": {
        "ja": "壁面表示モード（{seconds}秒ごとに更新）",
        "en": "Wall-screen mode (refreshes every {seconds} s)",
    },
    "nav.section.situation": {"ja": "状況", "en": "Situation"},
    "nav.section.admin": {"ja": "管理", "en": "Administration"},
    "page.overview": {"ja": "概況", "en": "Overview"},
    "page.admin": {"ja": "管理", "en": "Admin"},
    # overview
    "overview.title": {"ja": "概況 — {city}", "en": "Overview — {city}"},
    "overview.empty": {
        "ja": "参照データ（町丁目・避難所・浸水想定区域）がまだ読み込まれていません。"
        "次のコマンドを実行してください: `{command}`",
        "en": "No reference data (towns, shelters, flood-hazard areas) in the store yet. "
        "Run: `{command}`",
    },
    "overview.store_error": {
        "ja": "データストアを開けません（{url}）: {error}",
        "en": "Cannot open the store ({url}): {error}",
    },
    "overview.measure": {"ja": "町丁目の色分け", "en": "Colour towns by"},
    "overview.updated": {"ja": "データ更新: {time}", "en": "Data as of {time}"},
    "measure.none": {"ja": "なし", "en": "None"},
    # KPI tiles
    "kpi.towns": {"ja": "町丁目", "en": "Towns"},
    "kpi.shelters": {"ja": "避難所", "en": "Shelters"},
    "kpi.shelters_open": {"ja": "開設中の避難所", "en": "Open shelters"},
    "kpi.hazard_areas": {"ja": "浸水想定区域", "en": "Flood-hazard areas"},
    # map layers
    "layer.towns": {"ja": "町丁目", "en": "Towns"},
    "layer.boundary": {"ja": "市区町村界", "en": "Municipal boundary"},
    "layer.hazard": {"ja": "浸水想定区域", "en": "Flood-hazard areas"},
    "layer.shelters": {"ja": "避難所", "en": "Shelters"},
    "layer.evacuee_counts": {"ja": "避難者数ラベル", "en": "Evacuee counts"},
    "layer.field_reports": {"ja": "現地調査の報告", "en": "Field reports"},
    # map tooltips and legends
    "map.households": {"ja": "世帯", "en": "Households"},
    "map.persons": {"ja": "{n}人", "en": "{n}"},
    "map.hazard.other": {"ja": "災害想定区域（{kind}）", "en": "Hazard area ({kind})"},
    "map.river": {"ja": "河川", "en": "River"},
    "map.rank": {"ja": "ランク", "en": "Rank"},
    "map.shelter.status": {"ja": "状況", "en": "Status"},
    "map.shelter.evacuees": {"ja": "避難者", "en": "Evacuees"},
    "map.shelter.capacity_estimated": {"ja": "（推定）", "en": " (estimated)"},
    "map.shelter.no_report": {"ja": "報告なし", "en": "No report"},
    "map.shelter.count_label": {"ja": "{n}人", "en": "{n}"},
    "legend.shelters": {"ja": "避難所（収容率）", "en": "Shelters (occupancy)"},
    "legend.occupancy.0": {"ja": "開設 0–30%", "en": "Open 0–30%"},
    "legend.occupancy.1": {"ja": "開設 30–60%", "en": "Open 30–60%"},
    "legend.occupancy.2": {"ja": "開設 60–80%", "en": "Open 60–80%"},
    "legend.occupancy.3": {"ja": "開設 80%以上", "en": "Open ≥80%"},
    "legend.occupancy.unknown": {"ja": "開設（収容人数不明）", "en": "Open (capacity unknown)"},
    "legend.not_open": {"ja": "未開設・報告なし", "en": "Not open / no report"},
    "legend.no_data": {"ja": "データなし", "en": "No data"},
    "legend.field": {"ja": "現地調査（深刻度）", "en": "Field reports (severity)"},
    "legend.picked": {"ja": "指定した場所", "en": "Chosen place"},
    # attribution of the reference data (kept in Japanese: these are the publishers' own words)
    "attr.towns": {
        "ja": "出典：政府統計の総合窓口(e-Stat) 国勢調査町丁・字等別境界データ、CODH Geoshape を加工",
        "en": "Source: e-Stat census small-area boundaries and CODH Geoshape (processed)",
    },
    "attr.boundary": {
        "ja": "国土交通省『国土数値情報（行政区域データ）』をもとにNIIが加工",
        "en": "MLIT National Land Numerical Information (administrative areas), processed by NII",
    },
    "attr.hazard": {
        "ja": "国土数値情報（浸水想定区域データ）国土交通省",
        "en": "National Land Numerical Information (flood-hazard areas), MLIT",
    },
    "attr.shelters": {
        "ja": "出典：国土地理院 指定緊急避難場所・指定避難所データ",
        "en": "Source: GSI designated emergency evacuation sites and shelters",
    },
    "attr.gsi_tiles": {"ja": "地理院タイル", "en": "GSI tiles (地理院タイル)"},
    # admin
    "admin.title": {"ja": "管理", "en": "Administration"},
    "admin.store": {"ja": "データストア: {url}", "en": "Store: {url}"},
    "admin.data_version": {"ja": "データ版数: {version}", "en": "Data version: {version}"},
    "admin.source_health": {"ja": "データ取得元の状態", "en": "Source health"},
    "admin.rejections": {"ja": "取り込めなかったレコード", "en": "Rejected records"},
    "admin.no_sources": {
        "ja": "取得元の記録はまだありません。",
        "en": "No source has run yet.",
    },
    "admin.no_rejections": {"ja": "取り込めなかったレコードはありません。", "en": "No rejections."},
    "admin.layer_counts": {"ja": "レイヤーの件数", "en": "Rows per layer"},
    "admin.layer": {"ja": "レイヤー", "en": "Layer"},
    "admin.rows": {"ja": "件数", "en": "Rows"},
}


def vocabulary_entries() -> dict[str, dict[str, str]]:
    """One catalogue entry per term of :data:`geodata.vocab.VOCABULARIES` (``{name}.{code}``)."""
    return {
        vocab.key(code): {"ja": ja, "en": en}
        for vocab in VOCABULARIES.values()
        for code, (ja, en) in vocab.terms.items()
    }


def _merge_area_catalogues() -> None:
    """Add the vocabularies' terms and the catalogues of ``dashboard/i18n/<area>.py`` (one per
    page area) to CATALOGUE.

    Each area module has its own ``CATALOGUE`` dict, so pages can be built side by side; a key
    defined twice (also a domain term defined again) is an error.
    """
    import importlib
    import pkgutil
    from pathlib import Path

    sources = [("geodata.vocab", vocabulary_entries())]
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"dashboard.i18n.{info.name}")
            sources.append((info.name, module.CATALOGUE))
    for name, entries in sources:
        clash = set(CATALOGUE) & set(entries)
        if clash:
            raise RuntimeError(f"{name}: keys defined twice: {sorted(clash)[:5]}")
        CATALOGUE.update(entries)


_merge_area_catalogues()


def current_lang() -> str:
    """The session's language when running in Streamlit, else the ``BOSAI_LANG`` setting."""
    default = settings.get("BOSAI_LANG")
    default = default if default in LANGUAGES else "ja"
    try:
        import streamlit as st
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        if get_script_run_ctx() is None:
            return default
        lang = st.session_state.get(_SESSION_KEY, default)
    except Exception:  # streamlit missing or no session: fall back to the setting
        return default
    return lang if lang in LANGUAGES else default


def t(key: str, lang: str | None = None, **kw) -> str:
    """The text for ``key`` in ``lang`` (default: the current language), formatted with ``kw``.

    An unknown key returns the key itself, so a missing entry shows up on screen instead of failing.

    Examples
    --------
    >>> t("layer.towns", lang="en")
    'Towns'
    >>> t("map.persons", lang="ja", n=120)
    '120人'
    """
    entry = CATALOGUE.get(key)
    if entry is None:
        return key
    text = entry.get(lang or current_lang()) or entry["ja"]
    return text.format(**kw) if kw else text
