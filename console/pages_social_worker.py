"""A social worker's pages: work queue, search, new referral with household, lookup, summary.

Referrals live in the broker (its `Referrals` service); every call carries the user's token.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import grpc
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from console import summary_view
from console.broker_gateway import BrokerRefused
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
from console.referrals_gateway import NotYours, ReferralView, age_on
from console.sessions import StaffSession
from console.summary_view import words
from console.web import Console, checked_form, form_text, page
from mash.clock import london_today
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.vocab import (
    GATEWAY_FOR_PURPOSE,
    OUTCOMES_FOR_LEVEL,
    Agency,
    ConsentState,
    LevelOfNeed,
    Outcome,
    Purpose,
    Rag,
    ReasonCode,
    ReferralSource,
    Role,
    SubjectRole,
)

SOCIAL_WORKERS = (Role.MASH_SOCIAL_WORKER,)
#: Who works referrals (the broker decides which: a social worker those they recorded, a team
#: manager every one).
READERS = (Role.MASH_SOCIAL_WORKER, Role.MASH_TEAM_MANAGER)


class _Vocab(TypedDict):
    """The vocabularies the referral forms offer."""

    sources: list[str]
    rags: list[str]
    subject_roles: list[str]
    purposes: list[str]
    consents: list[str]
    reasons: list[str]
    max_subjects: int
    levels: list[str]
    outcomes: list[str]


def _vocab() -> _Vocab:
    return {"sources": [s.value for s in ReferralSource], "rags": [r.value for r in Rag],
            "subject_roles": [r.value for r in SubjectRole], "purposes": [p.value for p in Purpose],
            "consents": [c.value for c in ConsentState], "reasons": [r.value for r in ReasonCode],
            "max_subjects": MAX_SUBJECTS, "levels": [lv.value for lv in LevelOfNeed],
            "outcomes": [o.value for o in Outcome]}


def lookup_request(referral_id: str, data: LookupInput) -> rpb.ReferralLookupRequest:
    """The broker request for a lookup of the referral on the terms in `data`."""
    purpose = Purpose(data.purpose)
    return rpb.ReferralLookupRequest(
        referral_id=referral_id, purpose=purpose.value,
        statutory_gateway=GATEWAY_FOR_PURPOSE[purpose].value,
        consent=pb.Consent(state=data.consent,
                           reason=data.consent_reason if data.consent != ConsentState.GIVEN else "",
                           note=data.consent_note))


def api_errors(exc: BrokerRefused, field: str) -> dict[str, str]:
    """The broker's field-named refusal as an error summary (each item on `field`)."""
    if exc.code is not grpc.StatusCode.INVALID_ARGUMENT:
        return {field: f"The broker refused: {exc.message}"}
    return {f"{field}" if i == 0 else f"{field}-{i}": item.strip()
            for i, item in enumerate(exc.message.split("; "))}


