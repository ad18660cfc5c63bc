"""`mash policy diff OLD NEW`: the effect of a change, not its text.

Both folders are evaluated (as if approved) over the whole vocabulary space --
every MASH and agency they name, purpose, gateway, RAG, consent state and
reason, requesting role and subject role -- at one moment, and every class of
request whose decision or permitted categories change is reported. Classes
that change the same way are folded together so the report stays readable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import product
from pathlib import Path
from typing import TypeAlias

from mash.vocab import (
    Agency,
    ConsentState,
    Decision,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    StatutoryGateway,
    SubjectRole,
    parse,
)
from policy.engine import PolicyEngine
from policy.request import PolicyRequest

#: One value of a dimension: a vocabulary member (a `StrEnum`), a MASH id, or None.
DimValue: TypeAlias = str | None

#: The dimensions enumerated (in report order) and their full value sets.
DIMENSIONS: tuple[tuple[str, tuple[DimValue, ...]], ...] = (
    ("mash_id", ()),  # filled from the agreements
    ("agency", tuple(Agency)),
    ("purpose", tuple(Purpose)),
    ("statutory_gateway", tuple(StatutoryGateway)),
    ("subject_role", tuple(SubjectRole)),
    ("requester_role", tuple(Role)),
    ("rag", tuple(Rag)),
    ("consent_state", tuple(ConsentState)),
    ("consent_reason", (None, *ReasonCode)),
)


@dataclass(frozen=True)
class Outcome:
    """What a class of request gets: the decision and the permitted categories."""

    decision: Decision
    permitted: tuple[str, ...]

    def __str__(self) -> str:
        cats = ", ".join(self.permitted) if self.permitted else "nothing"
        return f"{self.decision} ({cats})" if self.decision is not Decision.DENY else "DENY"


@dataclass(frozen=True)
class Change:
    """A folded set of request classes whose outcome changes the same way.

    `values` gives, per dimension, the values it covers (all values = "any").
    """

    values: tuple[frozenset[DimValue], ...]
    old: Outcome
    new: Outcome

    def describe(self, full: Sequence[frozenset[DimValue]]) -> str:
        """One line: the classes and the change."""
        parts = []
        for (name, _), vals, everything in zip(DIMENSIONS, self.values, full, strict=True):
            if vals == everything:
                continue
            shown = sorted("none" if v is None else str(v) for v in vals)
            parts.append(f"{name}={'|'.join(shown)}")
        return f"{' '.join(parts) or 'every request'}: {self.effect()}"

    def effect(self) -> str:
        """The change in words: decisions, or the categories gained and lost."""
        if self.old.decision is not self.new.decision:
            return f"{self.old} -> {self.new}"
        gained = sorted(set(self.new.permitted) - set(self.old.permitted))
        lost = sorted(set(self.old.permitted) - set(self.new.permitted))
        delta = [f"+{c}" for c in gained] + [f"-{c}" for c in lost]
        return f"{self.new.decision} with {' '.join(delta)}"


@dataclass(frozen=True)
class DiffReport:
    """The result of an effect diff."""

    classes_compared: int
    classes_changed: int
    changes: tuple[Change, ...]
    full: tuple[frozenset[DimValue], ...]

    def lines(self) -> list[str]:
        """The report as text lines."""
        return [c.describe(self.full) for c in self.changes]


def effect_diff(old_dir: Path, new_dir: Path, *, at: datetime,
                agencies: Sequence[Agency] | None = None) -> DiffReport:
    """Compare the decisions of two policy folders over the vocabulary space at `at`.

    `agencies` narrows the space (default: every agency).
    """
    old = PolicyEngine.load_assuming_approval(old_dir)
    new = PolicyEngine.load_assuming_approval(new_dir)
    mash_ids = tuple(sorted({a.mash_id for a in (*old.agreements, *new.agreements)}))
    spaces = [mash_ids, tuple(agencies or Agency), *(values for _, values in DIMENSIONS[2:])]
    full = tuple(frozenset(s) for s in [mash_ids, *(v for _, v in DIMENSIONS[1:])])
    grouped: dict[tuple[Outcome, Outcome], list[tuple[DimValue, ...]]] = defaultdict(list)
    compared = 0
    for point in product(*spaces):
        compared += 1
        request = _request(point, at)
        a, b = _outcome(old, request), _outcome(new, request)
        if a != b:
            grouped[(a, b)].append(point)
    changes: list[Change] = []
    changed = 0
    for (a, b), points in grouped.items():
        changed += len(points)
        for values in _fold(points, len(spaces)):
            changes.append(Change(values, a, b))
    changes.sort(key=lambda c: [sorted(map(str, v)) for v in c.values])
    return DiffReport(compared, changed, tuple(changes), full)


def _request(point: tuple[DimValue, ...], at: datetime) -> PolicyRequest:
    # the members of each dimension, in DIMENSIONS order (parse returns a member as it is)
    mash_id, agency, purpose, gateway, subject, role, rag, state, reason = point
    return PolicyRequest(
        agency=parse(Agency, agency), purpose=parse(Purpose, purpose),
        statutory_gateway=parse(StatutoryGateway, gateway), rag=parse(Rag, rag),
        consent_state=parse(ConsentState, state),
        consent_reason=None if reason is None else parse(ReasonCode, reason),
        requester_role=parse(Role, role), requester_id="diff",
        subject_role=parse(SubjectRole, subject), at=at, mash_id=str(mash_id))


def _outcome(engine: PolicyEngine, request: PolicyRequest) -> Outcome:
    d = engine.evaluate(request)
    return Outcome(d.decision, tuple(sorted(str(c) for c in d.categories
                                            if d.categories[c] is not Decision.DENY)))


def _fold(points: list[tuple[DimValue, ...]],
          width: int) -> Iterator[tuple[frozenset[DimValue], ...]]:
    """Fold points into boxes: merge rows that agree on every dimension but one, repeatedly."""
    rows: set[tuple[frozenset[DimValue], ...]] = {tuple(frozenset((v,)) for v in p) for p in points}
    for _ in range(2):  # a second pass folds what the first pass made foldable
        for dim in reversed(range(width)):
            merged: dict[tuple[frozenset[DimValue], ...], set[DimValue]] = defaultdict(set)
            for row in rows:
                key = row[:dim] + row[dim + 1:]
                merged[key].update(row[dim])
            rows = {key[:dim] + (frozenset(vals),) + key[dim:] for key, vals in merged.items()}
    yield from rows
