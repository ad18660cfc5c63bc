"""The IG lead's tools over a synthetic day of real logs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from pathlib import Path

import pytest

from audit.events import EventKind
from audit.log import verify_log
from audit.pseudonyms import Pseudonymiser
from audit.query import SearchFilter, search
from audit.reconcile import Severity, reconcile
from audit.review import ReviewError, ReviewFinding, review_queue, sign_off
from audit.sar import build_sar, last_accesses, render_html
from audit.sar_text import OUTCOMES
from mash.app.cli import main
from mash.home import Home
from tests.unit.audit_scenario import BROKER, MONDAY_10, Scenario, build

pytestmark = pytest.mark.clock_sensitive


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Built once for the read-only tests (writing real logs with fsync is the slow part)."""
    return build(Home.at(tmp_path_factory.mktemp("ig") / "home").ensure())


@pytest.fixture
def scenario(shared: Scenario, tmp_path: Path) -> Scenario:
    """A fresh copy of the closed logs for tests that change them."""
    shutil.copytree(shared.home.root, tmp_path / "home")
    return dataclasses.replace(shared, home=Home.at(tmp_path / "home"))


def _child_ids(s: Scenario) -> tuple[str, ...]:
    c = s.child
    return Pseudonymiser.for_home(s.home).for_identifiers(
        nhs_number=c.nhs, given_name=c.given, family_name=c.family, date_of_birth=c.dob)


def test_person_search_finds_only_entries_naming_that_person(shared: Scenario) -> None:
    found = search(shared.home, SearchFilter(pseudonyms=_child_ids(shared)))
    referrals = {r.event.referral_id for r in found}
    assert referrals == set(shared.child_referrals)
    assert {r.log for r in found} == {BROKER, "adapter-police", "adapter-health"}


