"""Signed checkpoints: the log owner's Ed25519 signature over (log, tree size, root, time).

A checkpoint commits to every entry before it; someone holding a checkpoint
(an auditor, the other side of a reconciliation) can detect truncation or a
rewrite of those entries, and check an inclusion proof against it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.errors import CheckpointKeyError, InvalidCheckpointSignature
from mash.canonical import JsonValue, canonical_bytes
from mash.config import Strict, decode
from mash.files import PRIVATE_MODE, create_file

#: Signature domain, as `certs` uses it: the signature covers DOMAIN || NUL || canonical JSON.
_DOMAIN = b"mash.v1.Checkpoint"

PublicKeyLike = Ed25519PublicKey | bytes


@dataclass(frozen=True)
class Checkpoint:
    """A (possibly unsigned) statement that log `log` had `tree_size` entries with `root_hash`."""

    log: str
    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str | None = None
    signature: bytes | None = None

    def signed_bytes(self) -> bytes:
        """The exact bytes the signature covers."""
        body: dict[str, str | int] = {"log": self.log, "root_hash": self.root_hash.hex(),
                                      "timestamp": self.timestamp, "tree_size": self.tree_size}
        return _DOMAIN + b"\0" + canonical_bytes(body)

    def to_json_dict(self) -> dict[str, JsonValue]:
        """A JSON-ready form (hex root, base64 signature) for proofs and publication."""
        return {"log": self.log, "tree_size": self.tree_size, "root_hash": self.root_hash.hex(),
                "timestamp": self.timestamp, "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode() if self.signature else None}

    @classmethod
    def from_json_dict(cls, d: object) -> Checkpoint:
        """The inverse of `to_json_dict`; a `ConfigError` (a ValueError) names a bad field."""
        return cls.from_decoded(decode(CheckpointJson, d, "checkpoint"))

    @classmethod
    def from_decoded(cls, raw: CheckpointJson) -> Checkpoint:
        """The checkpoint a decoded `CheckpointJson` describes; ValueError for bad bytes."""
        try:
            root = bytes.fromhex(raw.root_hash)
            signature = base64.b64decode(raw.signature, validate=True) if raw.signature else None
        except ValueError as exc:  # binascii.Error is a ValueError
            raise ValueError(f"checkpoint: {exc}") from None
        return cls(log=raw.log, tree_size=raw.tree_size, root_hash=root,
                   timestamp=raw.timestamp, key_id=raw.key_id, signature=signature)


class CheckpointJson(Strict, frozen=True):
    """A checkpoint as `Checkpoint.to_json_dict` writes it (published, and inside proofs)."""

    log: str
    tree_size: Annotated[int, msgspec.Meta(ge=0)]
    root_hash: Annotated[str, msgspec.Meta(pattern="^(?:[0-9a-fA-F]{2})*$")]
    timestamp: str
    key_id: str | None = None
    signature: str | None = None


def public_key_of(key: PublicKeyLike) -> Ed25519PublicKey:
    """Accept an Ed25519 public key object, its 32 raw bytes, or PEM bytes."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, bytes | bytearray):
        raw = bytes(key)
        if len(raw) == 32:
            return Ed25519PublicKey.from_public_bytes(raw)
        loaded = serialization.load_pem_public_key(raw)
        if isinstance(loaded, Ed25519PublicKey):
            return loaded
    raise CheckpointKeyError("checkpoint key must be an Ed25519 public key")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short stable id of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_checkpoint(unsigned: Checkpoint, key: Ed25519PrivateKey) -> Checkpoint:
    """The checkpoint signed by `key`."""
    return Checkpoint(unsigned.log, unsigned.tree_size, unsigned.root_hash, unsigned.timestamp,
                      key_id=key_id(key.public_key()), signature=key.sign(unsigned.signed_bytes()))


def verify_checkpoint(checkpoint: Checkpoint, public_key: PublicKeyLike) -> None:
    """Raise `InvalidCheckpointSignature` unless `checkpoint` is signed by `public_key`."""
    pk = public_key_of(public_key)
    if checkpoint.signature is None:
        raise InvalidCheckpointSignature(f"checkpoint at size {checkpoint.tree_size} is unsigned")
    try:
        pk.verify(checkpoint.signature, checkpoint.signed_bytes())
    except InvalidSignature:
        raise InvalidCheckpointSignature(
            f"checkpoint at size {checkpoint.tree_size} has a bad signature") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load the Ed25519 checkpoint signing key (PEM, PKCS#8, unencrypted) at `path`."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CheckpointKeyError(f"cannot load checkpoint key {path.name}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointKeyError(f"checkpoint key {path.name} is not Ed25519")
    return key


def create_private_key(path: Path) -> Ed25519PrivateKey:
    """Generate an Ed25519 key and write it to `path` (0600, never overwriting)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not create_file(path, pem, mode=PRIVATE_MODE):
        raise FileExistsError(f"checkpoint key {path.name} already exists")
    return key
