"""Baseline for the lookup benchmark: plain gRPC fan-out to four no-op servers.

Same processes, same mTLS, same messages as the real system, but no policy,
signing, matching or audit log: what is left is the cost of gRPC fan-out itself.
Run as `python -m bench.noop_servers --role adapter|broker ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import TypeVar

import grpc

from certs.names import PeerKind, Principal
from certs.tls import channel_credentials, client_channel_options, server_credentials
from mash import aio, grpc_server
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc

_Response = TypeVar("_Response")


class NoopAdapter(pb_grpc.AgencyAdapterServicer):
    """Answers every query with an empty disclosure."""

    async def Query(self, request: pb.SignedQuery, context: grpc.aio.ServicerContext) -> pb.SignedDisclosure:  # noqa: N802
        return pb.SignedDisclosure(disclosure=b"", signature=b"", key_id="noop")


def _no_reviews(context: grpc.aio.ServicerContext, empty: _Response) -> _Response:
    """UNIMPLEMENTED: the no-op broker holds no reviews (it only times the fan-out)."""
    context.set_code(grpc.StatusCode.UNIMPLEMENTED)
    context.set_details("the no-op broker holds no reviews")
    return empty


class NoopBroker(pb_grpc.BrokerServicer):
    """Fans each lookup out to every adapter in parallel and returns an empty summary."""

    def __init__(self, stubs: list[pb_grpc.AgencyAdapterStub]) -> None:
        self.stubs = stubs

    async def Lookup(  # noqa: N802
        self, request: pb.LookupRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReferralSummary:
        query = pb.Query(referral_id=request.referral_id, subjects=request.subjects)
        signed = pb.SignedQuery(query=query.SerializeToString())
        await asyncio.gather(*(s.Query(signed, timeout=5) for s in self.stubs))
        return pb.ReferralSummary(referral_id=request.referral_id)

    async def ListReviews(  # noqa: N802
        self, request: pb.ListReviewsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReviewsResponse:
        return _no_reviews(context, pb.ListReviewsResponse())

    async def DecideReview(  # noqa: N802
        self, request: pb.DecideReviewRequest, context: grpc.aio.ServicerContext
    ) -> pb.DecideReviewResponse:
        return _no_reviews(context, pb.DecideReviewResponse())


async def _serve(args: argparse.Namespace) -> None:
    home = Home.at(args.home)
    server = grpc_server.build_server()
    if args.role == "adapter":
        pb_grpc.add_AgencyAdapterServicer_to_server(NoopAdapter(), server)
        name = "adapter-police"
    else:
        creds = channel_credentials(home, "broker-mash-demo")
        police = Principal(PeerKind.ADAPTER, "police")
        channels = [grpc.aio.secure_channel(a, creds, options=client_channel_options(police, a))
                    for a in args.adapter]
        pb_grpc.add_BrokerServicer_to_server(
            NoopBroker([pb_grpc.AgencyAdapterStub(c) for c in channels]), server)
        name = "broker-mash-demo"
    port = server.add_secure_port("127.0.0.1:0", server_credentials(home, name))
    await server.start()
    grpc_server.write_port_file(home.run_dir / f"noop-{args.name}.port", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["adapter", "broker"], required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--adapter", action="append", default=[])
    aio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
