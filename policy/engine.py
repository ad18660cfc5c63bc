"""The policy engine: one decision per agency request, the same code at the broker and adapters.

The engine knows no sharing principle of its own beyond deny-by-default and
the meaning of the vocabulary (a `sealed` category is never disclosed;
break-glass can only turn a REVIEW into a PERMIT). Everything else -- which
purposes, gateways, roles, consent rules, categories and sensitivities -- comes
from the agreement files, compiled at load time into lookup tables so that a
decision is a handful of dictionary look-ups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import product
from pathlib import Path
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mash.errors import present
from mash.home import Home
from mash.vocab import (
    AGENCY_CATEGORIES,
    REQUESTING_ROLES,
    Agency,
    Category,
    ConsentState,
    Decision,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    Sensitivity,
    SubjectRole,
)
from policy.agreement import Agreement, ConsentRule
from policy.approval import (
    ApprovalState,
    ApprovalStatus,
    agreements_dir,
    approval_status,
    approvals_dir,
    approvers_file,
    load_trusted_approvers,
)
from policy.decision import PolicyDecision, overall
from policy.errors import AgreementInvalid
from policy.loader import load_agreements
from policy.mash_slots import InstalledFile, read_slots
from policy.reasons import PolicyReason as R
from policy.reasons import Reason
from policy.request import PolicyRequest

#: The agreements shipped with mash-hub (`policy/agreements/`).
SHIPPED_POLICY_DIR = Path(__file__).resolve().parent / "agreements"

_ConsentKey = tuple[Rag, ConsentState, ReasonCode | None]


@dataclass(frozen=True)
class _Compiled:
    """An agreement with its look-up tables and approval state, built once at load."""

    agreement: Agreement
    approval: ApprovalStatus
    consent: Mapping[Purpose, Mapping[_ConsentKey, tuple[Decision, Reason]]]
    # (purpose, subject role) -> categories allowed, in vocabulary order
    allowed: Mapping[tuple[Purpose, SubjectRole], tuple[Category, ...]]
    # (purpose, subject role, category) -> reason it is blocked whatever else holds, or absent
    blocked: Mapping[tuple[Purpose, SubjectRole, Category], Reason]
    sensitive: frozenset[Category]


class PolicyEngine:
    """Evaluates policy requests against a loaded, approval-checked set of agreements."""

    def __init__(self, compiled: Iterable[_Compiled],
                 conflicts: Iterable[tuple[str, Agency]] = (), *,
                 installed: Mapping[str, InstalledFile] | None = None,
                 superseded: Iterable[str] = ()) -> None:
        self._by_pair: dict[tuple[str, Agency], list[_Compiled]] = {}
        for c in compiled:
            self._by_pair.setdefault((c.agreement.mash_id, c.agreement.agency), []).append(c)
        for entries in self._by_pair.values():
            entries.sort(key=lambda c: c.agreement.in_force_from)
        self._conflicts = frozenset(conflicts)
        self._installed: Mapping[str, InstalledFile] = MappingProxyType(dict(installed or {}))
        self._superseded = tuple(sorted(superseded))
        #: per-MASH versions, worked out once per loaded policy (every answer names one)
        self._versions: dict[str, str] = {}

    def adopt(self, other: PolicyEngine) -> None:
        """Take on `other`'s agreements and approvals, in place.

        Every holder of this engine (the servicer, the planner) applies the new policy from
        its next decision on. Call it on the thread that evaluates (the event loop), so no
        decision sees half of each.
        """
        self._by_pair, self._conflicts = other._by_pair, other._conflicts
        self._installed, self._superseded = other._installed, other._superseded
        self._versions = other._versions

    @property
    def version(self) -> str:
        """A short hash naming exactly the agreements and approval states this engine applies."""
        return self._version_over(self.agreements)

    def version_of(self, mash_id: str) -> str:
        """The policy version this engine applies to MASH `mash_id`'s queries: the same hash
        over that MASH's agreements alone (one MASH's bundle leaves another's unchanged)."""
        versions = self._versions  # one object: a concurrent `adopt` swaps it whole
        if mash_id not in versions:
            versions[mash_id] = self._version_over(
                a for a in self.agreements if a.mash_id == mash_id)
        return versions[mash_id]

    def _version_over(self, agreements: Iterable[Agreement]) -> str:
        digest = hashlib.sha256()
        for a in sorted(agreements, key=lambda a: a.id):
            approval = self.approval_of(a.id)
            state = approval.state if approval else "none"
            digest.update(f"{a.id}\0{a.sha256}\0{state}\n".encode())
        return digest.hexdigest()[:16]

    @property
    def mashes(self) -> tuple[str, ...]:
        """Every MASH this engine holds an agreement with, or a slot for, by id."""
        return tuple(sorted({a.mash_id for a in self.agreements} | set(self._installed)))

    def installed_for(self, mash_id: str) -> InstalledFile | None:
        """The bundle MASH `mash_id`'s own slot was installed from; None: the home's folder."""
        return self._installed.get(mash_id)

    @property
    def superseded(self) -> tuple[str, ...]:
        """Agreements of the home's own folder not applied: their MASH has a slot of its own."""
        return self._superseded

    @classmethod
    def load(cls, policy_dir: Path, *, approvals_dir: Path | None,
             trusted_approvers: Mapping[str, Ed25519PublicKey]) -> PolicyEngine:
        """Load every agreement in `policy_dir` and check its approvals.

        Raises `AgreementInvalid` for a file with errors. An agreement without two
        valid approvals of its exact bytes loads, but every request under it is DENIED.
        """
        agreements = load_agreements(policy_dir)
        compiled = [_compile(a, approval_status(a, approvals_dir, trusted_approvers))
                    for a in agreements]
        return cls(compiled, _overlaps(agreements))

    @classmethod
    def from_agreements(cls, agreements: Iterable[tuple[Agreement, ApprovalStatus]]
                        ) -> PolicyEngine:
        """An engine over already-parsed agreements with the given approval states.

        For tooling and tests; the broker and adapters use `load` / `load_engine`.
        """
        pairs = list(agreements)
        return cls([_compile(a, status) for a, status in pairs],
                   _overlaps([a for a, _ in pairs]))

    @classmethod
    def load_assuming_approval(cls, policy_dir: Path,
                               state: ApprovalState = ApprovalState.APPROVED) -> PolicyEngine:
        """TOOLING ONLY: load agreements as if their approval state were `state`.

        For `mash policy test`, `diff` and `dry-run`, which evaluate drafts nobody has
        approved yet. The broker and adapters must use `load` / `load_engine`.
        """
        agreements = load_agreements(policy_dir)
        assumed = ApprovalStatus(state, (), (), 0)
        return cls([_compile(a, assumed) for a in agreements], _overlaps(agreements))

    @property
    def agreements(self) -> tuple[Agreement, ...]:
        """Every loaded agreement."""
        return tuple(c.agreement for cs in self._by_pair.values() for c in cs)

    def approval_of(self, agreement_id: str) -> ApprovalStatus | None:
        """The approval status of a loaded agreement."""
        for cs in self._by_pair.values():
            for c in cs:
                if c.agreement.id == agreement_id:
                    return c.approval
        return None

    def agreement_for(self, mash_id: str, agency: Agency,
                      at: datetime | None = None) -> Agreement | None:
        """The agreement between `mash_id` and `agency` (the one in force at `at`, if given).

        Without `at`, the latest-starting agreement for the pair. None when there is none.
        """
        entries = self._by_pair.get((mash_id, agency))
        if not entries:
            return None
        if at is None:
            return entries[-1].agreement
        for c in entries:
            if c.agreement.in_force_at(at):
                return c.agreement
        return None

    def may_approve_review(self, mash_id: str, agency: Agency, role: Role, approver_id: str,
                           requester_id: str, at: datetime | None = None) -> bool:
        """Principle 7: may `approver_id` (with `role`) approve a REVIEW raised by `requester_id`?"""
        agreement = self.agreement_for(mash_id, agency, at)
        return agreement is not None and agreement.may_approve_review(
            role, approver_id, requester_id)

    def evaluate(self, request: PolicyRequest) -> PolicyDecision:
        """Decide `request`. Deny by default: any doubt about the agreement is a DENY."""
        pair = (request.mash_id, request.agency)
        entries = self._by_pair.get(pair)
        if not entries:
            return _deny_all(request, None, Reason(
                R.NO_AGREEMENT, f"There is no data-sharing agreement between {request.mash_id} "
                f"and {request.agency}."))
        if pair in self._conflicts:
            return _deny_all(request, None, Reason(
                R.AGREEMENT_CONFLICT, f"More than one agreement between {request.mash_id} and "
                f"{request.agency} is in force at once; none is applied until that is fixed."))
        c = _in_force(entries, request.at)
        if c is None:
            return _deny_all(request, entries, _out_of_force(entries, request.at))
        a = c.agreement
        if c.approval.state is not ApprovalState.APPROVED:
            return _deny_all(request, [c], _unapproved(c))

        refusals: list[Reason] = []
        # The agreement narrows the vocabulary's requesting roles; it can never widen them.
        if request.requester_role not in a.may_request or \
                request.requester_role not in REQUESTING_ROLES:
            refusals.append(Reason(R.ROLE_NOT_PERMITTED, f"A {request.requester_role} may not "
                                   f"request information under {a.id}."))
        terms = a.purposes.get(request.purpose)
        if terms is None:
            refusals.append(Reason(R.PURPOSE_NOT_AGREED, f"{a.id} does not cover the purpose "
                                   f"{request.purpose}."))
        elif request.statutory_gateway is not terms.gateway:
            refusals.append(Reason(R.GATEWAY_MISMATCH, f"{request.purpose} is shared under "
                                   f"{terms.gateway}, not {request.statutory_gateway}."))
        if refusals:
            return _deny_all(request, [c], *refusals)

        consent_decision, consent_reason = c.consent[request.purpose][
            (request.rag, request.consent_state, request.consent_reason)]
        reasons: list[Reason] = [consent_reason]
        wanted = request.categories
        if wanted is None:
            wanted = c.allowed.get((request.purpose, request.subject_role), ())
        verdicts: dict[Category, Decision] = {}
        sensitive_ok = (request.rag in a.sensitive_release_rag
                        or request.consent_state in a.sensitive_release_consent)
        for category in wanted:
            blocked = c.blocked.get((request.purpose, request.subject_role, category))
            if blocked is not None:
                verdicts[category] = Decision.DENY
                reasons.append(blocked)
            elif category in c.sensitive and not sensitive_ok and \
                    consent_decision is not Decision.DENY:
                verdicts[category] = Decision.DENY
                reasons.append(Reason(R.CATEGORY_SENSITIVE_WITHHELD, f"{category} is sensitive: "
                                      "shared only when " + _release_text(a) + "."))
            else:
                verdicts[category] = consent_decision

        glass_used = False
        glass_until: datetime | None = None
        events: tuple[str, ...] = ()
        if request.break_glass is not None:
            refusal = _break_glass_refusal(a, request)
            if refusal is not None:
                reasons.append(Reason(R.BREAK_GLASS_REFUSED, refusal))
            elif Decision.REVIEW in verdicts.values():
                glass_until = request.at + a.break_glass.valid_for
                for category, verdict in verdicts.items():
                    if verdict is Decision.REVIEW:
                        verdicts[category] = Decision.PERMIT
                glass_used, events = True, a.break_glass.raises
                reasons.append(Reason(R.BREAK_GLASS_APPLIED, "Break-glass "
                                      f"({request.break_glass.reason}) turns review into permit "
                                      f"until {glass_until.isoformat()}; raises "
                                      f"{', '.join(events) or 'nothing'}."))
        return PolicyDecision(overall(verdicts), MappingProxyType(verdicts), tuple(reasons),
                              a.id, a.sha256, glass_used, glass_until, events)


