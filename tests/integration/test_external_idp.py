"""The broker accepts staff tokens from the identity provider its config names (and only it)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from broker.client import BrokerClient
from broker.config import IdentityProvider
from certs.authority import thumbprint_of_file
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import PARTNER_AGENCIES, Role
from tests.integration.helpers import demo_subjects, red_request

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

ISSUER = "https://login.council.example/tenant-42"
AUDIENCE = "mash-broker-prod"


def test_broker_trusts_the_configured_idp_not_the_dev_issuer(home: Home, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())  # the IdP's key (a fake of an outside system)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="idp-1", use="sig", alg="ES256")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    now = int(time.time())
    good = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "sw-900", "role": "mash_social_worker",
                       "org": "council-42", "iat": now, "nbf": now, "exp": now + 600,
                       "jti": "j-1", "cnf": {"x5t#S256": thumbprint_of_file(
                           home.tls_cert("client-staff"))}},
                      key, "ES256", headers={"kid": "idp-1"})
    request = red_request("REF-IT-IDP", demo_subjects(home))
    cluster = Cluster(home, agencies=PARTNER_AGENCIES[:1], broker_settings={
        "identity": IdentityProvider(ISSUER, AUDIENCE, jwks, org="council-42")})
    with cluster:
        with BrokerClient(home, cluster.broker.address, good) as c:
            assert c.lookup(request).agencies
        dev = issue_token(home, sub="sw-1", role=Role.MASH_SOCIAL_WORKER)
        with BrokerClient(home, cluster.broker.address, dev) as c, \
                pytest.raises(grpc.RpcError) as err:
            c.lookup(request)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
