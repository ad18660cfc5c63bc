"""The development issuer as a small OpenID Connect provider (authorisation code + PKCE).

Only for the demo and the tests: an organisation runs its own identity provider. It
serves discovery, a JWKS, an authorisation endpoint whose sign-in page lets a demo
user pick who they are (no password: nobody real signs in here), and a token endpoint.

The token endpoint authenticates the client with `private_key_jwt` signed by the key of
the client's registered TLS certificate, and binds the access token it issues to that
certificate (RFC 8705 `cnf.x5t#S256`), so a token the console obtains is of no use
without the console's own client certificate. Codes are single use, short lived, tied to
the client, the redirect URI and the PKCE challenge (S256 only).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from identity.tokens import AUDIENCE, DevIssuer
from mash.canonical import JsonValue
from mash.clock import Clock, utc_now
from mash.vocab import Role

#: How long an authorisation code may wait for the token call.
CODE_TTL_S = 60
#: Lifetimes of what the token endpoint issues.
ACCESS_TOKEN_TTL_S = 900
ID_TOKEN_TTL_S = 300
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class DemoUser:
    """A made-up member of staff the demo sign-in page offers."""

    sub: str
    name: str
    role: Role
    org: str = "mash-demo"


#: One demo user per role that uses the console.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("sw-104", "Sam Okafor", Role.MASH_SOCIAL_WORKER),
    DemoUser("sw-105", "Priya Shah", Role.MASH_SOCIAL_WORKER),
    DemoUser("tm-201", "Jo Evans", Role.MASH_TEAM_MANAGER),
    DemoUser("res-301", "Chris Lee", Role.AGENCY_RESEARCHER),
    DemoUser("ig-401", "Alex Morgan", Role.IG_LEAD),
)


def cert_thumbprint(cert: x509.Certificate) -> str:
    """RFC 8705 `x5t#S256`: base64url SHA-256 of the certificate's DER, unpadded."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256 code challenge of `verifier`."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class RegisteredClient:
    """A relying party: its id, where it may be sent back to, and its TLS certificate."""

    client_id: str
    redirect_uris: tuple[str, ...]
    certificate: x509.Certificate

    @classmethod
    def from_pem(cls, client_id: str, redirect_uris: tuple[str, ...], pem_path: Path) -> RegisteredClient:
        """A client whose certificate is the PEM file at `pem_path`."""
        return cls(client_id, redirect_uris, x509.load_pem_x509_certificate(pem_path.read_bytes()))

    def allows_redirect(self, uri: str) -> bool:
        """True when `uri` is registered; a loopback URI matches on any port (RFC 8252 7.3)."""
        if uri in self.redirect_uris:
            return True
        asked = urlsplit(uri)
        if asked.scheme != "http" or asked.hostname not in {"127.0.0.1", "localhost", "::1"}:
            return False
        for registered in map(urlsplit, self.redirect_uris):
            if (registered.scheme, registered.hostname, registered.path) == (
                    asked.scheme, asked.hostname, asked.path) and not asked.query:
                return True
        return False


