"""Validate a staff `LookupRequest` before anything else happens (bad input: a clear error)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.gb import nhs

from mash.errors import InvalidRequest
from mash.subject_age import RoleCorrection, supported_role
from mash.v1 import mash_pb2 as pb
from mash.vocab import (
    Agency,
    Category,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    StatutoryGateway,
    SubjectRole,
    UnknownVocabulary,
    parse,
)

REFERRAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_SUBJECTS = 20
MAX_FIELD = 200


@dataclass(frozen=True)
class LookupInput:
    """A lookup request whose fields are all known vocabulary and within limits."""

    request: pb.LookupRequest
    rag: Rag
    purpose: Purpose
    gateway: StatutoryGateway
    consent_state: ConsentState
    consent_reason: ReasonCode | None
    subject_roles: tuple[SubjectRole, ...]
    agencies: tuple[Agency, ...]  # empty: all configured
    categories: frozenset[Category]  # empty: all that policy permits
    #: subjects whose given date of birth contradicts their claimed role (already corrected
    #: in `request` and `subject_roles`)
    role_corrections: tuple[RoleCorrection, ...] = ()


def _date_of_birth(text: str, where: str, today: date) -> date:
    """A real calendar date, not after `today` (30 February and the future are refused)."""
    if not DATE.match(text):
        raise InvalidRequest(f"{where}.date_of_birth must be YYYY-MM-DD")
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{where}.date_of_birth is not a real date") from None
    if born > today:
        raise InvalidRequest(f"{where}.date_of_birth is in the future")
    return born


def _check_identifiers(i: pb.Identifiers, where: str, today: date) -> date | None:
    """Check one subject's identifiers; returns their date of birth when given."""
    for name in ("given_name", "family_name", "date_of_birth", "sex", "postcode", "address",
                 "nhs_number", "upn"):
        if len(getattr(i, name)) > MAX_FIELD:
            raise InvalidRequest(f"{where}.{name} is longer than {MAX_FIELD} characters")
    if len(i.other_names) > 10 or any(len(n) > MAX_FIELD for n in i.other_names):
        raise InvalidRequest(f"{where}.other_names: at most 10 names of {MAX_FIELD} characters")
    if i.nhs_number and not nhs.is_valid(i.nhs_number):
        # A mistyped number would be matched (or not) against the wrong person.
        raise InvalidRequest(f"{where}.nhs_number is not a valid NHS number (check digit)")
    if not (i.family_name or i.nhs_number or i.upn):
        raise InvalidRequest(f"{where}: a family name, NHS number or UPN is needed")
    return _date_of_birth(i.date_of_birth, where, today) if i.date_of_birth else None


def parse_lookup(req: pb.LookupRequest, today: date) -> LookupInput:
    """Validate `req` as of `today`; raise InvalidRequest with a short message naming the field.

    A subject whose date of birth contradicts their role (an adult named as a `child`, a
    minor as an `adult_at_risk`) is given the role the date supports, in a copy of the
    request, and the correction is returned for the audit log.
    """
    if not REFERRAL_ID.match(req.referral_id):
        raise InvalidRequest("referral_id: 1-64 letters, digits, '.', '_' or '-'")
    try:
        rag = parse(Rag, req.rag)
        purpose = parse(Purpose, req.purpose)
        gateway = parse(StatutoryGateway, req.statutory_gateway)
        consent_state = parse(ConsentState, req.consent.state)
        reason = parse(ReasonCode, req.consent.reason) if req.consent.reason else None
        agencies = tuple(parse(Agency, a) for a in req.agencies)
        categories = frozenset(parse(Category, c) for c in req.categories)
        roles = tuple(parse(SubjectRole, s.role) for s in req.subjects)
        if req.break_glass.reason:
            parse(ReasonCode, req.break_glass.reason)
    except UnknownVocabulary as exc:
        raise InvalidRequest(str(exc)) from None
    if len(req.consent.note) > 2000 or len(req.break_glass.justification) > 2000:
        raise InvalidRequest("free text is limited to 2000 characters")
    if not 0 < len(req.subjects) <= MAX_SUBJECTS:
        raise InvalidRequest(f"a lookup names 1 to {MAX_SUBJECTS} subjects")
    ids = [s.subject_id for s in req.subjects]
    if len(set(ids)) != len(ids) or not all(REFERRAL_ID.match(i) for i in ids):
        raise InvalidRequest("subject_id values must be unique short ids")
    corrections = []
    for n, s in enumerate(req.subjects):
        born = _check_identifiers(s.identifiers, f"subjects[{n}]", today)
        if born is not None and (role := supported_role(roles[n], born, today)) != roles[n]:
            corrections.append(RoleCorrection(s.subject_id, roles[n], role))
    if corrections:
        fixed = {c.subject_id: c.supported for c in corrections}
        corrected = pb.LookupRequest()
        corrected.CopyFrom(req)
        for s in corrected.subjects:
            s.role = fixed.get(s.subject_id, s.role)
        req = corrected
        roles = tuple(parse(SubjectRole, s.role) for s in req.subjects)
    return LookupInput(req, rag, purpose, gateway, consent_state, reason, roles, agencies,
                       categories, tuple(corrections))
