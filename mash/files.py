"""Writing files safely: every write is atomic, and a file is born with its final mode.

A file is written to a new temporary file beside it (a random name opened with
O_EXCL, so nothing someone planted there is followed or reused), fsync'd, then
renamed into place: a reader sees the old file or the new one, never half of one,
and a crash mid-write leaves the old file as it was. Creating with `os.open(...,
mode)` leaves no window in which a private file is readable by others (a
chmod after the write has one).
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


def write_file(path: Path, data: bytes, *, mode: int = PUBLIC_MODE) -> None:
    """Atomically write `data` to `path`, created with permission bits `mode`."""
    tmp = _written_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(path: Path, text: str, *, mode: int = PUBLIC_MODE) -> None:
    """Atomically write `text` (UTF-8) to `path`."""
    write_file(path, text.encode("utf-8"), mode=mode)


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
