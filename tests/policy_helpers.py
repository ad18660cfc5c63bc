"""Shared helpers for the policy part's tests (a module, not a conftest, to avoid collisions)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mash.clock import london_today
from mash.home import Home
from mash.vocab import (
    Agency,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    StatutoryGateway,
    SubjectRole,
)
from policy import SHIPPED_POLICY_DIR, PolicyEngine, PolicyRequest, dev_approve_all, load_engine

#: A time at which the shipped agreements are in force.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

BASE = PolicyRequest(
    agency=Agency.POLICE,
    purpose=Purpose.CHILD_PROTECTION_ENQUIRY,
    statutory_gateway=StatutoryGateway.CHILDREN_ACT_1989_S47,
    rag=Rag.RED,
    consent_state=ConsentState.NOT_SOUGHT,
    consent_reason=ReasonCode.RISK_OF_SIGNIFICANT_HARM,
    requester_role=Role.MASH_SOCIAL_WORKER,
    requester_id="sw-104",
    subject_role=SubjectRole.CHILD,
    at=NOW,
)


def request(**changes: Any) -> PolicyRequest:
    """The base Red s47 police request with `changes` applied."""
    return replace(BASE, **changes)


def copy_shipped(tmp: Path) -> Path:
    """A writable copy of the shipped agreements (without scenarios)."""
    out = tmp / "agreements"
    out.mkdir()
    for path in SHIPPED_POLICY_DIR.glob("*.toml"):
        shutil.copy(path, out / path.name)
    return out


def approved_engine(tmp: Path, policy_dir: Path | None = None) -> PolicyEngine:
    """An engine over `policy_dir` (default: shipped) with every agreement dev-approved."""
    home = Home.at(tmp / "home")
    directory = policy_dir or SHIPPED_POLICY_DIR
    dev_approve_all(home, directory, at=NOW)
    return load_engine(home, directory)


def approve_demo_agreements(home: Home) -> Path:
    """The demo borough's agreements, dated for today, installed in `home` and approved."""
    from policy.demo_agreements import install_demo_agreements

    return dev_approve_all(home, install_demo_agreements(home, SHIPPED_POLICY_DIR,
                                                         london_today()))
