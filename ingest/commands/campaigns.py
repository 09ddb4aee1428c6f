"""``python -m ingest campaigns [--loop]``: send queued 安否確認 campaigns and due reminders.

The channel access token comes from the environment variable named by ``--token-env``
(default ``LINE_CHANNEL_ACCESS_TOKEN``), never from a file of the project or the store. An SMS
gateway is used when ``BOSAI_SMS_URL`` is set (its SID in ``BOSAI_SMS_ACCOUNT``, the token in the
environment variable ``SMS_AUTH_TOKEN``, the sender in ``BOSAI_SMS_FROM``). See docs/line.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from geodata import settings
from geodata.http import make_session
from geodata.store.core import open_store
from ingest.cli import CommandError
from ingest.outbound.campaigns import run_once
from ingest.outbound.line import LineClient
from ingest.outbound.sms import SmsGateway

log = logging.getLogger(__name__)
NAME = "campaigns"
HELP = "Send queued LINE safety-check campaigns and their due reminders (docs/line.md)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("--loop", action="store_true", help="keep running (every --interval s)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between runs (5)")
    parser.add_argument(
        "--token-env",
        default="LINE_CHANNEL_ACCESS_TOKEN",
        help="environment variable holding the channel access token",
    )
    parser.add_argument(
        "--drill",
        action="store_true",
        help="a drill without LINE: send to a loopback LINE platform and let the roster answer "
        "every safety check started from now on through the webhook, on the drill's timeline "
        "(docs/line.md); runs until a signal",
    )
    parser.add_argument("--speed", type=float, default=60.0, help="drill time per real time (60)")
    parser.add_argument("--seed", type=int, default=0, help="the drill's seed (0)")
    parser.add_argument(
        "--webhook",
        default="http://127.0.0.1:8787/callback",
        help="the webhook receiver the drill's answers are posted to (python -m ingest "
        "line-webhook; its secret in --secret-env)",
    )
    parser.add_argument(
        "--secret-env",
        default="LINE_CHANNEL_SECRET",
        help="environment variable holding the channel secret (for --drill)",
    )
    parser.add_argument(
        "--disaster-mode",
        choices=("on", "off"),
        help="switch the default rich menu to BOSAI_LINE_DISASTER_RICHMENU (on) or remove it "
        "(off), then exit; nothing is sent when no disaster menu is configured",
    )


def sms_gateway(session) -> SmsGateway | None:
    """The configured SMS gateway, or None."""
    url = settings.get("BOSAI_SMS_URL")
    if not url:
        return None
    token = os.environ.get("SMS_AUTH_TOKEN", "")
    if not token:
        raise CommandError("BOSAI_SMS_URL is set: put the gateway's token in SMS_AUTH_TOKEN")
    return SmsGateway(
        session, url, settings.get("BOSAI_SMS_ACCOUNT"), token, settings.get("BOSAI_SMS_FROM")
    )


def disaster_mode(client: LineClient, on: bool) -> dict:
    """Make the disaster rich menu every user's default (on), or remove the default (off).

    Without ``BOSAI_LINE_DISASTER_RICHMENU`` nothing is sent (the city has no disaster menu):
    the summary says so and the command succeeds, so a runbook can switch every time.
    """
    menu = settings.get("BOSAI_LINE_DISASTER_RICHMENU")
    mode = "on" if on else "off"
    if not menu:
        log.info("disaster mode %s: no disaster rich menu configured, nothing sent", mode)
        return {"disaster_mode": mode, "rich_menu": None, "changed": False}
    result = client.set_default_rich_menu(menu) if on else client.cancel_default_rich_menu()
    if not result.ok:
        raise CommandError(f"LINE refused: HTTP {result.http_status} {result.error}")
    log.info("disaster mode %s: request %s", mode, result.request_id)
    return {"disaster_mode": mode, "rich_menu": menu if on else None, "changed": True,
            "request_id": result.request_id}  # fmt: skip


def drill(args: argparse.Namespace) -> dict:
    """``--drill``: the loopback platform, the sender, and the roster answering on a timeline."""
    from ingest.drill.campaign_replies import play_live
    from ingest.drill.line_platform import LinePlatform

    secret = os.environ.get(args.secret_env, "")
    if not secret:
        raise CommandError(f"--drill: set the webhook's channel secret in {args.secret_env}")
    if args.speed <= 0:
        raise CommandError("--speed must be positive")
    token = "drill-" + os.urandom(8).hex()
    store = open_store(args.db or settings.get("BOSAI_DB_URL"))
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with LinePlatform(token) as platform:
            client = LineClient(make_session(retries=0), token, base_url=platform.url)
            return play_live(store, lambda: run_once(store, client), args.webhook, secret,
                             seed=args.seed, speed=args.speed, stop=stop)  # fmt: skip
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.dispose()


def run(args: argparse.Namespace) -> dict:
    """Send once, or until a signal with ``--loop``; returns the summed counts."""
    if args.drill:
        return drill(args)
    token = os.environ.get(args.token_env, "")
    if not token:
        raise CommandError(
            f"set the channel access token in the environment variable {args.token_env}"
        )
    session = make_session(retries=0)  # the client retries, with the retry key
    client = LineClient(session, token, base_url=settings.get("BOSAI_LINE_API_URL"))
    if args.disaster_mode:
        return disaster_mode(client, args.disaster_mode == "on")
    sms = sms_gateway(session)
    store = open_store(args.db or settings.get("BOSAI_DB_URL"))
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    total: dict[str, int] = {}
    try:
        while True:
            for key, value in run_once(store, client, sms=sms).items():
                total[key] = total.get(key, 0) + value
            if not args.loop or stop.wait(args.interval):
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.dispose()
    return total
