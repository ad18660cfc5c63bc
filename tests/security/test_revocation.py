"""Threat: a staff laptop's client certificate is stolen. Revoking it locks it out of the
running broker at once (the broker follows the trust store file), without a restart."""

from __future__ import annotations

import time

import grpc
import pytest

from broker.client import BrokerClient
from certs.names import PeerKind, Principal
from certs.pki import issue, revoke
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import Role
from tests.integration.helpers import demo_subjects, red_request

pytestmark = pytest.mark.integration


def test_revoked_client_certificate_is_refused_by_the_running_broker(
    home: Home, cluster: Cluster
) -> None:
    issue(home, Principal(PeerKind.CLIENT, "laptop-17"))
    token = issue_token(home, sub="sw-17", role=Role.MASH_SOCIAL_WORKER, client="client-laptop-17")
    request = red_request("REF-SEC-REVOKE", demo_subjects(home))
    with BrokerClient(home, cluster.broker.address, token, client_name="client-laptop-17") as c:
        assert c.lookup(request).agencies  # the control: it works before revocation

    revoke(home, "client-laptop-17", reason="key_compromise")
    # the broker re-reads the trust store at most once a second; poll, bounded
    deadline, code = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        try:
            with BrokerClient(home, cluster.broker.address, token,
                              client_name="client-laptop-17") as c:
                c.lookup(request)
        except grpc.RpcError as exc:
            code = exc.code()
            break
        time.sleep(0.3)
    assert code == grpc.StatusCode.UNAUTHENTICATED
