"""Validate what staff send to the referral API, collecting every problem by field.

Each problem names the field by its path in the request
(`subjects[1].identifiers.nhs_number`) and, for a vocabulary, lists the valid
values, so a form can show all of them at once. Names are accepted in any
script (only control characters are refused); NHS numbers must pass their
mod 11 check digit (`stdnum.gb.nhs`), UPNs their check letter
(`stdnum.gb.upn`); dates are ISO 8601 and never in the future by the injected
clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from stdnum.exceptions import ValidationError
from stdnum.gb import nhs, upn

from broker.referral_record import ReferralSubject
from mash.clock import LONDON
from mash.errors import InvalidRequest
from mash.v1 import mash_pb2 as pb
from mash.vocab import SubjectRole

REFERRAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_SUBJECTS = 20
MAX_NAME = 200
MAX_TEXT = 2000

#: The sex vocabulary of a subject's identifiers (as agencies record it).
SEXES = ("female", "male", "unknown")

#: Identifiers any one of which lets an agency look a subject up.
KEY_IDENTIFIERS = ("family_name", "nhs_number", "upn")

E = TypeVar("E", bound=StrEnum)


class FieldErrors:
    """Problems found in one request, each `field: problem`; raised together."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, problem: str) -> None:
        """Record that `field` has `problem`."""
        self.items.append(f"{field}: {problem}")

    def raise_any(self) -> None:
        """Raise `InvalidRequest` listing every problem, if there is one."""
        if self.items:
            raise InvalidRequest("; ".join(self.items))

    def vocab(self, field: str, enum: type[E], value: str, *,
              allow_empty: bool = False) -> E | None:
        """`value` as a member of `enum`, or None with the valid values recorded."""
        if not value and allow_empty:
            return None
        try:
            return enum(value)
        except ValueError:
            shown = repr(value) if value else "missing"
            self.add(field, f"{shown} is not one of {', '.join(m.value for m in enum)}")
            return None

    def text(self, field: str, value: str, *, required: bool, limit: int = MAX_TEXT) -> str:
        """Free text: trimmed, within `limit`, no control characters but newlines."""
        value = unicodedata.normalize("NFC", value.strip())
        if required and not value:
            self.add(field, "must not be empty")
        elif len(value) > limit:
            self.add(field, f"at most {limit} characters")
        elif any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
            self.add(field, "contains control characters")
        return value


def aware_time(errors: FieldErrors, field: str, value: str, now: datetime, *,
               not_future: bool) -> datetime | None:
    """An RFC 3339 time with a UTC offset (optionally not after `now`)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.add(field, f"{value!r} is not an ISO 8601 time such as "
                          f"{now.replace(microsecond=0).isoformat()}")
        return None
    if moment.tzinfo is None:
        errors.add(field, "give a UTC offset, e.g. +00:00")
        return None
    if not_future and moment > now:
        errors.add(field, "must not be in the future")
        return None
    return moment


def _name(errors: FieldErrors, field: str, value: str) -> str:
    """A name in any script: letters of any alphabet, marks, spaces, hyphens, apostrophes."""
    value = unicodedata.normalize("NFC", " ".join(value.split()))
    if len(value) > MAX_NAME:
        errors.add(field, f"at most {MAX_NAME} characters")
    elif any(unicodedata.category(c)[0] == "C" for c in value):
        errors.add(field, "contains control or invisible characters")
    return value


def _date_of_birth(errors: FieldErrors, field: str, value: str, today: date) -> str:
    if not ISO_DATE.match(value):
        errors.add(field, f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)")
        return value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors.add(field, f"{value!r} is not a real date")
        return value
    if day > today:
        errors.add(field, f"{value} is in the future (today is {today.isoformat()})")
    elif day.year < 1900:
        errors.add(field, "must be 1900 or later")
    return value


def _nhs_number(errors: FieldErrors, field: str, value: str) -> str:
    compact = nhs.compact(value)
    if not compact.isdigit() or len(compact) != 10:
        errors.add(field, "an NHS number is 10 digits")
    else:
        try:
            nhs.validate(compact)
        except ValidationError:
            errors.add(field, "the check digit does not match (mod 11): mistyped?")
    return compact


def _upn(errors: FieldErrors, field: str, value: str) -> str:
    compact = upn.compact(value)
    try:
        upn.validate(compact)
    except ValidationError as exc:
        if len(compact) != 13:
            errors.add(field, "a UPN is 13 characters: a check letter, 11 digits and a "
                              "digit or letter")
        elif "checksum" in type(exc).__name__.lower():
            errors.add(field, "the check letter does not match: mistyped?")
        else:
            errors.add(field, "not a valid UPN (check letter, LA, establishment, year, serial)")
    return compact


def identifiers(errors: FieldErrors, where: str, ids: pb.Identifiers,
                today: date) -> dict[str, str]:
    """The subject's identifiers, validated, as the store keeps them."""
    out: dict[str, str] = {}
    for name in ("given_name", "family_name"):
        value = getattr(ids, name)
        if value.strip():
            out[name] = _name(errors, f"{where}.{name}", value)
    other = [_name(errors, f"{where}.other_names[{i}]", n)
             for i, n in enumerate(ids.other_names) if n.strip()]
    if len(other) > 10:
        errors.add(f"{where}.other_names", "at most 10 names")
    if any(";" in n for n in other):
        errors.add(f"{where}.other_names", "a name must not contain ';'")
    if other:
        out["other_names"] = ";".join(other)
    if ids.date_of_birth:
        out["date_of_birth"] = _date_of_birth(errors, f"{where}.date_of_birth",
                                              ids.date_of_birth.strip(), today)
    if ids.sex:
        sex = ids.sex.strip().lower()
        if sex not in SEXES:
            errors.add(f"{where}.sex", f"{ids.sex!r} is not one of {', '.join(SEXES)}")
        out["sex"] = sex
    for name in ("postcode", "address"):
        value = getattr(ids, name).strip()
        if value:
            out[name] = errors.text(f"{where}.{name}", value, required=False, limit=MAX_NAME)
    if ids.postcode.strip():
        out["postcode"] = " ".join(out["postcode"].upper().split())
    if ids.nhs_number.strip():
        out["nhs_number"] = _nhs_number(errors, f"{where}.nhs_number", ids.nhs_number)
    if ids.upn.strip():
        out["upn"] = _upn(errors, f"{where}.upn", ids.upn)
    if not any(out.get(k) for k in KEY_IDENTIFIERS):
        errors.add(f"{where}.identifiers",
                   f"give at least one identifier an agency can search by: "
                   f"{', '.join(KEY_IDENTIFIERS)}")
    return out