class OidcError(Exception):
    """A refused OIDC request; `code` is the OAuth error code the client is told."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class _PendingCode:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user: DemoUser
    expires_at: float


@dataclass
class DevOidcProvider:
    """The provider's state: issuer key, registered clients, demo users, live codes."""

    issuer: DevIssuer
    clients: Mapping[str, RegisteredClient]
    users: tuple[DemoUser, ...] = DEMO_USERS
    clock: Clock = utc_now
    _codes: dict[str, _PendingCode] = field(default_factory=dict)
    _used_assertions: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def discovery(self, base_url: str) -> dict[str, JsonValue]:
        """The OpenID Provider metadata, endpoints under `base_url`."""
        return {
            "issuer": self.issuer.issuer,
            "authorization_endpoint": f"{base_url}/authorize",
            "token_endpoint": f"{base_url}/token",
            "jwks_uri": f"{base_url}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "tls_client_certificate_bound_access_tokens": True,
            "scopes_supported": ["openid"],
        }

    def jwks(self) -> dict[str, JsonValue]:
        """The public keys tokens are signed with."""
        return {"keys": [self.issuer.jwk]}

    def user(self, sub: str) -> DemoUser:
        """The demo user `sub`, or OidcError."""
        for user in self.users:
            if user.sub == sub:
                return user
        raise OidcError("access_denied", "unknown demo user")

    def check_authorization(self, params: Mapping[str, str]) -> RegisteredClient:
        """Validate an authorisation request; the client, or OidcError (never redirected)."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise OidcError("unauthorized_client", "unknown client_id")
        if not client.allows_redirect(params.get("redirect_uri", "")):
            raise OidcError("invalid_request", "redirect_uri is not registered for this client")
        if params.get("response_type") != "code":
            raise OidcError("unsupported_response_type", "only response_type=code is supported")
        if "openid" not in params.get("scope", "").split():
            raise OidcError("invalid_scope", "scope must include openid")
        if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) < 43:
            raise OidcError("invalid_request", "PKCE with code_challenge_method=S256 is required")
        if not params.get("state") or not params.get("nonce"):
            raise OidcError("invalid_request", "state and nonce are required")
        return client

    def grant(self, params: Mapping[str, str], sub: str) -> str:
        """Record a code for the demo user `sub`; the redirect URI with code and state."""
        self.check_authorization(params)
        user = self.user(sub)
        code = secrets.token_urlsafe(32)
        now = self.clock().timestamp()
        with self._lock:
            self._codes = {c: p for c, p in self._codes.items() if p.expires_at > now}
            self._codes[code] = _PendingCode(
                params["client_id"], params["redirect_uri"], params["code_challenge"],
                params["nonce"], user, now + CODE_TTL_S)
        return f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}"

    def token(self, form: Mapping[str, str], token_url: str) -> dict[str, JsonValue]:
        """Exchange a code for an ID token and a certificate-bound access token."""
        if form.get("grant_type") != "authorization_code":
            raise OidcError("unsupported_grant_type", "only authorization_code is supported")
        client = self._authenticate_client(form, token_url)
        now = self.clock().timestamp()
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)  # single use, even on failure
        if pending is None or pending.expires_at <= now:
            raise OidcError("invalid_grant", "code is unknown, used or expired")
        if pending.client_id != client.client_id or pending.redirect_uri != form.get("redirect_uri"):
            raise OidcError("invalid_grant", "code was issued to another client or redirect_uri")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(
                pkce_challenge(verifier), pending.challenge):
            raise OidcError("invalid_grant", "code_verifier does not match the code_challenge")
        user = pending.user
        issued = int(now)
        access = self._sign({
            "iss": self.issuer.issuer, "aud": AUDIENCE, "sub": user.sub, "role": user.role.value,
            "org": user.org, "name": user.name, "iat": issued, "nbf": issued,
            "exp": issued + ACCESS_TOKEN_TTL_S, "jti": secrets.token_hex(16),
            "client_id": client.client_id,
            "cnf": {"x5t#S256": cert_thumbprint(client.certificate)},
        })
        id_token = self._sign({
            "iss": self.issuer.issuer, "aud": client.client_id, "sub": user.sub,
            "name": user.name, "role": user.role.value, "org": user.org,
            "nonce": pending.nonce, "iat": issued, "exp": issued + ID_TOKEN_TTL_S,
        })
        return {"access_token": access, "id_token": id_token, "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_TTL_S}

    def _sign(self, claims: dict[str, JsonValue]) -> str:
        return jwt.encode(claims, self.issuer.private_key, algorithm="ES256",
                          headers={"kid": self.issuer.jwk["kid"], "typ": "JWT"})

    def _authenticate_client(self, form: Mapping[str, str], token_url: str) -> RegisteredClient:
        """private_key_jwt (RFC 7523) signed by the key of the client's registered certificate."""
        client = self.clients.get(form.get("client_id", ""))
        if client is None or form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OidcError("invalid_client", "client authentication failed")
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""), client.certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["ES256"], audience=token_url,
                options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_exp": False})
        except jwt.InvalidTokenError:
            raise OidcError("invalid_client", "client authentication failed") from None
        now = self.clock().timestamp()
        if (claims["iss"] != client.client_id or claims["sub"] != client.client_id
                or not now < float(claims["exp"]) <= now + 300):
            raise OidcError("invalid_client", "client authentication failed")
        with self._lock:
            self._used_assertions = {j: e for j, e in self._used_assertions.items() if e > now}
            if claims["jti"] in self._used_assertions:
                raise OidcError("invalid_client", "client assertion was already used")
            self._used_assertions[str(claims["jti"])] = float(claims["exp"])
        return client


__all__ = [
    "CLIENT_ASSERTION_TYPE", "DEMO_USERS", "DemoUser", "DevOidcProvider", "OidcError",
    "RegisteredClient", "cert_thumbprint", "pkce_challenge",
]
