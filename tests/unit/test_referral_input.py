"""Referral input checks: every problem named by field, valid values listed, any script."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.gb import nhs

from broker import referral_input as check
from mash.errors import InvalidRequest
from mash.v1 import mash_pb2 as pb

TODAY = date(2026, 6, 1)


def problems(*subjects: pb.Subject) -> list[str]:
    errors = check.FieldErrors()
    check.subjects(errors, "subjects", list(subjects), TODAY)
    return errors.items


def child(**ids: str) -> pb.Subject:
    return pb.Subject(role="child", identifiers=pb.Identifiers(**ids))


def test_a_clean_subject_gets_an_id_per_role_and_normalised_identifiers() -> None:
    errors = check.FieldErrors()
    out = check.subjects(errors, "subjects", [
        child(family_name="Testerby", nhs_number="943 476 5919", sex="Female",
              postcode="zz99  1aa"),
        child(family_name="Testerby", upn="F801200100001")], TODAY)
    assert errors.items == []
    assert [s.subject_id for s in out] == ["child-1", "child-2"]
    assert dict(out[0].identifiers) == {"family_name": "Testerby", "nhs_number": "9434765919",
                                        "sex": "female", "postcode": "ZZ99 1AA"}


@pytest.mark.parametrize(("ids", "expected"), [
    ({"family_name": "T", "nhs_number": "9434765918"}, "nhs_number: the check digit"),
    ({"family_name": "T", "nhs_number": "943476591"}, "nhs_number: an NHS number is 10 digits"),
    ({"family_name": "T", "upn": "A801200100001"}, "upn: the check letter does not match"),
    ({"family_name": "T", "upn": "A80"}, "upn: a UPN is 13 characters"),
    ({"family_name": "T", "date_of_birth": "30/04/2014"}, "is not an ISO 8601 date"),
    ({"family_name": "T", "date_of_birth": "2014-02-30"}, "is not a real date"),
    ({"family_name": "T", "date_of_birth": "2026-06-02"}, "is in the future"),
    ({"family_name": "T", "sex": "boy"}, "sex: 'boy' is not one of female, male, unknown"),
    ({"given_name": "Only"}, "give at least one identifier an agency can search by"),
    ({"family_name": "T\u0000x"}, "family_name: contains control"),
])
def test_each_bad_identifier_is_named(ids: dict[str, str], expected: str) -> None:
    [problem] = problems(child(**ids))
    assert problem.startswith("subjects[0].identifiers.") and expected in problem


def test_all_problems_are_reported_together_and_raised_once() -> None:
    errors = check.FieldErrors()
    check.subjects(errors, "subjects", [
        pb.Subject(role="uncle", identifiers=pb.Identifiers(family_name="T")),
        child(family_name="T", sex="x", nhs_number="1")], TODAY)
    assert [p.split(":")[0] for p in errors.items] == [
        "subjects[0].role", "subjects[1].identifiers.sex", "subjects[1].identifiers.nhs_number"]
    assert "child, parent_carer, household_member, adult_at_risk" in errors.items[0]
    with pytest.raises(InvalidRequest) as raised:
        errors.raise_any()
    assert str(raised.value).count("; ") == 2


def test_a_subject_id_used_twice_is_refused_unless_it_corrects_that_subject() -> None:
    twice = [pb.Subject(subject_id="child-1", role="child",
                        identifiers=pb.Identifiers(family_name="T"))] * 2
    assert "subjects[1].subject_id: child-1 is used twice" in problems(*twice)
    errors = check.FieldErrors()
    out = check.subjects(errors, "put", twice[:1], TODAY, taken={"child-1"},
                         correctable={"child-1"})
    assert errors.items == [] and out[0].subject_id == "child-1"


def test_received_in_the_future_is_refused() -> None:
    errors = check.FieldErrors()
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert check.aware_time(errors, "received_at", "2026-06-01T12:00:01+00:00", now,
                            not_future=True) is None
    assert check.aware_time(errors, "received_at", "2026-06-01T11:00:00", now,
                            not_future=True) is None
    assert errors.items == ["received_at: must not be in the future",
                            "received_at: give a UTC offset, e.g. +00:00"]


@given(st.text(alphabet=st.characters(categories=("Lu", "Ll", "Lo", "Mn")), min_size=1,
               max_size=40))
def test_names_in_any_script_are_kept(name: str) -> None:
    errors = check.FieldErrors()
    [s] = check.subjects(errors, "subjects", [child(family_name=name)], TODAY)
    assert errors.items == []
    assert s.identifiers["family_name"]


@given(st.integers(min_value=0, max_value=999_999_999))
def test_an_nhs_number_is_accepted_exactly_when_its_check_digit_matches(n: int) -> None:
    number = f"{n:09d}"
    for digit in "0123456789":
        candidate = number + digit
        ok = not problems(child(family_name="T", nhs_number=candidate))
        assert ok is nhs.is_valid(candidate)
