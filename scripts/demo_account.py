"""Give the demo an administrator account with a fresh random password, and print it.

No password ships with the project: each ``make demo`` sets a new random password for the local
account ``demo`` (role admin) in the demo store and prints it once; the new password ends the
sessions of the previous demo. The demo server listens on 127.0.0.1 only (.streamlit/config.toml,
the Makefile's ADDRESS), so the account is not offered to the network. A real HQ creates its own
accounts with ``python -m ingest users add`` or signs in through its identity provider.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geodata.access import accounts as auth  # noqa: E402
from geodata.store.core import open_store  # noqa: E402


def main() -> int:
    store = open_store()
    password = auth.new_password()
    if auth.get_user(store, "demo") is None:
        auth.add_user(
            store, "demo", "admin", password, actor="make demo", display_name="デモ管理者"
        )
    else:
        auth.set_password(store, "demo", password, actor="make demo")
        auth.unlock_user(store, "demo", actor="make demo")
    line = "=" * 64
    print(
        f"{line}\n  ログイン / Log in:  user demo   password {password}\n"
        f"  このPCのみ / this machine only (127.0.0.1, README: Serving the HQ network)\n{line}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
