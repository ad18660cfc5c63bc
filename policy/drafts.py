"""Drafts awaiting approval, and what each would change against the version in force.

A draft is an agreement file the IG lead has written but not yet had approved. It is
either put in place in the agreements folder (where it is not applied until approved)
or staged in the home's drafts folder (`HOME/policy/drafts/`) while it is reviewed.
Either way its *effect* is read against the agreement in force now for the same MASH
and agency: purposes, permitted categories per subject role, statutory gateways,
consent rules, who may request, expiry and retention, each as what is added, removed
or changed. (`mash policy diff` gives the effect request class by request class.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from mash.home import Home
from mash.vocab import Purpose
from policy.agreement import Agreement, PurposeTerms
from policy.approval import (
    ApprovalState,
    ApprovalStatus,
    approval_status,
    approvals_dir,
    approvers_file,
    load_trusted_approvers,
    policy_home,
)
from policy.engine import PolicyEngine
from policy.loader import load_agreements


def drafts_dir(home: Home) -> Path:
    """Where the IG lead stages drafts under review (not applied by any party)."""
    return policy_home(home) / "drafts"


@dataclass(frozen=True)
class FieldChange:
    """One term of an agreement that a draft changes."""

    term: str                        # e.g. "purposes", "categories: s47 enquiry, child"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    before: str = ""                 # for terms with one value (expiry, retention)
    after: str = ""

    def describe(self) -> str:
        """The change in words."""
        parts = []
        if self.added:
            parts.append("adds " + ", ".join(self.added))
        if self.removed:
            parts.append("removes " + ", ".join(self.removed))
        if self.before or self.after:
            parts.append(f"{self.before or 'none'} -> {self.after or 'none'}")
        return f"{self.term}: {'; '.join(parts)}"


@dataclass(frozen=True)
class DraftEffect:
    """One draft awaiting approval and what approving it would change."""

    draft: Agreement
    source: str                      # "agreements" (put in place) or "drafts" (staged)
    approval: ApprovalStatus
    in_force: Agreement | None       # the version it would replace, if one is in force
    changes: tuple[FieldChange, ...]

    @property
    def new_agreement(self) -> bool:
        """Whether no agreement is in force for this MASH and agency (all of it is new)."""
        return self.in_force is None


def pending_drafts(home: Home, live: PolicyEngine, *, at: datetime,
                   staged: Path | None = None) -> list[DraftEffect]:
    """Every draft awaiting approval at `at`, with its effect against the version in force.

    `live` is the engine the broker applies (its unapproved agreements are drafts put in
    place); `staged` is the drafts folder (default `drafts_dir(home)`; absent: none).
    """
    trusted = load_trusted_approvers(approvers_file(home))
    approvals = approvals_dir(home)
    in_force = {(a.mash_id, a.agency): a for a in live.agreements
                if a.in_force_at(at) and _approved(live.approval_of(a.id))}
    out: list[DraftEffect] = []
    for a in live.agreements:
        status = live.approval_of(a.id)
        if status is not None and not _approved(status):
            out.append(_effect(a, "agreements", status, in_force.get((a.mash_id, a.agency))))
    folder = staged or drafts_dir(home)
    if folder.is_dir() and any(folder.glob("*.toml")):
        for a in load_agreements(folder):
            status = approval_status(a, approvals, trusted)
            current = in_force.get((a.mash_id, a.agency))
            if current is not None and current.sha256 == a.sha256:
                continue  # the staged copy is the version in force: nothing to approve
            out.append(_effect(a, "drafts", status, current))
    out.sort(key=lambda d: (d.draft.mash_id, str(d.draft.agency), d.draft.id, d.source))
    return out


def _approved(status: ApprovalStatus | None) -> bool:
    return status is not None and status.state is ApprovalState.APPROVED


def _effect(draft: Agreement, source: str, status: ApprovalStatus,
            current: Agreement | None) -> DraftEffect:
    return DraftEffect(draft, source, status, current, tuple(agreement_changes(current, draft)))


def agreement_changes(old: Agreement | None, new: Agreement) -> list[FieldChange]:
    """What `new` changes against `old` (None: an agreement where there was none)."""
    out: list[FieldChange] = []

    def sets(term: str, before: Iterable[object], after: Iterable[object]) -> None:
        b, a = {str(x) for x in before}, {str(x) for x in after}
        if a != b:
            out.append(FieldChange(term, tuple(sorted(a - b)), tuple(sorted(b - a))))

    def value(term: str, before: object, after: object) -> None:
        if before != after:
            out.append(FieldChange(term, before="" if before is None else str(before),
                                   after="" if after is None else str(after)))

    old_purposes: Mapping[Purpose, PurposeTerms] = old.purposes if old else {}
    sets("purposes", old_purposes, new.purposes)
    sets("statutory gateways", old.statutory_gateways if old else (), new.statutory_gateways)
    for purpose in sorted(set(old_purposes) & set(new.purposes), key=str):
        before, after = old_purposes[purpose], new.purposes[purpose]
        roles = sorted(set(before.subject_categories) | set(after.subject_categories), key=str)
        for role in roles:
            sets(f"categories: {purpose}, about a {role}",
                 before.subject_categories.get(role, ()), after.subject_categories.get(role, ()))
        value(f"gateway for {purpose}", before.gateway, after.gateway)
        value(f"consent rules for {purpose}", _rules(before), _rules(after))
    sets("who may request", old.may_request if old else (), new.may_request)
    value("in force from", _day(old.in_force_from) if old else None, _day(new.in_force_from))
    value("expires (last day in force)", _last_day(old) if old else None, _last_day(new))
    value("review date", old.review_date.isoformat() if old else None,
          new.review_date.isoformat())
    value("disclosed summaries kept (days)",
          old.retention.disclosed_summary_days if old else None,
          new.retention.disclosed_summary_days)
    sets("approvers", old.approvers if old else (), new.approvers)
    return out


def _rules(terms: PurposeTerms) -> str:
    return " | ".join(
        f"{r.decision} at {'/'.join(sorted(map(str, r.rag)))} when consent "
        f"{'/'.join(sorted(map(str, r.consent)))}"
        + (f" ({'/'.join(sorted(map(str, r.reasons)))})" if r.reasons else "")
        for r in terms.consent_rules)


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _last_day(a: Agreement) -> str:
    return (a.in_force_until - timedelta(days=1)).date().isoformat()
