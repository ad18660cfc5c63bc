"""Summaries viewed and deleted under retention are recorded in the hash-chained audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.errors import AuditLogBusy
from broker.referral_audit import REFERRAL_LOG, deletion_event, open_referral_log, record
from broker.referral_record import SummaryDeletion
from broker.referrals import RetentionByAgreement, SqliteReferralStore, referral_db_path
from mash.home import Home
from tests.referral_factories import full_summary, new_referral

pytestmark = pytest.mark.clock_sensitive


def filed_home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path)
    # Filed 40 days ago, so 30-day retention has passed by the real "now" of the CLI.
    store = SqliteReferralStore(referral_db_path(home),
                                clock=lambda: datetime.now(UTC) - timedelta(days=40))
    store.create(new_referral())
    store.save_summary(full_summary(), RetentionByAgreement(default_days=30,
                                                            days={"health-mash-dsa": 365}))
    store.close()
    return home


def test_deletion_event_carries_no_record_content() -> None:
    event = deletion_event(SummaryDeletion("REF-1", "LK-1", "police", "police-mash-dsa",
                                           "sha256:ab", datetime(2026, 12, 1, tzinfo=UTC),
                                           datetime(2026, 12, 2, tzinfo=UTC)))
    assert event.personal_dict() == {"detail": {"retain_until": "2026-12-01T00:00:00+00:00",
                                                "deleted_at": "2026-12-02T00:00:00+00:00"}}
    assert event.core_dict()["agency"] == "police"


def test_busy_log_fails_closed_after_waiting(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    home = filed_home(tmp_path)
    ticks = iter(range(1000))
    with open_referral_log(home) as held, pytest.raises(AuditLogBusy):
        assert held is not None
        # A second writer waits, then fails closed (clock injected: no real waiting).
        open_referral_log(home, clock=lambda: float(next(ticks)) * 10, pause=lambda _s: None)
    assert (home.audit_dir / f"{REFERRAL_LOG}.sqlite").is_file()


def test_record_nothing_is_a_no_op(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    record(home)
    assert not home.audit_log(REFERRAL_LOG).exists()
