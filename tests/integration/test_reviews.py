"""REVIEW at run time: held as pending_review, released only by a team manager who did not ask."""

from __future__ import annotations

import grpc
import pytest

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import AgencyStatus, Role
from tests.integration.helpers import audit_rows, demo_subjects, red_request, statuses

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]


def _cin_without_consent(referral: str, home: Home) -> pb.LookupRequest:
    """Child in need (s17), consent refused with a reason: principle 4 says REVIEW."""
    req = red_request(referral, demo_subjects(home)[:1])
    req.rag = "amber"
    req.purpose = "child_in_need_assessment"
    req.statutory_gateway = "children_act_1989_s17"
    req.consent.state = "refused"
    req.consent.reason = "risk_of_significant_harm"
    return req


def _client(home: Home, cluster: Cluster, role: Role, sub: str) -> BrokerClient:
    return BrokerClient(home, cluster.broker.address, issue_token(home, sub=sub, role=role))


def test_review_is_held_then_released_by_a_manager(home: Home, cluster: Cluster) -> None:
    with _client(home, cluster, Role.MASH_SOCIAL_WORKER, "sw-501") as sw:
        summary = sw.lookup(_cin_without_consent("REF-IT-REVIEW", home))
    assert set(statuses(summary).values()) == {AgencyStatus.PENDING_REVIEW}
    # nothing was sent while the request waits
    assert audit_rows(home.audit_log("adapter-police"), "REF-IT-REVIEW") == []

    with _client(home, cluster, Role.MASH_TEAM_MANAGER, "tm-77") as tm:
        held = tm.list_reviews(referral_id="REF-IT-REVIEW")
        assert {"police", "health", "education", "housing"} <= {r.agency for r in held}
        police = next(r for r in held if r.agency == "police")
        assert police.requester_id == "sw-501" and police.categories
        response = tm.decide_review(police.review_id, approve=True,
                                    reason="Pattern of DA incidents; delay would harm the child")
    assert response.review.status == "approved"
    assert response.result.status == AgencyStatus.DISCLOSED
    assert response.result.signer_key_id
    rows = audit_rows(home.audit_log("adapter-police"), "REF-IT-REVIEW")
    assert rows, "the released query reached the police adapter"
    broker_rows = audit_rows(home.audit_log("broker-mash-demo"), "REF-IT-REVIEW")
    assert any("review_approved" in r and "tm-77" in r for r in broker_rows)


def test_a_manager_cannot_approve_their_own_request(home: Home, cluster: Cluster) -> None:
    with _client(home, cluster, Role.MASH_TEAM_MANAGER, "tm-88") as tm:
        tm.lookup(_cin_without_consent("REF-IT-OWN", home))
        review = tm.list_reviews(referral_id="REF-IT-OWN")[0]
        with pytest.raises(grpc.RpcError) as err:
            tm.decide_review(review.review_id, approve=True, reason="mine")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_social_worker_cannot_see_or_decide_reviews(home: Home, cluster: Cluster) -> None:
    with _client(home, cluster, Role.MASH_SOCIAL_WORKER, "sw-502") as sw:
        sw.lookup(_cin_without_consent("REF-IT-SW", home))
        with pytest.raises(grpc.RpcError) as err:
            sw.list_reviews()
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with _client(home, cluster, Role.MASH_TEAM_MANAGER, "tm-90") as tm:
        review = tm.list_reviews(referral_id="REF-IT-SW")[0]
    with _client(home, cluster, Role.MASH_SOCIAL_WORKER, "sw-503") as other:
        with pytest.raises(grpc.RpcError) as err:
            other.decide_review(review.review_id, approve=True, reason="I say so")
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_rejection_is_recorded_and_sends_nothing(home: Home, cluster: Cluster) -> None:
    with _client(home, cluster, Role.MASH_SOCIAL_WORKER, "sw-504") as sw:
        sw.lookup(_cin_without_consent("REF-IT-REJECT", home))
    with _client(home, cluster, Role.MASH_TEAM_MANAGER, "tm-91") as tm:
        review = next(r for r in tm.list_reviews(referral_id="REF-IT-REJECT")
                      if r.agency == "health")
        response = tm.decide_review(review.review_id, approve=False,
                                    reason="Consent can be sought first")
        assert response.review.status == "rejected"
        with pytest.raises(grpc.RpcError) as err:
            tm.decide_review(review.review_id, approve=True, reason="changed my mind")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert audit_rows(home.audit_log("adapter-health"), "REF-IT-REJECT") == []
