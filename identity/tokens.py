"""Staff tokens: a development issuer, and validation at the broker.

The real identity provider is external; the broker only needs its issuer URL,
its audience, the organisation (the MASH) it serves and the IdP's public keys (a
JWKS). `TokenValidator` checks, in order: size and shape, the header (only known
parameters, each a string; the algorithm against an allow-list before any
decoding, so `alg: none` and HS256-with-the-public-key never reach a verifier; no
`crit`), key id, signature, required claims, issuer, audience (each broker its
own), times with an injected clock, the organisation, the role against the
vocabulary, and, on every call, that the token is bound (RFC 8705 `cnf.x5t#S256`)
to the client certificate it was presented over. Whatever a token holds, the
answer is a `TokenError`: nothing in a token can crash the broker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from certs.authority import thumbprint_of_file
from certs.files import write_private, write_public
from identity.errors import (
    BadSignature,
    DisallowedAlgorithm,
    ExpiredToken,
    MalformedToken,
    MissingClaim,
    NotYetValid,
    TokenError,
    TokenTooLongLived,
    UnboundToken,
    UnknownRole,
    WrongAudience,
    WrongCertificate,
    WrongIssuer,
    WrongOrganisation,
)
from mash.canonical import canonical_bytes
from mash.clock import Clock, utc_now
from mash.home import Home
from mash.logs import get_logger
from mash.vocab import Role, UnknownVocabulary, parse

DEV_ISSUER = "https://idp.mash-demo.invalid"
DEFAULT_BROKER_ID = "mash-demo"
ALGORITHM = "ES256"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", "cnf")
#: RFC 8705 confirmation method: SHA-256 thumbprint of the client certificate (base64url).
CNF_X5T_S256 = "x5t#S256"
#: The header parameters a staff token may carry, each a string. Anything else (`crit`, `jku`,
#: `x5u`, `jwk`, `x5c`: keys or semantics chosen by the sender, `b64`, `zip`) is refused.
ALLOWED_HEADER = frozenset({"alg", "kid", "typ", "cty", "x5t", "x5t#S256"})
#: Latest instant a time claim may name (year 5138): beyond it a token is not a real token.
_MAX_TIMESTAMP = 1e11
#: Tokens larger than this are refused unparsed (bounds the work an attacker can cause).
MAX_TOKEN_BYTES = 8192
DEFAULT_MAX_LIFETIME_S = 3600
#: The public keys a validator may be given directly (kid -> key), as pyjwt verifies with them.
PUBLIC_KEY_TYPES = (ec.EllipticCurvePublicKey, rsa.RSAPublicKey, ed25519.Ed25519PublicKey,
                    ed448.Ed448PublicKey)
#: An issuer key: a JWK from the JWKS (its algorithm fixed), or a public key given by kid.
VerifyingKey: TypeAlias = (jwt.PyJWK | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
                           | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)


log = get_logger("identity")


def audience_for(broker_id: str) -> str:
    """The development issuer's audience for broker `broker_id`: each broker its own, so a
    token issued for one MASH's broker is refused by every other."""
    return f"mash://broker/{broker_id}"


#: The development issuer's audience for the demo broker (`mash-demo`).
AUDIENCE = audience_for(DEFAULT_BROKER_ID)


def issuer_key_path(home: Home) -> Path:
    """The development issuer's private key (0600)."""
    return home.idp_dir / "issuer.key"


def jwks_path(home: Home) -> Path:
    """The public JWKS of the development issuer."""
    return home.idp_dir / "jwks.json"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_jwk(public_key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }
    # RFC 7638 thumbprint: SHA-256 of the required members, sorted, no whitespace (for
    # these ASCII members, exactly their RFC 8785 form).
    thumbprint = hashlib.sha256(canonical_bytes(jwk))
    return {**jwk, "kid": _b64url(thumbprint.digest()), "use": "sig", "alg": ALGORITHM}


