"""The trust store: pinned message-signing public keys and revoked TLS certificates.

A human-readable TOML file (`home.trust_store`) that an IG lead or operator can
read and diff. Verification only ever uses keys pinned here: a signature is
accepted when the key id is pinned, the key belongs to the expected owner for
the expected purpose, the time is inside the key's validity window, and the
Ed25519 signature matches the exact bytes. Each check fails with its own error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certs.errors import (
    InvalidSignature,
    KeyNotValid,
    TrustStoreError,
    UnknownKey,
    WrongSigner,
)
from certs.files import write_public
from certs.names import KeyPurpose
from mash import tomlwrite
from mash.clock import Clock, utc_now
from mash.config import ConfigError, Strict, decode

FORMAT_VERSION = 1
ALGORITHM_ED25519 = "ed25519"


def key_id_of(raw_public_key: bytes) -> str:
    """The key id of a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def signed_bytes(domain: bytes, payload: bytes) -> bytes:
    """The exact bytes a signature covers: `domain + NUL + payload`.

    The domain separates what a key signs (a query signature can never be
    replayed as a disclosure); a NUL inside a domain would make that ambiguous.
    """
    if not domain or b"\0" in domain:
        raise ValueError("signing domain must be non-empty and contain no NUL byte")
    return domain + b"\0" + payload


@dataclass(frozen=True)
class PinnedKey:
    """One pinned public key with its owner, purpose and validity window."""

    key_id: str
    owner: str
    purpose: str
    public_key: bytes  # raw 32-byte Ed25519 public key
    not_before: datetime
    not_after: datetime
    algorithm: str = ALGORITHM_ED25519

    def valid_at(self, at: datetime) -> bool:
        """True if `at` lies inside [not_before, not_after]."""
        return self.not_before <= at <= self.not_after


@dataclass(frozen=True)
class VerifiedKey:
    """The pinned key that verified a signature: proof of who signed, for what."""

    key_id: str
    owner: str
    purpose: str
    not_after: datetime


@dataclass(frozen=True)
class RevokedCert:
    """A revoked TLS certificate, by serial number."""

    serial: int
    name: str
    revoked_at: datetime
    reason: str = "unspecified"


