"""Turn one agency's outcome into its part of the summary -- verified, or reported as not."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from audit.events import AuditEvent, EventKind
from broker.fanout import CallOutcome
from broker.planning import AgencyPlan
from certs.envelopes import open_disclosure
from certs.errors import SignatureError
from certs.reloading import TrustSource
from mash.clock import Clock
from mash.logs import get_logger
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, Decision, MatchBand

log = get_logger("broker")


def result_for(plan: AgencyPlan, outcome: CallOutcome | None, trust: TrustSource,
               clock: Clock, base: AuditEvent,
               ) -> tuple[pb.AgencyResult, AuditEvent | None]:
    """The agency's result for the summary and the audit event recording what came back."""
    r = pb.AgencyResult(
        agency=plan.agency, decision=plan.decision.decision,
        agreement_id=plan.decision.agreement_id or "",
        agreement_version=plan.decision.agreement_version or "",
    )
    r.reasons.extend(pb.Reason(code=x.code, text=x.text) for x in plan.decision.reasons)
    if plan.query is None or outcome is None:
        if plan.review is not None:
            r.status = AgencyStatus.PENDING_REVIEW
            r.reasons.append(pb.Reason(
                code="review_required",
                text=f"held for a team manager's review ({plan.review.review_id})"))
        else:
            r.status = (AgencyStatus.PENDING_REVIEW if plan.decision.decision == Decision.REVIEW
                        else AgencyStatus.WITHHELD)
        return r, None
    event = replace(base, agency=str(plan.agency), query_id=plan.query.query_id,
                    query_hash=plan.sha256.hex())
    r.latency_ms = round(outcome.latency_ms, 2)
    if outcome.response is None:
        r.status = outcome.status
        r.reasons.append(pb.Reason(code=outcome.reason_code, text=outcome.reason_text))
        return r, replace(event, kind=EventKind.DISCLOSURE_REJECTED, outcome=str(outcome.status),
                          reasons=(outcome.reason_code,), latency_ms=r.latency_ms)
    return apply_response(r, plan.agency, plan.query, plan.sha256, outcome.response, trust,
                          clock, event)


def apply_response(r: pb.AgencyResult, agency: Agency, query: pb.Query, query_sha256: bytes,
                   response: pb.SignedDisclosure, trust: TrustSource, clock: Clock,
                   event: AuditEvent) -> tuple[pb.AgencyResult, AuditEvent]:
    """Verify a signed answer to `query` and fill `r` from it (or report it rejected).

    Used for an answer that came back on the lookup and for a researcher's answer
    collected later: either is shown only once it verifies against the agency's pinned
    key and answers exactly the query that was sent.
    """
    try:
        verified = open_disclosure(response, trust, agency=agency, query=query,
                                   query_sha256=query_sha256, at=clock())
    except SignatureError as exc:
        code = exc.code
        r.status = AgencyStatus.REJECTED
        r.reasons.append(pb.Reason(
            code=code, text="the agency's answer failed verification and was dropped"))
        log.warning("disclosure_rejected", agency=str(agency), code=code)
        return r, replace(
            event, kind=EventKind.DISCLOSURE_REJECTED, signer_key_id=response.key_id,
            outcome="rejected", reasons=(code,), latency_ms=r.latency_ms,
            disclosure_hash=hashlib.sha256(response.disclosure).hexdigest())
    d = verified.disclosure
    permitted = set(query.categories)
    for s in d.subjects:
        # Defence in depth: never show a category the query did not ask for.
        kept = [f for f in s.facts if f.category in permitted]
        del s.facts[:]
        s.facts.extend(kept)
    r.status = d.status
    r.data_as_of = d.data_as_of
    r.policy_version = d.policy_version
    r.subjects.extend(d.subjects)
    seen = {(x.code, x.text) for x in r.reasons}
    r.reasons.extend(x for x in d.reasons if (x.code, x.text) not in seen)
    r.signer_key_id = verified.key_id
    r.disclosure_sha256 = verified.sha256.hex()
    if d.agreement_version:
        r.agreement_id, r.agreement_version = d.agreement_id, d.agreement_version
    return r, replace(
        event, kind=EventKind.DISCLOSURE_VERIFIED, disclosure_hash=verified.sha256.hex(),
        signer_key_id=verified.key_id, outcome=d.status, decision=d.decision,
        categories=tuple(sorted({f.category for s in d.subjects for f in s.facts})),
        match_band=",".join(f"{s.subject_id}:{s.match_band}" for s in d.subjects),
        agreement_id=d.agreement_id, agreement_version=d.agreement_version,
        latency_ms=r.latency_ms, detail={SUBJECT_OUTCOMES: subject_outcomes(d)})


#: Audit detail key: what the agency's answer meant for each subject (the SAR reads it).
SUBJECT_OUTCOMES = "subject_outcomes"


def _subject_outcome(status: str, s: pb.SubjectResult) -> str:
    if status in (AgencyStatus.POLICY_MISMATCH, AgencyStatus.UNAVAILABLE):
        return "failed"
    if status == AgencyStatus.PENDING_RESEARCH:
        return "pending_research"  # the researcher's answer, collected later, says more
    if s.match_band in (MatchBand.CERTAIN, MatchBand.HIGH):
        return "disclosed" if s.facts else "matched_nothing_shared"
    if s.match_band == MatchBand.POSSIBLE:
        return "possible_match"
    return "not_known" if s.permitted_categories else "withheld"


def subject_outcomes(d: pb.Disclosure) -> str:
    """`subject_id=outcome=category+category;...`: per subject, what came back about them.

    Categories are those of the facts shown (already cut to what the query asked for);
    ids and codes only, never record content.
    """
    return ";".join(
        f"{s.subject_id}={_subject_outcome(d.status, s)}="
        + "+".join(sorted({f.category for f in s.facts}))
        for s in d.subjects)
