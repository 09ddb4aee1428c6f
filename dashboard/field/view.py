"""The pieces of the field-report page: place picker (map click or address), form, recent list."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth, data, kiosk, settings
from dashboard.data import ReferenceLayers
from dashboard.field import data as field_data
from dashboard.field import report as field
from dashboard.i18n import current_lang, t
from dashboard.maps import layers as maps
from dashboard.maps.elements import Legend
from dashboard.shelters import map as shelters_map
from dashboard.shelters.board import md_text
from dashboard.shelters.table import markdown_safe
from geodata import damage, vocab
from geodata.schema import CATEGORIES, now_utc
from geodata.shelters import stored_time

PLACE_KEY = "field_place"  # the chosen Place
CLICK_KEY = "field_last_click"  # the map click already turned into a place
GEN_KEY = "field_form_generation"  # bumped after a save: a fresh, empty form
FLASH_KEY = "field_flash"
MAP_KEY = "field_map"  # st_folium copies the map's return value here (its on_change)
KIOSK_ROWS = 6  # wall rows: a description wraps to two or three lines at 32 px

_TABLET_CSS = """
<style>
  .st-key-field-form textarea, .st-key-field-form input { font-size: 1.3rem !important; }
  .st-key-field-form [data-testid="stWidgetLabel"] p,
  .st-key-field-place [data-testid="stWidgetLabel"] p { font-size: 1.15rem !important;
      font-weight: 600; }
  .st-key-field-form button[data-variant="pills"],
  .st-key-field-form button[data-variant="segmented_control"] {
      min-height: 2.9rem; font-size: 1.15rem !important; }
  .st-key-field-form button[data-variant="pills"][data-selected="true"],
  .st-key-field-form button[data-variant="pills"][aria-pressed="true"] {
      background: #1f4e9c !important; color: #fff !important; border-color: #1f4e9c !important; }
  .st-key-field-form [data-testid="stFormSubmitButton"] button,
  .st-key-field-place [data-testid="stFormSubmitButton"] button {
      min-height: 3.2rem; font-size: 1.25rem !important; }
</style>
"""


def town_names(ref: ReferenceLayers) -> dict[str, str]:
    """town_code -> 町丁目 name."""
    return dict(zip(ref.towns["town_code"].astype(str), ref.towns["name"].astype(str), strict=True))


def flash() -> None:
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(text)


def _label(row: dict) -> str:
    time = stored_time(row.get("reported_at"))
    stamp = time.tz_convert(field.JST).strftime("%m/%d %H:%M") if time is not None else ""
    category = t(f"category.{row.get('category')}")
    return f"{stamp} {category} ({t('field.col.severity')} {row.get('severity')})"


def _click_to_place(url: str, names: dict[str, str]) -> None:
    """Turn a new map click (read before the map is drawn) into the chosen place."""
    click = (st.session_state.get(MAP_KEY) or {}).get("last_clicked")
    if not click or click == st.session_state.get(CLICK_KEY):
        return
    st.session_state[CLICK_KEY] = click
    place = field_data.clicked_place(url, click["lat"], click["lng"], names)
    if place.town_code is None:
        place = field.Place(place.point, None, t("field.place.outside"), "map")
    st.session_state[PLACE_KEY] = place


def place_picker(url: str, ref: ReferenceLayers, reports: pd.DataFrame, height: int = 520):
    """Address search and the map; returns the chosen :class:`~dashboard.field.report.Place` or None."""
    names = town_names(ref)
    st.html(_TABLET_CSS)
    with st.container(key="field-place"):
        with st.form("field_find", border=False, clear_on_submit=True):
            cols = st.columns([3, 1], vertical_alignment="bottom")
            text = cols[0].text_input(t("field.place.text"), key="field_address")
            find = cols[1].form_submit_button(t("field.place.search"), width="stretch")
        if find and (text or "").strip():
            place = field_data.find_place(url, text)
            if place is None:
                st.error(md_text(t("field.place.not_found", text=text.strip()[:80])))
            else:
                st.session_state[PLACE_KEY] = place
        _click_to_place(url, names)
        place = st.session_state.get(PLACE_KEY)
        report_map(ref, reports, place, height=height, clickable=True)
        st.info(md_text(field.place_text(place, current_lang())))
    return place


def field_legend(lang: str, picked: bool = True) -> Legend:
    """What the field map's colours mean: the reports by severity, the chosen place (on a map
    where one can be chosen: ``picked``; not on the wall), the hazard areas (the colours
    :func:`report_map` draws them in)."""
    rows = [(field.severity_colour(s), "#222222", t(f"field.severity.{s}", lang=lang))
            for s in (3, 2, 1)]  # fmt: skip
    if picked:
        rows.append((shelters_map.PICKED_COLOUR, "#000000", t("legend.picked", lang=lang)))
    rows.append((maps.HAZARD_COLOUR, maps.HAZARD_COLOUR, t("layer.hazard", lang=lang)))
    return Legend(t("legend.field", lang=lang), rows, position="bottomright")


def report_map(ref, reports, place=None, height: int = 520, clickable: bool = False) -> None:
    """Towns with the recent reports (by severity) and the chosen place (magenta), a legend
    and a layer control (the shelters map's: it lists the live layers too)."""
    lang = current_lang()
    base = shelters_map.context_map(
        ref.towns,
        ref.hazard,
        ref.boundaries,
        tiles=settings.get("BOSAI_TILES"),
        tile_url=settings.get("BOSAI_TILE_URL"),
        lang=lang,
        with_shelter_legend=False,
        wall=kiosk.enabled(),
    )
    field_legend(lang, picked=clickable or place is not None).add_to(base)
    layers = [
        shelters_map.points_layer(
            reports,
            _label,
            name=t("layer.field_reports", lang=lang),
            class_name="bosai-field",
            colour_of=lambda row: field.severity_colour(row.get("severity")),
            radius=10 if kiosk.enabled() else 7,
            control=True,
        ),
    ]
    if place is not None:
        layers.append(shelters_map.marker_layer(place.point, place.label, name="picked"))
    kiosk.live_map(
        base,
        layers,
        key=MAP_KEY,
        height=height,
        layer_control=shelters_map.layer_control(),
        returned_objects=["last_clicked"] if clickable else [],
    )


def report_form(url: str, place) -> None:
    """Category, severity, description, photo; saves as the logged-in user."""
    lang = current_lang()
    gen = st.session_state.setdefault(GEN_KEY, 0)
    with st.container(key="field-form"):
        with st.form(f"field_report_{gen}", border=True):
            category = st.pills(
                t("field.category"),
                options=list(CATEGORIES),
                format_func=lambda c: t(f"category.{c}"),
                key=f"field_category_{gen}",
            )
            severity = st.segmented_control(
                t("field.severity"),
                options=list(field.SEVERITIES),
                format_func=lambda s: t(f"field.severity.{s}"),
                key=f"field_severity_{gen}",
            )
            description = st.text_area(
                t("field.description"), height=130, key=f"field_description_{gen}"
            )
            photo = st.file_uploader(
                t("field.photo"),
                type=["jpg", "jpeg", "png", "webp"],
                key=f"field_photo_{gen}",
            )
            counts = damage_inputs(gen, lang)
            sent = st.form_submit_button(t("field.submit"), type="primary", width="stretch")
    if not sent:
        return
    errors = field.check_report(category, severity, description, place, photo is not None, lang)
    if errors:
        for message in errors:
            st.error(message)
        return
    now = now_utc()
    photo_path = None
    if photo is not None:
        try:
            photo_path = field.save_photo(photo.getvalue(), field.uploads_dir(), now)
        except ValueError:
            st.error(t("field.check.photo", mb=field.MAX_PHOTO_MB))
            return
    frame = field.report_frame(category, severity, description, place, "", now, photo_path,
                               damage=counts)  # fmt: skip
    field_data.save_report(url, frame)
    st.session_state[GEN_KEY] = gen + 1
    st.session_state.pop(PLACE_KEY, None)
    st.session_state.setdefault(FLASH_KEY, []).append(
        ("success", t("field.saved", category=t(f"category.{category}"), place=place.label))
    )
    st.rerun()


def damage_inputs(gen: int, lang: str) -> dict[str, int]:
    """The counts of 第4号様式 a report states (empty: not stated), folded away by default."""
    out = {}
    with st.expander(t("field.damage")):
        cols = st.columns(3)
        for i, code in enumerate(vocab.DAMAGE_ITEMS.codes):
            label = f"{vocab.DAMAGE_ITEMS.label(code, lang)}（{vocab.DAMAGE_UNITS[code]}）"
            value = cols[i % 3].number_input(label, min_value=0, step=1, value=None,
                                             key=f"field_dmg_{code}_{gen}")  # fmt: skip
            if value is not None:
                out[code] = int(value)
    return out


def recent_list(url: str, version: int, ref: ReferenceLayers, reports: pd.DataFrame) -> None:
    """Newest first; the desk can filter by category and open a report's photo."""
    lang = current_lang()
    if not kiosk.enabled():
        st.markdown(f"### {t('field.recent')}")
        categories = category_filter()
        if categories:
            reports = reports[reports["category"].isin(categories)]
    if len(reports):
        reports = reports.sort_values("reported_at", ascending=False, kind="stable")
        reports = reports.reset_index(drop=True)
    frame = field.recent_frame(reports, town_names(ref), now_utc(), lang)
    if frame.empty:
        st.info(t("field.recent.empty"))
        return
    severity = t("field.col.severity")
    if kiosk.enabled():  # the age says more than the clock time at 5 m; names stay off the wall
        hidden = [t("field.col.time"), t("field.col.by"), t("field.col.photo")]
        rows, page, pages = kiosk.page_of(frame, KIOSK_ROWS, key="field")  # nobody scrolls a wall
        shown = markdown_safe(rows.drop(columns=hidden))
        styled = shown.style.apply(lambda col: field.severity_css(col), subset=[severity])
        with st.container(key="wall-field"):
            st.table(styled.hide(axis="index"))
        kiosk.page_note(page, pages)
        return
    st.caption(
        t("field.recent.count", shown=len(frame), total=field_data.count_reports(url, version))
    )
    event = st.dataframe(
        frame.style.apply(lambda col: field.severity_css(col), subset=[severity]),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="field_recent",
        column_config={t("field.col.description"): st.column_config.TextColumn(width="large")},
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        report = reports.iloc[rows[0]].to_dict()
        detail(report)
        verify(url, report)


def verify(url: str, report: dict) -> None:
    """The HQ verifies a report: its damage counts become 確定 in the damage report."""
    if report.get("triage") in ("verified", "handled") or not auth.can("field", "triage"):
        return
    stated = [f"{vocab.DAMAGE_ITEMS.label(c)} {int(report[f'dmg_{c}'])}{vocab.DAMAGE_UNITS[c]}"
              for c in vocab.DAMAGE_ITEMS.codes
              if f"dmg_{c}" in report and pd.notna(report[f"dmg_{c}"])]  # fmt: skip
    if stated:
        st.caption(" / ".join(stated))
    if st.button(t("field.verify"), key="field_verify"):
        user = auth.check("field", "triage")
        damage.verify_report(data.get_store(url), (report["source"], report["source_id"]),
                             actor=user.username)  # fmt: skip
        st.session_state.setdefault(FLASH_KEY, []).append(("success", t("field.verified")))
        st.rerun()


def detail(report: dict) -> None:
    """One report in full, with its photo."""
    with st.container(border=True):
        st.markdown(f"**{md_text(_label(report))}**")
        if field.text(report.get("description")):
            st.text(report["description"])
        path = field.text(report.get("photo_url"))
        if path:
            if Path(path).is_file():
                st.image(path, width=640)
            else:
                st.warning(t("field.photo.missing"))


def category_filter() -> tuple[str, ...]:
    chosen = st.pills(
        t("field.recent.filter"),
        options=list(CATEGORIES),
        selection_mode="multi",
        format_func=lambda c: t(f"category.{c}"),
        key="field_filter",
    )
    return tuple(chosen or ())
