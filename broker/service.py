"""`Broker.Lookup`: authenticate, decide, log intent, sign, fan out, verify, merge, log outcome.

Fail closed throughout: a query is sent only after its intent is durable in the
audit log; a disclosure is shown only after its signature verifies against the
agency's pinned key and it answers exactly the query we sent; an agency that is
slow, down or fails verification is reported with its status, never silently
dropped, and never holds the lookup past its deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import grpc

from broker.auth import Authenticator
from broker.config import BrokerConfig
from broker.fanout import AdapterClients, CallOutcome
from broker.requests import LookupInput, parse_lookup
from certs.envelopes import open_disclosure, sign_query
from certs.errors import SignatureError
from certs.signing import SigningKey, TrustStore
from mash.audit.events import AuditEvent, EventKind
from mash.audit.log import AuditWriteError
from mash.audit.pseudonyms import Pseudonymiser
from mash.errors import AuditUnavailable
from mash.identity.tokens import StaffIdentity
from mash.logs import get_logger
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.vocab import AGENCY_CATEGORIES, Agency, AgencyStatus, Decision, ReasonCode, SubjectRole
from policy import BreakGlass, PolicyDecision, PolicyEngine, PolicyRequest

log = get_logger("broker")


class AuditSink:
    """What the broker needs of an audit log: submit an event, get a durability future."""

    def submit(self, event: AuditEvent) -> Future[int]:  # pragma: no cover - protocol
        """Queue `event`; the future resolves with its entry id once durable."""
        raise NotImplementedError


@dataclass(frozen=True)
class BrokerParts:
    """Everything the servicer needs, built once at start-up (injectable in tests)."""

    config: BrokerConfig
    auth: Authenticator
    engine: PolicyEngine
    trust: TrustStore
    signing_key: SigningKey
    audit: AuditSink
    pseudonyms: Pseudonymiser
    clients: AdapterClients
    due_at: Callable[[datetime, str], datetime | None] = lambda _at, _rag: None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class _AgencyPlan:
    agency: Agency
    decision: PolicyDecision
    categories: tuple[str, ...]
    query: pb.Query | None = None
    signed: pb.SignedQuery | None = None
    sha256: bytes = b""


def combine_decisions(decisions: Sequence[PolicyDecision]) -> tuple[Decision, tuple[str, ...]]:
    """One agency's decision over all subject roles: PERMIT if any, else REVIEW if any, else DENY."""
    permitted: list[str] = []
    for d in decisions:
        permitted.extend(c for c in d.permitted_categories if c not in permitted)
    kinds = {d.decision for d in decisions}
    if Decision.PERMIT in kinds:
        return Decision.PERMIT, tuple(permitted)
    if Decision.REVIEW in kinds:
        return Decision.REVIEW, ()
    return Decision.DENY, ()


async def _durable(futures: Sequence[Future[int]]) -> None:
    """Wait for audit entries to be durable; any failure fails the lookup closed."""
    try:
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    except AuditWriteError as exc:
        raise AuditUnavailable("audit log unavailable: lookup not performed",
                               detail=str(exc)) from None


