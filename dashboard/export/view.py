"""The widgets of the 出力 page: one section per export, each with a download button.

Buttons pass a function as ``data``: the file is made (and audit-logged) only when pressed, in
a worker thread where no Streamlit session exists — so the user and the permission are taken
here, on the server, and checked again inside (:mod:`dashboard.export.files`).
"""

from __future__ import annotations

import functools

import streamlit as st

from dashboard import auth, data, widgets
from dashboard.export import files as export_page
from dashboard.i18n import current_lang, t
from geodata.access.roles import User
from geodata.export import visits
from geodata.export.common import stamp
from geodata.export.data import FORMATS
from geodata.export.opendata import DATASETS as OPENDATA_DATASETS
from geodata.export.supplies import XLSX
from geodata.schema import LAYERS, TRIAGE_STATES


def _version_choice(user: User, key: str, lang: str) -> bool | None:
    """Internal / public radio with only what the role may take; None when neither."""
    options = export_page.versions(user)
    if not options:
        return None
    return st.radio(
        t("export.version", lang=lang),
        options=options,
        format_func=lambda public: t(
            f"export.version.{'public' if public else 'internal'}", lang=lang
        ),
        horizontal=True,
        key=key,
    )


def _button(label: str, make, file_name: str, mime: str, key: str, primary: bool = False) -> None:
    st.download_button(
        label,
        data=make,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
        type="primary" if primary else "secondary",
        icon=":material/download:",
        width="stretch",
    )


def situation_section(user: User, lang: str) -> None:
    """状況図 (A3 PDF / PNG), internal or public."""
    st.markdown(f"#### {t('export.situation.title', lang=lang)}")
    st.caption(t("export.situation.caption", lang=lang))
    public = _version_choice(user, "export_situation_version", lang)
    if public is None:
        return
    store = data.get_store(data.db_url())
    code = data.municipality_code()
    cols = st.columns(len(export_page.SITUATION_FORMATS))
    for col, (fmt, mime) in zip(cols, export_page.SITUATION_FORMATS.items(), strict=True):
        with col:
            _button(
                t(f"export.situation.{fmt}", lang=lang),
                functools.partial(
                    export_page.situation_file,
                    store,
                    fmt,
                    public,
                    user,
                    export_page.tile_session(),
                ),
                export_page.situation_filename(code, fmt, public),
                mime,
                key=f"export_situation_{fmt}",
                primary=fmt == "pdf",
            )


def layer_section(user: User, lang: str, names: dict[str, str]) -> None:
    """Any layer as GeoJSON / GeoPackage / KML / CSV (UTF-8 BOM or Shift_JIS), filtered."""
    st.markdown(f"#### {t('export.layer.title', lang=lang)}")
    st.caption(t("export.layer.caption", lang=lang))
    public = _version_choice(user, "export_layer_version", lang)
    if public is None:
        return
    c1, c2 = st.columns(2)
    layers = [
        name
        for name in export_page.LAYERS_OFFERED
        if not (public and name in export_page.INTERNAL_ONLY)
    ]
    layer = c1.selectbox(
        t("export.layer.layer", lang=lang),
        options=layers,
        format_func=lambda name: t(f"export.layer.name.{name}", lang=lang),
        key="export_layer_name",
    )
    fmt = c2.selectbox(
        t("export.layer.format", lang=lang),
        options=list(FORMATS),
        format_func=lambda f: t(f"export.format.{f}", lang=lang),
        key="export_layer_format",
    )
    spec = LAYERS[layer]
    window = "all"
    if spec.time_column:
        window = st.segmented_control(
            t("export.layer.window", lang=lang),
            options=list(export_page.WINDOWS),
            format_func=lambda w: t(f"reports.window.{w}", lang=lang),
            default="all",
            required=True,
            key="export_layer_window",
        )
    towns: list[str] = []
    triage: list[str] = []
    if "town_code" in spec.columns:
        towns = st.multiselect(
            t("export.layer.towns", lang=lang),
            options=sorted(names),
            format_func=lambda c: names.get(c, c),
            placeholder=t("reports.filter.all_towns", lang=lang),
            key="export_layer_towns",
        )
    if layer == "posts":
        triage = st.pills(
            t("reports.filter.triage", lang=lang),
            options=list(TRIAGE_STATES),
            selection_mode="multi",
            format_func=lambda s: t(f"triage.{s}", lang=lang),
            key="export_layer_triage",
        )
    req = export_page.LayerRequest(
        layer, fmt, bool(public), window or "all", tuple(towns or ()), tuple(triage or ())
    )
    problem = export_page.layer_problem(req)
    if problem:
        st.warning(t(problem, lang=lang))
        return
    store = data.get_store(data.db_url())
    st.caption(t("export.layer.rows", lang=lang, n=f"{export_page.layer_count(store, req):,}"))
    _button(
        t("export.layer.download", lang=lang),
        functools.partial(_layer_bytes, store, req, user),
        export_page.layer_filename(req),
        FORMATS[fmt][0],
        key="export_layer_download",
        primary=True,
    )


def _layer_bytes(store, req, user) -> bytes:
    return export_page.layer_file(store, req, user)[0]


