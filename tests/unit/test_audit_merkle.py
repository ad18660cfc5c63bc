import hashlib

import pytest

from audit.errors import InvalidInclusionProof
from audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)


def reference_mth(data: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, written straight from the definition."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return leaf_hash(data[0])
    k = 1
    while k * 2 < len(data):
        k *= 2
    return node_hash(reference_mth(data[:k]), reference_mth(data[k:]))


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert root_of([]) == EMPTY_ROOT == reference_mth([])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31])
def test_roots_and_every_inclusion_proof_match_the_rfc(n: int) -> None:
    data = [f"leaf-{i}".encode() for i in range(n)]
    leaves = [leaf_hash(d) for d in data]
    root = reference_mth(data)
    assert root_of(leaves) == root
    for i in range(n):
        verify_inclusion(i, n, leaves[i], inclusion_path(i, leaves), root)


def test_rfc6962_known_answer_for_empty_leaf() -> None:
    # Certificate Transparency test vector: MTH of one empty leaf.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")


def test_proof_for_another_leaf_is_rejected() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(6)]
    root = root_of(leaves)
    with pytest.raises(InvalidInclusionProof):
        verify_inclusion(2, 6, leaves[3], inclusion_path(2, leaves), root)


def test_proof_against_a_later_checkpoint_root_is_rejected() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(7)]
    with pytest.raises(InvalidInclusionProof):
        verify_inclusion(2, 7, leaves[2], inclusion_path(2, leaves[:6]), root_of(leaves))


def test_index_outside_the_tree_is_rejected() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(4)]
    with pytest.raises(InvalidInclusionProof):
        verify_inclusion(4, 4, leaves[0], [], root_of(leaves))


def test_frontier_survives_a_round_trip_through_hex() -> None:
    f = Frontier()
    for i in range(11):
        f.append(leaf_hash(bytes([i])))
    g = Frontier.from_hex(f.size, f.to_hex())
    g.append(leaf_hash(b"x"))
    f.append(leaf_hash(b"x"))
    assert g.root() == f.root()


def test_frontier_with_wrong_node_count_is_refused() -> None:
    with pytest.raises(ValueError):
        Frontier.from_hex(3, ["00" * 32])
