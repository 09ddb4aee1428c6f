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
    "basemap",
    "run",
    "load",
    "line_webhook",
    "campaigns",
    "users",
    "purge",
    "geocode",
)


DESCRIPTION = """防災ダッシュボード bosai-dashboard: load reference data and the drill, fetch the
sources into the store, export maps and files, manage accounts. Each command has its own --help."""
EPILOG = """examples:
  python -m ingest reference --municipality 13208   load 調布市's towns, shelters, hazard areas
  python -m ingest demo                             load the typhoon drill (the demo)
  python -m ingest run --loop                       fetch every configured source on its interval
  python -m ingest export situation-map --public    the public 状況図 (PDF)
  python -m ingest basemap prefetch --dry-run       how many basemap tiles an offline HQ needs
  python -m ingest users add NAME ROLE              a local account (roles: see docs/security.md)
"""


class CommandError(Exception):
    """A failure to report to the user without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-parser per command module."""
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    if not args.verbose:  # urllib3 logs each retry; the command reports the outcome in one line
        logging.getLogger("urllib3").setLevel(logging.ERROR)
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
        print(format_summary(summary))
    return 0


def format_summary(summary: dict, indent: int = 0) -> str:
    """A summary as ``key: value`` lines for a person: nested mappings indented, lists listed.

    Examples
    --------
    >>> paths = ["var/exports/a.pdf", "var/exports/b.png"]
    >>> print(format_summary({"command": "run", "sources": {"jma": {"rows": 3}}, "paths": paths}))
    command: run
    sources:
      jma:
        rows: 3
    paths:
      - var/exports/a.pdf
      - var/exports/b.png
    >>> print(format_summary({"towns": ["a", "b"], "missing": []}))
    towns: a, b
    missing: -
    """
    pad = "  " * indent
    lines = []
    for key, value in summary.items():
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            lines.append(format_summary(value, indent + 1))
        elif (
            isinstance(value, list | tuple)
            and value
            and not all(isinstance(v, int | float | str) and len(str(v)) < 12 for v in value)
        ):
            lines.append(f"{pad}{key}:")
            for item in value:
                if isinstance(item, dict):
                    lines.append(f"{pad}  -")
                    lines.append(format_summary(item, indent + 2))
                else:
                    lines.append(f"{pad}  - {item}")
        elif isinstance(value, list | tuple):
            lines.append(f"{pad}{key}: {', '.join(str(v) for v in value) or '-'}")
        elif isinstance(value, dict):
            lines.append(f"{pad}{key}: -")
        else:
            lines.append(f"{pad}{key}: {value}")
    return "\n".join(lines)
