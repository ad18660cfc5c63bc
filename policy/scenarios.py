"""`mash policy test`: scenario files (request -> expected decision and reasons), run like tests.

Scenario files live beside the agreements in `scenarios/*.toml`. Each
`[[scenario]]` gives a request (the policy request JSON, merged over the
file's `[defaults]`) and what must come out; each `[[review_approval]]` checks
who may approve a REVIEW (principle 7). Scenarios run against the agreements as if
approved (a draft has no approvals yet), unless a scenario sets
`approval = "unapproved"` or `"altered"`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import msgspec

from mash.config import ConfigError, Strict, TomlDocument, decode
from mash.vocab import Agency, Decision, Role, UnknownVocabulary, parse
from policy.approval import ApprovalState
from policy.engine import PolicyEngine
from policy.errors import PolicyError
from policy.request import PolicyRequest

E = TypeVar("E")

#: The ten principles (docs/policy-guide.md); the shipped suite must cover every one.
PRINCIPLES = tuple(range(1, 11))


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario."""

    file: str
    line: int
    name: str
    principle: int | None
    passed: bool
    failures: tuple[str, ...] = ()


@dataclass
class ScenarioReport:
    """All results of a scenario run."""

    results: list[ScenarioResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether there was at least one scenario and every one passed."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def principles_covered(self) -> set[int]:
        """Principles with at least one scenario."""
        return {r.principle for r in self.results if r.principle is not None}


def default_scenario_dir(policy_dir: Path) -> Path:
    """Where the scenarios of a policy folder live."""
    return policy_dir / "scenarios"


class ScenarioEntry(Strict, frozen=True):
    """One `[[scenario]]` table: a request and what must come out of it."""

    expect: str
    name: str = ""
    principle: int | None = None
    #: approved | unapproved | altered: the agreements' approval state to run under
    approval: str = "approved"
    #: the policy request JSON (`mash policy explain --request`), over the file's [defaults]
    request: dict[str, object] = msgspec.field(default_factory=dict)
    expect_reasons: tuple[str, ...] = ()
    forbid_reasons: tuple[str, ...] = ()
    #: category -> the verdict it must get
    expect_categories: dict[str, str] = msgspec.field(default_factory=dict)
    expect_permitted: tuple[str, ...] | None = None
    expect_break_glass: bool | None = None
    expect_events: tuple[str, ...] | None = None


class ReviewApprovalEntry(Strict, frozen=True):
    """One `[[review_approval]]` table: may this approver approve that requester's review?"""

    agency: str
    role: str
    approver: str
    requester: str
    expect: bool
    name: str = ""
    principle: int = 7
    mash_id: str | None = None


class ScenarioFile(Strict, frozen=True):
    """A scenario file: `[defaults]` merged under each scenario's request, and the checks."""

    defaults: dict[str, object] = msgspec.field(default_factory=dict)
    #: each entry decoded on its own (`ScenarioEntry`), so one bad entry fails alone
    scenario: tuple[dict[str, object], ...] = ()
    review_approval: tuple[dict[str, object], ...] = ()


def run_scenarios(policy_dir: Path, scenario_dir: Path | None = None) -> ScenarioReport:
    """Run every scenario file in `scenario_dir` (default `<policy_dir>/scenarios`)."""
    engines: dict[ApprovalState, PolicyEngine] = {}

    def engine_for(state: ApprovalState) -> PolicyEngine:
        if state not in engines:
            engines[state] = PolicyEngine.load_assuming_approval(policy_dir, state)
        return engines[state]

    report = ScenarioReport()
    folder = scenario_dir or default_scenario_dir(policy_dir)
    for path in sorted(folder.glob("*.toml")):
        try:
            doc = TomlDocument.read(path)
            suite = doc.decode(ScenarioFile)
        except ConfigError as exc:
            report.results.append(ScenarioResult(str(path), exc.line, "(file)", None, False,
                                                 (f"{exc.field}: {exc.problem}",)))
            continue
        for line, scenario in _entries(doc, path, "scenario", suite.scenario, ScenarioEntry,
                                       report):
            report.results.append(_run_one(str(path), line, scenario, suite.defaults,
                                           engine_for))
        for line, check in _entries(doc, path, "review_approval", suite.review_approval,
                                    ReviewApprovalEntry, report):
            report.results.append(_run_review(str(path), line, check, suite.defaults,
                                              engine_for(ApprovalState.APPROVED)))
    return report


def _entries(doc: TomlDocument, path: Path, table: str, raws: Iterable[Mapping[str, object]],
             kind: type[E], report: ScenarioReport) -> Iterator[tuple[int, E]]:
    """Each entry of `[[table]]` decoded as `kind`, with its line; a malformed one is reported
    as a failed result and skipped, so one bad entry fails alone."""
    for i, raw in enumerate(raws):
        line = doc.lines.line_of(f"{table}[{i}]")
        try:
            yield line, decode(kind, raw, path, prefix=f"{table}[{i}]")
        except ConfigError as exc:
            report.results.append(_malformed(str(path), line, raw, exc))


def _malformed(file: str, line: int, raw: Mapping[str, object], exc: ConfigError) -> ScenarioResult:
    name = raw.get("name")
    return ScenarioResult(file, line, name if isinstance(name, str) else f"entry at line {line}",
                          None, False, (f"bad scenario: field {exc.field!r}: {exc.problem}",))


def _run_one(file: str, line: int, scenario: ScenarioEntry, defaults: Mapping[str, object],
             engine_for: Callable[[ApprovalState], PolicyEngine]) -> ScenarioResult:
    name = scenario.name or f"scenario at line {line}"
    principle = scenario.principle
    failures: list[str] = []
    try:
        data = {**defaults, **scenario.request}
        at = data.get("at")
        if isinstance(at, datetime):  # a TOML date-time, where the request JSON has text
            data["at"] = at.isoformat()
        request = PolicyRequest.from_json(data)
        state = parse(ApprovalState, scenario.approval)
        decision = engine_for(state).evaluate(request)
        expected = parse(Decision, scenario.expect)
    except (PolicyError, UnknownVocabulary, KeyError) as exc:
        return ScenarioResult(file, line, name, principle, False, (f"bad scenario: {exc}",))
    if decision.decision is not expected:
        failures.append(f"expected {expected}, got {decision.decision}")
    codes = [r.code for r in decision.reasons]
    for code in scenario.expect_reasons:
        if code not in codes:
            failures.append(f"expected reason {code}, got {', '.join(codes) or 'none'}")
    for code in scenario.forbid_reasons:
        if code in codes:
            failures.append(f"reason {code} must not appear")
    for category, verdict in scenario.expect_categories.items():
        got = next((str(d) for c, d in decision.categories.items() if str(c) == category),
                   None)
        if got != verdict:
            failures.append(f"expected {category} {verdict}, got {got}")
    if scenario.expect_permitted is not None:
        got_permitted = sorted(str(c) for c in decision.permitted_categories)
        if got_permitted != sorted(scenario.expect_permitted):
            failures.append(f"expected permitted {sorted(scenario.expect_permitted)}, "
                            f"got {got_permitted}")
    if scenario.expect_break_glass is not None and \
            decision.break_glass_used is not scenario.expect_break_glass:
        failures.append(f"expected break_glass_used {scenario.expect_break_glass}")
    if scenario.expect_events is not None and list(decision.events) != list(scenario.expect_events):
        failures.append(f"expected events {list(scenario.expect_events)}, "
                        f"got {list(decision.events)}")
    return ScenarioResult(file, line, name, principle, not failures, tuple(failures))


def _run_review(file: str, line: int, check: ReviewApprovalEntry, defaults: Mapping[str, object],
                engine: PolicyEngine) -> ScenarioResult:
    name = check.name or f"review approval at line {line}"
    try:
        allowed = engine.may_approve_review(
            str(check.mash_id or defaults.get("mash_id", "mash-demo")),
            parse(Agency, check.agency), parse(Role, check.role), check.approver, check.requester)
    except UnknownVocabulary as exc:
        return ScenarioResult(file, line, name, check.principle, False, (f"bad scenario: {exc}",))
    failures = () if allowed is check.expect else (
        f"expected may_approve {check.expect}, got {allowed}",)
    return ScenarioResult(file, line, name, check.principle, not failures, failures)
