"""``python -m ingest users``: local accounts of a standalone HQ (no single sign-on).

::

    python -m ingest users add NAME --role R [--shelter ID ...] [--municipality CODE ...]
                               [--display-name TEXT] [--password-stdin]
    python -m ingest users list [--json]
    python -m ingest users set-role NAME --role R [--shelter ID ...]
    python -m ingest users set-municipalities NAME [--municipality CODE ...]
    python -m ingest users disable NAME      |  users enable NAME
    python -m ingest users unlock NAME       |  users passwd NAME [--password-stdin]
    python -m ingest users sign-out NAME     |  users sign-out --all

Roles: viewer, shelter_staff, operator, admin (docs/security.md). Without ``--password-stdin``
the password is asked twice on the terminal (never echoed, never an argument: arguments show up
in ``ps`` and shell history). Passwords need at least 12 characters. No account and no default
password ship with the app. Every change is audit-logged as ``cli:<os user>``. ``passwd`` and
``disable`` end the account's open sessions; ``sign-out`` ends them without changing the account
(``--all``: everyone's), single sign-on names included. An account belongs to the municipalities
given with ``--municipality`` (5-digit codes, repeat for several; none: ``BOSAI_MUNICIPALITY``)
and sees only their data; ``set-municipalities`` changes them (and ends the account's sessions).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from geodata.access.privacy import install_log_redaction
from geodata.access.roles import ROLES
from ingest.cli import CommandError

NAME = "users"
HELP = (
    "Manage local accounts: add, list, set-role, set-municipalities, disable, enable, unlock, "
    "passwd, sign-out."
)
ACTIONS = (
    "add",
    "list",
    "set-role",
    "set-municipalities",
    "disable",
    "enable",
    "unlock",
    "passwd",
    "sign-out",
)
MUNICIPALITY_HELP = (
    "a municipality the account belongs to, 5-digit code (repeat for several; "
    "none: BOSAI_MUNICIPALITY)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's sub-commands and options."""
    sub = parser.add_subparsers(dest="users_action", required=True, metavar="ACTION")

    def action(name: str, help_text: str, *, user: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Accept --json / --db after the action too (argparse keeps them on the parent otherwise).
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
        p.add_argument("--db", default=argparse.SUPPRESS, help="store URL (default: BOSAI_DB_URL)")
        if user:
            p.add_argument("username", help="login name (a-z 0-9 . _ @ + -)")
        return p

    add = action("add", "Create an account.")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", help="name shown in the dashboard")
    add.add_argument(
        "--shelter",
        action="append",
        default=[],
        metavar="ID",
        help="a shelter the account may update (shelter_staff; repeat for several)",
    )
    add.add_argument(
        "--municipality", action="append", default=[], metavar="CODE", help=MUNICIPALITY_HELP
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    action("list", "List accounts (no hashes).", user=False)
    role = action("set-role", "Change an account's role (and shelters).")
    role.add_argument("--role", required=True, choices=ROLES)
    role.add_argument("--shelter", action="append", default=None, metavar="ID")
    towns = action("set-municipalities", "Set the municipalities an account belongs to.")
    towns.add_argument(
        "--municipality", action="append", default=[], metavar="CODE", help=MUNICIPALITY_HELP
    )
    action("disable", "Disable an account (it can no longer log in).")
    action("enable", "Enable a disabled account.")
    action("unlock", "End a lock-out after failed logins.")
    pw = action("passwd", "Set a new password (and unlock).")
    pw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    out = action("sign-out", "End every session of a user (or of everyone) at once.", user=False)
    who = out.add_mutually_exclusive_group(required=True)
    who.add_argument("username", nargs="?", help="login name (or single sign-on e-mail / sub)")
    who.add_argument("--all", action="store_true", help="sign everyone out")


def actor() -> str:
    """Who runs the command (for the audit log)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice on the terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask the password on: use --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CommandError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> dict:
    """Do the action; returns the summary (the account, never its hash)."""
    from geodata.access import accounts as auth
    from geodata.store.core import open_store

    install_log_redaction()
    store = open_store(args.db)
    who = actor()
    name = getattr(args, "username", None)
    try:
        if args.users_action == "list":
            users = auth.list_users(store)
            if not args.json:
                _print_table(users)
                return {"users": len(users)}
            return {"users": users}
        if args.users_action == "sign-out":
            target = None if args.all else name
            ended = auth.sign_out_everywhere(store, target, actor=who)
            return {"action": "sign-out", "user": target or "*", "sessions_ended": ended}
        if args.users_action == "add":
            password = read_password(args.password_stdin)
            user = auth.add_user(
                store,
                name,
                args.role,
                password,
                actor=who,
                display_name=args.display_name,
                shelter_ids=args.shelter,
                municipalities=args.municipality,
            )
            return {
                "added": user.username,
                "role": user.role,
                "shelters": sorted(user.shelter_ids),
                "municipalities": list(user.scope),
            }
        if args.users_action == "set-role":
            rec = auth.set_role(store, name, args.role, actor=who, shelter_ids=args.shelter)
        elif args.users_action == "set-municipalities":
            rec = auth.set_municipalities(store, name, args.municipality, actor=who)
        elif args.users_action == "disable":
            rec = auth.disable_user(store, name, actor=who)
        elif args.users_action == "enable":
            rec = auth.enable_user(store, name, actor=who)
        elif args.users_action == "unlock":
            rec = auth.unlock_user(store, name, actor=who)
        else:  # passwd
            rec = auth.set_password(store, name, read_password(args.password_stdin), actor=who)
    except auth.AccountError as exc:  # WeakPassword included
        raise CommandError(str(exc)) from exc
    finally:
        store.dispose()
    return {"action": args.users_action, "user": rec}


def _print_table(users: list[dict]) -> None:
    cols = ("username", "role", "display_name", "shelter_ids", "municipalities", "disabled",
            "locked_until")  # fmt: skip
    lists = ("shelter_ids", "municipalities")
    rows = [[str(u[c] if c not in lists else ",".join(u[c])) for c in cols] for u in users]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
