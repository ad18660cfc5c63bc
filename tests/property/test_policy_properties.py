"""Properties of the engine over the whole vocabulary space (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mash.home import Home
from mash.vocab import (
    REQUESTING_ROLES,
    Agency,
    Category,
    ConsentState,
    Decision,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    Sensitivity,
    StatutoryGateway,
    SubjectRole,
)
from policy import (
    SHIPPED_POLICY_DIR,
    ApprovalState,
    BreakGlass,
    PolicyEngine,
    PolicyRequest,
    load_engine,
)
from tests.policy_helpers import approved_engine

ENGINE = PolicyEngine.load_assuming_approval(SHIPPED_POLICY_DIR)
UNAPPROVED = PolicyEngine.load_assuming_approval(SHIPPED_POLICY_DIR, ApprovalState.UNAPPROVED)
ALTERED = PolicyEngine.load_assuming_approval(SHIPPED_POLICY_DIR, ApprovalState.ALTERED)

times = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31),
                     timezones=st.just(UTC))
glass = st.none() | st.builds(
    BreakGlass, st.sampled_from(ReasonCode),
    st.just("Child seen with untreated injuries at 16:40") | st.text(max_size=40))
requests = st.builds(
    PolicyRequest,
    agency=st.sampled_from(Agency), purpose=st.sampled_from(Purpose),
    statutory_gateway=st.sampled_from(StatutoryGateway), rag=st.sampled_from(Rag),
    consent_state=st.sampled_from(ConsentState),
    consent_reason=st.none() | st.sampled_from(ReasonCode),
    requester_role=st.sampled_from(Role), requester_id=st.text(min_size=1, max_size=8),
    subject_role=st.sampled_from(SubjectRole), at=times,
    categories=st.none() | st.lists(st.sampled_from(Category), max_size=6).map(tuple),
    break_glass=glass,
    mash_id=st.sampled_from(["mash-demo", "mash-demo", "mash-other"]),
)
# Mostly in force, so the interesting rules get exercised.
in_force_requests = requests.map(lambda r: replace(
    r, at=datetime(2026, 11, 25, tzinfo=UTC) + (r.at - datetime(2027, 6, 1, tzinfo=UTC)) / 8,
    mash_id="mash-demo"))

PROFILE = settings(max_examples=300, deadline=None)


@PROFILE
@given(st.one_of(requests, in_force_requests))
def test_never_permits_a_sealed_category(request: PolicyRequest) -> None:
    d = ENGINE.evaluate(request)
    agreement = ENGINE.agreement_for(request.mash_id, request.agency, request.at)
    for category in d.permitted_categories:
        assert agreement is not None
        assert agreement.sensitivity_of(category) is not Sensitivity.SEALED


@PROFILE
@given(requests)
def test_never_permits_outside_the_agreement_period(request: PolicyRequest) -> None:
    agreement = ENGINE.agreement_for(request.mash_id, request.agency)
    if agreement is not None and agreement.in_force_at(request.at):
        return
    d = ENGINE.evaluate(request)
    assert d.decision is Decision.DENY and d.permitted_categories == ()


@PROFILE
@given(in_force_requests, st.sampled_from(sorted(set(Role) - REQUESTING_ROLES)))
def test_never_permits_a_non_requesting_role(request: PolicyRequest, role: Role) -> None:
    d = ENGINE.evaluate(replace(request, requester_role=role))
    assert d.decision is Decision.DENY and d.permitted_categories == ()


@PROFILE
@given(in_force_requests)
def test_unapproved_or_altered_never_permits(request: PolicyRequest) -> None:
    for engine in (UNAPPROVED, ALTERED):
        assert engine.evaluate(request).decision is Decision.DENY


@PROFILE
@given(in_force_requests)
def test_permits_only_agreed_categories_for_the_subject_role(request: PolicyRequest) -> None:
    d = ENGINE.evaluate(request)
    if not d.permitted_categories:
        return
    agreement = ENGINE.agreement_for(request.mash_id, request.agency, request.at)
    assert agreement is not None
    terms = agreement.purposes[request.purpose]
    assert request.statutory_gateway is terms.gateway
    listed = terms.subject_categories.get(request.subject_role, frozenset())
    assert set(d.permitted_categories) <= listed
    for category in d.permitted_categories:
        if agreement.sensitivity_of(category) is Sensitivity.SENSITIVE:
            assert request.rag is Rag.RED or request.consent_state is ConsentState.GIVEN


@PROFILE
@given(in_force_requests)
def test_overall_decision_follows_the_categories(request: PolicyRequest) -> None:
    d = ENGINE.evaluate(request)
    verdicts = set(d.categories.values())
    expected = (Decision.PERMIT if Decision.PERMIT in verdicts else
                Decision.REVIEW if Decision.REVIEW in verdicts else Decision.DENY)
    assert d.decision is expected


@PROFILE
@given(in_force_requests, glass)
def test_break_glass_only_turns_review_into_permit(request: PolicyRequest,
                                                   bg: BreakGlass | None) -> None:
    plain = ENGINE.evaluate(replace(request, break_glass=None))
    broken = ENGINE.evaluate(replace(request, break_glass=bg))
    for category, verdict in plain.categories.items():
        if verdict is Decision.DENY:
            assert broken.categories[category] is Decision.DENY
        elif verdict is Decision.PERMIT:
            assert broken.categories[category] is Decision.PERMIT
    if broken.break_glass_used:
        assert request.rag is Rag.RED and bg is not None
        assert broken.events == ("alert", "retrospective_review")
        assert broken.break_glass_until is not None
        assert broken.break_glass_until - request.at <= timedelta(hours=4)


@PROFILE
@given(requests)
def test_request_json_round_trips(request: PolicyRequest) -> None:
    assert PolicyRequest.from_json(request.to_json()) == request


@pytest.fixture(scope="module")
def real_engine(tmp_path_factory: pytest.TempPathFactory) -> PolicyEngine:
    return approved_engine(tmp_path_factory.mktemp("prop"))


@settings(max_examples=100, deadline=None)
@given(in_force_requests)
def test_signed_approvals_match_the_assumed_engine(real_engine: PolicyEngine,
                                                   request: PolicyRequest) -> None:
    assert real_engine.evaluate(request) == ENGINE.evaluate(request)


def test_no_home_no_permit(tmp_path: Path) -> None:
    engine = load_engine(Home.at(tmp_path))
    assert all(s is None or s.state is ApprovalState.UNAPPROVED
               for s in (engine.approval_of(a.id) for a in engine.agreements))
