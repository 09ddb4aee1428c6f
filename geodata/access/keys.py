"""The dashboard's secret keys, kept out of the data file.

A key is a named 32-byte secret; today one exists, ``displacement`` (the key that moves person
points on viewer screens and public maps, :func:`geodata.access.privacy.displacement_key`).
Sessions need none: their cookies are random tokens stored hashed (geodata/access/sessions.py).

Where the keys come from, first match wins:

1. ``BOSAI_SECRET_KEY`` in the environment (at least 32 characters): each key is
   HMAC-SHA256(that value, name). Several hosts sharing a PostGIS store set the same value.
2. The key file (``BOSAI_KEY_FILE``, default ``var/bosai.key``): JSON ``{name: hex}``, made
   ``0600`` on first use. A key file that other users can read is refused with the ``chmod`` to
   run (:class:`geodata.access.files.InsecureFile`).

Before this module the keys lived in the store's ``meta`` table, readable by anyone who could read
the SQLite file. Migration 7 moves an existing displacement key into the key file (points stay
where they were shown) and deletes both keys from the store; see :func:`adopt`.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from geodata import settings
from geodata.access.files import PRIVATE_FILE, private_dir, require_private

ENV = "BOSAI_SECRET_KEY"
MIN_ENV_LENGTH = 32


def key_file() -> Path:
    """The key file (``BOSAI_KEY_FILE``)."""
    return Path(settings.get("BOSAI_KEY_FILE"))


def _from_env() -> str | None:
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    if len(value) < MIN_ENV_LENGTH:
        raise ValueError(
            f"{ENV} is too short ({len(value)} characters, at least {MIN_ENV_LENGTH}): "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    return value


def secret(name: str) -> bytes:
    """The 32-byte key ``name`` (made on first use in the key file).

    Examples
    --------
    >>> len(secret("displacement"))  # doctest: +SKIP
    32
    """
    master = _from_env()
    if master is not None:
        return hmac.new(master.encode(), name.encode(), hashlib.sha256).digest()
    return bytes.fromhex(_get_or_add(key_file(), name, None))


def adopt(name: str, value_hex: str) -> bool:
    """Keep ``value_hex`` as key ``name`` unless a key of that name exists; True if kept.

    For a key that used to live in the store. With ``BOSAI_SECRET_KEY`` set the keys are
    derived from it and nothing is adopted.
    """
    if _from_env() is not None:
        return False
    bytes.fromhex(value_hex)  # a broken value fails here, not at the next use
    return _get_or_add(key_file(), name, value_hex) == value_hex


def _get_or_add(path: Path, name: str, value_hex: str | None) -> str:
    """Read key ``name`` from ``path``, adding it (``value_hex`` or a new random one) if missing."""
    require_private(path, "the key file")
    if not path.parent.exists():
        private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # two processes starting at once agree on one key
        text = b""
        while chunk := os.read(fd, 65536):
            text += chunk
        keys = json.loads(text) if text.strip() else {}
        if not isinstance(keys, dict):
            raise ValueError(f"{path}: not a key file (expected a JSON object)")
        if name not in keys:
            keys[name] = value_hex or secrets.token_hex(32)
            data = json.dumps(keys, indent=1, sort_keys=True).encode() + b"\n"
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
            os.fsync(fd)
        return keys[name]
    finally:
        os.close(fd)  # releases the lock
