"""Threats to the referral API, one test each, against the running broker over real mTLS.

- T1 actor spoofing: a request names someone else as the actor.
- T2 a social worker decides held reviews (their own or anyone's).
- T3 a token from another organisation (another MASH) is used at this broker.
- T4 a direct request for another team's referral: a referral this broker does not hold
  (another MASH's) is NOT_FOUND exactly as one that does not exist; roles that may never
  see agency data (IG lead, auditor, agency researcher) are refused the workflow.
- T5 a direct request for another worker's referral: a social worker opens only the referrals
  they recorded; every call naming another's is NOT_FOUND exactly as an unknown id, the list
  leaves it out, and nothing is changed. A team manager opens it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.vocab import Role
from tests.integration.helpers import audit_rows, demo_subjects

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

#: Field names that would let a caller say who acted.
ACTOR_WORDS = ("by", "actor", "requester", "approver", "decided_by", "recorded_by", "sub",
               "staff", "user", "org", "organisation")


def client_for(home: Home, cluster: Cluster, sub: str, role: Role,
               org: str = "mash-demo") -> BrokerClient:
    """A client holding a real token from the home's development issuer."""
    return BrokerClient(home, cluster.broker.address,
                        issue_token(home, sub=sub, role=role, org=org))


@pytest.fixture()
def sw(home: Home, cluster: Cluster) -> Iterator[BrokerClient]:
    """A social worker of this MASH."""
    with client_for(home, cluster, "sw-104", Role.MASH_SOCIAL_WORKER) as c:
        yield c


def household(home: Home) -> list[pb.Subject]:
    """Demo household 0 as API subjects."""
    return [pb.Subject(subject_id=s["subject_id"], role=s["role"],
                       identifiers=pb.Identifiers(**{k: v for k, v in s["identifiers"].items()
                                                     if v}))
            for s in demo_subjects(home, 0)]


def create(client: BrokerClient, home: Home, referral_id: str, rag: str = "red") -> rpb.Referral:
    """Record a referral for demo household 0."""
    referral: rpb.Referral = client.referrals("CreateReferral", rpb.CreateReferralRequest(
        referral_id=referral_id, source="police", rag=rag, reason="Domestic incident.",
        subjects=household(home)))
    return referral


def refusal(client: BrokerClient, method: str, request: object) -> grpc.RpcError:
    """The error `method` was refused with (fails if it was not refused)."""
    try:
        client.referrals(method, request)  # type: ignore[arg-type]
    except grpc.RpcError as exc:
        return exc
    raise AssertionError(f"{method} was not refused")


def _request_fields(message: descriptor.Descriptor, path: str = "") -> list[str]:
    """Every field path of a request message, nested ones included (Subject's role is the
    subject's role in the referral, not an actor: it is checked separately)."""
    out = []
    for field in message.fields:
        here = f"{path}{field.name}"
        out.append(here)
        if field.message_type is not None and field.message_type.full_name not in (
                "mash.v1.Identifiers",):
            out += _request_fields(field.message_type, here + ".")
    return out


def test_t1_no_request_of_the_api_can_name_an_actor() -> None:
    service = rpb.DESCRIPTOR.services_by_name["Referrals"]
    checked = 0
    for method in service.methods:
        for path in _request_fields(method.input_type):
            leaf = path.rsplit(".", 1)[-1]
            if path.endswith("subjects.role") or path.endswith("put_subjects.role"):
                continue  # the subject's role in the referral (child, parent_carer ...)
            assert leaf not in ACTOR_WORDS and leaf != "role", (method.name, path)
            checked += 1
    assert checked > 40


def test_t1_an_actor_smuggled_into_a_request_is_ignored(
        home: Home, cluster: Cluster, sw: BrokerClient) -> None:
    created = create(sw, home, "REF-SEC-SPOOF")
    # Unknown fields carrying "tm-310" / "ig_lead" ride along in the wire bytes.
    rerate = rpb.RerateRequest(referral_id="REF-SEC-SPOOF", rag="red", reason="same")
    wire = rerate.SerializeToString() + _field(99, b"tm-310") + _field(100, b"ig_lead")
    channel_request = rpb.RerateRequest.FromString(wire)
    response: rpb.RerateResponse = sw.referrals("Rerate", channel_request)
    assert [h.by for h in response.referral.rag_history] == ["sw-104", "sw-104"]
    assert created.recorded_by == "sw-104"


