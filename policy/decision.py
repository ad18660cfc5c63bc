"""The outcome of evaluating one policy request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mash.canonical import JsonValue
from mash.vocab import Category, Decision
from policy.reasons import Reason


def overall(categories: Mapping[Category, Decision]) -> Decision:
    """PERMIT if any category is permitted, else REVIEW if any needs review, else DENY."""
    values = set(categories.values())
    if Decision.PERMIT in values:
        return Decision.PERMIT
    if Decision.REVIEW in values:
        return Decision.REVIEW
    return Decision.DENY


@dataclass(frozen=True)
class PolicyDecision:
    """A decision with its per-category verdicts, reasons and the agreement that made it.

    `agreement_version` is the sha256 of the agreement file. When break-glass
    turned a REVIEW into a PERMIT, `break_glass_used` is true, the permit holds
    until `break_glass_until`, and `events` names what the caller must raise
    (`alert`, `retrospective_review`).
    """

    decision: Decision
    categories: Mapping[Category, Decision]
    reasons: tuple[Reason, ...]
    agreement_id: str | None
    agreement_version: str | None
    break_glass_used: bool = False
    break_glass_until: datetime | None = None
    events: tuple[str, ...] = ()

    @property
    def permitted_categories(self) -> tuple[Category, ...]:
        """The categories that may be disclosed, in request order."""
        return tuple(c for c, d in self.categories.items() if d is Decision.PERMIT)

    @property
    def review_categories(self) -> tuple[Category, ...]:
        """The categories that need a team manager's approval."""
        return tuple(c for c, d in self.categories.items() if d is Decision.REVIEW)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes alone, in order."""
        return tuple(r.code for r in self.reasons)

    def to_json(self) -> dict[str, JsonValue]:
        """The decision JSON: decision, categories, reasons, agreement {id, version}."""
        return {
            "decision": str(self.decision),
            "categories": {str(c): str(d) for c, d in self.categories.items()},
            "reasons": [r.to_json() for r in self.reasons],
            "agreement": {"id": self.agreement_id, "version": self.agreement_version},
        }
