"""What the broker may ask each agency: policy per agency and subject role, combined.

The engine decides one (agency, subject role) at a time; a lookup names several
subjects, so the broker asks for the union of what each role permits, and each
adapter re-applies the per-role rules to each subject before it discloses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broker.requests import LookupInput
from mash.v1 import mash_pb2 as pb
from mash.vocab import AGENCY_CATEGORIES, Agency, Category, Decision, ReasonCode, Role, SubjectRole
from policy import BreakGlass, PolicyDecision, PolicyEngine, PolicyRequest


class Actor(Protocol):
    """Who a query is made for: a staff member's id, role and organisation."""

    @property
    def sub(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def org(self) -> str: ...


@dataclass(frozen=True)
class Requester:
    """An actor rebuilt from a held request (the original requester of a review)."""

    sub: str
    role: Role
    org: str


@dataclass
class AgencyPlan:
    """The broker's decision for one agency, and the query it sends (if any)."""

    agency: Agency
    decision: PolicyDecision
    categories: tuple[Category, ...]          # permitted now
    review_categories: tuple[Category, ...]   # held for a manager's review
    break_glass_events: tuple[str, ...] = ()  # alert / retrospective_review, when glass was broken
    query: pb.Query | None = None
    signed: pb.SignedQuery | None = None
    sha256: bytes = b""
    review: pb.Review | None = None


def combine(decisions: Sequence[PolicyDecision]) -> PolicyDecision:
    """One agency's decision over all subject roles: PERMIT if any, else REVIEW if any, else DENY.

    Categories keep the most permissive verdict any role got; reasons are
    de-duplicated; the agreement is the one every decision names.
    """
    verdicts: dict[Category, Decision] = {}
    rank = {Decision.DENY: 0, Decision.REVIEW: 1, Decision.PERMIT: 2}
    for d in decisions:
        for c, v in d.categories.items():
            if rank[v] > rank[verdicts.get(c, Decision.DENY)] or c not in verdicts:
                verdicts[c] = v
    kinds = {d.decision for d in decisions}
    overall = (Decision.PERMIT if Decision.PERMIT in kinds
               else Decision.REVIEW if Decision.REVIEW in kinds else Decision.DENY)
    first = decisions[0]
    return PolicyDecision(
        decision=overall, categories=verdicts,
        reasons=tuple({(r.code, r.text): r for d in decisions for r in d.reasons}.values()),
        agreement_id=first.agreement_id, agreement_version=first.agreement_version,
        break_glass_used=any(d.break_glass_used for d in decisions),
        break_glass_until=first.break_glass_until,
        events=tuple(dict.fromkeys(e for d in decisions for e in d.events)),
    )


def plan_agency(engine: PolicyEngine, mash_id: str, agency: Agency, lookup: LookupInput,
                actor: Actor, now: datetime) -> AgencyPlan:
    """Evaluate policy for `agency` over every subject role in the lookup."""
    bg = lookup.request.break_glass
    break_glass = (BreakGlass(reason=ReasonCode(bg.reason), justification=bg.justification)
                   if bg.reason else None)
    decisions = [
        engine.evaluate(PolicyRequest(
            agency=agency, purpose=lookup.purpose, statutory_gateway=lookup.gateway,
            rag=lookup.rag, consent_state=lookup.consent_state,
            consent_reason=lookup.consent_reason, requester_role=actor.role,
            requester_id=actor.sub, subject_role=role, at=now, categories=None,
            break_glass=break_glass, mash_id=mash_id,
        ))
        for role in dict.fromkeys(lookup.subject_roles or (SubjectRole.CHILD,))
    ]
    decision = combine(decisions)
    held = AGENCY_CATEGORIES[agency]
    permitted = tuple(c for c in decision.permitted_categories if c in held)
    review = tuple(c for c in decision.review_categories if c in held)
    return AgencyPlan(agency, decision, permitted, review,
                      decision.events if decision.break_glass_used else ())