def default_policy_dir(home: Home) -> Path:
    """The home's own agreements folder where it holds agreement files, else the shipped one."""
    own = agreements_dir(home)
    return own if own.is_dir() and any(own.glob("*.toml")) else SHIPPED_POLICY_DIR


def load_engine(home: Home, policy_dir: Path | None = None) -> PolicyEngine:
    """The engine for a home folder: approvals and pinned approver keys come from the home.

    `policy_dir` defaults to the home's own agreements (`<home>/policy/agreements`) where it
    has them, else the agreements shipped with mash-hub. Each MASH slot the home holds
    (`policy.mash_slots`, a MASH's installed bundle) is loaded too, with that MASH's own
    approvals and approvers, and governs that MASH alone: agreements naming it in
    `policy_dir` are superseded. A slot agreement that names another MASH, or an agreement
    id held twice, is refused (`AgreementInvalid`): nothing is half-loaded.
    """
    trusted = load_trusted_approvers(approvers_file(home))
    slots = read_slots(home)
    if not slots:  # the common case: one MASH's agreements, in one folder
        return PolicyEngine.load(policy_dir or default_policy_dir(home),
                                 approvals_dir=approvals_dir(home), trusted_approvers=trusted)
    own = {s.mash_id for s in slots}
    base = load_agreements(policy_dir or default_policy_dir(home))
    agreements = [a for a in base if a.mash_id not in own]
    compiled = [_compile(a, approval_status(a, approvals_dir(home), trusted)) for a in agreements]
    for slot in slots:
        slot_trusted = load_trusted_approvers(slot.approvers_file)
        for a in load_agreements(slot.agreements):
            if a.mash_id != slot.mash_id:
                raise AgreementInvalid(str(a.path), 0, "mash_id", f"{a.id} is installed for "
                                       f"{slot.mash_id} but names {a.mash_id}: a MASH's slot "
                                       "holds only that MASH's agreements")
            compiled.append(_compile(a, approval_status(a, slot.approvals, slot_trusted)))
            agreements.append(a)
    seen: dict[str, Agreement] = {}
    for a in agreements:
        if a.id in seen:
            raise AgreementInvalid(str(a.path), 1, "id", f"id {a.id!r} is also used by "
                                   f"{seen[a.id].path}")
        seen[a.id] = a
    return PolicyEngine(compiled, _overlaps(agreements),
                        installed={s.mash_id: s.installed for s in slots},
                        superseded=(a.id for a in base if a.mash_id in own))


