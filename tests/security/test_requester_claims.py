"""What a requester says is checked, and what they did is recorded.

Threats: a requester names an adult as a `child` (or a minor as an `adult_at_risk`) to get
the categories agreements release only about children; an impossible date of birth or a
mistyped NHS number is passed on to every agency; the consent note leaks to agencies; the
break-glass justification is lost; two managers both "approve" one review.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from audit.events import EventKind
from audit.reading import AuditRecord, records_for_referral
from broker.client import BrokerClient
from certs.envelopes import sign_query
from certs.names import PeerKind, Principal
from certs.signing import SigningKey
from certs.tls import channel_credentials, client_channel_options
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.vocab import AGENCY_CATEGORIES, Agency, Role
from tests.integration.helpers import demo_subjects, red_request
from tests.integration.hostile import HostileProxy

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

#: What the police agreement releases about a household member in a s47 enquiry.
HOUSEHOLD_MEMBER_POLICE = {"domestic_abuse_incidents", "arrests_and_charges"}


class RecordingProxy(HostileProxy):
    """Passes every query to the real police adapter, keeping what the broker sent."""

    def __init__(self, home: Home) -> None:
        super().__init__(home)
        self.seen: list[pb.Query] = []

    def Query(self, request: pb.SignedQuery, context: grpc.ServicerContext  # noqa: N802
              ) -> pb.SignedDisclosure:
        self.seen.append(pb.Query.FromString(request.query))
        return super().Query(request, context)


@pytest.fixture(scope="module")
def proxy(home: Home) -> Iterator[RecordingProxy]:
    p = RecordingProxy(home)
    p.start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def claims_cluster(home: Home, proxy: RecordingProxy) -> Iterator[Cluster]:
    with Cluster(home, endpoint_overrides={Agency.POLICE: proxy.address}) as c:
        proxy.upstream = c.adapter("police").address
        yield c


def _client(home: Home, cluster: Cluster, role: Role = Role.MASH_SOCIAL_WORKER,
            sub: str = "sw-301") -> BrokerClient:
    return BrokerClient(home, cluster.broker.address, issue_token(home, sub=sub, role=role))


def _broker_events(home: Home, referral: str, kind: EventKind) -> list[AuditRecord]:
    return [r for r in records_for_referral(home, referral)
            if r.log.startswith("broker") and r.event.kind is kind]


def _parent_as_child(home: Home, referral: str, *, keep_dob: bool) -> pb.LookupRequest:
    parent = dict(demo_subjects(home)[1])  # an adult the police know (parent-1)
    parent["role"] = "child"
    if not keep_dob:
        parent["identifiers"] = {**parent["identifiers"], "date_of_birth": ""}
    return red_request(referral, [parent])


def _police(summary: pb.ReferralSummary) -> pb.AgencyResult:
    return next(a for a in summary.agencies if a.agency == "police")


# ---------------------------------------------------------------- subject role against DOB

def test_broker_answers_an_adult_named_as_a_child_as_a_household_member(
        home: Home, claims_cluster: Cluster, proxy: RecordingProxy) -> None:
    with _client(home, claims_cluster) as c:
        summary = c.lookup(_parent_as_child(home, "REF-SEC-ROLE-B", keep_dob=True))
    sent = [q for q in proxy.seen if q.referral_id == "REF-SEC-ROLE-B"]
    assert sent and all(s.role == "household_member" for q in sent for s in q.subjects)
    # nothing released only about children was even asked for
    assert set(sent[-1].categories) <= HOUSEHOLD_MEMBER_POLICE
    police = _police(summary)
    assert {f.category for s in police.subjects for f in s.facts} <= HOUSEHOLD_MEMBER_POLICE
    intent = _broker_events(home, "REF-SEC-ROLE-B", EventKind.LOOKUP_REQUESTED)
    assert intent[0].event.detail["subject_roles_corrected"] == "parent-1:child->household_member"


def test_broker_answers_a_minor_named_as_an_adult_at_risk_as_a_child(
        home: Home, claims_cluster: Cluster, proxy: RecordingProxy) -> None:
    child = dict(demo_subjects(home)[0], role="adult_at_risk")
    with _client(home, claims_cluster) as c:
        c.lookup(red_request("REF-SEC-ROLE-M", [child]))
    sent = [q for q in proxy.seen if q.referral_id == "REF-SEC-ROLE-M"]
    assert sent and sent[-1].subjects[0].role == "child"
    intent = _broker_events(home, "REF-SEC-ROLE-M", EventKind.LOOKUP_REQUESTED)
    assert intent[0].event.detail["subject_roles_corrected"] == "child-1:adult_at_risk->child"


def test_adapter_answers_with_the_role_its_record_supports(
        home: Home, claims_cluster: Cluster) -> None:
    # A broker (compromised, or without the date of birth) sends an adult as a `child`: the
    # adapter decides by the date of birth it holds, not by the claim.
    req = _parent_as_child(home, "REF-SEC-ROLE-A", keep_dob=True)
    q = pb.Query(
        query_id=secrets.token_hex(8), broker_id="mash-demo", agency="police",
        referral_id=req.referral_id, rag=req.rag, purpose=req.purpose,
        statutory_gateway=req.statutory_gateway,
        consent=pb.Consent(state=req.consent.state, reason=req.consent.reason),
        requester=pb.Requester(id="sw-1", role="mash_social_worker", organisation="mash-demo"),
        subjects=req.subjects, categories=[str(c) for c in AGENCY_CATEGORIES[Agency.POLICE]],
        nonce=secrets.token_hex(16), issued_at=datetime.now(UTC).isoformat())
    signed = sign_query(q, SigningKey.load(home.signing_key("broker-mash-demo")))
    creds = channel_credentials(home, "broker-mash-demo")
    address = claims_cluster.adapter("police").address
    with grpc.secure_channel(address, creds, options=client_channel_options(
            Principal(PeerKind.ADAPTER, "police"), address)) as ch:
        answer = pb_grpc.AgencyAdapterStub(ch).Query(signed, timeout=10)
    d = pb.Disclosure.FromString(answer.disclosure)
    subject = d.subjects[0]
    assert subject.answered_role == "household_member"
    assert set(subject.permitted_categories) == HOUSEHOLD_MEMBER_POLICE
    assert {f.category for f in subject.facts} <= HOUSEHOLD_MEMBER_POLICE
    assert "subject_role_corrected" in [r.code for r in d.reasons]
    sent = [r for r in records_for_referral(home, "REF-SEC-ROLE-A")
            if r.log == "adapter-police" and r.event.kind is EventKind.DISCLOSURE_SENT]
    assert sent[-1].event.detail["subject_roles_corrected"] == "parent-1:household_member"


# ---------------------------------------------------------------- identifiers

@pytest.mark.parametrize(("field", "value"), [
    ("date_of_birth", "2015-02-30"),
    ("date_of_birth", "2015-13-01"),
    ("nhs_number", "9434765918"),  # the check digit of 943 476 5919 is 9
    ("nhs_number", "1234567890"),
])
def test_invalid_identifier_is_refused_at_the_broker_and_not_passed_on(
        home: Home, claims_cluster: Cluster, proxy: RecordingProxy, field: str,
        value: str) -> None:
    referral = f"REF-SEC-ID-{field[:3]}-{value[-4:]}"
    subject = dict(demo_subjects(home)[0])
    subject["identifiers"] = {**subject["identifiers"], field: value}
    with _client(home, claims_cluster) as c, pytest.raises(grpc.RpcError) as err:
        c.lookup(red_request(referral, [subject]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (err.value.details() or "")
    assert not [q for q in proxy.seen if q.referral_id == referral]


def test_a_date_of_birth_in_the_future_is_refused(
        home: Home, claims_cluster: Cluster, proxy: RecordingProxy) -> None:
    subject = dict(demo_subjects(home)[0])
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    subject["identifiers"] = {**subject["identifiers"], "date_of_birth": tomorrow.isoformat()}
    with _client(home, claims_cluster) as c, pytest.raises(grpc.RpcError) as err:
        c.lookup(red_request("REF-SEC-ID-FUTURE", [subject]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "future" in (err.value.details() or "")
    assert not [q for q in proxy.seen if q.referral_id == "REF-SEC-ID-FUTURE"]


def test_a_valid_nhs_number_is_accepted(home: Home, claims_cluster: Cluster) -> None:
    subject = dict(demo_subjects(home)[0])
    subject["identifiers"] = {**subject["identifiers"], "nhs_number": "943 476 5919"}
    with _client(home, claims_cluster) as c:
        summary = c.lookup(red_request("REF-SEC-ID-OK", [subject]))
    assert summary.agencies


# ---------------------------------------------------------------- consent note, break-glass

def test_consent_note_is_audited_by_the_broker_and_never_sent_to_agencies(
        home: Home, claims_cluster: Cluster, proxy: RecordingProxy) -> None:
    note = "NOTE-" + secrets.token_hex(6) + " mother told us she fears the father"
    req = red_request("REF-SEC-NOTE", demo_subjects(home)[:1])
    req.consent.note = note
    with _client(home, claims_cluster) as c:
        c.lookup(req)
    sent = [q for q in proxy.seen if q.referral_id == "REF-SEC-NOTE"]
    assert sent and all(q.consent.note == "" for q in sent)
    assert all(note.encode() not in q.SerializeToString() for q in sent)
    intent = _broker_events(home, "REF-SEC-NOTE", EventKind.LOOKUP_REQUESTED)
    assert intent[0].event.detail["consent_note"] == note
    agencies = [r for r in records_for_referral(home, "REF-SEC-NOTE")
                if not r.log.startswith("broker")]
    assert agencies and all(note not in str(r.to_json_dict()) for r in agencies)


def test_break_glass_justification_is_in_the_broker_audit_log(
        home: Home, claims_cluster: Cluster) -> None:
    # Amber without consent is REVIEW for police; break-glass applies at Red only, so ask at
    # Red with consent refused and a reason (PERMIT either way: glass is recorded when given).
    justification = "GLASS-" + secrets.token_hex(6) + " child disclosed an assault tonight"
    req = red_request("REF-SEC-GLASS", demo_subjects(home)[:1])
    req.break_glass.reason = "risk_of_significant_harm"
    req.break_glass.justification = justification
    with _client(home, claims_cluster) as c:
        c.lookup(req)
    intent = _broker_events(home, "REF-SEC-GLASS", EventKind.LOOKUP_REQUESTED)
    assert intent[0].event.detail["break_glass_justification"] == justification
    assert intent[0].event.detail["break_glass_reason"] == "risk_of_significant_harm"


# ---------------------------------------------------------------- atomic review decisions

def _held_review(home: Home, cluster: Cluster, referral: str) -> str:
    req = red_request(referral, demo_subjects(home)[:1])
    req.rag, req.purpose = "amber", "child_in_need_assessment"
    req.statutory_gateway = "children_act_1989_s17"
    req.consent.state, req.consent.reason = "refused", "risk_of_significant_harm"
    req.agencies.append("police")
    with _client(home, cluster, sub="sw-330") as sw:
        sw.lookup(req)
    with _client(home, cluster, Role.MASH_TEAM_MANAGER, "tm-330") as tm:
        return tm.list_reviews(referral_id=referral)[0].review_id


def test_two_managers_approving_at_once_make_exactly_one_decision(
        home: Home, claims_cluster: Cluster) -> None:
    review_id = _held_review(home, claims_cluster, "REF-SEC-RACE")
    managers = [f"tm-race-{n}" for n in range(4)]
    clients = [_client(home, claims_cluster, Role.MASH_TEAM_MANAGER, m) for m in managers]
    go = threading.Barrier(len(clients))
    outcomes: dict[str, str] = {}

    def approve(name: str, client: BrokerClient) -> None:
        go.wait()
        try:
            client.decide_review(review_id, approve=True, reason=f"approved by {name}")
            outcomes[name] = "ok"
        except grpc.RpcError as exc:
            outcomes[name] = exc.code().name

    threads = [threading.Thread(target=approve, args=(m, c)) for m, c in zip(managers, clients,
                                                                              strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    assert sorted(outcomes.values()) == ["FAILED_PRECONDITION"] * 3 + ["ok"]
    approved = _broker_events(home, "REF-SEC-RACE", EventKind.REVIEW_APPROVED)
    refused = _broker_events(home, "REF-SEC-RACE", EventKind.REVIEW_DECISION_REFUSED)
    winner = next(m for m, o in outcomes.items() if o == "ok")
    assert [r.event.actor_id for r in approved] == [winner]
    assert sorted(r.event.actor_id or "" for r in refused) == sorted(set(managers) - {winner})
    sent = [r for r in records_for_referral(home, "REF-SEC-RACE")
            if r.log.startswith("broker") and r.event.kind is EventKind.QUERY_SENT
            and r.event.agency == "police"]
    assert len(sent) == 1, "the held query was released once"


def test_a_refused_review_decision_is_logged(home: Home, claims_cluster: Cluster) -> None:
    review_id = _held_review(home, claims_cluster, "REF-SEC-REFUSED")
    with _client(home, claims_cluster, Role.MASH_TEAM_MANAGER, "tm-331") as tm:
        tm.decide_review(review_id, approve=False, reason="not proportionate")
        with pytest.raises(grpc.RpcError) as err:
            tm.decide_review(review_id, approve=True, reason="changed my mind")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    refused = _broker_events(home, "REF-SEC-REFUSED", EventKind.REVIEW_DECISION_REFUSED)
    assert [r.event.reasons for r in refused] == [("review_already_decided",)]
    assert len(_broker_events(home, "REF-SEC-REFUSED", EventKind.REVIEW_APPROVED)) == 0
