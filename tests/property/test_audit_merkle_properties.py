from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import inclusion_path, leaf_hash, root_of, verify_inclusion

leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_every_leaf_has_a_proof_that_verifies(data: list[bytes], pick: st.DataObject) -> None:
    leaves = [leaf_hash(d) for d in data]
    i = pick.draw(st.integers(0, len(leaves) - 1))
    verify_inclusion(i, len(leaves), leaves[i], inclusion_path(i, leaves), root_of(leaves))


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_changing_any_leaf_changes_the_root(data: list[bytes], pick: st.DataObject) -> None:
    leaves = [leaf_hash(d) for d in data]
    i = pick.draw(st.integers(0, len(leaves) - 1))
    changed = list(leaves)
    changed[i] = leaf_hash(data[i] + b"!")
    assert root_of(changed) != root_of(leaves)
