"""The broker's `Governance` API, the IG lead's only way to the logs and agreements: real
broker and adapters over mTLS, real tokens, real logs and policy files in the home."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import grpc
import pytest

from audit.query import SearchFilter, search
from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import governance_pb2 as gpb
from mash.v1 import governance_pb2_grpc as gpb_grpc
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.vocab import Role
from policy.approval import agreements_dir
from policy.drafts import drafts_dir
from tests.integration.helpers import demo_subjects

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

#: A valid (check digit) synthetic NHS number the lookup gives for the demo child.
NHS_NUMBER = "9434765919"
GLASS = "Child seen with injuries tonight; manager unreachable; strategy meeting at 9am"


class Governance:
    """A client of the running broker's Governance service holding one staff token."""

    def __init__(self, home: Home, cluster: Cluster, sub: str, role: Role) -> None:
        self._client = BrokerClient(home, cluster.broker.address,
                                    issue_token(home, sub=sub, role=role))
        self._stub = gpb_grpc.GovernanceStub(self._client._channel)
        self._meta = self._client._metadata

    def __call__(self, method: str, request: object) -> object:
        return getattr(self._stub, method)(request, metadata=self._meta, timeout=60)

    def close(self) -> None:
        self._client.close()


@pytest.fixture()
def ig(home: Home, cluster: Cluster) -> Iterator[Governance]:
    """An IG lead."""
    g = Governance(home, cluster, "ig-401", Role.IG_LEAD)
    yield g
    g.close()


@pytest.fixture(scope="module")
def looked_up(home: Home, cluster: Cluster) -> str:
    """A referral recorded by sw-104 with a Red lookup made without consent, and a break-glass
    lookup: entries for the IG lead to find and review."""
    subjects = [pb.Subject(subject_id=s["subject_id"], role=s["role"], identifiers=pb.Identifiers(
        **{k: v for k, v in s["identifiers"].items() if v})) for s in demo_subjects(home, 0)]
    subjects[0].identifiers.nhs_number = NHS_NUMBER
    with BrokerClient(home, cluster.broker.address,
                      issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)) as sw:
        sw.referrals("CreateReferral", rpb.CreateReferralRequest(
            referral_id="REF-GOV-0001", source="police", rag="red",
            reason="Police attended a domestic incident.", subjects=subjects))
        sw.referrals("Lookup", rpb.ReferralLookupRequest(
            referral_id="REF-GOV-0001", purpose="child_in_need_assessment",
            consent=pb.Consent(state="refused", reason="risk_of_significant_harm"),
            break_glass=pb.BreakGlass(reason="risk_of_significant_harm", justification=GLASS)))
    return "REF-GOV-0001"


def _refused(call: object) -> grpc.RpcError:
    assert isinstance(call, grpc.RpcError), call
    return call


def _error(g: Governance, method: str, request: object) -> grpc.RpcError:
    try:
        g(method, request)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError(f"{method} was not refused")


def _child(home: Home) -> dict[str, str]:
    ids: dict[str, str] = {**demo_subjects(home, 0)[0]["identifiers"], "nhs_number": NHS_NUMBER}
    return ids


def test_only_an_ig_lead_may_call_any_method(home: Home, cluster: Cluster) -> None:
    service = gpb.DESCRIPTOR.services_by_name["Governance"]
    for role in (Role.MASH_SOCIAL_WORKER, Role.MASH_TEAM_MANAGER, Role.AUDITOR,
                 Role.AGENCY_RESEARCHER):
        g = Governance(home, cluster, "x-9", role)
        try:
            for method in service.methods:
                request = getattr(gpb, method.input_type.name)()
                exc = _error(g, method.name, request)
                assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, (role, method.name)
        finally:
            g.close()


