"""`mash lookup` text: the known-to-CSC line comes first, naming only the team."""

from __future__ import annotations

from datetime import date

import pytest

from broker.summary_text import csc_banner, format_summary
from mash.v1 import mash_pb2
from tests.referral_factories import agency, fact, subject

pytestmark = pytest.mark.clock_sensitive

BANNER = "KNOWN TO CHILDREN'S SOCIAL CARE - route to allocated worker: "


def _summary(*parts: mash_pb2.AgencyResult) -> mash_pb2.ReferralSummary:
    return mash_pb2.ReferralSummary(
        referral_id="REF-T", lookup_id="LK-T", rag="red", purpose="child_protection_enquiry",
        statutory_gateway="children_act_1989_s47", generated_at="2026-11-25T10:00:00+00:00",
        agencies=list(parts))


def _csc(status: str = "disclosed", **attributes: str) -> mash_pb2.AgencyResult:
    return agency("childrens_social_care", status, subject(
        "child-1", fact("CSC-1", "csc_case_status", "2026-06-01",
                        "Case history with content that must not be in the banner",
                        **attributes)))


def test_an_open_case_puts_the_team_on_the_first_line() -> None:
    text = format_summary(_summary(agency("police"), _csc(case_status="open",
                                                          allocated_team="Assessment Team 2")))
    first = text.splitlines()[0]
    assert first == BANNER + "Assessment Team 2"
    assert "must not be" not in first


@pytest.mark.parametrize(("closed_on", "known"), [
    ("2026-10-29", True),   # 27 days before 2026-11-25
    ("2026-10-28", True),   # 28 days: still known
    ("2026-10-27", False),  # 29 days: no longer
])
def test_a_closed_case_counts_for_28_days(closed_on: str, known: bool) -> None:
    summary = _summary(_csc(case_status="closed", closed_on=closed_on, team="Team North"))
    assert (csc_banner(summary) == BANNER + "Team North") is known
    assert format_summary(summary).startswith(BANNER) is known


def test_the_banner_is_judged_as_of_a_given_day() -> None:
    summary = _summary(_csc(case_status="closed", closed_on="2026-10-28", team="Team North"))
    assert csc_banner(summary, as_of=date(2026, 11, 26)) is None


def test_no_banner_without_a_disclosed_csc_case() -> None:
    assert csc_banner(_summary(agency("police"))) is None
    withheld = _csc("withheld", case_status="open", allocated_team="Assessment Team 2")
    assert csc_banner(_summary(withheld)) is None
    assert format_summary(_summary(withheld)).startswith("Referral REF-T")
