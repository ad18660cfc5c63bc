"""Sign-in to the console: the development OIDC issuer and the console as its relying party.

The issuer is outside the console (a fake of the organisation's identity provider), served
in-process over httpx's ASGI transport; the console's own checks are the real ones.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from console.oidc_client import OidcClient, SignInError
from console.sessions import SessionStore
from identity.oidc import DEMO_USERS, DemoUser, DevOidcProvider, OidcError, RegisteredClient
from identity.oidc_server import CONSOLE_CLIENT_ID, IdpConfig, build_app
from identity.tokens import AUDIENCE, DevIssuer
from mash.home import Home
from mash.vocab import Role

REDIRECT = "http://127.0.0.1:8123/auth/callback"
IDP = "http://idp.test"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def provider(home: Home) -> DevOidcProvider:
    users = (*DEMO_USERS, DemoUser("sw-900", "Other Council Worker", Role.MASH_SOCIAL_WORKER,
                                   org="another-council"))
    base = IdpConfig(home=home).provider()
    return DevOidcProvider(base.issuer, base.clients, users)


def _client(home: Home, provider: DevOidcProvider) -> OidcClient:
    transport = httpx.ASGITransport(app=build_app(provider))
    return OidcClient(home, "client-console", f"{IDP}/.well-known/openid-configuration",
                      CONSOLE_CLIENT_ID, "mash-demo", transport=transport)


def _sign_in(home: Home, provider: DevOidcProvider, sub: str, *, verifier: str | None = None,
             redirect: str = REDIRECT) -> object:
    client = _client(home, provider)
    real_verifier = secrets.token_urlsafe(48)

    async def flow() -> object:
        url = await client.authorization_url(redirect_uri=redirect, state="s1", nonce="n1",
                                             code_verifier=real_verifier)
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        back = provider.grant(params, sub)
        code = parse_qs(urlsplit(back).query)["code"][0]
        return await client.exchange(code=code, redirect_uri=redirect,
                                     code_verifier=verifier or real_verifier, nonce="n1")

    return asyncio.run(flow())


def test_a_demo_user_signs_in_with_a_token_bound_to_the_console_certificate(
        home: Home, provider: DevOidcProvider) -> None:
    signed_in = _sign_in(home, provider, "sw-104")
    claims = jwt.decode(signed_in.access_token, options={"verify_signature": False})  # type: ignore[attr-defined]
    assert signed_in.identity.sub == "sw-104"  # type: ignore[attr-defined]
    assert signed_in.identity.role is Role.MASH_SOCIAL_WORKER  # type: ignore[attr-defined]
    assert claims["aud"] == AUDIENCE
    assert claims["cnf"]["x5t#S256"] == _client(home, provider).thumbprint


def test_a_token_from_another_organisation_is_refused(home: Home, provider: DevOidcProvider) -> None:
    with pytest.raises(SignInError, match="another organisation|WrongOrganisation"):
        _sign_in(home, provider, "sw-900")


def test_a_wrong_pkce_verifier_is_refused(home: Home, provider: DevOidcProvider) -> None:
    with pytest.raises(SignInError, match="refused the sign-in"):
        _sign_in(home, provider, "sw-104", verifier=secrets.token_urlsafe(48))


def test_an_unregistered_redirect_is_refused(home: Home, provider: DevOidcProvider) -> None:
    with pytest.raises(OidcError, match="redirect_uri"):
        _sign_in(home, provider, "sw-104", redirect="https://evil.example/auth/callback")


def test_a_code_works_once(home: Home, provider: DevOidcProvider) -> None:
    client = _client(home, provider)
    verifier = secrets.token_urlsafe(48)

    async def flow() -> None:
        url = await client.authorization_url(redirect_uri=REDIRECT, state="s", nonce="n",
                                             code_verifier=verifier)
        params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = parse_qs(urlsplit(provider.grant(params, "sw-104")).query)["code"][0]
        await client.exchange(code=code, redirect_uri=REDIRECT, code_verifier=verifier, nonce="n")
        with pytest.raises(SignInError):
            await client.exchange(code=code, redirect_uri=REDIRECT, code_verifier=verifier,
                                  nonce="n")

    asyncio.run(flow())


def test_a_token_bound_to_another_certificate_is_refused(home: Home,
                                                         provider: DevOidcProvider) -> None:
    staff = RegisteredClient.from_pem(CONSOLE_CLIENT_ID, (REDIRECT,), home.tls_cert("client-staff"))
    issuer = DevIssuer.load(home)
    client = _client(home, provider)
    asyncio.run(client.metadata())
    now = int(datetime.now(UTC).timestamp())
    from identity.oidc import cert_thumbprint
    access = provider._sign({  # noqa: SLF001 - the issuer's own signing, with a wrong binding
        "iss": issuer.issuer, "aud": AUDIENCE, "sub": "sw-104", "role": "mash_social_worker",
        "org": "mash-demo", "iat": now, "nbf": now, "exp": now + 300, "jti": "j1",
        "cnf": {"x5t#S256": cert_thumbprint(staff.certificate)}})
    id_token = provider._sign({"iss": issuer.issuer, "aud": CONSOLE_CLIENT_ID, "sub": "sw-104",
                               "nonce": "n", "iat": now, "exp": now + 300})
    with pytest.raises(SignInError, match="not bound|WrongCertificate"):
        client.verify(access, id_token, "n")
    with pytest.raises(SignInError):
        client.verify(access, id_token, "another-nonce")


def test_sessions_end_when_idle_too_old_or_the_token_expires() -> None:
    clock = Clock()
    store = SessionStore(idle_s=900, max_s=3600, clock=clock)

    def new(token_ttl: int = 7200) -> str:
        return store.create(sub="sw-104", name="Sam", role=Role.MASH_SOCIAL_WORKER, org="mash-demo",
                            access_token="t", token_expires_at=clock.now + timedelta(
                                seconds=token_ttl)).session_id

    idle = new()
    clock.now += timedelta(seconds=899)
    assert store.get(idle) is not None  # use restarts the idle timer
    clock.now += timedelta(seconds=899)
    assert store.get(idle) is not None
    clock.now += timedelta(seconds=901)
    assert store.get(idle) is None

    busy = new()
    for _ in range(5):
        clock.now += timedelta(seconds=800)
        alive = store.get(busy) is not None
    assert not alive  # 4000 s after sign-in: past the 3600 s limit however busy

    short = new(token_ttl=60)
    clock.now += timedelta(seconds=61)
    assert store.get(short) is None

    gone = new()
    store.end(gone)
    assert store.get(gone) is None
    assert store.get("made-up") is None


def test_a_pending_sign_in_is_single_use() -> None:
    store = SessionStore(idle_s=900, max_s=3600, clock=Clock())
    key, pending = store.begin_sign_in()
    assert store.take_sign_in(key) == pending
    assert store.take_sign_in(key) is None
