"""The retrospective review queue: break-glass uses and consent overrides awaiting sign-off.

A consent override is a lookup made with consent refused, withdrawn or not
sought that went on to query at least one agency.

An item leaves the queue when an IG lead signs it off with a finding. The
sign-off is itself an audit entry (`retrospective_review`) in the home's IG log
(`ig.sqlite`), pointing at the reviewed entry by log and id, so the review
trail is as tamper-evident as what it reviews.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from audit.errors import AuditError
from audit.events import AuditEvent, EventKind
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from audit.query import SearchFilter, search
from audit.reading import AuditRecord
from mash.home import Home

IG_LOG = "ig"


class ReviewFinding(StrEnum):
    """An IG lead's conclusion on one reviewed access."""

    APPROPRIATE = "appropriate"
    INAPPROPRIATE = "inappropriate"
    NEEDS_FOLLOW_UP = "needs_follow_up"


class ReviewError(AuditError):
    """The entry cannot be signed off (not in the queue, or already reviewed)."""


@dataclass(frozen=True)
class ReviewItem:
    """One access awaiting (or having had) retrospective review."""

    record: AuditRecord
    why: str  # "break-glass" or "consent <state>"

    @property
    def ref(self) -> str:
        """`log:entry` -- how the CLI names it."""
        return f"{self.record.log}:{self.record.entry_id}"


def _candidates(home: Home) -> list[ReviewItem]:
    items = [ReviewItem(r, "break-glass")
             for r in search(home, SearchFilter(break_glass=True))]
    overrides = search(home, SearchFilter(consent_override=True,
                                          kinds=(EventKind.LOOKUP_REQUESTED.value,)))
    # Only an override that led to a query needs review: if every agency was denied,
    # nothing was shared against the person's wishes.
    items += [ReviewItem(r, f"consent {r.event.consent_state}"
                         + (f" ({r.event.consent_reason})" if r.event.consent_reason else ""))
              for r in overrides if _queried(home, r)]
    items.sort(key=lambda i: (i.record.ts, i.record.log, i.record.entry_id))
    return items


def _queried(home: Home, intent: AuditRecord) -> bool:
    lookup = intent.event.lookup_id
    if not lookup:
        return True  # cannot tell: keep it in the queue (fail towards review)
    return bool(search(home, SearchFilter.of_lookup(intent.event,
                                                    kinds=(EventKind.QUERY_SENT.value,)),
                       limit=1))


def reviewed(home: Home) -> dict[tuple[str, int], AuditRecord]:
    """(log, entry id) -> its sign-off record."""
    out: dict[tuple[str, int], AuditRecord] = {}
    for r in search(home, SearchFilter(kinds=(EventKind.RETROSPECTIVE_REVIEW.value,),
                                       logs=(IG_LOG,))):
        for entry_id in r.event.refers_to:
            out[(r.event.refers_to_log or "", entry_id)] = r
    return out


def review_queue(home: Home) -> list[ReviewItem]:
    """Break-glass uses and consent overrides with no sign-off yet, oldest first."""
    done = reviewed(home)
    return [i for i in _candidates(home) if (i.record.log, i.record.entry_id) not in done]


def signed_off(home: Home) -> list[tuple[ReviewItem, AuditRecord]]:
    """Every item that has been signed off, with its sign-off record, newest sign-off first."""
    done = reviewed(home)
    out = [(i, done[(i.record.log, i.record.entry_id)]) for i in _candidates(home)
           if (i.record.log, i.record.entry_id) in done]
    out.sort(key=lambda pair: (pair[1].ts, pair[1].entry_id), reverse=True)
    return out


def sign_off(home: Home, ref: str, *, reviewer: str, finding: ReviewFinding, note: str,
             reviewer_role: str = "ig_lead",
             open_log: Callable[[Home], AuditLog] | None = None) -> int:
    """Record the IG lead's finding on queue item `ref` (`log:entry`); the new entry's id."""
    log_name, _, entry = ref.partition(":")
    if not entry.isdigit():
        raise ReviewError(f"name the item as LOG:ENTRY (e.g. broker:17), not {ref!r}")
    key = (log_name, int(entry))
    queued = {(i.record.log, i.record.entry_id): i for i in review_queue(home)}
    if key not in queued:
        why = "already signed off" if key in reviewed(home) else "not in the review queue"
        raise ReviewError(f"{ref} is {why}")
    item = queued[key]
    if not note.strip():
        raise ReviewError("a sign-off needs a written finding")
    event = AuditEvent(kind=EventKind.RETROSPECTIVE_REVIEW, actor_id=reviewer,
                       actor_role=reviewer_role, referral_id=item.record.event.referral_id,
                       lookup_id=item.record.event.lookup_id, outcome=finding.value,
                       refers_to=(key[1],), refers_to_log=key[0], detail={"finding": note})
    log = (open_log or open_ig_log)(home)
    try:
        return log.append(event)
    finally:
        log.close()


def open_ig_log(home: Home) -> AuditLog:
    """The home's IG log (reviews, searches, SARs), signed with `audit-ig`'s key."""
    return AuditLog.open(home.audit_log(IG_LOG), owner=IG_LOG,
                         checkpoint_key=load_checkpoint_key(home, IG_LOG, create=True))