@dataclass(frozen=True)
class TrustStore:
    """Pinned signing keys and revoked certificate serials. Immutable; `with_*` returns a copy."""

    keys: tuple[PinnedKey, ...] = ()
    revoked: tuple[RevokedCert, ...] = ()
    clock: Clock = field(default=utc_now, compare=False, repr=False)
    # Indexes built once at construction: verification is on the hot path.
    _by_id: Mapping[str, PinnedKey] = field(init=False, compare=False, repr=False)
    _objects: Mapping[str, Ed25519PublicKey] = field(init=False, compare=False, repr=False)
    _revoked_serials: frozenset[int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_id: dict[str, PinnedKey] = {}
        objects: dict[str, Ed25519PublicKey] = {}
        for key in self.keys:
            if key.key_id in by_id:
                raise TrustStoreError(f"duplicate key_id {key.key_id} in trust store")
            if key.algorithm != ALGORITHM_ED25519:
                raise TrustStoreError(f"key {key.key_id}: unsupported algorithm {key.algorithm!r}")
            if key_id_of(key.public_key) != key.key_id:
                raise TrustStoreError(f"key {key.key_id}: key_id does not match the public key")
            try:
                objects[key.key_id] = Ed25519PublicKey.from_public_bytes(key.public_key)
            except ValueError as exc:
                raise TrustStoreError(f"key {key.key_id}: bad public key ({exc})") from None
            by_id[key.key_id] = key
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_objects", objects)
        object.__setattr__(self, "_revoked_serials", frozenset(r.serial for r in self.revoked))

    # --- verification (hot path) -------------------------------------------------------
    def verify(
        self,
        domain: bytes,
        payload: bytes,
        signature: bytes,
        key_id: str,
        *,
        expected_owner: str,
        purpose: str,
        at: datetime | None = None,
    ) -> VerifiedKey:
        """Verify `signature` over `domain + NUL + payload` by pinned key `key_id`.

        Raises `UnknownKey`, `WrongSigner`, `KeyNotValid` or `InvalidSignature`.
        """
        key = self._by_id.get(key_id)
        if key is None:
            raise UnknownKey(f"key {key_id!r} is not pinned")
        if key.owner != expected_owner or key.purpose != purpose:
            raise WrongSigner(
                f"key {key_id} belongs to {key.owner}/{key.purpose}, "
                f"expected {expected_owner}/{purpose}"
            )
        when = self.clock() if at is None else at
        if not key.valid_at(when):
            raise KeyNotValid(f"key {key_id} is valid {key.not_before} to {key.not_after}")
        try:
            self._objects[key_id].verify(signature, signed_bytes(domain, payload))
        except _CryptoInvalidSignature:
            raise InvalidSignature(f"signature by {key_id} does not verify") from None
        return VerifiedKey(key.key_id, key.owner, key.purpose, key.not_after)

    def public_key(self, key_id: str) -> Ed25519PublicKey:
        """The public key object of pinned key `key_id`; raises `UnknownKey`."""
        try:
            return self._objects[key_id]
        except KeyError:
            raise UnknownKey(f"key {key_id!r} is not pinned") from None

    def pinned(self, key_id: str) -> PinnedKey:
        """The pinned entry of `key_id`; raises `UnknownKey`."""
        try:
            return self._by_id[key_id]
        except KeyError:
            raise UnknownKey(f"key {key_id!r} is not pinned") from None

    def keys_for(self, owner: str, purpose: str | None = None) -> tuple[PinnedKey, ...]:
        """Every key pinned for `owner` (optionally one purpose), newest not_before first."""
        found = [k for k in self.keys
                 if k.owner == owner and (purpose is None or k.purpose == purpose)]
        return tuple(sorted(found, key=lambda k: k.not_before, reverse=True))

    def is_revoked(self, serial: int) -> bool:
        """True if the TLS certificate with this serial number is revoked."""
        return serial in self._revoked_serials

    # --- editing (CLI / init) ----------------------------------------------------------
    def with_key(self, key: PinnedKey) -> TrustStore:
        """A copy with `key` pinned (replacing an entry with the same key id)."""
        keys = tuple(k for k in self.keys if k.key_id != key.key_id) + (key,)
        return replace(self, keys=keys)

    def with_keys(self, keys: Iterable[PinnedKey]) -> TrustStore:
        """A copy with every key in `keys` pinned."""
        store = self
        for key in keys:
            store = store.with_key(key)
        return store

    def with_revoked(self, cert: RevokedCert) -> TrustStore:
        """A copy with `cert` on the revocation list (idempotent by serial)."""
        if self.is_revoked(cert.serial):
            return self
        return replace(self, revoked=self.revoked + (cert,))

    # --- file format -------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, *, clock: Clock = utc_now) -> TrustStore:
        """Read a trust store file; raises `TrustStoreError` if missing or malformed."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TrustStoreError(f"trust store not found: {path} (run `mash pki init`)") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TrustStoreError(f"trust store {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, clock=clock)

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, clock: Clock = utc_now) -> TrustStore:
        """Build from parsed TOML; every field is checked and named on error."""
        try:
            raw = decode(TrustStoreFile, data, "trust store")
        except ConfigError as exc:
            raise TrustStoreError(f"{exc.field}: {exc.problem}") from None
        keys = tuple(_parse_key(i, k) for i, k in enumerate(raw.key))
        revoked = tuple(_parse_revoked(i, r) for i, r in enumerate(raw.revoked))
        return cls(keys, revoked, clock)

    def to_toml(self) -> str:
        """The human-readable TOML text of this store."""
        keys = sorted(self.keys, key=lambda k: (k.owner, k.not_before, k.key_id))
        data: dict[str, object] = {
            "version": FORMAT_VERSION,
            "key": [{"key_id": key.key_id, "owner": key.owner, "purpose": key.purpose,
                     "algorithm": key.algorithm,
                     "public_key": base64.b64encode(key.public_key).decode(),
                     "not_before": key.not_before, "not_after": key.not_after} for key in keys],
            "revoked": [{"serial": format(cert.serial, "x"), "name": cert.name,
                         "revoked_at": cert.revoked_at, "reason": cert.reason}
                        for cert in self.revoked],
        }
        return tomlwrite.dumps(data, header=(
            "mash-hub trust store: pinned message-signing public keys and revoked TLS",
            "certificates. Written by `mash pki`; review changes like code."))

    def save(self, path: Path) -> None:
        """Atomically write this store to `path`."""
        write_public(Path(path), self.to_toml().encode("utf-8"))


#: a moment that carries its UTC offset (a bare local time would be ambiguous)
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class KeyEntry(Strict, frozen=True):
    """One `[[key]]` table of the trust store file."""

    key_id: str
    owner: str
    purpose: KeyPurpose
    public_key: str
    not_before: AwareDatetime
    not_after: AwareDatetime
    algorithm: str = ALGORITHM_ED25519


class RevokedEntry(Strict, frozen=True):
    """One `[[revoked]]` table of the trust store file."""

    serial: str
    name: str
    revoked_at: AwareDatetime
    reason: str = "unspecified"


class TrustStoreFile(Strict, frozen=True):
    """The trust store file as written (`TrustStore.to_toml`)."""

    version: Literal[1]
    key: tuple[KeyEntry, ...] = ()
    revoked: tuple[RevokedEntry, ...] = ()


def _parse_key(index: int, entry: KeyEntry) -> PinnedKey:
    try:
        raw = base64.b64decode(entry.public_key, validate=True)
    except binascii.Error:
        raise TrustStoreError(f"key[{index}].public_key: not base64") from None
    return PinnedKey(key_id=entry.key_id, owner=entry.owner, purpose=entry.purpose.value,
                     public_key=raw, not_before=entry.not_before, not_after=entry.not_after,
                     algorithm=entry.algorithm)


def _parse_revoked(index: int, entry: RevokedEntry) -> RevokedCert:
    try:
        serial = int(entry.serial, 16)
    except ValueError:
        raise TrustStoreError(f"revoked[{index}].serial: not a hex serial number") from None
    return RevokedCert(serial=serial, name=entry.name, revoked_at=entry.revoked_at,
                       reason=entry.reason)
