"""The agreement file format (TOML), declared once as `msgspec` Structs.

These structs say which tables and fields an agreement file has, their types and
vocabularies, which are required and what the others default to. `policy.schema`
decodes a file with them (collecting every problem, see `mash.config.collect`) and
then makes the checks a type cannot express (a gateway that belongs to the purpose,
a category the agency holds, enough approvers) before it builds an `Agreement`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

from mash.config import Strict
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

#: No agreement takes effect on fewer than two approvers, whatever the file says.
MIN_APPROVERS = 2


class DayOrMoment:
    """A TOML date (a whole UK day) or offset date-time, as an agreement's in-force bounds are.

    msgspec cannot hold "a date or a date-time" in one union, so this custom type does:
    `mash.config.collect` decodes it with `from_plain`, and `expected` words a wrong value.
    """

    #: How a wrong value is described to the IG lead.
    expected = "a date or a date-time"

    __slots__ = ("value",)

    def __init__(self, value: date) -> None:
        self.value = value

    @classmethod
    def from_plain(cls, value: object) -> Self:
        """Decode a parsed TOML value (msgspec's hook for this type)."""
        if not isinstance(value, date):
            raise TypeError(f"expected {cls.expected}")
        return cls(value)


class Day(DayOrMoment):
    """A TOML date; a date-time is taken as its day (a review is due on a day, not a moment)."""

    expected = "a date"

    __slots__ = ()

    def __init__(self, value: date) -> None:
        super().__init__(value.date() if isinstance(value, datetime) else value)


class LawfulBasisTable(Strict, frozen=True):
    """`[lawful_basis]`: the UK GDPR bases and the statutory gateways the agreement relies on."""

    article_6: LawfulBasis
    article_9: list[SpecialCategoryCondition]
    statutory_gateways: frozenset[StatutoryGateway]


class RolesTable(Strict, frozen=True):
    """`[roles]`: who may request, and who may approve a REVIEW."""

    may_request: frozenset[Role]
    may_approve_review: frozenset[Role]
    review_approver_must_not_be_requester: bool = True


class ApprovalTable(Strict, frozen=True):
    """`[approval]`: the named approvers and how many of them must sign."""

    approvers: list[str]
    required: int = MIN_APPROVERS


class SensitiveReleaseTable(Strict, frozen=True):
    """`[sensitive_release]`: when sensitive categories may be released."""

    rag: frozenset[Rag] = frozenset()
    consent: frozenset[ConsentState] = frozenset()


class RetentionTable(Strict, frozen=True):
    """`[retention]`: how long a disclosed summary may be kept."""

    disclosed_summary_days: int
    note: str = ""


class BreakGlassTable(Strict, frozen=True):
    """`[break_glass]`: when a REVIEW may be turned into a PERMIT, and what that raises."""

    allowed: bool = False
    rag: frozenset[Rag] = frozenset()
    reasons: frozenset[ReasonCode] = frozenset()
    min_justification_chars: int = 1
    valid_for_minutes: int = 0
    raises: list[str] = []


class ConsentRuleRow(Strict, frozen=True):
    """One `[[purposes.<purpose>.consent_rules]]` row; `reasons` absent means any reason."""

    rag: frozenset[Rag]
    consent: frozenset[ConsentState]
    decision: Decision
    reasons: frozenset[ReasonCode] | None = None
    note: str = ""


class PurposeTable(Strict, frozen=True):
    """`[purposes.<purpose>]`: its gateway, what may be disclosed per subject, the consent table."""

    gateway: StatutoryGateway
    subject_categories: dict[SubjectRole, list[Category]]
    consent_rules: list[ConsentRuleRow]
    note: str = ""


class AgreementFile(Strict, frozen=True):
    """A whole agreement file, as written."""

    id: str
    title: str
    version: str
    mash_id: str
    agency: Agency
    owner: str
    parties: list[str]
    in_force_from: DayOrMoment
    in_force_until: DayOrMoment
    review_date: Day
    lawful_basis: LawfulBasisTable
    roles: RolesTable
    approval: ApprovalTable
    categories: dict[Category, Sensitivity]
    sensitive_release: SensitiveReleaseTable
    retention: RetentionTable
    purposes: dict[Purpose, PurposeTable]
    break_glass: BreakGlassTable = BreakGlassTable()
