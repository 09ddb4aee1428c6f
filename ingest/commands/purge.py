"""``python -m ingest purge --personal``: remove personal data after the disaster.

Roster names, kana, addresses, phones, chat ids, care needs and supporters; safety replies'
texts and sender ids (their points moved to a town's representative point); follow-up notes;
post authors — nulled, resident ids pseudonymized, and the same fields scrubbed from the audit
log and rejected records. Every aggregate count stays identical (checked before writing and
read back after). The raw LINE webhook bodies on disk are deleted too: the spool folders of the
line_spool sources in ``--config`` (default sources.toml), ``var/line_spool`` and every
``--spool DIR``. ``--dry-run`` writes nothing and reports what would change. A real purge asks
for confirmation on a terminal; without one it needs ``--yes``. See geodata/access/retention.py,
geodata/access/spool.py and docs/security.md.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

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
    parser.add_argument(
        "--spool",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a LINE spool folder to empty too (repeat for several; var/line_spool and those "
        "of sources.toml are included)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("sources.toml"),
        help="sources file whose line_spool folders are emptied (default: sources.toml)",
    )


def spool_folders(args: argparse.Namespace) -> list[Path]:
    """The spool folders to empty: ``--spool``, the config's line_spool sources, var/line_spool."""
    folders = list(args.spool) + [Path("var/line_spool")]
    if args.config.is_file():
        try:
            doc = tomllib.loads(args.config.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CommandError(f"{args.config}: {exc}") from exc
        for entry in doc.get("source") or doc.get("sources") or []:
            if isinstance(entry, dict) and entry.get("type") == "line_spool":
                folder = Path(str(entry.get("spool_dir") or "var/line_spool"))
                folders.append(folder if folder.is_absolute() else args.config.parent / folder)
    return sorted({f.resolve() for f in folders})


def run(args: argparse.Namespace) -> dict:
    """Plan (and unless ``--dry-run`` apply) the purge; returns counts, never values."""
    from geodata.access import spool
    from geodata.access.retention import PurgeError, purge_personal
    from geodata.store.core import open_store

    install_log_redaction()
    if not args.dry_run and not args.yes:
        if not sys.stdin.isatty():
            raise CommandError("a purge cannot be undone: add --yes (or --dry-run first)")
        answer = input("Personal data will be removed for good. Type PURGE to go on: ")
        if answer.strip() != "PURGE":
            raise CommandError("not confirmed; nothing was changed")
    folders = spool_folders(args)
    store = open_store(args.db)
    try:
        report = purge_personal(store, dry_run=args.dry_run, actor=actor())
        # After the store: a failed purge keeps the bodies, so nothing goes that was not purged.
        deleted = spool.purge(folders, dry_run=args.dry_run)
        if not args.dry_run:
            store.log_action(actor(), "purge:spool", None, {"files": deleted})
    except PurgeError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        store.dispose()
    out = report.summary()
    out["spool_files_deleted"] = deleted
    out["spool_folders"] = [str(f) for f in folders if f.is_dir()]
    if args.json:
        out["aggregates"] = report.aggregates
    return out
