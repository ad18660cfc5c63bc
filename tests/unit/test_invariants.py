"""A broken invariant is a raised error (kept under `python -O`), never a skipped `assert`."""

import grpc
import pytest

from mash.errors import InvariantError, MashError, present


def test_present_returns_the_value_or_raises_an_internal_error() -> None:
    assert present(0, "zero") == 0
    with pytest.raises(InvariantError) as raised:
        present(None, "the signed query")
    assert isinstance(raised.value, MashError)
    assert raised.value.grpc_code == grpc.StatusCode.INTERNAL
    assert raised.value.public_message == "internal error"  # no internal detail to a client
    assert "the signed query" in raised.value.detail
