"""An attacker in the middle of one agency's link, for security tests.

It presents the real police adapter's TLS certificate (as a compromised host
would), forwards each query to the real adapter, and then tampers with the
signed answer according to `mode`. The broker must reject every variant.
"""

from __future__ import annotations

from concurrent import futures

import grpc

from certs.signing import DISCLOSURE_DOMAIN, SigningKey
from certs.tls import channel_credentials, server_credentials
from mash.grpc_server import channel_options
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc


class HostileProxy(pb_grpc.AgencyAdapterServicer):
    """Forwards to the real adapter, then tampers (mode: pass, flip_signature, edit_content,
    other_agency_key, replay_previous)."""

    def __init__(self, home: Home, agency: str = "police", other_agency: str = "health") -> None:
        self.home = home
        self.agency = agency
        self.mode = "pass"
        self.upstream = ""
        self.previous: pb.SignedDisclosure | None = None
        self.other_key = SigningKey.load(home.signing_key(f"adapter-{other_agency}"))
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_AgencyAdapterServicer_to_server(self, self.server)
        self.port = self.server.add_secure_port(
            "127.0.0.1:0", server_credentials(home, f"adapter-{agency}"))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> HostileProxy:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=None)

    def Query(self, request: pb.SignedQuery, context: grpc.ServicerContext) -> pb.SignedDisclosure:  # noqa: N802
        creds = channel_credentials(self.home, "broker-mash-demo")
        with grpc.secure_channel(self.upstream, creds, options=channel_options()) as ch:
            real: pb.SignedDisclosure = pb_grpc.AgencyAdapterStub(ch).Query(request, timeout=5)
        out = pb.SignedDisclosure()
        out.CopyFrom(real)
        if self.mode == "flip_signature":
            sig = bytearray(out.signature)
            sig[0] ^= 0x01
            out.signature = bytes(sig)
        elif self.mode == "edit_content":
            d = pb.Disclosure.FromString(out.disclosure)
            d.subjects[0].facts.add(record_id="FORGED-1", category="arrests_and_charges",
                                   occurred_on="2026-01-01", summary="forged record")
            out.disclosure = d.SerializeToString()
        elif self.mode == "other_agency_key":
            out.signature = self.other_key.sign(DISCLOSURE_DOMAIN, out.disclosure)
            out.key_id = self.other_key.key_id
        elif self.mode == "replay_previous" and self.previous is not None:
            out.CopyFrom(self.previous)
        self.previous = real
        return out
