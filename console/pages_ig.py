"""The IG lead's pages: access-log search, a person's access history, SAR, break-glass, verify.

These read the access logs with the audit part's read-only IG tools (what `mash audit search`,
`accesses`, `sar`, `review-queue` and `verify` use), so the console runs on the host that holds
the logs; a person is looked for by keyed pseudonym only, and every use is recorded in the IG
log under the signed-in IG lead's id from their token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from audit.events import AuditEvent, EventKind
from audit.pseudonyms import Pseudonymiser, PseudonymKeyError, default_key_path
from audit.query import SearchFilter, search
from audit.reading import describe
from audit.review import open_ig_log, review_queue
from audit.sar import build_sar, last_accesses, render_html
from console.forms import FormErrors, nhs_number_ok
from console.sessions import StaffSession
from console.web import Console, page
from mash.home import Home
from mash.vocab import Role

log = structlog.get_logger("console.ig")
IG = (Role.IG_LEAD,)
MAX_RESULTS = 500


@dataclass
class PersonQuery:
    """Who the IG lead is looking for, as typed."""

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

    def query_string(self) -> str:
        """The same question as a URL query (for the download links)."""
        from urllib.parse import urlencode
        return urlencode({k: v for k, v in self.__dict__.items() if v})


def _query(request: Request) -> PersonQuery:
    q = request.query_params
    return PersonQuery(**{f: q.get(f, "").strip()[:100] for f in PersonQuery.__dataclass_fields__})


def pseudonyms_for(home: Home, q: PersonQuery, errors: FormErrors) -> tuple[tuple[str, ...], list[str]]:
    """The person's keyed pseudonyms (never stored) and which identifiers were used."""
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
    if errors or not q.names_a_person:
        return (), []
    try:
        p = Pseudonymiser.load(default_key_path(home))
    except PseudonymKeyError:
        errors.add("nhs_number", "The access log has no entries yet")
        return (), []
    out: list[str] = []
    used: list[str] = []
    if q.nhs_number:
        nhs = p.nhs_number(q.nhs_number.replace(" ", ""))
        if nhs:
            out.append(nhs)
            used.append("NHS number")
    if q.given_name and q.family_name and q.dob:
        nd = p.name_and_dob(q.given_name, q.family_name, q.dob)
        if nd:
            out.append(nd)
            used.append("name and date of birth")
    return tuple(out), used


def _moment(text: str, field: str, errors: FormErrors) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.add(field, "Enter a date like 2026-03-04 or 2026-03-04T09:30")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_use(home: Home, session: StaffSession, kind: EventKind, pseudonyms: tuple[str, ...],
               what: str, referral: str | None = None) -> None:
    """Who used the access log for whom (by pseudonym), in the IG log."""
    ig_log = open_ig_log(home)
    try:
        ig_log.append(AuditEvent(kind=kind, actor_id=session.sub, actor_role=session.role.value,
                                 referral_id=referral or None, outcome=what,
                                 subject_pseudonyms=pseudonyms))
    finally:
        ig_log.close()


def verification(home: Home) -> tuple[bool, list[dict[str, Any]]]:
    """Whether every log verifies, and one line per log, exactly as `mash audit verify` judges
    them (fail closed: no trust store, an unpinned owner or a missing log is a failure)."""
    import argparse
    import contextlib
    import io

    from audit.cli import cmd_verify

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cmd_verify(argparse.Namespace(home=str(home.root), checkpoint=[], witnesses=[]))
    # One line per log (OK / FAIL / MISSING ...); the closing "audit verify: ..." sums them up.
    lines = [line for line in out.getvalue().splitlines()
             if line.strip() and not line.startswith("audit verify")]
    return code == 0, [{"ok": line.startswith("OK"), "line": line} for line in lines]


def routes(console: Console) -> list[Route]:
    """The IG lead's routes."""
    home = console.config.home

    @page(console, IG)
    async def ig_home(request: Request, session: StaffSession) -> Response:
        intact, lines = verification(home)
        return console.render(request, "ig.html", session=session, intact=intact, logs=lines)

    @page(console, IG)
    async def access_log(request: Request, session: StaffSession) -> Response:
        q = _query(request)
        errors = FormErrors()
        asked = any(q.__dict__.values())
        pseudonyms, used = pseudonyms_for(home, q, errors)
        since, until = _moment(q.since, "since", errors), _moment(q.until, "until", errors)
        records: list[Any] = []
        history: list[Any] = []
        if asked and not errors:
            flt = SearchFilter(pseudonyms=pseudonyms, person_required=q.names_a_person,
                               requester=q.staff or None, referral=q.referral or None,
                               since=since, until=until)
            records = search(home, flt, limit=MAX_RESULTS)
            if q.names_a_person:
                history = last_accesses(home, pseudonyms)
            record_use(home, session, EventKind.AUDIT_SEARCHED, pseudonyms,
                       f"{len(records)} entries", q.referral)
        return console.render(request, "access_log.html", 400 if errors else 200, session=session,
                              q=q, errors=errors.items, asked=asked and not errors,
                              rows=[(r, describe(r)) for r in records],
                              history=[(r, describe(r)) for r in history], used=used)

    @page(console, IG)
    async def sar(request: Request, session: StaffSession) -> Response:
        q = _query(request)
        errors = FormErrors()
        pseudonyms, used = pseudonyms_for(home, q, errors)
        if errors or not pseudonyms:
            return console.render(request, "access_log.html", 400, session=session, q=q,
                                  errors=errors.items or {"nhs_number": "Name the person: NHS "
                                                          "number, or name and date of birth"},
                                  asked=False, rows=[], history=[], used=[])
        report = build_sar(home, pseudonyms, identifiers_used=used, now=console.clock())
        record_use(home, session, EventKind.SAR_PRODUCED, pseudonyms,
                   f"{len(report.requests)} requests")
        log.info("sar_produced", staff=session.sub, requests=len(report.requests))
        disposition = {"content-disposition": 'attachment; filename="subject-access-report.'
                       + ("html" if request.url.path.endswith(".html") else "json") + '"'}
        if request.url.path.endswith(".html"):
            return HTMLResponse(render_html(report), headers=disposition)
        return JSONResponse(json.loads(json.dumps(report.to_json_dict())), headers=disposition)

    @page(console, IG)
    async def break_glass(request: Request, session: StaffSession) -> Response:
        items = review_queue(home)
        return console.render(request, "break_glass.html", session=session,
                              items=[(i, describe(i.record)) for i in items])

    return [
        Route("/ig", ig_home), Route("/ig/access-log", access_log),
        Route("/ig/sar.json", sar), Route("/ig/sar.html", sar),
        Route("/ig/break-glass", break_glass),
    ]
