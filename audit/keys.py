"""Finding checkpoint keys in a home: the owner's signing key and the published public keys.

`mash pki init` creates one Ed25519 checkpoint key per log owner at
`home.signing_key("audit-<owner>")` and pins its public key in the trust store
(`[[key]]` with `owner = "audit-<owner>"`, `purpose = "audit-checkpoint"`).
Verification prefers the pinned keys; in a home without a trust store entry it
falls back to the public half of the owner's key file (and says so).
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.checkpoints import create_private_key, load_private_key
from mash.home import Home

CHECKPOINT_PURPOSE = "audit-checkpoint"


def key_owner(log_owner: str) -> str:
    """The signing-key owner name of a log owner (`broker` -> `audit-broker`)."""
    return f"audit-{log_owner}"


def checkpoint_key_path(home: Home, log_owner: str) -> Path:
    """Where the checkpoint signing key of `log_owner` lives."""
    return home.signing_key(key_owner(log_owner))


def load_checkpoint_key(home: Home, log_owner: str, *, create: bool = False
                        ) -> Ed25519PrivateKey | None:
    """The owner's checkpoint signing key; None if absent (or created when `create`)."""
    path = checkpoint_key_path(home, log_owner)
    if path.exists():
        return load_private_key(path)
    return create_private_key(path) if create else None


@dataclass(frozen=True)
class PublishedKeys:
    """The public checkpoint keys of one log owner, and where they came from."""

    keys: tuple[Ed25519PublicKey, ...]
    source: str  # "trust store", "key file in home" or "none"


def published_checkpoint_keys(home: Home, log_owner: str) -> PublishedKeys:
    """The checkpoint public keys to verify `log_owner`'s log with."""
    pinned = _pinned(home.trust_store, key_owner(log_owner))
    if pinned:
        return PublishedKeys(pinned, "trust store")
    path = checkpoint_key_path(home, log_owner)
    if path.exists():
        return PublishedKeys((load_private_key(path).public_key(),), "key file in home")
    return PublishedKeys((), "none")


def _pinned(trust_store: Path, owner: str) -> tuple[Ed25519PublicKey, ...]:
    try:
        data = tomllib.loads(trust_store.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ()
    out = []
    for entry in data.get("key", []):
        if not isinstance(entry, dict) or entry.get("owner") != owner:
            continue
        if entry.get("purpose", CHECKPOINT_PURPOSE) != CHECKPOINT_PURPOSE:
            continue
        try:
            raw = base64.b64decode(str(entry.get("public_key", "")), validate=True)
            out.append(Ed25519PublicKey.from_public_bytes(raw))
        except (binascii.Error, ValueError):
            continue  # a malformed pin verifies nothing; verification then fails closed
    return tuple(out)