# ---------------------------------------------------------------- compile at load time

def _compile(a: Agreement, approval: ApprovalStatus) -> _Compiled:
    held = AGENCY_CATEGORIES[a.agency]
    consent: dict[Purpose, dict[_ConsentKey, tuple[Decision, Reason]]] = {}
    allowed: dict[tuple[Purpose, SubjectRole], tuple[Category, ...]] = {}
    blocked: dict[tuple[Purpose, SubjectRole, Category], Reason] = {}
    for purpose, terms in a.purposes.items():
        table: dict[_ConsentKey, tuple[Decision, Reason]] = {}
        for rag, state, reason in product(Rag, ConsentState, (None, *ReasonCode)):
            table[(rag, state, reason)] = _consent_outcome(terms.consent_rules, rag, state, reason,
                                                          purpose)
        consent[purpose] = table
        for role in SubjectRole:
            listed = terms.subject_categories.get(role, frozenset())
            allowed[(purpose, role)] = tuple(c for c in held if c in listed)
            for category in Category:
                why = _static_block(a, purpose, role, category, listed)
                if why is not None:
                    blocked[(purpose, role, category)] = why
    sensitive = frozenset(c for c in held if a.sensitivity_of(c) is Sensitivity.SENSITIVE)
    return _Compiled(a, approval, consent, allowed, blocked, sensitive)