def visit_list_section(user: User, lang: str) -> None:
    """The non-responder visit list (internal only)."""
    if not export_page.may(user, public=False):
        return
    st.markdown(f"#### {t('export.visits.title', lang=lang)}")
    st.caption(t("export.visits.caption", lang=lang))
    store = data.get_store(data.db_url())
    c1, c2 = st.columns(2)
    with c1:
        _button(
            t("safety.list.pdf", lang=lang),
            functools.partial(export_page.visit_list_file, store, user, "pdf"),
            visits.filename("pdf"),
            "application/pdf",
            key="export_visits_pdf",
            primary=True,
        )
    with c2:
        _button(
            t("safety.list.csv", lang=lang),
            functools.partial(export_page.visit_list_file, store, user, "csv"),
            visits.filename("csv"),
            "text/csv",
            key="export_visits_csv",
        )


def open_data_section(user: User, lang: str) -> None:
    """Shelter open-data CSV (public)."""
    if not export_page.may(user, public=True):
        return
    store = data.get_store(data.db_url())
    st.markdown(f"#### {t('export.opendata.title', lang=lang)}")
    st.caption(t("export.opendata.caption", lang=lang))
    for dataset in OPENDATA_DATASETS:
        st.markdown(f"**{t(f'export.opendata.{dataset}', lang=lang)}**")
        encodings = export_page.OPENDATA_ENCODINGS.items()
        cols = st.columns(len(export_page.OPENDATA_ENCODINGS))
        for col, (encoding, fmt) in zip(cols, encodings, strict=True):
            with col:
                _button(
                    t(f"export.format.{fmt}", lang=lang),
                    functools.partial(export_page.opendata_file, store, dataset, encoding, user),
                    f"shelters-opendata-{dataset}-{stamp()}{'-sjis' if fmt == 'csv-sjis' else ''}.csv",
                    "text/csv",
                    key=f"export_opendata_{dataset}_{fmt}",
                )


def supplies_section(user: User, lang: str) -> None:
    """Supply requests of every shelter, CSV / Excel (internal), beside the shelters export."""
    if not export_page.may(user, public=False):
        return
    store = data.get_store(data.db_url())
    st.markdown(f"#### {t('supplies.export', lang=lang)}")
    st.caption(t("supplies.export.caption", lang=lang))
    c1, c2 = st.columns(2)
    for col, fmt, mime in ((c1, "csv", "text/csv"), (c2, "xlsx", XLSX)):
        with col:
            _button(
                t("export.format.csv" if fmt == "csv" else "supplies.export.xlsx", lang=lang),
                functools.partial(export_page.supplies_export, store, fmt, user),
                f"supply-requests-{stamp()}.{fmt}",
                mime,
                key=f"export_supplies_{fmt}",
            )


def cap_section(user: User, lang: str) -> None:
    """CAP 1.2 messages of shelter status updates (public)."""
    if not export_page.may(user, public=True):
        return
    store = data.get_store(data.db_url())
    st.markdown(f"#### {t('export.cap.title', lang=lang)}")
    st.caption(t("export.cap.caption", lang=lang))
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    window = c1.segmented_control(
        t("export.layer.window", lang=lang),
        options=list(export_page.WINDOWS),
        format_func=lambda w: t(f"reports.window.{w}", lang=lang),
        default="24h",
        required=True,
        key="export_cap_window",
    )
    count = export_page.cap_count(store, window or "24h")
    c1.caption(t("export.cap.count", lang=lang, n=f"{count:,}"))
    with c2:
        if count:
            _button(
                t("export.cap.download", lang=lang),
                functools.partial(export_page.cap_file, store, window or "24h", user),
                f"cap-{stamp()}.zip",
                "application/zip",
                key="export_cap_download",
            )


def evacuation_section(user: User, lang: str) -> None:
    """Evacuation information (避難情報): CAP per issue / update / lift, and the CSV in force."""
    if not export_page.may(user, public=True):
        return
    store = data.get_store(data.db_url())
    st.markdown(f"#### {t('export.evacuation.title', lang=lang)}")
    st.caption(t("export.evacuation.caption", lang=lang))
    records = store.count("evacuations")
    c1, c2 = st.columns(2)
    with c1:
        if records:
            _button(
                t("export.cap.download", lang=lang),
                functools.partial(export_page.evacuation_cap_file, store, user),
                f"evacuation-cap-{stamp()}.zip",
                "application/zip",
                key="export_evacuation_cap",
            )
    with c2:
        _button(
            t("export.format.csv", lang=lang),
            functools.partial(export_page.evacuation_opendata_file, store, user),
            f"evacuation-info-{stamp()}.csv",
            "text/csv",
            key="export_evacuation_csv",
        )


def page() -> None:
    """The whole export page (after the page check, ``auth.require_page``)."""
    lang = current_lang()
    user = auth.current_user()
    opened = widgets.open_store()
    if opened is None:
        return
    url, store = opened.url, opened.store
    towns = data.load_towns(url, data.municipality_code(), store.data_version("towns"))
    names = dict(zip(towns["town_code"], towns["name"], strict=False))
    st.caption(t("export.audit_note", lang=lang))
    left, right = st.columns(2, gap="large")
    with left:
        with st.container(border=True):
            situation_section(user, lang)
        with st.container(border=True):
            visit_list_section(user, lang)
        with st.container(border=True):
            open_data_section(user, lang)
        with st.container(border=True):
            evacuation_section(user, lang)
    with right:
        with st.container(border=True):
            layer_section(user, lang, names)
        with st.container(border=True):
            supplies_section(user, lang)
        with st.container(border=True):
            cap_section(user, lang)
