"""How one stored entry is hashed: its Merkle leaf and its link in the hash chain.

leaf  = RFC 6962 leaf hash of  "mash-audit-entry-v1" || id (8 bytes, big-endian)
                               || SHA-256(core) || SHA-256(personal) (or 32 zero bytes)
chain = SHA-256(previous entry's chain hash || leaf); the first entry's previous is 32 zeros.

The personal part enters only through its hash, so retention can drop it and
the entry still verifies. The id is inside the leaf, so moving an entry to
another position changes its hash (reordering is detected).
"""

from __future__ import annotations

import hashlib

GENESIS = bytes(32)
NO_PERSONAL = bytes(32)
_DOMAIN = b"mash-audit-entry-v1"
#: What every leaf hash starts with: RFC 6962's leaf marker, then the entry domain.
LEAF_PREFIX = b"\x00" + _DOMAIN


def personal_digest(personal: str) -> bytes:
    """SHA-256 of a personal part's canonical JSON text (kept after redaction)."""
    return hashlib.sha256(personal.encode("utf-8")).digest()


def entry_leaf(entry_id: int, core: str, personal_hash: bytes | None) -> bytes:
    """The Merkle leaf hash of an entry."""
    # == leaf_hash(_DOMAIN + ...), spelt out so verify's inlined loop matches it exactly.
    return hashlib.sha256(LEAF_PREFIX + entry_id.to_bytes(8, "big")
                          + hashlib.sha256(core.encode("utf-8")).digest()
                          + (personal_hash or NO_PERSONAL)).digest()


def chain_hash(prev: bytes, leaf: bytes) -> bytes:
    """The chain hash of an entry given its predecessor's chain hash."""
    return hashlib.sha256(prev + leaf).digest()
