"""The IG lead's pages: verification, access-log search, a person's access history, SAR,
break-glass reviews with sign-off, agreements in force and drafts awaiting approval.

Every page asks the broker's `Governance` service with the signed-in IG lead's own token; the
broker opens the logs and policy files, checks the role, and records each use under the
lead's id. The console holds none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import grpc
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from console.broker_gateway import BrokerRefused
from console.forms import FormErrors, nhs_number_ok
from console.sessions import StaffSession
from console.web import Console, checked_form, form_text, page
from mash.v1 import governance_pb2 as gpb
from mash.vocab import Role

log = structlog.get_logger("console.ig")
IG = (Role.IG_LEAD,)
MAX_RESULTS = 500
FINDINGS = ("appropriate", "inappropriate", "needs_follow_up")
MAX_NOTE = 4000


@dataclass
class PersonQuery:
    """Who or what the IG lead is looking for, as typed."""

    nhs_number: str = ""
    given_name: str = ""
    family_name: str = ""
    dob: str = ""
    staff: str = ""
    referral: str = ""
    since: str = ""
    until: str = ""

    @property
    def names_a_person(self) -> bool:
        """Whether a person was asked for at all."""
        return bool(self.nhs_number or self.given_name or self.family_name or self.dob)

    @property
    def person(self) -> gpb.Person:
        """The person as the broker's API takes it."""
        return gpb.Person(nhs_number=self.nhs_number.replace(" ", ""),
                          given_name=self.given_name, family_name=self.family_name,
                          date_of_birth=self.dob)

    def query_string(self) -> str:
        """The same question as a URL query (for the download links)."""
        return urlencode({k: v for k, v in self.__dict__.items() if v})


def _query(request: Request) -> PersonQuery:
    q = request.query_params
    return PersonQuery(**{f: q.get(f, "").strip()[:100] for f in PersonQuery.__dataclass_fields__})


def check_person(q: PersonQuery, errors: FormErrors) -> None:
    """The problems a person's identifiers have, named by form field (the broker checks again)."""
    if q.nhs_number and not nhs_number_ok(q.nhs_number.replace(" ", "")):
        errors.add("nhs_number", "NHS number must be 10 digits with a valid check digit")
    if (q.given_name or q.family_name) and not q.dob:
        errors.add("dob", "Enter the date of birth with the name (YYYY-MM-DD)")
    if q.dob:
        try:
            date.fromisoformat(q.dob)
        except ValueError:
            errors.add("dob", "Date of birth must be a date like 2013-08-09")
    if q.dob and not (q.given_name and q.family_name):
        errors.add("given_name", "Enter the given and family name with the date of birth")


def check_moment(text: str, field: str, errors: FormErrors) -> None:
    """A from/until date as typed: a date, or a date and time."""
    if text:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            errors.add(field, "Enter a date like 2026-03-04 or 2026-03-04T09:30")


#: Where the broker's field names go on the access-log form.
_API_FIELDS = {"person.nhs_number": "nhs_number", "person.given_name": "given_name",
               "person.family_name": "family_name", "person.date_of_birth": "dob",
               "staff_id": "staff", "referral_id": "referral", "since": "since",
               "until": "until", "person": "nhs_number"}


def api_errors(exc: BrokerRefused, fields: dict[str, str], fallback: str) -> dict[str, str]:
    """The broker's refusal as form errors (each "field: problem" on its own field)."""
    out: dict[str, str] = {}
    if exc.code is grpc.StatusCode.INVALID_ARGUMENT:
        for item in exc.message.split("; "):
            name, _, problem = item.partition(": ")
            out.setdefault(fields.get(name, fallback), problem or item)
    return out or {fallback: f"The broker refused: {exc.message}"}


