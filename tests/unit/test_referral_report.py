"""The summary report: one model, three renderings (JSON contract, text, HTML with timeline)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from broker.indicators import SourcedFact
from broker.referral_record import Referral
from broker.referrals import RetentionByAgreement, SqliteReferralStore
from broker.report import build_report, render_html, render_json, render_text, report_to_dict
from broker.report.chronology import merged_chronology
from broker.report.model import Report
from mash.v1 import mash_pb2
from mash.vocab import LevelOfNeed, Outcome, ReferralStatus
from tests.referral_factories import RECEIVED, full_summary, new_referral, sparse_summary

pytestmark = pytest.mark.clock_sensitive

NOW = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = RECEIVED + timedelta(minutes=5)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SqliteReferralStore]:
    s = SqliteReferralStore(tmp_path / "r.sqlite", clock=clock)
    s.create(new_referral())
    yield s
    s.close()


def report_for(store: SqliteReferralStore, now: datetime = NOW) -> Report:
    referral = store.get("REF-0001")
    return build_report(referral, [s.summary for s in store.summaries("REF-0001")], now=now,
                        deletions=store.deletions("REF-0001"))


def test_json_contract(store: SqliteReferralStore) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    data = json.loads(render_json(report_for(store)))
    assert set(data) == {"report_version", "generated_at", "referral", "timescale",
                         "known_to_csc", "lookups", "agencies", "indicators", "chronology",
                         "decision", "deletions", "earlier_answers"}
    assert data["referral"]["referral_id"] == "REF-0001"
    assert data["timescale"] == {"rag": "amber", "due_at": "2026-11-25T10:00:00+00:00",
                                 "state": "on_track"}
    assert data["known_to_csc"][0]["team"] == "Assessment Team 2"
    assert data["known_to_csc"][0]["route"].startswith("known")
    police = next(a for a in data["agencies"] if a["agency"] == "police")
    assert police["status"] == "disclosed"
    assert police["signer_key_id"] == "police-sign-1"
    assert police["agreement_version"].startswith("sha256:")
    assert [f["record_id"] for f in police["facts_by_category"]["domestic_abuse_incidents"]] == [
        "PN-1002", "PN-1001", "PN-0900"]
    assert {i["code"] for i in data["indicators"]} >= {"domestic_abuse_high_risk",
                                                       "ed_attendance_under_2"}
    assert all(set(i["source"]) == {"agency", "record_id", "lookup_id"}
               for i in data["indicators"])
    assert data["decision"] is None


def test_every_indicator_points_to_a_disclosed_record_in_the_report(
        store: SqliteReferralStore) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    store.save_summary(sparse_summary(), RetentionByAgreement(default_days=30))
    data = report_to_dict(report_for(store))
    disclosed = {(a["agency"], f["record_id"]) for a in data["agencies"]
                 if a["status"] == "disclosed"
                 for facts in a["facts_by_category"].values() for f in facts}
    assert data["indicators"]
    for indicator in data["indicators"]:
        assert (indicator["source"]["agency"], indicator["source"]["record_id"]) in disclosed


def test_chronology_is_merged_newest_first_undated_last() -> None:
    facts = [SourcedFact("health", "L", "c", "H-2", "x", date(2026, 1, 2), "h2", {}),
             SourcedFact("police", "L", "c", "P-1", "x", None, "undated", {}),
             SourcedFact("police", "L", "c", "P-2", "x", date(2026, 5, 1), "p2", {}),
             SourcedFact("education", "L", "c", "E-1", "x", date(2026, 1, 2), "e1", {})]
    assert [e.record_id for e in merged_chronology(facts)] == ["P-2", "E-1", "H-2", "P-1"]


def test_report_chronology_across_agencies(store: SqliteReferralStore) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    chronology = report_to_dict(report_for(store))["chronology"]
    dates = [e["occurred_on"] for e in chronology]
    assert dates == sorted(dates, reverse=True)
    assert {e["agency"] for e in chronology} == {"childrens_social_care", "police", "health",
                                                 "education", "housing"}
    flagged = {e["record_id"] for e in chronology if e["indicators"]}
    assert flagged == {"PN-1001", "PN-1010", "ED-55", "ED-ATT-3", "HS-9"}


def test_latest_answer_per_agency_and_every_later_status_shown(
        store: SqliteReferralStore, clock: Clock) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    clock.now += timedelta(hours=1)
    store.save_summary(sparse_summary(), RetentionByAgreement(default_days=30))
    report = report_for(store)
    blocks = {a.agency: a for a in report.agencies}
    assert len(report.agencies) == len(blocks) == 5  # one block per agency
    # A later answer replaces an earlier one; a later non-answer is shown beside it.
    assert (blocks["education"].lookup_id, blocks["education"].status) == ("LK-2", "not_known")
    assert blocks["education"].latest_attempt is None
    health = blocks["health"]
    assert (health.lookup_id, health.status) == ("LK-1", "disclosed")
    assert health.latest_attempt is not None
    assert (health.latest_attempt.lookup_id, health.latest_attempt.status) == ("LK-2",
                                                                                 "withheld")
    assert blocks["housing"].latest_attempt is not None
    assert blocks["housing"].latest_attempt.status == "timed_out"
    # Every part not shown as a block is kept as an earlier answer.
    assert {(a.lookup_id, a.agency) for a in report.earlier} == {
        ("LK-1", "education"), ("LK-2", "health"), ("LK-2", "housing")}
    text = render_text(report)
    for words in ("WITHHELD", "not known", "TIMED OUT", "category_not_permitted"):
        assert words in text


def test_summary_of_another_referral_is_not_mixed_in(store: SqliteReferralStore) -> None:
    referral = store.get("REF-0001")
    report = build_report(referral, [full_summary(referral_id="REF-OTHER")], now=NOW)
    assert report.agencies == () and report.indicators == () and report.chronology == ()


@pytest.mark.parametrize("now, state", [
    (datetime(2026, 11, 24, 12, 0, tzinfo=UTC), "on_track"),
    (datetime(2026, 11, 25, 9, 30, tzinfo=UTC), "at_risk"),
    (datetime(2026, 11, 25, 10, 1, tzinfo=UTC), "breached"),
])
def test_open_timescale_states(store: SqliteReferralStore, now: datetime, state: str) -> None:
    assert report_for(store, now).timescale.state == state


def test_decided_timescale_met_or_missed(store: SqliteReferralStore, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    store.decide("REF-0001", LevelOfNeed.EARLY_HELP, Outcome.EARLY_HELP, "family agrees", "tm-1")
    assert report_for(store).timescale.state == "met"
    store.set_status("REF-0001", ReferralStatus.RESEARCHING, "tm-1", "new information")
    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    store.decide("REF-0001", LevelOfNeed.CHILD_IN_NEED, Outcome.CHILD_AND_FAMILY_ASSESSMENT,
                 "escalating concerns", "tm-1")
    report = report_for(store)
    assert report.timescale.state == "missed"
    data = report_to_dict(report)
    assert data["decision"]["outcome"] == "child_and_family_assessment"
    assert len(data["referral"]["decisions"]) == 2


def test_text_shows_decision_and_csc_banner_first(store: SqliteReferralStore) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    store.decide("REF-0001", LevelOfNeed.CHILD_PROTECTION, Outcome.STRATEGY_DISCUSSION,
                 "High-risk DA and a head injury to a toddler", "tm-007")
    text = render_text(report_for(store))
    lines = text.splitlines()
    assert lines[3].startswith("KNOWN TO CHILDREN'S SOCIAL CARE")
    assert "Assessment Team 2" in lines[3]
    assert "strategy discussion" in text and "tm-007" in text
    assert text.index("Risk indicators") < text.index("Chronology") < text.index("Decision")


class _Collector(HTMLParser):
    VOID = {"meta", "br", "line", "circle", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def parse_html(text: str) -> _Collector:
    collector = _Collector()
    collector.feed(text)
    return collector


def test_html_is_standalone_balanced_and_has_a_timeline(store: SqliteReferralStore) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    html = render_html(report_for(store))
    parsed = parse_html(html)
    assert parsed.errors == [] and parsed.stack == []
    tags = [t for t, _ in parsed.tags]
    assert "svg" in tags
    assert tags.count("circle") == 9  # one per (agency, day) with events
    assert tags.count("li") == 9
    csp = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")
    assert "Known to children's social care" in html


def test_timeline_with_no_dated_events(store: SqliteReferralStore) -> None:
    store.save_summary(sparse_summary(), RetentionByAgreement())
    html = render_html(report_for(store))
    assert "No dated events" in html
    assert parse_html(html).errors == []


def test_long_span_uses_year_ticks(store: SqliteReferralStore) -> None:
    summary = full_summary()
    summary.agencies[1].subjects[0].facts[1].occurred_on = "2019-01-01"
    store.save_summary(summary, RetentionByAgreement(default_days=30))
    html = render_html(report_for(store))
    assert ">2020</text>" in html and ">2026</text>" in html


def test_deletion_shown_in_every_format(store: SqliteReferralStore, clock: Clock) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30,
                                                            days={"police-mash-dsa": 1}))
    clock.now += timedelta(days=2)
    store.purge_expired()
    report = report_for(store, clock.now)
    data = report_to_dict(report)
    assert [d["agency"] for d in data["deletions"]] == ["police"]
    police = next(a for a in data["agencies"] if a["agency"] == "police")
    assert police["deleted_under_retention"] and police["facts_by_category"] == {}
    assert "Deleted under retention" in render_text(report)
    assert "Deleted under retention" in render_html(report)


def test_referral_without_summaries_renders(store: SqliteReferralStore) -> None:
    referral: Referral = store.get("REF-0001")
    report = build_report(referral, [], now=NOW)
    assert "none drawn" in render_text(report)
    assert json.loads(render_json(report))["agencies"] == []
    assert parse_html(render_html(report)).errors == []


def test_possible_match_hint_shown(store: SqliteReferralStore) -> None:
    summary = mash_pb2.ReferralSummary(referral_id="REF-0001", lookup_id="LK-P", rag="amber")
    result = summary.agencies.add(agency="health", status="possible_match")
    result.subjects.add(subject_id="child-1", match_band="possible", match_score=0.71,
                        confirm_hint="NHS number")
    store.save_summary(summary, RetentionByAgreement())
    text = render_text(report_for(store))
    assert "possible match" in text and "to confirm: NHS number" in text


def test_same_day_records_share_one_marker_with_a_count(store: SqliteReferralStore) -> None:
    summary = full_summary()
    police = summary.agencies[1].subjects[0]
    for fact in police.facts:
        fact.occurred_on = "2026-09-12"
    store.save_summary(summary, RetentionByAgreement(default_days=30))
    html = render_html(report_for(store))
    tags = [t for t, _ in parse_html(html).tags]
    assert tags.count("circle") == 7  # police's three same-day records share one marker
    assert 'class="count">3</text>' in html
    assert tags.count("li") == 9  # the chronology still lists every record


def _summary(lookup_id: str, *parts: mash_pb2.AgencyResult) -> mash_pb2.ReferralSummary:
    return mash_pb2.ReferralSummary(referral_id="REF-0001", lookup_id=lookup_id, rag="red",
                                    purpose="child_protection_enquiry", agencies=list(parts))


def test_a_narrowed_reask_keeps_the_categories_it_did_not_ask_about() -> None:
    from broker.report.model import latest_sections
    from tests.referral_factories import agency, fact, subject

    first = subject("child-1", fact("PN-1", "domestic_abuse_incidents", "2026-01-02", "DA"))
    first.permitted_categories.extend(["domestic_abuse_incidents", "missing_episodes"])
    # A re-ask after re-rating asked only for police intelligence.
    reask = subject("child-1", fact("PI-9", "police_intelligence", "2026-02-03", "intel"))
    reask.permitted_categories.append("police_intelligence")
    latest, earlier = latest_sections([
        _summary("LK-1", agency("police", "disclosed", first)),
        _summary("LK-2", agency("police", "disclosed", reask)),
    ])
    [police] = latest
    assert police.lookup_id == "LK-2" and police.from_lookups == ("LK-2", "LK-1")
    assert {c for c, _ in police.facts_by_category} == {"domestic_abuse_incidents",
                                                        "police_intelligence"}
    assert [(s.lookup_id, s.agency) for s in earlier] == [("LK-1", "police")]


def test_a_later_full_answer_replaces_the_earlier_facts() -> None:
    from broker.report.model import latest_sections
    from tests.referral_factories import agency, fact, subject

    old = subject("child-1", fact("PN-1", "domestic_abuse_incidents", "2026-01-02", "DA"))
    latest, earlier = latest_sections([
        _summary("LK-1", agency("police", "disclosed", old)),
        _summary("LK-2", agency("police", "not_known", subject("child-1", band="none"))),
    ])
    assert [(b.lookup_id, b.status, b.facts_by_category) for b in latest] == [
        ("LK-2", "not_known", ())]
    assert len(earlier) == 1


def test_html_escapes_every_value_from_an_agency(store: SqliteReferralStore) -> None:
    summary = full_summary()
    summary.agencies[0].subjects[0].facts[0].summary = "<script>alert('x')</script> & co"
    summary.agencies[0].subjects[0].facts[0].attributes["note"] = '"><img src=x>'
    store.save_summary(summary, RetentionByAgreement(default_days=30))
    html = render_html(report_for(store))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&amp; co" in html
    assert parse_html(html).errors == []