def routes(console: Console) -> list[Route]:
    """The social worker's routes."""
    api = console.referrals

    def today() -> date:
        return london_today(console.clock)

    async def mine(session: StaffSession, referral_id: str) -> ReferralView:
        try:
            return await run_in_threadpool(api.get, session.access_token, referral_id)
        except NotYours:
            # One answer for "no such referral" and "not yours": ids reveal nothing.
            raise HTTPException(404, "no such referral, or not one of yours") from None

    def show_referral(request: Request, session: StaffSession, referral: ReferralView,
                      status: int = 200, lookup: LookupInput | None = None,
                      errors: dict[str, str] | None = None, notice: str = "") -> Response:
        return console.render(request, "referral.html", status, session=session,
                              referral=referral, today=today(), age_on=age_on,
                              lookup=lookup or LookupInput(
                                  purpose=Purpose.CHILD_PROTECTION_ENQUIRY.value),
                              errors=errors or {}, notice=notice,
                              runs=api.runs_of(referral.referral_id, session.sub), **_vocab())

    @page(console, READERS)
    async def queue(request: Request, session: StaffSession) -> Response:
        q = request.query_params.get("q", "").strip()[:100]
        try:
            rows = await run_in_threadpool(api.queue, session.access_token, query=q)
            problem = ""
        except BrokerRefused as exc:
            rows, problem = [], exc.message
        return console.render(request, "queue.html", session=session, rows=rows, q=q,
                              today=today(), age_on=age_on, searched=bool(q), problem=problem)

    def household_action(data: ReferralInput, action: str, new_role: str) -> bool:
        """Apply an add/remove button; True when the form should simply be shown again."""
        if action == "add" and len(data.subjects) < MAX_SUBJECTS:
            data.subjects.append(SubjectInput(role=new_role))
            return True
        if action.startswith("remove-") and action[7:].isdigit():
            index = int(action[7:])
            if 0 < index < len(data.subjects):
                del data.subjects[index]
            return True
        return False

    @page(console, SOCIAL_WORKERS)
    async def new_referral(request: Request, session: StaffSession) -> Response:
        if request.method == "GET":
            return console.render(request, "referral_form.html", session=session,
                                  data=ReferralInput(), errors={}, **_vocab())
        form = form_text(await checked_form(console, request, session))
        data = parse_referral_form(form)
        if household_action(data, form.get("action", "save"), SubjectRole.PARENT_CARER.value):
            return console.render(request, "referral_form.html", session=session, data=data,
                                  errors={}, **_vocab())
        errors = validate_referral(data, today()).items
        if not errors:
            try:
                referral = await run_in_threadpool(
                    api.create, session.access_token, source=data.source, reason=data.reason,
                    rag=data.rag, subjects=data.subjects)
            except BrokerRefused as exc:
                errors = api_errors(exc, "source")
            else:
                return RedirectResponse(f"/referrals/{referral.referral_id}", status_code=303)
        return console.render(request, "referral_form.html", 400, session=session, data=data,
                              errors=errors, **_vocab())

    @page(console, READERS)
    async def show(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        await run_in_threadpool(api.record_view, session.access_token, referral.referral_id, "page")
        return show_referral(request, session, referral,
                             notice=request.query_params.get("notice", "")[:300])

    @page(console, SOCIAL_WORKERS)
    async def household(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        if request.method == "GET":
            data = ReferralInput(referral.source, referral.reason, referral.rag,
                                 referral.subjects)
            return console.render(request, "household_form.html", session=session,
                                  referral=referral, data=data, errors={}, **_vocab())
        form = form_text(await checked_form(console, request, session))
        form.update(source=referral.source, reason=referral.reason, rag=referral.rag)
        data = parse_referral_form(form)
        if household_action(data, form.get("action", "save"), SubjectRole.HOUSEHOLD_MEMBER.value):
            return console.render(request, "household_form.html", session=session,
                                  referral=referral, data=data, errors={}, **_vocab())
        errors = validate_referral(data, today()).items
        if not errors:
            try:
                await run_in_threadpool(api.edit_household, session.access_token, referral,
                                        data.subjects)
            except BrokerRefused as exc:
                errors = api_errors(exc, "s0-given_name")
            else:
                return RedirectResponse(f"/referrals/{referral.referral_id}", status_code=303)
        return console.render(request, "household_form.html", 400, session=session,
                              referral=referral, data=data, errors=errors, **_vocab())

    @page(console, SOCIAL_WORKERS)
    async def rerate(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        form = form_text(await checked_form(console, request, session))
        rag, reason = form.get("rag", ""), form.get("rag_reason", "").strip()[:2000]
        errors = {}
        if rag not in {r.value for r in Rag}:
            errors["rag"] = "Select a RAG rating"
        if not reason:
            errors["rag_reason"] = "Enter why the rating changes"
        if not errors:
            try:
                reply = await run_in_threadpool(api.rerate, session.access_token,
                                                referral.referral_id, rag, reason)
            except BrokerRefused as exc:
                errors = api_errors(exc, "rag")
            else:
                from urllib.parse import quote
                return RedirectResponse(f"/referrals/{referral.referral_id}?notice="
                                        f"{quote(reply.refetch.message)}", status_code=303)
        return show_referral(request, session, referral, 400, errors=errors)

    @page(console, (Role.MASH_TEAM_MANAGER,))
    async def decide(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        form = form_text(await checked_form(console, request, session))
        level, outcome = form.get("level_of_need", ""), form.get("outcome", "")
        rationale = form.get("rationale", "").strip()[:4000]
        errors: dict[str, str] = {}
        if level not in {lv.value for lv in LevelOfNeed}:
            errors["level_of_need"] = "Select the level of need"
        if outcome not in {o.value for o in Outcome}:
            errors["outcome"] = "Select what happens next"
        elif level in {lv.value for lv in LevelOfNeed} and \
                Outcome(outcome) not in OUTCOMES_FOR_LEVEL[LevelOfNeed(level)]:
            allowed = ", ".join(sorted(words(o.value).lower()
                                       for o in OUTCOMES_FOR_LEVEL[LevelOfNeed(level)]))
            errors["outcome"] = f"For {words(level).lower()} the outcome must be: {allowed}"
        if not rationale:
            errors["rationale"] = "Enter the rationale for the decision"
        if not errors:
            try:
                await run_in_threadpool(api.decide, session.access_token, referral.referral_id,
                                        level_of_need=level, outcome=outcome, rationale=rationale)
            except BrokerRefused as exc:
                errors = api_errors(exc, "level_of_need")
            else:
                return RedirectResponse(f"/referrals/{referral.referral_id}?notice=Decision+recorded",
                                        status_code=303)
        return show_referral(request, session, referral, 400, errors=errors)

    @page(console, READERS)
    async def close(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        form = form_text(await checked_form(console, request, session))
        note = form.get("close_note", "").strip()[:2000]
        if not note:
            return show_referral(request, session, referral, 400,
                                 errors={"close_note": "Enter why the referral is closed"})
        try:
            await run_in_threadpool(api.set_status, session.access_token, referral.referral_id,
                                    "closed", note)
        except BrokerRefused as exc:
            return show_referral(request, session, referral, 400,
                                 errors=api_errors(exc, "close_note"))
        return RedirectResponse(f"/referrals/{referral.referral_id}?notice=Referral+closed",
                                status_code=303)

    @page(console, SOCIAL_WORKERS)
    async def run_lookup(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        data = parse_lookup_form(form_text(await checked_form(console, request, session)))
        errors = validate_lookup(data)
        if errors:
            return show_referral(request, session, referral, 400, lookup=data, errors=errors.items)
        run = api.start_lookup(session.access_token, referral.referral_id, session.sub,
                               console.clock(), lookup_request(referral.referral_id, data),
                               tuple(a.value for a in Agency))
        return RedirectResponse(f"/referrals/{referral.referral_id}/lookups/{run.run_id}",
                                status_code=303)

    @page(console, READERS)
    async def lookup_status(request: Request, session: StaffSession) -> Response:
        referral_id = request.path_params["referral_id"]
        try:
            run = api.run(request.path_params["run_id"], referral_id, session.sub)
        except NotYours:
            raise HTTPException(404, "no such lookup") from None
        states = summary_view.run_states(run)
        if request.url.path.endswith(".json"):
            return JSONResponse({"done": run.done, "error": run.error,
                                 "agencies": {a: words for a, (words, _) in states.items()}})
        return console.render(request, "lookup_status.html", session=session,
                              referral_id=referral_id, run=run, states=states)

    @page(console, READERS)
    async def summary(request: Request, session: StaffSession) -> Response:
        referral = await mine(session, request.path_params["referral_id"])
        earlier = request.query_params.get("earlier") == "1"
        try:
            document = await run_in_threadpool(api.summary, session.access_token,
                                               referral.referral_id, earlier)
        except BrokerRefused as exc:
            raise HTTPException(404 if exc.code is grpc.StatusCode.NOT_FOUND else 502,
                                exc.message) from None
        printing = request.url.path.endswith("/print")
        if printing:
            await run_in_threadpool(api.record_view, session.access_token, referral.referral_id,
                                    "print")
        people = {s.subject_id: f"{s.given_name} {s.family_name} ({words(s.role).lower()})"
                  for s in referral.subjects}
        return console.render(request, "print.html" if printing else "summary.html",
                              session=session, referral=referral, doc=document, people=people,
                              earlier=earlier, status_words=summary_view.status_words,
                              banner=summary_view.csc_banner_text(document))

    return [
        Route("/referrals", queue),
        Route("/referrals/new", new_referral, methods=["GET", "POST"]),
        Route("/referrals/{referral_id}", show),
        Route("/referrals/{referral_id}/household", household, methods=["GET", "POST"]),
        Route("/referrals/{referral_id}/rag", rerate, methods=["POST"]),
        Route("/referrals/{referral_id}/decision", decide, methods=["POST"]),
        Route("/referrals/{referral_id}/status", close, methods=["POST"]),
        Route("/referrals/{referral_id}/lookups", run_lookup, methods=["POST"]),
        Route("/referrals/{referral_id}/lookups/{run_id}.json", lookup_status),
        Route("/referrals/{referral_id}/lookups/{run_id}", lookup_status),
        Route("/referrals/{referral_id}/summary", summary),
        Route("/referrals/{referral_id}/print", summary),
    ]
