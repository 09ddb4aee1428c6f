"""The LINE webhook receiver (signature, durable spool before 200) and the spool source."""

# ruff: noqa: F811 - fixtures imported from tests.test_sources_support are used as arguments

from __future__ import annotations

import json
import threading

import pytest
import requests

from ingest.line_webhook import WebhookServer, signature, spool_write, verify
from ingest.runner import run_source
from ingest.sources.line import LineSpoolSource
from ingest.sources.roster import RosterCsvSource
from tests.test_sources_support import PAYLOADS, ref_store  # noqa: F401

SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"


@pytest.fixture
def webhook(tmp_path):
    server = WebhookServer(("127.0.0.1", 0), SECRET, tmp_path / "spool")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/callback"
    server.shutdown()
    thread.join()
    server.server_close()


def _spooled(server) -> list:
    return sorted(server.spool_dir.glob("*.json"))


def test_signature_matches_the_documented_algorithm():
    body = b'{"destination":"U0","events":[]}'
    assert verify(SECRET, body, signature(SECRET, body))
    assert not verify(SECRET, body + b" ", signature(SECRET, body))
    assert not verify(SECRET, body, None)
    assert not verify(SECRET, body, "")


def test_signed_body_is_on_disk_before_the_200(webhook):
    server, url = webhook
    body = (PAYLOADS / "line/webhook_replies.json").read_bytes()
    answer = requests.post(
        url,
        data=body,
        headers={"X-Line-Signature": signature(SECRET, body), "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 200
    files = _spooled(server)  # looked at right after the answer, before anything else runs
    assert len(files) == 1
    assert files[0].read_bytes() == body  # the raw body, byte for byte
    assert not list((server.spool_dir / ".tmp").iterdir())


@pytest.mark.parametrize("header", [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-secret"])
def test_unsigned_or_badly_signed_body_is_refused_and_not_stored(webhook, header):
    server, url = webhook
    body = (PAYLOADS / "line/webhook_replies.json").read_bytes()
    headers = {"Content-Type": "application/json"}
    if header == "wrong-secret":
        headers["X-Line-Signature"] = signature("another-channel-secret", body)
    elif header is not None:
        headers["X-Line-Signature"] = header
    answer = requests.post(url, data=body, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert _spooled(server) == []
    assert server.counts == {"stored": 0, "rejected": 1}


def test_health_counts_spooled_files(webhook):
    server, url = webhook
    spool_write(server.spool_dir, b"{}")
    answer = requests.get(url.replace("/callback", "/health"), timeout=5)
    assert answer.json() == {"ok": True, "spooled": 1}


def _load_roster(store, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes((PAYLOADS / "roster/roster.csv").read_text("utf-8").encode("cp932"))
    assert run_source(store, RosterCsvSource("roster", path=str(path)))["ok"]


def test_run_json_lists_the_unmatched_replies(tmp_path, sqlite_url, capsys):
    # docs/sources.md: an unmatched reply is listed in the run summary (`unmatched`).
    from geodata.store.core import open_store
    from ingest.cli import main

    store = open_store(sqlite_url)
    _load_roster(store, tmp_path)
    store.dispose()
    spool = tmp_path / "spool"
    spool_write(spool, (PAYLOADS / "line/webhook_replies.json").read_bytes())
    spool_write(spool, (PAYLOADS / "line/webhook_redelivery.json").read_bytes())
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "line"\ntype = "line_spool"\nspool_dir = "{spool}"\nlag_seconds = 0\n',
        "utf-8",
    )
    args = ["run", "--config", str(config), "--db", sqlite_url, "--only", "line", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["unmatched"] == {"line": ["498012344000000005", "498012344000000006"]}
    [line] = summary["results"]
    assert line["unmatched"] == ["498012344000000005", "498012344000000006"]
    assert (line["source"], line["ok"], line["inserted"]) == ("line", True, 6)


def test_spool_source_reads_replies_matches_roster_and_dedupes_redeliveries(tmp_path, ref_store):
    _load_roster(ref_store, tmp_path)
    spool = tmp_path / "spool"
    spool_write(spool, (PAYLOADS / "line/webhook_replies.json").read_bytes())
    spool_write(spool, (PAYLOADS / "line/webhook_redelivery.json").read_bytes())
    source = LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0)
    result = run_source(ref_store, source)
    assert result["ok"], result["error"]
    replies = ref_store.read("safety_replies").set_index("source_id")
    # 6 events + 2 events: the follow event is skipped, the redelivery is the same reply.
    assert sorted(replies.index) == [
        "01HKQ8A3B7HX2P9G5W1M8R4T6E",
        "498012344000000001",
        "498012344000000002",
        "498012344000000003",
        "498012344000000005",
        "498012344000000006",
    ]
    text = replies.loc["498012344000000001"]
    assert (text["status"], text["resident_id"]) == ("無事", "R0001")
    # No position sent: the reply is placed at the resident's geocoded home.
    home = ref_store.get("roster", "R0001")
    assert text["located_by"] == "roster_home" and home["located_by"] == "address"
    assert text.geometry.equals(home["geometry"])
    assert text["needs_text"] == "無事です。水と薬が必要です"
    menu = replies.loc["498012344000000002"]
    assert (menu["status"], menu["needs_text"], menu["resident_id"]) == ("要救助", None, "R0002")
    # The location message completes the menu answer of the same sender (and takes its status).
    assert menu["located_by"] == "message_location"
    location = replies.loc["498012344000000003"]
    assert (location["status"], location["located_by"]) == ("要救助", "message_location")
    assert location.geometry.x == pytest.approx(139.5531)
    assert replies.loc["01HKQ8A3B7HX2P9G5W1M8R4T6E", "status"] == "負傷"  # postback status=2
    assert replies.loc["498012344000000006", "status"] == "不明"  # a sticker
    unmatched = replies.loc["498012344000000005"]
    assert unmatched["resident_id"] is None and unmatched["status"] == "無事"
    assert result["unmatched"] == ["498012344000000005", "498012344000000006"]
    assert str(text["replied_at"]) == "2024-01-09 08:42:00+00:00"
    # Read again: nothing new (cursor past both files).
    again = run_source(ref_store, source)
    assert (again["fetched"], again["inserted"], again["updated"]) == (0, 0, 0)


def test_spool_cursor_holds_back_recent_files(tmp_path, ref_store):
    spool = tmp_path / "spool"
    spool_write(spool, (PAYLOADS / "line/webhook_replies.json").read_bytes())
    source = LineSpoolSource("line", spool_dir=str(spool), lag_seconds=3600)
    first = run_source(ref_store, source)
    assert first["inserted"] == 5
    second = run_source(ref_store, source)  # the file is inside the lag: read again, unchanged
    assert (second["fetched"], second["inserted"], second["unchanged"]) == (6, 0, 5)


def test_unreadable_spool_file_is_a_rejection_not_a_failure(tmp_path, ref_store):
    spool = tmp_path / "spool"
    spool_write(spool, b'{"events": [')
    spool_write(spool, json.dumps({"destination": "U0", "events": []}).encode())
    result = run_source(ref_store, LineSpoolSource("line", spool_dir=str(spool), lag_seconds=0))
    assert result["ok"] and result["rejected"] == 1
    assert "unreadable spool file" in ref_store.read_rejections()["reason"].iloc[0]
