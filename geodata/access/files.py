"""Owner-only files and folders: the store file, the key file, the LINE spool, the uploads.

They hold the 避難行動要支援者名簿 (names, addresses, phones), residents' messages and the keys
that protect them, so no other local account may read them: folders are made ``0700`` and files
``0600`` whatever the umask. SQLite gives its ``-wal`` and ``-shm`` files the mode of the database
file, so creating that one ``0600`` before SQLite opens it covers all three.

A secret readable by others is refused (:func:`require_private`, :class:`InsecureFile`): the
message is one line naming the file and the ``chmod`` that fixes it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class InsecureFile(PermissionError):
    """A file holding secrets or personal data that other local users can read or write."""

    def __init__(self, path: Path, mode: int, what: str):
        self.path, self.mode = path, mode
        fix = "chmod 700" if stat.S_ISDIR(mode) else "chmod 600"
        super().__init__(
            f"{what} {path} can be read by other users (mode {stat.S_IMODE(mode):04o}): "
            f"run  {fix} {path}"
        )


def exposed(path: Path | str) -> int | None:
    """The mode of ``path`` when group or others have any access to it; None otherwise.

    None also for a file that does not exist (nothing to expose yet).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    return mode if mode & 0o077 else None


def require_private(path: Path | str, what: str = "the file") -> None:
    """Raise :class:`InsecureFile` when others may access ``path`` (a missing file is fine)."""
    mode = exposed(path)
    if mode is not None:
        raise InsecureFile(Path(path), mode, what)


def private_dir(path: Path | str) -> Path:
    """Make the folder ``path`` (and missing parents) ``0700``; tighten it if it exists.

    Parents that already exist are left as they are (``var/`` may be shared with other data).
    """
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR)
        except FileExistsError:  # made by another process meanwhile
            pass
    if stat.S_IMODE(os.stat(path).st_mode) != PRIVATE_DIR:
        try:
            os.chmod(path, PRIVATE_DIR)
        except PermissionError:  # not ours: say so, the data inside is still 0600
            log.warning("cannot make %s private (owned by another user)", path)
    return path


def create_private_file(path: Path | str) -> Path:
    """Create an empty ``0600`` file at ``path`` unless one exists (which is left unchanged)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def write_private(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to a new ``0600`` file (never overwrites: the names are random)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return path


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for other URLs and ``:memory:``)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url.removeprefix("sqlite:///"))


def sqlite_files(url: str) -> list[Path]:
    """The database file of ``url`` with its ``-wal`` and ``-shm`` files (empty for others)."""
    path = sqlite_file(url)
    if path is None:
        return []
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


def prepare_sqlite(url: str) -> None:
    """Before SQLite opens ``url``: make its folder if needed (``0700``) and the file ``0600``.

    An existing file that others can read is not changed here (the dashboard refuses to start
    on it, see :func:`startup_problems`); a warning names the ``chmod``.
    """
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.exists():
        private_dir(path.parent)
    create_private_file(path)
    for file in sqlite_files(url):
        mode = exposed(file)
        if mode is not None:
            log.warning("%s", InsecureFile(file, mode, "the store file"))


def startup_problems(db_url: str, secret_files: list[tuple[Path, str]] = ()) -> list[InsecureFile]:
    """What the dashboard refuses to start with: a store file or a secret others can read.

    ``secret_files`` are (path, what it is) pairs, e.g. ``(Path("var/bosai.key"), "the key file")``.
    """
    problems = []
    for path, what in [(p, "the store file") for p in sqlite_files(db_url)] + [
        (Path(p), what) for p, what in secret_files
    ]:
        mode = exposed(path)
        if mode is not None:
            problems.append(InsecureFile(path, mode, what))
    return problems
