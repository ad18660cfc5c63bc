"""Signing in (OpenID Connect, authorisation code + PKCE) and out."""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.oidc_client import SignInError
from console.web import (
    ROLE_HOME,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Console,
    SignInRequired,
    checked_form,
    current_session,
)

log = structlog.get_logger("console.auth")
CALLBACK_PATH = "/auth/callback"


def routes(console: Console) -> list[Route]:
    """The sign-in routes."""
    redirect_uri = f"{console.public_url}{CALLBACK_PATH}"

    async def home(request: Request) -> Response:
        try:
            session = current_session(console, request)
        except SignInRequired:
            return RedirectResponse("/sign-in", status_code=303)
        target = ROLE_HOME.get(session.role)
        if target is None:
            return console.render(request, "no_access.html", 403, session=session)
        return RedirectResponse(target, status_code=303)

    async def sign_in(request: Request) -> Response:
        return console.render(request, "sign_in.html",
                              expired=request.query_params.get("expired") == "1",
                              problem=request.query_params.get("problem", "") == "1")

    async def login(request: Request) -> Response:
        key, pending = console.sessions.begin_sign_in()
        url = await console.oidc.authorization_url(
            redirect_uri=redirect_uri, state=pending.state, nonce=pending.nonce,
            code_verifier=pending.code_verifier)
        response = RedirectResponse(url, status_code=303)
        console.cookie(response, SIGN_IN_COOKIE, key, max_age=600)
        return response

    async def callback(request: Request) -> Response:
        pending = console.sessions.take_sign_in(request.cookies.get(SIGN_IN_COOKIE, ""))
        params = request.query_params
        if pending is None or params.get("state") != pending.state or "code" not in params:
            log.warning("sign_in_refused", cause="state")
            return _failed(console)
        try:
            signed_in = await console.oidc.exchange(
                code=params["code"], redirect_uri=redirect_uri,
                code_verifier=pending.code_verifier, nonce=pending.nonce)
        except SignInError as exc:
            log.warning("sign_in_refused", cause=str(exc))
            return _failed(console)
        ident = signed_in.identity
        session = console.sessions.create(
            sub=ident.sub, name=signed_in.name, role=ident.role, org=ident.org,
            access_token=signed_in.access_token, token_expires_at=ident.expires_at)
        log.info("signed_in", staff=ident.sub, role=ident.role.value)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SIGN_IN_COOKIE, path="/")
        console.cookie(response, SESSION_COOKIE, session.session_id, max_age=None)
        return response

    async def sign_out(request: Request) -> Response:
        try:
            session = current_session(console, request)
        except SignInRequired:
            return RedirectResponse("/sign-in", status_code=303)
        await checked_form(console, request, session)
        console.sessions.end(session.session_id)
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def health(request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    return [
        Route("/", home), Route("/sign-in", sign_in), Route("/auth/login", login),
        Route(CALLBACK_PATH, callback), Route("/sign-out", sign_out, methods=["POST"]),
        Route("/healthz", health),
    ]


def _failed(console: Console) -> Response:
    response = RedirectResponse("/sign-in?problem=1", status_code=303)
    response.delete_cookie(SIGN_IN_COOKIE, path="/")
    return response


__all__ = ["CALLBACK_PATH", "HTTPException", "routes"]
