"""Shelter guidance in the chat: a location message in a webhook body is answered, through the
reply API, with the nearest open shelters (checked by hand on the 調布市 shelters); the LINE
client's headers, retry keys and rate limits; nothing personal in the logs."""

from __future__ import annotations

import logging
import math
import threading
import time

import pandas as pd
import pytest

from geodata import guidance
from geodata.http import make_session
from geodata.reference.layers import load_shelters
from geodata.shelters import is_welfare, status_at
from ingest.drill.line_platform import LinePlatform, deliver, location_event, text_event
from ingest.line_webhook import WebhookServer
from ingest.outbound.guidance import GuidanceResponder
from ingest.outbound.line import LineClient, TokenBucket

TOKEN = "tok-guidance-SECRET-abcdef"
SECRET = "guidance-secret"
USER = "U0123456789abcdef0123456789abcdef"


def _haversine_m(lon1, lat1, lon2, lat2) -> float:
    """Great-circle metres: an independent hand computation (not the code's UTM distance)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


@pytest.fixture
def chofu_shelters(store, reference_dir):
    gsi = reference_dir / "shelters_gsi"
    shelters, _ = load_shelters(
        [gsi / "emergency_132080.json", gsi / "evacuation_132080.json"], "13208"
    )
    store.upsert("shelters", shelters, source="test")
    return store, shelters


def test_a_location_in_a_webhook_body_gets_the_nearest_open_shelters(chofu_shelters, caplog):
    caplog.set_level(logging.DEBUG)
    store, shelters = chofu_shelters
    # Beside 多摩川河川敷（第２区）, an emergency site for earthquakes and fires only.
    river = shelters.set_index("shelter_id").loc["E1320800053"].geometry
    here = (round(river.x + 0.002, 6), round(river.y + 0.002, 6))
    # Open the 12 shelters nearest by hand, but not the nearest one (it stays closed), and
    # every emergency site (earthquake / fire only: no place to go in a flood).
    by_hand = shelters.assign(
        d=[_haversine_m(*here, p.x, p.y) for p in shelters.geometry]
    ).sort_values("d")
    ordinary = by_hand[by_hand["hazards"].map(len) == 0]
    opened = ordinary.iloc[1:13]
    sites = by_hand[by_hand["kind"] == "emergency_site"]
    for sid in [*opened["shelter_id"], *sites["shelter_id"]]:
        store.append_shelter_status(
            pd.DataFrame([{"shelter_id": sid, "status": "開設", "reported_at": pd.Timestamp.now(tz="UTC"),
                           "evacuees": 0, "source_id": f"open-{sid}"}]), source="test")  # fmt: skip
    # A 福祉避難所 among them is for people who need care: not answered to the public.
    public = opened[[not is_welfare(r) for r in opened.to_dict("records")]]
    assert len(public) < len(opened)  # the test covers a welfare shelter among the nearest
    full = public.iloc[0]["shelter_id"]
    store.append_shelter_status(
        pd.DataFrame([{"shelter_id": full, "status": "満員", "reported_at": pd.Timestamp.now(tz="UTC"),
                       "evacuees": 500, "source_id": "full"}]), source="test")  # fmt: skip
    expected = public.iloc[:3]
    assert sites["d"].min() < expected["d"].min()  # the nearest is the riverbed: left out

    with LinePlatform(TOKEN) as line:
        client = LineClient(make_session(retries=0), TOKEN, base_url=line.url)
        responder = GuidanceResponder(client, lambda: status_at(store), hazard=lambda: "flood")
        server = WebhookServer(
            ("127.0.0.1", 0), SECRET, store_path(store), on_spooled=responder.submit
        )
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_port}/callback"
            started = time.monotonic()
            assert deliver(url, SECRET, [location_event(USER, here[1], here[0])]) == 200
            answered_in = time.monotonic() - started
            deadline = time.monotonic() + 10
            while not line.replies and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            responder.close()
            server.shutdown()
            thread.join()
            server.server_close()
        assert answered_in < 2.0  # the webhook answered at once
        assert len(line.replies) == 1
        reply = line.replies[0]
    text, *pins = reply["messages"]
    lines = text["text"].splitlines()
    assert lines[0] == "近くの開設中の避難所（洪水に対応）です（距離は直線距離）。"
    for i, row in enumerate(expected.itertuples(), start=1):
        assert lines[i].startswith(f"{i}. {row.name} {guidance.distance_text(row.d)}"), lines[i]
    assert lines[1].endswith("満員") and lines[2].endswith("空きあり")
    assert [p["title"] for p in pins] == list(expected["name"])
    welfare_names = set(opened["name"]) - set(public["name"])
    assert not any(name in text["text"] for name in welfare_names)
    assert pins[0]["latitude"] == pytest.approx(expected.iloc[0].geometry.y)
    assert responder.counts["answered"] == 1
    assert USER not in caplog.text and TOKEN not in caplog.text
    assert str(here[1]) not in caplog.text


def store_path(store):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / "spool"


def test_shelter_keyword_without_a_known_home_asks_for_the_location():
    with LinePlatform(TOKEN) as line:
        client = LineClient(make_session(retries=0), TOKEN, base_url=line.url)
        responder = GuidanceResponder(client, lambda: pd.DataFrame(), homes=lambda: {})
        assert (
            responder.answer(text_event(USER, "避難所どこ？"), time.monotonic()) == "asked_location"
        )
        assert responder.answer(text_event(USER, "避難所"), time.monotonic() - 61) == "too_late"
        responder.close()
    (reply,) = line.replies
    action = reply["messages"][0]["quickReply"]["items"][0]["action"]
    assert action == {"type": "location", "label": "位置を送る"}


def test_client_sends_the_documented_headers_and_never_retries_a_400():
    seen = []
    with LinePlatform(TOKEN, faults=lambda e, n: "400") as line:
        client = LineClient(make_session(retries=0), TOKEN, base_url=line.url, sleep=seen.append)
        result = client.push(USER, [{"type": "text", "text": "x"}])
        assert (result.status, result.http_status, result.attempts) == ("error", 400, 1)
        assert seen == [] and line.requests["push"] == 1
        with pytest.raises(ValueError, match="at most 500"):
            client.multicast([f"U{i}" for i in range(501)], [{"type": "text", "text": "x"}])
        assert repr(client) == f"LineClient({line.url!r})"  # no token in a traceback


def test_429_is_retried_with_backoff_and_the_same_key():
    waits = []
    faults = {1: "429", 2: "429"}
    with LinePlatform(TOKEN, faults=lambda e, n: faults.get(n)) as line:
        client = LineClient(make_session(retries=0), TOKEN, base_url=line.url, sleep=waits.append)
        result = client.push(USER, [{"type": "text", "text": "x"}], retry_key=None)
        assert result.ok and result.attempts == 3 and waits == [0.5, 1.0]
        assert len(line.accepted) == 1 and len(line.inbox[USER]) == 1


def test_token_bucket_keeps_the_rate():
    now = [0.0]

    def sleep(s):
        now[0] += s

    bucket = TokenBucket(200, 1.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(1000):
        bucket.take()
    assert now[0] == pytest.approx(4.0, abs=0.01)  # 200 at once, then 200 a second
