"""A referral from receipt to decision through the `mash` CLI, as separate processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.referral_factories import full_summary

MASH = [sys.executable, "-m", "mash.app"]


def mash(home: Path, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*MASH, *argv, "--home", str(home)], capture_output=True,
                            text=True, timeout=60, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_referral_from_receipt_to_decision(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # 1. Received by phone from the police on a Friday afternoon, rated Amber.
    created = json.loads(mash(
        home, "referral", "create", "--id", "REF-2026-0042", "--source", "police",
        "--reason", "Police attended a domestic incident; toddler present.", "--rag", "amber",
        "--received", "2026-11-27T16:15:00+00:00", "--by", "sw-001", "--json",
        "--subject", "role=child,given_name=Poppy,family_name=Testerby,"
                     "date_of_birth=2025-06-01,postcode=ZZ99 1AA",
        "--subject", "role=parent_carer,given_name=Jade,family_name=Testerby,"
                     "date_of_birth=1998-02-14").stdout)
    assert created["status"] == "screening"
    assert created["due_at"] == "2026-11-30T16:15:00+00:00"  # one working day, over the weekend

    # 2. Research begins; the lookup's summary is filed.
    mash(home, "referral", "status", "REF-2026-0042", "researching", "--by", "sw-001")
    summary_file = tmp_path / "lookup.pb"
    summary_file.write_bytes(full_summary(referral_id="REF-2026-0042").SerializeToString())
    mash(home, "referral", "attach-summary", "REF-2026-0042", str(summary_file),
         "--retain-days", "police-mash-dsa=30", "--default-retain-days", "90")

    # 3. High-risk DA found: the social worker raises the rating to Red.
    rerated = json.loads(mash(home, "referral", "rerate", "REF-2026-0042", "--rag", "red",
                              "--reason", "high-risk DA in the last 12 months", "--by",
                              "sw-001", "--json").stdout)
    assert [h["rag"] for h in rerated["rag_history"]] == ["amber", "red"]

    # 4. The manager reads the summary (all three formats).
    report = json.loads(mash(home, "summary", "show", "REF-2026-0042", "--format", "json",
                             "--now", "2026-11-30T10:00:00+00:00").stdout)
    assert report["known_to_csc"][0]["team"] == "Assessment Team 2"
    assert "domestic_abuse_high_risk" in {i["code"] for i in report["indicators"]}
    text = mash(home, "summary", "show", "REF-2026-0042", "--format", "text",
                "--now", "2026-11-30T10:00:00+00:00").stdout
    assert "Risk indicators" in text and "not yet decided" in text
    html_path = tmp_path / "report.html"
    mash(home, "summary", "show", "REF-2026-0042", "--format", "html", "--out", str(html_path))
    assert "<svg" in html_path.read_text(encoding="utf-8")

    # 5. Open work is listed by urgency.
    listed = json.loads(mash(home, "referral", "list", "--json",
                             "--now", "2026-11-30T10:00:00+00:00").stdout)
    assert [r["referral_id"] for r in listed] == ["REF-2026-0042"]

    # 6. An inconsistent decision is refused; the real one is recorded.
    bad = mash(home, "referral", "decide", "REF-2026-0042", "--level", "universal",
               "--outcome", "strategy_discussion", "--rationale", "x", "--by", "tm-007",
               ok=False)
    assert bad.returncode == 2 and bad.stderr.startswith("mash: error:")
    decided = json.loads(mash(
        home, "referral", "decide", "REF-2026-0042", "--level", "child_protection",
        "--outcome", "strategy_discussion", "--by", "tm-007", "--json",
        "--rationale", "High-risk DA and an ED attendance of a toddler; known to CSC").stdout)
    assert decided["status"] == "decided"
    assert decided["decision"]["outcome"] == "strategy_discussion"

    final = json.loads(mash(home, "summary", "show", "REF-2026-0042", "--format",
                            "json").stdout)
    assert final["decision"]["by"] == "tm-007"
    assert mash(home, "referral", "list", "--json").stdout.strip() == "[]"  # nothing open

    # 7. Closed; a closed referral cannot be re-rated.
    mash(home, "referral", "status", "REF-2026-0042", "closed", "--by", "tm-007")
    refused = mash(home, "referral", "rerate", "REF-2026-0042", "--rag", "green", "--reason",
                   "x", "--by", "sw-001", ok=False)
    assert refused.returncode == 2
    assert (home / "broker" / "referrals.sqlite").is_file()
