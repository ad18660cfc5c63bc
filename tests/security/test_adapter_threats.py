"""Threats at the adapter: it never relies on the broker's decision or word alone."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from certs.envelopes import sign_query
from certs.names import PeerKind, Principal
from certs.signing import SigningKey
from certs.tls import channel_credentials, client_channel_options
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.vocab import AGENCY_CATEGORIES, Agency, AgencyStatus
from tests.integration.helpers import demo_subjects, red_request

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

POLICE = Principal(PeerKind.ADAPTER, "police")


def _query(home: Home, **over: object) -> pb.Query:
    req = red_request("REF-SEC-ADAPTER", demo_subjects(home))
    q = pb.Query(
        query_id=secrets.token_hex(8), broker_id="mash-demo", agency="police",
        referral_id=req.referral_id, rag=req.rag, purpose=req.purpose,
        statutory_gateway=req.statutory_gateway, consent=req.consent,
        requester=pb.Requester(id="sw-1", role="mash_social_worker", organisation="mash-demo"),
        subjects=req.subjects, categories=[str(c) for c in AGENCY_CATEGORIES[Agency.POLICE]],
        nonce=secrets.token_hex(16), issued_at=datetime.now(UTC).isoformat(),
    )
    for k, v in over.items():
        setattr(q, k, v)
    return q


def _send(home: Home, cluster: Cluster, signed: pb.SignedQuery) -> pb.Disclosure:
    creds = channel_credentials(home, "broker-mash-demo")
    address = cluster.adapter("police").address
    with grpc.secure_channel(address, creds,
                             options=client_channel_options(POLICE, address)) as ch:
        answer = pb_grpc.AgencyAdapterStub(ch).Query(signed, timeout=10)
    return pb.Disclosure.FromString(answer.disclosure)


def _broker_key(home: Home) -> SigningKey:
    return SigningKey.load(home.signing_key("broker-mash-demo"))


def test_control_a_proper_query_is_answered(home: Home, cluster: Cluster) -> None:
    d = _send(home, cluster, sign_query(_query(home), _broker_key(home)))
    assert d.status == AgencyStatus.DISCLOSED


def test_adapter_refuses_what_its_own_agreement_forbids_even_if_signed(
    home: Home, cluster: Cluster
) -> None:
    # A broker (compromised or misconfigured) asks for early help without consent.
    q = _query(home, purpose="early_help", statutory_gateway="children_act_2004_s10", rag="green")
    q.consent.state, q.consent.reason = "refused", ""
    d = _send(home, cluster, sign_query(q, _broker_key(home)))
    assert d.status == AgencyStatus.WITHHELD
    assert all(not s.facts for s in d.subjects)
    assert "consent_not_satisfied" in [r.code for r in d.reasons]


def test_sealed_category_is_never_disclosed_even_when_asked(home: Home, cluster: Cluster) -> None:
    q = _query(home)
    del q.categories[:]
    q.categories.append("covert_sources")
    d = _send(home, cluster, sign_query(q, _broker_key(home)))
    assert all(not s.facts for s in d.subjects)
    assert d.status == AgencyStatus.WITHHELD


def test_agreement_version_mismatch_is_reported_not_guessed(home: Home, cluster: Cluster) -> None:
    q = _query(home, agreement_id="dsa-mash-demo-police", agreement_version="0" * 64)
    d = _send(home, cluster, sign_query(q, _broker_key(home)))
    assert d.status == AgencyStatus.POLICY_MISMATCH
    assert all(not s.facts for s in d.subjects)


def test_replayed_query_is_refused(home: Home, cluster: Cluster) -> None:
    signed = sign_query(_query(home), _broker_key(home))
    _send(home, cluster, signed)
    with pytest.raises(grpc.RpcError) as err:
        _send(home, cluster, signed)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_stale_query_is_refused(home: Home, cluster: Cluster) -> None:
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with pytest.raises(grpc.RpcError) as err:
        _send(home, cluster, sign_query(_query(home, issued_at=old), _broker_key(home)))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_query_signed_by_an_agency_key_is_refused(home: Home, cluster: Cluster) -> None:
    forged = sign_query(_query(home), SigningKey.load(home.signing_key("adapter-health")))
    with pytest.raises(grpc.RpcError) as err:
        _send(home, cluster, forged)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_query_naming_another_broker_is_refused(home: Home, cluster: Cluster) -> None:
    signed = sign_query(_query(home, broker_id="mash-elsewhere"), _broker_key(home))
    with pytest.raises(grpc.RpcError) as err:
        _send(home, cluster, signed)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_oversized_message_is_refused(home: Home, cluster: Cluster) -> None:
    signed = pb.SignedQuery(query=b"x" * (2 * 1024 * 1024), signature=b"s", key_id="k")
    with pytest.raises(grpc.RpcError) as err:
        _send(home, cluster, signed)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_garbage_signed_bytes_are_refused(home: Home, cluster: Cluster) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _send(home, cluster, pb.SignedQuery(query=b"\xff\x00garbage", signature=b"\x00" * 64,
                                            key_id=_broker_key(home).key_id))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
