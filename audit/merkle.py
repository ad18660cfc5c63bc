"""RFC 6962 (Certificate Transparency) Merkle tree hashing, inclusion proofs and a compact frontier.

Leaves are hashed as SHA-256(0x00 || leaf) and interior nodes as
SHA-256(0x01 || left || right), so a leaf can never be passed off as a node.
Proof verification follows RFC 9162 section 2.1.3.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from audit.errors import InvalidInclusionProof

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 hash of one leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of already-hashed `leaves` (MTH of RFC 6962)."""
    frontier = Frontier()
    for h in leaves:
        frontier.append(h)
    return frontier.root()


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path (RFC 6962 PATH) for leaf `index` in the tree of hashed `leaves`."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} not in a tree of {len(leaves)}")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    # Walk down from the root; each sibling subtree's root joins the path (built bottom-up).
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(root_of(leaves[lo + k:hi]))
            hi = lo + k
        else:
            path.append(root_of(leaves[lo:lo + k]))
            lo = lo + k
    path.reverse()
    return path


def verify_inclusion(index: int, tree_size: int, leaf: bytes, path: Sequence[bytes],
                     root: bytes) -> None:
    """Check that hashed `leaf` sits at `index` of the tree of `tree_size` with `root`.

    Raises `InvalidInclusionProof` when it does not.
    """
    if not 0 <= index < tree_size:
        raise InvalidInclusionProof(f"leaf index {index} outside tree of size {tree_size}")
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            raise InvalidInclusionProof("proof longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise InvalidInclusionProof("proof does not lead to the checkpoint root")


@dataclass
class Frontier:
    """The roots of the perfect subtrees covering the leaves so far (left to right).

    O(log n) state that yields the root after every append, so the writer never
    re-reads the log to sign a checkpoint.
    """

    size: int = 0
    nodes: list[bytes] | None = None

    def append(self, h: bytes) -> None:
        """Add one hashed leaf."""
        nodes = self.nodes if self.nodes is not None else []
        self.nodes = nodes
        nodes.append(h)
        self.size += 1
        # Each trailing 1-bit of the new size is a merge of two equal subtrees.
        n = self.size
        while n & 1 == 0:
            right = nodes.pop()
            nodes[-1] = node_hash(nodes[-1], right)
            n >>= 1

    def root(self) -> bytes:
        """The Merkle tree hash of all leaves appended so far."""
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            r = node_hash(left, r)
        return r

    def copy(self) -> Frontier:
        """An independent copy (the writer rolls back to it when a batch fails)."""
        return Frontier(self.size, list(self.nodes or []))

    def to_hex(self) -> list[str]:
        """The nodes as hex strings (stored with each checkpoint)."""
        return [n.hex() for n in self.nodes or []]

    @classmethod
    def from_hex(cls, size: int, nodes: Sequence[str]) -> Frontier:
        """Rebuild a frontier stored by `to_hex`; the node count must fit `size`."""
        if len(nodes) != bin(size).count("1"):
            raise ValueError("frontier does not match its tree size")
        return cls(size, [bytes.fromhex(n) for n in nodes])
