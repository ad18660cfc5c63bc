"""Fan-out with one guard for all calls: every agency gets an outcome, none waits past the guard."""

import asyncio

import grpc
import pytest

from broker.fanout import AdapterClients
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus


class _Stub:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def Query(self, signed: pb.SignedQuery, timeout: float) -> pb.SignedDisclosure:  # noqa: N802
        if self.behaviour == "hang":  # a stuck channel that ignores its deadline
            await asyncio.Event().wait()
        if self.behaviour == "down":
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(),
                                       grpc.aio.Metadata(), "down")
        return pb.SignedDisclosure(disclosure=signed.query, key_id="k")


def _clients(behaviours: dict[Agency, str]) -> AdapterClients:
    clients = object.__new__(AdapterClients)
    clients._channels = {}
    clients._stubs = {a: _Stub(b) for a, b in behaviours.items()}  # type: ignore[misc]
    return clients


def test_every_agency_gets_its_own_outcome() -> None:
    clients = _clients({Agency.POLICE: "ok", Agency.HEALTH: "down", Agency.EDUCATION: "hang"})
    calls = [(Agency.POLICE, pb.SignedQuery(query=b"q1")),
             (Agency.HEALTH, pb.SignedQuery(query=b"q2")),
             (Agency.EDUCATION, pb.SignedQuery(query=b"q3")),
             (Agency.HOUSING, None)]
    out = asyncio.run(clients.fan_out(calls, timeout_s=0.01))
    assert set(out) == {Agency.POLICE, Agency.HEALTH, Agency.EDUCATION}
    assert out[Agency.POLICE].status is AgencyStatus.DISCLOSED
    assert out[Agency.POLICE].response is not None and out[Agency.POLICE].response.disclosure == b"q1"
    assert out[Agency.HEALTH].status is AgencyStatus.UNAVAILABLE and out[Agency.HEALTH].response is None
    assert out[Agency.EDUCATION].status is AgencyStatus.TIMED_OUT
    assert out[Agency.EDUCATION].reason_code == "deadline_exceeded"


def test_nothing_to_send_is_no_outcome() -> None:
    assert asyncio.run(_clients({}).fan_out([(Agency.POLICE, None)], timeout_s=1)) == {}


@pytest.mark.parametrize(("behaviour", "status"), [
    ("ok", AgencyStatus.DISCLOSED), ("down", AgencyStatus.UNAVAILABLE),
    ("hang", AgencyStatus.TIMED_OUT)])
def test_a_single_call_maps_the_same_way(behaviour: str, status: AgencyStatus) -> None:
    clients = _clients({Agency.POLICE: behaviour})
    out = asyncio.run(clients.call(Agency.POLICE, pb.SignedQuery(query=b"q"), timeout_s=0.01))
    assert out.status is status
