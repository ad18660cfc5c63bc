"""Approval records, the approvers file and policy bundles refuse a bad field by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.approval import ApprovalRecord, load_trusted_approvers
from policy.bundle import BUNDLE_TYPE, BundleError, read_bundle
from policy.errors import MalformedApproval

RECORD = {"type": "mash-policy-approval/v1", "agreement_id": "police-csc",
          "agreement_sha256": "ab" * 32, "approver": "ig-lead",
          "approved_at": "2026-11-01T09:00:00Z", "signature": "AAAA"}


@pytest.mark.parametrize(("edit", "message"), [
    ({"note": "x"}, "malformed approval record: field 'note': unknown field (valid: type, "
                    "agreement_id, agreement_sha256, approver, approved_at, signature)"),
    ({"approver": 7}, "malformed approval record: field 'approver': expected a string, got a "
                      "whole number"),
    ({"approver": None}, "malformed approval record: field 'approver': expected a string, got "
                         "null"),
    ({"type": "something-else"}, "not an approval record: 'something-else'"),
])
def test_a_bad_approval_record_names_the_field(edit: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedApproval) as raised:
        ApprovalRecord.from_json({**RECORD, **edit})
    assert str(raised.value) == message


def test_a_missing_approval_field_is_named() -> None:
    record = {k: v for k, v in RECORD.items() if k != "approved_at"}
    with pytest.raises(MalformedApproval,
                       match=r"^malformed approval record: field 'approved_at': is required$"):
        ApprovalRecord.from_json(record)


def test_a_bad_approvers_file_names_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "approvers.toml"
    path.write_text('[approvers."ig-lead"]\npublic_key = "AAAA"\nfingerprint = "x"\n')
    with pytest.raises(MalformedApproval) as raised:
        load_trusted_approvers(path)
    assert str(raised.value).endswith(
        "line 3: field 'approvers.ig-lead.fingerprint': unknown field (valid: public_key)")


def _bundle(tmp_path: Path, **edit: object) -> Path:
    doc: dict[str, object] = {"type": BUNDLE_TYPE, "created_at": "2026-11-01T09:00:00+00:00",
                              "signer": "ig-lead", "agreements": {}, "approvals": [],
                              "approvers": {}, "signature": "AAAA"}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({**doc, **edit}))
    return path


@pytest.mark.parametrize(("edit", "problem"), [
    ({"extra": 1}, "field 'extra': unknown field (valid: type, created_at, signer, agreements, "
                   "approvals, approvers, signature)"),
    ({"agreements": {"a.toml": 3}}, "field 'agreements.a.toml': expected a string, got a "
                                    "whole number"),
    ({"approvals": {}}, "field 'approvals': expected a list of tables, got a table"),
])
def test_a_bad_bundle_names_the_field(tmp_path: Path, edit: dict[str, object],
                                      problem: str) -> None:
    assert read_bundle(_bundle(tmp_path)).signer == "ig-lead"
    path = _bundle(tmp_path, **edit)
    with pytest.raises(BundleError) as raised:
        read_bundle(path)
    assert str(raised.value) == f"{path}: {problem}"


def test_a_bundle_missing_a_field_is_named(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    doc = json.loads(path.read_text())
    del doc["signature"]
    path.write_text(json.dumps(doc))
    with pytest.raises(BundleError, match=r"field 'signature': is required$"):
        read_bundle(path)


@pytest.mark.parametrize(("entry", "failure"), [
    ('name = "x"\nexpect = "PERMIT"\nexpect_reason = ["no_agreement"]\n',
     "bad scenario: field 'scenario[0].expect_reason': unknown field (valid: expect, name, "
     "principle, approval, request, expect_reasons, forbid_reasons, expect_categories, "
     "expect_permitted, expect_break_glass, expect_events)"),
    ('name = "x"\nexpect = "PERMIT"\nexpect_break_glass = "yes"\n',
     "bad scenario: field 'scenario[0].expect_break_glass': expected true or false, got a "
     "string"),
    ('name = "x"\n', "bad scenario: field 'scenario[0].expect': is required"),
])
def test_a_malformed_scenario_names_the_field(tmp_path: Path, entry: str, failure: str) -> None:
    from policy import SHIPPED_POLICY_DIR
    from policy.scenarios import run_scenarios

    (tmp_path / "s.toml").write_text("# a scenario\n[[scenario]]\n" + entry)
    [result] = run_scenarios(SHIPPED_POLICY_DIR, tmp_path).results
    assert (result.passed, result.name, result.line, result.failures) == (
        False, "x", 2, (failure,))
