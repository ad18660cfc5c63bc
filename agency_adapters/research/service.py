"""The researcher queue over gRPC: `Research` for the agency's MASH researcher, and
`ResearchDelivery` for the broker that asked.

Who the researcher is comes from nowhere but their credentials: a client certificate
(mTLS) and a staff token of their MASH bound to that certificate (RFC 8705), with the
role `agency_researcher`. The token's organisation is the MASH they work in: they see
and answer only that MASH's items (one adapter serves several). Every action -- a list,
a read, an answer, a refused answer, an alert, a collection -- is in the adapter's audit
log by id before its result leaves; the application log names ids only.

A broker collects the signed answer to a query it sent (its certificate names it, the
query hash must match); the answer is logged as `disclosure_sent` when it leaves, like
any answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import grpc

from agency_adapters.research.answers import AnswerRefused, build_answer
from agency_adapters.research.queue import (
    ANSWERED,
    PENDING,
    STATES,
    AlreadyAnswered,
    ResearchItem,
    ResearchQueue,
    UnknownItem,
)
from agency_adapters.service import AdapterService
from audit.events import AuditEvent, EventKind
from audit.pseudonyms import for_subjects
from audit.refusals import Sent, bounded_id
from audit.witness import checkpoint_to_proto
from certs.envelopes import sign_disclosure
from certs.errors import PeerError
from certs.tls import peer_identity
from identity.errors import TokenError, WrongAudience, WrongOrganisation
from identity.tokens import StaffIdentity, TokenValidator
from mash.errors import InvalidRequest, NotAuthenticated, NotPermitted
from mash.logs import get_logger
from mash.v1 import mash_pb2 as pb
from mash.v1 import research_pb2 as rpb
from mash.v1 import research_pb2_grpc as rpb_grpc
from mash.vocab import Role

log = get_logger("adapter")


class ResearcherAuth:
    """Checks the caller is a staff client presenting a token, bound to its certificate, of a
    MASH this adapter serves, in the role `agency_researcher`."""

    def __init__(self, validators: Sequence[TokenValidator], service: AdapterService) -> None:
        self.validators = tuple(validators)
        self.service = service

    async def authenticate(self, context: grpc.aio.ServicerContext, what: str) -> StaffIdentity:
        """The researcher's identity, or NotAuthenticated / NotPermitted (the refusal logged)."""
        p = self.service.p
        try:
            peer = peer_identity(context, p.trust)
        except PeerError as exc:
            await self._refuse("research_peer_refused", "unknown", what)
            raise NotAuthenticated("client certificate not accepted", detail=str(exc)) from None
        who = bounded_id(f"{peer.kind}-{peer.name}") or "unknown"
        if peer.kind != "client":
            await self._refuse("research_not_a_client", who, what)
            raise NotAuthenticated("caller is not a staff client")
        token = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
                token = value[len("Bearer "):]
        if not token:
            await self._refuse("research_missing_token", who, what)
            raise NotAuthenticated("missing bearer token")
        identity: StaffIdentity | None = None
        cause = "token is not for a MASH this adapter serves"
        for validator in self.validators:
            try:
                identity = validator.validate(token, peer.thumbprint)
                break
            except (WrongAudience, WrongOrganisation):
                continue  # perhaps the token of another MASH this adapter serves
            except TokenError as exc:
                cause = f"token refused: {type(exc).__name__}"
                break
        if identity is None:
            await self._refuse("research_token_refused", who, what)
            raise NotAuthenticated(cause)
        if identity.role != Role.AGENCY_RESEARCHER:
            await self._refuse("research_role_not_permitted", who, what)
            raise NotPermitted("only the agency's MASH researcher may use the research queue",
                               detail=f"role {identity.role}")
        return identity

    async def _refuse(self, code: str, who: str, what: str) -> None:
        await self.service.refuse(code, who, Sent.of(b""), extra={"method": what})


def item_pb(item: ResearchItem, now: datetime, window: timedelta, *,
            with_subjects: bool = False) -> rpb.ResearchItem:
    """An item as the researcher sees it (subjects only when asked for: reading is audited)."""
    out = rpb.ResearchItem(
        item_id=item.item_id, query_id=item.query_id, broker_id=item.broker_id,
        referral_id=item.referral_id, lookup_id=item.lookup_id, rag=item.rag,
        purpose=item.purpose, statutory_gateway=item.statutory_gateway,
        received_at=item.received_at.isoformat(),
        due_at=item.due_at.isoformat() if item.due_at else "", state=item.state,
        alert=item.alerting(now, window), minutes_left=item.minutes_left(now) or 0,
        requester_role=item.requester_role, answered_by=item.answered_by,
        answered_at=item.answered_at.isoformat() if item.answered_at else "",
        outcome=item.outcome)
    for sid, categories in sorted(item.permitted.items()):
        out.permitted.add(subject_id=sid, categories=list(categories))
    if with_subjects:
        out.subjects.extend(pb.Query.FromString(item.query).subjects)
    return out


