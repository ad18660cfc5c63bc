"""Who is calling the broker: a staff client certificate (mTLS) plus a valid staff JWT
bound to that very certificate (RFC 8705), for this broker and the MASH it serves."""

from __future__ import annotations

import grpc

from certs.errors import PeerError
from certs.reloading import TrustSource
from certs.tls import peer_identity
from identity.errors import TokenError
from identity.tokens import StaffIdentity, TokenValidator
from mash.errors import NotAuthenticated


class Authenticator:
    """Checks the mTLS peer is a staff client and validates its bearer token."""

    def __init__(self, validator: TokenValidator,
                 trust: TrustSource | None = None) -> None:
        self.validator = validator
        self.trust = trust  # revoked client certificates are refused when given

    def authenticate(self, context: grpc.aio.ServicerContext) -> StaffIdentity:
        """The caller's identity, or NotAuthenticated naming the cause (no token content)."""
        try:
            peer = peer_identity(context, self.trust)
        except PeerError as exc:
            raise NotAuthenticated("client certificate not accepted", detail=str(exc)) from None
        if peer.kind != "client":
            raise NotAuthenticated("caller is not a staff client", detail=f"peer kind {peer.kind}")
        token = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
                token = value[len("Bearer "):]
        if not token:
            raise NotAuthenticated("missing bearer token")
        try:
            return self.validator.validate(token, peer.thumbprint)
        except TokenError as exc:
            raise NotAuthenticated(
                f"token refused: {type(exc).__name__}", detail=str(exc)
            ) from None
