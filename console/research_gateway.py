"""The console's way to an agency's researcher queue: the adapter's `Research` service, over
gRPC with mTLS and the console's client certificate, each call carrying the signed-in
researcher's own certificate-bound token (the adapter decides who they are from it)."""

from __future__ import annotations

import grpc

from certs.names import PeerKind, Principal
from certs.tls import channel_credentials, client_channel_options
from console.broker_gateway import BrokerRefused
from mash.home import Home
from mash.v1 import research_pb2 as rpb
from mash.v1 import research_pb2_grpc as rpb_grpc


class ResearchRefused(BrokerRefused):
    """The adapter refused or failed a call; `message` is short and safe to show."""


class ResearchGateway:
    """One channel to one agency's adapter; tokens travel per call."""

    def __init__(self, home: Home, agency: str, address: str, certificate_name: str,
                 server_name: str | None = None, timeout_s: float = 30.0) -> None:
        """The `agency` adapter at `address`: its certificate must name it before any call."""
        self.agency = agency
        expected = Principal(PeerKind.ADAPTER, agency)
        self._channel = grpc.secure_channel(
            address, channel_credentials(home, certificate_name),
            options=client_channel_options(expected, address, server_name))
        self._stub = rpb_grpc.ResearchStub(self._channel)
        self.timeout_s = timeout_s

    def _call(self, method: str, token: str, request: object) -> object:
        try:
            return getattr(self._stub, method)(
                request, metadata=(("authorization", f"Bearer {token}"),),
                timeout=self.timeout_s)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            details = exc.details() if hasattr(exc, "details") else ""
            raise ResearchRefused(code, str(details or code.name)[:300]) from None

    def list_items(self, token: str, state: str = "pending") -> list[rpb.ResearchItem]:
        """The researcher's MASH's items, earliest due first."""
        reply = self._call("ListItems", token, rpb.ListResearchRequest(state=state))
        if not isinstance(reply, rpb.ListResearchResponse):
            raise ResearchRefused(grpc.StatusCode.INTERNAL, "unexpected reply")
        return list(reply.items)

    def get_item(self, token: str, item_id: str) -> rpb.ResearchItem:
        """One item with its subjects (the adapter audits the read)."""
        reply = self._call("GetItem", token, rpb.GetResearchRequest(item_id=item_id))
        if not isinstance(reply, rpb.ResearchItem):
            raise ResearchRefused(grpc.StatusCode.INTERNAL, "unexpected reply")
        return reply

    def answer(self, token: str, request: rpb.AnswerResearchRequest) -> rpb.ResearchItem:
        """Record the researcher's answer; the adapter signs it for the MASH that asked."""
        reply = self._call("Answer", token, request)
        if not isinstance(reply, rpb.ResearchItem):
            raise ResearchRefused(grpc.StatusCode.INTERNAL, "unexpected reply")
        return reply

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()
