"""``python -m ingest purge --personal``: remove personal data after the disaster.

Roster names, kana, addresses, phones, chat ids, care needs and supporters; safety replies'
texts and sender ids (their points moved to a town's representative point); follow-up notes;
post authors — nulled, resident ids pseudonymized, and the same fields scrubbed from the audit
log and rejected records. Every aggregate count stays identical (checked before writing and
read back after). ``--dry-run`` writes nothing and reports what would change. A real purge asks
for confirmation on a terminal; without one it needs ``--yes``. See geodata/access/retention.py and
docs/security.md.
"""

from __future__ import annotations

import argparse
import sys

from geodata.access.privacy import install_log_redaction
from ingest.cli import CommandError
from ingest.commands.users import actor

NAME = "purge"
HELP = "Remove personal data after the disaster, keeping every aggregate count."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument(
        "--personal",
        action="store_true",
        required=True,
        help="purge personal data (the only kind of purge; required so it is never implied)",
    )
    parser.add_argument("--dry-run", action="store_true", help="report what would change")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args: argparse.Namespace) -> dict:
    """Plan (and unless ``--dry-run`` apply) the purge; returns counts, never values."""
    from geodata.access.retention import PurgeError, purge_personal
    from geodata.store.core import open_store

    install_log_redaction()
    if not args.dry_run and not args.yes:
        if not sys.stdin.isatty():
            raise CommandError("a purge cannot be undone: add --yes (or --dry-run first)")
        answer = input("Personal data will be removed for good. Type PURGE to go on: ")
        if answer.strip() != "PURGE":
            raise CommandError("not confirmed; nothing was changed")
    store = open_store(args.db)
    try:
        report = purge_personal(store, dry_run=args.dry_run, actor=actor())
    except PurgeError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        store.dispose()
    out = report.summary()
    if args.json:
        out["aggregates"] = report.aggregates
    return out