def test_a_person_staff_member_and_referral_are_found_and_each_search_is_recorded(
        home: Home, ig: Governance, looked_up: str) -> None:
    child = _child(home)
    by_nhs = ig("SearchAccessLog", gpb.SearchAccessLogRequest(
        person=gpb.Person(nhs_number=child["nhs_number"])))
    assert isinstance(by_nhs, gpb.SearchAccessLogResponse)
    assert looked_up in {e.referral_id for e in by_nhs.entries}
    assert list(by_nhs.identifiers_used) == ["NHS number"]
    by_name = ig("SearchAccessLog", gpb.SearchAccessLogRequest(person=gpb.Person(
        given_name=child["given_name"], family_name=child["family_name"],
        date_of_birth=child["date_of_birth"])))
    assert isinstance(by_name, gpb.SearchAccessLogResponse)
    assert looked_up in {e.referral_id for e in by_name.entries}
    by_staff = ig("SearchAccessLog", gpb.SearchAccessLogRequest(staff_id="sw-104",
                                                                 referral_id=looked_up))
    assert isinstance(by_staff, gpb.SearchAccessLogResponse)
    assert by_staff.entries and {e.actor_id for e in by_staff.entries} == {"sw-104"}
    assert "lookup_requested" in {e.kind for e in by_staff.entries}
    later = ig("SearchAccessLog", gpb.SearchAccessLogRequest(referral_id=looked_up,
                                                             since="2999-01-01"))
    assert isinstance(later, gpb.SearchAccessLogResponse) and not later.entries
    history = ig("AccessHistory", gpb.AccessHistoryRequest(
        person=gpb.Person(nhs_number=child["nhs_number"])))
    assert isinstance(history, gpb.AccessHistoryResponse)
    assert "sw-104" in {e.actor_id for e in history.entries}
    uses = search(home, SearchFilter(requester="ig-401", logs=("ig",)))
    assert {"audit_searched"} <= {str(r.event.kind) for r in uses}
    # a person is in the IG log by pseudonym only, never by what was typed
    raw = json.dumps([r.to_json_dict() for r in uses])
    assert child["nhs_number"] not in raw and child["family_name"] not in raw


def test_bad_searches_name_the_field(ig: Governance) -> None:
    for request, field in (
        (gpb.SearchAccessLogRequest(), "person"),
        (gpb.SearchAccessLogRequest(person=gpb.Person(nhs_number="9434765918")),
         "person.nhs_number"),
        (gpb.SearchAccessLogRequest(person=gpb.Person(given_name="Ann", family_name="Bo")),
         "person.date_of_birth"),
        (gpb.SearchAccessLogRequest(referral_id="REF-1", since="last tuesday"), "since"),
        (gpb.SearchAccessLogRequest(referral_id="REF-1", limit=100_000), "limit"),
    ):
        exc = _error(ig, "SearchAccessLog", request)
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (exc.details() or "").startswith(f"{field}:"), exc.details()
    exc = _error(ig, "SubjectAccessReport", gpb.SubjectAccessReportRequest())
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_subject_access_report_lists_the_request_and_is_recorded(
        home: Home, ig: Governance, looked_up: str) -> None:
    child = _child(home)
    report = ig("SubjectAccessReport", gpb.SubjectAccessReportRequest(
        person=gpb.Person(nhs_number=child["nhs_number"]), format="json"))
    assert isinstance(report, gpb.SubjectAccessReportResponse)
    document = json.loads(report.document)
    assert looked_up in {r["referral_id"] for r in document["requests"]}
    assert report.requests == len(document["requests"])
    html = ig("SubjectAccessReport", gpb.SubjectAccessReportRequest(
        person=gpb.Person(nhs_number=child["nhs_number"]), format="html"))
    assert isinstance(html, gpb.SubjectAccessReportResponse) and looked_up in html.document
    produced = search(home, SearchFilter(requester="ig-401", logs=("ig",),
                                         kinds=("sar_produced",)))
    assert len(produced) >= 2


