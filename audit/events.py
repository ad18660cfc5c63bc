"""What the audit log records: one `AuditEvent` per thing that happened.

An event is split in two parts when it is stored (see `canonical_parts`):

* the *core* -- who did what, when, why, under which agreement, with what
  outcome. It never carries a person's identifiers, so it is kept for ever.
* the *personal* part -- the keyed pseudonyms of the persons named and the
  free-text `detail`. Retention may redact it; its hash stays in the chain so
  verification still passes (see `audit.log.AuditLog.redact`).

Neither part may carry names, dates of birth or identifiers in clear: persons
appear only as keyed pseudonyms (`audit.pseudonyms`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

import orjson

from mash.canonical import JsonValue, canonical_json
from mash.logs import PERSONAL_FIELDS
from mash.vocab import parse


class EventKind(StrEnum):
    """The kinds of audit event (one format for the broker and every adapter)."""

    # a lookup at the broker (intent first, outcome last)
    LOOKUP_REQUESTED = "lookup_requested"
    POLICY_DECISION = "policy_decision"
    QUERY_SENT = "query_sent"
    DISCLOSURE_RECEIVED = "disclosure_received"
    DISCLOSURE_VERIFIED = "disclosure_verified"
    DISCLOSURE_REJECTED = "disclosure_rejected"
    LOOKUP_COMPLETED = "lookup_completed"
    # a query at an adapter
    QUERY_RECEIVED = "query_received"
    QUERY_REJECTED = "query_rejected"
    DISCLOSURE_SENT = "disclosure_sent"
    # the researcher queue at an adapter (an agency without an API)
    RESEARCH_QUEUED = "research_queued"
    RESEARCH_VIEWED = "research_viewed"
    RESEARCH_ANSWERED = "research_answered"
    RESEARCH_ANSWER_REFUSED = "research_answer_refused"
    RESEARCH_ALERT = "research_alert"
    RESEARCH_COLLECTED = "research_collected"
    # reviews and break-glass
    REVIEW_REQUESTED = "review_requested"
    REVIEW_APPROVED = "review_approved"
    REVIEW_REJECTED = "review_rejected"
    REVIEW_DECISION_REFUSED = "review_decision_refused"
    BREAK_GLASS = "break_glass"
    RETROSPECTIVE_REVIEW = "retrospective_review"
    # agreements
    AGREEMENT_APPROVED = "agreement_approved"
    AGREEMENT_CHANGED = "agreement_changed"
    APPROVER_PINNED = "approver_pinned"
    APPROVER_KEY_REPLACED = "approver_key_replaced"
    # summaries
    SUMMARY_VIEWED = "summary_viewed"
    SUMMARY_DELETED = "summary_deleted"
    # a call a service refused (at an adapter, a refused query is `query_rejected`)
    REQUEST_REFUSED = "request_refused"
    # the log's own housekeeping
    OUTCOME_UNKNOWN = "outcome_unknown"
    ALERT = "alert"
    ENTRY_REDACTED = "entry_redacted"
    LOG_OPENED = "log_opened"
    # IG lead's own use of the log (who looked at the log is itself logged)
    AUDIT_SEARCHED = "audit_searched"
    SAR_PRODUCED = "sar_produced"


#: Lookup intents, the core field that pairs them with an outcome, and the kinds of event
#: that close them (an intent without one is unfinished: see `AuditLog.recover_unfinished`).
INTENT_CLOSERS: dict[EventKind, tuple[str, frozenset[EventKind]]] = {
    EventKind.LOOKUP_REQUESTED: ("lookup_id", frozenset({
        EventKind.LOOKUP_COMPLETED, EventKind.OUTCOME_UNKNOWN})),
    EventKind.QUERY_RECEIVED: ("query_id", frozenset({
        EventKind.DISCLOSURE_SENT, EventKind.QUERY_REJECTED, EventKind.OUTCOME_UNKNOWN})),
}

#: Fields stored in the redactable personal part; everything else is core.
PERSONAL_PART_FIELDS: frozenset[str] = frozenset({"subject_pseudonyms", "detail"})


class PersonalDataInEvent(ValueError):
    """An event's `detail` uses a key reserved for personal data (names, DOB, identifiers)."""