# --- development issuer ----------------------------------------------------------------------
@dataclass(frozen=True)
class DevIssuer:
    """The demo identity provider: an ES256 key that signs staff tokens."""

    private_key: ec.EllipticCurvePrivateKey
    issuer: str = DEV_ISSUER

    @classmethod
    def load(cls, home: Home) -> DevIssuer:
        """The issuer of `home` (run `init_dev_issuer` first)."""
        key = serialization.load_pem_private_key(issuer_key_path(home).read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("development issuer key is not an EC key")
        return cls(key)

    @property
    def jwk(self) -> dict[str, str]:
        """The public JWK (with kid) of this issuer."""
        return _public_jwk(self.private_key.public_key())

    def issue(
        self, *, sub: str, role: Role | str, cert_thumbprint: str,
        org: str = DEFAULT_BROKER_ID, ttl_s: int = 900,
        audience: str = audience_for(DEFAULT_BROKER_ID), clock: Clock = utc_now,
        jti: str | None = None,
    ) -> str:
        """A signed staff token for `sub` with `role`, valid from now for `ttl_s` seconds,
        bound to the client certificate whose `x5t#S256` is `cert_thumbprint`."""
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        if not cert_thumbprint:
            raise ValueError("a staff token must be bound to a client certificate")
        now = int(clock().timestamp())
        claims = {
            "iss": self.issuer, "aud": audience, "sub": sub, "role": parse(Role, role).value,
            "org": org, "iat": now, "nbf": now, "exp": now + ttl_s,
            "jti": jti or secrets.token_hex(16), "cnf": {CNF_X5T_S256: cert_thumbprint},
        }
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM,
                          headers={"kid": self.jwk["kid"], "typ": "JWT"})


