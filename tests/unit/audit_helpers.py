"""Shared builders for the audit-log tests (synthetic ids only, no personal data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.events import AuditEvent, EventKind
from audit.log import AuditLog


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def lookup_events(referral: str, lookup: str, n_agencies: int = 2) -> list[AuditEvent]:
    """A plausible broker trail of one lookup."""
    events = [AuditEvent(kind=EventKind.LOOKUP_REQUESTED, actor_id="sw-1",
                         actor_role="mash_social_worker", actor_org="la-demo",
                         referral_id=referral, lookup_id=lookup, rag="red",
                         purpose="child_protection_enquiry", subject_pseudonyms=("p-" + referral,))]
    for i in range(n_agencies):
        agency = ("police", "health", "education", "housing")[i % 4]
        events.append(AuditEvent(kind=EventKind.POLICY_DECISION, referral_id=referral,
                                 lookup_id=lookup, agency=agency, decision="PERMIT"))
        events.append(AuditEvent(kind=EventKind.QUERY_SENT, referral_id=referral,
                                 lookup_id=lookup, query_id=f"{lookup}-{agency}", agency=agency))
    events.append(AuditEvent(kind=EventKind.LOOKUP_COMPLETED, referral_id=referral,
                             lookup_id=lookup, outcome="completed"))
    return events


def write_log(path: Path, n: int, *, key: Ed25519PrivateKey | None = None,
              checkpoint_every: int = 10, owner: str = "broker") -> None:
    """A log of `n` entries with a checkpoint every `checkpoint_every` (and one at close)."""
    with AuditLog.open(path, owner=owner, checkpoint_key=key,
                       checkpoint_every=checkpoint_every) as log:
        for i in range(n):
            log.append(AuditEvent(kind=EventKind.QUERY_SENT, referral_id=f"R{i % 3}",
                                  lookup_id=f"L{i}", agency="police",
                                  subject_pseudonyms=(f"p{i % 5}",)))
