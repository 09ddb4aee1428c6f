"""The one table of pages (dashboard/pages.py): navigation, roles, files and each page's check agree."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

from dashboard import pages
from dashboard.i18n import CATALOGUE
from geodata.access import roles

ROOT = Path(__file__).resolve().parent.parent


def test_table_keys_are_the_roles_pages():
    assert sorted(p.key for p in pages.PAGES) == sorted(roles.PAGES)
    assert len({p.key for p in pages.PAGES}) == len(pages.PAGES)
    assert set(roles.PAGE_ACTIONS) == {p.key for p in pages.PAGES}
    for role, matrix in roles.MATRIX.items():
        assert set(matrix) <= {p.key for p in pages.PAGES}, role


def test_table_files_are_the_page_scripts():
    scripts = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app_pages").glob("*.py"))
    assert sorted(p.file for p in pages.PAGES) == scripts
    assert [p.file for p in pages.PAGES if p.default] == ["app_pages/overview.py"]


def test_table_urls_titles_and_sections():
    urls = [p.url_path for p in pages.PAGES]
    assert len(set(urls)) == len(urls)
    assert all(u and "/" not in u for u in urls)
    assert {p.url_path for p in pages.PAGES} >= {"shelters", "safety", "reports", "field"}
    for p in pages.PAGES:
        assert p.title in CATALOGUE and p.section in CATALOGUE, p.key
        assert p.icon.startswith(":material/"), p.key  # an emoji would come from a font CDN


def test_page_of_finds_a_script_by_its_file_and_refuses_others():
    assert pages.page_of(ROOT / "app_pages" / "shelters.py").key == "shelters"
    assert pages.key_of("/anywhere/app_pages/field.py") == "field"
    assert pages.key_of("safety") == "safety"
    with pytest.raises(KeyError, match="not in dashboard.pages.PAGES"):
        pages.page_of("app_pages/nowhere.py")
    with pytest.raises(KeyError, match="unknown page"):
        pages.page("nowhere")


def _calls(path: Path) -> list[tuple[str, list]]:
    """(dotted name, args) of every call in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if isinstance(base, ast.Name):
                out.append((f"{base.id}.{node.func.attr}", node.args))
    return out


@pytest.mark.parametrize("page", pages.PAGES, ids=lambda p: p.key)
def test_every_page_checks_itself_by_its_file_not_a_written_key(page):
    calls = _calls(ROOT / page.file)
    checks = [args for name, args in calls if name == "auth.require_page"]
    assert len(checks) == 1, page.file
    assert isinstance(checks[0][0], ast.Name) and checks[0][0].id == "__file__"
    # no page writes its own key again (auth.require("x") / kiosk.live(body, "x"))
    written = [
        name
        for name, args in calls
        if name in ("auth.require", "kiosk.live")
        and any(isinstance(a, ast.Constant) and a.value == page.key for a in args)
    ]
    assert written == [], page.file


def test_the_frame_takes_its_pages_from_the_table():
    text = (ROOT / "streamlit_app.py").read_text("utf-8")
    assert "pages.navigation(" in text
    assert "st.Page(" not in text and "app_pages/" not in text.split('"""', 2)[2]


def test_navigation_lists_only_the_visible_pages_in_table_order(monkeypatch):
    monkeypatch.setattr(pages, "t", lambda key: key)  # titles as catalogue keys
    fake_st = SimpleNamespace(Page=lambda file, **kw: SimpleNamespace(file=file, **kw))
    monkeypatch.setattr(pages, "st", fake_st)  # st.Page needs a running script
    viewer = pages.navigation(roles.visible_pages(roles.User("wall", "viewer")))
    # no export, no admin section: those pages are there hidden (their URLs still name a page,
    # so the page's own refusal answers), in an unnamed section at the end
    assert list(viewer) == ["nav.section.situation", ""]
    assert [(p.url_path, p.visibility) for p in viewer[""]] == [
        ("export", "hidden"), ("admin", "hidden"),
    ]  # fmt: skip
    shown = viewer["nav.section.situation"]
    assert [p.url_path for p in shown] == [
        "overview", "shelters", "field", "safety", "reports", "chronology"]  # fmt: skip
    assert {p.visibility for p in shown} == {"visible"}
    assert [p.default for p in shown] == [True, False, False, False, False, False]
    assert shown[1].file == "app_pages/shelters.py" and shown[1].title == "shelters.page"
    admin = pages.navigation(roles.visible_pages(roles.User("root", "admin")))
    assert [p.title for p in admin["nav.section.admin"]] == ["page.export", "page.admin"]
    assert sum(len(v) for v in admin.values()) == len(pages.PAGES)
    assert "" not in admin  # nothing hidden from an admin
    # before the login: every page there, none listed (the URL asked for is kept)
    nobody = pages.navigation(())
    assert list(nobody) == [""] and len(nobody[""]) == len(pages.PAGES)
    assert [p.default for p in nobody[""]] == [p.default for p in pages.PAGES]


# -- one "open the store or say why" helper, one wall-screen refresh -----------------------------


def _broad_store_trys(path: Path) -> list[int]:
    """Lines of ``try:`` blocks that open the store and catch every exception."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Try):
            continue
        broad = any(
            h.type is None or (isinstance(h.type, ast.Name) and h.type.id == "Exception")
            for h in node.handlers
        )
        opens = any(
            isinstance(n, ast.Attribute) and n.attr in ("get_store", "data_version", "open_store")
            for stmt in node.body
            for n in ast.walk(stmt)
        )
        if broad and opens:
            lines.append(node.lineno)
    return lines


def test_the_store_is_opened_and_explained_in_one_place_and_refreshed_by_one_helper():
    files = sorted((ROOT / "app_pages").glob("*.py")) + sorted((ROOT / "dashboard").rglob("*.py"))
    own_try = {str(f.relative_to(ROOT)): lines for f in files if (lines := _broad_store_trys(f))}
    # auth.mask_as catches to mask without the displacement key (points dropped), not to explain
    assert set(own_try) - {"dashboard/auth.py"} == {"dashboard/widgets.py"}, own_try
    assert len(own_try["dashboard/widgets.py"]) == 1  # widgets.open_store
    fragments = [str(f.relative_to(ROOT)) for f in files if "run_every" in f.read_text("utf-8")]
    assert fragments == ["dashboard/kiosk.py"]  # kiosk.live


def test_open_store_says_why_without_the_password(monkeypatch):
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from dashboard import widgets

        opened = widgets.open_store()
        st.write("opened" if opened else "none")

    monkeypatch.setenv("BOSAI_DB_URL", "postgresql+psycopg://bosai:secret@127.0.0.1:1/none")
    monkeypatch.setenv("BOSAI_LANG", "en")
    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["none"]
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Cannot open the store (postgresql+psycopg://***@127.0.0.1")
    assert "secret" not in at.error[0].value


def test_open_store_gives_the_store_and_its_version(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from dashboard import widgets

        opened = widgets.open_store()
        st.write(f"{opened.url}|{opened.version}|{opened.version == opened.store.data_version()}")

    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    monkeypatch.setenv("BOSAI_DB_URL", url)
    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception and not at.error
    # the URL names the user's municipality (no user: BOSAI_MUNICIPALITY): pages read through a
    # store scoped to it (dashboard/data.py db_url)
    assert at.markdown[0].value == f"{url}#bosai-municipalities=13208|0|True"