class ResearchDesk(rpb_grpc.ResearchServicer, rpb_grpc.ResearchDeliveryServicer):
    """The researcher's queue and the brokers' collection point, in the adapter process."""

    def __init__(self, service: AdapterService, queue: ResearchQueue,
                 auth: ResearcherAuth) -> None:
        self.service = service
        self.queue = queue
        self.auth = auth
        # one answer at a time: the check that an item is pending and its answer are one step
        self._answering = asyncio.Lock()

    # ------------------------------------------------------------------ researcher

    async def ListItems(  # noqa: N802 - gRPC method name
            self, request: rpb.ListResearchRequest,
            context: grpc.aio.ServicerContext) -> rpb.ListResearchResponse:
        """The researcher's MASH's items, earliest due first, with RAG, due time and alert."""
        staff = await self.auth.authenticate(context, "ListItems")
        state = _state(request.state)
        items = self.queue.items(state, broker_id=staff.org)
        await self._audit(staff, EventKind.RESEARCH_VIEWED, None, outcome="listed",
                          detail={"view": "list", "state": request.state or PENDING,
                                  "count": str(len(items))})
        now = self.queue.clock()
        return rpb.ListResearchResponse(
            items=[item_pb(i, now, self.queue.alert_window) for i in items])

    async def GetItem(  # noqa: N802 - gRPC method name
            self, request: rpb.GetResearchRequest,
            context: grpc.aio.ServicerContext) -> rpb.ResearchItem:
        """One item with its subjects as asked; the read is on record before it leaves."""
        staff = await self.auth.authenticate(context, "GetItem")
        item = self._item_for(staff, request.item_id)
        await self._audit(staff, EventKind.RESEARCH_VIEWED, item, outcome="shown",
                          detail={"view": "item"}, with_subjects=True)
        return item_pb(item, self.queue.clock(), self.queue.alert_window, with_subjects=True)

    async def Answer(  # noqa: N802 - gRPC method name
            self, request: rpb.AnswerResearchRequest,
            context: grpc.aio.ServicerContext) -> rpb.ResearchItem:
        """Sign what the researcher recorded for the broker that asked, and keep it to send."""
        staff = await self.auth.authenticate(context, "Answer")
        p = self.service.p
        async with self._answering:
            try:
                item = self._item_for(staff, request.item_id)
                if item.state != PENDING:
                    raise AlreadyAnswered(f"research item {item.item_id} is already answered "
                                          f"({item.outcome} by {item.answered_by})")
                query = pb.Query.FromString(item.query)
                built = build_answer(item, request, agency=p.agency, adapter_id=p.name,
                                     now=p.clock(),
                                     permitted_now=self.service.permitted_now(query))
                built.disclosure.policy_version = p.engine.version_of(item.broker_id)
            except (UnknownItem, AlreadyAnswered, AnswerRefused) as exc:
                await self._audit(staff, EventKind.RESEARCH_ANSWER_REFUSED,
                                  _maybe(self.queue, request.item_id), outcome="refused",
                                  reasons=(exc.code,),
                                  detail={"item_id": bounded_id(request.item_id) or "invalid"})
                log.info("research_answer_refused", code=exc.code,
                         item_id=bounded_id(request.item_id) or "invalid")
                raise
            signed = sign_disclosure(built.disclosure, p.signing_key)
            d = built.disclosure
            await self._audit(staff, EventKind.RESEARCH_ANSWERED, item, outcome=built.outcome,
                              categories=built.categories, signer_key_id=signed.key_id,
                              disclosure_hash=_sha256_hex(signed.disclosure),
                              match_band=",".join(f"{s.subject_id}:{s.match_band}"
                                                  for s in d.subjects),
                              detail={"fact_count": str(sum(len(s.facts) for s in d.subjects))})
            item = self.queue.record_answer(item.item_id, by=staff.sub, outcome=built.outcome,
                                            answer=signed.SerializeToString(deterministic=True))
        log.info("research_answered", item_id=item.item_id, outcome=built.outcome)
        return item_pb(item, self.queue.clock(), self.queue.alert_window)

    async def Alerts(  # noqa: N802 - gRPC method name
            self, request: rpb.ListResearchRequest,
            context: grpc.aio.ServicerContext) -> rpb.ResearchAlertsResponse:
        """Red items of the researcher's MASH near (or past) their due time."""
        staff = await self.auth.authenticate(context, "Alerts")
        items = self.queue.alerts(broker_id=staff.org)
        await self._audit(staff, EventKind.RESEARCH_VIEWED, None, outcome="listed",
                          detail={"view": "alerts", "count": str(len(items))})
        now = self.queue.clock()
        return rpb.ResearchAlertsResponse(
            items=[item_pb(i, now, self.queue.alert_window) for i in items],
            alert_minutes=int(self.queue.alert_window.total_seconds() // 60))

    # ------------------------------------------------------------------ broker

    async def Collect(  # noqa: N802 - gRPC method name
            self, request: rpb.CollectRequest,
            context: grpc.aio.ServicerContext) -> rpb.CollectResponse:
        """The researcher's signed answer to a query this broker sent, once there is one."""
        p = self.service.p
        try:
            peer = peer_identity(context, p.trust)
        except PeerError as exc:
            await self.service.refuse(exc.code, "unknown", Sent.of(request.query_sha256),
                                      extra={"method": "Collect"})
            raise NotAuthenticated("client certificate not accepted", detail=str(exc)) from None
        who = bounded_id(f"{peer.kind}-{peer.name}") or "unknown"
        if peer.kind != "broker" or peer.name not in p.trusted_brokers:
            await self.service.refuse("untrusted_peer", who, Sent.of(request.query_sha256),
                                      extra={"method": "Collect"})
            raise NotPermitted("caller is not a trusted MASH broker")
        try:
            item = self.queue.by_query(request.query_id)
        except UnknownItem:
            item = None
        if (item is None or item.broker_id != peer.name
                or not hmac.compare_digest(item.query_sha256, request.query_sha256)):
            # another broker's query looks exactly like an unknown one
            await self.service.refuse("research_collect_unknown", who,
                                      Sent.of(request.query_sha256),
                                      query_id=bounded_id(request.query_id) or "",
                                      extra={"method": "Collect"})
            raise UnknownItem("no queued query with that id and hash for this broker")
        due = item.due_at.isoformat() if item.due_at else ""
        if item.state != ANSWERED:
            return rpb.CollectResponse(state=PENDING, due_at=due)
        signed = pb.SignedDisclosure.FromString(item.answer)
        query = pb.Query.FromString(item.query)
        await self.service.log_disclosure(query, item.query_sha256, signed,
                                          pb.Disclosure.FromString(signed.disclosure))
        own = p.audit.latest_checkpoint
        if own is not None:
            signed.checkpoint.CopyFrom(checkpoint_to_proto(own))
        log.info("research_collected", item_id=item.item_id, broker=peer.name)
        return rpb.CollectResponse(state=ANSWERED, disclosure=signed, due_at=due)

    # ------------------------------------------------------------------ alerts

    async def raise_alerts(self, items: list[ResearchItem]) -> None:
        """Audit each newly raised alert (a Red item near or past its due time)."""
        p = self.service.p
        now = self.queue.clock()
        events = [AuditEvent(
            kind=EventKind.RESEARCH_ALERT, actor_id=p.name, actor_role="adapter",
            actor_org=i.broker_id, referral_id=i.referral_id, lookup_id=i.lookup_id,
            query_id=i.query_id, rag=i.rag, agency=str(p.agency), outcome="alert",
            detail={"item_id": i.item_id, "due_at": i.due_at.isoformat() if i.due_at else "",
                    "minutes_left": str(i.minutes_left(now))}) for i in items]
        await asyncio.wrap_future(p.audit.submit_many(events))

    # ------------------------------------------------------------------ internals

    def _item_for(self, staff: StaffIdentity, item_id: str) -> ResearchItem:
        if not item_id or len(item_id) > 64:
            raise InvalidRequest("item_id: give the id of a research item (R-...)")
        item = self.queue.get(item_id)
        if item.broker_id != staff.org:
            raise UnknownItem(f"no research item {item_id}")  # another MASH's: not shown
        return item

    async def _audit(self, staff: StaffIdentity, kind: EventKind, item: ResearchItem | None, *,
                     outcome: str, detail: dict[str, str] | None = None,
                     with_subjects: bool = False, categories: tuple[str, ...] = (),
                     reasons: tuple[str, ...] = (), signer_key_id: str | None = None,
                     disclosure_hash: str | None = None, match_band: str | None = None) -> None:
        """One audit entry for a researcher's action, durable before the result leaves."""
        p = self.service.p
        detail = dict(detail or {})
        event = AuditEvent(kind=kind, actor_id=staff.sub, actor_role=str(staff.role),
                           actor_org=staff.org, agency=str(p.agency), outcome=outcome,
                           categories=categories, reasons=reasons, signer_key_id=signer_key_id,
                           disclosure_hash=disclosure_hash, match_band=match_band)
        if item is not None:
            detail["item_id"] = item.item_id
            subjects = pb.Query.FromString(item.query).subjects if with_subjects else ()
            event = replace(event, referral_id=item.referral_id, lookup_id=item.lookup_id,
                            query_id=item.query_id, rag=item.rag, purpose=item.purpose,
                            statutory_gateway=item.statutory_gateway,
                            agreement_id=item.agreement_id,
                            agreement_version=item.agreement_version,
                            subject_pseudonyms=for_subjects(p.pseudonyms, subjects))
        await asyncio.wrap_future(p.audit.submit(replace(event, detail=detail)))


def _state(value: str) -> str | None:
    if not value:
        return PENDING
    if value == "all":
        return None
    if value not in STATES:
        raise InvalidRequest(f"state: {value!r} is not one of {', '.join(STATES)}, all")
    return value


def _maybe(queue: ResearchQueue, item_id: str) -> ResearchItem | None:
    try:
        return queue.get(item_id) if item_id and len(item_id) <= 64 else None
    except UnknownItem:
        return None


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
