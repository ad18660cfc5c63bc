"""Read a folder of agreement files, refusing any file with an error."""

from __future__ import annotations

from pathlib import Path

from policy.agreement import Agreement
from policy.errors import AgreementInvalid
from policy.schema import Problem, Severity, parse_agreement


def agreement_paths(policy_dir: Path) -> list[Path]:
    """The agreement files (`*.toml`) directly in `policy_dir`, in name order."""
    if not policy_dir.is_dir():
        raise AgreementInvalid(str(policy_dir), 0, "(folder)", "policy folder does not exist")
    return sorted(p for p in policy_dir.glob("*.toml") if p.is_file())


def load_agreements(policy_dir: Path) -> list[Agreement]:
    """Parse every agreement in `policy_dir`; raise `AgreementInvalid` for the first error found."""
    agreements: list[Agreement] = []
    for path in agreement_paths(policy_dir):
        agreement, problems = parse_agreement(path)
        if agreement is None:
            raise _first_error(problems)
        agreements.append(agreement)
    ids = [a.id for a in agreements]
    for a in agreements:
        if ids.count(a.id) > 1:
            raise AgreementInvalid(str(a.path), 1, "id", f"id {a.id!r} is used by another file")
    return agreements


def _first_error(problems: list[Problem]) -> AgreementInvalid:
    first = next(p for p in problems if p.severity is Severity.ERROR)
    return AgreementInvalid(first.path, first.line, first.field, first.message)
