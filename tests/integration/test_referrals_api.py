"""The `Referrals` API of the running broker: real processes, real mTLS, real tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from audit import EventKind
from audit.reading import records_for_referral
from broker.client import BrokerClient
from broker.referrals import RetentionByAgreement, SqliteReferralStore, referral_db_path
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.vocab import Role
from tests.integration.helpers import audit_rows, demo_subjects
from tests.referral_factories import full_summary, new_referral

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

CP_NOT_SOUGHT = {"purpose": "child_protection_enquiry",
                 "consent": pb.Consent(state="not_sought", reason="risk_of_significant_harm")}


def staff(home: Home, cluster: Cluster, sub: str, role: Role,
          org: str = "mash-demo") -> BrokerClient:
    """A client of the running broker holding a token for `sub` in `role` of `org`."""
    return BrokerClient(home, cluster.broker.address,
                        issue_token(home, sub=sub, role=role, org=org))


@pytest.fixture()
def sw(home: Home, cluster: Cluster) -> Iterator[BrokerClient]:
    """A social worker."""
    with staff(home, cluster, "sw-104", Role.MASH_SOCIAL_WORKER) as c:
        yield c


@pytest.fixture()
def tm(home: Home, cluster: Cluster) -> Iterator[BrokerClient]:
    """A team manager."""
    with staff(home, cluster, "tm-310", Role.MASH_TEAM_MANAGER) as c:
        yield c


def demo_household(home: Home, n: int = 0) -> list[pb.Subject]:
    """The subjects of demo referral `n` as API subjects."""
    out = []
    for s in demo_subjects(home, n):
        ids = {k: v for k, v in s["identifiers"].items() if v}
        out.append(pb.Subject(subject_id=s["subject_id"], role=s["role"],
                              identifiers=pb.Identifiers(**ids)))
    return out


def create(client: BrokerClient, home: Home, referral_id: str, rag: str = "red",
           n: int = 0) -> rpb.Referral:
    """Record a referral for demo household `n`."""
    referral: rpb.Referral = client.referrals("CreateReferral", rpb.CreateReferralRequest(
        referral_id=referral_id, source="police", rag=rag,
        reason="Police attended a domestic incident; children present.",
        subjects=demo_household(home, n)))
    return referral


def refused(call: object) -> grpc.RpcError:
    """The gRPC error a call raised (fails the test if it succeeded)."""
    assert isinstance(call, grpc.RpcError), f"expected a refusal, got {call!r}"
    return call


def error_of(client: BrokerClient, method: str, request: object) -> grpc.RpcError:
    """Call and return the refusal."""
    try:
        client.referrals(method, request)  # type: ignore[arg-type]
    except grpc.RpcError as exc:
        return exc
    raise AssertionError(f"{method} was not refused")


def test_create_get_list_and_search(home: Home, sw: BrokerClient) -> None:
    created = create(sw, home, "REF-API-1")
    assert created.status == "screening" and created.rag == "red"
    assert created.recorded_by == "sw-104"
    assert created.timescale in ("on_track", "at_risk")
    got: rpb.Referral = sw.referrals("GetReferral", rpb.GetReferralRequest(
        referral_id="REF-API-1"))
    assert [s.subject_id for s in got.subjects] == [s.subject_id for s in created.subjects]
    listed = sw.referrals("ListReferrals", rpb.ListReferralsRequest())
    assert "REF-API-1" in [r.referral_id for r in listed.referrals]
    child = created.subjects[0].identifiers
    for query in (child.family_name.upper(), child.date_of_birth, "REF-API-1"):
        found = sw.referrals("ListReferrals", rpb.ListReferralsRequest(query=query))
        assert "REF-API-1" in [r.referral_id for r in found.referrals], query
    none = sw.referrals("ListReferrals", rpb.ListReferralsRequest(query="Zzyzxqq"))
    assert "REF-API-1" not in [r.referral_id for r in none.referrals]


def test_bad_input_is_refused_naming_each_field_and_the_valid_values(
        home: Home, sw: BrokerClient) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    bad = rpb.CreateReferralRequest(
        referral_id="REF-API-BAD", source="neighbour", rag="purple", reason="x",
        received_at=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
        subjects=[
            pb.Subject(role="child", identifiers=pb.Identifiers(
                given_name="Ada", family_name="Testerby", date_of_birth="30/04/2014",
                sex="boy", nhs_number="9434765918")),   # check digit should be 9
            pb.Subject(role="parent_carer", identifiers=pb.Identifiers(
                family_name="Testerby", date_of_birth=tomorrow, nhs_number="943476591")),
            pb.Subject(role="child", identifiers=pb.Identifiers(given_name="NoKey")),
            pb.Subject(role="uncle", identifiers=pb.Identifiers(
                family_name="Testerby", upn="A801200100002")),
        ])
    exc = error_of(sw, "CreateReferral", bad)
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    message = exc.details() or ""
    for expected in (
        "source: 'neighbour' is not one of police, school",
        "rag: 'purple' is not one of red, amber, green",
        "received_at: must not be in the future",
        "subjects[0].identifiers.date_of_birth: '30/04/2014' is not an ISO 8601 date",
        "subjects[0].identifiers.sex: 'boy' is not one of female, male, unknown",
        "subjects[0].identifiers.nhs_number: the check digit does not match (mod 11)",
        "subjects[1].identifiers.date_of_birth: " + tomorrow + " is in the future",
        "subjects[1].identifiers.nhs_number: an NHS number is 10 digits",
        "subjects[2].identifiers.identifiers: give at least one identifier",
        "subjects[3].role: 'uncle' is not one of child, parent_carer",
        "subjects[3].identifiers.upn: the check letter does not match",
    ):
        assert expected in message, (expected, message)
    # Nothing was recorded.
    missing = error_of(sw, "GetReferral", rpb.GetReferralRequest(referral_id="REF-API-BAD"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_names_in_any_script_and_a_valid_nhs_number_and_upn_are_accepted(
        home: Home, sw: BrokerClient) -> None:
    created: rpb.Referral = sw.referrals("CreateReferral", rpb.CreateReferralRequest(
        referral_id="REF-API-SCRIPT", source="school", rag="green", reason="Attendance.",
        subjects=[pb.Subject(role="child", identifiers=pb.Identifiers(
            given_name="Zoë", family_name="Nowak-Łukasiewicz", other_names=["Юлия", "小明"],
            date_of_birth="2014-04-30", sex="Female", nhs_number="943 476 5919",
            upn="F801200100001"))]))
    ids = created.subjects[0].identifiers
    assert (ids.given_name, ids.family_name) == ("Zoë", "Nowak-Łukasiewicz")
    assert list(ids.other_names) == ["Юлия", "小明"]
    assert (ids.nhs_number, ids.sex, created.subjects[0].subject_id) == (
        "9434765919", "female", "child-1")
    found = sw.referrals("ListReferrals", rpb.ListReferralsRequest(query="юлия"))
    assert [r.referral_id for r in found.referrals] == ["REF-API-SCRIPT"]


def test_edit_adds_corrects_and_removes_subjects_with_history(
        home: Home, sw: BrokerClient) -> None:
    created = create(sw, home, "REF-API-EDIT")
    first = created.subjects[0]
    corrected = pb.Subject(subject_id=first.subject_id, role=first.role,
                           identifiers=first.identifiers)
    corrected.identifiers.postcode = "zz99 9zz"
    edited: rpb.Referral = sw.referrals("EditReferral", rpb.EditReferralRequest(
        referral_id="REF-API-EDIT", note="sibling found at school", put_subjects=[
            corrected,
            pb.Subject(role="child", identifiers=pb.Identifiers(
                given_name="Sam", family_name="Newsibling", date_of_birth="2019-01-02"))]))
    by_id = {s.subject_id: s for s in edited.subjects}
    assert by_id[first.subject_id].identifiers.postcode == "ZZ99 9ZZ"
    added = [s for s in edited.subjects if s.identifiers.family_name == "Newsibling"]
    assert len(added) == 1 and added[0].subject_id.startswith("child-")
    removed: rpb.Referral = sw.referrals("EditReferral", rpb.EditReferralRequest(
        referral_id="REF-API-EDIT", remove_subject_ids=[added[0].subject_id]))
    assert added[0].subject_id not in {s.subject_id for s in removed.subjects}
    changes = [(e.by, e.change) for e in removed.edits]
    assert ("sw-104", f"added subject {added[0].subject_id}") in changes
    assert ("sw-104", f"removed subject {added[0].subject_id}") in changes
    # No edit leaves a referral with nobody in it.
    exc = error_of(sw, "EditReferral", rpb.EditReferralRequest(
        referral_id="REF-API-EDIT", remove_subject_ids=[s.subject_id for s in removed.subjects]))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_lookup_summary_latest_answers_and_earlier_on_request(
        home: Home, sw: BrokerClient) -> None:
    create(sw, home, "REF-API-SUM")
    for _ in range(3):
        sw.referrals("Lookup", rpb.ReferralLookupRequest(referral_id="REF-API-SUM",
                                                         **CP_NOT_SOUGHT))
    response: rpb.SummaryResponse = sw.referrals("GetSummary", rpb.SummaryRequest(
        referral_id="REF-API-SUM"))
    report = json.loads(response.document)
    agencies = [a["agency"] for a in report["agencies"]]
    assert len(agencies) == len(set(agencies)) == 5  # one block per agency, not 15
    assert response.earlier_answers == report["earlier_answers"] == 10
    assert "earlier_agencies" not in report
    latest_lookup = response.lookup_ids[-1]
    assert {a["lookup_id"] for a in report["agencies"]} == {latest_lookup}
    full = json.loads(sw.referrals("GetSummary", rpb.SummaryRequest(
        referral_id="REF-API-SUM", include_earlier=True)).document)
    assert len(full["earlier_agencies"]) == 10
    assert latest_lookup not in {a["lookup_id"] for a in full["earlier_agencies"]}
    # Each read is in the broker's audit log, by the token's staff id.
    viewed = [json.loads(r) for r in audit_rows(home.audit_log("broker-mash-demo"),
                                                "REF-API-SUM")]
    views = [v for v in viewed if v.get("kind") == "summary_viewed"]
    assert len(views) == 2 and {v["actor_id"] for v in views} == {"sw-104"}


def test_a_manager_decides_all_pending_reviews_of_a_referral_at_once(
        home: Home, sw: BrokerClient, tm: BrokerClient) -> None:
    create(sw, home, "REF-API-REV", rag="amber")
    sw.referrals("Lookup", rpb.ReferralLookupRequest(referral_id="REF-API-REV",
                                                     **CP_NOT_SOUGHT))
    pending = tm.list_reviews("pending", "REF-API-REV")
    assert len(pending) >= 2, "amber without consent holds the request for review"
    got: rpb.Referral = sw.referrals("GetReferral", rpb.GetReferralRequest(
        referral_id="REF-API-REV"))
    assert got.pending_reviews == len(pending)
    # A social worker cannot decide them.
    exc = error_of(sw, "DecideReviews", rpb.DecideReviewsRequest(
        referral_id="REF-API-REV", approve=True, reason="urgent"))
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    # A manager must give a reason.
    exc = error_of(tm, "DecideReviews", rpb.DecideReviewsRequest(
        referral_id="REF-API-REV", approve=True))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert tm.list_reviews("pending", "REF-API-REV") == pending
    decided: rpb.DecideReviewsResponse = tm.referrals("DecideReviews", rpb.DecideReviewsRequest(
        referral_id="REF-API-REV", approve=True, reason="Pattern of DA; delay would harm"))
    assert {d.review.review_id for d in decided.decisions} == {r.review_id for r in pending}
    assert all(d.review.status == "approved" and d.review.decided_by == "tm-310"
               for d in decided.decisions)
    assert all(d.filed_lookup_id for d in decided.decisions)
    assert tm.list_reviews("pending", "REF-API-REV") == []
    report = json.loads(tm.referrals("GetSummary", rpb.SummaryRequest(
        referral_id="REF-API-REV")).document)
    released = {d.result.agency for d in decided.decisions}
    statuses = {a["agency"]: a["status"] for a in report["agencies"]}
    assert all(statuses[a] != "pending_review" for a in released)


def test_rerate_that_asks_nothing_new_says_so(home: Home, sw: BrokerClient) -> None:
    create(sw, home, "REF-API-RR", rag="amber")
    sw.referrals("Lookup", rpb.ReferralLookupRequest(
        referral_id="REF-API-RR", purpose="child_protection_enquiry",
        consent=pb.Consent(state="given")))
    raised: rpb.RerateResponse = sw.referrals("Rerate", rpb.RerateRequest(
        referral_id="REF-API-RR", rag="red", reason="escalated"))
    assert raised.refetch.outcome == "nothing_new"
    assert raised.refetch.message == "nothing newly permitted: no agency asked again"
    assert raised.referral.rag == "red"
    assert [(h.rag, h.by) for h in raised.referral.rag_history] == [
        ("amber", "sw-104"), ("red", "sw-104")]
    lowered: rpb.RerateResponse = sw.referrals("Rerate", rpb.RerateRequest(
        referral_id="REF-API-RR", rag="green", reason="clarified"))
    assert lowered.refetch.outcome == "lowered" and "no agency is asked" in \
        lowered.refetch.message


def test_decide_and_close(home: Home, sw: BrokerClient, tm: BrokerClient) -> None:
    create(sw, home, "REF-API-DEC")
    exc = error_of(sw, "Decide", rpb.DecideRequest(
        referral_id="REF-API-DEC", level_of_need="child_protection",
        outcome="strategy_discussion", rationale="x"))
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    exc = error_of(tm, "Decide", rpb.DecideRequest(
        referral_id="REF-API-DEC", level_of_need="severe", outcome="strategy_discussion",
        rationale="x"))
    assert "level_of_need: 'severe' is not one of universal, early_help" in (exc.details() or "")
    decided: rpb.Referral = tm.referrals("Decide", rpb.DecideRequest(
        referral_id="REF-API-DEC", level_of_need="child_protection",
        outcome="strategy_discussion", rationale="High-risk DA with children present"))
    assert decided.status == "decided" and decided.decisions[-1].by == "tm-310"
    closed: rpb.Referral = sw.referrals("SetStatus", rpb.SetStatusRequest(
        referral_id="REF-API-DEC", status="closed"))
    assert closed.status == "closed" and closed.timescale == ""
    exc = error_of(sw, "Lookup", rpb.ReferralLookupRequest(referral_id="REF-API-DEC",
                                                           **CP_NOT_SOUGHT))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "closed" in (exc.details() or "")


def test_timescale(sw: BrokerClient) -> None:
    response: rpb.TimescaleResponse = sw.referrals("Timescale", rpb.TimescaleRequest(
        rag="amber", received_at="2026-11-27T16:15:00+00:00",
        as_of="2026-11-30T10:00:00+00:00"))
    assert response.due == "2026-11-30T16:15:00+00:00"  # one working day, over the weekend
    assert response.working_hours == 8.5 or response.working_hours > 0
    assert response.state in ("on_track", "at_risk")


def test_purge_deletes_expired_parts_and_records_each_deletion(
        home: Home, cluster: Cluster, sw: BrokerClient, tm: BrokerClient) -> None:
    # Test set-up only: a summary filed 40 days ago, written as the broker would have.
    filed = SqliteReferralStore(referral_db_path(home),
                                clock=lambda: datetime.now(UTC) - timedelta(days=40))
    try:
        filed.create(new_referral("REF-API-PURGE"))
        filed.save_summary(full_summary(referral_id="REF-API-PURGE", lookup_id="LK-PURGE"),
                           RetentionByAgreement(default_days=30,
                                                days={"health-mash-dsa": 365}))
    finally:
        filed.close()
    exc = error_of(sw, "PurgeExpired", rpb.PurgeExpiredRequest())
    assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
    with BrokerClient(home, cluster.broker.address,
                      issue_token(home, sub="ig-1", role=Role.IG_LEAD)) as ig:
        purged: rpb.PurgeExpiredResponse = ig.referrals("PurgeExpired", rpb.PurgeExpiredRequest())
    mine = [d for d in purged.deleted if d.referral_id == "REF-API-PURGE"]
    assert sorted(d.agency for d in mine) == ["childrens_social_care", "education", "housing",
                                              "police"]
    events = [r.event for r in records_for_referral(home, "REF-API-PURGE")]
    deleted = [e for e in events if e.kind == EventKind.SUMMARY_DELETED]
    assert sorted(str(e.agency) for e in deleted) == sorted(d.agency for d in mine)
    assert all(e.lookup_id == "LK-PURGE" and e.agreement_id for e in deleted)
    report = json.loads(tm.referrals("GetSummary", rpb.SummaryRequest(
        referral_id="REF-API-PURGE")).document)
    assert {d["agency"] for d in report["deletions"]} == set(sorted(d.agency for d in mine))
    viewed = [e for e in (r.event for r in records_for_referral(home, "REF-API-PURGE"))
              if e.kind == EventKind.SUMMARY_VIEWED]
    assert [(v.actor_id, v.actor_role, v.outcome) for v in viewed] == [
        ("tm-310", "mash_team_manager", "json")]


def _broker_channel(home: Home, cluster: Cluster) -> grpc.Channel:
    """A staff client's mTLS channel to the broker (health and reflection need no token)."""
    from certs.names import PeerKind, Principal
    from certs.tls import channel_credentials, client_channel_options

    address = cluster.broker.address
    return grpc.secure_channel(address, channel_credentials(home, "client-staff"),
                               options=client_channel_options(
                                   Principal(PeerKind.BROKER, "mash-demo"), address))


def test_every_broker_service_answers_health_checks_and_is_listed_by_reflection(
        home: Home, cluster: Cluster) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    with _broker_channel(home, cluster) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "mash.v1.Broker", "mash.v1.Referrals", "mash.v1.Governance"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
        with pytest.raises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="mash.v1.Nothing"), timeout=10)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        replies = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        listed = {s.name for r in replies for s in r.list_services_response.service}
    assert {"mash.v1.Broker", "mash.v1.Referrals", "mash.v1.Governance",
            "grpc.health.v1.Health"} <= listed