def init_dev_issuer(home: Home, *, force: bool = False) -> None:
    """Create the development issuer's key and public JWKS under `home.idp_dir` (idempotent)."""
    home.ensure()
    key_path = issuer_key_path(home)
    if force or not key_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        write_private(key_path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    issuer = DevIssuer.load(home)
    jwks = {"keys": [issuer.jwk]}
    write_public(jwks_path(home), (json.dumps(jwks, indent=2) + "\n").encode())


def issue_token(
    home: Home, *, sub: str, role: Role | str, broker_id: str = DEFAULT_BROKER_ID,
    org: str | None = None, ttl_s: int = 900, audience: str | None = None,
    client: str = "client-staff", cert: Path | None = None, clock: Clock = utc_now,
) -> str:
    """Issue a staff token from the development issuer of `home`, for broker `broker_id`.

    The token is bound to the client certificate `cert` (a PEM file), by default the
    home's certificate `client` (`client-staff`): presented over any other certificate, the
    broker refuses it. `org` defaults to the broker's MASH, `audience` to the broker's own.
    """
    thumbprint = thumbprint_of_file(cert if cert is not None else home.tls_cert(client))
    return DevIssuer.load(home).issue(
        sub=sub, role=role, cert_thumbprint=thumbprint, org=org or broker_id, ttl_s=ttl_s,
        audience=audience or audience_for(broker_id), clock=clock)


# --- validation at the broker ----------------------------------------------------------------
@dataclass(frozen=True)
class StaffIdentity:
    """A validated staff member: who, in which role and organisation, until when."""

    sub: str
    role: Role
    org: str
    jti: str
    expires_at: datetime
    #: `x5t#S256` of the client certificate the token is bound to
    cert_thumbprint: str = ""


class TokenValidator:
    """Validates staff tokens against one issuer's public keys, for one MASH. Thread-safe."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_or_keys: Mapping[str, object],
        *,
        org: str,
        algorithms: Sequence[str] = (ALGORITHM,),
        leeway_s: int = 30,
        max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S,
        clock: Clock = utc_now,
        cache_size: int = 4096,
    ) -> None:
        """`jwks_or_keys` is a JWKS dict (`{"keys": [...]}`) or a mapping kid -> public key;
        `audience` is this broker's own, `org` the MASH it serves."""
        bad = [a for a in algorithms if a.lower() == "none" or a.startswith("HS")]
        if bad or not algorithms:
            # Symmetric algorithms would let anyone holding the public key mint tokens.
            raise ValueError(f"refusing algorithm allow-list {list(algorithms)!r}")
        if not org or not audience:
            raise ValueError("a token validator needs this broker's audience and organisation")
        self.issuer = issuer
        self.audience = audience
        self.org = org
        self.algorithms = tuple(algorithms)
        self.leeway = leeway_s
        self.max_lifetime = max_lifetime_s
        self.clock = clock
        self._keys = _load_keys(jwks_or_keys)
        self._cache: OrderedDict[bytes, StaffIdentity] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def from_home(cls, home: Home, *, broker_id: str = DEFAULT_BROKER_ID, clock: Clock = utc_now,
                  leeway_s: int = 30, max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S,
                  cache_size: int = 4096) -> TokenValidator:
        """A validator for the development issuer of `home`, for broker `broker_id` (its
        audience, its MASH as the organisation); reads the issuer's public JWKS."""
        jwks = json.loads(jwks_path(home).read_text(encoding="utf-8"))
        if not isinstance(jwks, dict):
            raise ValueError(f"{jwks_path(home)} is not a JWKS")
        return cls(DEV_ISSUER, audience_for(broker_id), jwks, org=broker_id, clock=clock,
                   leeway_s=leeway_s, max_lifetime_s=max_lifetime_s, cache_size=cache_size)

    def validate(self, token: str, presented_thumbprint: str | None) -> StaffIdentity:
        """The staff identity of a valid token presented over the client certificate whose
        `x5t#S256` is `presented_thumbprint`; a `TokenError` subclass otherwise.

        The binding is checked on every call, cached or not: a token copied off one device
        is refused over any other certificate, and once that device's certificate is revoked
        (refused by the TLS layer) the token is of no use at all.
        """
        if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES:
            raise MalformedToken("token is not a string of reasonable size")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = self.clock()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and now < cached.expires_at:
            identity = cached
        else:
            identity = self._validate_any(token, now)
            with self._lock:
                self._cache[digest] = identity
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if not presented_thumbprint or not hmac.compare_digest(
                identity.cert_thumbprint.encode(), presented_thumbprint.encode()):
            raise WrongCertificate("token is bound to another client certificate")
        return identity

    def _validate_any(self, token: str, now: datetime) -> StaffIdentity:
        try:
            return self._validate(token, now)
        except TokenError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: a token can never crash the broker
            # Only the cause's type is logged: the token is a credential, never log it.
            log.warning("token_validation_error", cause=type(exc).__name__)
            raise MalformedToken(f"token refused: {type(exc).__name__}") from None

    def _validate(self, token: str, now: datetime) -> StaffIdentity:
        key = self._key_for(_header(token), token)
        try:
            claims = jwt.decode(
                token, key, algorithms=list(self.algorithms), audience=self.audience,
                issuer=self.issuer,
                # Times are checked below against the injected clock, not pyjwt's.
                options={"require": list(REQUIRED_CLAIMS), "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            raise BadSignature("token signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            if exc.claim == "cnf":
                raise UnboundToken("token is not bound to a client certificate (cnf)") from None
            raise MissingClaim(f"missing claim {exc.claim!r}") from None
        except jwt.InvalidIssuerError:
            raise WrongIssuer("token issuer is not trusted") from None
        except jwt.InvalidAudienceError:
            raise WrongAudience("token audience is not this broker") from None
        except jwt.InvalidAlgorithmError:
            raise DisallowedAlgorithm("token algorithm not allowed") from None
        except jwt.InvalidKeyError:
            raise BadSignature("issuer key unusable for this token") from None
        except jwt.DecodeError as exc:
            raise MalformedToken(f"token cannot be decoded: {type(exc).__name__}") from None
        except jwt.InvalidTokenError as exc:
            raise MalformedToken(f"token refused: {type(exc).__name__}") from None
        return self._identity(claims, now)

    def _key_for(self, header: Mapping[str, object], token: str) -> VerifyingKey:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise DisallowedAlgorithm(f"token algorithm {str(alg)[:32]!r} is not allowed")
        if "crit" in header:
            raise MalformedToken("critical header extensions are not supported")
        unknown = set(header) - ALLOWED_HEADER
        if unknown:
            raise MalformedToken(f"token header has parameters not accepted: {len(unknown)}")
        if not all(isinstance(v, str) for v in header.values()):
            raise MalformedToken("token header parameters must be strings")
        kid = header.get("kid")
        if kid is None and len(self._keys) == 1:
            kid = next(iter(self._keys))
        entry = self._keys.get(kid) if isinstance(kid, str) else None
        if entry is None:
            raise BadSignature("token key id is not a trusted issuer key")
        key, key_alg = entry
        if key_alg is not None and key_alg != alg:
            raise DisallowedAlgorithm(f"key {kid} is for {key_alg}, token says {alg}")
        return key

    def _identity(self, claims: Mapping[str, object], now: datetime) -> StaffIdentity:
        exp, nbf, iat = (_numeric(claims, c) for c in ("exp", "nbf", "iat"))
        ts = now.timestamp()
        if ts >= exp + self.leeway:  # RFC 7519: not accepted "on or after" exp
            raise ExpiredToken("token has expired")
        if ts + self.leeway < nbf or ts + self.leeway < iat:
            raise NotYetValid("token is not valid yet")
        if exp - iat > self.max_lifetime:
            raise TokenTooLongLived(f"token lifetime exceeds {self.max_lifetime} s")
        role_name, org, sub, jti = (_text_claim(claims, n) for n in ("role", "org", "sub", "jti"))
        if not hmac.compare_digest(org.encode(), self.org.encode()):
            raise WrongOrganisation("token is for another organisation than this MASH")
        try:
            role = parse(Role, role_name)
        except UnknownVocabulary:
            raise UnknownRole("token role is not a known role") from None
        return StaffIdentity(
            sub=sub, role=role, org=org, jti=jti,
            expires_at=datetime.fromtimestamp(exp, UTC), cert_thumbprint=_bound_thumbprint(claims),
        )


def _header(token: str) -> Mapping[str, object]:
    try:
        header: object = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:  # DecodeError, and e.g. a `kid` that is not a string
        raise MalformedToken("token header cannot be decoded") from None
    if not isinstance(header, dict):
        raise MalformedToken("token header is not a JSON object")
    return header


def _text_claim(claims: Mapping[str, object], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise MissingClaim(f"missing claim {name!r}")
    return value


def _numeric(claims: Mapping[str, object], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MissingClaim(f"claim {name!r} must be a number")
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= _MAX_TIMESTAMP:
        raise MalformedToken(f"claim {name!r} is not a time")
    return number


def _bound_thumbprint(claims: Mapping[str, object]) -> str:
    """The `cnf.x5t#S256` of a token (RFC 8705), or `UnboundToken`."""
    cnf = claims.get("cnf")
    thumbprint = cnf.get(CNF_X5T_S256) if isinstance(cnf, dict) else None
    # SHA-256 in unpadded base64url is 43 characters.
    if not isinstance(thumbprint, str) or len(thumbprint) != 43:
        raise UnboundToken("token is not bound to a client certificate (cnf.x5t#S256)")
    return thumbprint


def _load_keys(jwks_or_keys: Mapping[str, object]) -> dict[str, tuple[VerifyingKey, str | None]]:
    keys: dict[str, tuple[VerifyingKey, str | None]] = {}
    if "keys" in jwks_or_keys and isinstance(jwks_or_keys["keys"], list):
        try:
            jwk_set = jwt.PyJWKSet.from_dict(dict(jwks_or_keys))
        except jwt.PyJWKSetError as exc:
            raise ValueError(f"unusable JWKS: {exc}") from None
        for jwk in jwk_set.keys:
            if not jwk.key_id:
                raise ValueError("every JWKS key needs a kid")
            # algorithm_name is the JWK's declared "alg" (or inferred from kty/crv); pyjwt
            # verifies a PyJWK with that algorithm only.
            keys[jwk.key_id] = (jwk, jwk.algorithm_name)
        return keys
    for kid, key in jwks_or_keys.items():
        if not isinstance(key, PUBLIC_KEY_TYPES):
            raise ValueError(f"the key for kid {kid!r} is not a public key")
        keys[str(kid)] = (key, None)
    return keys


__all__ = [
    "AUDIENCE", "CNF_X5T_S256", "DEV_ISSUER", "DevIssuer", "StaffIdentity", "TokenError", "TokenValidator",
    "audience_for", "init_dev_issuer", "issue_token", "issuer_key_path", "jwks_path",
]
