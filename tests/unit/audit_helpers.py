"""Shared builders for the audit-log tests (synthetic ids only, no personal data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.events import AuditEvent, EventKind
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from certs.truststore import PinnedKey, TrustStore, key_id_of
from mash.home import Home


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


def pin_checkpoint_keys(home: Home, owners: Sequence[str]) -> None:
    """Create each log owner's checkpoint key and pin its public half in the home's trust store,
    as `mash pki init` does (verification trusts pinned keys only)."""
    store = TrustStore.load(home.trust_store) if home.trust_store.exists() else TrustStore()
    now = datetime.now(UTC)
    for owner in owners:
        key = load_checkpoint_key(home, owner, create=True)
        assert key is not None
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        store = store.with_key(PinnedKey(
            key_id=key_id_of(raw), owner=f"audit-{owner}", purpose="audit-checkpoint",
            public_key=raw, not_before=now - timedelta(days=1), not_after=now + timedelta(days=365)))
    store.save(home.trust_store)
