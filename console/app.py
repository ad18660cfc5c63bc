"""The console's ASGI application and its process (`mash console serve`)."""

from __future__ import annotations

from pathlib import Path

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from console import pages_auth, pages_ig, pages_research, pages_social_worker, pages_staff
from console.broker_gateway import BrokerGateway
from console.config import ConsoleConfig
from console.governance_gateway import GovernanceGateway
from console.oidc_client import OidcClient
from console.referrals_gateway import ReferralsGateway
from console.research_gateway import ResearchGateway
from console.sessions import SessionStore
from console.web import Console, SecurityHeaders, SignInRequired
from mash.clock import Clock, utc_now
from mash.http_server import bind, serve_http

STATIC = Path(__file__).parent / "static"
log = structlog.get_logger("console")


class AssetsMissing(RuntimeError):
    """GOV.UK Frontend was not vendored (run `make install`)."""


def build_console(config: ConsoleConfig, public_url: str, *, clock: Clock = utc_now) -> Console:
    """The console's shared state for `config`, reachable at `public_url`."""
    oidc = OidcClient(config.home, config.client_certificate, config.oidc.discovery_url,
                      config.oidc.client_id, config.org, clock=clock)
    gateway = BrokerGateway(config.home, config.broker_address, config.client_certificate)
    research = None if config.research is None else ResearchGateway(
        config.home, config.research.agency, config.research.address,
        config.client_certificate, config.research.server_name)
    return Console(config, SessionStore(config.session_idle_s, config.session_max_s, clock), oidc,
                   gateway, ReferralsGateway(gateway.channel), clock, public_url.rstrip("/"),
                   GovernanceGateway(gateway.channel), research)


def build_app(console: Console) -> SecurityHeaders:
    """The ASGI app: pages, vendored GOV.UK Frontend assets, security headers on everything."""
    govuk = STATIC / "govuk"
    if not (govuk / "govuk-frontend.min.css").is_file():
        raise AssetsMissing(f"GOV.UK Frontend assets are missing from {govuk}: run `make install`")

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # registered for HTTPException only
            raise exc
        try:
            from console.web import current_session
            session = current_session(console, request)
        except SignInRequired:
            session = None
        return console.render(request, "error.html", exc.status_code, session=session,
                              code=exc.status_code, detail=exc.detail)

    async def sign_in_required(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/sign-in?expired=1", status_code=303)

    routes = [
        *pages_auth.routes(console), *pages_social_worker.routes(console),
        *pages_staff.routes(console), *pages_ig.routes(console),
        *pages_research.routes(console),
        Mount("/assets", StaticFiles(directory=govuk), name="assets"),
        Mount("/static", StaticFiles(directory=STATIC, follow_symlink=False), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        HTTPException: http_error, SignInRequired: sign_in_required})
    return SecurityHeaders(app)


def serve_console(config: ConsoleConfig) -> None:
    """Run the console from `config` until SIGTERM/SIGINT."""
    sock = bind(config.listen_host, config.listen_port)
    port = sock.getsockname()[1]
    public_url = config.public_url or f"http://{config.listen_host}:{port}"
    console = build_console(config, public_url)
    log.info("console_starting", port=port)
    try:
        serve_http(build_app(console), sock, config.home.run_dir / "console.port")
    finally:
        console.referrals.close()
        console.broker.close()
        if console.research is not None:
            console.research.close()
