"""One test per threat against staff-token validation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from identity.errors import (
    BadSignature,
    DisallowedAlgorithm,
    ExpiredToken,
    MalformedToken,
    MissingClaim,
    NotYetValid,
    TokenTooLongLived,
    UnknownRole,
    WrongAudience,
    WrongIssuer,
)
from identity.tokens import (
    DEV_ISSUER,
    DevIssuer,
    StaffIdentity,
    TokenValidator,
    audience_for,
    init_dev_issuer,
    jwks_path,
)
from mash.home import Home
from mash.vocab import Role

pytestmark = pytest.mark.clock_sensitive

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
AUDIENCE = audience_for("mash-demo")
#: the `x5t#S256` of the client certificate the tokens of these tests are bound to
DEVICE = base64.urlsafe_b64encode(b"\x01" * 32).rstrip(b"=").decode()
OTHER_DEVICE = base64.urlsafe_b64encode(b"\x02" * 32).rstrip(b"=").decode()


class _OnDevice:
    """A validator whose tokens are presented over the certificate `DEVICE`."""

    def __init__(self, inner: TokenValidator) -> None:
        self.inner = inner

    def validate(self, token: str) -> StaffIdentity:
        return self.inner.validate(token, DEVICE)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    h = Home.at(tmp_path_factory.mktemp("idp"))
    init_dev_issuer(h)
    return h


@pytest.fixture(scope="module")
def issuer(home: Home) -> DevIssuer:
    return DevIssuer.load(home)


def validator(home: Home, at: datetime = T0) -> _OnDevice:
    return _OnDevice(TokenValidator.from_home(home, clock=lambda: at))


def claims(issuer: DevIssuer, **overrides: object) -> dict[str, object]:
    now = int(T0.timestamp())
    base: dict[str, object] = {"iss": DEV_ISSUER, "aud": AUDIENCE, "sub": "sw-1",
                               "role": "mash_social_worker", "org": "mash-demo", "iat": now,
                               "nbf": now, "exp": now + 900, "jti": "j1",
                               "cnf": {"x5t#S256": DEVICE}}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(issuer: DevIssuer, body: dict[str, object], **headers: object) -> str:
    return jwt.encode(body, issuer.private_key, algorithm="ES256",
                      headers={"kid": issuer.jwk["kid"], **headers})


def test_valid_token_is_accepted(home: Home, issuer: DevIssuer) -> None:
    ident = validator(home).validate(issuer.issue(cert_thumbprint=DEVICE, sub="sw-1",
                                                  role=Role.MASH_TEAM_MANAGER,
                                                  clock=lambda: T0))
    assert (ident.sub, ident.role, ident.org) == ("sw-1", Role.MASH_TEAM_MANAGER, "mash-demo")
    assert ident.expires_at == T0 + timedelta(seconds=900)


def test_expired_token(home: Home, issuer: DevIssuer) -> None:
    token = issuer.issue(cert_thumbprint=DEVICE, sub="a", role="auditor", ttl_s=60, clock=lambda: T0)
    with pytest.raises(ExpiredToken):
        validator(home, T0 + timedelta(seconds=60 + 31)).validate(token)
    validator(home, T0 + timedelta(seconds=60 + 29)).validate(token)  # inside leeway


def test_cached_token_is_not_accepted_past_expiry(home: Home, issuer: DevIssuer) -> None:
    now = [T0]
    v = _OnDevice(TokenValidator.from_home(home, clock=lambda: now[0], leeway_s=0))
    token = issuer.issue(cert_thumbprint=DEVICE, sub="a", role="auditor", ttl_s=60, clock=lambda: T0)
    v.validate(token)
    now[0] = T0 + timedelta(seconds=61)
    with pytest.raises(ExpiredToken):
        v.validate(token)


def test_not_yet_valid_token(home: Home, issuer: DevIssuer) -> None:
    future = int(T0.timestamp()) + 600
    token = sign(issuer, claims(issuer, nbf=future, iat=future, exp=future + 600))
    with pytest.raises(NotYetValid):
        validator(home).validate(token)


def test_wrong_audience(home: Home, issuer: DevIssuer) -> None:
    token = issuer.issue(cert_thumbprint=DEVICE, sub="a", role="auditor",
                         audience="another-service", clock=lambda: T0)
    with pytest.raises(WrongAudience):
        validator(home).validate(token)


def test_wrong_issuer(home: Home, issuer: DevIssuer) -> None:
    with pytest.raises(WrongIssuer):
        validator(home).validate(sign(issuer, claims(issuer, iss="https://evil.invalid")))


def _unsigned(body: dict[str, object], header: dict[str, object]) -> str:
    def enc(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc(header)}.{enc(body)}."


def test_alg_none_is_refused(home: Home, issuer: DevIssuer) -> None:
    token = _unsigned(claims(issuer), {"alg": "none", "typ": "JWT"})
    with pytest.raises(DisallowedAlgorithm):
        validator(home).validate(token)
    token = _unsigned(claims(issuer), {"alg": "None", "kid": issuer.jwk["kid"]})
    with pytest.raises(DisallowedAlgorithm):
        validator(home).validate(token)


def test_hs256_signed_with_the_public_key_is_refused(home: Home, issuer: DevIssuer) -> None:
    # Key confusion: attacker HMACs with the (public) issuer key as the secret.
    import hashlib
    import hmac

    public_pem = issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.jwk["kid"]}
    unsigned = _unsigned(claims(issuer), header)[:-1]
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    token = unsigned + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(DisallowedAlgorithm):
        validator(home).validate(token)


def test_validator_refuses_a_symmetric_allow_list(home: Home) -> None:
    with pytest.raises(ValueError):
        TokenValidator(DEV_ISSUER, AUDIENCE, {"keys": []}, org="mash-demo",
                       algorithms=("ES256", "HS256"))


def test_missing_role(home: Home, issuer: DevIssuer) -> None:
    with pytest.raises(MissingClaim):
        validator(home).validate(sign(issuer, claims(issuer, role=None)))


@pytest.mark.parametrize("missing", ["exp", "aud", "sub", "jti", "nbf", "iat", "org"])
def test_missing_required_claim(home: Home, issuer: DevIssuer, missing: str) -> None:
    with pytest.raises(MissingClaim):
        validator(home).validate(sign(issuer, claims(issuer, **{missing: None})))


def test_unknown_role(home: Home, issuer: DevIssuer) -> None:
    with pytest.raises(UnknownRole):
        validator(home).validate(sign(issuer, claims(issuer, role="superuser")))


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "....", "x" * 9000,
                                     "eyJhbGciOiJFUzI1NiJ9.e30"])
def test_garbage_is_malformed(home: Home, garbage: str) -> None:
    with pytest.raises(MalformedToken):
        validator(home).validate(garbage)


def test_token_from_another_issuer_key_is_bad_signature(home: Home, issuer: DevIssuer) -> None:
    rogue = DevIssuer(ec.generate_private_key(ec.SECP256R1()))
    # Same kid as the real issuer, different key.
    token = jwt.encode(claims(issuer), rogue.private_key, algorithm="ES256",
                       headers={"kid": issuer.jwk["kid"]})
    with pytest.raises(BadSignature):
        validator(home).validate(token)
    unknown_kid = jwt.encode(claims(issuer), rogue.private_key, algorithm="ES256",
                             headers={"kid": rogue.jwk["kid"]})
    with pytest.raises(BadSignature):
        validator(home).validate(unknown_kid)


def test_tampered_claims_are_bad_signature(home: Home, issuer: DevIssuer) -> None:
    token = issuer.issue(cert_thumbprint=DEVICE, sub="sw-1", role="mash_social_worker", clock=lambda: T0)
    header, body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["role"] = "mash_team_manager"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignature):
        validator(home).validate(f"{header}.{forged}.{sig}")


def test_long_lived_token_is_refused(home: Home, issuer: DevIssuer) -> None:
    token = issuer.issue(cert_thumbprint=DEVICE, sub="a", role="auditor", ttl_s=30 * 24 * 3600,
                         clock=lambda: T0)
    with pytest.raises(TokenTooLongLived):
        validator(home).validate(token)


def test_jwks_file_holds_only_public_material(home: Home) -> None:
    jwks = json.loads(jwks_path(home).read_text())
    assert [set(k) for k in jwks["keys"]] == [{"kty", "crv", "x", "y", "kid", "use", "alg"}]
