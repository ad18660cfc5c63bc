"""The broker's `Referrals` service as the console's referral store.

Only the broker opens its referral store; the console asks it over gRPC with the user's own
token, so every change is recorded with the actor from that token. Who may open which referral is
the broker's rule alone (a social worker the referrals they recorded, a team manager every one):
the console shows what the API returns and never filters or widens it.
"""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import grpc
import structlog

from console.broker_gateway import BrokerRefused, TokenCalls
from console.forms import SubjectInput
from mash.errors import InvariantError
from mash.v1 import mash_pb2 as pb
from mash.v1 import referrals_pb2 as rpb
from mash.v1 import referrals_pb2_grpc as rpb_grpc

log = structlog.get_logger("console")


class NotYours(Exception):
    """The referral does not exist, or is not one this user may open."""


@dataclass
class LookupRun:
    """A lookup the console started for a user: its answer fills in when the broker replies."""

    run_id: str
    referral_id: str
    owner: str
    started_at: datetime
    purpose: str
    agencies_asked: tuple[str, ...]
    summary: pb.ReferralSummary | None = None
    error: str = ""

    @property
    def done(self) -> bool:
        """Whether the broker has answered (or refused)."""
        return self.summary is not None or bool(self.error)


def subject_input(subject: pb.Subject) -> SubjectInput:
    """A subject from the broker as the household form shows it."""
    ids = subject.identifiers
    year, month, day = (ids.date_of_birth.split("-") + ["", "", ""])[:3] if ids.date_of_birth \
        else ("", "", "")
    return SubjectInput(role=subject.role, given_name=ids.given_name, family_name=ids.family_name,
                        dob_day=day.lstrip("0"), dob_month=month.lstrip("0"), dob_year=year,
                        sex=ids.sex or "unknown", postcode=ids.postcode, address=ids.address,
                        nhs_number=ids.nhs_number, upn=ids.upn, subject_id=subject.subject_id)


def subject_message(s: SubjectInput) -> pb.Subject:
    """A household member as the broker's API takes it."""
    return pb.Subject(subject_id=s.subject_id, role=s.role,
                      identifiers=pb.Identifiers(**s.identifiers()))


@dataclass
class ReferralView:
    """A referral from the broker, shaped for the pages."""

    message: rpb.Referral

    def __getattr__(self, name: str) -> Any:
        return getattr(self.message, name)

    @property
    def subjects(self) -> list[SubjectInput]:
        """The household."""
        return [subject_input(s) for s in self.message.subjects]

    def child(self) -> SubjectInput:
        """The child the referral is about (the first child, else the first person)."""
        people = self.subjects
        return next((s for s in people if s.role == "child"), people[0])

    @property
    def due(self) -> datetime:
        """When research is due."""
        return datetime.fromisoformat(self.message.due_at)

    @property
    def received(self) -> datetime:
        """When the MASH received it."""
        return datetime.fromisoformat(self.message.received_at)


