"""Record agreement approvals in the policy part's own audit log (`<home>/audit/policy.sqlite`).

The signed approval records are what the engine trusts; this entry makes each
approval visible, in order and tamper-evident, to whoever reviews the audit
logs (`mash audit verify`, search, SAR), next to the broker's and adapters' logs.
"""

from __future__ import annotations

from collections.abc import Sequence

from audit.events import AuditEvent, EventKind
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from mash.home import Home
from policy.approval import ApprovalRecord

#: The owner (and file stem) of the policy part's audit log.
POLICY_LOG_OWNER = "policy"


def record_approver_change(home: Home, kind: EventKind, approver: str, *, by: str,
                           detail: dict[str, str]) -> int:
    """Append one entry for a pinned approver key added or replaced; return its id."""
    key = load_checkpoint_key(home, POLICY_LOG_OWNER, create=True)
    event = AuditEvent(kind=kind, actor_id=by, outcome="pinned", detail={"approver": approver,
                                                                        **detail})
    with AuditLog.open(home.audit_log(POLICY_LOG_OWNER), owner=POLICY_LOG_OWNER,
                       checkpoint_key=key) as log:
        return log.append(event)


def record_approvals(home: Home, records: Sequence[ApprovalRecord]) -> list[int]:
    """Append one `agreement_approved` entry per record; return the entry ids."""
    if not records:
        return []
    key = load_checkpoint_key(home, POLICY_LOG_OWNER, create=True)
    events = [AuditEvent(kind=EventKind.AGREEMENT_APPROVED, actor_id=r.approver,
                         agreement_id=r.agreement_id, agreement_version=r.agreement_sha256,
                         outcome="approved")
              for r in records]
    with AuditLog.open(home.audit_log(POLICY_LOG_OWNER), owner=POLICY_LOG_OWNER,
                       checkpoint_key=key) as log:
        return log.append_many(events)
