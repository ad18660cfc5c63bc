"""Form input for the console's pages: parsed, validated, and turned into field-named errors.

Each error names the form field (its HTML id) so the page shows a GOV.UK error summary
linking to the field and an error message beside it. Nothing here trusts the browser:
vocabulary values are checked against `mash.vocab`, identifiers against their check digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from stdnum.gb import upn as stdnum_upn

from mash.vocab import (
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    ReferralSource,
    SubjectRole,
)

SEXES = ("female", "male", "unknown")
MAX_SUBJECTS = 12
MAX_TEXT = 2000
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")


@dataclass
class FormErrors:
    """Field id -> message, in the order the fields appear."""

    items: dict[str, str] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        """Record the first problem with a field."""
        self.items.setdefault(field_id, message)

    def __bool__(self) -> bool:
        return bool(self.items)


def nhs_number_ok(value: str) -> bool:
    """A 10-digit NHS number whose last digit is its modulus 11 check digit."""
    if not re.fullmatch(r"\d{10}", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(value[9])


@dataclass
class SubjectInput:
    """One person in the household as typed (kept as text so the form can be shown again)."""

    role: str = "child"
    given_name: str = ""
    family_name: str = ""
    dob_day: str = ""
    dob_month: str = ""
    dob_year: str = ""
    sex: str = "unknown"
    postcode: str = ""
    address: str = ""
    nhs_number: str = ""
    upn: str = ""
    #: the broker's id for a person already in the referral; empty for a new one
    subject_id: str = ""

    @property
    def date_of_birth(self) -> str:
        """ISO date of birth, or "" when not given (call after validation)."""
        if not (self.dob_day or self.dob_month or self.dob_year):
            return ""
        return date(int(self.dob_year), int(self.dob_month), int(self.dob_day)).isoformat()

    def identifiers(self) -> dict[str, str]:
        """The identifiers as the broker's API names them (empty ones left out)."""
        values = {
            "given_name": self.given_name, "family_name": self.family_name,
            "date_of_birth": self.date_of_birth, "sex": self.sex,
            "postcode": self.postcode.upper(), "address": self.address,
            "nhs_number": self.nhs_number.replace(" ", ""), "upn": self.upn.upper(),
        }
        return {k: v for k, v in values.items() if v}


@dataclass
class ReferralInput:
    """The new-referral form: where it came from, why, the RAG, and the household."""

    source: str = ""
    reason: str = ""
    rag: str = ""
    subjects: list[SubjectInput] = field(default_factory=lambda: [SubjectInput()])


_SUBJECT_FIELDS = tuple(SubjectInput.__dataclass_fields__)


def parse_referral_form(form: Mapping[str, str]) -> ReferralInput:
    """Read the posted form (subjects are `s<N>-<field>`), keeping what was typed."""
    count = min(_int(form.get("subject_count", "1"), 1), MAX_SUBJECTS)
    subjects = []
    for i in range(count):
        values = {f: form.get(f"s{i}-{f}", "").strip()[:MAX_TEXT] for f in _SUBJECT_FIELDS}
        subjects.append(SubjectInput(**values))
    return ReferralInput(source=form.get("source", "").strip(),
                         reason=form.get("reason", "").strip()[:MAX_TEXT],
                         rag=form.get("rag", "").strip(), subjects=subjects)


def _int(text: str, default: int) -> int:
    return int(text) if text.isdigit() else default


def validate_referral(data: ReferralInput, today: date) -> FormErrors:
    """Every problem with the form, field by field."""
    errors = FormErrors()
    if data.source not in {s.value for s in ReferralSource}:
        errors.add("source", "Select who made the referral")
    if not data.reason:
        errors.add("reason", "Enter why the referral was made")
    if data.rag not in {r.value for r in Rag}:
        errors.add("rag", "Select a RAG rating: red, amber or green")
    if not data.subjects:
        errors.add("s0-given_name", "Add the child the referral is about")
    if data.subjects and data.subjects[0].role != SubjectRole.CHILD:
        errors.add("s0-role", "The first person must be the child the referral is about")
    for i, subject in enumerate(data.subjects):
        validate_subject(subject, f"s{i}-", i + 1, today, errors)
    return errors


def validate_subject(s: SubjectInput, prefix: str, number: int, today: date,
                     errors: FormErrors) -> None:
    """Problems with one person, each naming the person's number in the household."""
    who = f"person {number}"
    if s.role not in {r.value for r in SubjectRole}:
        errors.add(f"{prefix}role", f"Select the role of {who}: "
                   + ", ".join(r.value.replace("_", " ") for r in SubjectRole))
    if s.sex not in SEXES:
        errors.add(f"{prefix}sex", f"Select the sex of {who}: female, male or unknown")
    if s.dob_day or s.dob_month or s.dob_year:
        try:
            born = date(int(s.dob_year), int(s.dob_month), int(s.dob_day))
        except ValueError:
            errors.add(f"{prefix}dob_day", f"Date of birth of {who} must be a real date, "
                       "for example 27 3 2015")
        else:
            if born > today:
                errors.add(f"{prefix}dob_day", f"Date of birth of {who} must be in the past")
            elif born.year < 1900:
                errors.add(f"{prefix}dob_day", f"Date of birth of {who} must be after 1900")
    nhs = s.nhs_number.replace(" ", "")
    if nhs and not nhs_number_ok(nhs):
        errors.add(f"{prefix}nhs_number", f"NHS number of {who} must be 10 digits with a valid "
                   "check digit")
    if s.upn and not stdnum_upn.is_valid(s.upn.upper()):
        errors.add(f"{prefix}upn", f"UPN of {who} must be a letter, 12 digits and a valid check")
    if s.postcode and not _POSTCODE.fullmatch(s.postcode.upper().strip()):
        errors.add(f"{prefix}postcode", f"Postcode of {who} must be a UK postcode, like SW1A 1AA")
    if not (s.given_name or s.family_name or nhs or s.upn):
        errors.add(f"{prefix}given_name", f"Enter a name, NHS number or UPN for {who}")


@dataclass
class LookupInput:
    """The lookup form: why the MASH asks and on what basis."""

    purpose: str = ""
    consent: str = ""
    consent_reason: str = ""
    consent_note: str = ""


def parse_lookup_form(form: Mapping[str, str]) -> LookupInput:
    """Read the posted lookup form."""
    return LookupInput(form.get("purpose", "").strip(), form.get("consent", "").strip(),
                       form.get("consent_reason", "").strip(),
                       form.get("consent_note", "").strip()[:MAX_TEXT])


def validate_lookup(data: LookupInput) -> FormErrors:
    """Problems with the lookup form."""
    errors = FormErrors()
    if data.purpose not in {p.value for p in Purpose}:
        errors.add("purpose", "Select the purpose of the lookup")
    if data.consent not in {c.value for c in ConsentState}:
        errors.add("consent", "Select where consent stands")
    elif data.consent != ConsentState.GIVEN:
        if data.consent_reason not in {r.value for r in ReasonCode}:
            errors.add("consent_reason", "Select why information is shared without consent")
        if not data.consent_note:
            errors.add("consent_note", "Explain why information is shared without consent")
    return errors
