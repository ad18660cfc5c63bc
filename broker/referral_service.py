"""The `Referrals` gRPC service: the referral workflow behind the broker's API.

Every call is authenticated like a lookup (staff client certificate plus a
staff token); who acted is the token's `sub`, role and organisation, never a
request field. The token's organisation must be the MASH this broker serves.
The broker alone opens its referral store; the CLI and the console are
clients. A social worker opens only the referrals they recorded; a team manager
every referral of the MASH. Another worker's referral is answered exactly as an
unknown one (NOT_FOUND), so its existence is not disclosed, and the refusal is
in the audit log like every other. Reading a summary is written durably to the broker's audit log before
the summary is returned (no record, no report).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import grpc

from broker import referral_input as check
from broker.planning import Requester
from broker.referral_audit import deletion_event, viewed_event
from broker.referral_flow import (
    LookupTerms,
    latest_purpose,
    latest_terms,
    plan_after_rerate,
    policy_permitted,
    refetch_request,
    remember_terms,
)
from broker.referral_lookup import file_summary, lookup_request
from broker.referral_record import Referral, rag_direction
from broker.referrals import (
    DuplicateSummary,
    NewReferral,
    ReferralNotFound,
    RetentionByAgreement,
    SqliteReferralStore,
)
from broker.report import build_report
from broker.report.html import render_html
from broker.report.json_view import render_json
from broker.report.text import render_text
from broker.requests import parse_lookup
from broker.service import BrokerParts, BrokerService, _durable
from broker.timescales import WorkingCalendar, due_at, timescale_state
from identity.tokens import StaffIdentity
from mash.clock import london_today
from mash.errors import InvalidRequest, NotAuthenticated, NotPermitted, present
from mash.logs import get_logger
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.v1 import referrals_pb2_grpc as rpb_grpc
from mash.vocab import (
    Agency,
    ConsentState,
    LevelOfNeed,
    Outcome,
    Purpose,
    Rag,
    ReasonCode,
    ReferralSource,
    ReferralStatus,
    Role,
    StatutoryGateway,
    UnknownVocabulary,
)

log = get_logger("broker.referrals")

#: Roles that work referrals (social workers and their team managers).
WORKFLOW_ROLES = frozenset({Role.MASH_SOCIAL_WORKER, Role.MASH_TEAM_MANAGER})
#: Roles that record a referral's decision and decide held reviews.
MANAGER_ROLES = frozenset({Role.MASH_TEAM_MANAGER})
#: Roles that may run retention (deleting expired summary parts).
RETENTION_ROLES = frozenset({Role.MASH_TEAM_MANAGER, Role.IG_LEAD})
#: Roles that open every referral of the MASH (anyone else: the referrals they recorded).
ALL_REFERRAL_ROLES = frozenset({Role.MASH_TEAM_MANAGER})
#: Report formats by name.
FORMATS = ("json", "text", "html")
#: What a recorded view says was shown.
VIEWS = ("page", "print", "summary")

_OPEN = (ReferralStatus.SCREENING, ReferralStatus.RESEARCHING)


class ReferralsService(rpb_grpc.ReferralsServicer):
    """The referral workflow: records, lookups, re-rating, decisions, summaries."""

    def __init__(self, parts: BrokerParts, broker: BrokerService, store: SqliteReferralStore,
                 calendar: WorkingCalendar) -> None:
        self.p = parts
        self.broker = broker
        self.store = store
        self.calendar = calendar
        self._collecting: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ who is asking

    def _staff(self, context: grpc.aio.ServicerContext,
               roles: frozenset[Role] = WORKFLOW_ROLES) -> StaffIdentity:
        """The caller from its certificate and token; refused unless of this MASH and role."""
        staff = self.p.auth.authenticate(context)
        # the validator already refused another MASH's token; kept as a second line of defence
        if staff.org != self.p.auth.validator.org:
            raise NotAuthenticated("token is for another organisation",
                                   detail=f"org {staff.org!r}")
        if staff.role not in roles:
            raise NotPermitted(f"role {staff.role.value} may not do this; it needs "
                               f"{' or '.join(sorted(r.value for r in roles))}")
        return staff

    def _referral(self, staff: StaffIdentity, referral_id: str) -> Referral:
        """The referral `staff` may open; another worker's is NOT_FOUND, as an unknown one."""
        rid = check.require_id(referral_id)
        referral = self.store.get(rid)
        if not may_open(staff, referral):
            raise ReferralNotFound(f"no referral {rid}",
                                   detail=f"recorded by another worker, asked by {staff.sub}")
        return referral

    def _as_of(self, value: str) -> datetime:
        now = self.p.clock()
        if not value:
            return now
        errors = check.FieldErrors()
        moment = check.aware_time(errors, "as_of", value, now, not_future=False)
        errors.raise_any()
        return present(moment, "as_of")

    # ------------------------------------------------------------------ records

    def _pb(self, referral: Referral, as_of: datetime) -> rpb.Referral:
        due = referral.due_at(self.calendar)
        open_ = referral.status in _OPEN
        return rpb.Referral(
            referral_id=referral.referral_id, received_at=referral.received_at.isoformat(),
            source=referral.source.value, reason=referral.reason,
            status=referral.status.value, rag=referral.rag.value,
            subjects=[s.to_proto() for s in referral.subjects],
            rag_history=[rpb.RagChange(rag=h.rag.value, at=h.at.isoformat(), by=h.by,
                                       reason=h.reason) for h in referral.rag_history],
            status_history=[rpb.StatusChange(status=s.status.value, at=s.at.isoformat(),
                                             by=s.by, note=s.note)
                            for s in referral.status_history],
            decisions=[rpb.ManagerDecision(level_of_need=d.level_of_need.value,
                                           outcome=d.outcome.value, rationale=d.rationale,
                                           by=d.by, at=d.at.isoformat())
                       for d in referral.decisions],
            edits=[rpb.ReferralEdit(at=e.at.isoformat(), by=e.by, change=e.change, note=e.note)
                   for e in referral.edits],
            due_at=due.isoformat(),
            timescale=timescale_state(due, as_of, self.calendar) if open_ else "",
            pending_reviews=len(self.p.reviews.list("pending", referral.referral_id)),
            recorded_by=referral.status_history[0].by,
        )

    async def CreateReferral(  # noqa: N802 - gRPC method name
            self, request: rpb.CreateReferralRequest,
            context: grpc.aio.ServicerContext) -> rpb.Referral:
        """Record a newly received referral; every problem in the request is named."""
        staff = self._staff(context)
        now = self.p.clock()
        errors = check.FieldErrors()
        rid = check.referral_id(errors, request.referral_id, required=False)
        source = errors.vocab("source", ReferralSource, request.source)
        rag = errors.vocab("rag", Rag, request.rag)
        reason = errors.text("reason", request.reason, required=True)
        received = (check.aware_time(errors, "received_at", request.received_at, now,
                                     not_future=True)
                    if request.received_at else now)
        if not request.subjects:
            errors.add("subjects", "a referral is about at least one person")
        elif len(request.subjects) > check.MAX_SUBJECTS:
            errors.add("subjects", f"at most {check.MAX_SUBJECTS} people")
        subjects = check.subjects(errors, "subjects", request.subjects,
                                  check.today_in_england(now))
        errors.raise_any()
        source, rag, received = (present(source, "source"), present(rag, "rag"),
                                 present(received, "received_at"))
        referral = self.store.create(NewReferral(
            referral_id=rid or None, received_at=received, source=source, reason=reason,
            subjects=tuple(subjects), rag=rag, by=staff.sub))
        log.info("referral_created", referral_id=referral.referral_id,
                 subjects=len(referral.subjects))
        return self._pb(referral, now)

    async def GetReferral(  # noqa: N802 - gRPC method name
            self, request: rpb.GetReferralRequest,
            context: grpc.aio.ServicerContext) -> rpb.Referral:
        """A referral with its history, timescale and pending reviews."""
        staff = self._staff(context)
        as_of = self._as_of(request.as_of)
        return self._pb(self._referral(staff, request.referral_id), as_of)

    async def ListReferrals(  # noqa: N802 - gRPC method name
            self, request: rpb.ListReferralsRequest,
            context: grpc.aio.ServicerContext) -> rpb.ListReferralsResponse:
        """Open referrals (or all) the caller may open, most urgent first, optionally searched."""
        staff = self._staff(context)
        errors = check.FieldErrors()
        status = errors.vocab("status", ReferralStatus, request.status, allow_empty=True)
        query = errors.text("query", request.query, required=False, limit=200)
        errors.raise_any()
        as_of = self._as_of(request.as_of)
        referrals = [r for r in self.store.referrals(status) if may_open(staff, r)]
        if status is None and not request.include_closed:
            referrals = [r for r in referrals if r.status in _OPEN]
        if query:
            referrals = [r for r in referrals if _matches(r, query)]
        views = sorted((self._pb(r, as_of) for r in referrals),
                       key=lambda v: (v.due_at, v.referral_id))
        return rpb.ListReferralsResponse(referrals=views)

    async def EditReferral(  # noqa: N802 - gRPC method name
            self, request: rpb.EditReferralRequest,
            context: grpc.aio.ServicerContext) -> rpb.Referral:
        """Correct details, add or correct subjects, remove subjects (kept in the history)."""
        staff = self._staff(context)
        now = self.p.clock()
        current = self._referral(staff, request.referral_id)
        errors = check.FieldErrors()
        reason = (errors.text("reason", request.reason, required=True)
                  if request.reason.strip() else None)
        source = errors.vocab("source", ReferralSource, request.source, allow_empty=True)
        note = errors.text("note", request.note, required=False)
        existing = {s.subject_id for s in current.subjects}
        put = check.subjects(errors, "put_subjects", request.put_subjects,
                             check.today_in_england(now), taken=existing,
                             correctable=existing)
        errors.raise_any()
        referral = self.store.edit(current.referral_id, by=staff.sub, reason=reason,
                                   source=source, put=put,
                                   remove=[s.strip() for s in request.remove_subject_ids],
                                   note=note)
        return self._pb(referral, now)

    async def SetStatus(  # noqa: N802 - gRPC method name
            self, request: rpb.SetStatusRequest,
            context: grpc.aio.ServicerContext) -> rpb.Referral:
        """Move a referral: screening -> researching -> (decided) -> closed."""
        staff = self._staff(context)
        rid = self._referral(staff, request.referral_id).referral_id
        errors = check.FieldErrors()
        status = errors.vocab("status", ReferralStatus, request.status)
        note = errors.text("note", request.note, required=False)
        errors.raise_any()
        status = present(status, "status")
        referral = self.store.set_status(rid, status, staff.sub, note)
        return self._pb(referral, self.p.clock())

    async def Decide(  # noqa: N802 - gRPC method name
            self, request: rpb.DecideRequest,
            context: grpc.aio.ServicerContext) -> rpb.Referral:
        """Record the team manager's decision (team managers only)."""
        staff = self._staff(context, MANAGER_ROLES)
        errors = check.FieldErrors()
        level = errors.vocab("level_of_need", LevelOfNeed, request.level_of_need)
        outcome = errors.vocab("outcome", Outcome, request.outcome)
        rationale = errors.text("rationale", request.rationale, required=True)
        errors.raise_any()
        level, outcome = present(level, "level_of_need"), present(outcome, "outcome")
        referral = self.store.decide(check.require_id(request.referral_id), level, outcome,
                                     rationale, staff.sub)
        return self._pb(referral, self.p.clock())

    # ------------------------------------------------------------------ lookups

    def _terms(self, purpose: str, gateway: str, consent: pb.Consent) -> LookupTerms:
        errors = check.FieldErrors()
        p = errors.vocab("purpose", Purpose, purpose)
        g = errors.vocab("statutory_gateway", StatutoryGateway, gateway, allow_empty=True)
        c = errors.vocab("consent.state", ConsentState, consent.state)
        r = errors.vocab("consent.reason", ReasonCode, consent.reason, allow_empty=True)
        errors.raise_any()
        return LookupTerms.of(present(p, "purpose"), present(c, "consent.state"), r, g)

    @staticmethod
    def _agencies(names: Sequence[str], field: str) -> list[Agency]:
        errors = check.FieldErrors()
        out = [a for n, name in enumerate(names)
               if (a := errors.vocab(f"{field}[{n}]", Agency, name)) is not None]
        errors.raise_any()
        return out

    async def _ask(self, staff: StaffIdentity, request: pb.LookupRequest,
                   terms: LookupTerms) -> pb.ReferralSummary:
        """Run the lookup through the broker and file its summary with the referral."""
        try:
            lookup = parse_lookup(request, london_today(self.p.clock))
        except UnknownVocabulary as exc:  # pragma: no cover - parse_lookup converts these
            raise InvalidRequest(str(exc)) from None
        summary = await self.broker.run_lookup(lookup, staff, time.perf_counter())
        file_summary(self.store, summary, self.p.engine.agreements, staff.sub)
        remember_terms(self.store, summary.referral_id, summary.lookup_id, terms, self.p.clock())
        return summary

    async def Lookup(  # noqa: N802 - gRPC method name
            self, request: rpb.ReferralLookupRequest,
            context: grpc.aio.ServicerContext) -> rpb.ReferralLookupResponse:
        """Ask the agencies about the referral's subjects at its current rating; file it."""
        staff = self._staff(context)
        referral = self._referral(staff, request.referral_id)
        terms = self._terms(request.purpose, request.statutory_gateway, request.consent)
        agencies = self._agencies(request.agencies, "agencies")
        lookup = lookup_request(referral, purpose=terms.purpose,
                                consent_state=terms.consent_state,
                                consent_reason=terms.consent_reason,
                                statutory_gateway=terms.gateway, agencies=agencies,
                                consent_note=request.consent.note)
        lookup.break_glass.CopyFrom(request.break_glass)
        summary = await self._ask(staff, lookup, terms)
        return rpb.ReferralLookupResponse(
            summary=summary, referral=self._pb(self.store.get(referral.referral_id),
                                               self.p.clock()))

    def _rerate_terms(self, request: rpb.RerateRequest, referral_id: str) -> LookupTerms | None:
        """The flags' terms, else the latest lookup's; None when none are known."""
        latest = latest_terms(self.store, referral_id)
        if latest is None and not (request.purpose or request.consent.state):
            return None
        purpose: str = request.purpose or (latest.purpose.value if latest else "") or (
            p.value if (p := latest_purpose(self.store.summaries(referral_id))) else "")
        state = request.consent.state or (latest.consent_state.value if latest else "")
        if not purpose or not state:
            raise InvalidRequest("purpose, consent.state: needed, as no earlier lookup's "
                                 "terms are known")
        # A reason belongs to its consent state, a gateway to its purpose.
        reason = request.consent.reason or (
            latest.consent_reason.value if latest and latest.consent_reason
            and not request.consent.state else "")
        gateway = request.statutory_gateway or (
            latest.gateway.value if latest and not request.purpose else "")
        return self._terms(purpose, gateway, pb.Consent(state=state, reason=reason))

    async def Rerate(  # noqa: N802 - gRPC method name
            self, request: rpb.RerateRequest,
            context: grpc.aio.ServicerContext) -> rpb.RerateResponse:
        """Record a new rating; when raised, ask only for the newly permitted categories."""
        staff = self._staff(context)
        rid = self._referral(staff, request.referral_id).referral_id
        errors = check.FieldErrors()
        rag = errors.vocab("rag", Rag, request.rag)
        reason = errors.text("reason", request.reason, required=True)
        errors.raise_any()
        rag = present(rag, "rag")
        before = self.store.get(rid)
        direction = rag_direction(before.rag, rag)
        raised = direction == "raised" and not request.no_refetch
        # Settled before anything is recorded, so a bad request changes nothing.
        agencies = self._agencies(request.agencies, "agencies") or [
            e.agency for e in self.p.config.adapters]
        terms = self._rerate_terms(request, rid) if raised else None
        after = self.store.rerate(rid, rag, staff.sub, reason)
        now = self.p.clock()

        def answer(outcome: str, message: str, **more: object) -> rpb.RerateResponse:
            refetch = rpb.Refetch(outcome=outcome, message=message)
            summary = more.get("summary")
            if isinstance(summary, pb.ReferralSummary):
                refetch.lookup_id = summary.lookup_id
            asked = more.get("asked")
            if isinstance(asked, list):
                refetch.asked.extend(asked)
            return rpb.RerateResponse(
                referral=self._pb(self.store.get(rid), now), refetch=refetch,
                summary=summary if isinstance(summary, pb.ReferralSummary) else None)

        if direction != "raised":
            return answer(direction, f"rating {direction}: a rating that is not raised never "
                                     f"widens disclosure, so no agency is asked again")
        if request.no_refetch:
            return answer("not_requested", "rating recorded; no agency asked again, as requested")
        if terms is None:
            return answer("no_earlier_lookup", "agencies not asked again: no earlier lookup "
                                               "through the broker for this referral")
        permitted = policy_permitted(
            self.p.engine, self.p.config.broker_id, Requester(staff.sub, staff.role, staff.org),
            terms, [s.role for s in after.subjects], now)
        plan = plan_after_rerate(self.store, before, after, permitted, agencies)
        if not plan:
            return answer("nothing_new", "nothing newly permitted: no agency asked again")
        asked = [rpb.AgencyCategories(agency=r.agency.value,
                                      categories=[c.value for c in r.categories]) for r in plan]
        ask = refetch_request(after, plan, terms)
        summary = await self._ask(staff, present(ask, "the refetch request"), terms)
        return answer("asked", f"asked {len(plan)} agenc{'y' if len(plan) == 1 else 'ies'} "
                               f"for the newly permitted categories only",
                      summary=summary, asked=asked)

    # ------------------------------------------------------------------ reading

    async def _viewed(self, staff: StaffIdentity, referral_id: str, what: str,
                      lookup_ids: Sequence[str]) -> None:
        event = replace(viewed_event(referral_id, staff.sub, staff.role.value, what,
                                     tuple(lookup_ids)), actor_org=staff.org)
        await _durable(self.p.audit.submit_many([event]))

    async def GetSummary(  # noqa: N802 - gRPC method name
            self, request: rpb.SummaryRequest,
            context: grpc.aio.ServicerContext) -> rpb.SummaryResponse:
        """The summary report; the read is on record before the report leaves."""
        staff = self._staff(context)
        fmt = request.format or "json"
        if fmt not in FORMATS:
            raise InvalidRequest(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
        as_of = self._as_of(request.as_of)
        referral = self._referral(staff, request.referral_id)
        rid = referral.referral_id
        await self.collect_research(staff, rid)
        summaries = [s.summary for s in self.store.summaries(rid)]
        report = build_report(referral, summaries, now=as_of, calendar=self.calendar,
                              deletions=self.store.deletions(rid))
        lookup_ids = [s.lookup_id for s in summaries]
        await self._viewed(staff, rid, fmt, lookup_ids)
        earlier = request.include_earlier
        document = (render_json(report, include_earlier=earlier) if fmt == "json" else
                    render_text(report, include_earlier=earlier) if fmt == "text" else
                    render_html(report, include_earlier=earlier))
        return rpb.SummaryResponse(format=fmt, document=document, lookup_ids=lookup_ids,
                                   earlier_answers=len(report.earlier))

    async def collect_research(self, staff: StaffIdentity | None, referral_id: str) -> int:
        """Collect, verify, audit and file the researchers' answers that have arrived for
        `referral_id`; returns how many were filed.

        The one way an answer is filed: a summary view calls it (`staff`, the viewer) and
        so does the broker's background sweep (`staff` None). One collection per referral
        at a time, so an answer is verified and audited once.
        """
        lock = self._collecting.setdefault(referral_id, asyncio.Lock())
        filed = 0
        async with lock:
            for answer in await self.broker.collect_research(staff, referral_id):
                query_id = answer.lookup_id.rsplit("-research-", 1)[-1]
                # already filed by an earlier view that did not get to mark it collected
                with contextlib.suppress(DuplicateSummary):
                    self.store.save_summary(answer, RetentionByAgreement.from_agreements(
                        self.p.engine.agreements))
                    filed += 1
                self.broker.research_filed(query_id, answer.lookup_id)
            if referral_id not in self.broker.research_waiting():
                self._collecting.pop(referral_id, None)
        return filed

    async def sweep_research(self) -> int:
        """Collect and file every answer that has arrived, for every referral waiting on one.

        Run by `mash broker serve` every `research_collect_interval_s`, so an answer lands
        in its referral without anyone opening the summary.
        """
        filed = 0
        for referral_id in self.broker.research_waiting():
            filed += await self.collect_research(None, referral_id)
        return filed

    async def RecordView(  # noqa: N802 - gRPC method name
            self, request: rpb.RecordViewRequest,
            context: grpc.aio.ServicerContext) -> rpb.RecordViewResponse:
        """Record that a referral was shown (a page, a print view)."""
        staff = self._staff(context)
        view = request.view or "page"
        if view not in VIEWS:
            raise InvalidRequest(f"view: {view!r} is not one of {', '.join(VIEWS)}")
        # NOT_FOUND for a referral this broker does not hold, or the caller may not open
        rid = self._referral(staff, request.referral_id).referral_id
        await self._viewed(staff, rid, view, [s.lookup_id for s in self.store.summaries(rid)])
        return rpb.RecordViewResponse(recorded_at=self.p.clock().isoformat())

    async def Timescale(  # noqa: N802 - gRPC method name
            self, request: rpb.TimescaleRequest,
            context: grpc.aio.ServicerContext) -> rpb.TimescaleResponse:
        """When research on a referral rated `rag`, received at a time, is due."""
        self._staff(context, frozenset(Role))
        now = self.p.clock()
        errors = check.FieldErrors()
        rag = errors.vocab("rag", Rag, request.rag)
        received = check.aware_time(errors, "received_at", request.received_at, now,
                                    not_future=False)
        errors.raise_any()
        rag, received = present(rag, "rag"), present(received, "received_at")
        due = due_at(received, rag, self.calendar)
        out = rpb.TimescaleResponse(
            due=due.isoformat(), due_utc=due.astimezone(UTC).isoformat(), rag=rag.value,
            received=received.isoformat(),
            working_hours=self.calendar.timescales.for_rag(rag).total_seconds() / 3600)
        if request.as_of:
            out.state = timescale_state(due, self._as_of(request.as_of), self.calendar)
        return out

    # ------------------------------------------------------------------ managers

    async def DecideReviews(  # noqa: N802 - gRPC method name
            self, request: rpb.DecideReviewsRequest,
            context: grpc.aio.ServicerContext) -> rpb.DecideReviewsResponse:
        """Approve or reject every pending review of one referral, in one decision.

        All are checked first (reason, pending, this manager may decide each):
        if any may not be decided, none is.
        """
        staff = self._staff(context, MANAGER_ROLES)
        rid = check.require_id(request.referral_id)
        pending = list(self.p.reviews.list("pending", rid))
        if not pending:
            raise InvalidRequest(f"referral_id: {rid} has no pending reviews")
        for review in pending:
            self.broker.check_decision(staff, review, request.reason)
        out = rpb.DecideReviewsResponse()
        for review in pending:
            decided = await self.broker.decide_review(staff, review.review_id,
                                                      approve=request.approve,
                                                      reason=request.reason)
            if decided.HasField("result"):
                decided.filed_lookup_id = self.broker.file_release(decided.review,
                                                                   decided.result)
            out.decisions.append(decided)
        return out

    async def PurgeExpired(  # noqa: N802 - gRPC method name
            self, request: rpb.PurgeExpiredRequest,
            context: grpc.aio.ServicerContext) -> rpb.PurgeExpiredResponse:
        """Delete summary parts whose retention has passed; each deletion is audited."""
        self._staff(context, RETENTION_ROLES)
        deleted = self.store.purge_expired()
        # After the deletions commit: the log never claims a deletion that rolled back; the
        # store's own `deletions` table keeps them too if this write fails.
        if deleted:
            await _durable(self.p.audit.submit_many([deletion_event(d) for d in deleted]))
        return rpb.PurgeExpiredResponse(deleted=[
            rpb.SummaryDeleted(referral_id=d.referral_id, lookup_id=d.lookup_id,
                               agency=str(d.agency), agreement_id=d.agreement_id,
                               deleted_at=d.deleted_at.isoformat()) for d in deleted])


def may_open(staff: StaffIdentity, referral: Referral) -> bool:
    """Whether `staff` may open `referral`: team managers every one, others their own."""
    return staff.role in ALL_REFERRAL_ROLES or referral.status_history[0].by == staff.sub


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _matches(referral: Referral, query: str) -> bool:
    """Whether `query` is the referral's id or an identifier or name of one of its subjects."""
    q = _fold(query.strip())
    if q in _fold(referral.referral_id):
        return True
    digits = "".join(ch for ch in q if not ch.isspace())
    for s in referral.subjects:
        ids = s.identifiers
        if digits and digits in (ids.get("nhs_number", ""), _fold(ids.get("upn", "")),
                                 ids.get("date_of_birth", "")):
            return True
        names = " ".join([ids.get("given_name", ""), ids.get("family_name", ""),
                          *ids.get("other_names", "").split(";")])
        if q in _fold(names):
            return True
    return False
