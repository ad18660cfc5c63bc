"""The agency researcher's pages: the researcher queue of their agency's adapter.

The queue lives at the adapter (an agency with no system a MASH can query searches by
hand); the console reaches it over gRPC with mTLS (`ResearchGateway`), carrying the
signed-in researcher's own token, so the adapter decides who they are and audits what they
read and answer. Without a `[research]` table in the console's config the page says the
queue is not configured.
"""

from __future__ import annotations

import re

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.research_gateway import ResearchRefused
from console.sessions import StaffSession
from console.web import Console, checked_form, form_text, page
from mash.v1 import mash_pb2 as pb
from mash.v1 import research_pb2 as rpb
from mash.vocab import Role

log = structlog.get_logger("console.pages")
#: Fact rows on the answer form (empty rows are ignored).
FACT_ROWS = 5
_ITEM_ID = re.compile(r"^R-[0-9a-f]{12}$")


def answer_request(item_id: str, form: dict[str, str]) -> tuple[rpb.AnswerResearchRequest,
                                                                  dict[str, str]]:
    """The answer a posted form describes, and the errors of its fields (GOV.UK style)."""
    request = rpb.AnswerResearchRequest(item_id=item_id)
    errors: dict[str, str] = {}
    outcome = form.get("outcome", "")
    if outcome not in {"not_known", "disclosed"}:
        errors["outcome"] = "Select whether you found information to disclose"
        return request, errors
    if outcome == "not_known":
        request.not_known = True
        return request, errors
    findings: dict[str, rpb.ResearchFinding] = {}
    for n in range(FACT_ROWS):
        fields = {k: form.get(f"f{n}-{k}", "").strip() for k in
                  ("subject", "category", "date", "summary")}
        if not any(fields.values()):
            continue
        for key, message in (("subject", "Choose the person"), ("category", "Choose a category"),
                             ("date", "Enter the date (YYYY-MM-DD)"),
                             ("summary", "Enter a one-line summary")):
            if not fields[key]:
                errors[f"f{n}-{key}"] = message
        finding = findings.get(fields["subject"])
        if finding is None:
            finding = findings[fields["subject"]] = request.findings.add(
                subject_id=fields["subject"])
        finding.facts.append(pb.Fact(category=fields["category"], occurred_on=fields["date"],
                                     summary=fields["summary"][:300]))
    if not findings and not errors:
        errors["f0-subject"] = "Record at least one fact, or select that nothing was found"
    return request, errors


def routes(console: Console) -> list[Route]:
    """The researcher queue's routes."""

    def not_configured(request: Request, session: StaffSession) -> Response:
        return console.render(request, "research.html", session=session, configured=False,
                              items=[], problem="")

    @page(console, (Role.AGENCY_RESEARCHER,))
    async def research(request: Request, session: StaffSession) -> Response:
        gateway = console.research
        if gateway is None:
            return not_configured(request, session)
        try:
            items = await run_in_threadpool(gateway.list_items, session.access_token, "pending")
            problem = ""
        except ResearchRefused as exc:
            items, problem = [], exc.message
        return console.render(request, "research.html", session=session, configured=True,
                              items=items, problem=problem, agency=gateway.agency,
                              done=request.query_params.get("done", "")[:20])

    async def item_page(request: Request, session: StaffSession, item_id: str, status: int = 200,
                        errors: dict[str, str] | None = None,
                        form: dict[str, str] | None = None) -> Response:
        gateway = console.research
        if gateway is None:
            return not_configured(request, session)
        try:
            item = await run_in_threadpool(gateway.get_item, session.access_token, item_id)
        except ResearchRefused as exc:
            raise HTTPException(404 if exc.code.name == "NOT_FOUND" else 400,
                                exc.message) from None
        categories = sorted({c for p in item.permitted for c in p.categories})
        return console.render(request, "research_item.html", status, session=session, item=item,
                              permitted={p.subject_id: list(p.categories) for p in item.permitted},
                              categories=categories, rows=range(FACT_ROWS),
                              errors=errors or {}, form=form or {})

    def _item_id(request: Request) -> str:
        item_id = str(request.path_params.get("item_id", ""))
        if not _ITEM_ID.fullmatch(item_id):
            raise HTTPException(404, "no such research item")
        return item_id

    @page(console, (Role.AGENCY_RESEARCHER,))
    async def item(request: Request, session: StaffSession) -> Response:
        return await item_page(request, session, _item_id(request))

    @page(console, (Role.AGENCY_RESEARCHER,))
    async def answer(request: Request, session: StaffSession) -> Response:
        item_id = _item_id(request)
        gateway = console.research
        if gateway is None:
            return not_configured(request, session)
        form = form_text(await checked_form(console, request, session))
        answer, errors = answer_request(item_id, form)
        if errors:
            return await item_page(request, session, item_id, 400, errors, form)
        try:
            await run_in_threadpool(gateway.answer, session.access_token, answer)
        except ResearchRefused as exc:
            return await item_page(request, session, item_id, 400, {"answer": exc.message}, form)
        log.info("research_answered", item=item_id)
        return RedirectResponse(f"/research?done={item_id}", status_code=303)

    return [Route("/research", research), Route("/research/{item_id}", item),
            Route("/research/{item_id}/answer", answer, methods=["POST"])]
