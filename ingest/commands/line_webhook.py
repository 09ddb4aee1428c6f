"""``python -m ingest line-webhook --port N``: receive LINE webhook POSTs into the spool.

Put it behind the HQ's HTTPS reverse proxy (LINE only calls https URLs). The channel secret
comes from the environment variable named by ``--secret-env`` (default LINE_CHANNEL_SECRET).
Runs until SIGTERM/SIGINT; requests in progress are finished first. ``--timeout``,
``--deadline`` and ``--max-connections`` bound what slow or silent clients can hold (see
ingest/line_webhook.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from ingest import line_webhook
from ingest.cli import CommandError
from ingest.line_webhook import serve

NAME = "line-webhook"
HELP = "Receive LINE Messaging API webhooks (signature-checked) into a spool directory."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("--port", type=int, default=8787, help="port to listen on (8787)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument(
        "--spool",
        type=Path,
        default=Path("var/line_spool"),
        help="spool directory (default var/line_spool; the line_spool source reads it)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=line_webhook.SOCKET_TIMEOUT,
        help=f"seconds a read may wait, and an idle connection stay ({line_webhook.SOCKET_TIMEOUT:g})",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=line_webhook.REQUEST_DEADLINE,
        help=f"seconds for one whole request ({line_webhook.REQUEST_DEADLINE:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=line_webhook.MAX_CONNECTIONS,
        help=f"connections served at once; more get 503 ({line_webhook.MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--secret-env",
        default="LINE_CHANNEL_SECRET",
        help="environment variable holding the channel secret (LINE_CHANNEL_SECRET)",
    )
    parser.add_argument(
        "--guidance",
        action="store_true",
        help="answer 「避難所」 and locations with the nearest open shelters (reply API; the "
        "token in LINE_CHANNEL_ACCESS_TOKEN, the hazard in BOSAI_GUIDANCE_HAZARD)",
    )


def run(args: argparse.Namespace) -> dict:
    """Serve until a signal; returns how many bodies were stored and refused."""
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        raise CommandError(f"set the channel secret in the environment variable {args.secret_env}")
    responder = _responder(args) if args.guidance else None
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        counts = serve(
            args.host,
            args.port,
            secret,
            args.spool,
            stop,
            socket_timeout=args.timeout,
            request_deadline=args.deadline,
            max_connections=args.max_connections,
            on_spooled=responder.submit if responder else None,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if responder is not None:
            responder.close()
    out = {**counts, "spool": str(args.spool)}
    return {**out, **responder.counts} if responder is not None else out


def _responder(args):
    """The shelter-guidance responder (ingest/outbound/guidance.py) of ``--guidance``."""
    from geodata import settings
    from geodata.http import make_session
    from geodata.shelters import status_at
    from geodata.store.core import open_store
    from ingest.outbound.guidance import GuidanceResponder
    from ingest.outbound.line import LineClient

    token = os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "")
    if not token:
        raise CommandError("--guidance needs the channel access token in LINE_CHANNEL_ACCESS_TOKEN")
    store = open_store(args.db or settings.get("BOSAI_DB_URL"))
    client = LineClient(make_session(retries=0), token, base_url=settings.get("BOSAI_LINE_API_URL"))
    hazard = settings.get("BOSAI_GUIDANCE_HAZARD") or None
    return GuidanceResponder(client, lambda: status_at(store), hazard=lambda: hazard)
