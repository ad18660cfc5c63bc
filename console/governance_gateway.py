"""The broker's `Governance` service as the IG lead's pages see it.

The console never opens an access log, the review trail or a policy file: each page asks the
broker over the shared mTLS channel with the signed-in IG lead's own token, and the broker
records the use under that lead's id before it answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.broker_gateway import TokenCalls
from mash.v1 import governance_pb2 as gpb
from mash.v1 import governance_pb2_grpc as gpb_grpc


@dataclass
class GovernanceGateway(TokenCalls):
    """Calls to `mash.v1.Governance`, each with the user's token."""

    def _stub_of(self) -> object:
        return gpb_grpc.GovernanceStub(self.channel)

    def search(self, token: str, request: gpb.SearchAccessLogRequest
               ) -> gpb.SearchAccessLogResponse:
        """Entries naming a person, by a staff member, of a referral, within a time."""
        reply: gpb.SearchAccessLogResponse = self._call("SearchAccessLog", token, request)
        return reply

    def history(self, token: str, person: gpb.Person) -> gpb.AccessHistoryResponse:
        """Who has looked at this person, newest first."""
        reply: gpb.AccessHistoryResponse = self._call(
            "AccessHistory", token, gpb.AccessHistoryRequest(person=person))
        return reply

    def sar(self, token: str, person: gpb.Person, fmt: str) -> gpb.SubjectAccessReportResponse:
        """The subject access report (json or html)."""
        reply: gpb.SubjectAccessReportResponse = self._call(
            "SubjectAccessReport", token,
            gpb.SubjectAccessReportRequest(person=person, format=fmt))
        return reply

    def reviews(self, token: str) -> gpb.ListBreakGlassReviewsResponse:
        """Break-glass uses and consent overrides to review, and those signed off."""
        reply: gpb.ListBreakGlassReviewsResponse = self._call(
            "ListBreakGlassReviews", token,
            gpb.ListBreakGlassReviewsRequest(include_signed_off=True))
        return reply

    def sign_off(self, token: str, ref: str, finding: str, note: str) -> gpb.BreakGlassReview:
        """Record the signed-in IG lead's finding on one item."""
        reply: gpb.SignOffReviewResponse = self._call(
            "SignOffReview", token, gpb.SignOffReviewRequest(ref=ref, finding=finding, note=note))
        return reply.review

    def verify(self, token: str) -> gpb.VerifyLogsResponse:
        """Every party's log verified now."""
        reply: gpb.VerifyLogsResponse = self._call("VerifyLogs", token, gpb.VerifyLogsRequest())
        return reply

    def agreements(self, token: str) -> gpb.ListAgreementsResponse:
        """The agreements the broker applies, with their standing."""
        reply: gpb.ListAgreementsResponse = self._call(
            "ListAgreements", token, gpb.ListAgreementsRequest())
        return reply

    def drafts(self, token: str) -> gpb.ListDraftsResponse:
        """Drafts awaiting approval with what each would change."""
        reply: gpb.ListDraftsResponse = self._call("ListDrafts", token, gpb.ListDraftsRequest())
        return reply
