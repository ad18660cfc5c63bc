"""Team manager pages (the agency researcher's are in `pages_research`, the IG lead's in `pages_ig`)."""

from __future__ import annotations

from collections import OrderedDict

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.broker_gateway import BrokerRefused
from console.sessions import StaffSession
from console.web import Console, checked_form, form_text, page
from mash.v1 import mash_pb2 as pb
from mash.vocab import Role

log = structlog.get_logger("console.pages")
MAX_REASON = 2000
#: Who may run retention (the broker checks the same).
RETENTION = (Role.MASH_TEAM_MANAGER, Role.IG_LEAD)


def group_by_referral(reviews: list[pb.Review]) -> OrderedDict[str, list[pb.Review]]:
    """Held requests by referral, oldest request first."""
    grouped: OrderedDict[str, list[pb.Review]] = OrderedDict()
    for review in sorted(reviews, key=lambda r: r.requested_at):
        grouped.setdefault(review.referral_id, []).append(review)
    return grouped


def routes(console: Console) -> list[Route]:
    """The routes of the other roles."""

    async def review_page(request: Request, session: StaffSession, status: int = 200,
                          errors: dict[str, str] | None = None, done: str = "") -> Response:
        try:
            reviews = await run_in_threadpool(console.broker.list_reviews, session.access_token,
                                              "pending")
            problem = ""
        except BrokerRefused as exc:
            reviews, problem = [], exc.message
        return console.render(request, "reviews.html", status, session=session,
                              grouped=group_by_referral(reviews), problem=problem,
                              errors=errors or {}, done=done)

    @page(console, (Role.MASH_TEAM_MANAGER,))
    async def reviews(request: Request, session: StaffSession) -> Response:
        return await review_page(request, session, done=request.query_params.get("done", "")[:64])

    @page(console, (Role.MASH_TEAM_MANAGER,))
    async def decide(request: Request, session: StaffSession) -> Response:
        form = form_text(await checked_form(console, request, session))
        referral_id = form.get("referral_id", "")[:64]
        decision = form.get("decision", "")
        reason = form.get(f"reason-{referral_id}", "").strip()[:MAX_REASON]
        errors: dict[str, str] = {}
        field = f"reason-{referral_id}"
        if decision not in {"approve", "reject"}:
            errors[f"decision-{referral_id}"] = "Select approve or reject"
        if not reason:
            errors[field] = "Enter the reason for your decision"
        if errors:
            return await review_page(request, session, 400, errors)
        try:
            decided = await run_in_threadpool(console.referrals.decide_reviews,
                                              session.access_token, referral_id,
                                              approve=decision == "approve", reason=reason)
        except BrokerRefused as exc:
            return await review_page(request, session, 400, {field: exc.message})
        if not decided:
            return await review_page(request, session, 400,
                                     {field: "Nothing is waiting for a decision on this referral"})
        log.info("reviews_decided", referral=referral_id, count=decided, decision=decision)
        return RedirectResponse(f"/reviews?done={referral_id}", status_code=303)

    @page(console, RETENTION)
    async def retention(request: Request, session: StaffSession) -> Response:
        if request.method == "GET":
            return console.render(request, "retention.html", session=session, deleted=None)
        await checked_form(console, request, session)
        try:
            deleted = await run_in_threadpool(console.referrals.purge_expired,
                                              session.access_token)
        except BrokerRefused as exc:
            return console.render(request, "retention.html", 502, session=session, deleted=None,
                                  problem=exc.message)
        log.info("retention_run", staff=session.sub, deleted=len(deleted))
        return console.render(request, "retention.html", session=session, deleted=deleted)

    return [
        Route("/reviews", reviews), Route("/reviews/decide", decide, methods=["POST"]),
        Route("/retention", retention, methods=["GET", "POST"]),
    ]