def test_a_break_glass_access_is_reviewed_and_signed_off_once(
        home: Home, ig: Governance, looked_up: str) -> None:
    queue = ig("ListBreakGlassReviews", gpb.ListBreakGlassReviewsRequest())
    assert isinstance(queue, gpb.ListBreakGlassReviewsResponse)
    mine = [i for i in queue.pending if i.entry.referral_id == looked_up and
            i.why == "break-glass"]
    assert mine  # one break-glass entry per agency the glass was broken for
    ref = mine[0].ref
    exc = _error(ig, "SignOffReview", gpb.SignOffReviewRequest(ref=ref, finding="fine"))
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "finding:" in (exc.details() or "") and "note:" in (exc.details() or "")
    signed = ig("SignOffReview", gpb.SignOffReviewRequest(
        ref=ref, finding="appropriate", note="Immediate risk; manager unreachable; proportionate."))
    assert isinstance(signed, gpb.SignOffReviewResponse)
    assert (signed.review.finding, signed.review.reviewed_by) == ("appropriate", "ig-401")
    again = _error(ig, "SignOffReview", gpb.SignOffReviewRequest(
        ref=ref, finding="inappropriate", note="second thoughts"))
    assert again.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "already signed off" in (again.details() or "")
    after = ig("ListBreakGlassReviews", gpb.ListBreakGlassReviewsRequest(include_signed_off=True))
    assert isinstance(after, gpb.ListBreakGlassReviewsResponse)
    assert {i.ref for i in after.pending} == {i.ref for i in queue.pending} - {ref}
    done = {i.ref: i for i in after.signed_off}
    assert done[ref].note.startswith("Immediate risk")
    trail = search(home, SearchFilter(requester="ig-401", logs=("ig",),
                                      kinds=("retrospective_review",)))
    assert [r.event.outcome for r in trail if r.event.referral_id == looked_up] == ["appropriate"]


def test_every_partys_log_verifies(ig: Governance, looked_up: str) -> None:
    result = ig("VerifyLogs", gpb.VerifyLogsRequest())
    assert isinstance(result, gpb.VerifyLogsResponse)
    assert result.intact, result.first_bad
    names = {v.log for v in result.logs}
    assert {"broker-mash-demo", "adapter-police"} <= names
    assert all(v.ok for v in result.logs)


def test_agreements_in_force_and_a_drafts_effect(home: Home, ig: Governance) -> None:
    listed = ig("ListAgreements", gpb.ListAgreementsRequest())
    assert isinstance(listed, gpb.ListAgreementsResponse)
    police = next(a for a in listed.agreements if a.agency == "police")
    assert police.applied and police.approval == "approved"
    assert len(police.approved_by) >= 2
    assert "child_protection_enquiry" in {p.purpose for p in police.purposes}

    none_yet = ig("ListDrafts", gpb.ListDraftsRequest())
    assert isinstance(none_yet, gpb.ListDraftsResponse)
    assert not [d for d in none_yet.drafts if d.source == "drafts"]
    staged = drafts_dir(home)
    staged.mkdir(parents=True, exist_ok=True)
    text = (agreements_dir(home) / "police.toml").read_text(encoding="utf-8")
    changed = text.replace('household_member = ["domestic_abuse_incidents", "arrests_and_charges"]',
                           'household_member = ["domestic_abuse_incidents"]', 1)
    changed = changed.replace("disclosed_summary_days = 730", "disclosed_summary_days = 365")
    assert changed != text
    (staged / "police.toml").write_text(changed, encoding="utf-8")
    try:
        drafts = ig("ListDrafts", gpb.ListDraftsRequest())
    finally:
        shutil.rmtree(staged)
    assert isinstance(drafts, gpb.ListDraftsResponse)
    draft = next(d for d in drafts.drafts if d.source == "drafts")
    assert draft.replaces_agreement_id == police.agreement_id
    assert draft.replaces_version == police.version
    assert draft.draft.approval == "altered"  # approvals of the old words do not carry over
    changes = {c.term: c for c in draft.changes}
    cats = changes["categories: child_protection_enquiry, about a household_member"]
    assert (list(cats.added), list(cats.removed)) == ([], ["arrests_and_charges"])
    kept = changes["disclosed summaries kept (days)"]
    assert (kept.before, kept.after) == ("730", "365")
    assert len(changes) == 2
