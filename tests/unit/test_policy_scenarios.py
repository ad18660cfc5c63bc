"""`mash policy test`: the shipped scenario suite passes and covers every principle."""

from __future__ import annotations

from pathlib import Path

from policy import SHIPPED_POLICY_DIR
from policy.scenarios import PRINCIPLES, run_scenarios
from tests.policy_helpers import copy_shipped


def test_shipped_suite_passes_and_covers_every_principle() -> None:
    report = run_scenarios(SHIPPED_POLICY_DIR)
    assert [r for r in report.results if not r.passed] == []
    assert report.principles_covered == set(PRINCIPLES)


def test_a_changed_agreement_fails_its_scenario(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    police.write_text(police.read_text().replace('police_intelligence = "sensitive"',
                                                 'police_intelligence = "standard"'))
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "s.toml").write_text('''
[defaults]
at = "2026-11-25T10:00:00Z"
requester = { role = "mash_social_worker", id = "sw-1" }
subject_role = "child"

[[scenario]]
name = "intelligence withheld at amber without consent"
principle = 8
request.agency = "police"
request.categories = ["police_intelligence"]
request.purpose = "child_protection_enquiry"
request.statutory_gateway = "children_act_1989_s47"
request.rag = "amber"
request.consent = { state = "not_sought", reason = "undue_delay" }
expect = "DENY"
''')
    report = run_scenarios(d, scenarios)
    [result] = report.results
    assert not result.passed and result.line == 7
    assert "expected DENY, got REVIEW" in result.failures[0]


def test_a_malformed_scenario_fails_not_passes(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "s.toml").write_text('[[scenario]]\nname = "x"\nexpect = "PERMIT"\n'
                                      'request = { agency = "fire" }\n')
    report = run_scenarios(SHIPPED_POLICY_DIR, scenarios)
    assert not report.passed and "bad scenario" in report.results[0].failures[0]


def test_no_scenarios_is_not_a_pass(tmp_path: Path) -> None:
    assert not run_scenarios(SHIPPED_POLICY_DIR, tmp_path).passed
