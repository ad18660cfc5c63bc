"""What the lookup page says of each agency: waiting, the agency's answer, or -- when the lookup
failed -- "No answer", never "Not asked" (the queries may have been sent before it failed)."""

from __future__ import annotations

from datetime import UTC, datetime

from console.referrals_gateway import LookupRun
from console.summary_view import run_states
from mash.v1 import mash_pb2 as pb

ASKED = ("police", "health", "education")


def _run() -> LookupRun:
    return LookupRun("r1", "REF-1", "sw-104", datetime(2026, 3, 4, 10, tzinfo=UTC),
                     "child_protection_enquiry", ASKED)


def test_an_unanswered_lookup_is_waiting_for_every_agency() -> None:
    assert set(run_states(_run()).values()) == {("Waiting for an answer", "")}


def test_a_failed_lookup_says_no_answer_for_every_agency() -> None:
    run = _run()
    run.error = "audit log broker-mash-demo: write failed"
    assert run.done
    assert run_states(run) == dict.fromkeys(ASKED, ("No answer", ""))


def test_answers_are_shown_in_words_and_an_agency_left_out_was_not_asked() -> None:
    run = _run()
    run.summary = pb.ReferralSummary(agencies=[
        pb.AgencyResult(agency="police", status="pending_review"),
        pb.AgencyResult(agency="health", status="disclosed")])
    assert run_states(run) == {"police": ("Awaiting manager", "blue"),
                               "health": ("Information shared", "green"),
                               "education": ("Not asked", "")}
