"""Inclusion proofs an outsider can check: "entry N is in the log the owner signed".

A proof carries the entry's core text (ids and codes, no personal data), the
hash of its personal part, the RFC 6962 audit path and the signed checkpoint.
`check_proof` needs only the proof and the owner's published public key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from audit.chain import entry_leaf
from audit.checkpoints import Checkpoint, CheckpointJson, PublicKeyLike, verify_checkpoint
from audit.errors import EntryNotFound, InvalidInclusionProof
from audit.merkle import inclusion_path, verify_inclusion
from audit.store import SqliteAuditStore
from mash.canonical import JsonValue
from mash.config import ConfigError, Strict, decode

PROOF_FORMAT = "mash-audit-inclusion-proof-v1"


@dataclass(frozen=True)
class InclusionProof:
    """Everything needed to show one entry is covered by a signed checkpoint."""

    entry_id: int
    core: str
    personal_hash: bytes | None
    path: tuple[bytes, ...]
    checkpoint: Checkpoint

    def to_json_dict(self) -> dict[str, JsonValue]:
        """The JSON form `mash audit prove` prints."""
        return {"format": PROOF_FORMAT, "log": self.checkpoint.log, "entry_id": self.entry_id,
                "leaf_index": self.entry_id - 1, "core": self.core,
                "personal_hash": self.personal_hash.hex() if self.personal_hash else None,
                "audit_path": [p.hex() for p in self.path],
                "checkpoint": self.checkpoint.to_json_dict()}

    @classmethod
    def from_json_dict(cls, d: object) -> InclusionProof:
        """Parse the JSON form; raises `InvalidInclusionProof` naming what is malformed."""
        try:
            raw = decode(InclusionProofJson, d, "proof")
            return cls(entry_id=raw.entry_id, core=raw.core,
                       personal_hash=bytes.fromhex(raw.personal_hash) if raw.personal_hash
                       else None,
                       path=tuple(bytes.fromhex(p) for p in raw.audit_path),
                       checkpoint=Checkpoint.from_decoded(raw.checkpoint))
        except ConfigError as exc:
            raise InvalidInclusionProof(f"malformed proof: field {exc.field!r}: "
                                        f"{exc.problem}") from None
        except ValueError as exc:
            raise InvalidInclusionProof(f"malformed proof: {exc}") from None


_HEX = msgspec.Meta(pattern="^(?:[0-9a-fA-F]{2})*$")


class InclusionProofJson(Strict, frozen=True):
    """An inclusion proof as `InclusionProof.to_json_dict` writes it (`mash audit prove`).

    `log` and `leaf_index` are there for the reader; what is checked is derived from the rest.
    """

    format: Literal["mash-audit-inclusion-proof-v1"]
    entry_id: Annotated[int, msgspec.Meta(ge=1)]
    core: str
    audit_path: list[Annotated[str, _HEX]]
    checkpoint: CheckpointJson
    personal_hash: Annotated[str, _HEX] | None = None
    log: str | None = None
    leaf_index: int | None = None


def prove(path: Path, entry_id: int) -> InclusionProof:
    """An inclusion proof of `entry_id` against the latest checkpoint that covers it."""
    store = SqliteAuditStore.open_readonly(path)
    try:
        entry = store.entry(entry_id)
        cps = [sc.checkpoint for sc in store.checkpoints() if sc.checkpoint.tree_size >= entry_id]
        if entry is None:
            raise EntryNotFound(f"{path.name} has no entry {entry_id}")
        if not cps:
            raise EntryNotFound(f"entry {entry_id} of {path.name} is not yet covered by a "
                                "checkpoint (the writer adds one within its checkpoint interval)")
        cp = cps[-1]
        leaves = [entry_leaf(e.id, e.core, e.personal_hash)
                  for e in store.entries(1, cp.tree_size + 1)]
    finally:
        store.close()
    return InclusionProof(entry_id, entry.core, entry.personal_hash,
                          tuple(inclusion_path(entry_id - 1, leaves)), cp)


def check_proof(proof: InclusionProof, public_key: PublicKeyLike) -> None:
    """Raise unless the checkpoint is signed by `public_key` and the entry is in its tree.

    Raises `InvalidCheckpointSignature` or `InvalidInclusionProof`.
    """
    verify_checkpoint(proof.checkpoint, public_key)
    leaf = entry_leaf(proof.entry_id, proof.core, proof.personal_hash)
    verify_inclusion(proof.entry_id - 1, proof.checkpoint.tree_size, leaf, proof.path,
                     proof.checkpoint.root_hash)
