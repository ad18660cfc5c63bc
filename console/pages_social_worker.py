"""A social worker's pages: work queue, search, new referral with household, lookup, summary."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from console import summary_view
from console.casebook import NotYours, Referral, age_on
from console.forms import (
    MAX_SUBJECTS,
    LookupInput,
    ReferralInput,
    SubjectInput,
    parse_lookup_form,
    parse_referral_form,
    validate_lookup,
    validate_referral,
)
from console.sessions import StaffSession
from console.summary_view import words
from console.web import Console, checked_form, form_text, page
from mash.clock import london_today
from mash.v1 import mash_pb2 as pb
from mash.vocab import (
    GATEWAY_FOR_PURPOSE,
    Agency,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    ReferralSource,
    Role,
    SubjectRole,
)

SOCIAL_WORKERS = (Role.MASH_SOCIAL_WORKER,)
#: Team managers may open any referral (to decide it); social workers only their own.
READERS = (Role.MASH_SOCIAL_WORKER, Role.MASH_TEAM_MANAGER)


def _vocab() -> dict[str, Any]:
    return {"sources": [s.value for s in ReferralSource], "rags": [r.value for r in Rag],
            "subject_roles": [r.value for r in SubjectRole], "purposes": [p.value for p in Purpose],
            "consents": [c.value for c in ConsentState], "reasons": [r.value for r in ReasonCode],
            "max_subjects": MAX_SUBJECTS}


def lookup_request(referral: Referral, data: LookupInput) -> pb.LookupRequest:
    """The broker request for a lookup of `referral` on the terms in `data`."""
    purpose = Purpose(data.purpose)
    request = pb.LookupRequest(
        referral_id=referral.referral_id, rag=referral.rag.value, purpose=purpose.value,
        statutory_gateway=GATEWAY_FOR_PURPOSE[purpose].value,
        consent=pb.Consent(state=data.consent,
                           reason=data.consent_reason if data.consent != ConsentState.GIVEN else "",
                           note=data.consent_note))
    for i, subject in enumerate(referral.subjects):
        request.subjects.add(subject_id=f"{subject.role}-{i + 1}", role=subject.role,
                             identifiers=pb.Identifiers(**subject.identifiers()))
    return request


def routes(console: Console) -> list[Route]:
    """The social worker's routes."""
    book = console.casebook

    def today() -> date:
        return london_today(console.clock)

    def mine(session: StaffSession, referral_id: str) -> Referral:
        try:
            return book.get(referral_id, session.sub,
                            any_owner=session.role is Role.MASH_TEAM_MANAGER)
        except NotYours:
            # One answer for "no such referral" and "not yours": ids reveal nothing.
            raise HTTPException(404, "no such referral, or not one of yours") from None

    @page(console, SOCIAL_WORKERS)
    async def queue(request: Request, session: StaffSession) -> Response:
        q = request.query_params.get("q", "").strip()[:100]
        rows = book.search(session.sub, q) if q else book.queue(session.sub)
        return console.render(request, "queue.html", session=session, rows=rows, q=q,
                              today=today(), age_on=age_on, searched=bool(q))

    @page(console, SOCIAL_WORKERS)
    async def new_referral(request: Request, session: StaffSession) -> Response:
        if request.method == "GET":
            return console.render(request, "referral_form.html", session=session,
                                  data=ReferralInput(), errors={}, **_vocab())
        form = form_text(await checked_form(console, request, session))
        data = parse_referral_form(form)
        action = form.get("action", "save")
        if action == "add" and len(data.subjects) < MAX_SUBJECTS:
            data.subjects.append(SubjectInput(role=SubjectRole.PARENT_CARER.value))
            return console.render(request, "referral_form.html", session=session, data=data,
                                  errors={}, focus=f"s{len(data.subjects) - 1}-role", **_vocab())
        if action.startswith("remove-"):
            index = int(action.removeprefix("remove-")) if action[7:].isdigit() else -1
            if 0 < index < len(data.subjects):
                del data.subjects[index]
            return console.render(request, "referral_form.html", session=session, data=data,
                                  errors={}, **_vocab())
        errors = validate_referral(data, today())
        if errors:
            return console.render(request, "referral_form.html", 400, session=session, data=data,
                                  errors=errors.items, **_vocab())
        referral = book.create(session.sub, source=data.source, reason=data.reason,
                               rag=Rag(data.rag), subjects=data.subjects)
        return RedirectResponse(f"/referrals/{referral.referral_id}", status_code=303)

    @page(console, READERS)
    async def show(request: Request, session: StaffSession) -> Response:
        referral = mine(session, request.path_params["referral_id"])
        return console.render(request, "referral.html", session=session, referral=referral,
                              today=today(), age_on=age_on, lookup=LookupInput(
                                  purpose=Purpose.CHILD_PROTECTION_ENQUIRY.value), errors={},
                              **_vocab())

    @page(console, SOCIAL_WORKERS)
    async def household(request: Request, session: StaffSession) -> Response:
        referral = mine(session, request.path_params["referral_id"])
        if request.method == "GET":
            data = ReferralInput(referral.source, referral.reason, referral.rag.value,
                                 list(referral.subjects))
            return console.render(request, "household_form.html", session=session,
                                  referral=referral, data=data, errors={}, **_vocab())
        form = form_text(await checked_form(console, request, session))
        form.update(source=referral.source, reason=referral.reason, rag=referral.rag.value)
        data = parse_referral_form(form)
        action = form.get("action", "save")
        if action == "add" and len(data.subjects) < MAX_SUBJECTS:
            data.subjects.append(SubjectInput(role=SubjectRole.HOUSEHOLD_MEMBER.value))
            return console.render(request, "household_form.html", session=session,
                                  referral=referral, data=data, errors={}, **_vocab())
        if action.startswith("remove-") and action[7:].isdigit():
            index = int(action[7:])
            if 0 < index < len(data.subjects):
                del data.subjects[index]
            return console.render(request, "household_form.html", session=session,
                                  referral=referral, data=data, errors={}, **_vocab())
        errors = validate_referral(data, today())
        if errors:
            return console.render(request, "household_form.html", 400, session=session,
                                  referral=referral, data=data, errors=errors.items, **_vocab())
        book.set_household(referral, data.subjects)
        return RedirectResponse(f"/referrals/{referral.referral_id}", status_code=303)

    @page(console, SOCIAL_WORKERS)
    async def rerate(request: Request, session: StaffSession) -> Response:
        referral = mine(session, request.path_params["referral_id"])
        form = form_text(await checked_form(console, request, session))
        if form.get("rag") not in {r.value for r in Rag}:
            return console.render(request, "referral.html", 400, session=session,
                                  referral=referral, today=today(), age_on=age_on,
                                  lookup=LookupInput(), errors={"rag": "Select a RAG rating"},
                                  **_vocab())
        book.set_rag(referral, Rag(form["rag"]))
        return RedirectResponse(f"/referrals/{referral.referral_id}", status_code=303)

    @page(console, SOCIAL_WORKERS)
    async def run_lookup(request: Request, session: StaffSession) -> Response:
        referral = mine(session, request.path_params["referral_id"])
        data = parse_lookup_form(form_text(await checked_form(console, request, session)))
        errors = validate_lookup(data)
        if errors:
            return console.render(request, "referral.html", 400, session=session,
                                  referral=referral, today=today(), age_on=age_on, lookup=data,
                                  errors=errors.items, **_vocab())
        req = lookup_request(referral, data)
        token = session.access_token
        run = book.start_lookup(referral, data.purpose, tuple(a.value for a in Agency),
                                lambda: console.broker.lookup(token, req))
        return RedirectResponse(f"/referrals/{referral.referral_id}/lookups/{run.run_id}",
                                status_code=303)

    @page(console, READERS)
    async def lookup_status(request: Request, session: StaffSession) -> Response:
        referral = mine(session, request.path_params["referral_id"])
        try:
            run = book.find_run(referral, request.path_params["run_id"])
        except NotYours:
            raise HTTPException(404, "no such lookup") from None
        results = {r.agency: r for r in run.summary.agencies} if run.summary else {}
        if request.url.path.endswith(".json"):
            return JSONResponse({
                "done": run.done, "error": run.error,
                "agencies": {a: summary_view.agency_status(results[a])[0] if a in results
                             else "Waiting for an answer" for a in run.agencies_asked}})
        return console.render(request, "lookup_status.html", session=session, referral=referral,
                              run=run, results=results, status_words=summary_view.agency_status)

    @page(console, READERS)
    async def summary(request: Request, session: StaffSession) -> Response:
        referral = mine(session, request.path_params["referral_id"])
        latest = referral.latest_summary()
        if latest is None:
            raise HTTPException(404, "no lookup has come back for this referral yet")
        dobs = {f"{s.role}-{i + 1}": date.fromisoformat(s.date_of_birth)
                for i, s in enumerate(referral.subjects) if s.date_of_birth}
        view = summary_view.build(latest, dobs)
        people = {f"{s.role}-{i + 1}": f"{s.given_name} {s.family_name} ({words(s.role).lower()})"
                  for i, s in enumerate(referral.subjects)}
        template = "print.html" if request.url.path.endswith("/print") else "summary.html"
        return console.render(request, template, session=session, referral=referral,
                              status_words=summary_view.agency_status, today=today(),
                              age_on=age_on, people=people, **view)

    return [
        Route("/referrals", queue),
        Route("/referrals/new", new_referral, methods=["GET", "POST"]),
        Route("/referrals/{referral_id}", show),
        Route("/referrals/{referral_id}/household", household, methods=["GET", "POST"]),
        Route("/referrals/{referral_id}/rag", rerate, methods=["POST"]),
        Route("/referrals/{referral_id}/lookups", run_lookup, methods=["POST"]),
        Route("/referrals/{referral_id}/lookups/{run_id}.json", lookup_status),
        Route("/referrals/{referral_id}/lookups/{run_id}", lookup_status),
        Route("/referrals/{referral_id}/summary", summary),
        Route("/referrals/{referral_id}/print", summary),
    ]
