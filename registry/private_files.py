"""Files only the registry may read (its JWT secret, its relay signing key), created exactly once.

The content goes to a private temporary file (mode 0600 from the start, never widened), is synced,
and is then hard-linked into place: the link either creates the name with the complete content or
fails because the name exists. So a crash never leaves half a key behind, and two registries
starting at once on one data directory never replace each other's key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_private_file(path: Path, content: bytes) -> bool:
    """Create `path` (and its folder) holding `content`, mode 0600; False when it already exists.
    An existing file is left alone without writing anything, so a read-only data directory that
    already holds the file is fine."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new name itself survives a power loss
    finally:
        os.close(dir_fd)
    return True
