"""The command line: one module per command in ``ingest/commands``.

Each command module has ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> dict``.
``run`` returns a summary (counts); the CLI adds ``seconds`` and prints it as one JSON line with
``--json``, or as ``key: value`` lines otherwise. A command signals failure by raising
:class:`CommandError` (exit code 2, message on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time

# Command modules, in the order --help lists them.
COMMANDS = (
    "reference",
    "demo",
    "export",
    "run",
    "load",
    "line_webhook",
    "users",
    "purge",
    "geocode",
)


class CommandError(Exception):
    """A failure to report to the user without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"ingest.commands.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        p.add_argument("--json", action="store_true", help="print one JSON summary line")
        p.add_argument("--db", help="store URL (default: BOSAI_DB_URL)")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # Personal data (phones, names) never reaches a log line; see geodata/access/privacy.py.
    from geodata.access.privacy import install_log_redaction

    install_log_redaction()
    from geodata.access.files import InsecureFile
    from geodata.store.errors import StoreSetupError

    started = time.perf_counter()
    try:
        summary = args._module.run(args) or {}
    except (CommandError, StoreSetupError, InsecureFile) as exc:
        # A store that needs a DBA or a file others can read: one line saying what to run.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {
        "command": args.command,
        **summary,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
    return 0
