"""Audit events of the referral workflow: summaries viewed and deleted under retention.

They go to their own hash-chained log, `HOME/audit/referrals.sqlite`, so the
CLI can write them while the broker process holds its own log open (a log has
one writer at a time). `mash audit verify` and the per-referral audit trail
read every log in the home, this one included. Events carry ids only --
referral, lookup, agency, agreement -- never names or record contents.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from audit import AuditEvent, AuditLog, EventKind
from audit.errors import AuditLogBusy
from audit.keys import load_checkpoint_key
from broker.referral_record import SummaryDeletion
from mash.home import Home

#: The log (file stem and owner) of the referral workflow.
REFERRAL_LOG = "referrals"

#: How long to wait for another `mash` command that is writing the log.
BUSY_WAIT_S = 5.0


def deletion_event(deletion: SummaryDeletion) -> AuditEvent:
    """The audit event recording that one agency's part of a summary was deleted."""
    return AuditEvent(
        kind=EventKind.SUMMARY_DELETED, actor_id="retention", referral_id=deletion.referral_id,
        lookup_id=deletion.lookup_id, agency=str(deletion.agency),
        agreement_id=deletion.agreement_id or None,
        agreement_version=deletion.agreement_version or None, outcome="deleted",
        reasons=("retention_expired",),
        detail={"retain_until": deletion.retain_until.isoformat(),
                "deleted_at": deletion.deleted_at.isoformat()})


def viewed_event(referral_id: str, by: str, role: str | None, fmt: str,
                 lookup_ids: tuple[str, ...]) -> AuditEvent:
    """The audit event recording that someone read a referral's summary report."""
    return AuditEvent(
        kind=EventKind.SUMMARY_VIEWED, actor_id=by, actor_role=role, referral_id=referral_id,
        outcome=fmt, detail={"lookups": ",".join(lookup_ids)})


def open_referral_log(home: Home, *, clock: Callable[[], float] = time.monotonic,
                      pause: Callable[[float], None] = time.sleep) -> AuditLog:
    """Open the referral workflow's audit log, waiting briefly if another command writes it.

    Raises `AuditLogBusy` if it is still busy after `BUSY_WAIT_S`: the caller
    must then fail closed (not show or delete without a record).
    """
    key = load_checkpoint_key(home, REFERRAL_LOG, create=True)
    deadline = clock() + BUSY_WAIT_S
    while True:
        try:
            return AuditLog.open(home.audit_log(REFERRAL_LOG), owner=REFERRAL_LOG,
                                 checkpoint_key=key, checkpoint_every=1)
        except AuditLogBusy:
            if clock() >= deadline:
                raise
            pause(0.05)


def record(home: Home, *events: AuditEvent) -> None:
    """Append `events` durably to the referral log (opened and closed around the write)."""
    if not events:
        return
    with open_referral_log(home) as log:
        log.append_many(list(events))
