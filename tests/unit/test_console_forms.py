"""The console's form checks: each bad field gets a message naming it."""

from __future__ import annotations

from datetime import date

from console.forms import LookupInput, nhs_number_ok, parse_referral_form, validate_lookup, validate_referral

TODAY = date(2026, 3, 4)


def _form(**fields: str) -> dict[str, str]:
    base = {"source": "police", "reason": "concern", "rag": "red", "subject_count": "1",
            "s0-role": "child", "s0-given_name": "Ada", "s0-sex": "female"}
    return {**base, **fields}


def test_a_good_form_has_no_errors() -> None:
    data = parse_referral_form(_form(**{"s0-dob_day": "9", "s0-dob_month": "8", "s0-dob_year": "2013",
                                        "s0-nhs_number": "943 476 5919"}))
    assert not validate_referral(data, TODAY)
    assert data.subjects[0].identifiers()["date_of_birth"] == "2013-08-09"
    assert data.subjects[0].identifiers()["nhs_number"] == "9434765919"


def test_each_bad_field_is_named() -> None:
    data = parse_referral_form(_form(**{
        "source": "boy", "rag": "purple", "s0-sex": "boy", "s0-nhs_number": "9434765918",
        "s0-dob_day": "30", "s0-dob_month": "4", "s0-dob_year": "2034", "s0-upn": "A12345678901X",
        "s0-postcode": "NOT A POSTCODE"}))
    errors = validate_referral(data, TODAY).items
    assert set(errors) == {"source", "rag", "s0-sex", "s0-nhs_number", "s0-dob_day", "s0-upn",
                           "s0-postcode"}
    assert "in the past" in errors["s0-dob_day"]


def test_a_person_needs_an_identifier_and_a_real_date() -> None:
    data = parse_referral_form(_form(**{"s0-given_name": "", "s0-dob_day": "31", "s0-dob_month": "2",
                                        "s0-dob_year": "2015"}))
    errors = validate_referral(data, TODAY).items
    assert "Enter a name, NHS number or UPN" in errors["s0-given_name"]
    assert "real date" in errors["s0-dob_day"]


def test_the_first_person_is_the_child_and_the_household_is_bounded() -> None:
    data = parse_referral_form(_form(**{"s0-role": "parent_carer", "subject_count": "999"}))
    assert len(data.subjects) == 12
    assert "s0-role" in validate_referral(data, TODAY).items


def test_nhs_check_digit() -> None:
    assert nhs_number_ok("9434765919")
    assert not nhs_number_ok("9434765918")
    assert not nhs_number_ok("943476591")


def test_sharing_without_consent_needs_a_reason_and_a_note() -> None:
    errors = validate_lookup(LookupInput("child_protection_enquiry", "not_sought", "", "")).items
    assert set(errors) == {"consent_reason", "consent_note"}
    assert not validate_lookup(LookupInput("child_protection_enquiry", "given", "", ""))
