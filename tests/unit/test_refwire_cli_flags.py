"""Referral text output flags timescales in trouble; re-rating without a broker lookup asks nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mash.app.cli import main
from mash.home import Home
from tests.policy_helpers import approve_demo_agreements

pytestmark = pytest.mark.clock_sensitive

CHILD = "role=child,given_name=Poppy,family_name=Testerby,date_of_birth=2025-06-01"


def _create(home: Path, referral_id: str, rag: str = "red") -> None:
    assert main(["referral", "create", "--id", referral_id, "--source", "police", "--reason",
                 "synthetic", "--rag", rag, "--received", "2026-11-24T10:00:00+00:00",
                 "--subject", CHILD, "--by", "sw-1", "--home", str(home)]) == 0


@pytest.mark.parametrize(("now", "flag"), [
    ("2026-11-24T11:00:00+00:00", None),
    ("2026-11-24T13:30:00+00:00", "AT RISK"),    # half an hour of four left
    ("2026-11-24T14:30:00+00:00", "BREACHED"),
])
def test_show_and_list_flag_the_timescale(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          now: str, flag: str | None) -> None:
    _create(tmp_path, "REF-F1")
    capsys.readouterr()
    for argv in (["referral", "show", "REF-F1"], ["referral", "list"]):
        assert main([*argv, "--now", now, "--home", str(tmp_path)]) == 0
        first = capsys.readouterr().out.splitlines()[0]
        for word in ("AT RISK", "BREACHED"):
            assert (word in first) is (word == flag)


def test_raising_before_any_broker_lookup_records_and_asks_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _create(tmp_path, "REF-F2", rag="amber")
    capsys.readouterr()
    # No broker is running in this home: nothing may be attempted, and the rating is kept.
    assert main(["referral", "rerate", "REF-F2", "--rag", "red", "--reason", "escalated",
                 "--by", "sw-1", "--home", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "no earlier lookup through the broker" in captured.err
    assert "RED" in captured.out


def test_raising_with_new_terms_but_no_broker_exits_1_after_recording(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.at(tmp_path)
    home.ensure()
    approve_demo_agreements(home)  # policy would otherwise permit nothing at all
    _create(tmp_path, "REF-F3", rag="amber")
    capsys.readouterr()
    code = main(["referral", "rerate", "REF-F3", "--rag", "red", "--reason", "escalated",
                 "--by", "sw-1", "--purpose", "child_protection_enquiry",
                 "--consent", "not_sought", "--consent-reason", "risk_of_significant_harm",
                 "--home", str(tmp_path)])
    assert code == 1
    captured = capsys.readouterr()
    assert "rating recorded" in captured.err and "no running broker found" in captured.err
    assert "\nasked" not in captured.out
    assert "NOT asked (broker not reached): police for" in captured.out
    assert main(["referral", "show", "REF-F3", "--json", "--home", str(tmp_path)]) == 0
    assert '"rag": "red"' in capsys.readouterr().out


def test_terms_half_given_are_refused_before_anything_is_recorded(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _create(tmp_path, "REF-F4", rag="amber")
    assert main(["referral", "rerate", "REF-F4", "--rag", "red", "--reason", "escalated",
                 "--by", "sw-1", "--purpose", "child_protection_enquiry",
                 "--home", str(tmp_path)]) == 2
    assert main(["referral", "show", "REF-F4", "--json", "--home", str(tmp_path)]) == 0
    assert '"rag": "amber"' in capsys.readouterr().out


def test_consent_alone_takes_the_purpose_of_a_summary_filed_by_hand(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.referral_factories import full_summary

    home = Home.at(tmp_path)
    home.ensure()
    approve_demo_agreements(home)
    _create(tmp_path, "REF-F5", rag="amber")
    summary = tmp_path / "lookup.pb"
    summary.write_bytes(full_summary(referral_id="REF-F5").SerializeToString())
    assert main(["referral", "attach-summary", "REF-F5", str(summary), "--default-retain-days",
                 "30", "--home", str(tmp_path)]) == 0
    capsys.readouterr()
    # full_summary was a child_in_need_assessment lookup: without --purpose that purpose is
    # used (a missing purpose would be a usage error, exit 2). Its parts record no permitted
    # categories, so everything Red permits is planned; no broker runs here, so exit 1.
    code = main(["referral", "rerate", "REF-F5", "--rag", "red", "--reason", "escalated",
                 "--by", "sw-1", "--consent", "given", "--home", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "NOT asked (broker not reached): police for" in captured.out