def _static_block(a: Agreement, purpose: Purpose, role: SubjectRole, category: Category,
                  listed: frozenset[Category]) -> Reason | None:
    if category not in AGENCY_CATEGORIES[a.agency]:
        return Reason(R.CATEGORY_NOT_HELD, f"{a.agency} does not hold {category}.")
    if a.sensitivity_of(category) is Sensitivity.SEALED:
        return Reason(R.CATEGORY_SEALED, f"{category} is sealed and is never disclosed.")
    if category not in listed:
        return Reason(R.CATEGORY_NOT_AGREED, f"{a.id} does not list {category} for a "
                      f"{role} under {purpose}.")
    return None


def _consent_outcome(rules: tuple[ConsentRule, ...], rag: Rag, state: ConsentState,
                     reason: ReasonCode | None, purpose: Purpose) -> tuple[Decision, Reason]:
    for index, rule in enumerate(rules):
        if rule.matches(rag, state, reason):
            code = {Decision.PERMIT: R.CONSENT_PERMITS, Decision.REVIEW: R.CONSENT_REVIEW,
                    Decision.DENY: R.CONSENT_NOT_SATISFIED}[rule.decision]
            given = f" with reason {reason}" if reason is not None and \
                state is not ConsentState.GIVEN else ""
            text = (f"{purpose} at RAG {rag} with consent {state}{given}: "
                    f"{rule.decision} (consent rule {index + 1}"
                    + (f": {rule.note.rstrip('.')}" if rule.note else "") + ").")
            return rule.decision, Reason(code, text)
    if state is not ConsentState.GIVEN and reason is None and any(
            r.reasons for r in rules if rag in r.rag and state in r.consent):
        return Decision.DENY, Reason(R.CONSENT_REASON_MISSING, f"{purpose} at RAG {rag} with "
                                     f"consent {state} needs a reason code; none was given.")
    why = f" with reason {reason}" if reason is not None else ""
    return Decision.DENY, Reason(R.CONSENT_NOT_SATISFIED, f"No consent rule for {purpose} allows "
                                 f"sharing at RAG {rag} with consent {state}{why}.")


