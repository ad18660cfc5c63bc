"""Message signing (Ed25519) over exact serialized bytes, and verification by pinned key.

A signer holds one `SigningKey`; a verifier holds a `TrustStore` and checks each
signature against the key pinned for the party it expects. The signature covers
`domain + NUL + payload`, where the domain names the message type, so a
signature over one kind of message never verifies as another.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certs.errors import PkiError
from certs.truststore import (
    PinnedKey,
    RevokedCert,
    TrustStore,
    VerifiedKey,
    key_id_of,
    signed_bytes,
)

__all__ = [
    "CHECKPOINT_DOMAIN",
    "DISCLOSURE_DOMAIN",
    "QUERY_DOMAIN",
    "PinnedKey",
    "RevokedCert",
    "SigningKey",
    "TrustStore",
    "VerifiedKey",
    "key_id_of",
]

QUERY_DOMAIN = b"mash.v1.Query"
DISCLOSURE_DOMAIN = b"mash.v1.Disclosure"
CHECKPOINT_DOMAIN = b"mash.v1.Checkpoint"


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key with its owner and key id."""

    owner: str
    private_key: Ed25519PrivateKey

    @classmethod
    def load(cls, path: Path, *, owner: str | None = None) -> SigningKey:
        """Load a PEM (PKCS#8) Ed25519 key; the owner defaults to the file stem."""
        path = Path(path)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise PkiError(f"signing key not found: {path} (run `mash pki init`)") from None
        except ValueError as exc:
            raise PkiError(f"signing key {path} is not a PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise PkiError(f"signing key {path} is not an Ed25519 key")
        return cls(owner or path.stem, key)

    @classmethod
    def generate(cls, owner: str) -> SigningKey:
        """A fresh random key for `owner` (not written anywhere)."""
        return cls(owner, Ed25519PrivateKey.generate())

    @cached_property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @cached_property
    def key_id(self) -> str:
        """First 16 hex digits of SHA-256 of the raw public key."""
        return key_id_of(self.public_bytes)

    def sign(self, domain: bytes, payload: bytes) -> bytes:
        """Sign `domain + NUL + payload`; returns the 64-byte signature."""
        return self.private_key.sign(signed_bytes(domain, payload))

    def to_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (write it 0600)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
