"""One test per threat to the referral report and store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broker.referrals import (
    RetentionByAgreement,
    SqliteReferralStore,
    UnknownRetention,
    referral_db_path,
)
from broker.report import build_report, render_html, render_json, render_text
from broker.report.model import Report
from mash.home import Home
from tests.referral_factories import RECEIVED, agency, fact, full_summary, new_referral, subject

pytestmark = pytest.mark.clock_sensitive

NOW = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Clock:
    def __init__(self) -> None:
        self.now = RECEIVED

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[SqliteReferralStore]:
    s = SqliteReferralStore(referral_db_path(Home.at(tmp_path)), clock=clock)
    s.create(new_referral())
    yield s
    s.close()


def report(store: SqliteReferralStore, now: datetime = NOW) -> Report:
    return build_report(store.get("REF-0001"), [s.summary for s in store.summaries("REF-0001")],
                        now=now, deletions=store.deletions("REF-0001"))


def test_markup_in_agency_data_is_escaped_in_html(store: SqliteReferralStore) -> None:
    summary = full_summary()
    summary.agencies[1].subjects[0].facts[0].summary = XSS
    summary.agencies[1].subjects[0].facts[0].attributes["dash_risk"] = XSS
    summary.agencies[0].subjects[0].facts[0].attributes["allocated_team"] = XSS
    summary.agencies[1].reasons.add(code="x", text=XSS)
    store.save_summary(summary, RetentionByAgreement(default_days=30))
    html = render_html(report(store))
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;" in html


def test_html_report_loads_nothing_from_outside(store: SqliteReferralStore) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    html = render_html(report(store))
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html


def test_terminal_escape_sequences_in_agency_data_are_neutralised(
        store: SqliteReferralStore) -> None:
    summary = full_summary()
    summary.agencies[1].subjects[0].facts[0].summary = "ok\x1b[2J\x1b]0;pwned\x07 done\rX"
    store.save_summary(summary, RetentionByAgreement(default_days=30))
    text = render_text(report(store))
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text


def test_unverified_or_uncertain_parts_raise_no_indicators_and_show_no_facts(
        store: SqliteReferralStore) -> None:
    # A part that failed verification (or is only a possible match) must not be treated
    # as disclosed information about this child, even if facts reached the summary.
    high = fact("PN-666", "domestic_abuse_incidents", "2026-10-01", "Forged incident",
                dash_risk="high")
    summary = full_summary()
    del summary.agencies[:]
    summary.agencies.extend([agency("police", "rejected", subject("child-1", high)),
                             agency("health", "possible_match", subject(
                                 "child-1", fact("ED-9", "emergency_attendances", "2026-10-01",
                                                 "ED", age_months="3"), band="possible"))])
    store.save_summary(summary, RetentionByAgreement(default_days=30))
    rendered = report(store)
    assert rendered.indicators == () and rendered.chronology == ()
    for output in (render_text(rendered), render_html(rendered), render_json(rendered)):
        assert "PN-666" not in output and "ED-9" not in output


def test_expired_disclosures_are_gone_from_every_rendering(store: SqliteReferralStore,
                                                           clock: Clock) -> None:
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30))
    clock.now += timedelta(days=31)
    assert len(store.purge_expired()) == 5
    rendered = report(store, clock.now)
    for output in (render_text(rendered), render_html(rendered), render_json(rendered)):
        for secret in ("PN-1001", "Domestic incident at home address", "ED-55", "HS-9",
                       "Assessment Team 2"):
            assert secret not in output
    assert "deleted" in render_text(rendered).lower()


def test_agency_data_is_not_kept_for_an_unknown_period(store: SqliteReferralStore) -> None:
    # The broker files under the agreements' retention; an agreement it does not know has no
    # retention, so the summary is refused whole rather than kept for an unknown period.
    with pytest.raises(UnknownRetention, match="no retention known"):
        store.save_summary(full_summary(), RetentionByAgreement.from_agreements([]))
    assert store.summaries("REF-0001") == []
