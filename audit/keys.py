"""Finding checkpoint keys in a home: the owner's signing key and the published public keys.

`mash pki init` creates one Ed25519 checkpoint key per log owner at
`home.signing_key("audit-<owner>")` and pins its public key in the trust store
(`[[key]]` with `owner = "audit-<owner>"`, `purpose = "audit-checkpoint"`).
Verification uses the pinned keys only: a key file found next to the log proves
nothing (whoever can rewrite the log can replace it), so a missing or unreadable
trust store, or a log owner with no pinned key, fails verification.
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.checkpoints import create_private_key, load_private_key
from audit.errors import AuditError
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


class TrustStoreUnusable(AuditError):
    """The trust store is missing or cannot be read: nothing can be verified against it."""


def pinned_checkpoint_keys(trust_store: Path) -> dict[str, tuple[Ed25519PublicKey, ...]]:
    """Every log owner's pinned checkpoint public keys (`broker-mash-demo` -> keys).

    Raises `TrustStoreUnusable` when the file is missing or unreadable. A malformed
    pin is left out (it verifies nothing), so its log then fails for want of a key.
    """
    try:
        data = tomllib.loads(trust_store.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrustStoreUnusable(f"no trust store at {trust_store}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrustStoreUnusable(f"trust store {trust_store} cannot be read: "
                                 f"{type(exc).__name__}: {exc}") from None
    out: dict[str, list[Ed25519PublicKey]] = {}
    entries = data.get("key", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not str(entry.get("owner", "")).startswith("audit-"):
            continue
        if entry.get("purpose", CHECKPOINT_PURPOSE) != CHECKPOINT_PURPOSE:
            continue
        try:
            raw = base64.b64decode(str(entry.get("public_key", "")), validate=True)
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError):
            continue
        out.setdefault(str(entry["owner"])[len("audit-"):], []).append(key)
    return {owner: tuple(keys) for owner, keys in out.items()}
