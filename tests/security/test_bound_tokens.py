"""Threats against staff tokens: copied to another device, used at another MASH's broker,
or crafted to crash the broker.

- A token copied off one device (a log, a proxy, a shoulder) is refused over any other
  client certificate: it is bound to the certificate it was issued for (RFC 8705
  `cnf.x5t#S256`), and revoking that certificate ends the token at once.
- A token for another MASH (`org`) or another broker (`aud`) is refused.
- Whatever a token's header or claims hold, the answer is UNAUTHENTICATED with a short
  message: never INTERNAL, never a stack trace in the broker's log.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.client import BrokerClient
from certs.authority import thumbprint_of_file
from certs.names import PeerKind, Principal
from certs.pki import issue, revoke
from identity.errors import (
    MalformedToken,
    TokenError,
    UnboundToken,
    WrongAudience,
    WrongCertificate,
    WrongOrganisation,
)
from identity.tokens import (
    DEV_ISSUER,
    DevIssuer,
    TokenValidator,
    audience_for,
    init_dev_issuer,
    issue_token,
)
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import Role
from tests.integration.helpers import demo_subjects, red_request

pytestmark = pytest.mark.clock_sensitive

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
DEVICE = base64.urlsafe_b64encode(b"\x01" * 32).rstrip(b"=").decode()
OTHER_DEVICE = base64.urlsafe_b64encode(b"\x02" * 32).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Home:
    h = Home.at(tmp_path_factory.mktemp("idp"))
    init_dev_issuer(h)
    return h


def _validator(idp: Home) -> TokenValidator:
    return TokenValidator.from_home(idp, clock=lambda: T0)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**over: Any) -> dict[str, Any]:
    now = int(T0.timestamp())
    body: dict[str, Any] = {"iss": DEV_ISSUER, "aud": audience_for("mash-demo"), "sub": "sw-1",
                            "role": "mash_social_worker", "org": "mash-demo", "iat": now,
                            "nbf": now, "exp": now + 600, "jti": "j-1",
                            "cnf": {"x5t#S256": DEVICE}}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def _signed(idp: Home, header: bytes | dict[str, Any], payload: bytes | dict[str, Any]) -> str:
    """A token with exactly this header and payload, truly signed by the trusted issuer: only
    the checks of the header and claims stand between it and acceptance."""
    issuer = DevIssuer.load(idp)
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{_b64(h)}.{_b64(p)}".encode()
    r, s = decode_dss_signature(issuer.private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{signing_input.decode()}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _header(idp: Home, **extra: Any) -> dict[str, Any]:
    return {"alg": "ES256", "typ": "JWT", "kid": DevIssuer.load(idp).jwk["kid"], **extra}


# --- bound to a device -------------------------------------------------------------------------
def test_control_a_well_formed_token_on_its_own_device_is_accepted(idp: Home) -> None:
    ident = _validator(idp).validate(_signed(idp, _header(idp), _claims()), DEVICE)
    assert ident.cert_thumbprint == DEVICE


def test_token_presented_over_another_certificate_is_refused(idp: Home) -> None:
    token = _signed(idp, _header(idp), _claims())
    with pytest.raises(WrongCertificate):
        _validator(idp).validate(token, OTHER_DEVICE)
    with pytest.raises(WrongCertificate):
        _validator(idp).validate(token, None)


def test_token_presented_over_another_certificate_is_refused_even_when_cached(idp: Home) -> None:
    v = _validator(idp)
    token = _signed(idp, _header(idp), _claims(jti="j-cached"))
    v.validate(token, DEVICE)
    with pytest.raises(WrongCertificate):
        v.validate(token, OTHER_DEVICE)


@pytest.mark.parametrize("cnf", [None, "x", {}, {"x5t#S256": 7}, {"x5t#S256": "short"},
                                 {"jkt": DEVICE}, [DEVICE]])
def test_unbound_token_is_refused(idp: Home, cnf: object) -> None:
    with pytest.raises(UnboundToken):
        _validator(idp).validate(_signed(idp, _header(idp), _claims(cnf=cnf)), DEVICE)


# --- for this MASH and this broker -------------------------------------------------------------
def test_token_of_another_organisation_is_refused(idp: Home) -> None:
    with pytest.raises(WrongOrganisation):
        _validator(idp).validate(_signed(idp, _header(idp), _claims(org="another-mash")),
                                 DEVICE)


@pytest.mark.parametrize("aud", [audience_for("mash-other"), "mash-broker"])
def test_token_for_another_broker_is_refused(idp: Home, aud: str) -> None:
    with pytest.raises(WrongAudience):
        _validator(idp).validate(_signed(idp, _header(idp), _claims(aud=aud)), DEVICE)


def test_each_broker_has_its_own_audience() -> None:
    assert audience_for("mash-demo") != audience_for("mash-other")


# --- malformed headers and claims are refused, never crash --------------------------------------
@pytest.mark.parametrize("extra", [
    {"crit": ["exp"]}, {"crit": "x"}, {"kid": 7}, {"kid": ["a"]}, {"kid": {"a": 1}},
    {"kid": None}, {"typ": 5}, {"jku": "https://evil.invalid/jwks"},
    {"x5u": "https://evil.invalid/c"}, {"jwk": {"kty": "EC"}}, {"x5c": ["MIIB"]},
    {"b64": False}, {"zip": "DEF"},
])
def test_malformed_header_is_refused_as_malformed(idp: Home, extra: dict[str, Any]) -> None:
    with pytest.raises(MalformedToken):
        _validator(idp).validate(_signed(idp, _header(idp, **extra), _claims()), DEVICE)


@pytest.mark.parametrize("header", [b"[]", b"\"x\"", b"null", b"{", b"\xff\xfe", b"{\"alg\": 1}"])
def test_header_that_is_not_an_object_is_refused(idp: Home, header: bytes) -> None:
    with pytest.raises(TokenError):
        _validator(idp).validate(_signed(idp, header, _claims()), DEVICE)


@pytest.mark.parametrize("over", [
    {"exp": float("nan")}, {"exp": float("inf")}, {"exp": 1e300, "iat": 1e300, "nbf": 1e300},
    {"iat": -1e300}, {"aud": 5}, {"aud": [[1]]}, {"iss": ["x"]}, {"iss": {"a": 1}},
    {"sub": 5}, {"org": ["mash-demo"]}, {"role": {"r": 1}},
])
def test_malformed_claims_are_refused(idp: Home, over: dict[str, Any]) -> None:
    with pytest.raises(TokenError):
        _validator(idp).validate(_signed(idp, _header(idp), _claims(**over)), DEVICE)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header_extra=st.dictionaries(st.sampled_from(
           ["alg", "kid", "typ", "crit", "cty", "x5t", "jku", "b64", "zip"]), _json, max_size=3),
       claims_over=st.dictionaries(st.sampled_from(
           ["iss", "aud", "sub", "role", "org", "iat", "nbf", "exp", "jti", "cnf"]), _json,
           max_size=3))
def test_any_signed_header_and_claims_give_a_token_error_or_an_identity(
        idp: Home, header_extra: dict[str, Any], claims_over: dict[str, Any]) -> None:
    token = _signed(idp, _header(idp, **header_extra), _claims(**claims_over))
    # refused with a cause, or accepted; anything else would reach the broker as INTERNAL
    with contextlib.suppress(TokenError):
        _validator(idp).validate(token, DEVICE)


# --- at the running broker ----------------------------------------------------------------------
def _lookup(home: Home, cluster: Cluster, token: str, client: str) -> grpc.StatusCode | None:
    with BrokerClient(home, cluster.broker.address, token, client_name=client,
                      timeout_s=10) as c:
        try:
            c.lookup(red_request("REF-SEC-BOUND", demo_subjects(home)))
        except grpc.RpcError as exc:
            return exc.code()
    return None


@pytest.mark.integration
def test_broker_refuses_a_token_presented_over_another_devices_certificate(
        home: Home, cluster: Cluster) -> None:
    issue(home, Principal(PeerKind.CLIENT, "laptop-33"))
    token = issue_token(home, sub="sw-33", role=Role.MASH_SOCIAL_WORKER, client="client-laptop-33")
    assert _lookup(home, cluster, token, "client-laptop-33") is None  # control: its own device
    assert _lookup(home, cluster, token, "client-staff") == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.integration
def test_revoking_a_device_certificate_ends_its_tokens_at_once(
        home: Home, cluster: Cluster) -> None:
    issue(home, Principal(PeerKind.CLIENT, "laptop-34"))
    token = issue_token(home, sub="sw-34", role=Role.MASH_SOCIAL_WORKER, client="client-laptop-34")
    assert _lookup(home, cluster, token, "client-laptop-34") is None
    revoke(home, "client-laptop-34", reason="key_compromise")
    deadline = time.monotonic() + 15  # the broker re-reads the trust store within a second
    while _lookup(home, cluster, token, "client-laptop-34") is None:
        assert time.monotonic() < deadline, "revoked device still accepted"
        time.sleep(0.3)
    # neither over the revoked certificate nor over any other
    assert _lookup(home, cluster, token, "client-laptop-34") == grpc.StatusCode.UNAUTHENTICATED
    assert _lookup(home, cluster, token, "client-staff") == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.integration
@pytest.mark.parametrize("kwargs", [{"org": "another-mash"}, {"broker_id": "mash-other"},
                                    {"audience": "mash-broker"}])
def test_broker_refuses_a_token_for_another_mash_or_broker(
        home: Home, cluster: Cluster, kwargs: dict[str, str]) -> None:
    token = issue_token(home, sub="sw-35", role=Role.MASH_SOCIAL_WORKER, **kwargs)
    assert _lookup(home, cluster, token, "client-staff") == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.integration
@pytest.mark.parametrize("extra", [{"crit": ["exp"]}, {"kid": 7}, {"kid": ["a"]},
                                   {"jku": "https://evil.invalid/jwks"}])
def test_broker_answers_a_malformed_header_with_unauthenticated_not_a_crash(
        home: Home, cluster: Cluster, extra: dict[str, Any]) -> None:
    device = thumbprint_of_file(home.tls_cert("client-staff"))
    token = _signed(home, _header(home, **extra), _claims(
        iat=int(time.time()), nbf=int(time.time()), exp=int(time.time()) + 300,
        cnf={"x5t#S256": device}))
    assert _lookup(home, cluster, token, "client-staff") == grpc.StatusCode.UNAUTHENTICATED
    log = cluster.broker.log.read_text(errors="replace")
    assert "request_crashed" not in log and "Traceback" not in log
