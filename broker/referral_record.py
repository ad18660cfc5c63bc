"""The referral record: what the MASH knows about one referral, as frozen values.

A referral is received (from a source, for a reason, about subjects with
roles), rated Red/Amber/Green -- and possibly re-rated as information arrives
-- researched by the agencies within the rating's timescale, and decided by a
team manager. Every change keeps who made it, when and why.

The store (`broker.referrals`) hands these out; nothing here touches storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import grpc

from broker.timescales import DEFAULT_CALENDAR, WorkingCalendar, due_at
from mash.errors import MashError
from mash.v1 import mash_pb2
from mash.vocab import (
    OUTCOMES_FOR_LEVEL,
    RAG_URGENCY,
    Agency,
    LevelOfNeed,
    Outcome,
    Rag,
    ReferralSource,
    ReferralStatus,
    SubjectRole,
)

#: Identifier fields a referral subject may carry (the proto's `Identifiers`).
IDENTIFIER_FIELDS: tuple[str, ...] = (
    "given_name", "family_name", "other_names", "date_of_birth", "sex", "postcode", "address",
    "nhs_number", "upn",
)


class ReferralError(MashError):
    """Base of the referral workflow's errors (each maps to its gRPC status)."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "invalid_referral"


class InvalidReferral(ReferralError):
    """A referral, change or decision is malformed (names the field)."""


class InvalidTransition(ReferralError):
    """A status change the workflow does not allow (e.g. deciding a closed referral)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "invalid_transition"


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ReferralSubject:
    """A person the referral is about, with their role and identifiers."""

    subject_id: str
    role: SubjectRole
    #: Keys from `IDENTIFIER_FIELDS`; `other_names` is `;`-separated.
    identifiers: Mapping[str, str] = field(default_factory=lambda: _frozen({}))

    def __post_init__(self) -> None:
        if not self.subject_id:
            raise InvalidReferral("subjects.subject_id: must not be empty")
        unknown = sorted(set(self.identifiers) - set(IDENTIFIER_FIELDS))
        if unknown:
            raise InvalidReferral(f"subjects.identifiers.{unknown[0]}: unknown identifier")
        object.__setattr__(self, "identifiers", _frozen(self.identifiers))

    @property
    def display_name(self) -> str:
        """Given and family name, for staff-facing output (never for application logs)."""
        name = " ".join(filter(None, (self.identifiers.get("given_name"),
                                      self.identifiers.get("family_name"))))
        return name or self.subject_id

    def to_proto(self) -> mash_pb2.Subject:
        """This subject as a `mash.v1.Subject`, for a lookup request."""
        ids = dict(self.identifiers)
        other = [n for n in ids.pop("other_names", "").split(";") if n]
        return mash_pb2.Subject(
            subject_id=self.subject_id, role=self.role.value,
            identifiers=mash_pb2.Identifiers(other_names=other, **ids),
        )


@dataclass(frozen=True)
class RagChange:
    """One rating of the referral: the first is the initial RAG, later ones are re-ratings."""

    rag: Rag
    at: datetime
    by: str
    reason: str


@dataclass(frozen=True)
class StatusChange:
    """One move of the referral through the workflow."""

    status: ReferralStatus
    at: datetime
    by: str
    note: str = ""


@dataclass(frozen=True)
class ReferralEdit:
    """A change to the referral's details or household; `change` names it by id only."""

    at: datetime
    by: str
    change: str
    note: str = ""


@dataclass(frozen=True)
class ManagerDecision:
    """The team manager's decision: level of need, outcome, and why."""

    level_of_need: LevelOfNeed
    outcome: Outcome
    rationale: str
    by: str
    at: datetime

    def __post_init__(self) -> None:
        if not self.rationale.strip():
            raise InvalidReferral("decision.rationale: a decision must record its rationale")
        if not self.by:
            raise InvalidReferral("decision.by: a decision must name the manager")
        if self.outcome not in OUTCOMES_FOR_LEVEL[self.level_of_need]:
            raise InvalidReferral(
                f"decision.outcome: {self.outcome.value} is not an outcome for level of need "
                f"{self.level_of_need.value}"
            )


#: Allowed status moves. `decided -> researching` re-opens research (step-up, new information).
TRANSITIONS: Mapping[ReferralStatus, frozenset[ReferralStatus]] = MappingProxyType({
    ReferralStatus.SCREENING: frozenset({ReferralStatus.RESEARCHING, ReferralStatus.DECIDED,
                                         ReferralStatus.CLOSED}),
    ReferralStatus.RESEARCHING: frozenset({ReferralStatus.DECIDED}),
    ReferralStatus.DECIDED: frozenset({ReferralStatus.CLOSED, ReferralStatus.RESEARCHING}),
    ReferralStatus.CLOSED: frozenset(),
})


@dataclass(frozen=True)
class Referral:
    """A referral with its full history (ratings, statuses, decisions)."""

    referral_id: str
    received_at: datetime
    source: ReferralSource
    reason: str
    subjects: tuple[ReferralSubject, ...]
    rag_history: tuple[RagChange, ...]
    status_history: tuple[StatusChange, ...]
    decisions: tuple[ManagerDecision, ...] = ()
    edits: tuple[ReferralEdit, ...] = ()

    @property
    def rag(self) -> Rag:
        """The current rating."""
        return self.rag_history[-1].rag

    @property
    def status(self) -> ReferralStatus:
        """The current workflow status."""
        return self.status_history[-1].status

    @property
    def decision(self) -> ManagerDecision | None:
        """The latest decision, if any (earlier ones stay in `decisions`)."""
        return self.decisions[-1] if self.decisions else None

    def subject(self, subject_id: str) -> ReferralSubject | None:
        """The subject with `subject_id`, if the referral has one."""
        return next((s for s in self.subjects if s.subject_id == subject_id), None)

    def due_at(self, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> datetime:
        """When research is due under the current rating.

        The first rating counts from receipt. Raising the rating never makes
        the work due later: the due time becomes the earlier of the old due
        time and the new rating counted from the moment of the raise (counting
        Red from receipt would often breach it at once). Lowering counts the
        new rating from receipt, and never makes the work due earlier.
        """
        first = self.rag_history[0]
        due = due_at(self.received_at, first.rag, calendar)
        previous = first.rag
        for change in self.rag_history[1:]:
            if RAG_URGENCY[change.rag] > RAG_URGENCY[previous]:
                due = min(due, due_at(change.at, change.rag, calendar))
            elif RAG_URGENCY[change.rag] < RAG_URGENCY[previous]:
                due = max(due, due_at(self.received_at, change.rag, calendar))
            previous = change.rag
        return due


def rag_direction(old: Rag, new: Rag) -> str:
    """`raised`, `lowered` or `unchanged`: raising may widen disclosure, lowering never does."""
    delta = RAG_URGENCY[new] - RAG_URGENCY[old]
    return "raised" if delta > 0 else "lowered" if delta < 0 else "unchanged"


@dataclass(frozen=True)
class SummaryDeletion:
    """A record that part of a stored summary was deleted under an agreement's retention."""

    referral_id: str
    lookup_id: str
    agency: Agency | str
    agreement_id: str
    agreement_version: str
    retain_until: datetime
    deleted_at: datetime


@dataclass(frozen=True)
class StoredSummary:
    """A lookup's merged summary as kept for the referral (minus any deleted agency parts)."""

    referral_id: str
    lookup_id: str
    stored_at: datetime
    summary: mash_pb2.ReferralSummary
    deletions: tuple[SummaryDeletion, ...] = ()
