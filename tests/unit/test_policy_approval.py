"""Approvals: two different named people, signed, over the file's exact bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mash.home import Home
from policy import (
    ApprovalState,
    UnknownApprover,
    approval_status,
    approvals_dir,
    approve,
    approvers_file,
    create_approver,
    load_trusted_approvers,
)
from policy.approval import load_approver_key
from policy.loader import load_agreements
from tests.policy_helpers import NOW, copy_shipped


def _police(policy_dir: Path):  # type: ignore[no-untyped-def]
    return next(a for a in load_agreements(policy_dir) if a.agency == "police")


def test_one_approver_is_not_enough(tmp_path: Path) -> None:
    home, policy_dir = Home.at(tmp_path / "h"), copy_shipped(tmp_path)
    key = create_approver(home, "ig-lead-alex")
    approve(policy_dir / "police.toml", approver="ig-lead-alex", key=key, at=NOW,
            approvals_dir=approvals_dir(home))
    status = approval_status(_police(policy_dir), approvals_dir(home),
                             load_trusted_approvers(approvers_file(home)))
    assert status.state is ApprovalState.UNAPPROVED and status.approvers == ("ig-lead-alex",)


def test_two_different_approvers_approve(tmp_path: Path) -> None:
    home, policy_dir = Home.at(tmp_path / "h"), copy_shipped(tmp_path)
    for name in ("ig-lead-alex", "caldicott-guardian-sam"):
        approve(policy_dir / "police.toml", approver=name, key=create_approver(home, name),
                at=NOW, approvals_dir=approvals_dir(home))
    status = approval_status(_police(policy_dir), approvals_dir(home),
                             load_trusted_approvers(approvers_file(home)))
    assert status.state is ApprovalState.APPROVED


def test_approver_key_file_is_private(tmp_path: Path) -> None:
    home = Home.at(tmp_path / "h")
    create_approver(home, "ig-lead-alex")
    key_file = approvers_file(home).parent / "ig-lead-alex.key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_approver_not_named_in_agreement_is_refused(tmp_path: Path) -> None:
    home, policy_dir = Home.at(tmp_path / "h"), copy_shipped(tmp_path)
    with pytest.raises(UnknownApprover):
        approve(policy_dir / "police.toml", approver="mallory",
                key=create_approver(home, "mallory"), at=NOW)


def test_approval_file_bytes_bind_the_signature(tmp_path: Path) -> None:
    home, policy_dir = Home.at(tmp_path / "h"), copy_shipped(tmp_path)
    paths = [approve(policy_dir / "police.toml", approver=n, key=create_approver(home, n),
                     at=NOW, approvals_dir=approvals_dir(home))
             for n in ("ig-lead-alex", "caldicott-guardian-sam")]
    assert all(p.agreement_sha256 == _police(policy_dir).sha256 for p in paths)
    record_file = next((approvals_dir(home) / "dsa-mash-demo-police").glob("*.json"))
    data = json.loads(record_file.read_text())
    assert data["approver"] in ("ig-lead-alex", "caldicott-guardian-sam")


def test_signature_by_unpinned_key_does_not_count(tmp_path: Path) -> None:
    home, policy_dir = Home.at(tmp_path / "h"), copy_shipped(tmp_path)
    create_approver(home, "ig-lead-alex")
    create_approver(home, "caldicott-guardian-sam")
    rogue = Ed25519PrivateKey.generate()  # claims to be sam, but is not sam's pinned key
    approve(policy_dir / "police.toml", approver="ig-lead-alex",
            key=load_approver_key(home, "ig-lead-alex"), at=NOW, approvals_dir=approvals_dir(home))
    approve(policy_dir / "police.toml", approver="caldicott-guardian-sam", key=rogue, at=NOW,
            approvals_dir=approvals_dir(home))
    status = approval_status(_police(policy_dir), approvals_dir(home),
                             load_trusted_approvers(approvers_file(home)))
    assert status.state is ApprovalState.UNAPPROVED and status.rejected_records == 1