def test_person_search_with_name_and_dob_only(shared: Scenario,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    c = shared.child
    assert main(["audit", "search", "--home", str(shared.home.root), "--name",
                 f"{c.given.upper()} {c.family}", "--dob", c.dob, "--kind", "lookup_requested",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["referral_id"] for r in rows) == sorted(shared.child_referrals)
    assert all(c.family not in json.dumps(r) for r in rows)  # identifiers never stored


def test_unknown_person_matches_nothing(shared: Scenario) -> None:
    assert search(shared.home, SearchFilter(person_required=True)) == []


@pytest.mark.parametrize(("flt", "expected"), [
    (SearchFilter(break_glass=True), {("break_glass", "REF-003")}),
    (SearchFilter(requester="edt-cara"), {("lookup_requested", "REF-004"),
                                          ("policy_decision", "REF-004")}),
    (SearchFilter(consent_override=True), {("lookup_requested", "REF-001"),
                                           ("lookup_requested", "REF-003"),
                                           ("lookup_requested", "REF-004")}),
    (SearchFilter(green_without_consent=True), {("lookup_requested", "REF-003")}),
    (SearchFilter(after_hours=True, kinds=("lookup_requested",)),
     {("lookup_requested", "REF-004")}),
    (SearchFilter(decision="DENY", agency="health"), {("policy_decision", "REF-002"),
                                                      ("policy_decision", "REF-003")}),
    (SearchFilter(role="mash_team_manager"), {("summary_viewed", "REF-001")}),
])
def test_filters(shared: Scenario, flt: SearchFilter, expected: set[tuple[str, str]]) -> None:
    found = search(shared.home, flt)
    assert {(r.event.kind.value, r.event.referral_id) for r in found} == expected


def test_date_range(shared: Scenario) -> None:
    early = search(shared.home, SearchFilter(until=MONDAY_10.replace(hour=12),
                                               kinds=("lookup_requested",)))
    assert [r.event.referral_id for r in early] == ["REF-001", "REF-002", "REF-003"]
    late = search(shared.home, SearchFilter(since=MONDAY_10.replace(day=13),
                                              kinds=("lookup_requested",)))
    assert [r.event.referral_id for r in late] == ["REF-004"]


def test_search_csv_and_bad_input(shared: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(shared.home.root)
    assert main(["audit", "search", "--home", home, "--break-glass", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["kind"] for r in rows] == ["break_glass"] and rows[0]["actor_id"] == "sw-ben"
    assert main(["audit", "search", "--home", home, "--purpose", "curiosity"]) == 2
    assert main(["audit", "search", "--home", home, "--name", "Amy Shaw"]) == 2  # no --dob


def test_sar_lists_every_request_across_referrals(shared: Scenario) -> None:
    report = build_sar(shared.home, _child_ids(shared), identifiers_used=["NHS number"],
                       now=MONDAY_10)
    assert [r.referral_id for r in report.requests] == list(shared.child_referrals)
    first = report.requests[0]
    assert first.organisation == "la-northshire" and first.role == "Social worker"
    assert first.staff_id is None  # staff shown as roles by default
    # entries written before per-subject outcomes were recorded: never claimed as "disclosed"
    assert {(a.agency, a.outcome) for a in first.agencies} == {
        ("Police", OUTCOMES["answered"]), ("Health services (GP and hospital)",
                                          OUTCOMES["answered"])}
    green = report.requests[1]
    assert {(a.agency, a.outcome) for a in green.agencies} == {
        ("Police", OUTCOMES["withheld"]), ("Health services (GP and hospital)",
                                           OUTCOMES["withheld"])}
    assert all(a.why for a in green.agencies)
    kinds = {a["what"] for a in report.other_accesses}
    assert "break_glass" in kinds
    assert "REF-002" not in json.dumps(report.to_json_dict())  # another person's referral


def test_sar_cli_writes_json_and_escaped_html(shared: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "sar"
    c = shared.child
    assert main(["audit", "sar", "--home", str(shared.home.root), "--nhs-number", c.nhs,
                 "--out", str(out), "--staff", "ids"]) == 0
    data = json.loads((out / "sar.json").read_text())
    assert len(data["requests"]) == 3 and data["requests"][0]["staff_id"] == "sw-anna"
    page = (out / "sar.html").read_text()
    assert "<table>" in page and "Child protection enquiry" in page and c.nhs not in page
    assert "child_protection_enquiry" not in page


def test_html_escapes_values() -> None:
    from audit.sar import AgencyAnswer, SarReport, SarRequest
    evil = "<script>x</script>"
    report = SarReport("now", ("NHS number", evil), (SarRequest(
        when="2026-01-05T10:00:00+00:00", referral_id=evil, lookup_id=None, organisation=evil,
        role=evil, staff_id=evil, purpose=evil, statutory_gateway=evil, consent_state=evil,
        consent_reason=evil, rag="red", outcome=evil, agencies=(
            AgencyAnswer(agency=evil, outcome=evil, why=(evil,), categories=(evil,)),)),),
        other_accesses=({"when": "2026-01-06T09:00:00+00:00", "what": evil, "role": evil,
                         "organisation": evil},))
    page = render_html(report)
    assert "<script>" not in page
    # every one of the 17 places a value is shown, escaped
    assert page.count("&lt;script&gt;x&lt;/script&gt;") == 17
    assert "2026-01-05 10:00:00" in page and ">red<" in page and "&ndash; because" in page
    assert "<h2>Other accesses</h2>" in page


def test_html_of_an_empty_report_says_so() -> None:
    from audit.sar import SarReport
    page = render_html(SarReport("2026-01-05T10:00:00+00:00", ("NHS number",), ()))
    assert "No requests named you." in page and "0 request(s)" in page
    assert "Other accesses" not in page


def test_last_accesses_newest_first_including_summary_views(shared: Scenario) -> None:
    acc = last_accesses(shared.home, _child_ids(shared))
    assert [(r.event.kind.value, r.event.referral_id) for r in acc] == [
        ("lookup_requested", "REF-004"), ("break_glass", "REF-003"),
        ("lookup_requested", "REF-003"), ("summary_viewed", "REF-001"),
        ("lookup_requested", "REF-001")]
    assert len(last_accesses(shared.home, _child_ids(shared), limit=2)) == 2


def test_review_queue_and_sign_off(scenario: Scenario) -> None:
    queue = review_queue(scenario.home)
    # REF-003's lookup overrode nothing: every agency denied it, so no query went out.
    assert [(i.record.event.kind.value, i.record.event.referral_id) for i in queue] == [
        ("lookup_requested", "REF-001"), ("break_glass", "REF-003"),
        ("lookup_requested", "REF-004")]
    target = next(i for i in queue if i.record.event.kind is EventKind.BREAK_GLASS)
    sign_off(scenario.home, target.ref, reviewer="ig-lee", finding=ReviewFinding.APPROPRIATE,
             note="Imminent risk; manager unavailable; proportionate.")
    assert target.ref not in {i.ref for i in review_queue(scenario.home)}
    with pytest.raises(ReviewError, match="already"):
        sign_off(scenario.home, target.ref, reviewer="ig-lee",
                 finding=ReviewFinding.APPROPRIATE, note="again")
    with pytest.raises(ReviewError, match="not in the review queue"):
        sign_off(scenario.home, f"{BROKER}:2", reviewer="ig-lee",
                 finding=ReviewFinding.APPROPRIATE, note="x")
    assert verify_log(scenario.home.audit_log("ig")).ok


def test_review_cli(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(scenario.home.root)
    assert main(["audit", "review-queue", "--home", home, "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 3
    assert main(["audit", "sign-off", items[0]["item"], "--home", home, "--reviewer", "ig-lee",
                 "--finding", "needs_follow_up", "--note", "Ask why consent was not sought"]) == 0
    assert main(["audit", "sign-off", items[0]["item"], "--home", home, "--reviewer", "ig-lee",
                 "--finding", "appropriate", "--note", "x"]) == 2


def test_reconcile_clean_day_has_no_differences(shared: Scenario) -> None:
    report = reconcile(shared.home)
    assert report.differences == () and report.disclosures_matched == 5


def test_reconcile_finds_a_planted_disclosure(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    s = build(Home.at(tmp_path / "h").ensure(), plant_ghost_disclosure=True)
    report = reconcile(s.home)
    assert [(d.severity, d.query_id) for d in report.differences] == [
        (Severity.SERIOUS, "Q-GHOST")]
    assert main(["audit", "reconcile", "--home", str(s.home.root)]) == 1
    assert "SERIOUS" in capsys.readouterr().out


def test_reconcile_finds_a_disclosure_the_broker_lost(scenario: Scenario) -> None:
    import sqlite3
    conn = sqlite3.connect(scenario.home.audit_log(BROKER), isolation_level=None)
    conn.execute("DROP TRIGGER entries_no_delete")
    conn.execute("DELETE FROM entries WHERE json_extract(core, '$.query_id') = 'LK-1-police'"
                 " AND json_extract(core, '$.kind') = 'query_sent'")
    conn.close()
    problems = {d.problem for d in reconcile(scenario.home).differences}
    assert "disclosure the broker never logged asking for" in problems
    assert "query received that the broker never logged sending" not in problems  # reported once


def test_reconcile_other_brokers_are_listed_not_dropped(tmp_path: Path) -> None:
    from audit.events import AuditEvent
    from audit.log import AuditLog
    s = build(Home.at(tmp_path / "h").ensure())
    with AuditLog.open(s.home.audit_log("adapter-police"), owner="adapter-police") as log:
        log.append(AuditEvent(kind=EventKind.DISCLOSURE_SENT, query_id="Q-SOUTH",
                              agency="police", actor_org="southshire", disclosure_hash="h"))
        log.append(AuditEvent(kind=EventKind.QUERY_REJECTED, query_id="Q-FORGED",
                              agency="police", actor_org="unknown-peer", outcome="rejected"))
    report = reconcile(s.home)
    assert not report.serious
    problems = [d.problem for d in report.differences]
    assert any("broker 'southshire'" in p for p in problems)
    assert any("refused a query" in p for p in problems)


def test_ig_searches_are_themselves_recorded(scenario: Scenario,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    home = str(scenario.home.root)
    c = scenario.child
    assert main(["audit", "sar", "--home", home, "--nhs-number", c.nhs, "--by", "ig-lee"]) == 0
    assert main(["audit", "search", "--home", home, "--referral", "REF-002",
                 "--by", "ig-lee"]) == 0
    capsys.readouterr()
    used = search(scenario.home, SearchFilter(logs=("ig",)))
    assert [(r.event.kind.value, r.event.actor_id) for r in used] == [
        ("sar_produced", "ig-lee"), ("audit_searched", "ig-lee")]
    assert used[0].event.subject_pseudonyms == _child_ids(scenario)[:1]
    assert verify_log(scenario.home.audit_log("ig")).ok
