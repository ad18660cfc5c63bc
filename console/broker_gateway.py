"""The console's only way to the broker: gRPC over mTLS with the console's client certificate,
each call carrying the signed-in user's own (certificate-bound) token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from certs.names import PeerKind, Principal
from certs.tls import channel_credentials, client_channel_options
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc


class BrokerRefused(Exception):
    """The broker refused or failed a call; `message` is short and safe to show."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TokenCalls:
    """A gRPC service called over a shared channel, each call with the user's own token."""

    channel: grpc.Channel
    timeout_s: float = 60.0

    def _stub_of(self) -> object:
        raise NotImplementedError  # each gateway names its service's stub

    def __post_init__(self) -> None:
        self._stub = self._stub_of()

    def _call(self, method: str, token: str, request: Message) -> Any:  # grpc stubs are untyped
        """`<service>.<method>(request)` as the token's user; a refusal is `BrokerRefused`."""
        try:
            return getattr(self._stub, method)(
                request, metadata=(("authorization", f"Bearer {token}"),), timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise _refused(exc) from None


class BrokerGateway:
    """One channel to the broker, shared by every signed-in user; tokens travel per call."""

    def __init__(self, home: Home, address: str, certificate_name: str,
                 timeout_s: float = 60.0, *, broker_id: str = "mash-demo",
                 server_name: str | None = None) -> None:
        """The broker `broker_id` at `address`: its certificate must carry `server_name`
        (default: the host of `address`; on loopback, its demo name) before any call is sent."""
        expected = Principal(PeerKind.BROKER, broker_id)
        self._channel = grpc.secure_channel(
            address, channel_credentials(home, certificate_name),
            options=client_channel_options(expected, address, server_name))
        self._stub = pb_grpc.BrokerStub(self._channel)
        self.timeout_s = timeout_s

    @property
    def channel(self) -> grpc.Channel:
        """The mTLS channel (shared with the Referrals client)."""
        return self._channel

    @staticmethod
    def _metadata(token: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token}"),)

    def lookup(self, token: str, request: pb.LookupRequest) -> pb.ReferralSummary:
        """Run one lookup as the user whose token this is."""
        try:
            reply: pb.ReferralSummary = self._stub.Lookup(
                request, metadata=self._metadata(token), timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise _refused(exc) from None
        return reply

    def list_reviews(self, token: str, status: str = "pending",
                     referral_id: str = "") -> list[pb.Review]:
        """Requests held for a team manager's review."""
        try:
            reply: pb.ListReviewsResponse = self._stub.ListReviews(
                pb.ListReviewsRequest(status=status, referral_id=referral_id),
                metadata=self._metadata(token), timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise _refused(exc) from None
        return list(reply.reviews)

    def decide_review(self, token: str, review_id: str, *, approve: bool,
                      reason: str) -> pb.DecideReviewResponse:
        """Approve (releasing the held query) or reject one held request."""
        try:
            reply: pb.DecideReviewResponse = self._stub.DecideReview(
                pb.DecideReviewRequest(review_id=review_id, approve=approve, reason=reason),
                metadata=self._metadata(token), timeout=self.timeout_s)
        except grpc.RpcError as exc:
            raise _refused(exc) from None
        return reply

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


def _refused(exc: grpc.RpcError) -> BrokerRefused:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else ""
    return BrokerRefused(code, str(details or code.name)[:300])
