"""The `Governance` gRPC service: the IG lead's view of the access logs and agreements.

Only the broker opens the logs, the review trail and the policy files; the console and other
clients ask here. Every call is authenticated like a lookup (staff client certificate plus a
certificate-bound staff token of this MASH) and allowed to the `ig_lead` role only; the actor
is the token's `sub`. Each use is recorded in the home's IG log under that actor before the
answer leaves (no record, no answer). The log reads run in worker threads so lookups in flight
are not held up by a long search or a verification.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import grpc

from audit.events import AuditEvent, EventKind
from audit.home_verify import verify_home
from audit.query import SearchFilter, search
from audit.review import (
    ReviewError,
    ReviewFinding,
    open_ig_log,
    review_queue,
    reviewed,
    sign_off,
    signed_off,
)
from audit.sar import build_sar, last_accesses, render_html
from broker import governance_views as view
from broker.referral_input import FieldErrors
from broker.service import BrokerParts
from identity.tokens import StaffIdentity
from mash.errors import (
    AuditUnavailable,
    InvalidRequest,
    MashError,
    NotAuthenticated,
    NotPermitted,
    present,
)
from mash.logs import get_logger
from mash.v1 import governance_pb2 as gpb
from mash.v1 import governance_pb2_grpc as gpb_grpc
from mash.vocab import Role
from policy.drafts import pending_drafts
from policy.errors import PolicyError
from policy.status import agreement_statuses

log = get_logger("broker.governance")

#: Roles that may read the access logs and agreements through this service.
IG_ROLES = frozenset({Role.IG_LEAD})
MAX_ENTRIES = 500
MAX_HISTORY = 100
SAR_FORMATS = ("json", "html")

T = TypeVar("T")


class DraftUnreadable(MashError):
    """A staged draft agreement does not load (the IG lead fixes the file)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "draft_unreadable"


