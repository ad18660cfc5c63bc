"""The adapter's `AgencyAdapter.Query`: verify, re-check policy, match, minimise, sign, log.

An adapter never relies on the broker's decision alone: it verifies the
broker's mTLS identity and signature, applies its OWN copy of the agreement it
holds with that MASH, and discloses only the categories both sides permit, for
people it matched with enough confidence. Every decision -- refusals included --
is in its own append-only disclosure log before the answer leaves.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import grpc

from agency_adapters.adapter_health import BACKEND, AdapterHealth
from agency_adapters.backend import (
    AgencyView,
    AsyncAgencyBackend,
    BackendError,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.backend_threads import CallBudget
from agency_adapters.matching import MatchThresholds, match_subjects_async
from agency_adapters.matching.model import MatchModel
from agency_adapters.matching.roles import bounded_by_role
from agency_adapters.replay import ReplayError, ReplayGuard
from agency_adapters.research.queue import QueuedQuery, ResearchQueue
from agency_adapters.scheduling import DueOrderedGate, due_key
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog
from audit.pseudonyms import Pseudonymiser, for_subjects
from audit.refusals import RefusalLimiter, Sent, bounded_id, refusal_events
from audit.witness import Witness, checkpoint_from_proto, checkpoint_to_proto
from certs.envelopes import open_query, sign_disclosure
from certs.errors import PeerError, SignatureError
from certs.reloading import TrustSource
from certs.signing import SigningKey
from certs.tls import peer_identity
from mash.clock import LONDON, Clock, utc_now
from mash.errors import InvalidRequest, NotAuthenticated, NotPermitted, present
from mash.logs import get_logger
from mash.subject_age import RoleCorrection, supported_role
from mash.v1 import mash_pb2 as pb
from mash.v1 import mash_pb2_grpc as pb_grpc
from mash.vocab import (
    AGENCY_CATEGORIES,
    Agency,
    AgencyStatus,
    Category,
    ConsentState,
    Decision,
    MatchBand,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    StatutoryGateway,
    SubjectRole,
    UnknownVocabulary,
    parse,
)
from policy import (
    NO_AGREEMENT_IN_FORCE,
    BreakGlass,
    PolicyDecision,
    PolicyEngine,
    PolicyRequest,
)

log = get_logger("adapter")

#: Decides again for one subject under another role: (result, decision, permitted categories).
Redecide = Callable[[pb.Subject, SubjectRole], tuple[pb.SubjectResult, PolicyDecision,
                                                      list[Category]]]

#: Bands confident enough to disclose record content.
DISCLOSING_BANDS = frozenset({MatchBand.CERTAIN, MatchBand.HIGH})
MAX_SUBJECTS = 20
SUBJECT_ROLES = frozenset(str(r) for r in SubjectRole)
#: How a refusal names a caller whose certificate could not be read.
UNKNOWN_PEER = "unknown"
#: Reason code of an answer given under another role than the requester's.
ROLE_CORRECTED = "subject_role_corrected"


@dataclass(frozen=True)
class AdapterParts:
    """Everything the servicer needs, built once at start-up (and injectable in tests)."""

    agency: Agency
    name: str
    trusted_brokers: frozenset[str]
    backend: AsyncAgencyBackend
    engine: PolicyEngine
    trust: TrustSource
    signing_key: SigningKey
    audit: AuditLog
    pseudonyms: Pseudonymiser
    thresholds: MatchThresholds
    replay: ReplayGuard
    #: the agency's trained match model; None = the shipped weights
    match_model: MatchModel | None = None
    #: tests and the benchmark only (`bench.serve_variant`): wait this long before answering
    delay_ms: int = 0
    clock: Clock = utc_now
    #: admits queries earliest-due first when the adapter is busy
    gate: DueOrderedGate = field(default_factory=lambda: DueOrderedGate(8))
    #: the longest one backend call may take (cut to what is left of the query's deadline)
    backend_timeout_s: float = 2.0
    #: time kept back from the query's deadline to sign, log and send the answer
    answer_reserve_s: float = 0.2
    health: AdapterHealth = field(default_factory=lambda: AdapterHealth("adapter", None))
    #: per-peer budget of logged refusals (beyond it, refusals are counted, not logged)
    refusals: RefusalLimiter = field(default_factory=RefusalLimiter)
    #: countersigns the brokers' checkpoints that arrive on their queries
    witness: Witness | None = None
    #: the researcher queue (backend kind `research`): permitted queries wait here for the
    #: agency's MASH researcher instead of being answered from a store
    research: ResearchQueue | None = None


#: What the broker is told when the system of record fails (the cause stays in the adapter's log).
BACKEND_FAILURE_TEXT = {
    "backend_timeout": "the agency's system of record did not answer in time",
    "backend_unavailable": "the agency's system of record could not be reached",
}
DEFAULT_BACKEND_FAILURE_TEXT = "the agency's system of record returned an error"


def _reason(code: str, text: str) -> pb.Reason:
    return pb.Reason(code=code, text=text)


class AdapterService(pb_grpc.AgencyAdapterServicer):
    """gRPC servicer of one agency adapter."""

    def __init__(self, parts: AdapterParts) -> None:
        self.p = parts

    async def Query(  # noqa: N802 - gRPC method name
        self, request: pb.SignedQuery, context: grpc.aio.ServicerContext
    ) -> pb.SignedDisclosure:
        """Answer one signed query with one signed disclosure."""
        p = self.p
        try:
            peer = peer_identity(context, p.trust)  # a revoked certificate is refused here
        except PeerError as exc:
            await self._refuse(exc.code, UNKNOWN_PEER, request)
            raise NotAuthenticated("client certificate not accepted", detail=str(exc)) from None
        who = bounded_id(f"{peer.kind}-{peer.name}") or UNKNOWN_PEER
        if peer.kind != "broker" or peer.name not in p.trusted_brokers:
            await self._refuse("untrusted_peer", who, request)
            raise NotPermitted("caller is not a trusted MASH broker",
                               detail=f"peer {peer.kind}/{peer.name}")
        try:
            verified = open_query(request, p.trust, broker_id=peer.name, at=p.clock())
        except SignatureError as exc:
            await self._refuse(exc.code, who, request)
            raise NotAuthenticated("query signature did not verify", detail=str(exc)) from None
        query = verified.query
        try:
            p.replay.check(peer.name, query.nonce, query.issued_at)
        except ReplayError as exc:
            await self._refuse(exc.code, who, request, query=query)
            raise NotPermitted("query refused: " + exc.code.replace("_", " ")) from None
        if query.agency != p.agency:
            await self._refuse("wrong_agency", who, request, query=query)
            raise InvalidRequest("query is addressed to another agency")
        if not 0 < len(query.subjects) <= MAX_SUBJECTS:
            await self._refuse("subject_count", who, request, query=query,
                               extra={"subject_count": str(len(query.subjects))})
            raise InvalidRequest(f"a query names 1 to {MAX_SUBJECTS} subjects")
        if any(s.role not in SUBJECT_ROLES for s in query.subjects):
            await self._refuse("unknown_subject_role", who, request, query=query)
            raise InvalidRequest("a subject's role is not a known subject role")
        unknown = unknown_vocabulary_field(query)
        if unknown:
            await self._refuse("unknown_vocabulary", who, request, query=query,
                               extra={"field": unknown})
            raise InvalidRequest(f"{unknown} is not a known value")
        if p.witness is not None and request.HasField("checkpoint"):
            # Only from a broker whose query verified: its log's checkpoint, countersigned.
            p.witness.observe(checkpoint_from_proto(request.checkpoint),
                              expected_log=f"broker-{peer.name}")

        async with p.gate.slot(due_key(query.due_at)):
            if p.delay_ms:
                await asyncio.sleep(p.delay_ms / 1000)  # simulated slow legacy system (tests only)
            remaining = getattr(context, "time_remaining", lambda: None)()
            budget = CallBudget.within(p.backend_timeout_s, remaining, p.answer_reserve_s)
            disclosure = await self._answer(query, verified.sha256, budget,
                                            raw_query=verified.raw)
            signed = sign_disclosure(disclosure, p.signing_key)
            await self.log_disclosure(query, verified.sha256, signed, disclosure)
        own = p.audit.latest_checkpoint
        if own is not None:
            signed.checkpoint.CopyFrom(checkpoint_to_proto(own))  # for the broker to witness
        return signed

    # ------------------------------------------------------------------ answer

    async def _answer(self, query: pb.Query, query_sha256: bytes,
                      budget: CallBudget | None = None, *, raw_query: bytes = b"",
                      ) -> pb.Disclosure:
        """The (unsigned) disclosure answering `query`; backend calls bounded by `budget`.

        With a researcher queue, a query of which something is permitted is queued
        (`raw_query`: its exact signed bytes) and answered `pending_research`.
        """
        p = self.p
        budget = budget or CallBudget.within(p.backend_timeout_s, None, p.answer_reserve_s)
        now = p.clock()
        d = pb.Disclosure(
            disclosure_id=secrets.token_hex(16),
            query_id=query.query_id,
            query_sha256=query_sha256,
            agency=str(p.agency),
            adapter_id=p.name,
            broker_id=query.broker_id,
            issued_at=now.isoformat(),
            policy_version=p.engine.version_of(query.broker_id),
        )
        try:
            base = self._policy_base(query, now)
        except UnknownVocabulary as exc:
            d.status, d.decision = AgencyStatus.WITHHELD, Decision.DENY
            d.reasons.append(_reason("unknown_vocabulary", str(exc)))
            return d
        requested = tuple(
            Category(c) for c in query.categories if c in set(AGENCY_CATEGORIES[p.agency])
        )
        approved = self._review_approved(query)
        if query.review_approval.review_id and not approved:
            d.reasons.append(_reason("review_approval_invalid",
                                     "the review approval does not satisfy the agreement"))
        decisions: dict[str, PolicyDecision] = {}
        permitted_by_subject: dict[str, list[Category]] = {}
        for subject in query.subjects:
            result, decision, permitted = self._decide_subject(subject, base, requested, approved)
            d.subjects.append(result)
            decisions[subject.subject_id] = decision
            permitted_by_subject[subject.subject_id] = permitted
            if decision.agreement_version and not d.agreement_version:
                d.agreement_id = decision.agreement_id or ""
                d.agreement_version = decision.agreement_version

        def redecide(subject: pb.Subject, role: SubjectRole
                     ) -> tuple[pb.SubjectResult, PolicyDecision, list[Category]]:
            result, decision, permitted = self._decide_subject(subject, base, requested,
                                                               approved, role=role)
            decisions[subject.subject_id] = decision
            return result, decision, permitted

        mismatch = (bool(query.agreement_version)
                    and d.agreement_version != query.agreement_version
                    and not _no_agreement_in_force(list(decisions.values())))
        if (p.research is not None and raw_query and not mismatch
                and any(permitted_by_subject.values())):
            await self._queue_for_research(query, query_sha256, raw_query, d,
                                           list(decisions.values()), permitted_by_subject)
            return d
        failure = await self._read_backend(query, d, permitted_by_subject, budget, redecide)
        if mismatch:
            # Both sides must apply the same agreement; never guess which one is right.
            for s in d.subjects:
                del s.facts[:]
                s.match_band, s.match_score, s.confirm_hint = MatchBand.NONE, 0.0, ""
            d.status, d.decision = AgencyStatus.POLICY_MISMATCH, Decision.DENY
            d.reasons.append(_reason("policy_mismatch",
                                     "the adapter holds a different version of the agreement"))
            return d
        d.decision = _overall(list(decisions.values()))
        d.status = AgencyStatus.UNAVAILABLE if failure else _status(d.subjects, d.decision)
        if failure:
            d.reasons.append(_reason(failure, BACKEND_FAILURE_TEXT.get(
                failure, DEFAULT_BACKEND_FAILURE_TEXT)))
        _add_reasons(d, list(decisions.values()))
        return d

    async def _queue_for_research(self, query: pb.Query, query_sha256: bytes, raw_query: bytes,
                                  d: pb.Disclosure, decisions: Sequence[PolicyDecision],
                                  permitted: dict[str, list[Category]]) -> None:
        """Put a permitted query in the researcher queue (durably) and say so in `d`."""
        p = self.p
        queue = present(p.research, "the researcher queue")
        item = queue.enqueue(QueuedQuery(
            query_id=query.query_id, broker_id=query.broker_id,
            referral_id=query.referral_id, lookup_id=query.lookup_id, rag=query.rag,
            purpose=query.purpose, statutory_gateway=query.statutory_gateway,
            requester_role=query.requester.role, due_at=query.due_at, query=raw_query,
            query_sha256=query_sha256,
            permitted={sid: [str(c) for c in cats] for sid, cats in permitted.items()},
            agreement_id=d.agreement_id, agreement_version=d.agreement_version))
        d.decision = _overall(decisions)
        d.status = AgencyStatus.PENDING_RESEARCH
        d.reasons.append(_reason(
            "research_queued", f"queued for the agency's MASH researcher (item {item.item_id}); "
                               "the answer follows when they have searched by hand"))
        _add_reasons(d, decisions)
        categories = sorted({str(c) for cats in permitted.values() for c in cats})
        await asyncio.wrap_future(p.audit.submit(AuditEvent(
            kind=EventKind.RESEARCH_QUEUED, actor_id=query.requester.id,
            actor_role=query.requester.role, actor_org=query.broker_id,
            referral_id=query.referral_id, lookup_id=query.lookup_id, query_id=query.query_id,
            purpose=query.purpose, statutory_gateway=query.statutory_gateway, rag=query.rag,
            agency=str(p.agency), categories=tuple(categories), decision=d.decision,
            agreement_id=d.agreement_id, agreement_version=d.agreement_version,
            query_hash=query_sha256.hex(), outcome=str(AgencyStatus.PENDING_RESEARCH),
            subject_pseudonyms=for_subjects(p.pseudonyms, query.subjects),
            detail={"item_id": item.item_id, "due_at": query.due_at,
                    "broker_id": query.broker_id})))
        log.info("research_queued", item_id=item.item_id, query_id=query.query_id,
                 rag=query.rag)

    def permitted_now(self, query: pb.Query) -> dict[str, set[str]]:
        """The categories our own policy permits now for each subject of `query`."""
        base = self._policy_base(query, self.p.clock())
        requested = tuple(Category(c) for c in query.categories
                          if c in set(AGENCY_CATEGORIES[self.p.agency]))
        approved = self._review_approved(query)
        return {s.subject_id: {str(c) for c in
                               self._decide_subject(s, base, requested, approved)[2]}
                for s in query.subjects}

    def _review_approved(self, query: pb.Query) -> bool:
        """Does the query carry a review approval that our own agreement accepts (principle 7)?"""
        a = query.review_approval
        if not a.review_id:
            return False
        try:
            role = parse(Role, a.approver_role)
        except UnknownVocabulary:
            return False
        return bool(a.reason.strip()) and self.p.engine.may_approve_review(
            query.broker_id, self.p.agency, role, a.approver_id, query.requester.id)

    def _policy_base(self, query: pb.Query, now: datetime) -> dict[str, object]:
        consent_reason = query.consent.reason
        bg = query.break_glass
        return dict(
            agency=self.p.agency,
            purpose=parse(Purpose, query.purpose),
            statutory_gateway=parse(StatutoryGateway, query.statutory_gateway),
            rag=parse(Rag, query.rag),
            consent_state=parse(ConsentState, query.consent.state),
            consent_reason=parse(ReasonCode, consent_reason) if consent_reason else None,
            requester_role=parse(Role, query.requester.role),
            requester_id=query.requester.id,
            at=now,
            break_glass=(BreakGlass(reason=parse(ReasonCode, bg.reason), justification=bg.justification)
                         if bg.reason else None),
            mash_id=query.broker_id,
        )

    def _decide_subject(
        self,
        subject: pb.Subject,
        base: dict[str, object],
        requested: Sequence[Category],
        review_approved: bool,
        role: SubjectRole | None = None,
    ) -> tuple[pb.SubjectResult, PolicyDecision, list[Category]]:
        """Our own policy decision for one subject (by their role in the referral, or `role`)."""
        role = role or parse(SubjectRole, subject.role)
        result = pb.SubjectResult(subject_id=subject.subject_id, match_band=MatchBand.NONE,
                                  answered_role=role)
        decision = self.p.engine.evaluate(
            PolicyRequest(subject_role=role, categories=tuple(requested), **base)  # type: ignore[arg-type]
        )
        permitted = [c for c in decision.permitted_categories if c in requested]
        if review_approved:
            # a team manager approved what policy held for review (principle 7, checked above)
            permitted += [c for c in decision.review_categories if c in requested]
        result.permitted_categories.extend(permitted)
        result.withheld_categories.extend(c for c in requested if c not in permitted)
        return result, decision, permitted

    async def _read_backend(self, query: pb.Query, d: pb.Disclosure,
                            permitted: dict[str, list[Category]], budget: CallBudget,
                            redecide: Redecide) -> str:
        """Match and add records through one view of the backend; "" or the failure's code.

        A failing backend empties every subject's result (nothing half-read is sent):
        the broker is told which kind of failure, the log and health are told what.
        """
        p = self.p
        if not any(permitted.values()):
            return ""  # nothing may be shared: the system of record is not even asked
        view = p.backend.view()
        if view.data_as_of:
            d.data_as_of = view.data_as_of
        try:
            await self._match_and_disclose(view, query, d, permitted, budget, redecide)
        except BackendError as exc:
            code, cause = exc.code, f"{exc.code}: {exc}"
        except Exception as exc:  # a plug-in's own bug: an error status, never a traceback
            code, cause = BackendError.code, f"{BackendError.code}: {type(exc).__name__}"
        else:
            await p.health.call_succeeded(BACKEND)
            return ""
        log.warning("backend_failed", query_id=query.query_id, code=code, cause=cause)
        await p.health.call_failed(BACKEND, cause)
        for result in d.subjects:
            del result.facts[:]
            result.match_band, result.match_score, result.confirm_hint = MatchBand.NONE, 0.0, ""
        return code

    async def _match_and_disclose(self, view: AgencyView, query: pb.Query, d: pb.Disclosure,
                                  permitted: dict[str, list[Category]],
                                  budget: CallBudget, redecide: Redecide) -> None:
        """Match the subjects we may share about, together, and add their permitted records.

        Subjects about whom nothing may be shared are not even looked up. Matching
        them together means two subjects resolving to one agency person are both
        reported as `possible` rather than guessed. A sure match whose recorded date of
        birth contradicts the role the requester gave is decided again under the role the
        record supports (`mash.subject_age`) before anything is read.
        """
        p = self.p
        today = p.clock().astimezone(LONDON).date()
        wanted = [(s.subject_id, _identifiers(s, today))
                  for s in query.subjects if permitted[s.subject_id]]
        people: dict[str, Person] = {}

        async def candidates_of(q: QueryIdentifiers) -> list[Person]:
            found = await budget.run("candidates", view.candidates(q))
            people.update((c.person_id, c) for c in found)
            return found

        matches = await match_subjects_async(candidates_of, wanted, p.thresholds,
                                             view.name_frequencies(), p.match_model)
        sure: list[tuple[pb.SubjectResult, str]] = []
        subjects = {s.subject_id: s for s in query.subjects}
        for result in d.subjects:
            m = matches.get(result.subject_id)
            if m is None:
                continue
            if m.band in DISCLOSING_BANDS and m.person_id is not None:
                self._check_role(subjects[result.subject_id], result, people.get(m.person_id),
                                 today, d, permitted, redecide)
                if not permitted[result.subject_id]:
                    continue  # nothing may be shared under the record's role: not even "known"
            result.match_band = m.band
            result.match_score = round(m.score, 4)
            result.invalid_identifiers.extend(m.invalid_identifiers)
            if m.band == MatchBand.POSSIBLE:
                result.confirm_hint = m.confirm_hint  # no record content for a possible match
            elif m.band in DISCLOSING_BANDS and m.person_id is not None:
                sure.append((result, m.person_id))
        found = await asyncio.gather(*(
            budget.run("records", view.records_for(pid, permitted[result.subject_id]))
            for result, pid in sure), return_exceptions=True)
        for (result, _), records in zip(sure, found, strict=True):
            if isinstance(records, BaseException):
                raise records
            result.facts.extend(_fact(rec) for rec in records)

    def _check_role(self, subject: pb.Subject, result: pb.SubjectResult, person: Person | None,
                    today: date, d: pb.Disclosure, permitted: dict[str, list[Category]],
                    redecide: Redecide) -> None:
        """Answer under the role the matched person's recorded date of birth supports."""
        if person is None or not person.date_of_birth:
            return
        try:
            born = date.fromisoformat(person.date_of_birth)
        except ValueError:
            return  # an unreadable date in the agency's record supports no correction
        claimed = parse(SubjectRole, result.answered_role or subject.role)
        role = supported_role(claimed, born, today)
        if role == claimed:
            return
        fresh, _, allowed = redecide(subject, role)
        result.answered_role = role
        del result.permitted_categories[:], result.withheld_categories[:]
        result.permitted_categories.extend(fresh.permitted_categories)
        result.withheld_categories.extend(fresh.withheld_categories)
        permitted[subject.subject_id] = allowed
        correction = RoleCorrection(subject.subject_id, claimed, role)
        d.reasons.append(_reason(ROLE_CORRECTED, (
            f"{subject.subject_id}: the date of birth the agency holds does not fit the role "
            f"'{claimed}'; answered as '{role}'")))
        log.warning("subject_role_corrected", correction=correction.text())

    # ------------------------------------------------------------------ audit

    async def log_disclosure(
        self, query: pb.Query, query_sha256: bytes, signed: pb.SignedDisclosure,
        disclosure: pb.Disclosure,
    ) -> None:
        """Record a disclosure as it leaves for the broker (durable before it is sent)."""
        p = self.p
        categories = sorted({f.category for s in disclosure.subjects for f in s.facts})
        bands = ",".join(f"{s.subject_id}:{s.match_band}" for s in disclosure.subjects)
        event = AuditEvent(
            kind=EventKind.DISCLOSURE_SENT,
            actor_id=query.requester.id,
            actor_role=query.requester.role,
            actor_org=query.broker_id,
            referral_id=query.referral_id,
            lookup_id=query.lookup_id,
            query_id=query.query_id,
            purpose=query.purpose,
            statutory_gateway=query.statutory_gateway,
            consent_state=query.consent.state,
            consent_reason=query.consent.reason,
            rag=query.rag,
            agency=str(p.agency),
            categories=tuple(categories),
            decision=disclosure.decision,
            reasons=tuple(r.code for r in disclosure.reasons),
            agreement_id=disclosure.agreement_id,
            agreement_version=disclosure.agreement_version,
            match_band=bands,
            query_hash=query_sha256.hex(),
            disclosure_hash=hashlib.sha256(signed.disclosure).hexdigest(),
            signer_key_id=signed.key_id,
            outcome=disclosure.status,
            subject_pseudonyms=for_subjects(p.pseudonyms, query.subjects),
            detail={"broker_id": query.broker_id, "fact_count": str(
                sum(len(s.facts) for s in disclosure.subjects)),
                **({"data_as_of": disclosure.data_as_of} if disclosure.data_as_of else {}),
                **_role_corrections(disclosure)},
        )
        await asyncio.wrap_future(p.audit.submit(event))

    async def _refuse(
        self, code: str, peer: str, request: pb.SignedQuery, query: pb.Query | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Log a refused query (bad signature, replay, untrusted peer...) before refusing it.

        Only bounded fields: sizes and hashes of what was sent, ids that are ids.
        """
        await self.refuse(code, peer, Sent.of(request.query, request.key_id),
                          query_id=query.query_id if query else "",
                          referral_id=query.referral_id if query else "", extra=extra)

    async def refuse(self, code: str, peer: str, sent: Sent, *, query_id: str = "",
                     referral_id: str = "", extra: dict[str, str] | None = None) -> None:
        """Log one refusal, within the peer's budget of logged refusals."""
        p = self.p
        admission = p.refusals.admit(peer)
        events = refusal_events(admission, code=code, peer=peer, agency=str(p.agency),
                                sent=sent, query_id=query_id, referral_id=referral_id,
                                extra=extra, limiter=p.refusals)
        if events:
            await asyncio.wrap_future(p.audit.submit_many(events))
        log.warning("query_rejected", code=code, peer=peer, logged=admission.log)

    async def refuse_malformed(self, method: str, raw: bytes,
                               context: grpc.aio.ServicerContext) -> None:
        """Log a request whose bytes do not parse (the interceptor refuses it)."""
        try:
            peer = peer_identity(context, self.p.trust)
            who = bounded_id(f"{peer.kind}-{peer.name}") or UNKNOWN_PEER
        except PeerError:
            who = UNKNOWN_PEER
        await self.refuse("malformed_request", who, Sent.of(raw),
                          extra={"method": method.rsplit("/", 1)[-1][:64]})


def _add_reasons(d: pb.Disclosure, decisions: Sequence[PolicyDecision]) -> None:
    """The policy decisions' reasons, each code once."""
    seen = {r.code for r in d.reasons}
    for dec in decisions:
        for r in dec.reasons:
            if r.code not in seen:
                seen.add(r.code)
                d.reasons.append(_reason(r.code, r.text))


def _fact(rec: Record) -> pb.Fact:
    return pb.Fact(record_id=rec.record_id, category=rec.category, occurred_on=rec.occurred_on,
                   summary=rec.summary, attributes=dict(rec.attributes))


def _no_agreement_in_force(decisions: Sequence[PolicyDecision]) -> bool:
    """Does this adapter hold no approved agreement in force with the MASH that asked?

    Then the answer is WITHHELD with that reason (named per MASH: one adapter serves
    several), rather than a version mismatch: there is no version here to compare.
    """
    return bool(decisions) and all(
        d.decision is Decision.DENY and any(r.code in NO_AGREEMENT_IN_FORCE for r in d.reasons)
        for d in decisions)


def _overall(decisions: Sequence[PolicyDecision]) -> Decision:
    values = {d.decision for d in decisions}
    if Decision.PERMIT in values:
        return Decision.PERMIT
    if Decision.REVIEW in values:
        return Decision.REVIEW
    return Decision.DENY


def _status(subjects: Sequence[pb.SubjectResult], decision: Decision) -> AgencyStatus:
    bands = {s.match_band for s in subjects}
    if bands & DISCLOSING_BANDS:
        return AgencyStatus.DISCLOSED
    if MatchBand.POSSIBLE in bands:
        return AgencyStatus.POSSIBLE_MATCH
    if decision != Decision.PERMIT:
        return AgencyStatus.WITHHELD
    return AgencyStatus.NOT_KNOWN


def _identifiers(subject: pb.Subject, today: date) -> QueryIdentifiers:
    """The subject's identifiers; without a date of birth, the age range their role allows."""
    return bounded_by_role(QueryIdentifiers.from_proto(subject.identifiers),
                           parse(SubjectRole, subject.role), today)


def _role_corrections(disclosure: pb.Disclosure) -> dict[str, str]:
    """The audit detail naming subjects answered under another role than the requester's."""
    fixed = [f"{s.subject_id}:{s.answered_role}" for s in disclosure.subjects
             if any(r.code == ROLE_CORRECTED and r.text.startswith(f"{s.subject_id}:")
                    for r in disclosure.reasons)]
    return {"subject_roles_corrected": ",".join(fixed)} if fixed else {}


def unknown_vocabulary_field(query: pb.Query) -> str:
    """The first field of `query` whose value is not in our vocabulary, or "" if all are known.

    A signed query from a trusted broker can still carry a value this adapter does not know (a
    newer broker, or a broker misbehaving); it is refused as a bad request, never answered.
    """
    fields: list[tuple[str, type[StrEnum], str, bool]] = [
        ("purpose", Purpose, query.purpose, True),
        ("statutory_gateway", StatutoryGateway, query.statutory_gateway, True),
        ("rag", Rag, query.rag, True),
        ("consent.state", ConsentState, query.consent.state, True),
        ("consent.reason", ReasonCode, query.consent.reason, False),
        ("requester.role", Role, query.requester.role, True),
        ("break_glass.reason", ReasonCode, query.break_glass.reason, False),
    ]
    for name, enum, value, required in fields:
        if not value and not required:
            continue
        try:
            parse(enum, value)
        except UnknownVocabulary:
            return name
    return ""
