"""One test per threat to the policy part: the engine fails closed."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mash.home import Home
from mash.vocab import Agency, Category, Decision
from policy import (
    ApprovalState,
    MalformedApproval,
    PolicyReason,
    approvals_dir,
    approve,
    approvers_file,
    create_approver,
    load_engine,
)
from policy.approval import ApprovalRecord, load_approver_key, pin_approver, write_record
from policy.lint import lint_dir
from tests.policy_helpers import NOW, approved_engine, copy_shipped, request


def _setup(tmp_path: Path) -> tuple[Home, Path]:
    d = copy_shipped(tmp_path)
    approved_engine(tmp_path, d)
    return Home.at(tmp_path / "home"), d


def test_loosening_an_approved_agreement_withdraws_it(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    police = d / "police.toml"
    police.write_text(police.read_text().replace('covert_sources = "sealed"',
                                                 'covert_sources = "standard"'))
    d2 = load_engine(home, d).evaluate(request(categories=(Category.COVERT_SOURCES,)))
    assert d2.decision is Decision.DENY
    assert d2.reason_codes == (PolicyReason.AGREEMENT_ALTERED,)


def test_forged_approval_with_an_unpinned_key_does_not_count(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    (d / "police.toml").write_text((d / "police.toml").read_text() + "\n# loosened\n")
    mallory = Ed25519PrivateKey.generate()
    for name in ("ig-lead-alex", "caldicott-guardian-sam"):
        approve(d / "police.toml", approver=name, key=mallory, at=NOW,
                approvals_dir=approvals_dir(home))
    status = load_engine(home, d).approval_of("dsa-mash-demo-police")
    assert status is not None and status.state is ApprovalState.ALTERED
    assert status.rejected_records == 2


def test_one_person_approving_twice_is_not_two_people(tmp_path: Path) -> None:
    home, d = Home.at(tmp_path / "home"), copy_shipped(tmp_path)
    key = create_approver(home, "ig-lead-alex")
    for when in (NOW, NOW.replace(hour=11)):
        record = approve(d / "police.toml", approver="ig-lead-alex", key=key, at=when)
        path = approvals_dir(home) / record.agreement_id / f"{when.hour}-alex.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record.to_json()))
    assert load_engine(home, d).evaluate(request()).decision is Decision.DENY


def test_approvals_copied_from_another_agreement_do_not_count(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    health = approvals_dir(home) / "dsa-mash-demo-health"
    shutil.rmtree(health)
    shutil.copytree(approvals_dir(home) / "dsa-mash-demo-police", health)
    d2 = load_engine(home, d).evaluate(request(agency=Agency.HEALTH))
    assert d2.decision is Decision.DENY and d2.reason_codes == (PolicyReason.AGREEMENT_UNAPPROVED,)


def test_pinning_a_new_approver_cannot_approve_an_agreement_that_does_not_name_them(
        tmp_path: Path) -> None:
    home, d = Home.at(tmp_path / "home"), copy_shipped(tmp_path)
    create_approver(home, "ig-lead-alex")
    rogue = Ed25519PrivateKey.generate()
    pin_approver(approvers_file(home), "rogue", rogue.public_key())
    approve(d / "police.toml", approver="ig-lead-alex", key=load_approver_key(home, "ig-lead-alex"),
            at=NOW, approvals_dir=approvals_dir(home))
    # `approve` refuses an approver the file does not name, so build a validly signed record
    police = next(a for a in load_engine(home, d).agreements if a.agency is Agency.POLICE)
    unsigned = ApprovalRecord(police.id, police.sha256, "rogue", "2026-11-25T10:00:00Z", b"")
    signed = replace(unsigned, signature=rogue.sign(unsigned.signed_bytes()))
    write_record(signed, approvals_dir(home))
    engine = load_engine(home, d)
    assert engine.evaluate(request()).decision is Decision.DENY
    status = engine.approval_of(police.id)
    assert status is not None and status.approvers == ("ig-lead-alex",)
    assert status.rejected_records == 1


def test_tampered_signature_bytes_are_rejected(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    for path in (approvals_dir(home) / "dsa-mash-demo-police").glob("*.json"):
        data = json.loads(path.read_text())
        data["approved_at"] = "2020-01-01T00:00:00Z"  # the signature no longer covers this
        path.write_text(json.dumps(data))
    assert load_engine(home, d).evaluate(request()).decision is Decision.DENY


def test_garbage_approval_files_fail_closed_without_crashing(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    for path in (approvals_dir(home) / "dsa-mash-demo-police").glob("*.json"):
        path.write_text("{not json")
    engine = load_engine(home, d)
    assert engine.evaluate(request()).decision is Decision.DENY
    assert engine.evaluate(request(agency=Agency.HOUSING)).decision is Decision.PERMIT


def test_agreement_id_cannot_escape_the_approvals_folder(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    (d / "police.toml").write_text((d / "police.toml").read_text().replace(
        'id = "dsa-mash-demo-police"', 'id = "../../escape"'))
    assert any(p.field == "id" for p in lint_dir(d, today=NOW.date()))


def test_a_category_left_unrated_is_treated_as_sealed(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    police.write_text(police.read_text().replace('marac_cases = "standard"\n', ""))
    assert any("no sensitivity" in p.message for p in lint_dir(d, today=NOW.date()))  # warns
    # and listing it for sharing is then an error, so the file will not load
    assert any("marac_cases is sealed (or unrated)" in p.message
               for p in lint_dir(d, today=NOW.date()))


def test_another_mash_gets_nothing_from_this_mash_agreement(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    d2 = load_engine(home, d).evaluate(request(mash_id="mash-rogue"))
    assert d2.decision is Decision.DENY and d2.agreement_id is None


def test_a_damaged_approvers_file_stops_loading_rather_than_half_trusting(tmp_path: Path) -> None:
    home, d = _setup(tmp_path)
    approvers_file(home).write_text('[approvers."ig-lead-alex"]\npublic_key = "not base64!"\n')
    with pytest.raises(MalformedApproval):
        load_engine(home, d)
