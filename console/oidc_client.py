"""The console as an OpenID Connect relying party: authorisation code + PKCE, private_key_jwt.

The console authenticates to the token endpoint with a JWT signed by the key of its own
client certificate, and accepts an access token only when it is bound to that certificate
(RFC 8705 `cnf.x5t#S256`), names this organisation, and passes the same checks the broker
makes. The ID token must carry the nonce of this sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import jwt
import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.tokens import AUDIENCE, StaffIdentity, TokenValidator
from mash.clock import Clock, utc_now
from mash.home import Home

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SignInError(Exception):
    """Sign-in failed; the message is safe to show (no token content)."""


def thumbprint(cert: x509.Certificate) -> str:
    """RFC 8705 `x5t#S256` of a certificate."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256 challenge."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SignedIn:
    """A verified sign-in: who, and the broker token bound to the console's certificate."""

    identity: StaffIdentity
    name: str
    access_token: str


class ProviderMetadata(msgspec.Struct, frozen=True):
    """What the console uses of the provider's discovery document (the rest is ignored)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


class OidcClient:
    """Talks to one identity provider for the console."""

    def __init__(self, home: Home, certificate_name: str, discovery_url: str, client_id: str,
                 org: str, *, clock: Clock = utc_now,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client_id = client_id
        self.discovery_url = discovery_url
        self.org = org
        self.clock = clock
        self._transport = transport
        self._cert = x509.load_pem_x509_certificate(home.tls_cert(certificate_name).read_bytes())
        key = serialization.load_pem_private_key(home.tls_key(certificate_name).read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("the console's client key is not an EC key")
        self._key = key
        self.thumbprint = thumbprint(self._cert)
        self._meta: ProviderMetadata | None = None
        self._validator: TokenValidator | None = None
        self._jwks: dict[str, object] | None = None

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self._transport, timeout=10.0, follow_redirects=False)

    async def metadata(self) -> ProviderMetadata:
        """The provider's discovery document and keys (fetched once)."""
        if self._meta is None:
            async with self._http() as http:
                meta = msgspec.convert((await http.get(self.discovery_url)).raise_for_status()
                                       .json(), ProviderMetadata)
                jwks: object = (await http.get(meta.jwks_uri)).raise_for_status().json()
            if not isinstance(jwks, dict):
                raise SignInError("the identity provider's JWKS is not a JSON object")
            self._validator = TokenValidator(meta.issuer, AUDIENCE, jwks, org=self.org,
                                             clock=self.clock)
            self._jwks = jwks
            self._meta = meta
        return self._meta

    async def authorization_url(self, *, redirect_uri: str, state: str, nonce: str,
                                code_verifier: str) -> str:
        """Where to send the browser to sign in."""
        meta = await self.metadata()
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": "openid", "state": state, "nonce": nonce,
            "code_challenge": pkce_challenge(code_verifier), "code_challenge_method": "S256",
        })
        return f"{meta.authorization_endpoint}?{query}"

    def _client_assertion(self, token_url: str) -> str:
        now = int(self.clock().timestamp())
        return jwt.encode({"iss": self.client_id, "sub": self.client_id, "aud": token_url,
                           "iat": now, "exp": now + 60, "jti": secrets.token_hex(16)},
                          self._key, algorithm="ES256")

    async def exchange(self, *, code: str, redirect_uri: str, code_verifier: str,
                       nonce: str) -> SignedIn:
        """Trade the code for tokens and verify them; SignInError when anything is wrong."""
        meta = await self.metadata()
        token_url = meta.token_endpoint
        async with self._http() as http:
            reply = await http.post(token_url, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": code_verifier, "client_id": self.client_id,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self._client_assertion(token_url)})
        if reply.status_code != 200:
            raise SignInError("the identity provider refused the sign-in")
        body: object = reply.json()
        if not isinstance(body, dict):
            raise SignInError("the identity provider's token answer is not a JSON object")
        return self.verify(str(body.get("access_token", "")), str(body.get("id_token", "")), nonce)

    def verify(self, access_token: str, id_token: str, nonce: str) -> SignedIn:
        """Check both tokens: signatures, issuer, audiences, times, nonce, org, binding."""
        if self._validator is None or self._meta is None or self._jwks is None:
            raise SignInError("identity provider metadata not loaded")
        try:
            identity = self._validator.validate(access_token, self.thumbprint)
            header = jwt.get_unverified_header(id_token)
            key = jwt.PyJWKSet.from_dict(self._jwks)[str(header.get("kid"))].key
            claims = jwt.decode(id_token, key, algorithms=["ES256"], audience=self.client_id,
                                issuer=self._meta.issuer,
                                options={"require": ["sub", "nonce", "exp", "iat"],
                                         "verify_exp": False, "verify_iat": False})
            access_claims = jwt.decode(access_token, options={"verify_signature": False})
        except Exception as exc:  # every failure of any check means: no sign-in
            raise SignInError(f"sign-in token refused ({type(exc).__name__})") from None
        if float(claims["exp"]) <= self.clock().timestamp():
            raise SignInError("sign-in token refused (expired ID token)")
        if not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise SignInError("sign-in token refused (nonce)")
        if claims["sub"] != identity.sub:
            raise SignInError("sign-in token refused (subject mismatch)")
        if identity.org != self.org:
            raise SignInError("sign-in refused: this console serves another organisation")
        cnf = access_claims.get("cnf")
        if not isinstance(cnf, dict) or cnf.get("x5t#S256") != self.thumbprint:
            raise SignInError("sign-in refused: token is not bound to this console's certificate")
        return SignedIn(identity, str(claims.get("name") or identity.sub), access_token)
