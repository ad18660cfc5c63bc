"""The referral workflow through the running broker, driven by the `mash` CLI .

Real processes: the broker and five adapters (`cluster`), and each `mash`
command as its own process, as MASH staff would run them.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from broker.planning import Requester
from broker.referral_flow import LookupTerms, policy_permitted
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import Agency, Rag, Role, Sensitivity, SubjectRole
from policy.engine import load_engine
from tests.integration.helpers import audit_rows, demo_subjects

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

MASH = [sys.executable, "-m", "mash.app"]
CP_NOT_SOUGHT = ["--purpose", "child_protection_enquiry", "--consent", "not_sought",
                 "--consent-reason", "risk_of_significant_harm"]


def mash(home: Home, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one `mash` command against `home` as its own process."""
    result = subprocess.run([*MASH, *argv, "--home", str(home.root)], capture_output=True,
                            text=True, timeout=90, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def create_referral(home: Home, tmp_path: Path, referral_id: str, rag: str,
                    demo: int = 0) -> dict[str, Any]:
    """Record a referral for the subjects of demo referral `demo`."""
    subjects = []
    for s in demo_subjects(home, demo):
        flat = {"role": s["role"], "subject_id": s["subject_id"]}
        flat.update({k: v for k, v in s["identifiers"].items() if isinstance(v, str) and v})
        subjects.append(flat)
    path = tmp_path / f"{referral_id}.json"
    path.write_text(json.dumps(subjects), encoding="utf-8")
    created: dict[str, Any] = json.loads(mash(
        home, "referral", "create", "--id", referral_id, "--source", "police",
        "--reason", "Police attended a domestic incident; children present.", "--rag", rag,
        "--subjects-file", str(path), "--by", "sw-104", "--json").stdout)
    return created


def approve_all_reviews(home: Home, referral_id: str) -> list[str]:
    """A team manager approves every held request for the referral (through the CLI)."""
    held = json.loads(mash(home, "review", "list", "--referral", referral_id,
                           "--format", "json").stdout)
    out = []
    for review in held:
        text = mash(home, "review", "approve", review["review_id"],
                    "--reason", "Pattern of DA incidents; delay would harm the child").stdout
        assert f"filed with referral {referral_id}" in text
        out.append(review["agency"])
    return out


def broker_events(home: Home, lookup_id: str, kind: str) -> list[dict[str, Any]]:
    """The broker's audit events of `kind` for one lookup."""
    rows = [json.loads(r) for r in audit_rows(home.audit_log("broker-mash-demo"), lookup_id)]
    return [r for r in rows if r.get("kind") == kind and r.get("lookup_id") == lookup_id]


def adapter_disclosures(home: Home, agency: str, lookup_id: str) -> list[dict[str, Any]]:
    """The adapter's own log of what it disclosed for one lookup."""
    rows = [json.loads(r) for r in audit_rows(home.audit_log(f"adapter-{agency}"), lookup_id)]
    return [r for r in rows if r.get("kind") == "disclosure_sent"
            and r.get("lookup_id") == lookup_id]


def test_amber_to_red_fetches_exactly_the_newly_permitted_categories(
        home: Home, cluster: Cluster, tmp_path: Path) -> None:
    create_referral(home, tmp_path, "REF-RW-RAISE", "amber")
    # Amber, consent not sought: every agency holds the request for a manager's review,
    # and sensitive categories are withheld outright (they need Red or consent).
    mash(home, "referral", "lookup", "REF-RW-RAISE", *CP_NOT_SOUGHT, "--format", "json")
    assert set(approve_all_reviews(home, "REF-RW-RAISE")) == {a.value for a in Agency}

    # What the shipped agreements release at Red that Amber (with approval) did not.
    engine = load_engine(home)
    permitted = policy_permitted(
        engine, "mash-demo", Requester("sw-104", Role.MASH_SOCIAL_WORKER, "mash-demo"),
        LookupTerms.of("child_protection_enquiry", "not_sought", "risk_of_significant_harm"),
        [SubjectRole.CHILD, SubjectRole.PARENT_CARER], datetime.now(UTC))
    # At Amber a manager approved the standard categories; the agreements' sensitive
    # categories need Red (or consent), so those are what Red newly releases.
    sensitive = {a.agency: {c for c, level in a.sensitivity.items()
                            if level is Sensitivity.SENSITIVE} for a in engine.agreements}
    expected = {agency.value: [c.value for c in permitted(Rag.RED, agency)
                               if c in sensitive.get(agency, set())] for agency in Agency}
    expected = {agency: cats for agency, cats in expected.items() if cats}
    assert expected, "the shipped agreements rate some categories sensitive"

    rerated = json.loads(mash(home, "referral", "rerate", "REF-RW-RAISE", "--rag", "red",
                              "--reason", "high-risk DA in the last 12 months",
                              "--by", "sw-104", "--json").stdout)
    assert [h["rag"] for h in rerated["rag_history"]] == ["amber", "red"]
    asked = {a["agency"]: a["categories"] for a in rerated["refetch"]["asked"]}
    # Red newly releases the sensitive categories, nothing else.
    assert asked == expected
    for agency, categories in asked.items():
        assert set(categories) <= set(permitted(Rag.RED, Agency(agency)))
        assert not set(categories) & set(permitted(Rag.AMBER, Agency(agency)))
    lookup_id = rerated["refetch"]["lookup_id"]
    assert lookup_id

    # The broker's signed queries carried only those categories, to those agencies only.
    sent = {e["agency"]: sorted(e.get("categories") or []) for e in
            broker_events(home, lookup_id, "query_sent")}
    assert sent == {agency: sorted(c) for agency, c in asked.items()}
    # Each adapter's own log: a disclosure only from the asked agencies, none beyond them.
    for agency in Agency:
        disclosed = adapter_disclosures(home, agency.value, lookup_id)
        if agency.value in asked:
            assert len(disclosed) == 1
            assert set(disclosed[0].get("categories") or []) <= set(asked[agency.value])
        else:
            assert disclosed == []

    # The new summary is filed with the referral; its parts were permitted only the new ones.
    report = json.loads(mash(home, "summary", "show", "REF-RW-RAISE", "--format", "json").stdout)
    assert lookup_id in {lk["lookup_id"] for lk in report["lookups"]}

    # Red -> Green asks nothing: no new lookup reaches the broker.
    before = len(report["lookups"])
    lowered = json.loads(mash(home, "referral", "rerate", "REF-RW-RAISE", "--rag", "green",
                              "--reason", "information clarified", "--by", "sw-104",
                              "--json").stdout)
    assert lowered["rag"] == "green" and "refetch" not in lowered
    after = json.loads(mash(home, "summary", "show", "REF-RW-RAISE", "--format", "json").stdout)
    assert len(after["lookups"]) == before


def test_raising_with_nothing_newly_permitted_asks_nothing(
        home: Home, cluster: Cluster, tmp_path: Path) -> None:
    create_referral(home, tmp_path, "REF-RW-SAME", "amber")
    # With consent given, Amber already releases every category Red would.
    mash(home, "referral", "lookup", "REF-RW-SAME", "--purpose", "child_protection_enquiry",
         "--consent", "given", "--format", "json")
    rerated = mash(home, "referral", "rerate", "REF-RW-SAME", "--rag", "red", "--reason",
                   "escalated", "--by", "sw-104").stdout
    assert "nothing newly permitted: no agency asked again" in rerated
    report = json.loads(mash(home, "summary", "show", "REF-RW-SAME", "--format", "json").stdout)
    assert len(report["lookups"]) == 1


def test_raising_without_a_running_broker_records_nothing_and_exits_1(
        home: Home, cluster: Cluster, tmp_path: Path) -> None:
    create_referral(home, tmp_path, "REF-RW-NOBROKER", "amber")
    mash(home, "referral", "lookup", "REF-RW-NOBROKER", *CP_NOT_SOUGHT, "--format", "json")
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    result = mash(home, "referral", "rerate", "REF-RW-NOBROKER", "--rag", "red", "--reason",
                  "escalated", "--by", "sw-104", "--address", closed, ok=False)
    assert result.returncode == 1
    assert "no broker is running" in result.stderr and "nothing was recorded" in result.stderr
    shown = json.loads(mash(home, "referral", "show", "REF-RW-NOBROKER", "--json").stdout)
    assert shown["rag"] == "amber"


def test_referral_from_receipt_to_decision_against_the_running_broker(
        home: Home, cluster: Cluster, tmp_path: Path) -> None:
    created = create_referral(home, tmp_path, "REF-RW-E2E", "red")
    assert created["status"] == "screening"

    # Research: the lookup is built from the stored referral and filed with it.
    text = mash(home, "referral", "lookup", "REF-RW-E2E", *CP_NOT_SOUGHT).stdout
    assert "MASH referral summary  REF-RW-E2E" in text
    shown = json.loads(mash(home, "referral", "show", "REF-RW-E2E", "--json").stdout)
    assert shown["status"] == "researching" and shown["timescale"] in ("on_track", "at_risk")
    listed = mash(home, "referral", "list").stdout
    assert "REF-RW-E2E" in listed

    # The manager reads the summary in all three formats.
    report = json.loads(mash(home, "summary", "show", "REF-RW-E2E", "--format", "json",
                             "--by", "tm-310", "--role", "mash_team_manager").stdout)
    statuses = {a["agency"]: a["status"] for a in report["agencies"]}
    assert statuses["childrens_social_care"] == "disclosed"
    assert statuses["police"] == "disclosed"
    assert report["known_to_csc"], "the demo child is known to children's social care"
    disclosed = {(e["agency"], e["record_id"]) for e in report["chronology"]}
    assert report["indicators"]
    assert all((i["source"]["agency"], i["source"]["record_id"]) in disclosed
               for i in report["indicators"])
    assert "Risk indicators" in mash(home, "summary", "show", "REF-RW-E2E").stdout
    html = tmp_path / "report.html"
    mash(home, "summary", "show", "REF-RW-E2E", "--format", "html", "--out", str(html))
    assert "<svg" in html.read_text(encoding="utf-8")

    # Lowered to Amber: recorded, nothing asked.
    lowered = mash(home, "referral", "rerate", "REF-RW-E2E", "--rag", "amber", "--reason",
                   "risk reassessed", "--by", "sw-104").stdout
    assert "asked" not in lowered

    # Decision, then closure; a closed referral is asked about no more.
    decided = json.loads(mash(
        home, "referral", "decide", "REF-RW-E2E", "--level", "child_protection",
        "--outcome", "strategy_discussion", "--by", "tm-310", "--json",
        "--rationale", "High-risk DA with children present; known to CSC").stdout)
    assert decided["status"] == "decided"
    closed = json.loads(mash(home, "referral", "status", "REF-RW-E2E", "closed",
                             "--by", "tm-310", "--role", "mash_team_manager", "--json").stdout)
    assert closed["status"] == "closed"
    refused = mash(home, "referral", "lookup", "REF-RW-E2E", *CP_NOT_SOUGHT, ok=False)
    assert refused.returncode == 2 and "closed" in refused.stderr


def test_lookup_text_names_the_csc_team_at_the_top(home: Home, cluster: Cluster) -> None:
    common = ["--rag", "red", "--purpose", "child_protection_enquiry",
              "--gateway", "children_act_1989_s47", "--consent", "not_sought",
              "--consent-reason", "risk_of_significant_harm"]
    known = mash(home, "lookup", "--referral", "REF-RW-CSC", "--demo-referral", "0",
                 *common).stdout
    first = known.splitlines()[0]
    assert first.startswith("KNOWN TO CHILDREN'S SOCIAL CARE - route to allocated worker: ")
    assert first.split(": ", 1)[1].strip()
    unknown = mash(home, "lookup", "--referral", "REF-RW-NOCSC", "--demo-referral", "3",
                   *common).stdout
    assert "KNOWN TO CHILDREN'S SOCIAL CARE" not in unknown
