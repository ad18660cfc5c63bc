"""Refused calls to an adapter are all logged, with bounded fields only, and within a per-peer
budget (threat: a caller floods the permanent, unredactable audit log with text of its choosing,
or is refused without a trace, or gets INTERNAL and a parser's message back)."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from datetime import UTC, datetime

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
from mash.vocab import AGENCY_CATEGORIES, Agency
from tests.integration.helpers import demo_subjects, red_request

POLICE = Principal(PeerKind.ADAPTER, "police")

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

QUERY_METHOD = "/mash.v1.AgencyAdapter/Query"


def _query(home: Home, n_subjects: int | None = None) -> pb.Query:
    req = red_request("REF-SEC-REFUSE", demo_subjects(home))
    q = pb.Query(
        query_id=secrets.token_hex(8), broker_id="mash-demo", agency="police",
        referral_id=req.referral_id, rag=req.rag, purpose=req.purpose,
        statutory_gateway=req.statutory_gateway, consent=req.consent,
        requester=pb.Requester(id="sw-1", role="mash_social_worker", organisation="mash-demo"),
        subjects=req.subjects, categories=[str(c) for c in AGENCY_CATEGORIES[Agency.POLICE]],
        nonce=secrets.token_hex(16), issued_at=datetime.now(UTC).isoformat(),
    )
    if n_subjects is not None:
        first = q.subjects[0]
        del q.subjects[:]
        for i in range(n_subjects):
            s = q.subjects.add()
            s.CopyFrom(first)
            s.subject_id = f"s{i}"
    return q


def _channel(home: Home, cluster: Cluster, as_name: str = "broker-mash-demo") -> grpc.Channel:
    address = cluster.adapter("police").address
    return grpc.secure_channel(address, channel_credentials(home, as_name),
                               options=client_channel_options(POLICE, address))


def _call(home: Home, cluster: Cluster, signed: pb.SignedQuery,
          as_name: str = "broker-mash-demo") -> grpc.RpcError:
    with _channel(home, cluster, as_name) as ch, pytest.raises(grpc.RpcError) as err:
        pb_grpc.AgencyAdapterStub(ch).Query(signed, timeout=10)
    assert isinstance(err.value, grpc.RpcError)
    return err.value


def _rejections(home: Home, query_hash: str) -> list[tuple[dict[str, object], dict[str, object],
                                                           int]]:
    """(core, personal, stored size) of each refusal entry for the payload with this hash."""
    con = sqlite3.connect(f"file:{home.audit_log('adapter-police')}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT core, personal FROM entries WHERE json_extract(core, '$.query_hash') = ?",
            (query_hash,)).fetchall()
    finally:
        con.close()
    return [(json.loads(c), json.loads(p) if p else {}, len(c) + len(p or "")) for c, p in rows]


def _broker_key(home: Home) -> SigningKey:
    return SigningKey.load(home.signing_key("broker-mash-demo"))


def test_a_huge_key_id_is_refused_and_logged_as_its_hash_and_size(
        home: Home, cluster: Cluster) -> None:
    signed = sign_query(_query(home), _broker_key(home))
    huge = "k" * 900_000
    signed.key_id = huge
    err = _call(home, cluster, signed)
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    [(core, personal, size)] = _rejections(home, hashlib.sha256(signed.query).hexdigest())
    assert size < 2_000, "the caller's text must not be stored"
    assert "signer_key_id" not in core
    assert personal["detail"]["key_id_sha256"] == hashlib.sha256(huge.encode()).hexdigest()
    assert personal["detail"]["key_id_bytes"] == "900000"


@pytest.mark.parametrize("n_subjects", [0, 21])
def test_a_query_with_no_or_too_many_subjects_is_refused_and_logged(
        home: Home, cluster: Cluster, n_subjects: int) -> None:
    signed = sign_query(_query(home, n_subjects), _broker_key(home))
    err = _call(home, cluster, signed)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    [(core, personal, _)] = _rejections(home, hashlib.sha256(signed.query).hexdigest())
    assert core["reasons"] == ["subject_count"] and core["outcome"] == "rejected"
    assert personal["detail"]["subject_count"] == str(n_subjects)


def test_an_unknown_subject_role_is_invalid_argument_and_logged(
        home: Home, cluster: Cluster) -> None:
    q = _query(home)
    q.subjects[0].role = "x" * 5000 + "\n"
    signed = sign_query(q, _broker_key(home))
    err = _call(home, cluster, signed)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "x" * 50 not in (err.details() or "")
    [(core, _, size)] = _rejections(home, hashlib.sha256(signed.query).hexdigest())
    assert core["reasons"] == ["unknown_subject_role"] and size < 2_000


@pytest.mark.parametrize("field", ["purpose", "rag", "consent.state", "requester.role",
                                   "break_glass.reason"])
def test_an_unknown_value_in_a_signed_query_is_invalid_argument_and_logged(
        home: Home, cluster: Cluster, field: str) -> None:
    q = _query(home)
    hostile = "y" * 5000 + "\x1b[2J"
    if field == "purpose":
        q.purpose = hostile
    elif field == "rag":
        q.rag = hostile
    elif field == "consent.state":
        q.consent.state = hostile
    elif field == "requester.role":
        q.requester.role = hostile
    else:
        q.break_glass.reason = hostile
    signed = sign_query(q, _broker_key(home))
    err = _call(home, cluster, signed)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (err.details() or "") and "y" * 50 not in (err.details() or "")
    [(core, personal, size)] = _rejections(home, hashlib.sha256(signed.query).hexdigest())
    assert core["reasons"] == ["unknown_vocabulary"] and size < 2_000
    assert personal["detail"]["field"] == field


def test_malformed_protobuf_is_invalid_argument_without_parser_text_and_logged(
        home: Home, cluster: Cluster) -> None:
    garbage = b"\x0a\xff\xff\xff\xff\x0f" + secrets.token_bytes(64)
    with _channel(home, cluster) as ch, pytest.raises(grpc.RpcError) as err:
        ch.unary_unary(QUERY_METHOD)(garbage, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    details = err.value.details() or ""  # type: ignore[attr-defined]
    assert "Error" not in details and "Traceback" not in details and "parsing" not in details
    [(core, personal, _)] = _rejections(home, hashlib.sha256(garbage).hexdigest())
    assert core["reasons"] == ["malformed_request"] and core["actor_org"] == "broker-mash-demo"
    assert personal["detail"]["bytes"] == str(len(garbage))


def test_logged_refusals_are_rate_limited_per_peer_with_a_counter_entry(
        home: Home, cluster: Cluster) -> None:
    """A staff workstation's certificate hammers the adapter: 30 refusals are logged one by
    one, then one entry says the budget tripped, and the rest are refused but only counted."""
    hashes = []
    with _channel(home, cluster, "client-staff") as ch:
        stub = pb_grpc.AgencyAdapterStub(ch)
        for _ in range(40):
            signed = sign_query(_query(home), _broker_key(home))
            hashes.append(hashlib.sha256(signed.query).hexdigest())
            with pytest.raises(grpc.RpcError) as err:
                stub.Query(signed, timeout=10)
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    logged = [h for h in hashes if _rejections(home, h)]
    assert len(logged) == 30 and logged == hashes[:30]
    con = sqlite3.connect(f"file:{home.audit_log('adapter-police')}?mode=ro", uri=True)
    try:
        tripped = con.execute(
            "SELECT count(*) FROM entries WHERE json_extract(core, '$.outcome') = "
            "'refusal_log_rate_limited' AND json_extract(core, '$.actor_org') = 'client-staff'"
        ).fetchone()[0]
    finally:
        con.close()
    assert tripped == 1
