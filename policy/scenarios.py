"""`mash policy test`: scenario files (request -> expected decision and reasons), run like tests.

Scenario files live beside the agreements in `scenarios/*.toml`. Each
`[[scenario]]` gives a request (the policy request JSON, merged over the
file's `[defaults]`) and what must come out; each `[[review_approval]]` checks
who may approve a REVIEW (principle 7). Scenarios run against the agreements as if
approved (a draft has no approvals yet), unless a scenario sets
`approval = "unapproved"` or `"altered"`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mash.toml_lines import FieldLines
from mash.vocab import Agency, Decision, Role, UnknownVocabulary, parse
from policy.approval import ApprovalState
from policy.engine import PolicyEngine
from policy.errors import PolicyError
from policy.request import PolicyRequest

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
        text = path.read_text("utf-8")
        lines = FieldLines(text)
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            report.results.append(ScenarioResult(str(path), 0, "(file)", None, False,
                                                 (f"not valid TOML: {exc}",)))
            continue
        defaults = doc.get("defaults", {})
        for i, scenario in enumerate(doc.get("scenario", [])):
            line = lines.line_of(f"scenario[{i}]")
            report.results.append(_run_one(str(path), line, scenario, defaults, engine_for))
        for i, check in enumerate(doc.get("review_approval", [])):
            line = lines.line_of(f"review_approval[{i}]")
            report.results.append(_run_review(str(path), line, check, defaults,
                                              engine_for(ApprovalState.APPROVED)))
    return report


def _run_one(file: str, line: int, scenario: Mapping[str, Any], defaults: Mapping[str, Any],
             engine_for: Any) -> ScenarioResult:
    name = str(scenario.get("name", f"scenario at line {line}"))
    principle = scenario.get("principle")
    failures: list[str] = []
    try:
        data = {**defaults, **scenario.get("request", {})}
        if isinstance(data.get("at"), datetime):
            data["at"] = data["at"].isoformat()
        request = PolicyRequest.from_json(data)
        state = parse(ApprovalState, scenario.get("approval", "approved"))
        decision = engine_for(state).evaluate(request)
        expected = parse(Decision, scenario["expect"])
    except (PolicyError, UnknownVocabulary, KeyError) as exc:
        return ScenarioResult(file, line, name, principle, False, (f"bad scenario: {exc}",))
    if decision.decision is not expected:
        failures.append(f"expected {expected}, got {decision.decision}")
    codes = [r.code for r in decision.reasons]
    for code in scenario.get("expect_reasons", []):
        if code not in codes:
            failures.append(f"expected reason {code}, got {', '.join(codes) or 'none'}")
    for code in scenario.get("forbid_reasons", []):
        if code in codes:
            failures.append(f"reason {code} must not appear")
    for category, verdict in scenario.get("expect_categories", {}).items():
        got = decision.to_json()["categories"].get(category)
        if got != verdict:
            failures.append(f"expected {category} {verdict}, got {got}")
    if "expect_permitted" in scenario:
        got_permitted = sorted(str(c) for c in decision.permitted_categories)
        if got_permitted != sorted(scenario["expect_permitted"]):
            failures.append(f"expected permitted {sorted(scenario['expect_permitted'])}, "
                            f"got {got_permitted}")
    if "expect_break_glass" in scenario and \
            decision.break_glass_used is not bool(scenario["expect_break_glass"]):
        failures.append(f"expected break_glass_used {scenario['expect_break_glass']}")
    if "expect_events" in scenario and list(decision.events) != list(scenario["expect_events"]):
        failures.append(f"expected events {scenario['expect_events']}, got {list(decision.events)}")
    return ScenarioResult(file, line, name, principle, not failures, tuple(failures))


def _run_review(file: str, line: int, check: Mapping[str, Any], defaults: Mapping[str, Any],
                engine: PolicyEngine) -> ScenarioResult:
    name = str(check.get("name", f"review approval at line {line}"))
    principle = check.get("principle", 7)
    try:
        allowed = engine.may_approve_review(
            str(check.get("mash_id", defaults.get("mash_id", "mash-demo"))),
            parse(Agency, check["agency"]), parse(Role, check["role"]),
            str(check["approver"]), str(check["requester"]))
        expected = bool(check["expect"])
    except (UnknownVocabulary, KeyError) as exc:
        return ScenarioResult(file, line, name, principle, False, (f"bad scenario: {exc}",))
    failures = () if allowed is expected else (f"expected may_approve {expected}, got {allowed}",)
    return ScenarioResult(file, line, name, principle, not failures, failures)
