"""One registry process per database file: an exclusive lock held for the process's life.

Two registries on one database would each believe they own it: the second never sees the first
one's heartbeats, reaps its instances and deletes their rows, and both hand out the same event
sequences. So opening the store first takes an exclusive `flock` on the database file itself
(creating it, mode 0600, when absent) and keeps it until the store closes. The lock is released
by the kernel when the process dies, `kill -9` included, so it never needs cleaning up. `flock`
locks are separate from the POSIX record locks SQLite uses, so they do not interfere.

The file is created 0600 here rather than by SQLite (which would use 0644) because it holds event
payloads; SQLite gives its WAL and shared-memory files the mode of the database file.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from registry.core.ports import StoreOpenError


class DatabaseLock:
    """The exclusive lock on one database file. `acquire` once; `release` when the store closes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Create the file (0600, and its folders 0700) if needed and lock it; StoreOpenError when
        that is impossible."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreOpenError(str(self.path), _cause(exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StoreOpenError(
                    str(self.path), "another registry process is using this database"
                ) from None
            raise StoreOpenError(str(self.path), f"cannot lock it: {_cause(exc)}") from None
        self._fd = fd

    def release(self) -> None:
        """Unlock. Idempotent. Call only after every connection to the file is closed: closing a
        descriptor drops the process's SQLite record locks on the file too."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _cause(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()
