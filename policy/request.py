"""A policy request: one agency, one subject role, one purpose, at one time.

`PolicyRequest.from_json` parses the policy request JSON strictly: every
vocabulary value goes through `vocab.parse` (an unknown value raises
`UnknownVocabulary`), unknown keys and naive timestamps raise `InvalidRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mash.vocab import (
    Agency,
    Category,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    StatutoryGateway,
    SubjectRole,
    parse,
)
from policy.errors import InvalidRequest

#: The MASH of the demo (the broker that asks); adapters hold one agreement per MASH.
DEFAULT_MASH_ID = "mash-demo"

_TOP_LEVEL_KEYS = frozenset({
    "agency", "categories", "purpose", "statutory_gateway", "rag", "consent", "requester",
    "subject_role", "at", "break_glass", "mash_id",
})


@dataclass(frozen=True)
class BreakGlass:
    """A request to break glass: a reason code and the requester's free-text justification."""

    reason: ReasonCode
    justification: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BreakGlass:
        """Parse `{"reason": "...", "justification": "..."}`."""
        _only_keys(data, {"reason", "justification"}, "break_glass")
        justification = data.get("justification", "")
        if not isinstance(justification, str):
            raise InvalidRequest("break_glass.justification must be a string")
        return cls(parse(ReasonCode, _required(data, "reason", "break_glass")), justification)

    def to_json(self) -> dict[str, str]:
        """The JSON form accepted by `from_json`."""
        return {"reason": str(self.reason), "justification": self.justification}


@dataclass(frozen=True)
class PolicyRequest:
    """Everything the engine needs to decide one agency request.

    `categories=None` asks for everything the agreement allows for this purpose
    and subject role. `mash_id` names the MASH (broker) asking; an adapter
    serving several MASHs selects the agreement by `(mash_id, agency)`.
    """

    agency: Agency
    purpose: Purpose
    statutory_gateway: StatutoryGateway
    rag: Rag
    consent_state: ConsentState
    consent_reason: ReasonCode | None
    requester_role: Role
    requester_id: str
    subject_role: SubjectRole
    at: datetime
    categories: tuple[Category, ...] | None = None
    break_glass: BreakGlass | None = None
    mash_id: str = DEFAULT_MASH_ID

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidRequest("at must carry a timezone (e.g. 2026-11-25T10:00:00Z)")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicyRequest:
        """Parse the policy request JSON (see the module docstring for the rules)."""
        if not isinstance(data, Mapping):
            raise InvalidRequest("a policy request must be a JSON object")
        _only_keys(data, _TOP_LEVEL_KEYS, "request")
        consent = _required(data, "consent", "request")
        requester = _required(data, "requester", "request")
        if not isinstance(consent, Mapping) or not isinstance(requester, Mapping):
            raise InvalidRequest("consent and requester must be JSON objects")
        _only_keys(consent, {"state", "reason", "note"}, "consent")
        _only_keys(requester, {"role", "id", "organisation"}, "requester")
        reason_raw = consent.get("reason")
        requester_id = _required(requester, "id", "requester")
        if not isinstance(requester_id, str) or not requester_id:
            raise InvalidRequest("requester.id must be a non-empty string")
        categories_raw = data.get("categories")
        categories: tuple[Category, ...] | None = None
        if categories_raw is not None:
            if not isinstance(categories_raw, list):
                raise InvalidRequest("categories must be a list or omitted")
            categories = tuple(parse(Category, c) for c in categories_raw)
        glass_raw = data.get("break_glass")
        if glass_raw is not None and not isinstance(glass_raw, Mapping):
            raise InvalidRequest("break_glass must be an object or null")
        mash_id = data.get("mash_id", DEFAULT_MASH_ID)
        if not isinstance(mash_id, str) or not mash_id:
            raise InvalidRequest("mash_id must be a non-empty string")
        return cls(
            agency=parse(Agency, _required(data, "agency", "request")),
            purpose=parse(Purpose, _required(data, "purpose", "request")),
            statutory_gateway=parse(
                StatutoryGateway, _required(data, "statutory_gateway", "request")),
            rag=parse(Rag, _required(data, "rag", "request")),
            consent_state=parse(ConsentState, _required(consent, "state", "consent")),
            consent_reason=None if reason_raw in (None, "") else parse(ReasonCode, reason_raw),
            requester_role=parse(Role, _required(requester, "role", "requester")),
            requester_id=requester_id,
            subject_role=parse(SubjectRole, _required(data, "subject_role", "request")),
            at=_parse_time(_required(data, "at", "request")),
            categories=categories,
            break_glass=None if glass_raw is None else BreakGlass.from_json(glass_raw),
            mash_id=mash_id,
        )

    def to_json(self) -> dict[str, Any]:
        """The request JSON (round-trips through `from_json`); what the audit log records."""
        out: dict[str, Any] = {
            "agency": str(self.agency),
            "purpose": str(self.purpose),
            "statutory_gateway": str(self.statutory_gateway),
            "rag": str(self.rag),
            "consent": {
                "state": str(self.consent_state),
                "reason": None if self.consent_reason is None else str(self.consent_reason),
            },
            "requester": {"role": str(self.requester_role), "id": self.requester_id},
            "subject_role": str(self.subject_role),
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "break_glass": None if self.break_glass is None else self.break_glass.to_json(),
            "mash_id": self.mash_id,
        }
        if self.categories is not None:
            out["categories"] = [str(c) for c in self.categories]
        return out


def _required(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] is None:
        raise InvalidRequest(f"{where}.{key} is required")
    return data[key]


def _only_keys(data: Mapping[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidRequest(f"{where}: unknown field(s) {', '.join(unknown)}")


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest("at must be an ISO 8601 string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"at is not an ISO 8601 time: {value!r}") from None
    if at.tzinfo is None:
        raise InvalidRequest("at must carry a timezone (e.g. 2026-11-25T10:00:00Z)")
    return at
