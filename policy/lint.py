"""`mash policy lint`: every problem in a folder of agreements, with file, line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mash.toml_lines import FieldLines
from policy.agreement import Agreement
from policy.loader import agreement_paths
from policy.schema import Problem, Severity, parse_agreement


def lint_dir(policy_dir: Path, *, today: date) -> list[Problem]:
    """Check every agreement file in `policy_dir` and the folder as a whole.

    Errors stop an agreement loading (and being approved); warnings are for the IG
    lead's attention (a review date passed, a purpose that denies everything).
    """
    problems: list[Problem] = []
    agreements: list[Agreement] = []
    paths = agreement_paths(policy_dir)
    if not paths:
        problems.append(Problem(Severity.ERROR, str(policy_dir), 0, "(folder)",
                                "no agreement files (*.toml) found"))
    for path in paths:
        agreement, found = parse_agreement(path)
        problems.extend(found)
        if agreement is not None:
            agreements.append(agreement)
            problems.extend(_dated(agreement, today))
    problems.extend(_across_files(agreements))
    return problems


def has_errors(problems: list[Problem]) -> bool:
    """Whether any problem is an error."""
    return any(p.severity is Severity.ERROR for p in problems)


def _dated(a: Agreement, today: date) -> list[Problem]:
    out: list[Problem] = []
    if a.review_date < today:
        out.append(_at(a, Severity.WARNING, "review_date",
                       f"review was due on {a.review_date.isoformat()}"))
    if a.in_force_until.date() <= today:
        out.append(_at(a, Severity.WARNING, "in_force_until", "the agreement has expired"))
    if a.review_date >= a.in_force_until.date():
        out.append(_at(a, Severity.WARNING, "review_date", "is not before the agreement ends"))
    return out


def _across_files(agreements: list[Agreement]) -> list[Problem]:
    out: list[Problem] = []
    for i, a in enumerate(agreements):
        for b in agreements[:i]:
            if a.id == b.id:
                out.append(_at(a, Severity.ERROR, "id", f"{a.id!r} is also the id of {b.path}"))
            if (a.mash_id, a.agency) == (b.mash_id, b.agency) and \
                    a.in_force_from < b.in_force_until and b.in_force_from < a.in_force_until:
                out.append(_at(a, Severity.ERROR, "in_force_from",
                               f"overlaps {b.path} for the same MASH and agency"))
    return out


def _at(a: Agreement, severity: Severity, field: str, message: str) -> Problem:
    line = FieldLines(a.path.read_text("utf-8")).line_of(field) if a.path.is_file() else 0
    return Problem(severity, str(a.path), line, field, message)
