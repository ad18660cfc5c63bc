"""The engine applies the shipped agreements: one test (at least) per principle of docs/policy-guide.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from mash.home import Home
from mash.vocab import (
    Agency,
    Category,
    ConsentState,
    Decision,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    StatutoryGateway,
    SubjectRole,
)
from policy import BreakGlass, PolicyEngine, PolicyReason, load_engine
from tests.policy_helpers import NOW, approved_engine, copy_shipped, request

pytestmark = pytest.mark.clock_sensitive

S17 = StatutoryGateway.CHILDREN_ACT_1989_S17
S42 = StatutoryGateway.CARE_ACT_2014_S42
S10 = StatutoryGateway.CHILDREN_ACT_2004_S10


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> PolicyEngine:
    return approved_engine(tmp_path_factory.mktemp("policy"))


def codes(decision: object) -> set[str]:
    return {r.code for r in decision.reasons}  # type: ignore[attr-defined]


def test_issue_example_request_is_permitted(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(categories=(Category.DOMESTIC_ABUSE_INCIDENTS,)))
    assert d.to_json()["decision"] == "PERMIT"
    assert d.to_json()["categories"] == {"domestic_abuse_incidents": "PERMIT"}
    agreement = engine.agreement_for("mash-demo", Agency.POLICE)
    assert agreement is not None
    assert d.agreement_id == agreement.id and d.agreement_version == agreement.sha256


# --- principle 1: deny by default

def test_p1_no_agreement_for_another_mash(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(mash_id="mash-elsewhere"))
    assert d.decision is Decision.DENY and codes(d) == {PolicyReason.NO_AGREEMENT}
    assert d.permitted_categories == ()


def test_p1_not_yet_in_force_and_expired(engine: PolicyEngine) -> None:
    early = engine.evaluate(request(at=NOW.replace(year=2026, month=3, day=31)))
    late = engine.evaluate(request(at=NOW.replace(year=2028, month=4, day=1)))
    assert early.decision is Decision.DENY and codes(early) == {PolicyReason.AGREEMENT_NOT_IN_FORCE}
    assert late.decision is Decision.DENY and codes(late) == {PolicyReason.AGREEMENT_EXPIRED}


def test_p1_last_day_is_in_force(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(at=NOW.replace(year=2028, month=3, day=31, hour=22)))
    assert d.decision is Decision.PERMIT


def test_p1_unapproved_agreements_deny_everything(tmp_path: Path) -> None:
    engine = load_engine(Home.at(tmp_path / "fresh-home"))
    d = engine.evaluate(request())
    assert d.decision is Decision.DENY and codes(d) == {PolicyReason.AGREEMENT_UNAPPROVED}


def test_p1_altered_after_approval_denies(tmp_path: Path) -> None:
    policy_dir = copy_shipped(tmp_path)
    home = Home.at(tmp_path / "home")
    approved_engine(tmp_path, policy_dir)  # approves into tmp_path/home
    police = policy_dir / "police.toml"
    police.write_text(police.read_text().replace('covert_sources = "sealed"',
                                                 'covert_sources = "standard"'))
    d = load_engine(home, policy_dir).evaluate(request())
    assert d.decision is Decision.DENY and codes(d) == {PolicyReason.AGREEMENT_ALTERED}
    # the other agencies' agreements are untouched and still apply
    other = load_engine(home, policy_dir).evaluate(request(
        agency=Agency.HOUSING, categories=None))
    assert other.decision is Decision.PERMIT


# --- principle 2: purpose listed, gateway matches

def test_p2_purpose_not_in_agreement(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(
        agency=Agency.EDUCATION, purpose=Purpose.CRIME_AND_DISORDER_PREVENTION,
        statutory_gateway=StatutoryGateway.CRIME_AND_DISORDER_ACT_1998_S115))
    assert d.decision is Decision.DENY and codes(d) == {PolicyReason.PURPOSE_NOT_AGREED}


def test_p2_gateway_must_match_purpose(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(statutory_gateway=S17))
    assert d.decision is Decision.DENY and codes(d) == {PolicyReason.GATEWAY_MISMATCH}


# --- principle 3: s47 at red

@pytest.mark.parametrize("state", [ConsentState.GIVEN, ConsentState.REFUSED,
                                   ConsentState.WITHDRAWN, ConsentState.NOT_SOUGHT])
def test_p3_red_s47_permits_whatever_the_consent(engine: PolicyEngine,
                                                 state: ConsentState) -> None:
    d = engine.evaluate(request(consent_state=state))
    assert d.decision is Decision.PERMIT


@pytest.mark.parametrize("state", [ConsentState.REFUSED, ConsentState.WITHDRAWN,
                                   ConsentState.NOT_SOUGHT])
def test_p3_red_s47_without_consent_needs_a_reason(engine: PolicyEngine,
                                                   state: ConsentState) -> None:
    d = engine.evaluate(request(consent_state=state, consent_reason=None))
    assert d.decision is Decision.DENY
    assert PolicyReason.CONSENT_REASON_MISSING in codes(d)


# --- principle 4: s17

def test_p4_child_in_need(engine: PolicyEngine) -> None:
    base = {"purpose": Purpose.CHILD_IN_NEED_ASSESSMENT, "statutory_gateway": S17,
            "rag": Rag.AMBER}
    given = engine.evaluate(request(**base, consent_state=ConsentState.GIVEN, consent_reason=None))
    refused = engine.evaluate(request(**base, consent_state=ConsentState.REFUSED))
    bare = engine.evaluate(request(**base, consent_state=ConsentState.WITHDRAWN,
                                   consent_reason=None))
    assert (given.decision, refused.decision, bare.decision) == (
        Decision.PERMIT, Decision.REVIEW, Decision.DENY)


# --- principle 5: early help is consensual

@pytest.mark.parametrize("state,expected", [
    (ConsentState.GIVEN, Decision.PERMIT), (ConsentState.REFUSED, Decision.DENY),
    (ConsentState.WITHDRAWN, Decision.DENY), (ConsentState.NOT_SOUGHT, Decision.DENY)])
def test_p5_early_help(engine: PolicyEngine, state: ConsentState, expected: Decision) -> None:
    d = engine.evaluate(request(purpose=Purpose.EARLY_HELP, statutory_gateway=S10,
                                consent_state=state))
    assert d.decision is expected


# --- principle 6: s42

@pytest.mark.parametrize("state,reason,expected", [
    (ConsentState.GIVEN, None, Decision.PERMIT),
    (ConsentState.REFUSED, ReasonCode.RISK_OF_SERIOUS_HARM_TO_ADULT, Decision.REVIEW),
    (ConsentState.NOT_SOUGHT, ReasonCode.PREJUDICE_TO_CRIME_INVESTIGATION, Decision.REVIEW),
    (ConsentState.REFUSED, ReasonCode.UNDUE_DELAY, Decision.DENY),
    (ConsentState.WITHDRAWN, None, Decision.DENY)])
def test_p6_adult_safeguarding(engine: PolicyEngine, state: ConsentState,
                               reason: ReasonCode | None, expected: Decision) -> None:
    d = engine.evaluate(request(purpose=Purpose.ADULT_SAFEGUARDING_ENQUIRY, statutory_gateway=S42,
                                subject_role=SubjectRole.ADULT_AT_RISK, rag=Rag.AMBER,
                                consent_state=state, consent_reason=reason))
    assert d.decision is expected


# --- principle 7: who may request, who may approve a review

@pytest.mark.parametrize("role", [Role.IG_LEAD, Role.AUDITOR, Role.AGENCY_ADMIN])
def test_p7_non_requesting_roles_are_denied(engine: PolicyEngine, role: Role) -> None:
    d = engine.evaluate(request(requester_role=role))
    assert d.decision is Decision.DENY and codes(d) == {PolicyReason.ROLE_NOT_PERMITTED}


def test_p7_review_approved_only_by_another_team_manager(engine: PolicyEngine) -> None:
    ok = engine.may_approve_review
    assert ok("mash-demo", Agency.POLICE, Role.MASH_TEAM_MANAGER, "tm-7", "sw-104")
    assert not ok("mash-demo", Agency.POLICE, Role.MASH_TEAM_MANAGER, "tm-7", "tm-7")
    assert not ok("mash-demo", Agency.POLICE, Role.MASH_SOCIAL_WORKER, "sw-9", "sw-104")
    assert not ok("mash-demo", Agency.POLICE, Role.IG_LEAD, "ig-1", "sw-104")
    assert not ok("mash-other", Agency.POLICE, Role.MASH_TEAM_MANAGER, "tm-7", "sw-104")


# --- principle 8: sealed never, sensitive only at red or with consent

def test_p8_sealed_category_is_never_disclosed(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(categories=(Category.COVERT_SOURCES,),
                                consent_state=ConsentState.GIVEN))
    assert d.categories == {Category.COVERT_SOURCES: Decision.DENY}
    assert codes(d) >= {PolicyReason.CATEGORY_SEALED}


def test_p8_sensitive_only_at_red_or_with_consent(engine: PolicyEngine) -> None:
    cats = (Category.POLICE_INTELLIGENCE, Category.DOMESTIC_ABUSE_INCIDENTS)
    amber = engine.evaluate(request(rag=Rag.AMBER, categories=cats))
    assert amber.categories == {Category.POLICE_INTELLIGENCE: Decision.DENY,
                                Category.DOMESTIC_ABUSE_INCIDENTS: Decision.REVIEW}
    with_consent = engine.evaluate(request(rag=Rag.AMBER, categories=cats,
                                           consent_state=ConsentState.GIVEN))
    assert with_consent.permitted_categories == cats
    red = engine.evaluate(request(categories=cats))
    assert red.permitted_categories == cats


# --- principle 9: other subjects get only their role's categories

def test_p9_household_member_gets_only_listed_categories(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(subject_role=SubjectRole.HOUSEHOLD_MEMBER))
    assert set(d.permitted_categories) == {Category.DOMESTIC_ABUSE_INCIDENTS,
                                           Category.ARRESTS_AND_CHARGES}
    asked = engine.evaluate(request(subject_role=SubjectRole.HOUSEHOLD_MEMBER,
                                    categories=(Category.MARAC_CASES,)))
    assert asked.decision is Decision.DENY
    assert codes(asked) >= {PolicyReason.CATEGORY_NOT_AGREED}


def test_category_of_another_agency_is_denied(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(categories=(Category.CAMHS,)))
    assert d.decision is Decision.DENY and PolicyReason.CATEGORY_NOT_HELD in codes(d)


# --- principle 10: break-glass

GLASS = BreakGlass(ReasonCode.RISK_OF_SIGNIFICANT_HARM, "Child disclosed injury at school today")


def _cin(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"purpose": Purpose.CHILD_IN_NEED_ASSESSMENT,
                               "statutory_gateway": S17, "consent_state": ConsentState.REFUSED}
    base.update(changes)
    return base


def test_p10_break_glass_turns_review_into_time_limited_permit(engine: PolicyEngine) -> None:
    without = engine.evaluate(request(**_cin()))
    assert without.decision is Decision.REVIEW
    d = engine.evaluate(request(**_cin(break_glass=GLASS)))
    assert d.decision is Decision.PERMIT and d.break_glass_used
    assert d.break_glass_until is not None and d.break_glass_until > NOW
    assert d.events == ("alert", "retrospective_review")
    assert PolicyReason.BREAK_GLASS_APPLIED in codes(d)


def test_p10_break_glass_only_at_red(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(**_cin(rag=Rag.AMBER, break_glass=GLASS)))
    assert d.decision is Decision.REVIEW and not d.break_glass_used
    assert PolicyReason.BREAK_GLASS_REFUSED in codes(d)


def test_p10_break_glass_needs_justification(engine: PolicyEngine) -> None:
    d = engine.evaluate(request(**_cin(break_glass=BreakGlass(
        ReasonCode.RISK_OF_SIGNIFICANT_HARM, "  "))))
    assert d.decision is Decision.REVIEW and not d.break_glass_used


def test_p10_break_glass_leaves_denied_categories_denied(engine: PolicyEngine) -> None:
    cats = (Category.DOMESTIC_ABUSE_INCIDENTS, Category.COVERT_SOURCES,
            Category.ARRESTS_AND_CHARGES)
    d = engine.evaluate(request(**_cin(break_glass=GLASS, categories=cats)))
    assert d.break_glass_used
    assert d.categories == {Category.DOMESTIC_ABUSE_INCIDENTS: Decision.PERMIT,
                            Category.COVERT_SOURCES: Decision.DENY,  # sealed (principle 8)
                            Category.ARRESTS_AND_CHARGES: Decision.DENY}  # not agreed (principle 9)


@pytest.mark.parametrize("changes", [
    {"requester_role": Role.AUDITOR},                       # principle 7
    {"statutory_gateway": StatutoryGateway.CHILDREN_ACT_2004_S11},  # principle 2
    {"mash_id": "mash-unknown"},                            # principle 1
    {"categories": (Category.COVERT_SOURCES,)},             # principle 8 sealed
    {"rag": Rag.AMBER, "categories": (Category.POLICE_INTELLIGENCE,)},  # principle 8 sensitive
])
def test_p10_break_glass_never_overrides_deny(engine: PolicyEngine,
                                              changes: dict[str, object]) -> None:
    d = engine.evaluate(request(**_cin(break_glass=GLASS, **changes)))
    assert d.decision is Decision.DENY and not d.break_glass_used and d.events == ()


# --- the engine applies the file, not principles of its own

def test_engine_follows_the_file_not_hard_coded_principles(tmp_path: Path) -> None:
    policy_dir = copy_shipped(tmp_path)
    police = policy_dir / "police.toml"
    # An IG lead makes early help with police REVIEW-able without consent, and stops
    # agency researchers requesting.
    text = police.read_text().replace(
        'note = "Principle 5: early help is consensual."',
        'note = "Edited."\n\n[[purposes.early_help.consent_rules]]\nrag = ["red"]\n'
        'consent = ["not_sought"]\nreasons = ["undue_delay"]\ndecision = "REVIEW"')
    text = text.replace('may_request = ["mash_social_worker", "mash_team_manager", '
                        '"agency_researcher"]',
                        'may_request = ["mash_social_worker", "mash_team_manager"]')
    police.write_text(text)
    engine = approved_engine(tmp_path, policy_dir)
    eh = engine.evaluate(request(purpose=Purpose.EARLY_HELP, statutory_gateway=S10,
                                 consent_reason=ReasonCode.UNDUE_DELAY))
    assert eh.decision is Decision.REVIEW
    researcher = engine.evaluate(request(requester_role=Role.AGENCY_RESEARCHER))
    assert researcher.decision is Decision.DENY
    assert researcher.reason_codes == (PolicyReason.ROLE_NOT_PERMITTED,)


def test_adapter_copy_that_forbids_wins_over_broker_copy_that_permits(tmp_path: Path) -> None:
    (tmp_path / "broker-side").mkdir()
    (tmp_path / "adapter-side").mkdir()
    broker_dir = copy_shipped(tmp_path / "broker-side")
    adapter_dir = copy_shipped(tmp_path / "adapter-side")
    police = adapter_dir / "police.toml"
    police.write_text(police.read_text().replace(
        'child = ["domestic_abuse_incidents", "missing_episodes", "arrests_and_charges", '
        '"marac_cases", "police_intelligence"]', 'child = ["missing_episodes"]', 1))
    broker = approved_engine(tmp_path / "broker-side", broker_dir)
    adapter = approved_engine(tmp_path / "adapter-side", adapter_dir)
    asked = request(categories=(Category.DOMESTIC_ABUSE_INCIDENTS,))
    at_broker, at_adapter = broker.evaluate(asked), adapter.evaluate(asked)
    assert at_broker.decision is Decision.PERMIT
    assert at_adapter.decision is Decision.DENY
    # and the versions differ, so the adapter can report policy_mismatch
    assert at_broker.agreement_version != at_adapter.agreement_version



def test_one_adapter_holds_one_agreement_per_mash(tmp_path: Path) -> None:
    policy_dir = copy_shipped(tmp_path)
    north = (policy_dir / "police.toml").read_text().replace(
        'id = "dsa-mash-demo-police"', 'id = "dsa-mash-north-police"').replace(
        'mash_id = "mash-demo"', 'mash_id = "mash-north"').replace(
        'rag = ["red"]\nconsent = ["refused", "withdrawn", "not_sought"]',
        'rag = ["red"]\nconsent = ["refused", "withdrawn"]', 1)
    (policy_dir / "police_north.toml").write_text(north)
    engine = approved_engine(tmp_path, policy_dir)
    demo = engine.evaluate(request())
    other = engine.evaluate(request(mash_id="mash-north"))
    assert demo.decision is Decision.PERMIT and demo.agreement_id == "dsa-mash-demo-police"
    assert other.decision is Decision.DENY and other.agreement_id == "dsa-mash-north-police"
    assert engine.agreement_for("mash-north", Agency.POLICE) is not None
