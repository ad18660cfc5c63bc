"""From a stored referral to a lookup request, and its summary filed back."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.referral_lookup import file_summary, lookup_request
from broker.referral_record import InvalidReferral
from broker.referrals import SqliteReferralStore, UnknownRetention
from mash.home import Home
from mash.vocab import ReferralStatus, UnknownVocabulary
from policy.engine import load_engine
from tests.referral_factories import full_summary, new_referral


@pytest.fixture
def store(tmp_path: Path) -> SqliteReferralStore:
    s = SqliteReferralStore(tmp_path / "r.sqlite")
    s.create(new_referral())
    return s


def test_request_carries_the_referral(store: SqliteReferralStore) -> None:
    referral = store.rerate("REF-0001", "red", "tm-1", "DA disclosed")
    request = lookup_request(referral, purpose="child_protection_enquiry",
                             consent_state="not_sought",
                             consent_reason="risk_of_significant_harm", agencies=["police"])
    assert request.referral_id == "REF-0001" and request.rag == "red"
    assert request.statutory_gateway == "children_act_1989_s47"  # from the purpose
    assert [s.subject_id for s in request.subjects] == ["child-1", "parent_carer-1"]
    assert request.subjects[0].identifiers.given_name == "Poppy"
    assert list(request.subjects[1].identifiers.other_names) == ["Jade Smyth"]
    assert list(request.agencies) == ["police"]
    assert request.consent.reason == "risk_of_significant_harm"


def test_request_refuses_unknown_vocabulary_and_closed_referrals(
        store: SqliteReferralStore) -> None:
    referral = store.get("REF-0001")
    with pytest.raises(UnknownVocabulary):
        lookup_request(referral, purpose="curiosity", consent_state="given")
    closed = store.set_status("REF-0001", ReferralStatus.CLOSED, "sw-1")
    with pytest.raises(InvalidReferral):
        lookup_request(closed, purpose="early_help", consent_state="given")


def test_file_summary_uses_agreement_retention_and_starts_research(
        store: SqliteReferralStore) -> None:
    agreements = load_engine(Home.at(Path("/nonexistent-mash-home"))).agreements
    summary = full_summary()
    with pytest.raises(UnknownRetention):  # the factory's agreement ids are not shipped ones
        file_summary(store, summary, agreements, by="sw-1")
    for result in summary.agencies:
        result.agreement_id = f"dsa-mash-demo-{result.agency.replace('_', '-')}"
    stored = file_summary(store, summary, agreements, by="sw-1")
    assert stored.lookup_id == "LK-1"
    assert store.get("REF-0001").status == ReferralStatus.RESEARCHING
