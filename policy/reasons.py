"""Machine-readable reason codes of policy decisions, with plain-English text.

These codes appear in every decision (`reasons[].code`), in the broker's and
adapters' audit logs and in scenario files; they are a contract, so a code is
never renamed, only added.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PolicyReason(StrEnum):
    """Why the engine decided what it did."""

    # principle 1 -- deny by default
    NO_AGREEMENT = "no_agreement"
    AGREEMENT_NOT_IN_FORCE = "agreement_not_in_force"
    AGREEMENT_EXPIRED = "agreement_expired"
    AGREEMENT_UNAPPROVED = "agreement_unapproved"
    AGREEMENT_ALTERED = "agreement_altered"
    AGREEMENT_CONFLICT = "agreement_conflict"
    # principle 2 -- purpose and gateway
    PURPOSE_NOT_AGREED = "purpose_not_agreed"
    GATEWAY_MISMATCH = "gateway_mismatch"
    # principle 7 -- who may ask
    ROLE_NOT_PERMITTED = "role_not_permitted"
    # principles 3-6 -- consent
    CONSENT_PERMITS = "consent_permits"
    CONSENT_REVIEW = "consent_review"
    CONSENT_REASON_MISSING = "consent_reason_missing"
    CONSENT_NOT_SATISFIED = "consent_not_satisfied"
    # principles 8 and 9 -- categories
    CATEGORY_SEALED = "category_sealed"
    CATEGORY_SENSITIVE_WITHHELD = "category_sensitive_withheld"
    CATEGORY_NOT_AGREED = "category_not_agreed"
    CATEGORY_NOT_HELD = "category_not_held"
    # principle 10 -- break-glass
    BREAK_GLASS_APPLIED = "break_glass_applied"
    BREAK_GLASS_REFUSED = "break_glass_refused"


#: Reasons that say this party holds no approved agreement in force with the MASH that asked:
#: the answer is then a refusal under the party's own terms, not a disagreement about versions.
NO_AGREEMENT_IN_FORCE: frozenset[str] = frozenset({
    PolicyReason.NO_AGREEMENT, PolicyReason.AGREEMENT_NOT_IN_FORCE, PolicyReason.AGREEMENT_EXPIRED,
    PolicyReason.AGREEMENT_UNAPPROVED, PolicyReason.AGREEMENT_ALTERED,
    PolicyReason.AGREEMENT_CONFLICT,
})


@dataclass(frozen=True)
class Reason:
    """One reason for a decision: a stable code and a sentence for a person."""

    code: str
    text: str

    def to_json(self) -> dict[str, str]:
        """The reason as `{"code": ..., "text": ...}`."""
        return {"code": str(self.code), "text": self.text}
