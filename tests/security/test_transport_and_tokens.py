"""Threats at the edges: certificates from another CA, the wrong kind of peer, bad tokens."""

from __future__ import annotations

import base64
import json
import time

import grpc
import jwt
import pytest

from broker.client import BrokerClient
from certs.authority import thumbprint_of_file
from certs.names import PeerKind, Principal
from certs.pki import init_pki
from certs.tls import channel_credentials, client_channel_options
from identity.tokens import audience_for, issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.vocab import Role
from tests.integration.helpers import demo_subjects, red_request

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

POLICE = Principal(PeerKind.ADAPTER, "police")


@pytest.fixture(scope="module")
def rogue(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home with its own, different CA (same names): nothing it signs may be trusted."""
    h = Home.at(tmp_path_factory.mktemp("rogue")).ensure()
    init_pki(h, brokers=("mash-demo",), agencies=["police"])
    return h


def _lookup(home: Home, address: str, token: str, client_home: Home | None = None,
            client_name: str = "client-staff") -> pb.ReferralSummary:
    with BrokerClient(client_home or home, address, token, client_name=client_name,
                      timeout_s=10) as c:
        return c.lookup(red_request("REF-SEC-TLS", demo_subjects(home)))


def test_client_certificate_from_another_ca_is_refused(
    home: Home, rogue: Home, cluster: Cluster
) -> None:
    token = issue_token(home, sub="sw-1", role=Role.MASH_SOCIAL_WORKER)
    with pytest.raises(grpc.RpcError) as err:
        # rogue client cert + rogue CA as its trust root: the broker refuses the handshake
        _lookup(home, cluster.broker.address, token, client_home=rogue)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_broker_certificate_from_another_ca_is_refused_by_adapter(
    home: Home, rogue: Home, cluster: Cluster
) -> None:
    creds = channel_credentials(rogue, "broker-mash-demo")
    address = cluster.adapter("police").address
    with grpc.secure_channel(address, creds, options=client_channel_options(POLICE, address)) \
            as ch, pytest.raises(grpc.RpcError) as err:
        pb_grpc.AgencyAdapterStub(ch).Query(pb.SignedQuery(), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_staff_client_cannot_query_an_adapter_directly(home: Home, cluster: Cluster) -> None:
    creds = channel_credentials(home, "client-staff")
    address = cluster.adapter("police").address
    with grpc.secure_channel(address, creds, options=client_channel_options(POLICE, address)) \
            as ch, pytest.raises(grpc.RpcError) as err:
        pb_grpc.AgencyAdapterStub(ch).Query(pb.SignedQuery(query=b"x"), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _idp_private_key(home: Home) -> object:
    from cryptography.hazmat.primitives import serialization

    pem = next(p for p in sorted(home.idp_dir.iterdir()) if p.suffix in (".key", ".pem")
               and b"PRIVATE" in p.read_bytes())
    return serialization.load_pem_private_key(pem.read_bytes(), password=None)


def _staff_device(home: Home) -> dict[str, str]:
    """The `cnf` binding to the certificate the tests' client presents (client-staff)."""
    return {"x5t#S256": thumbprint_of_file(home.tls_cert("client-staff"))}


def _claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "https://idp.mash-demo.invalid", "aud": audience_for("mash-demo"), "sub": "sw-9",
        "role": "mash_social_worker", "org": "mash-demo", "iat": now, "nbf": now,
        "exp": now + 600, "jti": f"t-{now}",
    }
    claims.update(over)
    return claims


def _alg_none(claims: dict[str, object]) -> str:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


@pytest.mark.parametrize("make", [
    pytest.param(lambda key, cnf: jwt.encode(_claims(cnf=cnf, exp=int(time.time()) - 3600,
                                                 iat=int(time.time()) - 7200,
                                                 nbf=int(time.time()) - 7200), key, "ES256"),
                 id="expired"),
    pytest.param(lambda key, cnf: jwt.encode(_claims(cnf=cnf, aud="someone-else"), key, "ES256"),
                 id="wrong-audience"),
    pytest.param(lambda key, cnf: _alg_none(_claims(cnf=cnf)), id="alg-none"),
    pytest.param(lambda key, cnf: jwt.encode(_claims(cnf=cnf, iss="https://evil.invalid"), key, "ES256"),
                 id="wrong-issuer"),
    pytest.param(lambda key, cnf: "not-a-token", id="garbage"),
])
def test_bad_tokens_are_refused(home: Home, cluster: Cluster, make) -> None:  # type: ignore[no-untyped-def]
    token = make(_idp_private_key(home), _staff_device(home))
    with pytest.raises(grpc.RpcError) as err:
        _lookup(home, cluster.broker.address, token)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_valid_token_signed_correctly_is_accepted(home: Home, cluster: Cluster) -> None:
    """The control for the cases above: the same construction with good claims works."""
    token = jwt.encode(_claims(cnf=_staff_device(home)), _idp_private_key(home), "ES256")
    summary = _lookup(home, cluster.broker.address, token)
    assert summary.agencies
