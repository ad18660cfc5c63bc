"""The data-sharing agreement model: what an agreement file says, once parsed and validated.

An `Agreement` is data only; `policy.schema` builds it from a TOML file and
`policy.engine` applies it. Every principle of sharing lives in these fields,
not in the engine, so an IG lead changes behaviour by editing the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from mash.vocab import (
    Agency,
    Category,
    ConsentState,
    Decision,
    LawfulBasis,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    Sensitivity,
    SpecialCategoryCondition,
    StatutoryGateway,
    SubjectRole,
)


@dataclass(frozen=True)
class ConsentRule:
    """One row of a purpose's consent table; the first row that matches decides.

    A row matches when the RAG and consent state are listed and, if `reasons`
    is set, the request carries one of those reason codes.
    """

    rag: frozenset[Rag]
    consent: frozenset[ConsentState]
    reasons: frozenset[ReasonCode] | None
    decision: Decision
    note: str = ""

    def matches(self, rag: Rag, consent: ConsentState, reason: ReasonCode | None) -> bool:
        """Whether this row applies to the request's RAG, consent state and reason."""
        if rag not in self.rag or consent not in self.consent:
            return False
        return self.reasons is None or (reason is not None and reason in self.reasons)


@dataclass(frozen=True)
class PurposeTerms:
    """What an agreement allows for one purpose."""

    purpose: Purpose
    gateway: StatutoryGateway
    subject_categories: Mapping[SubjectRole, frozenset[Category]]
    consent_rules: tuple[ConsentRule, ...]
    note: str = ""


@dataclass(frozen=True)
class BreakGlassTerms:
    """When break-glass may turn a REVIEW into a PERMIT, for how long, and what it raises."""

    allowed: bool
    rag: frozenset[Rag]
    reasons: frozenset[ReasonCode]
    min_justification_chars: int
    valid_for: timedelta
    raises: tuple[str, ...]


@dataclass(frozen=True)
class Retention:
    """How long a disclosed summary may be kept."""

    disclosed_summary_days: int
    note: str = ""


@dataclass(frozen=True)
class Agreement:
    """One data-sharing agreement between a MASH and an agency.

    `sha256` is the hex digest of the file's bytes: the agreement's version in
    every decision, and what approvers sign.
    """

    id: str
    title: str
    version_label: str
    mash_id: str
    agency: Agency
    owner: str
    parties: tuple[str, ...]
    in_force_from: datetime
    in_force_until: datetime  # exclusive
    review_date: date
    lawful_basis: LawfulBasis
    article_9: tuple[SpecialCategoryCondition, ...]
    statutory_gateways: frozenset[StatutoryGateway]
    may_request: frozenset[Role]
    review_approver_roles: frozenset[Role]
    review_approver_must_not_be_requester: bool
    approvers: tuple[str, ...]
    approvals_required: int
    sensitivity: Mapping[Category, Sensitivity]
    sensitive_release_rag: frozenset[Rag]
    sensitive_release_consent: frozenset[ConsentState]
    retention: Retention
    break_glass: BreakGlassTerms
    purposes: Mapping[Purpose, PurposeTerms]
    path: Path
    sha256: str

    def in_force_at(self, at: datetime) -> bool:
        """Whether the agreement is in force at `at`."""
        return self.in_force_from <= at < self.in_force_until

    def sensitivity_of(self, category: Category) -> Sensitivity:
        """The category's sensitivity; a category the file does not rate counts as sealed."""
        return self.sensitivity.get(category, Sensitivity.SEALED)

    def may_approve_review(self, role: Role, approver_id: str, requester_id: str) -> bool:
        """Principle 7: may this person approve a REVIEW raised by `requester_id`?"""
        if role not in self.review_approver_roles or not approver_id:
            return False
        return not (self.review_approver_must_not_be_requester and approver_id == requester_id)
