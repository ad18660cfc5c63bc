"""Properties of rarity weights: rarer never weighs less, and weights stay within bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agency_adapters.matching.frequencies import FAMILY_BOUNDS, GIVEN_BOUNDS, NameFrequencies
from agency_adapters.matching.scoring import W_FAMILY_EXACT, W_GIVEN_EXACT


@settings(max_examples=200, deadline=None)
@given(total=st.integers(1, 5_000_000), a=st.integers(0, 5_000_000), b=st.integers(0, 5_000_000))
def test_rarer_name_never_weighs_less(total: int, a: int, b: int) -> None:
    a, b = min(a, total), min(b, total)
    f = NameFrequencies(total, {"x": a, "y": b}, {"x": a, "y": b})
    lo, hi = sorted((a, b))
    rare, common = ("x", "y") if a == lo else ("y", "x")
    assert f.family_weight((rare,), W_FAMILY_EXACT) >= f.family_weight((common,), W_FAMILY_EXACT)
    assert f.given_weight(rare, W_GIVEN_EXACT) >= f.given_weight(common, W_GIVEN_EXACT)
    for name in ("x", "y", "unseen"):
        assert FAMILY_BOUNDS[0] <= f.family_weight((name,), W_FAMILY_EXACT) <= FAMILY_BOUNDS[1]
        assert GIVEN_BOUNDS[0] <= f.given_weight(name, W_GIVEN_EXACT) <= GIVEN_BOUNDS[1]