@dataclass
class ReferralsGateway(TokenCalls):
    """Calls to `mash.v1.Referrals`, each with the user's token; lookups in worker threads."""

    runs: dict[str, LookupRun] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=4, thread_name_prefix="lookup"))

    def _stub_of(self) -> object:
        return rpb_grpc.ReferralsStub(self.channel)

    def create(self, token: str, *, source: str, reason: str, rag: str,
               subjects: list[SubjectInput]) -> ReferralView:
        """Record a new referral."""
        return ReferralView(self._call("CreateReferral", token, rpb.CreateReferralRequest(
            source=source, reason=reason, rag=rag, subjects=[subject_message(s) for s in subjects])))

    def get(self, token: str, referral_id: str) -> ReferralView:
        """A referral the token's holder may open (NotYours otherwise: the broker answers an
        unknown referral and another worker's alike)."""
        try:
            ref = self._call("GetReferral", token, rpb.GetReferralRequest(referral_id=referral_id))
        except BrokerRefused as exc:
            if exc.code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise NotYours(referral_id) from None
            raise
        return ReferralView(ref)

    def queue(self, token: str, *, query: str = "") -> list[ReferralView]:
        """Open referrals the token's holder may open, most urgent first."""
        reply = self._call("ListReferrals", token, rpb.ListReferralsRequest(query=query))
        return [ReferralView(r) for r in reply.referrals]

    def edit_household(self, token: str, referral: ReferralView,
                       subjects: list[SubjectInput]) -> ReferralView:
        """Add, correct and remove people in one edit."""
        kept = {s.subject_id for s in subjects if s.subject_id}
        removed = [s.subject_id for s in referral.message.subjects if s.subject_id not in kept]
        return ReferralView(self._call("EditReferral", token, rpb.EditReferralRequest(
            referral_id=referral.referral_id, put_subjects=[subject_message(s) for s in subjects],
            remove_subject_ids=removed, note="household edited in the console")))

    def rerate(self, token: str, referral_id: str, rag: str, reason: str) -> rpb.RerateResponse:
        """Record a new rating (the broker re-asks only for what became newly permitted)."""
        reply: rpb.RerateResponse = self._call("Rerate", token, rpb.RerateRequest(
            referral_id=referral_id, rag=rag, reason=reason))
        return reply

    def summary(self, token: str, referral_id: str,
                include_earlier: bool = False) -> dict[str, object]:
        """The summary report (its reading is recorded by the broker before it is returned)."""
        reply = self._call("GetSummary", token, rpb.SummaryRequest(
            referral_id=referral_id, format="json", include_earlier=include_earlier))
        document: object = json.loads(reply.document)
        if not isinstance(document, dict):
            raise InvariantError("internal error",
                                 detail="the broker's summary document is not a JSON object")
        return document

    def record_view(self, token: str, referral_id: str, view: str) -> None:
        """Record that a page of the referral was shown."""
        self._call("RecordView", token, rpb.RecordViewRequest(referral_id=referral_id, view=view))

    def decide(self, token: str, referral_id: str, *, level_of_need: str, outcome: str,
               rationale: str) -> ReferralView:
        """Record the team manager's decision on the referral."""
        return ReferralView(self._call("Decide", token, rpb.DecideRequest(
            referral_id=referral_id, level_of_need=level_of_need, outcome=outcome,
            rationale=rationale)))

    def set_status(self, token: str, referral_id: str, status: str, note: str) -> ReferralView:
        """Move the referral on in the workflow (researching, closed)."""
        return ReferralView(self._call("SetStatus", token, rpb.SetStatusRequest(
            referral_id=referral_id, status=status, note=note)))

    def purge_expired(self, token: str) -> list[rpb.SummaryDeleted]:
        """Delete the summary parts whose agreement no longer allows keeping them."""
        reply: rpb.PurgeExpiredResponse = self._call("PurgeExpired", token,
                                                     rpb.PurgeExpiredRequest())
        return list(reply.deleted)

    def decide_reviews(self, token: str, referral_id: str, *, approve: bool, reason: str) -> int:
        """Approve or reject all of one referral's held requests; how many were decided."""
        reply = self._call("DecideReviews", token, rpb.DecideReviewsRequest(
            referral_id=referral_id, approve=approve, reason=reason))
        return len(reply.decisions)

    def start_lookup(self, token: str, referral_id: str, owner: str, now: datetime,
                     request: rpb.ReferralLookupRequest, agencies: tuple[str, ...]) -> LookupRun:
        """Ask the agencies in a worker; the returned run fills in when the broker replies."""
        run = LookupRun(secrets.token_hex(6), referral_id, owner, now, request.purpose, agencies)
        with self._lock:
            self.runs = {k: r for k, r in list(self.runs.items())[-500:]}
            self.runs[run.run_id] = run

        def work() -> None:
            try:
                reply = self._call("Lookup", token, request)
            except BrokerRefused as exc:
                run.error = exc.message
                code = exc.code.name
            except Exception as exc:  # shown as a refusal, never lost silently
                run.error = type(exc).__name__
                code = "UNKNOWN"
            else:
                run.summary = reply.summary
                return
            # Ids and the broker's short reason only: it names fields, never their contents.
            log.warning("lookup_failed", run=run.run_id, referral=referral_id, staff=owner,
                        code=code, reason=run.error)

        self._pool.submit(work)
        return run

    def runs_of(self, referral_id: str, viewer: str) -> list[LookupRun]:
        """The lookups this viewer started on the referral from this console, oldest first."""
        with self._lock:
            return [r for r in self.runs.values()
                    if r.referral_id == referral_id and r.owner == viewer]

    def run(self, run_id: str, referral_id: str, viewer: str) -> LookupRun:
        """A lookup this viewer started."""
        with self._lock:
            run = self.runs.get(run_id)
        if run is None or run.referral_id != referral_id or run.owner != viewer:
            raise NotYours(run_id)
        return run

    def close(self) -> None:
        """Stop the lookup workers."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def age_on(born: str, today: date) -> int | None:
    """Whole years from an ISO date of birth to `today`."""
    if not born:
        return None
    b = date.fromisoformat(born)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


__all__ = ["LookupRun", "NotYours", "ReferralView", "ReferralsGateway", "age_on", "subject_input"]
