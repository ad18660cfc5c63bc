"""`mash policy lint`: every problem named by file, line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mash.vocab import StatutoryGateway
from policy import SHIPPED_POLICY_DIR
from policy.lint import has_errors, lint_dir
from policy.schema import Severity
from tests.policy_helpers import copy_shipped

TODAY = date(2026, 11, 25)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_shipped_agreements_are_clean() -> None:
    assert lint_dir(SHIPPED_POLICY_DIR, today=TODAY) == []


def test_category_the_agency_does_not_hold(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    _edit(police, 'household_member = ["domestic_abuse_incidents", "arrests_and_charges"]',
          'household_member = ["domestic_abuse_incidents", "camhs"]')
    [p] = [p for p in lint_dir(d, today=TODAY) if p.severity is Severity.ERROR]
    assert p.path == str(police)
    assert p.field == "purposes.child_protection_enquiry.subject_categories.household_member"
    assert p.line == _line_of(police, '"camhs"')
    assert "police does not hold camhs" in p.message


def test_sealed_category_listed_for_sharing_is_an_error(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    _edit(d / "health.toml", 'household_member = ["gp_registration"]',
          'household_member = ["gp_registration", "adoption_records"]')
    problems = lint_dir(d, today=TODAY)
    assert has_errors(problems)
    assert any("adoption_records is sealed" in p.message for p in problems)


def test_unknown_field_and_unknown_vocabulary(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    housing = d / "housing.toml"
    _edit(housing, "allowed = true", "alowed = true")
    _edit(housing, 'article_6 = "uk_gdpr_art6_1_e"', 'article_6 = "consent"')
    fields = {(p.field, p.line) for p in lint_dir(d, today=TODAY)
              if p.severity is Severity.ERROR}
    assert ("break_glass.alowed", _line_of(housing, "alowed")) in fields
    assert ("lawful_basis.article_6", _line_of(housing, "article_6 =")) in fields


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    edu = d / "education.toml"
    _edit(edu, 'version = "2026.1"', 'version = "2026.1')
    [p] = lint_dir(d, today=TODAY)
    assert p.path == str(edu) and p.line == _line_of(edu, 'version = "2026.1')


def test_wrong_gateway_for_purpose(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    _edit(d / "education.toml", 'gateway = "children_act_2004_s10"',
          'gateway = "children_act_1989_s47"')
    assert any(p.field == "purposes.early_help.gateway" for p in lint_dir(d, today=TODAY))


def test_fewer_than_two_approvers_is_an_error(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    _edit(d / "police.toml", "required = 2", "required = 1")
    assert any(p.field == "approval.required" for p in lint_dir(d, today=TODAY))


def test_overlapping_agreements_for_the_same_pair(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    text = (d / "police.toml").read_text().replace('id = "dsa-mash-demo-police"',
                                                    'id = "dsa-mash-demo-police-v2"')
    (d / "police_v2.toml").write_text(text)
    assert any("overlaps" in p.message for p in lint_dir(d, today=TODAY))


def test_review_overdue_is_a_warning(tmp_path: Path) -> None:
    problems = lint_dir(SHIPPED_POLICY_DIR, today=date(2027, 10, 1))
    assert problems and not has_errors(problems)
    assert {p.field for p in problems} == {"review_date"}


def test_an_agreement_cannot_let_a_non_requesting_role_request(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    _edit(police, 'may_request = ["mash_social_worker", ', 'may_request = ["auditor", '
          '"mash_social_worker", ')
    [p] = lint_dir(d, today=TODAY)
    assert p.field == "roles.may_request" and "auditor may never request" in p.message
    assert p.line == _line_of(police, "may_request =")


def test_every_problem_of_a_file_at_once_with_its_line(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    _edit(police, "allowed = true", "alowed = true")  # unknown field
    _edit(police, "required = 2", 'required = "two"')  # wrong type
    _edit(police, 'statutory_gateways = ["', 'statutory_gateways = ["s999", "')  # bad entry
    _edit(police, 'owner = "', 'ownr = "')  # a required field missing, an unknown one
    _edit(police, 'household_member = ["domestic_abuse_incidents", "arrests_and_charges"]',
          'household_member = ["domestic_abuse_incidents", "camhs"]')  # a check after decoding
    found = {(p.field, p.line, p.message) for p in lint_dir(d, today=TODAY)
             if p.severity is Severity.ERROR}
    assert found >= {
        ("break_glass.alowed", _line_of(police, "alowed"), "unknown field (misspelt?)"),
        ("approval.required", _line_of(police, 'required = "two"'), "must be a whole number"),
        ("ownr", _line_of(police, "ownr ="), "unknown field (misspelt?)"),
        ("owner", 0, "is required"),
        ("purposes.child_protection_enquiry.subject_categories.household_member",
         _line_of(police, '"camhs"'), "police does not hold camhs"),
    }
    gateway = [m for f, _, m in found if f == "lawful_basis.statutory_gateways"]
    assert gateway == ["unknown StatutoryGateway 's999' (allowed: " + ", ".join(
        g.value for g in StatutoryGateway) + ")"]


def test_a_bad_entry_is_reported_and_the_good_ones_still_checked(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    # one unknown role in the list: reported, and the rest is still checked (auditor)
    _edit(police, 'may_request = ["mash_social_worker", ',
          'may_request = ["nobody", "auditor", "mash_social_worker", ')
    messages = {p.message for p in lint_dir(d, today=TODAY) if p.field == "roles.may_request"}
    assert any(m.startswith("unknown Role 'nobody'") for m in messages)
    assert any(m.startswith("auditor may never request") for m in messages)