def routes(console: Console) -> list[Route]:
    """The IG lead's routes."""
    api = console.governance

    @page(console, IG)
    async def ig_home(request: Request, session: StaffSession) -> Response:
        try:
            result = await run_in_threadpool(api.verify, session.access_token)
        except BrokerRefused as exc:
            raise HTTPException(502, f"the broker did not verify the logs: {exc.message}") \
                from None
        return console.render(request, "ig.html", session=session, result=result)

    @page(console, IG)
    async def access_log(request: Request, session: StaffSession) -> Response:
        q = _query(request)
        errors = FormErrors()
        asked = any(q.__dict__.values())
        check_person(q, errors)
        check_moment(q.since, "since", errors)
        check_moment(q.until, "until", errors)
        found: gpb.SearchAccessLogResponse | None = None
        history: gpb.AccessHistoryResponse | None = None
        if asked and not errors:
            try:
                found = await run_in_threadpool(
                    api.search, session.access_token, gpb.SearchAccessLogRequest(
                        person=q.person, staff_id=q.staff, referral_id=q.referral,
                        since=q.since, until=q.until, limit=MAX_RESULTS))
                if q.names_a_person:
                    history = await run_in_threadpool(api.history, session.access_token, q.person)
            except BrokerRefused as exc:
                for field, problem in api_errors(exc, _API_FIELDS, "nhs_number").items():
                    errors.add(field, problem)
        return console.render(request, "access_log.html", 400 if errors else 200, session=session,
                              q=q, errors=errors.items, asked=asked and not errors,
                              found=found, history=history)

    @page(console, IG)
    async def sar(request: Request, session: StaffSession) -> Response:
        q = _query(request)
        errors = FormErrors()
        check_person(q, errors)
        if not q.names_a_person:
            errors.add("nhs_number", "Name the person: NHS number, or name and date of birth")
        fmt = "html" if request.url.path.endswith(".html") else "json"
        report: gpb.SubjectAccessReportResponse | None = None
        if not errors:
            try:
                report = await run_in_threadpool(api.sar, session.access_token, q.person, fmt)
            except BrokerRefused as exc:
                for field, problem in api_errors(exc, _API_FIELDS, "nhs_number").items():
                    errors.add(field, problem)
        if errors or report is None:
            return console.render(request, "access_log.html", 400, session=session, q=q,
                                  errors=errors.items, asked=False, found=None, history=None)
        log.info("sar_downloaded", staff=session.sub, requests=report.requests)
        media = "text/html" if fmt == "html" else "application/json"
        return Response(report.document, media_type=media, headers={
            "content-disposition": f'attachment; filename="subject-access-report.{fmt}"'})

    async def break_glass_page(request: Request, session: StaffSession, status: int = 200,
                               errors: dict[str, str] | None = None, done: str = "") -> Response:
        try:
            items = await run_in_threadpool(api.reviews, session.access_token)
        except BrokerRefused as exc:
            raise HTTPException(502, f"the broker did not list the reviews: {exc.message}") \
                from None
        return console.render(request, "break_glass.html", status, session=session,
                              items=items, errors=errors or {}, done=done, findings=FINDINGS)

    @page(console, IG)
    async def break_glass(request: Request, session: StaffSession) -> Response:
        return await break_glass_page(request, session,
                                      done=request.query_params.get("done", "")[:200])

    @page(console, IG)
    async def sign_off(request: Request, session: StaffSession) -> Response:
        form = form_text(await checked_form(console, request, session))
        ref = form.get("ref", "")[:200]
        key = field_key(ref)
        finding = form.get(f"finding-{key}", "")
        note = form.get(f"note-{key}", "").strip()[:MAX_NOTE]
        errors: dict[str, str] = {}
        if finding not in FINDINGS:
            errors[f"finding-{key}"] = "Select your finding"
        if not note:
            errors[f"note-{key}"] = "Enter your finding in words"
        if errors:
            return await break_glass_page(request, session, 400, errors)
        try:
            await run_in_threadpool(api.sign_off, session.access_token, ref, finding, note)
        except BrokerRefused as exc:
            return await break_glass_page(request, session, 400, api_errors(
                exc, {"finding": f"finding-{key}", "note": f"note-{key}"}, f"note-{key}"))
        log.info("review_signed_off", staff=session.sub, finding=finding)
        return RedirectResponse(f"/ig/break-glass?{urlencode({'done': ref})}", status_code=303)

    @page(console, IG)
    async def agreements(request: Request, session: StaffSession) -> Response:
        try:
            listed = await run_in_threadpool(api.agreements, session.access_token)
        except BrokerRefused as exc:
            raise HTTPException(502, f"the broker did not list the agreements: {exc.message}") \
                from None
        return console.render(request, "agreements.html", session=session, listed=listed)

    @page(console, IG)
    async def drafts(request: Request, session: StaffSession) -> Response:
        try:
            listed = await run_in_threadpool(api.drafts, session.access_token)
        except BrokerRefused as exc:
            raise HTTPException(502, f"the broker did not list the drafts: {exc.message}") \
                from None
        return console.render(request, "drafts.html", session=session, listed=listed)

    return [
        Route("/ig", ig_home), Route("/ig/access-log", access_log),
        Route("/ig/sar.json", sar), Route("/ig/sar.html", sar),
        Route("/ig/break-glass", break_glass),
        Route("/ig/break-glass/sign-off", sign_off, methods=["POST"]),
        Route("/ig/agreements", agreements), Route("/ig/drafts", drafts),
    ]


def field_key(ref: str) -> str:
    """A review item's LOG:ENTRY as a safe form-field suffix."""
    return ref.replace(":", "-")
