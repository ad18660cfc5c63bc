"""`mash policy status`: in force, awaiting approval, expiring, overdue for review."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mash.home import Home
from policy import ApprovalState, load_engine
from policy.status import agreement_statuses
from tests.policy_helpers import NOW, approved_engine, copy_shipped

pytestmark = pytest.mark.clock_sensitive


def test_fresh_home_shows_everything_awaiting_approval(tmp_path: Path) -> None:
    statuses = agreement_statuses(load_engine(Home.at(tmp_path)), now=NOW)
    assert len(statuses) == 5
    assert all(s.in_force and s.awaiting_approval and not s.applied for s in statuses)


def test_approved_and_in_force(tmp_path: Path) -> None:
    statuses = agreement_statuses(approved_engine(tmp_path), now=NOW)
    assert all(s.applied and not s.expiring_soon and not s.review_overdue for s in statuses)


def test_expiring_soon_and_review_overdue(tmp_path: Path) -> None:
    later = datetime(2028, 3, 10, tzinfo=UTC)
    statuses = agreement_statuses(approved_engine(tmp_path), now=later)
    assert all(s.expiring_soon and s.review_overdue for s in statuses)
    assert statuses[0].in_force_until == "2028-03-31"


def test_altered_agreement_is_reported(tmp_path: Path) -> None:
    d = copy_shipped(tmp_path)
    approved_engine(tmp_path, d)
    (d / "housing.toml").write_text((d / "housing.toml").read_text() + "\n# edited\n")
    statuses = {s.agency: s for s in agreement_statuses(
        load_engine(Home.at(tmp_path / "home"), d), now=NOW)}
    assert statuses["housing"].approval is ApprovalState.ALTERED
    assert statuses["police"].applied
