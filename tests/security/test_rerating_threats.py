"""Threats to the referral workflow's re-rating: one test per threat.

Re-rating runs in the broker (`Referrals.Rerate`): lowering the rating, or
raising it with `--no-refetch`, must never make a lookup; raising it makes one
that asks each agency only for its own newly permitted categories. Whether a
lookup was made is read from the broker's own audit log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from broker import referral_flow
from broker.referrals import SqliteReferralStore, referral_db_path
from broker.rerating import Refetch
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import Agency, Category, Rag
from tests.integration.helpers import audit_rows, demo_subjects
from tests.referral_factories import new_referral

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

MASH = [sys.executable, "-m", "mash.app"]
TERMS = referral_flow.LookupTerms.of("child_protection_enquiry", "not_sought",
                                     "risk_of_significant_harm")
CP_NOT_SOUGHT = ["--purpose", "child_protection_enquiry", "--consent", "not_sought",
                 "--consent-reason", "risk_of_significant_harm"]


def mash(home: Home, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run one `mash` command (a client of the running broker) as its own process."""
    result = subprocess.run([*MASH, *argv, "--home", str(home.root)], capture_output=True,
                            text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr
    return result


def lookups_made(home: Home, referral_id: str) -> int:
    """How many lookups the broker's audit log records for the referral."""
    rows = [json.loads(r) for r in audit_rows(home.audit_log("broker-mash-demo"), referral_id)]
    return len({r["lookup_id"] for r in rows if r.get("kind") == "lookup_requested"
                and r.get("referral_id") == referral_id})


def referral_with_terms(home: Home, tmp_path: Path, referral_id: str, rag: str) -> None:
    """A referral with one earlier lookup (so a re-rating knows the terms to re-ask under)."""
    subjects = [{"role": s["role"], "subject_id": s["subject_id"],
                 **{k: v for k, v in s["identifiers"].items() if isinstance(v, str) and v}}
                for s in demo_subjects(home, 0)]
    path = tmp_path / f"{referral_id}.json"
    path.write_text(json.dumps(subjects), encoding="utf-8")
    mash(home, "referral", "create", "--id", referral_id, "--source", "police", "--reason",
         "synthetic", "--rag", rag, "--subjects-file", str(path))
    mash(home, "referral", "lookup", referral_id, *CP_NOT_SOUGHT, "--format", "json")
    assert lookups_made(home, referral_id) == 1


def test_lowering_the_rating_never_makes_a_lookup(home: Home, cluster: Cluster,
                                                  tmp_path: Path) -> None:
    referral_with_terms(home, tmp_path, "REF-S1", "red")
    mash(home, "referral", "rerate", "REF-S1", "--rag", "green", "--reason", "clarified")
    assert lookups_made(home, "REF-S1") == 1


def test_no_refetch_records_the_raise_without_asking(home: Home, cluster: Cluster,
                                                     tmp_path: Path) -> None:
    referral_with_terms(home, tmp_path, "REF-S2", "amber")
    shown = json.loads(mash(home, "referral", "rerate", "REF-S2", "--rag", "red", "--reason",
                            "escalated", "--no-refetch", "--json").stdout)
    assert shown["rag"] == "red" and "refetch" not in shown
    assert lookups_made(home, "REF-S2") == 1


def test_raising_does_make_a_lookup(home: Home, cluster: Cluster, tmp_path: Path) -> None:
    # The control for the two tests above: the same set-up, raised, does ask.
    referral_with_terms(home, tmp_path, "REF-S3", "amber")
    shown = json.loads(mash(home, "referral", "rerate", "REF-S3", "--rag", "red", "--reason",
                            "escalated", "--json").stdout)
    assert shown["refetch"]["outcome"] == "asked"
    assert lookups_made(home, "REF-S3") == 2


def test_a_refetch_never_asks_an_agency_for_another_agency_s_categories(
        tmp_path: Path) -> None:
    # One request carries every planned category; each category belongs to one agency, so
    # the broker's per-agency narrowing cannot hand one agency another's category.
    store = SqliteReferralStore(referral_db_path(Home.at(tmp_path)))
    try:
        referral = store.create(new_referral("REF-S4", rag=Rag.RED))
    finally:
        store.close()
    plan = (Refetch(Agency.POLICE, (Category.POLICE_INTELLIGENCE,)),)
    request = referral_flow.refetch_request(referral, plan, TERMS)
    assert request is not None
    assert list(request.agencies) == ["police"]
    assert list(request.categories) == ["police_intelligence"]