def subjects(errors: FieldErrors, field: str, given: Sequence[pb.Subject], today: date, *,
             taken: Iterable[str] = (), correctable: Iterable[str] = (),
             index_from: int = 0) -> list[ReferralSubject]:
    """Validated subjects; ids are made per role (`child-2`) where none is given.

    An id in `taken` is refused unless it is `correctable` (a correction of that
    subject); an id given twice in one request is refused.
    """
    used = set(taken)
    may_correct = set(correctable)
    seen: set[str] = set()
    out: list[ReferralSubject] = []
    for n, s in enumerate(given, start=index_from):
        where = f"{field}[{n}]"
        role = errors.vocab(f"{where}.role", SubjectRole, s.role)
        ids = identifiers(errors, f"{where}.identifiers", s.identifiers, today)
        subject_id = s.subject_id.strip()
        if subject_id and not REFERRAL_ID.match(subject_id):
            errors.add(f"{where}.subject_id", "1-64 letters, digits, '.', '_' or '-'")
            continue
        if role is None:
            continue
        if not subject_id:
            count = 1
            while f"{role.value}-{count}" in used:
                count += 1
            subject_id = f"{role.value}-{count}"
        elif subject_id in seen or (subject_id in used and subject_id not in may_correct):
            errors.add(f"{where}.subject_id", f"{subject_id} is used twice")
            continue
        used.add(subject_id)
        seen.add(subject_id)
        out.append(ReferralSubject(subject_id, role, ids))
    return out


def referral_id(errors: FieldErrors, value: str, *, required: bool = True) -> str:
    """A referral id (letters, digits, '.', '_', '-'; at most 64)."""
    value = value.strip()
    if not value:
        if required:
            errors.add("referral_id", "must not be empty")
        return value
    if not REFERRAL_ID.match(value):
        errors.add("referral_id", "1-64 letters, digits, '.', '_' or '-'")
    return value


def require_id(value: str) -> str:
    """The referral id of a request, or InvalidRequest naming the field."""
    errors = FieldErrors()
    rid = referral_id(errors, value)
    errors.raise_any()
    return rid


def today_in_england(now: datetime) -> date:
    """The date in England at `now` (dates of birth are judged against it)."""
    return now.astimezone(LONDON).date()


__all__ = ["FieldErrors", "KEY_IDENTIFIERS", "SEXES", "aware_time", "identifiers",
           "referral_id", "require_id", "subjects", "today_in_england"]
