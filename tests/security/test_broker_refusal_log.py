"""Calls the broker refuses are logged, bounded and per caller (threat: a caller is refused
without a trace, or fills the broker's permanent audit log with text of its choosing)."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import grpc
import pytest

from broker.client import BrokerClient
from mash.app.cluster import Cluster
from mash.home import Home
from tests.integration.helpers import demo_subjects, red_request

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

BROKER_LOG = "broker-mash-demo"


def _refusals(home: Home) -> list[tuple[dict[str, object], dict[str, object], int]]:
    con = sqlite3.connect(f"file:{home.audit_log(BROKER_LOG)}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT core, personal FROM entries WHERE "
                           "json_extract(core, '$.kind') = 'request_refused'").fetchall()
    finally:
        con.close()
    return [(json.loads(c), json.loads(p) if p else {}, len(c) + len(p or "")) for c, p in rows]


def test_a_refused_token_is_logged_without_its_text(home: Home, cluster: Cluster) -> None:
    before = len(_refusals(home))
    token = "eyJ" + "A" * 4_000  # under gRPC's own limit on metadata (8 KB)
    request = red_request("REF-SEC-BROKER-REFUSE", demo_subjects(home))
    with BrokerClient(home, cluster.broker.address, token) as client, \
            pytest.raises(grpc.RpcError) as err:
        client.lookup(request)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    new = _refusals(home)[before:]
    assert len(new) == 1
    core, personal, size = new[0]
    assert core["reasons"] == ["not_authenticated"] and core["actor_org"] == "client-staff"
    assert core["query_hash"] == hashlib.sha256(request.SerializeToString()).hexdigest()
    assert personal["detail"]["method"] == "Lookup" and size < 2_000


def test_a_malformed_request_to_the_broker_is_invalid_argument_and_logged(
        home: Home, cluster: Cluster) -> None:
    from certs.names import PeerKind, Principal
    from certs.tls import channel_credentials, client_channel_options

    address = cluster.broker.address
    broker = Principal(PeerKind.BROKER, cluster.broker_id)
    before = len(_refusals(home))
    garbage = b"\x0a\xff\xff\xff\xff\x0f" + b"\x1b[2J" * 10
    with grpc.secure_channel(address, channel_credentials(home, "client-staff"),
                             options=client_channel_options(broker, address)) as ch, \
            pytest.raises(grpc.RpcError) as err:
        ch.unary_unary("/mash.v1.Broker/Lookup")(garbage, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    [(core, _, _)] = _refusals(home)[before:]
    assert core["reasons"] == ["malformed_request"]
    assert core["query_hash"] == hashlib.sha256(garbage).hexdigest()
