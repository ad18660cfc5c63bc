"""Properties that hold for ANY agreement, not just the shipped ones.

Agreements are generated directly as model objects (bypassing lint, as a
careless or hostile edit might), so these show the engine itself fails closed:
a sealed category, a moment outside the agreement's dates, a role outside the
vocabulary's requesting roles, or an unapproved agreement never yields a PERMIT.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mash.vocab import (
    AGENCY_CATEGORIES,
    GATEWAY_FOR_PURPOSE,
    REQUESTING_ROLES,
    Agency,
    ConsentState,
    Decision,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    Sensitivity,
    SubjectRole,
)
from policy import (
    SHIPPED_POLICY_DIR,
    Agreement,
    ApprovalState,
    ApprovalStatus,
    ConsentRule,
    PolicyEngine,
    PurposeTerms,
)
from policy.loader import load_agreements
from tests.policy_helpers import BASE

POLICE: Agreement = next(a for a in load_agreements(SHIPPED_POLICY_DIR)
                         if a.agency is Agency.POLICE)
HELD = AGENCY_CATEGORIES[Agency.POLICE]
APPROVED = ApprovalStatus(ApprovalState.APPROVED, ("a", "b"), (), 0)
START = datetime(2026, 1, 1, tzinfo=UTC)

PERMIT_ALL = (ConsentRule(frozenset(Rag), frozenset(ConsentState), None, Decision.PERMIT),)
rules = st.just(PERMIT_ALL) | st.lists(st.builds(
    ConsentRule,
    rag=st.frozensets(st.sampled_from(Rag), min_size=1),
    consent=st.frozensets(st.sampled_from(ConsentState), min_size=1),
    reasons=st.none() | st.frozensets(st.sampled_from(ReasonCode)),
    decision=st.sampled_from(Decision)), min_size=1, max_size=4).map(tuple)
# Biased towards agreements that share a lot, so the fail-closed checks are really exercised.
category_sets = st.just(frozenset(HELD)) | st.frozensets(st.sampled_from(HELD))


@st.composite
def agreements(draw: st.DrawFn) -> Agreement:
    sensitivity = {c: draw(st.sampled_from(Sensitivity)) for c in HELD}
    purposes = {}
    for purpose in draw(st.frozensets(st.sampled_from(Purpose), min_size=1)):
        subjects = {role: draw(category_sets) for role in SubjectRole}
        purposes[purpose] = PurposeTerms(purpose, GATEWAY_FOR_PURPOSE[purpose], subjects,
                                         draw(rules))
    days = draw(st.just(365) | st.integers(min_value=1, max_value=400))
    return replace(
        POLICE, sensitivity=sensitivity, purposes=purposes,
        may_request=draw(st.just(frozenset(Role)) | st.frozensets(st.sampled_from(Role))),
        sensitive_release_rag=draw(st.frozensets(st.sampled_from(Rag))),
        sensitive_release_consent=draw(st.frozensets(st.sampled_from(ConsentState))),
        in_force_from=START, in_force_until=START + timedelta(days=days))


asks = st.fixed_dictionaries({
    "purpose": st.just(Purpose.CHILD_PROTECTION_ENQUIRY) | st.sampled_from(Purpose),
    "rag": st.sampled_from(Rag), "consent_state": st.sampled_from(ConsentState),
    "consent_reason": st.none() | st.sampled_from(ReasonCode),
    "requester_role": st.sampled_from(Role), "subject_role": st.sampled_from(SubjectRole),
    "at": (st.integers(min_value=0, max_value=360) | st.integers(min_value=-30, max_value=500)
           ).map(lambda d: START + timedelta(days=d)),
    "categories": st.none() | st.lists(st.sampled_from(HELD), max_size=6).map(tuple),
})


@settings(max_examples=200, deadline=None)
@given(agreements(), asks)
def test_any_agreement_fails_closed(agreement: Agreement, ask: dict[str, object]) -> None:
    engine = PolicyEngine.from_agreements([(agreement, APPROVED)])
    request = replace(BASE, **ask)  # type: ignore[arg-type]
    request = replace(request, statutory_gateway=GATEWAY_FOR_PURPOSE[request.purpose])
    d = engine.evaluate(request)
    for category in d.permitted_categories:
        assert agreement.sensitivity_of(category) is not Sensitivity.SEALED
    if d.permitted_categories:
        assert agreement.in_force_at(request.at)
        assert request.requester_role in REQUESTING_ROLES & agreement.may_request
    for state in (ApprovalState.UNAPPROVED, ApprovalState.ALTERED):
        closed = PolicyEngine.from_agreements([(agreement, ApprovalStatus(state, (), (), 0))])
        assert closed.evaluate(request).decision is Decision.DENY
