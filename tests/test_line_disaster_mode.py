"""Disaster mode of the LINE account (``python -m ingest campaigns --disaster-mode on|off``) at
the loopback LINE platform: the configured disaster rich menu becomes every user's default and
is removed again; without a configured menu nothing is sent."""

from __future__ import annotations

import json

import pytest

from ingest.cli import main
from ingest.drill.line_platform import LinePlatform

TOKEN = "tok-disaster-mode-0123456789"
MENU = "richmenu-88c05ef6921ae53f8b58a25f3a65faf7"


@pytest.fixture
def line(monkeypatch):
    with LinePlatform(TOKEN) as platform:
        monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("BOSAI_LINE_API_URL", platform.url)
        yield platform


def _switch(capsys, mode: str) -> tuple[int, dict | str]:
    code = main(["campaigns", "--disaster-mode", mode, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else err


def test_disaster_mode_sets_the_disaster_menu_as_default_and_back(line, monkeypatch, capsys):
    monkeypatch.setenv("BOSAI_LINE_DISASTER_RICHMENU", MENU)
    line.default_rich_menu = "richmenu-normal"  # what a LINE console may have set
    code, summary = _switch(capsys, "on")
    assert code == 0 and line.default_rich_menu == MENU and line.requests["richmenu"] == 1
    assert summary["disaster_mode"] == "on" and summary["changed"] and summary["request_id"]
    code, summary = _switch(capsys, "off")
    assert code == 0 and line.default_rich_menu is None
    assert (summary["disaster_mode"], summary["rich_menu"]) == ("off", None)


def test_disaster_mode_without_a_configured_menu_sends_nothing(line, monkeypatch, capsys):
    monkeypatch.delenv("BOSAI_LINE_DISASTER_RICHMENU", raising=False)
    line.default_rich_menu = "richmenu-normal"
    for mode in ("on", "off"):
        code, summary = _switch(capsys, mode)
        assert code == 0
        assert {k: summary[k] for k in ("disaster_mode", "rich_menu", "changed")} == {
            "disaster_mode": mode, "rich_menu": None, "changed": False,
        }  # fmt: skip
    assert line.default_rich_menu == "richmenu-normal" and line.requests["richmenu"] == 0


def test_a_refused_switch_is_an_error_without_the_token(monkeypatch, capsys):
    with LinePlatform("another-token") as platform:
        monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("BOSAI_LINE_API_URL", platform.url)
        monkeypatch.setenv("BOSAI_LINE_DISASTER_RICHMENU", MENU)
        code, err = _switch(capsys, "on")
        assert platform.default_rich_menu is None
    assert code == 2 and "HTTP 401" in err and TOKEN not in err
