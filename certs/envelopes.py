"""Signed queries and disclosures: sign over exact bytes, verify before parsing.

Named by trust state (as sigstore-python does): a `SignedQuery` off the wire is
unverified; `open_query` verifies the broker's signature and returns a frozen
`VerifiedQuery`. Likewise `open_disclosure` -> `VerifiedDisclosure`, which also
checks that the disclosure answers exactly the query that was sent (its
`query_sha256`), so an answer cannot be replayed for another query.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import DecodeError

from certs.errors import SignatureError
from certs.reloading import TrustSource
from certs.signing import DISCLOSURE_DOMAIN, QUERY_DOMAIN, SigningKey
from mash.v1 import mash_pb2 as pb


class EnvelopeError(SignatureError):
    """A signed message verified but does not say what it must (wrong query, wrong party...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self._code = code


@dataclass(frozen=True)
class VerifiedQuery:
    """A query whose broker signature has been verified."""

    query: pb.Query
    raw: bytes
    sha256: bytes
    key_id: str


@dataclass(frozen=True)
class VerifiedDisclosure:
    """A disclosure verified against the agency's pinned key, answering our query."""

    disclosure: pb.Disclosure
    sha256: bytes
    key_id: str


def broker_owner(broker_id: str) -> str:
    """Trust-store owner name of a broker's signing key."""
    return f"broker-{broker_id}"


def adapter_owner(agency: str) -> str:
    """Trust-store owner name of an agency adapter's signing key."""
    return f"adapter-{agency}"


def sign_query(query: pb.Query, key: SigningKey) -> pb.SignedQuery:
    """Serialize and sign a query; the bytes sent are the bytes signed."""
    raw = query.SerializeToString(deterministic=True)
    return pb.SignedQuery(query=raw, signature=key.sign(QUERY_DOMAIN, raw), key_id=key.key_id)


def open_query(
    signed: pb.SignedQuery, trust: TrustSource, *, broker_id: str, at: datetime | None = None
) -> VerifiedQuery:
    """Verify a query signed by `broker_id` (the broker our mTLS peer says it is), then parse it."""
    trust.verify(
        QUERY_DOMAIN, signed.query, signed.signature, signed.key_id,
        expected_owner=broker_owner(broker_id), purpose="query-signing", at=at,
    )
    query = pb.Query()
    try:
        query.ParseFromString(signed.query)
    except DecodeError:
        raise EnvelopeError("malformed_query", "signed query bytes do not parse") from None
    if query.broker_id != broker_id:
        raise EnvelopeError("broker_mismatch", "query names a different broker than its sender")
    return VerifiedQuery(query, signed.query, hashlib.sha256(signed.query).digest(), signed.key_id)


def sign_disclosure(disclosure: pb.Disclosure, key: SigningKey) -> pb.SignedDisclosure:
    """Serialize and sign a disclosure."""
    raw = disclosure.SerializeToString(deterministic=True)
    return pb.SignedDisclosure(
        disclosure=raw, signature=key.sign(DISCLOSURE_DOMAIN, raw), key_id=key.key_id
    )


def open_disclosure(
    signed: pb.SignedDisclosure,
    trust: TrustSource,
    *,
    agency: str,
    query: pb.Query,
    query_sha256: bytes,
    at: datetime | None = None,
) -> VerifiedDisclosure:
    """Verify a disclosure against `agency`'s pinned key and that it answers `query` exactly."""
    trust.verify(
        DISCLOSURE_DOMAIN, signed.disclosure, signed.signature, signed.key_id,
        expected_owner=adapter_owner(agency), purpose="disclosure-signing", at=at,
    )
    disclosure = pb.Disclosure()
    try:
        disclosure.ParseFromString(signed.disclosure)
    except DecodeError:
        raise EnvelopeError("malformed_disclosure", "signed disclosure bytes do not parse") from None
    if not hmac.compare_digest(disclosure.query_sha256, query_sha256):
        raise EnvelopeError("query_hash_mismatch", "disclosure answers a different query")
    if disclosure.query_id != query.query_id:
        raise EnvelopeError("query_id_mismatch", "disclosure names a different query id")
    if disclosure.agency != agency:
        raise EnvelopeError("agency_mismatch", "disclosure names a different agency")
    if disclosure.broker_id != query.broker_id:
        raise EnvelopeError("broker_mismatch", "disclosure is addressed to a different broker")
    return VerifiedDisclosure(
        disclosure, hashlib.sha256(signed.disclosure).digest(), signed.key_id
    )
