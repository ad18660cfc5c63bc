"""The m/u measuring tools sort a pair of values into the levels the matcher weighs."""

from datetime import date

from bench.dob_mu import level as dob_level
from bench.name_edits_mu import family_level, given_level
from bench.name_order_mu import reading
from bench.postcode_mu import level


def test_postcode_levels_of_the_measuring_tool() -> None:
    assert level("S11 2ZJ", "S11 2ZJ") == "unit"
    assert level("S11 2ZJ", "S11 2AB") == "sector"
    assert level("S11 2ZJ", "S11 9AB") == "district"
    assert level("S11 2ZJ", "S1 2ZJ") == "other"
    assert level(None, "S1 2ZJ") == "missing"


def test_name_levels_of_the_measuring_tool() -> None:
    assert given_level(("loouise",), ("louise", "ann")) == "edit1"
    assert given_level(("loouise",), ("louis",)) == "edit2"
    assert given_level(("louise",), ("louise",)) == "exact"
    assert given_level(("louise",), ("mark",)) == "other"
    assert family_level(("smith",), ("smith", "bowen")) == "exact"
    assert family_level(("walterrs",), ("waters",)) == "edit2"
    assert family_level((), ("waters",)) == "missing"


def test_levels_of_the_measuring_tools() -> None:
    assert dob_level(date(1979, 7, 8), date(1979, 7, 8)) == "exact"
    assert dob_level(date(1979, 7, 8), date(1979, 8, 7)) == "swapped"
    assert dob_level(date(1979, 7, 8), date(1980, 7, 8)) == "slip"
    assert dob_level(date(1979, 7, 8), date(1979, 8, 6)) == "swapped+slip"
    assert dob_level(date(1979, 7, 8), date(1979, 7, 25)) == "year_month"
    assert dob_level(date(1979, 7, 8), date(1981, 3, 2)) == "other"
    assert dob_level(None, date(1981, 3, 2)) == "missing"
    assert reading((("smith",), ("graeme",)), (("graeme",), ("smith",))) == "swapped"
    assert reading((("graeme",), ("smith",)), (("graeme",), ("smith",))) == "direct"
    assert reading((("graeme",), ("williams",)), (("william",), ("smith",))) == "direct"
