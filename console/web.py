"""Plumbing shared by the console's pages: templates, security headers, sessions, CSRF, roles."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.config import ConsoleConfig
from console.oidc_client import OidcClient
from console.sessions import SessionStore, StaffSession
from console.summary_view import AGENCY_NAMES, BAND_WORDS, subject_facts, words
from mash.clock import Clock
from mash.vocab import Role

if TYPE_CHECKING:
    from console.broker_gateway import BrokerGateway
    from console.governance_gateway import GovernanceGateway
    from console.referrals_gateway import ReferralsGateway
    from console.research_gateway import ResearchGateway

SESSION_COOKIE = "mash_console_session"
SIGN_IN_COOKIE = "mash_console_sign_in"
TEMPLATES = Path(__file__).parent / "templates"

#: A strict policy: our own scripts, styles and images only; no inline code; no framing.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; manifest-src 'self'")

SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}

ROLE_HOME = {
    Role.MASH_SOCIAL_WORKER: "/referrals",
    Role.MASH_TEAM_MANAGER: "/reviews",
    Role.AGENCY_RESEARCHER: "/research",
    Role.IG_LEAD: "/ig",
}


class SecurityHeaders:
    """ASGI middleware: security headers on every response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(("/assets/", "/static/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in names:
                        headers.append((name.encode(), value.encode()))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class Console:
    """What the pages share: config, sessions, the IdP client and the broker's services."""

    config: ConsoleConfig
    sessions: SessionStore
    oidc: OidcClient
    broker: BrokerGateway  # lookups' reviews over gRPC
    referrals: ReferralsGateway  # the broker's Referrals service over the same channel
    clock: Clock
    public_url: str
    governance: GovernanceGateway  # the IG lead's Governance service, same channel
    #: the agency adapter's researcher queue; None when not configured
    research: ResearchGateway | None = None

    def __post_init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self.env.globals.update(agency_name=lambda a: AGENCY_NAMES.get(a, words(a)), words=words,
                                band_words=BAND_WORDS, subject_facts=subject_facts)

    def render(self, request: Request, template: str, status: int = 200,
               session: StaffSession | None = None, **context: object) -> HTMLResponse:
        """A page from `templates/`, with the signed-in user and CSRF token in its context."""
        body = self.env.get_template(template).render(
            request=request, session=session, csrf_token=session.csrf_token if session else "",
            role_home=ROLE_HOME, **context)
        return HTMLResponse(body, status_code=status)

    def cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        """Set a Secure, HttpOnly, SameSite cookie for the whole console."""
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.config.secure_cookies,
                            httponly=True, samesite="lax")


class SignInRequired(Exception):
    """No live session: send the browser to the sign-in page."""


def current_session(console: Console, request: Request) -> StaffSession:
    """The live session of this request, or SignInRequired."""
    session = console.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise SignInRequired
    return session


async def checked_form(console: Console, request: Request, session: StaffSession) -> FormData:
    """The posted form, after its CSRF token and origin are checked (403 otherwise)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != console.public_url:
        raise HTTPException(403, "cross-origin form refused")
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not secrets.compare_digest(token, session.csrf_token):
        raise HTTPException(403, "form token missing or wrong")
    return form


Page = Callable[[Request, StaffSession], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(console: Console, roles: Iterable[Role]) -> Callable[[Page], Endpoint]:
    """Wrap a page: signed in, in one of `roles`, else refused (403) or sent to sign in."""
    allowed = frozenset(roles)

    def wrap(view: Page) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                session = current_session(console, request)
            except SignInRequired:
                if request.method == "GET":
                    return RedirectResponse("/sign-in?expired=1", status_code=303)
                raise HTTPException(403, "your session has ended: sign in again") from None
            if session.role not in allowed:
                raise HTTPException(403, "your role may not use this page")
            return await view(request, session)

        endpoint.__name__ = view.__name__
        return endpoint

    return wrap


def form_text(form: FormData) -> dict[str, str]:
    """A posted form as str -> str (uploads are never expected; they are dropped)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}
