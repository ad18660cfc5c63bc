"""Parallel calls to agency adapters over mTLS, each bounded by the lookup's deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from broker.config import AdapterEndpoint
from certs.names import PeerKind, Principal
from certs.tls import channel_credentials, client_channel_options
from mash.home import Home
from mash.logs import get_logger
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.v1 import research_pb2 as rpb
from mash.v1 import research_pb2_grpc as rpb_grpc
from mash.vocab import Agency, AgencyStatus

log = get_logger("broker")


@dataclass(frozen=True)
class CallOutcome:
    """What came back from one adapter: a signed response, or a status saying why not."""

    response: pb.SignedDisclosure | None
    status: AgencyStatus
    reason_code: str
    reason_text: str
    latency_ms: float


_FAILURES: dict[grpc.StatusCode, tuple[AgencyStatus, str, str]] = {
    grpc.StatusCode.DEADLINE_EXCEEDED: (
        AgencyStatus.TIMED_OUT, "deadline_exceeded", "no answer before the lookup's deadline"),
    grpc.StatusCode.UNAVAILABLE: (
        AgencyStatus.UNAVAILABLE, "adapter_unavailable", "the agency's adapter could not be reached"),
    grpc.StatusCode.PERMISSION_DENIED: (
        AgencyStatus.WITHHELD, "adapter_refused", "the agency's adapter refused the query"),
    grpc.StatusCode.UNAUTHENTICATED: (
        AgencyStatus.WITHHELD, "adapter_refused", "the agency's adapter refused the query"),
}


#: How long past the gRPC deadline a call may take before it is abandoned as timed out.
_GRACE_S = 0.25


def _timed_out(start: float) -> CallOutcome:
    status, code, text = _FAILURES[grpc.StatusCode.DEADLINE_EXCEEDED]
    return CallOutcome(None, status, code, text, (time.perf_counter() - start) * 1000)


class AdapterClients:
    """One long-lived mTLS channel per configured adapter, each checking who answers.

    Each channel's TLS target name is the adapter it means to call (`certs.tls.target_name`):
    a server whose certificate does not carry that name, such as another agency's adapter
    or a staff workstation, fails the handshake, so no byte of a query ever reaches it.
    """

    def __init__(self, home: Home, client_name: str, endpoints: Sequence[AdapterEndpoint],
                 max_message_bytes: int) -> None:
        self._home, self._client_name = home, client_name
        self._endpoints, self._max_message_bytes = tuple(endpoints), max_message_bytes
        self._channels, self._stubs, self._delivery = self._connect()

    def _connect(self) -> tuple[dict[Agency, grpc.aio.Channel],
                                dict[Agency, pb_grpc.AgencyAdapterStub],
                                dict[Agency, rpb_grpc.ResearchDeliveryStub]]:
        creds = channel_credentials(self._home, self._client_name)
        channels: dict[Agency, grpc.aio.Channel] = {}
        stubs: dict[Agency, pb_grpc.AgencyAdapterStub] = {}
        delivery: dict[Agency, rpb_grpc.ResearchDeliveryStub] = {}
        for e in self._endpoints:
            expected = Principal(PeerKind.ADAPTER, e.agency.value)
            options = client_channel_options(expected, e.address, e.server_name,
                                              self._max_message_bytes)
            channel = grpc.aio.secure_channel(e.address, creds, options=options)
            channels[e.agency] = channel
            stubs[e.agency] = pb_grpc.AgencyAdapterStub(channel)
            delivery[e.agency] = rpb_grpc.ResearchDeliveryStub(channel)
        return channels, stubs, delivery

    async def renew(self, grace_s: float = 10.0) -> None:
        """Dial every adapter again with the certificate now on disk (after its renewal).

        New calls take the new channels at once; calls in flight on the old ones finish
        (within `grace_s`) before those close.
        """
        old = self._channels
        self._channels, self._stubs, self._delivery = self._connect()
        for channel in old.values():
            await channel.close(grace=grace_s)

    async def call(self, agency: Agency, signed: pb.SignedQuery, timeout_s: float) -> CallOutcome:
        """Send one signed query; never raises, never waits past `timeout_s`."""
        start = time.perf_counter()
        try:
            # gRPC's own deadline ends the call; this guard only bounds a stuck channel.
            return await asyncio.wait_for(self._send(agency, signed, timeout_s), timeout_s + _GRACE_S)
        except TimeoutError:
            return _timed_out(start)

    async def fan_out(
        self, calls: Sequence[tuple[Agency, pb.SignedQuery | None]], timeout_s: float
    ) -> dict[Agency, CallOutcome]:
        """All calls in parallel; returns an outcome for every agency asked."""
        real = [(a, q) for a, q in calls if q is not None]
        if not real:
            return {}
        start = time.perf_counter()
        # One guard for the whole fan-out rather than a wait_for (a task and a timer) per call.
        tasks = [asyncio.ensure_future(self._send(a, q, timeout_s)) for a, q in real]
        done, pending = await asyncio.wait(tasks, timeout=timeout_s + _GRACE_S)
        for task in pending:
            task.cancel()
        return {a: (t.result() if t in done else _timed_out(start))
                for (a, _), t in zip(real, tasks, strict=True)}

    async def _send(self, agency: Agency, signed: pb.SignedQuery, timeout_s: float) -> CallOutcome:
        """One call bounded by gRPC's deadline; failures become outcomes, never exceptions."""
        start = time.perf_counter()
        try:
            response = await self._stubs[agency].Query(signed, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            status, code, text = _FAILURES.get(
                exc.code(), (AgencyStatus.UNAVAILABLE, "adapter_error",
                             "the agency's adapter returned an error"))
            return CallOutcome(None, status, code, text, (time.perf_counter() - start) * 1000)
        return CallOutcome(response, AgencyStatus.DISCLOSED, "", "", (time.perf_counter() - start) * 1000)

    async def collect(self, agency: Agency, request: rpb.CollectRequest,
                      timeout_s: float) -> rpb.CollectResponse | None:
        """Ask `agency`'s adapter for a researcher's answer; None when it cannot say now
        (unreachable, refused, not configured here): the query stays pending."""
        stub = self._delivery.get(agency)
        if stub is None:
            return None
        try:
            response: rpb.CollectResponse = await stub.Collect(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            log.warning("research_collect_failed", agency=str(agency), code=exc.code().name)
            return None
        return response

    async def close(self) -> None:
        """Close every channel."""
        for channel in self._channels.values():
            await channel.close()
