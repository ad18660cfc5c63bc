"""A referral from receipt to decision through the `mash` CLI, a client of the running broker.

Each `mash` command runs as its own process, as MASH staff would run them; the
broker and the adapters run as processes too (`cluster`), and only the broker
opens the referral store. Dates are relative to the day the test runs.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import date, datetime, time, timedelta

import holidays
import pytest

from mash.app.cluster import Cluster
from mash.clock import LONDON
from mash.home import Home

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


def plain_tuesday() -> date:
    """A recent Tuesday at least a week ago that is an ordinary working day in England."""
    today = datetime.now(LONDON).date()
    bank = holidays.country_holidays("GB", subdiv="ENG", years=(today.year - 1, today.year))
    day = today - timedelta(days=7)
    while day.weekday() != 1 or day in bank or (day.month, day.day) >= (12, 20) \
            or (day.month, day.day) <= (1, 3):
        day -= timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> str:
    """An ISO 8601 time on `day` in England, with its offset."""
    return datetime.combine(day, time(hour, minute), LONDON).isoformat()


def child(family: str) -> str:
    """A --subject spec for a toddler (born about 18 months ago)."""
    born = (datetime.now(LONDON).date() - timedelta(days=540)).isoformat()
    return f"role=child,given_name=Poppy,family_name={family},date_of_birth={born},postcode=ZZ99 1AA"


def test_referral_from_receipt_to_decision(home: Home, cluster: Cluster) -> None:
    received = at(plain_tuesday(), 16, 15)
    # 1. Received by phone from the police on a Tuesday afternoon, rated Amber.
    created = json.loads(mash(
        home, "referral", "create", "--id", "REF-CLI-0042", "--source", "police",
        "--reason", "Police attended a domestic incident; toddler present.", "--rag", "amber",
        "--received", received, "--by", "sw-104", "--json",
        "--subject", child("Testerby"),
        "--subject", "role=parent_carer,given_name=Jade,family_name=Testerby,"
                     "date_of_birth=1998-02-14").stdout)
    assert created["status"] == "screening"
    assert created["recorded_by"] == "sw-104"
    timescale = json.loads(mash(home, "timescale", "--rag", "amber", "--received",
                                received).stdout)
    assert created["due_at"] == timescale["due"]  # one working day, by the same calendar

    # 2. Research: the broker asks the agencies and files the summary with the referral.
    text = mash(home, "referral", "lookup", "REF-CLI-0042", *CP_NOT_SOUGHT).stdout
    assert "MASH referral summary  REF-CLI-0042" in text
    shown = json.loads(mash(home, "referral", "show", "REF-CLI-0042", "--json").stdout)
    assert shown["status"] == "researching"

    # 3. A sibling turns up: added to the household; a typo in the parent's name is corrected.
    parent = next(s for s in shown["subjects"] if s["role"] == "parent_carer")
    edited = json.loads(mash(
        home, "referral", "edit", "REF-CLI-0042", "--note", "school called", "--json",
        "--subject", "role=child,given_name=Alfie,family_name=Testerby,date_of_birth=2016-03-03",
        "--subject", f"subject_id={parent['subject_id']},role=parent_carer,given_name=Jayde,"
                     "family_name=Testerby,date_of_birth=1998-02-14").stdout)
    assert len(edited["subjects"]) == 3
    assert {e["change"] for e in edited["edits"]} == {
        f"corrected subject {parent['subject_id']}", "added subject child-2"}
    assert {e["by"] for e in edited["edits"]} == {"sw-104"}

    # 4. The rating is raised to Red; the manager reads the summary in all three formats.
    rerated = json.loads(mash(home, "referral", "rerate", "REF-CLI-0042", "--rag", "red",
                              "--reason", "high-risk DA in the last 12 months", "--by",
                              "sw-104", "--json").stdout)
    assert [(h["rag"], h["by"]) for h in rerated["rag_history"]] == [
        ("amber", "sw-104"), ("red", "sw-104")]
    # Another social worker cannot open it: the broker answers as for an unknown referral.
    other = mash(home, "referral", "show", "REF-CLI-0042", "--by", "sw-001", ok=False)
    assert other.returncode == 2 and "no referral REF-CLI-0042" in other.stderr
    report = json.loads(mash(home, "summary", "show", "REF-CLI-0042", "--format", "json",
                             "--by", "tm-007", "--role", "mash_team_manager").stdout)
    agencies = [a["agency"] for a in report["agencies"]]
    assert len(agencies) == len(set(agencies))  # each agency once: its latest answer
    earlier = json.loads(mash(home, "summary", "show", "REF-CLI-0042", "--format", "json",
                              "--earlier").stdout)
    assert len(earlier["earlier_agencies"]) == earlier["earlier_answers"]
    assert "Agencies" in mash(home, "summary", "show", "REF-CLI-0042").stdout
    html_path = home.root / "report-0042.html"
    mash(home, "summary", "show", "REF-CLI-0042", "--format", "html", "--out", str(html_path))
    html = html_path.read_text(encoding="utf-8")
    assert "<h2>Agencies</h2>" in html and "REF-CLI-0042" in html
    assert html_path.stat().st_mode & 0o777 == 0o600  # the report holds personal data

    # 5. Open work is listed by urgency and can be searched.
    listed = json.loads(mash(home, "referral", "list", "--json").stdout)
    assert "REF-CLI-0042" in [r["referral_id"] for r in listed]
    found = mash(home, "referral", "list", "--search", "jayde").stdout
    assert "REF-CLI-0042" in found

    # 6. An inconsistent decision is refused; a social worker cannot decide; the manager does.
    bad = mash(home, "referral", "decide", "REF-CLI-0042", "--level", "universal",
               "--outcome", "strategy_discussion", "--rationale", "x", ok=False)
    assert bad.returncode == 2 and bad.stderr.startswith("mash: error:")
    worker = mash(home, "referral", "decide", "REF-CLI-0042", "--level", "child_protection",
                  "--outcome", "strategy_discussion", "--rationale", "x", "--by", "sw-104",
                  "--role", "mash_social_worker", ok=False)
    assert worker.returncode == 1 and "PERMISSION_DENIED" in worker.stderr
    decided = json.loads(mash(
        home, "referral", "decide", "REF-CLI-0042", "--level", "child_protection",
        "--outcome", "strategy_discussion", "--by", "tm-007", "--json",
        "--rationale", "High-risk DA and a toddler present; known to CSC").stdout)
    assert decided["status"] == "decided"
    assert decided["decision"]["outcome"] == "strategy_discussion"
    assert decided["decision"]["by"] == "tm-007"

    # 7. Closed; a closed referral cannot be re-rated.
    mash(home, "referral", "status", "REF-CLI-0042", "closed", "--by", "tm-007",
         "--role", "mash_team_manager")
    refused = mash(home, "referral", "rerate", "REF-CLI-0042", "--rag", "green", "--reason",
                   "x", "--by", "sw-104", ok=False)
    assert refused.returncode == 2 and "closed" in refused.stderr


@pytest.mark.parametrize(("hour", "minute", "flag"), [
    (11, 0, None),
    (13, 30, "AT RISK"),    # half an hour of four left
    (14, 30, "BREACHED"),
])
def test_show_and_list_flag_the_timescale(home: Home, cluster: Cluster, hour: int,
                                          minute: int, flag: str | None) -> None:
    day = plain_tuesday()
    rid = f"REF-CLI-F{hour}"
    if mash(home, "referral", "show", rid, ok=False).returncode != 0:
        mash(home, "referral", "create", "--id", rid, "--source", "police", "--reason",
             "synthetic", "--rag", "red", "--received", at(day, 10), "--subject",
             child(f"Flag{hour}"))
    now = at(day, hour, minute)
    for argv in (["referral", "show", rid], ["referral", "list", "--search", rid]):
        first = mash(home, *argv, "--now", now).stdout.splitlines()[0]
        for word in ("AT RISK", "BREACHED"):
            assert (word in first) is (word == flag), first


def test_raising_before_any_lookup_records_and_asks_nothing(home: Home,
                                                            cluster: Cluster) -> None:
    mash(home, "referral", "create", "--id", "REF-CLI-F2", "--source", "police", "--reason",
         "synthetic", "--rag", "amber", "--subject", child("Raise"))
    result = mash(home, "referral", "rerate", "REF-CLI-F2", "--rag", "red", "--reason",
                  "escalated")
    assert "no earlier lookup through the broker" in result.stderr
    assert "RED" in result.stdout


def test_terms_half_given_are_refused_before_anything_is_recorded(home: Home,
                                                                  cluster: Cluster) -> None:
    mash(home, "referral", "create", "--id", "REF-CLI-F4", "--source", "police", "--reason",
         "synthetic", "--rag", "amber", "--subject", child("Half"))
    result = mash(home, "referral", "rerate", "REF-CLI-F4", "--rag", "red", "--reason",
                  "escalated", "--purpose", "child_protection_enquiry", ok=False)
    assert result.returncode == 2 and "consent.state" in result.stderr
    shown = json.loads(mash(home, "referral", "show", "REF-CLI-F4", "--json").stdout)
    assert shown["rag"] == "amber"


def test_bad_input_is_a_usage_error_naming_the_fields(home: Home, cluster: Cluster) -> None:
    future = (datetime.now(LONDON).date() + timedelta(days=3)).isoformat()
    result = mash(home, "referral", "create", "--id", "REF-CLI-BAD", "--source", "police",
                  "--reason", "x", "--rag", "red", "--subject",
                  f"role=child,family_name=Bad,date_of_birth={future},sex=boy,"
                  "nhs_number=9434765918", "--subject", "role=child,given_name=Nokey",
                  ok=False)
    assert result.returncode == 2 and result.stderr.startswith("mash: error:")
    for field in ("subjects[0].identifiers.date_of_birth", "subjects[0].identifiers.sex",
                  "subjects[0].identifiers.nhs_number", "subjects[1].identifiers"):
        assert field in result.stderr
    assert mash(home, "referral", "show", "REF-CLI-BAD", ok=False).returncode == 2


def test_without_a_running_broker_nothing_is_recorded_and_it_exits_1(
        home: Home, cluster: Cluster) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    result = mash(home, "referral", "create", "--id", "REF-CLI-NOBROKER", "--source",
                  "police", "--reason", "x", "--rag", "red", "--subject", child("Nob"),
                  "--address", closed, ok=False)
    assert result.returncode == 1 and "no broker is running" in result.stderr
    assert mash(home, "referral", "show", "REF-CLI-NOBROKER", ok=False).returncode == 2


def test_attach_summary_is_withdrawn(home: Home, cluster: Cluster) -> None:
    result = mash(home, "referral", "attach-summary", "REF-CLI-0042", "x.pb", ok=False)
    assert result.returncode == 2 and "the broker files each lookup's summary" in result.stderr
