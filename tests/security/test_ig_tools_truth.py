"""The IG lead's tools tell the truth.

Threats: a subject access report tells a person an agency disclosed information about them
when the agency did not know them, or lists what was disclosed about someone else in the
same request, or speaks in internal codes; a pinned approver key is silently replaced (so
whoever holds the new key approves agreements alone) with nothing in the audit log; one
approver approving twice is counted or logged as two approvals.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from audit.pseudonyms import Pseudonymiser
from audit.reading import records_where
from audit.sar import SarReport, build_sar, render_html
from audit.sar_text import AGENCIES, CATEGORIES, OUTCOMES
from broker.client import BrokerClient
from mash import vocab
from mash.app.cli import main
from mash.home import Home
from policy.approval import approvers_file, load_trusted_approvers
from policy.reasons import PolicyReason
from tests.integration.helpers import demo_subjects, red_request
from tests.policy_helpers import copy_shipped

#: Every code the log may hold that a person must never be shown.
CODES = sorted({str(m) for e in vars(vocab).values() if isinstance(e, type)
                and issubclass(e, StrEnum) for m in e if "_" in str(m)}
               | {str(r) for r in PolicyReason})


def _pseudonyms(home: Home, subject: dict[str, Any]) -> tuple[str, ...]:
    i = subject["identifiers"]
    return Pseudonymiser.for_home(home).for_identifiers(
        nhs_number=i.get("nhs_number", ""), given_name=i["given_name"],
        family_name=i["family_name"], date_of_birth=i["date_of_birth"])


def _sar(home: Home, subject: dict[str, Any]) -> SarReport:
    return build_sar(home, _pseudonyms(home, subject), identifiers_used=["name and date of birth"],
                     now=datetime.now(UTC))


def _police(report: SarReport, referral: str):  # type: ignore[no-untyped-def]
    request = next(r for r in report.requests if r.referral_id == referral)
    return next(a for a in request.agencies if a.agency == "Police")


def _household(home: Home) -> list[dict[str, Any]]:
    child, parent = demo_subjects(home)[:2]
    stranger = dict(demo_subjects(home, 3)[0], subject_id="child-2")  # no agency knows her
    return [child, parent, stranger]


@pytest.mark.integration
@pytest.mark.clock_sensitive
def test_sar_says_not_known_where_the_agency_did_not_know_the_person(
        home: Home, client: BrokerClient) -> None:
    subjects = _household(home)
    summary = client.lookup(red_request("REF-SEC-SAR-1", subjects))
    police = next(a for a in summary.agencies if a.agency == "police")
    assert police.status == "disclosed"  # about the child: the agency-level status
    answer = _police(_sar(home, subjects[2]), "REF-SEC-SAR-1")
    assert answer.outcome == OUTCOMES["not_known"]
    assert answer.categories == ()


@pytest.mark.integration
@pytest.mark.clock_sensitive
def test_sar_lists_only_the_categories_disclosed_about_this_person(
        home: Home, client: BrokerClient) -> None:
    subjects = _household(home)
    summary = client.lookup(red_request("REF-SEC-SAR-2", subjects))
    report = _sar(home, subjects[0])
    request = next(r for r in report.requests if r.referral_id == "REF-SEC-SAR-2")
    checked = 0
    for agency in summary.agencies:
        about = {s.subject_id: {f.category for f in s.facts} for s in agency.subjects}
        own = about.get("child-1", set())
        if not own or own == set().union(*about.values()):
            continue  # nothing here tells the child's categories from the whole lookup's
        answer = next(a for a in request.agencies if a.agency == AGENCIES[agency.agency])
        assert answer.outcome == OUTCOMES["disclosed"]
        assert set(answer.categories) == {CATEGORIES[c] for c in own}
        checked += 1
    assert checked, "the demo household has an agency that disclosed more about others"


@pytest.mark.integration
@pytest.mark.clock_sensitive
def test_sar_is_plain_english_with_why_for_withheld(home: Home, client: BrokerClient) -> None:
    subjects = _household(home)
    req = red_request("REF-SEC-SAR-3", subjects[:1])
    req.rag, req.purpose, req.statutory_gateway = "green", "early_help", "children_act_2004_s10"
    req.consent.state, req.consent.reason = "refused", ""
    client.lookup(req)
    report = _sar(home, subjects[0])
    answer = _police(report, "REF-SEC-SAR-3")
    assert answer.outcome == OUTCOMES["withheld"] and answer.why
    text = json.dumps(report.to_json_dict()) + render_html(report)
    leaked = [c for c in CODES if re.search(rf"\b{re.escape(c)}\b", text)]
    assert leaked == []


# ---------------------------------------------------------------- approvers

def _policy_log(home: Path) -> list[tuple[str, str | None]]:
    path = Home.at(home).audit_log("policy")
    return [(str(r.event.kind), r.event.actor_id) for r in records_where(path, "1 = 1", [])]


def test_replacing_a_pinned_approver_key_needs_a_flag_and_another_approver(
        tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    for name in ("ig-lead-alex", "caldicott-guardian-sam"):
        assert main(["policy", "add-approver", name, "--home", home]) == 0
    pins = approvers_file(Home.at(home))
    before = pins.read_bytes()
    assert main(["policy", "add-approver", "ig-lead-alex", "--home", home]) == 2
    assert main(["policy", "add-approver", "ig-lead-alex", "--replace", "--home", home]) == 2
    assert main(["policy", "add-approver", "ig-lead-alex", "--replace", "--approved-by",
                 "ig-lead-alex", "--home", home]) == 2
    assert main(["policy", "add-approver", "ig-lead-alex", "--replace", "--approved-by",
                 "nobody-pinned", "--home", home]) == 2
    assert pins.read_bytes() == before, "no refused attempt changed a pinned key"
    old = load_trusted_approvers(pins)["ig-lead-alex"]
    assert main(["policy", "add-approver", "ig-lead-alex", "--replace", "--approved-by",
                 "caldicott-guardian-sam", "--home", home]) == 0
    assert load_trusted_approvers(pins)["ig-lead-alex"] != old
    assert ("approver_key_replaced", "caldicott-guardian-sam") in _policy_log(Path(home))
    replacements = list((pins.parent / "replacements").glob("*-ig-lead-alex.json"))
    assert len(replacements) == 1
    assert json.loads(replacements[0].read_text())["approved_by"] == "caldicott-guardian-sam"


def test_a_second_approval_of_the_same_version_is_refused_and_not_logged(
        tmp_path: Path) -> None:
    home, d = str(tmp_path / "home"), copy_shipped(tmp_path)
    police = str(d / "police.toml")
    assert main(["policy", "add-approver", "ig-lead-alex", "--home", home]) == 0
    assert main(["policy", "approve", police, "--as", "ig-lead-alex", "--home", home]) == 0
    assert main(["policy", "approve", police, "--as", "ig-lead-alex", "--home", home]) == 2
    approvals = [a for a in _policy_log(Path(home)) if a[0] == "agreement_approved"]
    assert approvals == [("agreement_approved", "ig-lead-alex")]