class GovernanceService(gpb_grpc.GovernanceServicer):
    """Access-log search, access history, SAR, break-glass reviews, verification, agreements."""

    def __init__(self, parts: BrokerParts) -> None:
        self.p = parts
        self.home = parts.config.home

    # ------------------------------------------------------------------ who is asking

    def _ig_lead(self, context: grpc.aio.ServicerContext) -> StaffIdentity:
        staff = self.p.auth.authenticate(context)
        if staff.org != self.p.auth.validator.org:  # second line: the validator refused it
            raise NotAuthenticated("token is for another organisation",
                                   detail=f"org {staff.org!r}")
        if staff.role not in IG_ROLES:
            raise NotPermitted(f"role {staff.role.value} may not do this; it needs ig_lead")
        return staff

    async def _record(self, staff: StaffIdentity, kind: EventKind, what: str, *,
                      pseudonyms: tuple[str, ...] = (), referral: str = "") -> None:
        """Who used the log for what (a person by pseudonym only), durable before answering."""
        event = AuditEvent(kind=kind, actor_id=staff.sub, actor_role=staff.role.value,
                           actor_org=staff.org, referral_id=referral or None, outcome=what,
                           subject_pseudonyms=pseudonyms)

        def append() -> None:
            ig = open_ig_log(self.home)
            try:
                ig.append(event)
            finally:
                ig.close()

        try:
            await asyncio.to_thread(append)
        except Exception as exc:  # fail closed: an unrecorded use gets no answer
            raise AuditUnavailable("IG log unavailable: nothing was returned",
                                   detail=f"{type(exc).__name__}: {exc}") from None

    @staticmethod
    async def _off_loop(work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    def _moment(self, errors: FieldErrors, field: str, text: str) -> datetime | None:
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            errors.add(field, f"{text[:40]!r} is not a date like 2026-03-04 or a time like "
                              "2026-03-04T09:30:00+00:00")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    # ------------------------------------------------------------------ the access log

    async def SearchAccessLog(  # noqa: N802 - gRPC method name
            self, request: gpb.SearchAccessLogRequest,
            context: grpc.aio.ServicerContext) -> gpb.SearchAccessLogResponse:
        """Entries naming a person, by a staff member, of a referral, within a time."""
        staff = self._ig_lead(context)
        errors = FieldErrors()
        pseudonyms, used = view.person_pseudonyms(errors, "person", request.person,
                                                  self.p.pseudonyms, required=False)
        staff_id = errors.text("staff_id", request.staff_id, required=False, limit=128)
        referral = errors.text("referral_id", request.referral_id, required=False, limit=64)
        since = self._moment(errors, "since", request.since)
        until = self._moment(errors, "until", request.until)
        limit = request.limit or MAX_ENTRIES
        if not 1 <= limit <= MAX_ENTRIES:
            errors.add("limit", f"must be 1..{MAX_ENTRIES}")
        if not (used or staff_id or referral or since or until):
            errors.add("person", "search by a person, a staff member, a referral or a time")
        errors.raise_any()
        flt = SearchFilter(pseudonyms=pseudonyms, person_required=bool(used),
                           requester=staff_id or None, referral=referral or None,
                           since=since, until=until)
        found = await self._off_loop(lambda: search(self.home, flt, limit=limit + 1))
        await self._record(staff, EventKind.AUDIT_SEARCHED,
                           f"{min(len(found), limit)} entries", pseudonyms=pseudonyms,
                           referral=referral)
        return gpb.SearchAccessLogResponse(entries=[view.entry(r) for r in found[:limit]],
                                           identifiers_used=used, truncated=len(found) > limit)

    async def AccessHistory(  # noqa: N802 - gRPC method name
            self, request: gpb.AccessHistoryRequest,
            context: grpc.aio.ServicerContext) -> gpb.AccessHistoryResponse:
        """Who has looked at this person, newest first."""
        staff = self._ig_lead(context)
        errors = FieldErrors()
        pseudonyms, used = view.person_pseudonyms(errors, "person", request.person,
                                                  self.p.pseudonyms, required=True)
        limit = request.limit or 25
        if not 1 <= limit <= MAX_HISTORY:
            errors.add("limit", f"must be 1..{MAX_HISTORY}")
        errors.raise_any()
        found = await self._off_loop(lambda: last_accesses(self.home, pseudonyms, limit=limit))
        await self._record(staff, EventKind.AUDIT_SEARCHED, f"{len(found)} accesses",
                           pseudonyms=pseudonyms)
        return gpb.AccessHistoryResponse(entries=[view.entry(r) for r in found],
                                         identifiers_used=used)

    async def SubjectAccessReport(  # noqa: N802 - gRPC method name
            self, request: gpb.SubjectAccessReportRequest,
            context: grpc.aio.ServicerContext) -> gpb.SubjectAccessReportResponse:
        """Every request that named the person, as `mash audit sar` reports it."""
        staff = self._ig_lead(context)
        fmt = request.format or "json"
        errors = FieldErrors()
        if fmt not in SAR_FORMATS:
            errors.add("format", f"{fmt[:20]!r} is not one of {', '.join(SAR_FORMATS)}")
        pseudonyms, used = view.person_pseudonyms(errors, "person", request.person,
                                                  self.p.pseudonyms, required=True)
        errors.raise_any()
        now = self.p.clock()
        report = await self._off_loop(lambda: build_sar(self.home, pseudonyms,
                                                        identifiers_used=used, now=now))
        await self._record(staff, EventKind.SAR_PRODUCED, f"{len(report.requests)} requests",
                           pseudonyms=pseudonyms)
        log.info("sar_produced", staff=staff.sub, requests=len(report.requests))
        document = (render_html(report) if fmt == "html"
                    else json.dumps(report.to_json_dict(), indent=2))
        return gpb.SubjectAccessReportResponse(format=fmt, document=document,
                                               requests=len(report.requests),
                                               identifiers_used=used,
                                               produced_at=report.produced_at)

    # ------------------------------------------------------------------ reviews

    async def ListBreakGlassReviews(  # noqa: N802 - gRPC method name
            self, request: gpb.ListBreakGlassReviewsRequest,
            context: grpc.aio.ServicerContext) -> gpb.ListBreakGlassReviewsResponse:
        """Break-glass uses and consent overrides awaiting review (and those signed off)."""
        staff = self._ig_lead(context)
        pending = await self._off_loop(lambda: review_queue(self.home))
        done = (await self._off_loop(lambda: signed_off(self.home))
                if request.include_signed_off else [])
        await self._record(staff, EventKind.AUDIT_SEARCHED,
                           f"review queue: {len(pending)} pending, {len(done)} signed off")
        return gpb.ListBreakGlassReviewsResponse(
            pending=[view.review(i) for i in pending],
            signed_off=[view.review(i, s) for i, s in done])

    async def SignOffReview(  # noqa: N802 - gRPC method name
            self, request: gpb.SignOffReviewRequest,
            context: grpc.aio.ServicerContext) -> gpb.SignOffReviewResponse:
        """Record the IG lead's finding on one item; the sign-off is itself an IG log entry."""
        staff = self._ig_lead(context)
        errors = FieldErrors()
        finding = errors.vocab("finding", ReviewFinding, request.finding)
        note = errors.text("note", request.note, required=True, limit=4000)
        ref = request.ref.strip()
        log_name, _, entry_id = ref.partition(":")
        if not (log_name and entry_id.isdigit()) or len(ref) > 200:
            errors.add("ref", "name the item as LOG:ENTRY, as the review list gives it")
        errors.raise_any()
        finding = present(finding, "finding")

        def record() -> gpb.BreakGlassReview:
            queued = {i.ref: i for i in review_queue(self.home)}
            sign_off(self.home, ref, reviewer=staff.sub, reviewer_role=staff.role.value,
                     finding=finding, note=note)
            item = queued[ref]  # sign_off refused anything not in the queue
            done = reviewed(self.home).get((item.record.log, item.record.entry_id))
            return view.review(item, done)

        try:
            signed = await self._off_loop(record)
        except ReviewError as exc:
            raise InvalidRequest(f"ref: {exc}") from None
        log.info("review_signed_off", staff=staff.sub, ref=ref, finding=finding.value)
        return gpb.SignOffReviewResponse(review=signed)

    # ------------------------------------------------------------------ verification, policy

    async def VerifyLogs(  # noqa: N802 - gRPC method name
            self, request: gpb.VerifyLogsRequest,
            context: grpc.aio.ServicerContext) -> gpb.VerifyLogsResponse:
        """Verify every party's log under the home now, as `mash audit verify` does."""
        staff = self._ig_lead(context)
        result = await self._off_loop(lambda: verify_home(self.home))
        await self._record(staff, EventKind.AUDIT_SEARCHED,
                           "verification: " + ("intact" if result.intact else "FAILED"))
        return gpb.VerifyLogsResponse(
            intact=result.intact, first_bad=result.first_bad or "",
            checked_at=self.p.clock().isoformat(),
            logs=[gpb.LogVerification(log=v.name, status=v.status, ok=v.ok, line=v.text)
                  for v in result.verdicts])

    async def ListAgreements(  # noqa: N802 - gRPC method name
            self, request: gpb.ListAgreementsRequest,
            context: grpc.aio.ServicerContext) -> gpb.ListAgreementsResponse:
        """Every agreement the broker applies, in plain terms, with its standing now."""
        staff = self._ig_lead(context)
        engine = self.p.engine
        statuses = {s.agreement_id: s for s in agreement_statuses(engine, now=self.p.clock())}
        items = sorted(engine.agreements, key=lambda a: (a.mash_id, str(a.agency), a.id))
        await self._record(staff, EventKind.AUDIT_SEARCHED, f"agreements: {len(items)}")
        return gpb.ListAgreementsResponse(
            policy_version=engine.version,
            agreements=[view.agreement(a, engine.approval_of(a.id),
                                       applied=a.id in statuses and statuses[a.id].applied)
                        for a in items])

    async def ListDrafts(  # noqa: N802 - gRPC method name
            self, request: gpb.ListDraftsRequest,
            context: grpc.aio.ServicerContext) -> gpb.ListDraftsResponse:
        """Drafts awaiting approval, each with what it would change against the version in
        force."""
        staff = self._ig_lead(context)
        now = self.p.clock()
        try:
            drafts = await self._off_loop(lambda: pending_drafts(self.home, self.p.engine,
                                                                 at=now))
        except PolicyError as exc:  # a staged draft that does not load: say which, not crash
            raise DraftUnreadable(f"a draft does not load: {str(exc)[:300]}") from None
        await self._record(staff, EventKind.AUDIT_SEARCHED, f"drafts: {len(drafts)}")
        return gpb.ListDraftsResponse(drafts=[view.draft(d) for d in drafts])
