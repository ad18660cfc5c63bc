"""`mash policy status`: which agreements are in force, awaiting approval, expiring, overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mash.canonical import JsonValue
from policy.approval import ApprovalState
from policy.engine import PolicyEngine

#: How far ahead "expiring soon" looks.
EXPIRY_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class AgreementStatus:
    """The standing of one agreement at one moment."""

    agreement_id: str
    mash_id: str
    agency: str
    version: str
    path: str
    in_force: bool
    not_yet_in_force: bool
    expired: bool
    approval: ApprovalState
    approvers: tuple[str, ...]
    awaiting_approval: bool
    expiring_soon: bool
    review_overdue: bool
    in_force_until: str
    review_date: str

    @property
    def applied(self) -> bool:
        """Whether requests under this agreement can be permitted right now."""
        return self.in_force and self.approval is ApprovalState.APPROVED

    def to_json(self) -> dict[str, JsonValue]:
        """JSON form for `--format json`."""
        return {
            "id": self.agreement_id, "mash_id": self.mash_id, "agency": self.agency,
            "version": self.version, "path": self.path, "in_force": self.in_force,
            "not_yet_in_force": self.not_yet_in_force, "expired": self.expired,
            "approval": str(self.approval), "approvers": list(self.approvers),
            "awaiting_approval": self.awaiting_approval, "expiring_soon": self.expiring_soon,
            "review_overdue": self.review_overdue, "in_force_until": self.in_force_until,
            "review_date": self.review_date, "applied": self.applied,
        }

    def flags(self) -> list[str]:
        """Short words for the text report."""
        out = ["in force" if self.in_force else
               "not yet in force" if self.not_yet_in_force else "expired"]
        if self.approval is ApprovalState.ALTERED:
            out.append("ALTERED since approval - awaiting re-approval")
        elif self.awaiting_approval:
            out.append(f"awaiting approval ({len(self.approvers)} of 2+ signed)")
        if self.expiring_soon:
            out.append(f"expires {self.in_force_until}")
        if self.review_overdue:
            out.append(f"review overdue since {self.review_date}")
        return out


def agreement_statuses(engine: PolicyEngine, *, now: datetime) -> list[AgreementStatus]:
    """The status of every agreement the engine loaded, at `now`."""
    out: list[AgreementStatus] = []
    for a in sorted(engine.agreements, key=lambda a: (a.mash_id, a.agency, a.in_force_from)):
        approval = engine.approval_of(a.id)
        state = approval.state if approval else ApprovalState.UNAPPROVED
        in_force = a.in_force_at(now)
        last_day = (a.in_force_until - timedelta(days=1)).date()
        out.append(AgreementStatus(
            agreement_id=a.id, mash_id=a.mash_id, agency=str(a.agency), version=a.sha256,
            path=str(a.path), in_force=in_force, not_yet_in_force=now < a.in_force_from,
            expired=now >= a.in_force_until, approval=state,
            approvers=approval.approvers if approval else (),
            awaiting_approval=state is not ApprovalState.APPROVED,
            expiring_soon=in_force and a.in_force_until - now <= EXPIRY_WINDOW,
            review_overdue=a.review_date < now.date(),
            in_force_until=last_day.isoformat(), review_date=a.review_date.isoformat(),
        ))
    return out
