"""Writing PKI files: private keys are born 0600, public files 0644, every write atomic.

The atomic write itself is `mash.files` (one implementation for every file the
system writes); this module names the two modes the PKI uses.
"""

from __future__ import annotations

from pathlib import Path

from mash.files import PRIVATE_MODE, PUBLIC_MODE, write_file


def write_private(path: Path, data: bytes) -> None:
    """Write a private key (0600, owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_file(path, data, mode=PRIVATE_MODE)


def write_public(path: Path, data: bytes) -> None:
    """Write a certificate, trust store or other public file (0644)."""
    write_file(path, data, mode=PUBLIC_MODE)
