import pytest

from mash import vocab


def test_parse_known_value() -> None:
    assert vocab.parse(vocab.Purpose, "early_help") is vocab.Purpose.EARLY_HELP


def test_parse_unknown_value_is_an_error_never_a_guess() -> None:
    with pytest.raises(vocab.UnknownVocabulary):
        vocab.parse(vocab.Purpose, "Early_Help")


def test_every_category_belongs_to_exactly_one_agency() -> None:
    seen = [c for cats in vocab.AGENCY_CATEGORIES.values() for c in cats]
    assert sorted(seen) == sorted(vocab.Category)
    assert len(seen) == len(set(seen))


def test_every_purpose_has_a_gateway() -> None:
    assert set(vocab.GATEWAY_FOR_PURPOSE) == set(vocab.Purpose)
