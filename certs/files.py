"""Writing PKI files safely: private keys are born 0600, every write is atomic.

A key file is created with `os.open(..., 0o600)` so there is no window in which
it is readable by others (chmod-after-write has one), then renamed into place
so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def _written_temp(path: Path, data: bytes, mode: int) -> Path:
    """`data` in a new, fsync'd temporary file beside `path` (mode `mode`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never follow or reuse a file someone else planted at the temp name.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return tmp


def write_file(path: Path, data: bytes, *, mode: int) -> None:
    """Atomically write `data` to `path`, created with permission bits `mode`."""
    tmp = _written_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def create_file(path: Path, data: bytes, *, mode: int) -> bool:
    """Create `path` holding `data`, unless it exists; True if this call created it.

    The file appears whole or not at all (a hard link of a complete temporary file):
    a process racing to create the same key, or one reading it, never sees it half
    written, and a crash mid-write leaves no file behind.
    """
    tmp = _written_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


def write_private(path: Path, data: bytes) -> None:
    """Write a private key (0600, owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_file(path, data, mode=PRIVATE_MODE)


def write_public(path: Path, data: bytes) -> None:
    """Write a certificate, trust store or other public file (0644)."""
    write_file(path, data, mode=PUBLIC_MODE)