def _overlaps(agreements: list[Agreement]) -> set[tuple[str, Agency]]:
    out: set[tuple[str, Agency]] = set()
    for i, a in enumerate(agreements):
        for b in agreements[i + 1:]:
            if (a.mash_id, a.agency) == (b.mash_id, b.agency) and \
                    a.in_force_from < b.in_force_until and b.in_force_from < a.in_force_until:
                out.add((a.mash_id, a.agency))
    return out


# ---------------------------------------------------------------- helpers at decision time

def _in_force(entries: list[_Compiled], at: datetime) -> _Compiled | None:
    for c in entries:
        if c.agreement.in_force_at(at):
            return c
    return None


def _out_of_force(entries: list[_Compiled], at: datetime) -> Reason:
    if all(c.agreement.in_force_from > at for c in entries):
        first = entries[0].agreement
        return Reason(R.AGREEMENT_NOT_IN_FORCE, f"{first.id} is not in force until "
                      f"{first.in_force_from.date().isoformat()}.")
    last = max((c.agreement for c in entries if c.agreement.in_force_until <= at),
               key=lambda a: a.in_force_until)
    return Reason(R.AGREEMENT_EXPIRED, f"{last.id} expired at {last.in_force_until.isoformat()}.")


def _unapproved(c: _Compiled) -> Reason:
    a = c.agreement
    if c.approval.state is ApprovalState.ALTERED:
        return Reason(R.AGREEMENT_ALTERED, f"{a.id} was changed after it was approved "
                      f"(approved by {', '.join(c.approval.stale_approvers)}); it must be "
                      "approved again.")
    have = len(c.approval.approvers)
    return Reason(R.AGREEMENT_UNAPPROVED, f"{a.id} has {have} valid approval(s) of this "
                  f"version; it needs {max(2, a.approvals_required)} different named approvers.")


def _deny_all(request: PolicyRequest, entries: list[_Compiled] | None,
              *reasons: Reason) -> PolicyDecision:
    if request.categories is not None:
        wanted: tuple[Category, ...] = request.categories
    elif entries and request.purpose in entries[0].agreement.purposes:
        wanted = entries[0].allowed.get((request.purpose, request.subject_role), ())
    else:
        wanted = AGENCY_CATEGORIES[request.agency]
    agreement = entries[0].agreement if entries and len(entries) == 1 else None
    verdicts = MappingProxyType(dict.fromkeys(wanted, Decision.DENY))
    return PolicyDecision(Decision.DENY, verdicts, reasons,
                          agreement.id if agreement else None,
                          agreement.sha256 if agreement else None)


def _release_text(a: Agreement) -> str:
    parts = []
    if a.sensitive_release_rag:
        parts.append("RAG is " + " or ".join(sorted(a.sensitive_release_rag)))
    if a.sensitive_release_consent:
        parts.append("consent is " + " or ".join(sorted(a.sensitive_release_consent)))
    return " or ".join(parts) if parts else "never (no release condition is agreed)"


def _break_glass_refusal(a: Agreement, request: PolicyRequest) -> str | None:
    glass = a.break_glass
    asked = present(request.break_glass, "the break-glass request")
    if not glass.allowed:
        return f"{a.id} does not allow break-glass."
    if request.rag not in glass.rag:
        return f"Break-glass is allowed only at RAG {' or '.join(sorted(glass.rag))}."
    if asked.reason not in glass.reasons:
        return f"Break-glass reason {asked.reason} is not one {a.id} accepts."
    if len(asked.justification.strip()) < glass.min_justification_chars:
        return (f"Break-glass needs a written justification of at least "
                f"{glass.min_justification_chars} characters.")
    return None
