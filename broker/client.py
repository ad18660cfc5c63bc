"""A staff client of the broker: mTLS with a client certificate plus a bearer token.

Before the token or the request is sent, the TLS handshake proves the server holds the
broker's certificate (`certs.tls.target_name`): anyone else with a certificate from the
same CA, a staff workstation or an adapter, fails the handshake and sees nothing.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf.message import Message

from certs.names import PeerKind, Principal
from certs.tls import channel_credentials, client_channel_options
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.v1 import referrals_pb2_grpc as rpb_grpc


class BrokerClient:
    """Blocking client for the Broker service (CLI, demo, tests)."""

    def __init__(self, home: Home, address: str, token: str, client_name: str = "client-staff",
                 timeout_s: float = 30.0, *, broker_id: str = "mash-demo",
                 server_name: str | None = None) -> None:
        """Connect to broker `broker_id` at `address`; its certificate must carry `server_name`
        (default: the host of `address`; on loopback, the broker's per-party demo name)."""
        expected = Principal(PeerKind.BROKER, broker_id)
        self._channel = grpc.secure_channel(
            address, channel_credentials(home, client_name),
            options=client_channel_options(expected, address, server_name))
        self._stub = pb_grpc.BrokerStub(self._channel)
        self._referrals = rpb_grpc.ReferralsStub(self._channel)
        self._metadata = (("authorization", f"Bearer {token}"),)
        self.timeout_s = timeout_s

    def lookup(self, request: pb.LookupRequest) -> pb.ReferralSummary:
        """Run one lookup (raises grpc.RpcError with a short status message on refusal)."""
        response: pb.ReferralSummary = self._stub.Lookup(
            request, metadata=self._metadata, timeout=self.timeout_s)
        return response

    def list_reviews(self, status: str = "pending", referral_id: str = "") -> list[pb.Review]:
        """Requests held for review (team managers)."""
        response: pb.ListReviewsResponse = self._stub.ListReviews(
            pb.ListReviewsRequest(status=status, referral_id=referral_id),
            metadata=self._metadata, timeout=self.timeout_s)
        return list(response.reviews)

    def decide_review(self, review_id: str, *, approve: bool,
                      reason: str) -> pb.DecideReviewResponse:
        """Approve (releasing the query) or reject a held request, with a reason."""
        response: pb.DecideReviewResponse = self._stub.DecideReview(
            pb.DecideReviewRequest(review_id=review_id, approve=approve, reason=reason),
            metadata=self._metadata, timeout=self.timeout_s)
        return response

    def referrals(self, method: str, request: Message) -> Any:
        """Call `Referrals.<method>` with `request` (raises grpc.RpcError on refusal)."""
        return getattr(self._referrals, method)(request, metadata=self._metadata,
                                                timeout=self.timeout_s)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
