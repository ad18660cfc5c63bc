"""The staff-facing broker API: `Lookup`, and the review queue (`ListReviews`, `DecideReview`).

A lookup: authenticate, decide per agency, log intent, sign, fan out, verify,
merge, log outcome. Fail closed throughout: a query is sent only after its
intent is durable in the audit log; a disclosure is shown only after its
signature verifies against the agency's pinned key and it answers exactly the
query we sent; an agency that is slow, down or fails verification is reported
with its status, never silently dropped, and never holds the lookup past its
deadline. A request policy holds for REVIEW waits in the review store until a
team manager who is not the requester approves it (releasing the query) or
rejects it, with a recorded reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import grpc

from audit.checkpoints import Checkpoint
from audit.events import AuditEvent, EventKind
from audit.log import AuditWriteError
from audit.pseudonyms import Pseudonymiser, for_subjects
from audit.witness import Witness, checkpoint_from_proto, checkpoint_to_proto
from broker.auth import Authenticator
from broker.config import BrokerConfig
from broker.fanout import AdapterClients
from broker.merge import apply_response, result_for
from broker.planning import Actor, AgencyPlan, Requester, plan_agency
from broker.referral_flow import file_release
from broker.referral_record import ReferralError
from broker.referrals import SqliteReferralStore
from broker.requests import LookupInput, parse_lookup
from broker.research_pending import PendingResearch, PendingResearchStore
from broker.reviews import ReviewAlreadyDecided, ReviewStore, new_review_id
from certs.envelopes import sign_query
from certs.reloading import TrustSource
from certs.signing import SigningKey
from mash.clock import Clock, london_today, utc_now
from mash.errors import AuditUnavailable, InvalidRequest, MashError, NotPermitted, present
from mash.ids import new_id
from mash.logs import get_logger
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.v1 import research_pb2 as rpb
from mash.vocab import Agency, AgencyStatus, Category, Decision, Rag, Role, parse
from policy import PolicyEngine

log = get_logger("broker")

#: Roles that may see the review queue (deciding is further limited by the agreement).
REVIEW_ROLES = frozenset({Role.MASH_TEAM_MANAGER})
#: The actor role the audit log names when the broker collects a researcher's answer itself.
BROKER_ACTOR_ROLE = "broker"


class AuditSink(Protocol):
    """What the broker needs of an audit log: submit events, get a durability future."""

    def submit(self, event: AuditEvent) -> Future[int]:
        """Queue `event`; the future resolves with its entry id once durable."""
        ...

    def submit_many(self, events: list[AuditEvent]) -> Future[list[int]]:
        """Queue `events`; ONE future resolves with their ids once all are durable."""
        ...


@dataclass(frozen=True)
class BrokerParts:
    """Everything the servicer needs, built once at start-up (injectable in tests)."""

    config: BrokerConfig
    auth: Authenticator
    engine: PolicyEngine
    trust: TrustSource
    signing_key: SigningKey
    audit: AuditSink
    pseudonyms: Pseudonymiser
    clients: AdapterClients
    reviews: ReviewStore
    #: the RAG timescale: when research on a lookup made at `at` with this rating is due
    due_at: Callable[[datetime, Rag], datetime | None] = lambda _at, _rag: None
    clock: Clock = utc_now
    #: the referral store: what an approval releases is filed with its referral here
    referrals: SqliteReferralStore | None = None
    #: this broker's newest audit checkpoint, sent with each query for the adapter to witness
    own_checkpoint: Callable[[], Checkpoint | None] = lambda: None
    #: countersigns the adapters' checkpoints that arrive on their disclosures
    witness: Witness | None = None
    #: queries an agency's researcher is still to answer (collected on the next summary view)
    research: PendingResearchStore | None = None


async def _durable(pending: Future[list[int]]) -> None:
    """Wait for audit entries to be durable; any failure fails the action closed."""
    try:
        await asyncio.wrap_future(pending)
    except AuditWriteError as exc:
        raise AuditUnavailable("audit log unavailable: nothing was sent",
                               detail=str(exc)) from None


class BrokerService(pb_grpc.BrokerServicer):
    """The staff-facing broker API."""

    def __init__(self, parts: BrokerParts) -> None:
        self.p = parts

    # ------------------------------------------------------------------ Lookup

    async def Lookup(  # noqa: N802 - gRPC method name
        self, request: pb.LookupRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReferralSummary:
        """Run one cross-agency lookup and return the merged, verified summary."""
        started = time.perf_counter()
        staff = self.p.auth.authenticate(context)
        lookup = parse_lookup(request, london_today(self.p.clock))
        if lookup.role_corrections:
            log.warning("subject_role_corrected", referral_id=request.referral_id,
                        corrections=len(lookup.role_corrections))
        return await self.run_lookup(lookup, staff, started)

    async def run_lookup(
        self, lookup: LookupInput, staff: Actor, started: float
    ) -> pb.ReferralSummary:
        """The lookup itself, after authentication and validation."""
        p = self.p
        now = p.clock()
        lookup_id = new_id()
        req = lookup.request
        base = self._base_event(lookup, staff, lookup_id)
        wanted = set(lookup.agencies)
        plans = [plan_agency(p.engine, p.config.broker_id, e.agency, lookup, staff, now)
                 for e in p.config.adapters if not wanted or e.agency in wanted]
        due = p.due_at(now, lookup.rag)
        deadline_ms = p.config.deadlines_ms[lookup.rag]

        named = [(s.subject_id, ps) for s in req.subjects
                 for ps in for_subjects(p.pseudonyms, [s])]
        # Intent first: the lookup, every decision and every query, durable before anything leaves.
        intent = [replace(
            base, kind=EventKind.LOOKUP_REQUESTED,
            subject_pseudonyms=tuple(ps for _, ps in named),
            detail={**_intent_detail(lookup, plans),
                    # which subject each pseudonym names: a SAR reports on that subject only
                    "pseudonym_subjects": ",".join(sid for sid, _ in named)},
        )]
        to_hold: list[tuple[pb.Review, pb.LookupRequest]] = []
        try:
            self._plan_intent(plans, intent, to_hold, lookup, staff, lookup_id, now, due,
                              deadline_ms, base)
        except Exception:
            # Nothing was sent; still record what was asked and that it failed here.
            intent.append(replace(base, kind=EventKind.LOOKUP_COMPLETED, outcome="error"))
            await _durable(p.audit.submit_many(intent))
            raise
        await _durable(p.audit.submit_many(intent))
        for review, held in to_hold:  # held only once the request for review is on record
            p.reviews.hold(review, held)

        own = p.own_checkpoint()
        if own is not None:
            carried = checkpoint_to_proto(own)
            for plan in plans:
                if plan.signed is not None:
                    plan.signed.checkpoint.CopyFrom(carried)
        outcomes = await p.clients.fan_out(
            [(plan.agency, plan.signed) for plan in plans if plan.signed is not None],
            timeout_s=deadline_ms / 1000,
        )
        if p.witness is not None:
            for agency, outcome in outcomes.items():
                if outcome.response is not None and outcome.response.HasField("checkpoint"):
                    p.witness.observe(checkpoint_from_proto(outcome.response.checkpoint),
                                      expected_log=f"adapter-{agency}")
        results, events = [], []
        for plan in plans:
            result, event = result_for(plan, outcomes.get(plan.agency), p.trust, p.clock, base)
            results.append(result)
            if event is not None:
                events.append(event)
            if result.status == AgencyStatus.PENDING_RESEARCH:
                self._keep_for_research(plan, now)
        summary = pb.ReferralSummary(
            referral_id=req.referral_id, lookup_id=lookup_id, rag=lookup.rag,
            purpose=lookup.purpose, statutory_gateway=lookup.gateway,
            generated_at=p.clock().isoformat(), due_at=due.isoformat() if due else "",
            agencies=results, broker_id=p.config.broker_id,
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        events.append(replace(
            base, kind=EventKind.LOOKUP_COMPLETED, outcome="completed",
            latency_ms=round(elapsed_ms, 2), detail={r.agency: r.status for r in results},
        ))
        await _durable(p.audit.submit_many(events))
        log.info("lookup_completed", lookup_id=lookup_id, referral_id=req.referral_id,
                 agencies=len(results), ms=round(elapsed_ms, 2))
        return summary

    # ------------------------------------------------------------------ research

    def _keep_for_research(self, plan: AgencyPlan, now: datetime) -> None:
        """Keep a query the agency's researcher will answer, to verify the answer against."""
        store, query, signed = self.p.research, plan.query, plan.signed
        if store is None or query is None or signed is None:
            return
        store.add(PendingResearch(
            query_id=query.query_id, agency=str(plan.agency), referral_id=query.referral_id,
            lookup_id=query.lookup_id, query=signed.query, query_sha256=plan.sha256,
            decision=str(plan.decision.decision),
            agreement_id=plan.decision.agreement_id or "",
            agreement_version=plan.decision.agreement_version or "", asked_at=now.isoformat()))

    def research_waiting(self) -> list[str]:
        """The referrals with a query still waiting for an agency's researcher."""
        return [] if self.p.research is None else self.p.research.waiting_referrals()

    async def collect_research(self, staff: Actor | None,
                               referral_id: str) -> list[pb.ReferralSummary]:
        """Collect the researchers' answers that have arrived for `referral_id`.

        Each is verified like any signed answer (pinned key, the exact query sent),
        audited, and returned as a one-agency summary (`<lookup>-research-<query>`) for the
        caller to file; a query whose answer is not ready stays pending. `staff` is who
        viewed the summary, or None when the broker collects by itself (its background
        sweep): the audit log then names the broker.
        """
        p = self.p
        if p.research is None:
            return []
        actor_id, actor_role, actor_org = (
            (p.config.name, BROKER_ACTOR_ROLE, p.config.broker_id) if staff is None
            else (staff.sub, str(staff.role), staff.org))
        out: list[pb.ReferralSummary] = []
        for item in p.research.pending(referral_id):
            agency = parse(Agency, item.agency)
            reply = await p.clients.collect(agency, rpb.CollectRequest(
                query_id=item.query_id, query_sha256=item.query_sha256),
                timeout_s=p.config.deadlines_ms[Rag.RED] / 1000)
            if reply is None or reply.state != "answered":
                continue
            query = pb.Query.FromString(item.query)
            base = AuditEvent(
                kind=EventKind.DISCLOSURE_VERIFIED, actor_id=actor_id,
                actor_role=actor_role, actor_org=actor_org, referral_id=item.referral_id,
                lookup_id=item.lookup_id, query_id=item.query_id, purpose=query.purpose,
                statutory_gateway=query.statutory_gateway, rag=query.rag, agency=item.agency,
                query_hash=item.query_sha256.hex(), detail={"collected": "research"})
            result = pb.AgencyResult(agency=item.agency, decision=item.decision,
                                     agreement_id=item.agreement_id,
                                     agreement_version=item.agreement_version)
            result, event = apply_response(result, agency, query, item.query_sha256,
                                           reply.disclosure, p.trust, p.clock, base)
            if p.witness is not None and reply.disclosure.HasField("checkpoint"):
                p.witness.observe(checkpoint_from_proto(reply.disclosure.checkpoint),
                                  expected_log=f"adapter-{agency}")
            await _durable(p.audit.submit_many([event]))
            now = p.clock()
            out.append(pb.ReferralSummary(
                referral_id=item.referral_id,
                lookup_id=f"{item.lookup_id}-research-{item.query_id}", rag=query.rag,
                purpose=query.purpose, statutory_gateway=query.statutory_gateway,
                generated_at=now.isoformat(), due_at=query.due_at, agencies=[result],
                broker_id=p.config.broker_id))
            log.info("research_collected", query_id=item.query_id, agency=item.agency,
                     status=result.status, by=actor_role)
        return out

    def research_filed(self, query_id: str, filed_lookup_id: str) -> None:
        """Mark a collected answer as filed with its referral (it is not collected again)."""
        if self.p.research is not None:
            self.p.research.collected(query_id, self.p.clock(), filed_lookup_id)

    # ------------------------------------------------------------------ reviews

    async def ListReviews(  # noqa: N802 - gRPC method name
        self, request: pb.ListReviewsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReviewsResponse:
        """Requests held for review (team managers only)."""
        staff = self.p.auth.authenticate(context)
        if staff.role not in REVIEW_ROLES:
            raise NotPermitted("only a team manager may see the review queue")
        reviews = self.p.reviews.list(request.status or "pending", request.referral_id)
        return pb.ListReviewsResponse(reviews=reviews)

    async def DecideReview(  # noqa: N802 - gRPC method name
        self, request: pb.DecideReviewRequest, context: grpc.aio.ServicerContext
    ) -> pb.DecideReviewResponse:
        """Approve (and release the query) or reject a held request, with a reason."""
        staff = self.p.auth.authenticate(context)
        response = await self.decide_review(staff, request.review_id, approve=request.approve,
                                            reason=request.reason)
        if response.HasField("result"):
            response.filed_lookup_id = self.file_release(response.review, response.result)
        return response

    def check_decision(self, staff: Actor, review: pb.Review, reason: str) -> str:
        """The trimmed reason, once `staff` may decide `review` (raises otherwise)."""
        reason = reason.strip()
        if not reason:
            raise InvalidRequest("reason: a review decision needs a reason")
        if len(reason) > 2000:
            raise InvalidRequest("reason: at most 2000 characters")
        if review.status != "pending":  # before logging: never record a decision that cannot be
            raise ReviewAlreadyDecided(f"review already {review.status}")
        agency = parse(Agency, review.agency)
        if not self.p.engine.may_approve_review(self.p.config.broker_id, agency, staff.role,
                                                staff.sub, review.requester_id):
            raise NotPermitted("only a team manager who did not make the request may decide it",
                               detail=f"role {staff.role}")
        return reason

    def file_release(self, review: pb.Review, result: pb.AgencyResult) -> str:
        """File what an approval released with its referral; its lookup id, or "" if not filed.

        A lookup made without a referral record (`mash lookup`) has nothing to file it with.
        """
        store = self.p.referrals
        if store is None:
            return ""
        try:
            return file_release(store, review, result, self.p.config.broker_id,
                                self.p.engine.agreements, self.p.clock())
        except ReferralError as exc:
            log.warning("release_not_filed", review_id=review.review_id, cause=str(exc))
            return ""

    async def decide_review(self, staff: Actor, review_id: str, *, approve: bool,
                            reason: str) -> pb.DecideReviewResponse:
        """Decide one held request as `staff` (authenticated by the caller)."""
        p = self.p
        held = p.reviews.get(review_id)
        review = held.review
        agency = parse(Agency, review.agency)
        request = pb.DecideReviewRequest(review_id=review_id, approve=approve, reason=reason)
        now = p.clock()
        lookup = parse_lookup(held.request, london_today(p.clock))
        requester = Requester(review.requester_id, parse(Role, review.requester_role),
                              p.config.broker_id)
        base = replace(self._base_event(lookup, requester, review.lookup_id),
                       agency=str(agency), actor_id=staff.sub, actor_role=str(staff.role),
                       actor_org=staff.org, categories=tuple(review.categories),
                       decision=str(Decision.REVIEW), agreement_id=review.agreement_id,
                       agreement_version=review.agreement_version)
        try:
            reason = self.check_decision(staff, review, reason)
            # Exactly one decision per review: whoever claims it first decides it (the check
            # above read the review before the claim; two managers can both pass it).
            p.reviews.claim(review.review_id, by=staff.sub)
        except MashError as exc:
            await _durable(p.audit.submit_many([replace(
                base, kind=EventKind.REVIEW_DECISION_REFUSED, outcome="refused",
                reasons=(exc.code,), detail={"review_id": review.review_id,
                                             "approve": str(request.approve).lower()})]))
            raise
        decided_event = replace(
            base, kind=EventKind.REVIEW_APPROVED if request.approve else EventKind.REVIEW_REJECTED,
            outcome="approved" if request.approve else "rejected",
            detail={"review_id": review.review_id, "decision_reason": reason[:500]})
        request.reason = reason
        try:
            await _durable(p.audit.submit_many([decided_event]))
        except BaseException:
            p.reviews.release(review.review_id, by=staff.sub)  # not on record: not decided
            raise
        held = p.reviews.decide(review.review_id, approve=request.approve, by=staff.sub,
                                reason=reason, at=now)
        if not request.approve:
            return pb.DecideReviewResponse(review=held.review)

        base = replace(self._base_event(lookup, requester, review.lookup_id), agency=str(agency))
        # Release: re-decide now (the agreement may have changed), ask for what is now
        # permitted plus what the manager approved, and say so in the signed query.
        plan = plan_agency(p.engine, p.config.broker_id, agency, lookup, requester, now)
        approved = {parse(Category, c) for c in review.categories} & set(plan.review_categories)
        plan.categories = tuple(dict.fromkeys([*plan.categories, *sorted(approved)]))
        if not plan.categories:
            result, _ = result_for(plan, None, p.trust, p.clock, base)
            return pb.DecideReviewResponse(review=held.review, result=result)
        deadline_ms = p.config.deadlines_ms[lookup.rag]
        self._sign(plan, lookup, requester, review.lookup_id, now, p.due_at(now, lookup.rag),
                   deadline_ms, approval=pb.ReviewApproval(
                       review_id=review.review_id, approver_id=staff.sub,
                       approver_role=str(staff.role), reason=reason, approved_at=now.isoformat()))
        await _durable(p.audit.submit_many([self._query_event(plan, base)]))
        outcome = await p.clients.call(agency, present(plan.signed, "the signed query"),
                                       deadline_ms / 1000)
        result, event = result_for(plan, outcome, p.trust, p.clock, base)
        if event is not None:
            await _durable(p.audit.submit_many([event]))
        return pb.DecideReviewResponse(review=held.review, result=result)

    # ------------------------------------------------------------------ steps

    def _plan_intent(self, plans: Sequence[AgencyPlan], intent: list[AuditEvent],
                     to_hold: list[tuple[pb.Review, pb.LookupRequest]], lookup: LookupInput,
                     staff: Actor, lookup_id: str, now: datetime, due: datetime | None,
                     deadline_ms: int, base: AuditEvent) -> None:
        """Sign each permitted query (or prepare its review) and add the intent's events."""
        for plan in plans:
            intent += self._decision_events(plan, base, lookup.request.break_glass.justification)
            if plan.categories:
                self._sign(plan, lookup, staff, lookup_id, now, due, deadline_ms)
                intent.append(self._query_event(plan, base))
            elif plan.review_categories:
                plan.review, held = self._review_for(plan, lookup, staff, lookup_id, now)
                to_hold.append((plan.review, held))
                intent.append(replace(
                    base, kind=EventKind.REVIEW_REQUESTED, agency=str(plan.agency),
                    categories=plan.review_categories, decision=str(Decision.REVIEW),
                    reasons=plan.decision.reason_codes, agreement_id=plan.decision.agreement_id,
                    agreement_version=plan.decision.agreement_version,
                    detail={"review_id": plan.review.review_id}))

    def _base_event(self, lookup: LookupInput, staff: Actor, lookup_id: str) -> AuditEvent:
        req = lookup.request
        return AuditEvent(
            kind=EventKind.LOOKUP_REQUESTED,
            actor_id=staff.sub, actor_role=str(staff.role), actor_org=staff.org,
            referral_id=req.referral_id, lookup_id=lookup_id, purpose=str(lookup.purpose),
            statutory_gateway=str(lookup.gateway), consent_state=str(lookup.consent_state),
            consent_reason=str(lookup.consent_reason) if lookup.consent_reason else None,
            rag=str(lookup.rag),
        )

    def _decision_events(self, plan: AgencyPlan, base: AuditEvent,
                         justification: str) -> list[AuditEvent]:
        d = plan.decision
        decided = replace(
            base, kind=EventKind.POLICY_DECISION, agency=str(plan.agency),
            categories=plan.categories, decision=str(d.decision), reasons=d.reason_codes,
            agreement_id=d.agreement_id, agreement_version=d.agreement_version)
        events = [decided]
        if plan.break_glass_events:
            glass = replace(decided, kind=EventKind.BREAK_GLASS, detail={
                "until": d.break_glass_until.isoformat() if d.break_glass_until else "",
                "raises": ",".join(plan.break_glass_events),
                # what the retrospective review reads: why the requester broke the glass
                "justification": justification})
            events.append(glass)  # the log's AlertMonitor raises the alert on commit
            if "retrospective_review" in plan.break_glass_events:
                events.append(replace(glass, kind=EventKind.RETROSPECTIVE_REVIEW,
                                      outcome="awaiting_review"))
        return events

    def _query_event(self, plan: AgencyPlan, base: AuditEvent) -> AuditEvent:
        query = present(plan.query, "the planned query")
        detail = ({"review_id": query.review_approval.review_id}
                  if query.review_approval.review_id else {})
        return replace(
            base, kind=EventKind.QUERY_SENT, agency=str(plan.agency),
            query_id=query.query_id, query_hash=plan.sha256.hex(),
            categories=plan.categories, agreement_id=plan.decision.agreement_id,
            agreement_version=plan.decision.agreement_version, detail=detail)

    def _review_for(self, plan: AgencyPlan, lookup: LookupInput, staff: Actor, lookup_id: str,
                    now: datetime) -> tuple[pb.Review, pb.LookupRequest]:
        """The review record (with its id) and the request it would hold for `plan`'s agency."""
        req = lookup.request
        d = plan.decision
        review = pb.Review(
            referral_id=req.referral_id, lookup_id=lookup_id, agency=plan.agency,
            requester_id=staff.sub, requester_role=str(staff.role), purpose=lookup.purpose,
            statutory_gateway=lookup.gateway, rag=lookup.rag,
            consent_state=lookup.consent_state, consent_reason=req.consent.reason,
            categories=plan.review_categories, agreement_id=d.agreement_id or "",
            agreement_version=d.agreement_version or "", requested_at=now.isoformat(),
        )
        review.reasons.extend(pb.Reason(code=r.code, text=r.text) for r in d.reasons)
        # only this agency is released on approval
        held = pb.LookupRequest()
        held.CopyFrom(req)
        del held.agencies[:]
        held.agencies.append(plan.agency)
        review.review_id = new_review_id()
        return review, held

    def _sign(
        self, plan: AgencyPlan, lookup: LookupInput, staff: Actor, lookup_id: str,
        now: datetime, due: datetime | None, deadline_ms: int,
        approval: pb.ReviewApproval | None = None,
    ) -> None:
        req = lookup.request
        query = pb.Query(
            query_id=new_id(), broker_id=self.p.config.broker_id, agency=str(plan.agency),
            referral_id=req.referral_id, rag=lookup.rag, purpose=lookup.purpose,
            statutory_gateway=lookup.gateway,
            # the consent note stays in the broker's audit log: agencies get state and reason
            consent=pb.Consent(state=req.consent.state, reason=req.consent.reason),
            requester=pb.Requester(id=staff.sub, role=str(staff.role), organisation=staff.org),
            subjects=req.subjects, categories=plan.categories,
            agreement_id=plan.decision.agreement_id or "",
            agreement_version=plan.decision.agreement_version or "",
            nonce=secrets.token_hex(16), issued_at=now.isoformat(),
            due_at=due.isoformat() if due else "", deadline_ms=deadline_ms,
            break_glass=req.break_glass, lookup_id=lookup_id, review_approval=approval,
        )
        plan.query = query
        plan.signed = sign_query(query, self.p.signing_key)
        plan.sha256 = hashlib.sha256(plan.signed.query).digest()


def _intent_detail(lookup: LookupInput, plans: Sequence[AgencyPlan]) -> dict[str, str]:
    """The lookup intent's free-text part: the consent note and break-glass justification.

    Both are kept here (the redactable personal part of the broker's audit log) and
    nowhere else: the consent note is never sent to an agency.
    """
    req = lookup.request
    detail = {"agencies": ",".join(str(pl.agency) for pl in plans),
              "subject_count": str(len(req.subjects))}
    if req.consent.note:
        detail["consent_note"] = req.consent.note
    if req.break_glass.reason:
        detail["break_glass_reason"] = req.break_glass.reason
        detail["break_glass_justification"] = req.break_glass.justification
    if lookup.role_corrections:
        detail["subject_roles_corrected"] = ",".join(c.text() for c in lookup.role_corrections)
    return detail