class BrokerService(pb_grpc.BrokerServicer):
    """The staff-facing broker API."""

    def __init__(self, parts: BrokerParts) -> None:
        self.p = parts

    async def Lookup(  # noqa: N802 - gRPC method name
        self, request: pb.LookupRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReferralSummary:
        """Run one cross-agency lookup and return the merged, verified summary."""
        started = time.perf_counter()
        staff = self.p.auth.authenticate(context)
        lookup = parse_lookup(request)
        return await self.run_lookup(lookup, staff, started)

    async def run_lookup(
        self, lookup: LookupInput, staff: StaffIdentity, started: float
    ) -> pb.ReferralSummary:
        """The lookup itself, after authentication and validation."""
        p = self.p
        now = p.clock()
        lookup_id = uuid.uuid4().hex
        req = lookup.request
        base = self._base_event(lookup, staff, lookup_id)
        plans = self._plan(lookup, staff, now)

        # Intent first: the lookup, every decision and every query, durable before anything leaves.
        futures = [p.audit.submit(replace(base, 
            kind=EventKind.LOOKUP_REQUESTED,
            subject_pseudonyms=self._pseudonyms(req.subjects),
            detail={"agencies": ",".join(str(pl.agency) for pl in plans),
                    "subject_count": str(len(req.subjects))},
        ))]
        due = p.due_at(now, lookup.rag)
        deadline_ms = p.config.deadlines_ms[lookup.rag]
        for plan in plans:
            futures.append(p.audit.submit(replace(base, 
                kind=EventKind.POLICY_DECISION, agency=str(plan.agency),
                categories=plan.categories, decision=str(plan.decision.decision),
                reasons=tuple(r.code for r in plan.decision.reasons),
                agreement_id=plan.decision.agreement_id,
                agreement_version=plan.decision.agreement_version,
            )))
            if plan.categories:
                self._sign(plan, lookup, staff, lookup_id, now, due, deadline_ms)
                assert plan.query is not None
                futures.append(p.audit.submit(replace(base, 
                    kind=EventKind.QUERY_SENT, agency=str(plan.agency),
                    query_id=plan.query.query_id, query_hash=plan.sha256.hex(),
                    categories=plan.categories,
                    agreement_id=plan.decision.agreement_id,
                    agreement_version=plan.decision.agreement_version,
                )))
        await _durable(futures)

        outcomes = await p.clients.fan_out(
            [(plan.agency, plan.signed) for plan in plans if plan.signed is not None],
            timeout_s=deadline_ms / 1000,
        )
        results, events = self._merge(plans, outcomes, base)
        summary = pb.ReferralSummary(
            referral_id=req.referral_id, lookup_id=lookup_id, rag=lookup.rag,
            purpose=lookup.purpose, statutory_gateway=lookup.gateway,
            generated_at=p.clock().isoformat(), due_at=due.isoformat() if due else "",
            agencies=results, broker_id=p.config.broker_id,
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        events.append(replace(base, 
            kind=EventKind.LOOKUP_COMPLETED, outcome="completed", latency_ms=round(elapsed_ms, 2),
            detail={r.agency: r.status for r in results},
        ))
        await _durable([p.audit.submit(e) for e in events])
        log.info("lookup_completed", lookup_id=lookup_id, referral_id=req.referral_id,
                 agencies=len(results), ms=round(elapsed_ms, 2))
        return summary

    # ------------------------------------------------------------------ steps

    def _base_event(self, lookup: LookupInput, staff: StaffIdentity, lookup_id: str) -> AuditEvent:
        req = lookup.request
        return AuditEvent(
            kind=EventKind.LOOKUP_REQUESTED,
            actor_id=staff.sub, actor_role=str(staff.role), actor_org=staff.org,
            referral_id=req.referral_id, lookup_id=lookup_id, purpose=str(lookup.purpose),
            statutory_gateway=str(lookup.gateway), consent_state=str(lookup.consent_state),
            consent_reason=str(lookup.consent_reason) if lookup.consent_reason else None,
            rag=str(lookup.rag),
        )

    def _pseudonyms(self, subjects: Sequence[pb.Subject]) -> tuple[str, ...]:
        out: list[str] = []
        for s in subjects:
            i = s.identifiers
            out.extend(self.p.pseudonyms.for_identifiers(
                nhs_number=i.nhs_number, given_name=i.given_name,
                family_name=i.family_name, date_of_birth=i.date_of_birth,
            ))
        return tuple(out)

    def _plan(self, lookup: LookupInput, staff: StaffIdentity, now: datetime) -> list[_AgencyPlan]:
        p = self.p
        wanted = set(lookup.agencies)
        bg = lookup.request.break_glass
        break_glass = (BreakGlass(reason=ReasonCode(bg.reason), justification=bg.justification)
                       if bg.reason else None)
        plans = []
        for endpoint in p.config.adapters:
            if wanted and endpoint.agency not in wanted:
                continue
            decisions = [
                p.engine.evaluate(PolicyRequest(
                    agency=endpoint.agency, purpose=lookup.purpose,
                    statutory_gateway=lookup.gateway, rag=lookup.rag,
                    consent_state=lookup.consent_state, consent_reason=lookup.consent_reason,
                    requester_role=staff.role, requester_id=staff.sub, subject_role=role,
                    at=now, categories=None, break_glass=break_glass,
                    mash_id=p.config.broker_id,
                ))
                for role in dict.fromkeys(lookup.subject_roles or (SubjectRole.CHILD,))
            ]
            decision, categories = combine_decisions(decisions)
            # the decision reported is the one for the first subject role, with the combined verdict
            merged = decisions[0]
            plans.append(_AgencyPlan(
                endpoint.agency,
                PolicyDecision(
                    decision=decision, categories=merged.categories,
                    reasons=tuple({(r.code, r.text): r for d in decisions for r in d.reasons}.values()),
                    agreement_id=merged.agreement_id, agreement_version=merged.agreement_version,
                ),
                tuple(c for c in categories if c in AGENCY_CATEGORIES[endpoint.agency]),
            ))
        return plans

    def _sign(
        self, plan: _AgencyPlan, lookup: LookupInput, staff: StaffIdentity, lookup_id: str,
        now: datetime, due: datetime | None, deadline_ms: int,
    ) -> None:
        req = lookup.request
        query = pb.Query(
            query_id=uuid.uuid4().hex, broker_id=self.p.config.broker_id, agency=str(plan.agency),
            referral_id=req.referral_id, rag=lookup.rag, purpose=lookup.purpose,
            statutory_gateway=lookup.gateway, consent=req.consent,
            requester=pb.Requester(id=staff.sub, role=str(staff.role), organisation=staff.org),
            subjects=req.subjects, categories=plan.categories,
            agreement_id=plan.decision.agreement_id or "",
            agreement_version=plan.decision.agreement_version or "",
            nonce=secrets.token_hex(16), issued_at=now.isoformat(),
            due_at=due.isoformat() if due else "", deadline_ms=deadline_ms,
            break_glass=req.break_glass, lookup_id=lookup_id,
        )
        plan.query = query
        plan.signed = sign_query(query, self.p.signing_key)
        plan.sha256 = hashlib.sha256(plan.signed.query).digest()

    def _merge(
        self, plans: Sequence[_AgencyPlan], outcomes: dict[Agency, CallOutcome], base: AuditEvent,
    ) -> tuple[list[pb.AgencyResult], list[AuditEvent]]:
        p = self.p
        results: list[pb.AgencyResult] = []
        events: list[AuditEvent] = []
        for plan in plans:
            r = pb.AgencyResult(
                agency=plan.agency, decision=plan.decision.decision,
                agreement_id=plan.decision.agreement_id or "",
                agreement_version=plan.decision.agreement_version or "",
            )
            r.reasons.extend(pb.Reason(code=x.code, text=x.text) for x in plan.decision.reasons)
            results.append(r)
            if plan.query is None:
                r.status = (AgencyStatus.PENDING_REVIEW if plan.decision.decision == Decision.REVIEW
                            else AgencyStatus.WITHHELD)
                continue
            outcome = outcomes[plan.agency]
            r.latency_ms = round(outcome.latency_ms, 2)
            if outcome.response is None:
                r.status = outcome.status
                r.reasons.append(pb.Reason(code=outcome.reason_code, text=outcome.reason_text))
                events.append(replace(base, 
                    kind=EventKind.DISCLOSURE_REJECTED, agency=str(plan.agency),
                    query_id=plan.query.query_id, query_hash=plan.sha256.hex(),
                    outcome=str(outcome.status), reasons=(outcome.reason_code,),
                    latency_ms=r.latency_ms,
                ))
                continue
            try:
                verified = open_disclosure(
                    outcome.response, p.trust, agency=plan.agency, query=plan.query,
                    query_sha256=plan.sha256, at=p.clock(),
                )
            except SignatureError as exc:
                code = getattr(exc, "code", None) or _snake(type(exc).__name__)
                r.status = AgencyStatus.REJECTED
                r.reasons.append(pb.Reason(
                    code=code, text="the agency's answer failed verification and was dropped"))
                events.append(replace(base, 
                    kind=EventKind.DISCLOSURE_REJECTED, agency=str(plan.agency),
                    query_id=plan.query.query_id, query_hash=plan.sha256.hex(),
                    signer_key_id=outcome.response.key_id, outcome="rejected", reasons=(code,),
                    disclosure_hash=hashlib.sha256(outcome.response.disclosure).hexdigest(),
                    latency_ms=r.latency_ms,
                ))
                log.warning("disclosure_rejected", agency=str(plan.agency), code=code)
                continue
            d = verified.disclosure
            permitted = set(plan.categories)
            for s in d.subjects:
                # Defence in depth: never show a category our own policy did not permit.
                kept = [f for f in s.facts if f.category in permitted]
                del s.facts[:]
                s.facts.extend(kept)
            r.status = d.status
            r.subjects.extend(d.subjects)
            seen = {(x.code, x.text) for x in r.reasons}
            r.reasons.extend(x for x in d.reasons if (x.code, x.text) not in seen)
            r.signer_key_id = verified.key_id
            r.disclosure_sha256 = verified.sha256.hex()
            if d.agreement_version:
                r.agreement_id, r.agreement_version = d.agreement_id, d.agreement_version
            events.append(replace(base, 
                kind=EventKind.DISCLOSURE_VERIFIED, agency=str(plan.agency),
                query_id=plan.query.query_id, query_hash=plan.sha256.hex(),
                disclosure_hash=verified.sha256.hex(), signer_key_id=verified.key_id,
                outcome=d.status, decision=d.decision,
                categories=tuple(sorted({f.category for s in d.subjects for f in s.facts})),
                match_band=",".join(f"{s.subject_id}:{s.match_band}" for s in d.subjects),
                agreement_id=d.agreement_id, agreement_version=d.agreement_version,
                latency_ms=r.latency_ms,
            ))
        return results, events


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name)
    return out.lstrip("_")