def test_t1_the_cli_by_flag_does_not_override_the_token(
        home: Home, cluster: Cluster, sw: BrokerClient) -> None:
    create(sw, home, "REF-SEC-CLI")
    token = issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)
    result = subprocess.run(
        [sys.executable, "-m", "mash.app", "referral", "rerate", "REF-SEC-CLI", "--rag",
         "amber", "--reason", "checked", "--by", "Santa Claus", "--token", token, "--json",
         "--home", str(home.root), "--address", cluster.broker.address],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "--by is ignored" in result.stderr
    shown = json.loads(result.stdout)
    assert [h["by"] for h in shown["rag_history"]] == ["sw-104", "sw-104"]
    assert "Santa Claus" not in json.dumps(shown)


def test_t2_a_social_worker_cannot_decide_reviews(home: Home, cluster: Cluster,
                                                  sw: BrokerClient) -> None:
    create(sw, home, "REF-SEC-REV", rag="amber")
    sw.referrals("Lookup", rpb.ReferralLookupRequest(
        referral_id="REF-SEC-REV", purpose="child_protection_enquiry",
        consent=pb.Consent(state="not_sought", reason="risk_of_significant_harm")))
    with client_for(home, cluster, "tm-310", Role.MASH_TEAM_MANAGER) as tm:
        pending = tm.list_reviews("pending", "REF-SEC-REV")
        assert pending, "amber without consent is held for review"
        for role in (Role.MASH_SOCIAL_WORKER, Role.AGENCY_RESEARCHER, Role.IG_LEAD):
            with client_for(home, cluster, "x-1", role) as other:
                exc = refusal(other, "DecideReviews", rpb.DecideReviewsRequest(
                    referral_id="REF-SEC-REV", approve=True, reason="let me"))
                assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, role
                with pytest.raises(grpc.RpcError) as one:
                    other.decide_review(pending[0].review_id, approve=True, reason="let me")
                assert one.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # The requester's own manager token with the requester's id is refused too:
        # nobody decides their own request.
        with client_for(home, cluster, "sw-104", Role.MASH_TEAM_MANAGER) as self_approver:
            exc = refusal(self_approver, "DecideReviews", rpb.DecideReviewsRequest(
                referral_id="REF-SEC-REV", approve=True, reason="mine"))
            assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
        assert tm.list_reviews("pending", "REF-SEC-REV") == pending


def test_t3_a_token_from_another_organisation_is_refused(home: Home, cluster: Cluster,
                                                         sw: BrokerClient) -> None:
    create(sw, home, "REF-SEC-ORG")
    with client_for(home, cluster, "sw-104", Role.MASH_SOCIAL_WORKER,
                    org="mash-elsewhere") as foreign:
        for method, request in (
            ("GetReferral", rpb.GetReferralRequest(referral_id="REF-SEC-ORG")),
            ("GetSummary", rpb.SummaryRequest(referral_id="REF-SEC-ORG")),
            ("ListReferrals", rpb.ListReferralsRequest()),
            ("CreateReferral", rpb.CreateReferralRequest(
                referral_id="REF-SEC-ORG-2", source="police", rag="red", reason="x",
                subjects=household(home))),
        ):
            exc = refusal(foreign, method, request)
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, method
            # refused by the token check itself, before the referral service is reached
            assert "WrongOrganisation" in (exc.details() or ""), method
    missing = refusal(sw, "GetReferral", rpb.GetReferralRequest(referral_id="REF-SEC-ORG-2"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    viewed = [json.loads(r) for r in audit_rows(home.audit_log("broker-mash-demo"),
                                                "REF-SEC-ORG")]
    assert not [v for v in viewed if v.get("kind") == "summary_viewed"]


def test_t4_another_teams_referral_is_not_found_like_one_that_does_not_exist(
        home: Home, cluster: Cluster, sw: BrokerClient) -> None:
    # Another MASH's referral lives at that MASH's broker: this one answers as for any
    # id it does not hold, so the answer says nothing about whether it exists elsewhere.
    answers = set()
    for rid in ("REF-OTHER-MASH-0001", "REF-NEVER-MADE"):
        for method, request in (
            ("GetReferral", rpb.GetReferralRequest(referral_id=rid)),
            ("GetSummary", rpb.SummaryRequest(referral_id=rid)),
            ("Lookup", rpb.ReferralLookupRequest(
                referral_id=rid, purpose="child_protection_enquiry",
                consent=pb.Consent(state="given"))),
        ):
            exc = refusal(sw, method, request)
            answers.add((method, exc.code(), (exc.details() or "").replace(rid, "ID")))
    assert {code for _, code, _ in answers} == {grpc.StatusCode.NOT_FOUND}
    assert len(answers) == 3  # one answer per method, whichever id was asked for


def test_t4_roles_that_never_see_agency_data_are_refused_the_workflow(
        home: Home, cluster: Cluster, sw: BrokerClient) -> None:
    create(sw, home, "REF-SEC-ROLE")
    for role in (Role.IG_LEAD, Role.AUDITOR, Role.AGENCY_RESEARCHER, Role.AGENCY_ADMIN):
        with client_for(home, cluster, "x-9", role) as other:
            for method, request in (
                ("GetSummary", rpb.SummaryRequest(referral_id="REF-SEC-ROLE")),
                ("GetReferral", rpb.GetReferralRequest(referral_id="REF-SEC-ROLE")),
                ("ListReferrals", rpb.ListReferralsRequest()),
            ):
                exc = refusal(other, method, request)
                assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, (role, method)


def test_t5_another_workers_referral_is_refused_like_one_that_does_not_exist(
        home: Home, cluster: Cluster, sw: BrokerClient) -> None:
    create(sw, home, "REF-SEC-OWNED")
    calls = lambda rid: (  # noqa: E731 - the same calls for both ids
        ("GetReferral", rpb.GetReferralRequest(referral_id=rid)),
        ("GetSummary", rpb.SummaryRequest(referral_id=rid)),
        ("RecordView", rpb.RecordViewRequest(referral_id=rid)),
        ("EditReferral", rpb.EditReferralRequest(referral_id=rid, reason="taken over")),
        ("SetStatus", rpb.SetStatusRequest(referral_id=rid, status="researching")),
        ("Rerate", rpb.RerateRequest(referral_id=rid, rag="amber", reason="lower")),
        ("Lookup", rpb.ReferralLookupRequest(referral_id=rid, purpose="child_protection_enquiry",
                                             consent=pb.Consent(state="given"))))
    with client_for(home, cluster, "sw-105", Role.MASH_SOCIAL_WORKER) as other:
        answers = set()
        for rid in ("REF-SEC-OWNED", "REF-SEC-NEVER-MADE"):
            for method, request in calls(rid):
                exc = refusal(other, method, request)
                answers.add((method, exc.code(), (exc.details() or "").replace(rid, "ID")))
        listed = other.referrals("ListReferrals", rpb.ListReferralsRequest(include_closed=True))
    assert {code for _, code, _ in answers} == {grpc.StatusCode.NOT_FOUND}
    assert len(answers) == 7  # one answer per method, whichever id was asked for
    assert "REF-SEC-OWNED" not in {r.referral_id for r in listed.referrals}
    unchanged = sw.referrals("GetReferral", rpb.GetReferralRequest(referral_id="REF-SEC-OWNED"))
    assert (unchanged.rag, unchanged.status, len(unchanged.edits)) == ("red", "screening", 0)
    with client_for(home, cluster, "tm-310", Role.MASH_TEAM_MANAGER) as manager:
        seen = manager.referrals("GetReferral", rpb.GetReferralRequest(referral_id="REF-SEC-OWNED"))
        listed = manager.referrals("ListReferrals", rpb.ListReferralsRequest())
    assert seen.recorded_by == "sw-104"
    assert "REF-SEC-OWNED" in {r.referral_id for r in listed.referrals}


def _field(number: int, value: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2) the message does not declare."""
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
