"""The development OpenID Connect issuer as a small local web server (`mash idp serve`).

Endpoints: `/.well-known/openid-configuration`, `/jwks`, `/authorize` (a demo sign-in page
where a made-up member of staff is chosen; no password, nobody real signs in) and `/token`.
Bound to loopback; the port is published in `HOME/run/idp.port`.
"""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from identity.oidc import DevOidcProvider, OidcError, RegisteredClient
from identity.tokens import DevIssuer
from mash import tomlwrite
from mash.config import Strict, load_toml
from mash.home import Home
from mash.http_server import bind, serve_http

#: The console's registered client (its redirect path; any loopback port, RFC 8252).
CONSOLE_CLIENT_ID = "mash-console"
CONSOLE_CALLBACK_PATH = "/auth/callback"

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self' http:; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ClientEntry(Strict, frozen=True):
    """One `[clients.<id>]` table: where the client may be sent back to, and its certificate."""

    redirect_uris: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
    certificate: str


class IdpFile(Strict, frozen=True):
    """`mash idp serve`'s config file as written."""

    home: str
    host: str = "127.0.0.1"
    port: int = 0
    clients: dict[str, ClientEntry] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class IdpConfig:
    """`mash idp serve` settings (one TOML file)."""

    home: Home
    host: str = "127.0.0.1"
    port: int = 0
    #: client id -> (redirect URIs, client certificate name in the home's PKI)
    clients: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=lambda: {
        CONSOLE_CLIENT_ID: ((f"http://127.0.0.1{CONSOLE_CALLBACK_PATH}",
                             f"http://localhost{CONSOLE_CALLBACK_PATH}"), "client-console")})

    @classmethod
    def load(cls, path: Path) -> IdpConfig:
        """Read and validate an idp config file."""
        raw = load_toml(path, IdpFile)
        cfg = cls(home=Home.at(raw.home), host=raw.host, port=raw.port)
        if not raw.clients:
            return cfg
        clients = {cid: (c.redirect_uris, c.certificate) for cid, c in raw.clients.items()}
        return cls(cfg.home, cfg.host, cfg.port, clients)

    def write(self, path: Path) -> None:
        """Write this config as TOML (the `IdpFile` format `load` reads)."""
        document = IdpFile(home=str(self.home.root), host=self.host, port=self.port, clients={
            cid: ClientEntry(redirect_uris=tuple(uris), certificate=cert)
            for cid, (uris, cert) in self.clients.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tomlwrite.write(path, msgspec.to_builtins(document))

    def provider(self) -> DevOidcProvider:
        """The provider these settings describe (keys and certificates read from the home)."""
        clients = {cid: RegisteredClient.from_pem(cid, uris, self.home.tls_cert(cert))
                   for cid, (uris, cert) in self.clients.items()}
        return DevOidcProvider(DevIssuer.load(self.home), clients)


def _error(exc: OidcError, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": exc.code, "error_description": exc.description},
                        status_code=status, headers=_SECURITY_HEADERS)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Demo sign-in - development identity provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>Demo sign-in</h1>
<p>This is the demo's development identity provider. Choose who to sign in as.
Nobody real signs in here and no password is asked.</p>
<form method="post" action="/authorize">
<input type="hidden" name="request_id" value="{request_id}">
<fieldset><legend>Sign in as</legend>
{choices}
</fieldset>
<p><button type="submit" id="sign-in">Sign in</button></p>
</form></main></body></html>
"""


def build_app(provider: DevOidcProvider) -> Starlette:
    """The provider's ASGI app."""
    pending: dict[str, dict[str, str]] = {}
    lock = threading.Lock()

    def base_url(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def discovery(request: Request) -> Response:
        return JSONResponse(provider.discovery(base_url(request)), headers=_SECURITY_HEADERS)

    async def jwks(request: Request) -> Response:
        return JSONResponse(provider.jwks(), headers=_SECURITY_HEADERS)

    async def authorize(request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
            try:
                provider.check_authorization(params)
            except OidcError as exc:
                return _error(exc)
            request_id = secrets.token_urlsafe(24)
            with lock:
                if len(pending) > 1000:
                    pending.clear()
                pending[request_id] = params
            choices = "\n".join(
                f'<div><input type="radio" id="user-{html.escape(u.sub)}" name="sub" '
                f'value="{html.escape(u.sub)}"{" checked" if i == 0 else ""}> '
                f'<label for="user-{html.escape(u.sub)}">{html.escape(u.name)} '
                f'({html.escape(u.role.value.replace("_", " "))}, {html.escape(u.sub)})</label></div>'
                for i, u in enumerate(provider.users))
            return HTMLResponse(_PAGE.format(request_id=html.escape(request_id), choices=choices),
                                headers=_SECURITY_HEADERS)
        form = await request.form()
        with lock:
            params_or_none = pending.pop(str(form.get("request_id", "")), None)
        if params_or_none is None:
            return _error(OidcError("invalid_request", "sign-in request unknown or already used"))
        try:
            target = provider.grant(params_or_none, str(form.get("sub", "")))
        except OidcError as exc:
            return _error(exc)
        return RedirectResponse(target, status_code=303, headers=_SECURITY_HEADERS)

    async def token(request: Request) -> Response:
        form = await request.form()
        fields = {k: str(v) for k, v in form.items()}
        try:
            return JSONResponse(provider.token(fields, f"{base_url(request)}/token"),
                                headers=_SECURITY_HEADERS)
        except OidcError as exc:
            return _error(exc, 401 if exc.code == "invalid_client" else 400)

    return Starlette(routes=[
        Route("/.well-known/openid-configuration", discovery),
        Route("/jwks", jwks),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
    ])


def serve_idp(config: IdpConfig) -> None:
    """Run the development issuer from `config`."""
    app = build_app(config.provider())
    serve_http(app, bind(config.host, config.port), config.home.run_dir / "idp.port")
