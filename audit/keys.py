"""Finding checkpoint keys in a home: the owner's signing key and the published public keys.

`mash pki init` creates one Ed25519 checkpoint key per log owner at
`home.signing_key("audit-<owner>")` and pins its public key in the trust store
(`[[key]]` with `owner = "audit-<owner>"`, `purpose = "audit-checkpoint"`).
Verification uses the pinned keys only: a key file found next to the log proves
nothing (whoever can rewrite the log can replace it), so a missing or unreadable
trust store, or a log owner with no pinned key, fails verification.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.checkpoints import create_private_key, load_private_key
from audit.errors import AuditError
from certs.errors import TrustStoreError
from certs.names import KeyPurpose
from certs.truststore import TrustStore
from mash.home import Home

CHECKPOINT_PURPOSE = KeyPurpose.AUDIT_CHECKPOINT.value

#: The trust store names a log owner's checkpoint key `audit-<owner>`.
OWNER_PREFIX = "audit-"


def key_owner(log_owner: str) -> str:
    """The signing-key owner name of a log owner (`broker` -> `audit-broker`)."""
    return f"{OWNER_PREFIX}{log_owner}"


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

    The file is read as the trust store it is (`certs.truststore.TrustStore`), so a malformed
    file is refused as a whole rather than read around: `TrustStoreUnusable` says why when the
    file is missing, unreadable or has a bad field or key. A log owner with no pinned key then
    fails verification for want of one. Validity windows are not applied: a checkpoint signed
    while its key was pinned still verifies after the key is rotated out.
    """
    if not trust_store.is_file():
        raise TrustStoreUnusable(f"no trust store at {trust_store}")
    try:
        store = TrustStore.load(trust_store)
    except TrustStoreError as exc:
        raise TrustStoreUnusable(f"trust store {trust_store} cannot be read: {exc}") from None
    out: dict[str, list[Ed25519PublicKey]] = {}
    for pin in store.keys:
        if pin.purpose == KeyPurpose.AUDIT_CHECKPOINT and pin.owner.startswith(OWNER_PREFIX):
            out.setdefault(pin.owner.removeprefix(OWNER_PREFIX), []).append(
                store.public_key(pin.key_id))
    return {owner: tuple(keys) for owner, keys in out.items()}
