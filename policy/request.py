"""A policy request: one agency, one subject role, one purpose, at one time.

`PolicyRequest.from_json` parses the policy request JSON strictly: the shape is the
`PolicyRequestJson` struct (an unknown key, a missing or mistyped field raises
`InvalidRequest` naming the field), every vocabulary value goes through `vocab.parse`
(an unknown value raises `UnknownVocabulary`) and a naive timestamp is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

import msgspec

from mash.canonical import JsonValue
from mash.config import ConfigError, Strict, decode
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

T = TypeVar("T")

#: The MASH of the demo (the broker that asks); adapters hold one agreement per MASH.
DEFAULT_MASH_ID = "mash-demo"

@dataclass(frozen=True)
class BreakGlass:
    """A request to break glass: a reason code and the requester's free-text justification."""

    reason: ReasonCode
    justification: str

    @classmethod
    def from_json(cls, data: object) -> BreakGlass:
        """Parse `{"reason": "...", "justification": "..."}`."""
        return cls.from_decoded(_decode(BreakGlassJson, data, "break_glass"))

    @classmethod
    def from_decoded(cls, raw: BreakGlassJson) -> BreakGlass:
        """The break-glass request a decoded `BreakGlassJson` names (vocabulary checked)."""
        return cls(parse(ReasonCode, raw.reason), raw.justification)

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
    def from_json(cls, data: object) -> PolicyRequest:
        """Parse the policy request JSON (see the module docstring for the rules)."""
        raw = _decode(PolicyRequestJson, data, "request")
        consent, requester = raw.consent, raw.requester
        return cls(
            agency=parse(Agency, raw.agency),
            purpose=parse(Purpose, raw.purpose),
            statutory_gateway=parse(StatutoryGateway, raw.statutory_gateway),
            rag=parse(Rag, raw.rag),
            consent_state=parse(ConsentState, consent.state),
            consent_reason=parse(ReasonCode, consent.reason) if consent.reason else None,
            requester_role=parse(Role, requester.role),
            requester_id=requester.id,
            subject_role=parse(SubjectRole, raw.subject_role),
            at=_parse_time(raw.at),
            categories=None if raw.categories is None
            else tuple(parse(Category, c) for c in raw.categories),
            break_glass=None if raw.break_glass is None
            else BreakGlass.from_decoded(raw.break_glass),
            mash_id=raw.mash_id,
        )

    def to_json(self) -> dict[str, JsonValue]:
        """The request JSON (round-trips through `from_json`); what the audit log records."""
        out: dict[str, JsonValue] = {
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


#: a field that must not be empty
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class BreakGlassJson(Strict, frozen=True):
    """`break_glass` of the request JSON."""

    reason: str
    justification: str = ""


class ConsentJson(Strict, frozen=True):
    """`consent` of the request JSON; `note` is the requester's, kept by the caller."""

    state: str
    reason: str | None = None
    note: str | None = None


class RequesterJson(Strict, frozen=True):
    """`requester` of the request JSON."""

    role: str
    id: NonEmpty
    organisation: str | None = None


class PolicyRequestJson(Strict, frozen=True):
    """The policy request JSON as written (by `to_json`, the audit log, scenarios, by hand).

    Vocabulary fields are text here and parsed by `PolicyRequest.from_json`, so an unknown
    value is an `UnknownVocabulary` naming the vocabulary, as everywhere else.
    """

    agency: str
    purpose: str
    statutory_gateway: str
    rag: str
    consent: ConsentJson
    requester: RequesterJson
    subject_role: str
    at: str
    categories: list[str] | None = None
    break_glass: BreakGlassJson | None = None
    mash_id: NonEmpty = DEFAULT_MASH_ID


def _decode(kind: type[T], data: object, where: str) -> T:
    try:
        return decode(kind, data, where)
    except ConfigError as exc:
        field = exc.field if exc.field == "<file>" else f"{where}.{exc.field}"
        raise InvalidRequest(f"{field}: {exc.problem}") from None


def _parse_time(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"at is not an ISO 8601 time: {value!r}") from None
    if at.tzinfo is None:
        raise InvalidRequest("at must carry a timezone (e.g. 2026-11-25T10:00:00Z)")
    return at
