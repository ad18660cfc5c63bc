"""The IG lead's API messages built from the audit and policy parts' own types.

Pure conversions (no I/O): an access-log entry, a review item, an agreement and a draft's
effect as `mash.v1` governance messages, and a person's identifiers checked and turned into
the log's keyed pseudonyms.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from stdnum.exceptions import ValidationError
from stdnum.gb import nhs

from audit.pseudonyms import Pseudonymiser
from audit.reading import AuditRecord, describe
from audit.review import ReviewItem
from broker.referral_input import FieldErrors
from mash.v1 import governance_pb2 as gpb
from policy.agreement import Agreement, PurposeTerms
from policy.approval import ApprovalState, ApprovalStatus
from policy.drafts import DraftEffect

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_NAME = 100


def entry(record: AuditRecord) -> gpb.AccessLogEntry:
    """One log entry as the IG lead reads it: ids, codes and one readable line."""
    e = record.event
    return gpb.AccessLogEntry(
        log=record.log, entry_id=record.entry_id, ts=record.ts, kind=str(e.kind),
        referral_id=e.referral_id or "", lookup_id=e.lookup_id or "",
        actor_id=e.actor_id or "", actor_role=e.actor_role or "", actor_org=e.actor_org or "",
        agency=str(e.agency or ""), decision=str(e.decision or ""), outcome=e.outcome or "",
        text=describe(record))


def review(item: ReviewItem, sign_off: AuditRecord | None = None) -> gpb.BreakGlassReview:
    """A review item, with its sign-off when it has one."""
    out = gpb.BreakGlassReview(ref=item.ref, why=item.why, entry=entry(item.record))
    if sign_off is not None:
        e = sign_off.event
        out.finding = e.outcome or ""
        out.reviewed_by = e.actor_id or ""
        out.reviewed_at = sign_off.ts
        out.note = str((e.detail or {}).get("finding", ""))
    return out


def person_pseudonyms(errors: FieldErrors, field: str, person: gpb.Person,
                      pseudonyms: Pseudonymiser, *, required: bool
                      ) -> tuple[tuple[str, ...], list[str]]:
    """The person's keyed pseudonyms and which identifiers gave them (problems into `errors`).

    An NHS number alone, or a given and family name with the date of birth; both may be given.
    """
    nhs_number = nhs.compact(person.nhs_number.strip())
    given, family = " ".join(person.given_name.split()), " ".join(person.family_name.split())
    dob = person.date_of_birth.strip()
    if nhs_number:
        try:
            nhs.validate(nhs_number)
        except ValidationError:
            errors.add(f"{field}.nhs_number", "an NHS number is 10 digits with a valid check "
                                              "digit (mod 11)")
    named = bool(given or family or dob)
    if named:
        if not (given and family):
            errors.add(f"{field}.given_name", "give the given and family name with the date of "
                                              "birth")
        if len(given) > MAX_NAME or len(family) > MAX_NAME:
            errors.add(f"{field}.family_name", f"at most {MAX_NAME} characters")
        if not dob:
            errors.add(f"{field}.date_of_birth", "give the date of birth with the name "
                                                 "(YYYY-MM-DD)")
        elif not ISO_DATE.match(dob) or not _real_date(dob):
            errors.add(f"{field}.date_of_birth", f"{dob!r} is not a date like 2013-08-09")
    if required and not (nhs_number or named):
        errors.add(field, "name the person: an NHS number, or a name with the date of birth")
    if errors.items:
        return (), []
    out: list[str] = []
    used: list[str] = []
    if nhs_number and (p := pseudonyms.nhs_number(nhs_number)):
        out.append(p)
        used.append("NHS number")
    if named and (p := pseudonyms.name_and_dob(given, family, dob)):
        out.append(p)
        used.append("name and date of birth")
    return tuple(out), used


def _real_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def agreement(a: Agreement, approval: ApprovalStatus | None, *, applied: bool
              ) -> gpb.AgreementView:
    """An agreement in plain terms, with its approval standing."""
    state = approval.state if approval else ApprovalState.UNAPPROVED
    return gpb.AgreementView(
        agreement_id=a.id, title=a.title, mash_id=a.mash_id, agency=str(a.agency),
        version=a.sha256, in_force_from=a.in_force_from.date().isoformat(),
        last_day_in_force=(a.in_force_until - timedelta(days=1)).date().isoformat(),
        review_date=a.review_date.isoformat(),
        statutory_gateways=sorted(str(g) for g in a.statutory_gateways),
        approvers_named=list(a.approvers),
        approved_by=list(approval.approvers) if approval else [],
        approval=str(state), applied=applied,
        purposes=[_purpose(t) for _, t in sorted(a.purposes.items(), key=lambda kv: str(kv[0]))],
        lawful_basis=str(a.lawful_basis),
        disclosed_summary_days=a.retention.disclosed_summary_days,
        may_request=sorted(str(r) for r in a.may_request), owner=a.owner)


def _purpose(t: PurposeTerms) -> gpb.PurposeView:
    return gpb.PurposeView(
        purpose=str(t.purpose), statutory_gateway=str(t.gateway),
        categories=[gpb.RoleCategories(subject_role=str(role),
                                       categories=sorted(str(c) for c in cats))
                    for role, cats in sorted(t.subject_categories.items(),
                                             key=lambda kv: str(kv[0])) if cats],
        consent_rules=[
            f"{r.decision} at {'/'.join(sorted(str(x) for x in r.rag))} when consent is "
            f"{' or '.join(sorted(str(x) for x in r.consent))}"
            + (f" with reason {' or '.join(sorted(str(x) for x in r.reasons))}"
               if r.reasons else "")
            + (f" ({r.note})" if r.note else "")
            for r in t.consent_rules])


def draft(effect: DraftEffect) -> gpb.DraftView:
    """A draft awaiting approval and what approving it would change."""
    current = effect.in_force
    return gpb.DraftView(
        draft=agreement(effect.draft, effect.approval, applied=False), source=effect.source,
        replaces_agreement_id=current.id if current else "",
        replaces_version=current.sha256 if current else "",
        changes=[gpb.DraftChange(term=c.term, added=list(c.added), removed=list(c.removed),
                                 before=c.before, after=c.after) for c in effect.changes])
