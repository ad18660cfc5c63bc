"""The referral workflow's broker wiring without processes: a fake broker, the shipped policy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broker import referral_flow
from broker.connection import ConnectionArgs, NoRunningBroker, broker_address
from broker.planning import Requester
from broker.referral_record import InvalidReferral
from broker.referrals import SqliteReferralStore
from broker.rerating import Refetch
from mash.home import Home
from mash.v1 import mash_pb2
from mash.vocab import Agency, Category, Rag, ReferralStatus, Role, SubjectRole
from policy import SHIPPED_POLICY_DIR, PolicyEngine
from tests.referral_factories import agency, new_referral, subject

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CP_NOT_SOUGHT = referral_flow.LookupTerms.of("child_protection_enquiry", "not_sought",
                                             "risk_of_significant_harm")


class _Retention:
    """Agreements as the retention rule sees them: one id, a fixed number of days."""

    def __init__(self, agreement_id: str) -> None:
        self.id = agreement_id

    @property
    def retention(self) -> _Retention:
        return self

    @property
    def disclosed_summary_days(self) -> int:
        return 30


AGREEMENTS = [_Retention(f"{a.value}-mash-dsa") for a in Agency]


class FakeBroker:
    """Answers every lookup with a disclosed part per asked agency; remembers the requests."""

    def __init__(self) -> None:
        self.requests: list[mash_pb2.LookupRequest] = []

    def lookup(self, request: mash_pb2.LookupRequest) -> mash_pb2.ReferralSummary:
        self.requests.append(request)
        agencies = list(request.agencies) or [a.value for a in Agency]
        parts = []
        for name in agencies:
            mine = [c for c in request.categories if Category(c) in _held(name)]
            s = subject("child-1")
            s.permitted_categories.extend(mine or [c.value for c in _held(name)])
            parts.append(agency(name, "disclosed", s))
        return mash_pb2.ReferralSummary(
            referral_id=request.referral_id, lookup_id=f"LK-{len(self.requests)}",
            rag=request.rag, purpose=request.purpose,
            statutory_gateway=request.statutory_gateway,
            generated_at=NOW.isoformat(), agencies=parts)


def _held(name: str) -> tuple[Category, ...]:
    from mash.vocab import AGENCY_CATEGORIES

    return AGENCY_CATEGORIES[Agency(name)]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[SqliteReferralStore]:
    s = SqliteReferralStore(tmp_path / "referrals.sqlite", clock=lambda: NOW)
    yield s
    s.close()


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load_assuming_approval(SHIPPED_POLICY_DIR)


def test_lookup_is_filed_with_its_terms_and_moves_the_referral_to_researching(
        store: SqliteReferralStore) -> None:
    referral = store.create(new_referral("REF-U1"))
    broker = FakeBroker()
    stored = referral_flow.referral_lookup(broker, store, referral, CP_NOT_SOUGHT, AGREEMENTS,
                                           "sw-1", NOW, agencies=["police"])
    assert stored.lookup_id == "LK-1"
    request = broker.requests[0]
    assert request.rag == "amber" and list(request.agencies) == ["police"]
    assert request.consent.reason == "risk_of_significant_harm"
    assert [s.subject_id for s in request.subjects] == ["child-1", "parent_carer-1"]
    assert store.get("REF-U1").status == ReferralStatus.RESEARCHING
    assert referral_flow.latest_terms(store, "REF-U1") == CP_NOT_SOUGHT
    assert referral_flow.latest_terms(store, "REF-OTHER") is None


def test_a_closed_referral_is_never_looked_up(store: SqliteReferralStore) -> None:
    store.create(new_referral("REF-U2"))
    store.set_status("REF-U2", ReferralStatus.CLOSED, "tm-1", "no further action")
    broker = FakeBroker()
    with pytest.raises(InvalidReferral):
        referral_flow.referral_lookup(broker, store, store.get("REF-U2"), CP_NOT_SOUGHT,
                                      AGREEMENTS, "sw-1", NOW)
    assert broker.requests == []


def test_latest_terms_follow_the_latest_lookup(store: SqliteReferralStore) -> None:
    store.create(new_referral("REF-U3"))
    given = referral_flow.LookupTerms.of("child_in_need_assessment", "given")
    referral_flow.remember_terms(store, "REF-U3", "LK-A", CP_NOT_SOUGHT, NOW)
    referral_flow.remember_terms(store, "REF-U3", "LK-B", given, NOW.replace(hour=13))
    assert referral_flow.latest_terms(store, "REF-U3") == given


def test_refetch_request_narrows_agencies_and_categories(store: SqliteReferralStore) -> None:
    referral = store.create(new_referral("REF-U4", Rag.RED))
    plan = (Refetch(Agency.POLICE, (Category.POLICE_INTELLIGENCE,)),
            Refetch(Agency.HEALTH, (Category.CAMHS, Category.SUBSTANCE_MISUSE)))
    request = referral_flow.refetch_request(referral, plan, CP_NOT_SOUGHT)
    assert request is not None
    assert list(request.agencies) == ["police", "health"]
    assert list(request.categories) == ["police_intelligence", "camhs", "substance_misuse"]
    assert request.rag == "red"
    assert referral_flow.refetch_request(referral, (), CP_NOT_SOUGHT) is None


def test_policy_as_the_planner_sees_it_matches_the_shipped_agreements(
        engine: PolicyEngine) -> None:
    permitted = referral_flow.policy_permitted(
        engine, "mash-demo", Requester("sw-1", Role.MASH_SOCIAL_WORKER, "mash-demo"),
        CP_NOT_SOUGHT, [SubjectRole.CHILD, SubjectRole.PARENT_CARER], NOW)
    # Amber without consent is held for review: nothing is permitted outright.
    assert permitted(Rag.AMBER, Agency.POLICE) == ()
    assert Category.POLICE_INTELLIGENCE in permitted(Rag.RED, Agency.POLICE)
    assert Category.COVERT_SOURCES not in permitted(Rag.RED, Agency.POLICE)  # sealed


def test_raising_asks_only_for_what_was_not_answered_before(
        store: SqliteReferralStore, engine: PolicyEngine) -> None:
    before = store.create(new_referral("REF-U5"))
    # An approved review released the standard police categories at Amber.
    released = agency("police", "disclosed", subject("child-1"))
    standard = [Category.DOMESTIC_ABUSE_INCIDENTS, Category.MISSING_EPISODES,
                Category.ARRESTS_AND_CHARGES, Category.MARAC_CASES]
    released.subjects[0].permitted_categories.extend(c.value for c in standard)
    review = mash_pb2.Review(review_id="rv-1", referral_id="REF-U5", lookup_id="LK-0",
                             agency="police", rag="amber", purpose="child_protection_enquiry",
                             statutory_gateway="children_act_1989_s47",
                             decided_at=NOW.isoformat())
    summary = referral_flow.review_release_summary(review, released, "mash-demo")
    assert summary.lookup_id == "LK-0-review-rv-1"
    store.save_summary(summary, _fixed_retention())
    after = store.rerate("REF-U5", Rag.RED, "sw-1", "high-risk DA")
    permitted = referral_flow.policy_permitted(
        engine, "mash-demo", Requester("sw-1", Role.MASH_SOCIAL_WORKER, "mash-demo"),
        CP_NOT_SOUGHT, [SubjectRole.CHILD], NOW)
    plan = referral_flow.plan_after_rerate(store, before, after, permitted, [Agency.POLICE])
    assert plan == (Refetch(Agency.POLICE, (Category.POLICE_INTELLIGENCE,)),)

    broker = FakeBroker()
    request, filed = referral_flow.refetch(broker, store, after, plan, CP_NOT_SOUGHT,
                                           AGREEMENTS, "sw-1", NOW)
    assert request is not None and list(request.categories) == ["police_intelligence"]
    assert filed is not None and filed.lookup_id == "LK-1"

    # Lowering plans nothing, whatever policy says.
    lowered = store.rerate("REF-U5", Rag.GREEN, "sw-1", "clarified")
    assert referral_flow.plan_after_rerate(store, after, lowered, permitted,
                                           list(Agency)) == ()


def _fixed_retention() -> object:
    from broker.referrals import RetentionByAgreement

    return RetentionByAgreement.from_agreements(AGREEMENTS)


def test_latest_purpose_comes_from_the_latest_filed_summary(
        store: SqliteReferralStore) -> None:
    store.create(new_referral("REF-U6"))
    referral_flow.referral_lookup(FakeBroker(), store, store.get("REF-U6"), CP_NOT_SOUGHT,
                                  AGREEMENTS, "sw-1", NOW)
    assert referral_flow.latest_purpose(store.summaries("REF-U6")) == "child_protection_enquiry"
    assert referral_flow.latest_purpose([]) is None


def _args(home: Path, *, address: str | None = None,
          broker_id: str = "mash-demo") -> ConnectionArgs:
    return ConnectionArgs(home=str(home), address=address, broker_id=broker_id, server_name=None,
                          token=None, role="mash_social_worker", sub="sw-104",
                          client="client-staff")


def test_the_broker_is_found_from_its_port_file(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    with pytest.raises(NoRunningBroker):
        broker_address(_args(tmp_path))
    home.run_dir.mkdir(parents=True, exist_ok=True)
    (home.run_dir / "broker-mash-demo.port").write_text("4321\n")
    assert broker_address(_args(tmp_path)) == "127.0.0.1:4321"
    assert broker_address(_args(tmp_path, address="10.0.0.1:9")) == "10.0.0.1:9"
    with pytest.raises(NoRunningBroker):
        broker_address(_args(tmp_path, broker_id="another-mash"))
