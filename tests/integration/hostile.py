"""Hostile servers for security tests.

`HostileProxy` is an attacker in the middle of one agency's link. It presents the
real police adapter's TLS certificate (as a compromised host would), forwards each
query to the real adapter, and then tampers with the signed answer according to
`mode`. The broker must reject every variant.

`RecordingTlsServer` poses as a party with another party's valid certificate and
records whatever a client sends it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from concurrent import futures
from dataclasses import dataclass

import grpc

from certs.names import PeerKind, Principal
from certs.signing import DISCLOSURE_DOMAIN, SigningKey
from certs.tls import channel_credentials, client_channel_options, server_credentials
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc


class HostileProxy(pb_grpc.AgencyAdapterServicer):
    """Forwards to the real adapter, then tampers (mode: pass, flip_signature, edit_content,
    other_agency_key, replay_previous, other_broker: readdressed to another MASH and
    re-signed with the agency's own key, as a compromised adapter host could)."""

    def __init__(self, home: Home, agency: str = "police", other_agency: str = "health") -> None:
        self.home = home
        self.agency = agency
        self.mode = "pass"
        self.upstream = ""
        self.previous: pb.SignedDisclosure | None = None
        self.other_key = SigningKey.load(home.signing_key(f"adapter-{other_agency}"))
        self.own_key = SigningKey.load(home.signing_key(f"adapter-{agency}"))
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
        options = client_channel_options(Principal(PeerKind.ADAPTER, self.agency), self.upstream)
        with grpc.secure_channel(self.upstream, creds, options=options) as ch:
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
        elif self.mode == "other_broker":
            d = pb.Disclosure.FromString(out.disclosure)
            d.broker_id = "mash-north"
            out.disclosure = d.SerializeToString(deterministic=True)
            out.signature = self.own_key.sign(DISCLOSURE_DOMAIN, out.disclosure)
        elif self.mode == "replay_previous" and self.previous is not None:
            out.CopyFrom(self.previous)
        self.previous = real
        return out


@dataclass
class Connection:
    """One connection a `RecordingTlsServer` accepted, and what came of it."""

    presented: str
    #: the TLS handshake completed (gRPC checks the server's name just after it, before any data)
    handshake_done: bool = False
    received: bytes = b""
    #: the connection has ended and `received` is final
    closed: bool = False


class RecordingTlsServer:
    """A hostile server on loopback that holds a real certificate of our CA (a stolen staff
    workstation's, another agency's adapter's) and records every byte a client sends it.

    It speaks just enough HTTP/2 (its SETTINGS frame) for a gRPC client that accepted the
    handshake to send its call: headers, token and request. `connections` is the proof of
    what reached it; a client that checks who the server is leaves every `received` empty.
    """

    #: An empty HTTP/2 SETTINGS frame: all a gRPC client waits for before sending its call.
    _SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"

    def __init__(self, home: Home, presented: str) -> None:
        self.home = home
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.present(presented)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def present(self, name: str) -> None:
        """Present the certificate `name` (e.g. `client-staff`) from now on; forget what was seen."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.home.tls_cert(name), self.home.tls_key(name))
        context.set_alpn_protocols(["h2"])
        with self._lock:
            self._context, self._presented = context, name
            self.connections = []

    def seen(self, name: str) -> list[Connection]:
        """The connections made while presenting `name`."""
        with self._lock:
            return [c for c in self.connections if c.presented == name]

    def start(self) -> RecordingTlsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                record, context = Connection(self._presented), self._context
                self.connections.append(record)
            threading.Thread(target=self._record, args=(raw, context, record),
                             daemon=True).start()

    def _record(self, raw: socket.socket, context: ssl.SSLContext, record: Connection) -> None:
        raw.settimeout(2.0)
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                record.handshake_done = True
                tls.sendall(self._SETTINGS)
                while chunk := tls.recv(65536):
                    record.received += chunk
        except (OSError, ssl.SSLError):
            pass  # a refused handshake, or the idle timeout after the call: both end it
        finally:
            raw.close()
            record.closed = True