@dataclass(frozen=True)
class AuditEvent:
    """One audit event. Only `kind` is required; leave out what does not apply.

    Values from the controlled vocabularies (`mash.vocab`) may be passed as
    their StrEnum members or as plain strings; they are stored as strings.
    `refers_to` names earlier entry ids this event concerns (a redaction, a
    review sign-off of a break-glass entry), in the log `refers_to_log` when
    that is another log (by file stem, e.g. `broker`).
    """

    kind: EventKind
    actor_id: str | None = None
    actor_role: str | None = None
    actor_org: str | None = None
    referral_id: str | None = None
    lookup_id: str | None = None
    query_id: str | None = None
    purpose: str | None = None
    statutory_gateway: str | None = None
    consent_state: str | None = None
    consent_reason: str | None = None
    rag: str | None = None
    agency: str | None = None
    categories: tuple[str, ...] = ()
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    agreement_id: str | None = None
    agreement_version: str | None = None
    match_band: str | None = None
    query_hash: str | None = None
    disclosure_hash: str | None = None
    signer_key_id: str | None = None
    outcome: str | None = None
    latency_ms: float | None = None
    refers_to: tuple[int, ...] = ()
    refers_to_log: str | None = None
    subject_pseudonyms: tuple[str, ...] = ()
    detail: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Runs for every event and every `replace` of one (~14 per lookup on the broker's
        # event loop): the common cases -- a member already, tuples already, no detail --
        # are checked by type first.
        if type(self.kind) is not EventKind:
            object.__setattr__(self, "kind", parse(EventKind, self.kind))
        # Tuples, not lists, so the event stays immutable (callers often pass lists).
        for name in ("categories", "reasons", "subject_pseudonyms", "refers_to"):
            value = getattr(self, name)
            if type(value) is not tuple:
                object.__setattr__(self, name, tuple(value))
        bad = PERSONAL_FIELDS.intersection(k.lower() for k in self.detail) if self.detail else ()
        if bad:
            # Fail at construction, in the caller's stack, rather than store personal data.
            raise PersonalDataInEvent(f"detail keys reserved for personal data: {sorted(bad)}")

    def core_dict(self) -> dict[str, JsonValue]:
        """The core part as a JSON-ready dict (empty fields left out)."""
        # On the writer's hot path: walk the instance dict once, fast paths by type.
        out: dict[str, JsonValue] = {}
        for name, value in self.__dict__.items():
            if value is None or name in PERSONAL_PART_FIELDS or value == ():
                continue
            t = type(value)
            if t is str:
                out[name] = value
            elif t is tuple:
                out[name] = [v if isinstance(v, int) else str(v) for v in value]
            elif isinstance(value, str):
                out[name] = str(value)  # a StrEnum member: store its plain value
            elif isinstance(value, float | int) and not isinstance(value, bool):
                out[name] = value
            else:
                out[name] = str(value)
        return out

    def personal_dict(self) -> dict[str, JsonValue] | None:
        """The personal part as a JSON-ready dict, or None when there is none."""
        out: dict[str, JsonValue] = {}
        if self.subject_pseudonyms:
            out["subject_pseudonyms"] = [str(p) for p in self.subject_pseudonyms]
        if self.detail:
            out["detail"] = {str(k): str(v) for k, v in self.detail.items()}
        return out or None

    @classmethod
    def from_parts(cls, core: Mapping[str, Any], personal: Mapping[str, Any] | None) -> AuditEvent:
        """Rebuild an event from its stored parts (the `ts` key of a stored core is ignored)."""
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: v for k, v in core.items() if k in known}
        for name in ("categories", "reasons", "refers_to"):
            if name in kwargs:
                kwargs[name] = tuple(kwargs[name])
        if personal:
            kwargs["subject_pseudonyms"] = tuple(personal.get("subject_pseudonyms", ()))
            kwargs["detail"] = dict(personal.get("detail", {}))
        return cls(**kwargs)


#: The largest integer RFC 8785 (and so the reference `canonical_json`) writes exactly.
_JCS_INT_MAX = 2**53 - 1


def _orjson_safe(event: AuditEvent) -> bool:
    """True when orjson writes this event's parts exactly as RFC 8785 does.

    For these values both write the same bytes: keys sorted (ASCII keys sort alike
    in orjson's order and RFC 8785's UTF-16 order), strings with the same minimal
    escapes, integers within +-(2**53 - 1), and non-integral floats of moderate size
    as their shortest round-trip digits. They differ on integral floats (orjson
    `12.0`, RFC 8785 `12`: `canonical_parts` passes those as ints), on the notation
    of very small or large floats, on NaN (orjson writes `null`; the reference
    refuses it) and on non-ASCII keys; those go through `canonical_json`.
    """
    latency = event.latency_ms
    if latency is not None:
        if type(latency) is int:
            if abs(latency) > _JCS_INT_MAX:
                return False
        elif not (latency == 0.0 or 1e-4 <= abs(latency) < 1e16):
            return False
        elif latency.is_integer() and abs(latency) > _JCS_INT_MAX:
            return False  # orjson writes 2**53 as `9007199254740992.0`, RFC 8785 without `.0`
    if event.refers_to and max(map(abs, event.refers_to)) > _JCS_INT_MAX:
        return False
    return not event.detail or all(str(k).isascii() for k in event.detail)


def _orjson_text(value: Mapping[str, JsonValue]) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def canonical_parts(event: AuditEvent, ts: str) -> tuple[str, str | None]:
    """The stored (core, personal) canonical JSON texts of `event` recorded at time `ts`.

    The texts are RFC 8785 canonical JSON (`mash.canonical`). Entries written before
    that (format `ENTRY_JSON_LEGACY`) hold Python's sorted, compact `json` text; the
    hashes cover the stored bytes, so both verify alike (see `audit.store`).

    On the audit writer's hot path (every entry of every log), so the texts are
    written by orjson, ~9x faster than a pure-Python encoder, whenever its output is
    byte for byte RFC 8785's (`_orjson_safe`; a property test holds the two together);
    anything else goes through `canonical_json` itself.
    """
    core = event.core_dict()
    core["ts"] = ts
    latency = event.latency_ms
    if type(latency) is float and latency.is_integer() and abs(latency) <= _JCS_INT_MAX:
        core["latency_ms"] = int(latency)  # RFC 8785 writes 12.0 as 12; so must orjson
    personal = event.personal_dict()
    if _orjson_safe(event):
        try:
            return _orjson_text(core), (_orjson_text(personal) if personal is not None else None)
        except orjson.JSONEncodeError:
            pass
    return canonical_json(core), (canonical_json(personal) if personal is not None else None)
